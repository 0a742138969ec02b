import json
import math
import re

import pytest
import torch
from helpers import fake_row

from noisy_select.bench import report, sweeps
from noisy_select.cli import main
from noisy_select.strategies.registry import get_spec, make_strategy
from noisy_select.train import diagnostics


def test_selection_counts_on_a_hand_made_batch():
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    clean = torch.tensor([0, 1, 0, 1, 1, 1, 0])  # correct: 0, 2 (label 0); 4, 5 (label 1)
    idx = torch.tensor([0, 1, 1, 4, 6])  # index 1 twice: counted once
    counts = diagnostics.selection_counts(labels, clean, idx)
    assert counts.tolist() == [[4, 2, 1, 2], [3, 2, 1, 2]]
    stats = diagnostics.precision_recall(counts)
    assert stats["precision"] == [0.5, 0.5]  # label 0: {0 ok, 1 wrong}; label 1: {4 ok, 6 wrong}
    assert stats["recall"] == [0.5, 0.5]  # label 0: 1 of {0, 2}; label 1: 1 of {4, 5}
    assert stats["keep_rate"] == [0.5, pytest.approx(2 / 3)]
    none = torch.tensor([], dtype=torch.long)
    empty = diagnostics.precision_recall(diagnostics.selection_counts(labels, clean, none))
    assert math.isnan(empty["precision"][0]) and empty["recall"] == [0.0, 0.0]


def test_registry_errors_name_the_valid_strategies():
    with pytest.raises(ValueError, match="Unknown strategy 'nope'.*fixed-rates.*oracle-clean"):
        get_spec("nope")
    with pytest.raises(ValueError, match="clean labels"):
        make_strategy("oracle-clean")
    with pytest.raises(ValueError, match="scenario"):
        sweeps.plan(["olympiad", "moon"], ["all"], [0])


def test_oracle_clean_selects_exactly_the_correct_samples():
    clean = torch.tensor([0, 1, 1, 0])
    rule = make_strategy("oracle-clean", clean_fn=lambda: clean)
    out = rule(torch.tensor([0, 0, 1, 1]), [torch.rand(4), torch.rand(4)])
    assert [o.tolist() for o in out] == [[0, 2], [0, 2]]


def test_sweep_resumes_without_rerunning_finished_runs(tmp_path, monkeypatch):
    calls = []

    def fake_run(spec, progress=False):
        calls.append(spec.key())
        return fake_row(spec)

    monkeypatch.setattr(sweeps, "run_one", fake_run)
    out = str(tmp_path / "r.jsonl")
    specs = sweeps.plan(["olympiad"], ["all", "fixed-rates"], [0, 1], epochs=1)
    sweeps.sweep(specs[:3], out, progress=False)
    assert len(calls) == 3
    rows = sweeps.sweep(specs, out, progress=False)
    assert len(calls) == 4 and calls[-1] == specs[3].key()
    assert len(rows) == 4 and len(sweeps.read_results(out)) == 4


def test_tiny_sweep_end_to_end(tmp_path):
    out, md, figs = tmp_path / "r.jsonl", tmp_path / "R.md", tmp_path / "figs"
    code = main(["bench", "all", "oracle-labels", "--scenarios", "olympiad",
                 "--seeds", "4", "--epochs", "1", "--scale", "0.1", "--device", "cpu",
                 "-r", str(out), "--summary", str(md), "--figures", str(figs),
                 "--no-progress"])
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["strategy"] for r in rows} == {"all", "oracle-labels"}
    for r in rows:
        assert len(r["history"]) == 1 and len(r["selection"]) == 1
        assert r["environment"]["torch"] == torch.__version__
        assert r["data"]["counts"]["train"]["size"] == 300
        assert r["schema"] == 2 and len(r["config_hash"]) == 12 and r["environment"]["commit"]
        assert r["trainer_config"]["lr"] == 1e-2 and r["strategy_config"]["class"]
        # The headline is the test split's; the last epoch's validation scores are the val split's.
        assert r["bac_1"] == r["scores"]["test"]["bac_1"] and r["scored_on"] == "test"
        assert r["history"][-1]["val_auc_2"] == r["scores"]["val"]["auc_2"]
    oracle = next(r for r in rows if r["strategy"] == "oracle-labels")
    assert oracle["selection"][0]["precision"] == [[1.0, 1.0], [1.0, 1.0]]
    noisy = next(r for r in rows if r["strategy"] == "all")
    assert noisy["selection"][0]["keep_rate"] == [[1.0, 1.0], [1.0, 1.0]]
    assert noisy["selection"][0]["precision"][0][0] < 0.8  # the label-0 bucket is noisy
    text = md.read_text()
    assert "`oracle-labels`" in text and "noisy-select bench all oracle-labels --scenarios" in text
    assert (figs / "olympiad-official.png").stat().st_size > 1000
    assert {r["loop"] for r in rows} == {"official"} and "## olympiad, official loop" in text


def test_both_loops_in_one_results_file_are_kept_apart(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    for loop in ("seed", "official"):
        assert main(["bench", "fixed-rates", "--scenarios", "olympiad",
                     "--seeds", "1", "--epochs", "1", "--scale", "0.1", "--device", "cpu",
                     "--loop", loop, "-r", str(out), "--summary", str(tmp_path / "R.md"),
                     "--figures", str(tmp_path / "figs"), "--no-progress"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["loop"] for r in rows] == ["seed", "official"]
    assert [r["trainer_config"]["loop"] for r in rows] == ["seed", "official"]
    assert rows[0]["config_hash"] != rows[1]["config_hash"]
    assert main(["summary", "-r", str(out), "--summary", str(tmp_path / "S.md"),
                 "--figures", str(tmp_path / "figs")]) == 0
    text = (tmp_path / "S.md").read_text()
    assert "## olympiad, seed loop" in text and "## olympiad, official loop" in text
    assert {p.name for p in (tmp_path / "figs").iterdir()} == {"olympiad-seed.png",
                                                               "olympiad-official.png"}
    capsys.readouterr()
    assert main(["bench", "fixed-rates", "--scenarios", "olympiad", "--seeds",
                 "1", "--epochs", "1", "--scale", "0.1", "--loop", "seed", "-r", str(out),
                 "--summary", str(tmp_path / "R.md"), "--figures", str(tmp_path / "figs"),
                 "--no-progress"]) == 0
    assert "0 runs to do" in capsys.readouterr().out  # resumed under its own loop
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--loop", "platform"])
    assert exit_.value.code == 2 and "invalid choice: 'platform'" in capsys.readouterr().err


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


@pytest.mark.slow
def test_speed_measures_a_call_and_a_step(capsys):
    from noisy_select.bench.speed import measure, seed_select_indices

    result = measure(torch.device("cpu"), "fixed-rates", repeats=5)
    assert 0 < result["call_s"] < result["step_s"] and 0 < result["seed_call_s"]
    assert result["share_of_step"] == pytest.approx(result["call_s"] / result["step_s"])
    targets = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    peer = torch.arange(8, dtype=torch.float32)
    # The seed's strategy keeps int(4 * 0.85) = 3 of each class by the peer's loss.
    assert sorted(seed_select_indices(targets, [peer, peer])[0].tolist()) == [0, 1, 2, 4, 5, 6]
    assert main(["speed", "--strategy", "all", "--device", "cpu", "--repeats", "5"]) == 0
    assert "us/call" in capsys.readouterr().out


def _rows(seeds=(0, 1)):
    return [fake_row(sweeps.RunSpec("olympiad", "all", s, epochs=1)) for s in seeds]


def test_summary_command_reads_results_files_and_run_records(tmp_path):
    results = tmp_path / "r.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    record = tmp_path / "run.json"
    record.write_text(json.dumps(_rows(seeds=(2,))[0], indent=2))
    out = tmp_path / "R.md"
    assert main(["summary", "-r", str(results), str(record), "--summary", str(out),
                 "--figures", str(tmp_path / "f")]) == 0
    assert "| `all` | 0.500 | [0.500, 0.500] | 0.500 | 0.0 |  | 3 | 1 |" in out.read_text()


def test_rows_of_an_older_schema_are_refused_with_how_to_rerun(tmp_path, capsys):
    old = {k: v for k, v in _rows()[0].items() if k not in ("schema", "config_hash")}
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps(old) + "\n")
    assert main(["compare", "all", "fixed-rates", "--scenarios", "olympiad", "--seeds", "0",
                 "-r", str(results), "--summary", str(tmp_path / "c.md")]) == 3
    err = capsys.readouterr().err
    assert "line 1: a row of result schema 1" in err and "-r NEW.jsonl" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]


def test_a_changed_config_is_run_again_not_skipped(tmp_path, monkeypatch):
    spec = sweeps.RunSpec("olympiad", "fixed-rates", 0, epochs=1)
    stale = {**fake_row(spec), "config_hash": "0123456789ab"}
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps(stale) + "\n")
    ran = []
    monkeypatch.setattr(sweeps, "run_one", lambda s, progress=False: ran.append(s) or fake_row(s))
    sweeps.sweep([spec], str(results), progress=False)
    assert ran == [spec]


@pytest.mark.parametrize("content, message", [
    (None, "Expected a results file at .*r.jsonl, but it does not exist"),
    ('{"scenario": "olympiad"\n{"seed": 1}\n', r"r.jsonl, line 1: not a JSON row"),
    (json.dumps(_rows()[0]) + "\n" + json.dumps({"seed": 1}) + "\n",
     r"r.jsonl, line 2: the row lacks \['schema', 'scenario', 'strategy'"),
])
def test_summary_names_the_file_and_line_of_bad_results(tmp_path, capsys, content, message):
    results = tmp_path / "r.jsonl"
    if content is not None:
        results.write_text(content)
    assert main(["summary", "-r", str(results), "--summary", str(tmp_path / "R.md"),
                 "--figures", str(tmp_path / "f")]) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(message, err)
    assert not (tmp_path / "R.md").exists()


def test_a_truncated_last_line_is_skipped_and_its_run_is_run_again(tmp_path, capsys, monkeypatch):
    rows = _rows()
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1])[:40])
    assert main(["summary", "-r", str(results), "--summary", str(tmp_path / "R.md"),
                 "--figures", str(tmp_path / "f")]) == 0
    assert "line 2: skipped a truncated last row" in capsys.readouterr().err
    ran = []
    monkeypatch.setattr(sweeps, "run_one", lambda spec, progress=False: ran.append(spec) or
                        rows[spec.seed])
    specs = sweeps.plan(["olympiad"], ["all"], [0, 1], epochs=1)
    out = sweeps.sweep(specs, str(results), progress=False)
    assert [s.seed for s in ran] == [1] and [r["seed"] for r in out] == [0, 1]
    assert [json.loads(line)["seed"] for line in results.read_text().splitlines()] == [0, 1]


def test_a_complete_last_row_without_its_newline_is_kept(tmp_path, monkeypatch):
    rows = _rows()
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps(rows[0]))
    monkeypatch.setattr(sweeps, "run_one", lambda spec, progress=False: rows[spec.seed])
    sweeps.sweep(sweeps.plan(["olympiad"], ["all"], [0, 1], epochs=1), str(results), progress=False)
    assert [r["seed"] for r in sweeps.read_results(str(results))] == [0, 1]


def test_figures_show_the_seed_spread_merge_identical_rules_and_drop_constant_panels(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from noisy_select.bench import report

    def row(strategy, seed, bac, precision=1.0):
        spec = sweeps.RunSpec("clean", strategy, seed)
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
    assert line_style("your_select_indices", colors)["color"] == "black"
    assert line_style("fixed-rates", colors)["color"] == "red"
    assert line_style("oracle-clean", colors)["ls"] == "--"
    assert line_style("adaptive-otsu", colors)["color"] == "0.7"


@pytest.mark.slow
def test_cleanlab_anchor_runs_inside_the_spawned_bench_workers(tmp_path):
    """cleanlab's own fork-based pool used to fail inside the bench's spawned processes."""
    pytest.importorskip("cleanlab")
    specs = sweeps.plan(["olympiad"], ["cleanlab"], [0, 1], epochs=2, device="cpu", scale=0.1)
    rows = sweeps.sweep(specs, str(tmp_path / "r.jsonl"), jobs=2, progress=False)
    assert sorted(r["seed"] for r in rows) == [0, 1]
    assert all(len(r["selection"]) == 2 for r in rows)  # epoch 2 ran on cleanlab's flags


def test_the_same_run_twice_gives_identical_rows():
    spec = sweeps.RunSpec("olympiad", "your_select_indices", 3, epochs=1, device="cpu", scale=0.1)
    first, second = sweeps.run_one(spec), sweeps.run_one(spec)
    for key in ("scores", "history", "selection", "config_hash", "data"):
        assert first[key] == second[key]


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
