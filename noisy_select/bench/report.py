"""Summaries of bench results: a Markdown table and figures, read from the results file."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from noisy_select.constants import SHIPPED
from noisy_select.errors import DataError

ROLES = ("anchor", "ceiling")  # what the gap closed is measured between


def roles(rows: list[dict]) -> dict[str, str]:
    """Each strategy's part in the summary: its registry tag (``registry.TAGS``), except
    ``ceiling`` for an oracle that selects the clean samples and ``oracle`` for any other that
    reads the clean labels. Rows too old to record their tag get the registry's (loads torch)."""
    out = {}
    for r in rows:
        if "tag" in r:
            tag, reads = r["tag"], r.get("reads_clean_labels", False)
            clean_labels = bool((r.get("strategy_config") or {}).get("clean_labels"))
        else:
            from noisy_select.strategies.registry import REGISTRY

            spec = REGISTRY.get(r["strategy"].split("@")[0])
            tag = spec.tag if spec else "research"
            reads, clean_labels = bool(spec and spec.oracle), bool(spec and spec.clean_labels)
        out[r["strategy"]] = ("ceiling" if tag == "oracle" and not clean_labels
                              else "oracle" if reads or tag == "oracle" else tag)
    return out


def line_style(name: str, role: str, anchor_colors: dict) -> dict:
    """How a strategy of ``role`` (``roles``) is drawn: the shipped one bold black, those in
    ``anchor_colors`` in colour (dashed if they read the clean labels), the rest thin grey."""
    if name == SHIPPED:
        return {"color": "black", "lw": 2.6, "zorder": 5}
    if name in anchor_colors:
        dashed = role in ("ceiling", "oracle")
        return {"color": anchor_colors[name], "lw": 1.6, "ls": "--" if dashed else "-", "zorder": 4}
    return {"color": "0.7", "lw": 0.9, "zorder": 2}


def display_names(rows: list[dict]) -> list[dict]:
    """Rows as the tables show them: the scenario names its loop (``olympiad, official loop``),
    and a name run with more than one config under one loop becomes ``name@hash``."""
    rows = [{**r, "scenario": f"{r['scenario']}, {r['loop']} loop"} if r.get("loop") else r
            for r in rows]
    hashes: dict[tuple, set] = {}
    for r in rows:
        hashes.setdefault((r["strategy"], r.get("loop")), set()).add(r.get("config_hash"))
    return [{**r, "strategy": f"{r['strategy']}@{r.get('config_hash')}"}
            if len(hashes[(r["strategy"], r.get("loop"))]) > 1 else r for r in rows]


def summary_table(rows: list[dict]) -> pd.DataFrame:
    """One row per (scenario, strategy) of BAC_mean over seeds: ``mean``, ``ci_low`` /
    ``ci_high`` (bootstrap 95%), ``worst``, ``points``, ``seeds``, ``seconds`` (per run),
    ``role`` (``roles``) and ``gap_closed``, the share of the gap from the best anchor to the
    best ``ceiling`` that a strategy closes (NaN for anchors and oracles).
    """
    from noisy_select.bench.compare import bootstrap_ci

    rows = display_names(rows)
    df = pd.DataFrame(rows)
    if df.empty:
        raise DataError("Expected bench results to summarise, but the results hold no rows.")
    if "seconds" not in df:
        df["seconds"] = np.nan
    table = df.groupby(["scenario", "strategy"], sort=False, dropna=False).agg(
        mean=("bac_mean", "mean"), worst=("bac_mean", "min"), points=("points", "mean"),
        seeds=("seed", "nunique"), seconds=("seconds", "mean"),
    ).reset_index()
    cis = [bootstrap_ci(df[(df.scenario == r.scenario) & (df.strategy == r.strategy)].bac_mean)
           for r in table.itertuples()]
    table["ci_low"], table["ci_high"] = [c[0] for c in cis], [c[1] for c in cis]
    table["role"] = table.strategy.map(roles(rows))
    gaps = []
    for _, row in table.iterrows():
        same = table[table.scenario == row.scenario].set_index("strategy")
        anchors = same["mean"][same.role == "anchor"]
        oracles = same["mean"][same.role == "ceiling"]
        closed = np.nan
        if (row.role not in ("anchor", "ceiling", "oracle") and len(anchors)
                and len(oracles) and oracles.max() > anchors.max()):
            closed = (row["mean"] - anchors.max()) / (oracles.max() - anchors.max())
        gaps.append(closed)
    table["gap_closed"] = gaps
    return table


def markdown(table: pd.DataFrame, command: str, title: str = "Bench results") -> str:
    """The table as Markdown, one section per scenario, with the command that made it."""
    anchors, ceilings = ([f"`{n}`" for n in dict.fromkeys(table.strategy[table.role == role])]
                         for role in ROLES)
    lines = [f"# {title}", "", "Produced by:", "", "```bash", command, "```", "",
             "BAC_mean is the mean balanced accuracy of the two models on the scenario's clean "
             "test split after the last epoch; mean over seeds with a bootstrap 95% interval "
             "(10,000 resamples of the seeds), worst = lowest seed; points as the competition "
             "computes them; gap closed = share of the gap between the best anchor "
             f"({', '.join(anchors) or 'none ran'}) and the best clean-sample oracle "
             f"({', '.join(ceilings) or 'none ran'}).", ""]
    for scenario, part in table.groupby("scenario", sort=False):
        lines += [f"## {scenario}", "",
                  "| strategy | BAC_mean | 95% CI | worst seed | points | gap closed | seeds | s/run |",
                  "|---|---|---|---|---|---|---|---|"]
        for _, r in part.sort_values("mean", ascending=False).iterrows():
            gap = "" if np.isnan(r.gap_closed) else f"{100 * r.gap_closed:.0f}%"
            seconds = "" if np.isnan(r.seconds) else f"{r.seconds:.0f}"
            ci = f"[{r.ci_low:.3f}, {r.ci_high:.3f}]" if r.seeds > 1 else ""
            lines.append(f"| `{r.strategy}` | {r['mean']:.3f} | {ci} "
                         f"| {r.worst:.3f} | {r.points:.1f} | {gap} | {r.seeds} | {seconds} |")
        lines.append("")
    return "\n".join(lines)


def _per_seed(rows: list[dict], scenario: str, value) -> dict[str, dict[int, np.ndarray]]:
    """Per strategy and seed, ``value(row)``: ``(epochs,)`` (rows that lack what it reads are
    left out)."""
    out: dict[str, dict[int, np.ndarray]] = {}
    for r in rows:
        if r["scenario"] != scenario:
            continue
        try:
            curve = np.array(value(r), dtype=float)
        except (KeyError, TypeError):
            continue
        out.setdefault(r["strategy"], {})[r["seed"]] = curve
    return out


def _same_runs(rows: list[dict], scenario: str) -> dict[str, list[str]]:
    """Strategies whose rows on ``scenario`` have the same scores and history on every seed,
    grouped under the first name."""
    fingerprints: dict[str, list] = {}
    for r in rows:
        if r["scenario"] == scenario:
            fingerprints.setdefault(r["strategy"], []).append(
                (r["seed"], r["bac_1"], r["bac_2"], json.dumps(r.get("history"), sort_keys=True)))
    groups: dict[tuple, list[str]] = {}
    for name, fp in fingerprints.items():
        groups.setdefault(tuple(sorted(fp)), []).append(name)
    return {names[0]: names for names in groups.values()}


def _mean_of_models(key: str):
    """``row -> (epochs,)``: the history's ``key`` averaged over both models."""
    return lambda r: [(h[f"{key}_1"] + h[f"{key}_2"]) / 2 for h in r["history"]]


def _informative(curves: dict[str, dict[int, np.ndarray]]) -> bool:
    """False for a panel with nothing, or one constant over two epochs or more (the precision
    on a clean scenario)."""
    parts = [c for seeds in curves.values() for c in seeds.values()]
    values = np.concatenate(parts) if parts else np.zeros(0)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return False
    return max(len(c) for c in parts) < 2 or bool(np.ptp(values) > 1e-9)


def figures(rows: list[dict], fig_dir: str) -> list[str]:
    """One PNG per scenario in ``fig_dir``: validation BAC and AUC, and the selection's precision
    per label, per epoch; each strategy's mean over seeds with a worst-to-best band, identical
    runs drawn once under all their names, constant panels left out. Returns the paths.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = display_names(rows)
    os.makedirs(fig_dir, exist_ok=True)
    paths = []
    names = list(dict.fromkeys(r["strategy"] for r in rows))
    role = roles(rows)
    highlighted = [n for n in names if role[n] in ("anchor", "ceiling", "oracle")]
    anchor_colors = {n: plt.get_cmap("tab10")(i % 10) for i, n in enumerate(highlighted)}
    panels = [("validation BAC (mean of both models)", "BAC", _mean_of_models("val_bac")),
              ("validation AUC (mean of both models)", "AUC", _mean_of_models("val_auc"))]
    for cls in (0, 1):
        panels.append((f"precision of the selection, label {cls}", "share correctly labelled",
                       lambda r, c=cls: [np.nanmean([m[c] for m in e["precision"]])
                                         for e in r["selection"]]))
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        groups = _same_runs(rows, scenario)
        shown = [(title, ylabel, curves) for title, ylabel, value in panels
                 if _informative(curves := _per_seed(rows, scenario, value))]
        if not shown:
            continue
        fig, axes = plt.subplots(1, len(shown), figsize=(5.2 * len(shown), 4.2), squeeze=False)
        for ax, (title, ylabel, curves) in zip(axes[0], shown):
            for first, same in groups.items():
                if first not in curves:
                    continue
                # The shipped strategy's style wins when it is one of the identical names.
                name = SHIPPED if SHIPPED in same else first
                style = line_style(name, role.get(name, ""), anchor_colors)
                seeds = np.array(list(curves[first].values()))
                x = np.arange(1, seeds.shape[1] + 1)
                label = f"{' = '.join(same)} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})"
                ax.plot(x, np.nanmean(seeds, axis=0), marker="o", ms=3, label=label, **style)
                if len(seeds) > 1:
                    ax.fill_between(x, np.nanmin(seeds, axis=0), np.nanmax(seeds, axis=0),
                                    color=style["color"], alpha=0.12, lw=0)
            ax.set(title=f"{scenario}: {title}" if ax is axes[0][0] else title, xlabel="epoch",
                   ylabel=ylabel)
        axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1),
                           title="mean; band: worst to best seed", title_fontsize=7)
        slug = scenario.replace(" loop", "").replace(", ", "-").replace(" ", "-")
        path = os.path.join(fig_dir, f"{slug}.png")
        fig.savefig(path, bbox_inches="tight", dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def shipped_against_anchors(rows: list[dict]) -> str:
    """Markdown: the shipped strategy paired with each anchor and ceiling on every scenario where
    both ran ("" without the shipped strategy)."""
    from noisy_select.bench import compare

    rows = display_names(rows)
    role = roles(rows)
    table = []
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        names = list(dict.fromkeys(r["strategy"] for r in rows if r["scenario"] == scenario))
        if SHIPPED not in names:
            continue
        table += [compare.paired(rows, scenario, other, SHIPPED)
                  for wanted in ROLES for other in names if role[other] == wanted]
    if not table:
        return ""
    lines = ["## The shipped strategy against each anchor (paired seeds)", "",
             f"Each line: `{SHIPPED}` minus the named strategy, per seed, averaged over the seeds; "
             "a 95% interval that excludes 0 is a real difference, one that spans 0 is not told "
             "apart by these seeds.", ""]
    lines += [f"- {r['scenario']}: vs `{r['baseline']}`: {r['mean_diff']:+.3f} "
              f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] over {len(r['seeds'])} seeds, "
              f"{r['wins']} wins / {r['losses']} losses / {r['ties']} ties: {compare.verdict(r)}"
              for r in table]
    return "\n".join(lines) + "\n"


def _instrumented(r: dict) -> dict | None:
    """A row's ``bac``, ``bac_bn``, ``bac_best`` and ``auc`` on its scored split, each the mean of
    both models (None for rows without them)."""
    from noisy_select.bench import compare

    values = {k: compare.measure_of(r, k) for k in compare.MEASURES}
    return None if None in values.values() else values


def decomposition(rows: list[dict], reference: str = "oracle-clean") -> str:
    """Markdown: where each strategy's BAC goes (statistics, threshold, ranking against
    ``reference``), per scenario, from the rows that record it ("" when none do)."""
    rows = display_names(rows)
    lines = []
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        per: dict[str, list[dict]] = {}
        for r in rows:
            if r["scenario"] == scenario and (m := _instrumented(r)) is not None:
                per.setdefault(r["strategy"], []).append(m)
        if not per:
            continue
        mean = {n: {k: float(np.mean([m[k] for m in ms])) for k in ms[0]} for n, ms in per.items()}
        ref = mean.get(reference)
        lines += [f"### {scenario}", "",
                  "| strategy | seeds | scored | BN re-estimated | best threshold | AUC "
                  f"| statistics | threshold | ranking: best-threshold BAC below `{reference}` "
                  f"| AUC below `{reference}` | gap to `{reference}` |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, m in sorted(mean.items(), key=lambda kv: -kv[1]["bac"]):
            below = ([f"{ref['bac_best'] - m['bac_best']:+.3f}", f"{ref['auc'] - m['auc']:+.4f}",
                      f"{ref['bac'] - m['bac']:+.3f}"] if ref else ["", "", ""])
            lines.append(f"| `{name}` | {len(per[name])} | {m['bac']:.3f} | {m['bac_bn']:.3f} "
                         f"| {m['bac_best']:.3f} | {m['auc']:.4f} | {m['bac_bn'] - m['bac']:+.3f} "
                         f"| {m['bac_best'] - m['bac_bn']:+.3f} | {' | '.join(below)} |")
        lines.append("")
    if not lines:
        return ""
    return "\n".join(["## Where the BAC goes: statistics, threshold, ranking", "",
                      "On the scored split, mean over seeds and both models. statistics = BAC "
                      "after re-estimating BatchNorm's running statistics on the training set "
                      "(same weights) minus the scored BAC; threshold = BAC at the best threshold "
                      "on the logit margin minus the re-estimated BAC; ranking = what is left "
                      f"below `{reference}` at the best threshold, and its AUC.", "", *lines])


def summarize(rows: list[dict], md_path: str, fig_dir: str, command: str,
              extra: str = "") -> pd.DataFrame:
    """Write the Markdown summary (table, the shipped strategy's paired comparisons, ``extra``,
    the decomposition, the figures) and the figures; returns the table."""
    from noisy_select.files import atomic_write

    table = summary_table(rows)
    paths = figures(rows, fig_dir)
    text = (markdown(table, command) + "\n" + shipped_against_anchors(rows) + extra
            + decomposition(rows))
    rel = [os.path.relpath(p, os.path.dirname(os.path.abspath(md_path))) for p in paths]
    text += "\n## Figures\n\n" + "\n".join(f"![{os.path.basename(p)}]({p})" for p in rel) + "\n"
    atomic_write(md_path, lambda f: f.write(text))
    return table
