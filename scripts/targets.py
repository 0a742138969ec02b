"""Print the issue-4 target table from bench rows: the shipped rule against anchors and oracle."""

import sys

from noisy_select.bench import read_results
from noisy_select.report import ANCHORS, summary_table

table = summary_table(read_results(sys.argv[1] if len(sys.argv) > 1 else "results/bench.jsonl"))
ours = sys.argv[2] if len(sys.argv) > 2 else "your_select_indices"
print("| scenario | ours: mean (worst) | best anchor: mean | oracle-clean | beats every anchor | gap closed |")
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
