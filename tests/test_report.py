"""bench/report.py: the summary tables, the decomposition and the figures."""

import json
import math

import pytest
from helpers import fake_row, fake_rows

from noisy_select.bench import report, sweeps
from noisy_select.cli import main


def test_summary_table_arithmetic():
    rows = [{"scenario": "s", "strategy": st, "seed": sd, "bac_mean": v, "points": 0, "seconds": 1}
            for st, sd, v in [("fixed-rates", 0, 0.7), ("fixed-rates", 1, 0.8),
                              ("oracle-clean", 0, 0.9), ("oracle-clean", 1, 0.9),
                              ("oracle-clean-balanced", 0, 0.95), ("oracle-clean-balanced", 1, 0.95),
                              ("new", 0, 0.8), ("new", 1, 0.9)]]
    table = report.summary_table(rows).set_index("strategy")
    assert table.loc["fixed-rates", "mean"] == pytest.approx(0.75)
    assert table.loc["fixed-rates", "worst"] == pytest.approx(0.7)
    # Gap closed against the better of the two clean-sample oracles.
    assert table.loc["new", "gap_closed"] == pytest.approx((0.85 - 0.75) / (0.95 - 0.75))
    assert math.isnan(table.loc["fixed-rates", "gap_closed"])
    # Two seeds: the bootstrap means are the two values and their midpoint.
    assert table.loc["new", "ci_low"] == pytest.approx(0.8)
    assert table.loc["new", "ci_high"] == pytest.approx(0.9)


def test_summary_command_reads_results_files_and_run_records(tmp_path):
    results = tmp_path / "r.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in fake_rows()))
    record = tmp_path / "run.json"
    record.write_text(json.dumps(fake_rows(seeds=(2,))[0], indent=2))
    out = tmp_path / "R.md"
    assert main(["summary", "-r", str(results), str(record), "--summary", str(out),
                 "--figures", str(tmp_path / "f")]) == 0
    assert "| `all` | 0.500 | [0.500, 0.500] | 0.500 | 0.0 |  | 3 | 1 |" in out.read_text()


def test_figures_show_the_seed_spread_merge_identical_rules_and_drop_constant_panels(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from noisy_select.bench import report

    def row(strategy, seed, bac, precision=1.0):
        spec = sweeps.RunConfig("clean", strategy, seed)
        r = fake_row(spec, bac_mean=bac)
        r["history"] = [{"epoch": e, "val_bac_1": bac, "val_bac_2": bac, "val_auc_1": 0.9,
                         "val_auc_2": 0.9 + 0.01 * e} for e in (1, 2)]
        r["selection"] = [{"epoch": e, "precision": [[precision] * 2] * 2} for e in (1, 2)]
        return r

    rows = [row(name, seed, bac) for seed, bac in ((0, 0.7), (1, 0.8))
            for name in ("fixed-rates", "your_select_indices")] + [row("all", 0, 0.6)]
    shown = []
    monkey = plt.subplots

    def spy(*args, **kwargs):
        fig, axes = monkey(*args, **kwargs)
        shown.append(axes)
        return fig, axes

    plt.subplots = spy
    try:
        paths = report.figures(rows, str(tmp_path))
    finally:
        plt.subplots = monkey
    assert len(paths) == 1 and shown[0].shape == (1, 2)  # both precision panels are constant
    legend = [t.get_text() for t in shown[0][0][-1].get_legend().get_texts()]
    assert "fixed-rates = your_select_indices (2 seeds)" in legend and "all (1 seed)" in legend
    assert len(shown[0][0][0].collections) == 1  # one band: the strategy with two seeds


def test_bench_figure_highlights_the_shipped_rule_and_the_anchors():
    from noisy_select.bench.report import line_style

    colors = {"fixed-rates": "red", "oracle-clean": "blue"}
    assert line_style("your_select_indices", "product", colors)["color"] == "black"
    assert line_style("fixed-rates", "anchor", colors)["color"] == "red"
    assert line_style("oracle-clean", "ceiling", colors)["ls"] == "--"
    assert line_style("adaptive-otsu", "research", colors)["color"] == "0.7"
    # dashed by the role the registry's tags give, not by the name
    assert line_style("mine", "oracle", {"mine": "green"})["ls"] == "--"


def test_summary_groups_come_from_the_tags_rows_record_and_old_rows_get_the_registrys():
    from noisy_select.bench.report import roles

    names = ["your_select_indices", "fixed-rates", "oracle-clean", "oracle-labels",
             "adaptive-mpe"]
    rows = [fake_row(s) for s in sweeps.plan(["olympiad"], names, [0])]
    expected = {"your_select_indices": "product", "fixed-rates": "anchor",
                "oracle-clean": "ceiling", "oracle-labels": "oracle", "adaptive-mpe": "estimate"}
    assert roles(rows) == expected
    old = [{k: v for k, v in r.items() if k not in ("tag", "reads_clean_labels")} for r in rows]
    # a row of a name that moved to research/ reads as research
    old.append({**old[0], "strategy": "x-balanced-2"})
    assert roles(old) == {**expected, "x-balanced-2": "research"}
