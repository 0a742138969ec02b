"""Print the issue-4 target table from bench rows: the shipped rule against anchors and oracle."""

import sys

from noisy_select.bench import read_results
from noisy_select.report import ANCHORS, summary_table

table = summary_table(read_results(sys.argv[1] if len(sys.argv) > 1 else "results/bench.jsonl"))
ours = sys.argv[2] if len(sys.argv) > 2 else "your_select_indices"
print("## The shipped rule against the issue's targets\n")
print("| scenario | ours: mean (worst) | best anchor: mean | oracle-clean | beats every anchor "
      "| gap closed |")
print("|---|---|---|---|---|---|")
for scenario, part in table.groupby("scenario", sort=False):
    part = part.set_index("strategy")
    if ours not in part.index:
        continue
    anchors = part[part.index.isin(ANCHORS)]["mean"]
    best = anchors.idxmax()
    gap = part.loc[ours, "gap_closed"]
    gap_text = "n/a (oracle below best anchor)" if gap != gap else f"{100 * gap:.0f}%"
    print(f"| {scenario} | {part.loc[ours, 'mean']:.3f} ({part.loc[ours, 'worst']:.3f}), "
          f"{part.loc[ours, 'seeds']} seeds | `{best}` {anchors.max():.3f} | "
          f"{part.loc['oracle-clean', 'mean']:.3f} | "
          f"{'yes' if part.loc[ours, 'mean'] > anchors.max() else 'no'} | {gap_text} |")

rows = read_results(sys.argv[1] if len(sys.argv) > 1 else "results/bench.jsonl")
by = {(r["scenario"], r["strategy"], r["seed"]): r for r in rows}
print("\n## Robust trainer against the fixed loop (same rule, same seeds)\n")
print(f"| scenario | fixed loop `{ours}` | `robust:{ours}` | robust wins | largest final "
      "teacher-student disagreement |")
print("|---|---|---|---|---|")
for scenario in dict.fromkeys(r["scenario"] for r in rows):
    seeds = sorted(s for (sc, st, s) in by if sc == scenario and st == f"robust:{ours}")
    if not seeds:
        continue
    fixed = [by[(scenario, ours, s)]["bac_mean"] for s in seeds]
    robust = [by[(scenario, f"robust:{ours}", s)] for s in seeds]
    values = [r["bac_mean"] for r in robust]
    worst = max(max(r["history"][-1]["disagreement"]) for r in robust)
    fm, rm = sum(fixed) / len(fixed), sum(values) / len(values)
    print(f"| {scenario} | {fm:.3f} ({', '.join(f'{v:.3f}' for v in fixed)}) | {rm:.3f} "
          f"({', '.join(f'{v:.3f}' for v in values)}) | {'yes' if rm > fm else 'no'} | {worst:.2f} |")
