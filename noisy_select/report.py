"""Summaries of bench results: a Markdown table and figures, read from the results file."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

ANCHORS = ("all", "seed-coteaching", "fixed-rates", "coteaching")
SHIPPED = "your_select_indices"


def line_style(name: str, anchor_colors: dict) -> dict:
    """How a strategy is drawn: the shipped rule bold black, anchors and oracles in colour
    (oracles dashed), everything else thin grey, so the comparison that matters stands out."""
    if name == SHIPPED:
        return {"color": "black", "lw": 2.6, "zorder": 5}
    if name in anchor_colors:
        dashed = name.startswith("oracle")
        return {"color": anchor_colors[name], "lw": 1.6, "ls": "--" if dashed else "-", "zorder": 4}
    return {"color": "0.7", "lw": 0.9, "zorder": 2}


def summary_table(rows: list[dict]) -> pd.DataFrame:
    """One row per (scenario, strategy): BAC_mean over seeds (test split) and points.

    Columns: ``mean``, ``std``, ``worst`` (lowest seed), ``points`` (mean), ``seeds``,
    ``seconds`` (mean wall time of one run) and ``gap_closed``: the share of the gap between
    the best anchor and ``oracle-clean`` that the strategy closes (for non-anchors).
    """
    df = pd.DataFrame(rows)
    if df.empty:
        raise ValueError("Expected bench results to summarise, but got none.")
    table = df.groupby(["scenario", "strategy"], sort=False).agg(
        mean=("bac_mean", "mean"), std=("bac_mean", "std"), worst=("bac_mean", "min"),
        points=("points", "mean"), seeds=("seed", "nunique"), seconds=("seconds", "mean"),
    ).reset_index()
    gaps = []
    for _, row in table.iterrows():
        same = table[table.scenario == row.scenario].set_index("strategy")["mean"]
        anchors = same[same.index.isin(ANCHORS)]
        closed = np.nan
        if row.strategy not in ANCHORS and "oracle" not in row.strategy and len(anchors):
            if "oracle-clean" in same and same["oracle-clean"] > anchors.max():
                closed = (row["mean"] - anchors.max()) / (same["oracle-clean"] - anchors.max())
        gaps.append(closed)
    table["gap_closed"] = gaps
    return table


def markdown(table: pd.DataFrame, command: str, title: str = "Bench results") -> str:
    """The table as Markdown, one section per scenario, with the command that made it."""
    lines = [f"# {title}", "", "Produced by:", "", "```bash", command, "```", "",
             "BAC_mean is the mean balanced accuracy of the two models on the scenario's clean "
             "test split after the last epoch; mean and std over seeds, worst = lowest seed; "
             "points as the competition computes them; gap closed = share of the gap between "
             "the best anchor and `oracle-clean`.", ""]
    for scenario, part in table.groupby("scenario", sort=False):
        lines += [f"## {scenario}", "",
                  "| strategy | BAC_mean | std | worst seed | points | gap closed | seeds | s/run |",
                  "|---|---|---|---|---|---|---|---|"]
        for _, r in part.sort_values("mean", ascending=False).iterrows():
            gap = "" if np.isnan(r.gap_closed) else f"{100 * r.gap_closed:.0f}%"
            std = "" if np.isnan(r["std"]) else f"{r['std']:.3f}"
            lines.append(f"| `{r.strategy}` | {r['mean']:.3f} | {std} | {r.worst:.3f} | "
                         f"{r.points:.1f} | {gap} | {r.seeds} | {r.seconds:.0f} |")
        lines.append("")
    return "\n".join(lines)


def _curves(rows: list[dict], scenario: str, value) -> dict[str, np.ndarray]:
    """Per strategy, the mean over seeds of ``value(row) -> (epochs,)`` array."""
    out: dict[str, list] = {}
    for r in rows:
        if r["scenario"] == scenario:
            out.setdefault(r["strategy"], []).append(value(r))
    return {k: np.nanmean(np.array(v, dtype=float), axis=0) for k, v in out.items()}


def figures(rows: list[dict], fig_dir: str) -> list[str]:
    """Per scenario: validation BAC per epoch, and selection precision per class per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(fig_dir, exist_ok=True)
    paths = []
    names = list(dict.fromkeys(r["strategy"] for r in rows))
    highlighted = [n for n in names if n in ANCHORS or n.startswith("oracle")]
    anchor_colors = {n: plt.get_cmap("tab10")(i % 10) for i, n in enumerate(highlighted)}
    styles = {n: line_style(n, anchor_colors) for n in names}
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        fig, axes = plt.subplots(1, 3, figsize=(17, 4.2))
        bac = _curves(rows, scenario, lambda r: [(h["val_bac_1"] + h["val_bac_2"]) / 2
                                                  for h in r["history"]])
        for name, curve in bac.items():
            axes[0].plot(range(1, len(curve) + 1), curve, marker="o", ms=3, label=name,
                         **styles[name])
        axes[0].set(title=f"{scenario}: validation BAC (mean of both models)", xlabel="epoch",
                    ylabel="BAC")
        for cls, ax in zip((0, 1), axes[1:]):
            prec = _curves(rows, scenario, lambda r, c=cls: [np.nanmean([m[c] for m in e["precision"]])
                                                           for e in r["selection"]])
            for name, curve in prec.items():
                ax.plot(range(1, len(curve) + 1), curve, marker="o", ms=3, label=name,
                        **styles[name])
            ax.set(title=f"precision of the selection, label {cls}", xlabel="epoch",
                   ylabel="share correctly labelled")
        axes[2].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        path = os.path.join(fig_dir, f"{scenario}.png")
        fig.savefig(path, bbox_inches="tight", dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def summarize(rows: list[dict], md_path: str, fig_dir: str, command: str) -> pd.DataFrame:
    """Write the Markdown summary and the figures; returns the table."""
    table = summary_table(rows)
    paths = figures(rows, fig_dir)
    text = markdown(table, command)
    rel = [os.path.relpath(p, os.path.dirname(os.path.abspath(md_path))) for p in paths]
    text += "\n## Figures\n\n" + "\n".join(f"![{os.path.basename(p)}]({p})" for p in rel) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(md_path)), exist_ok=True)
    with open(md_path, "w") as f:
        f.write(text)
    return table
