"""bench/sweeps.py: planned runs, resumed sweeps, worker processes, identical rows."""

import json

import pytest
import torch
from helpers import fake_row, fake_rows

from noisy_select.bench import sweeps
from noisy_select.bench.run import RunConfig, run
from noisy_select.cli import main


def test_sweep_resumes_without_rerunning_finished_runs(tmp_path, monkeypatch):
    calls = []

    def fake_run(spec):
        calls.append(spec.key())
        return fake_row(spec)

    monkeypatch.setattr(sweeps, "run", fake_run)
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


@pytest.mark.slow  # trains whole runs; the quick suite stays under 3 minutes on 2 cores
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


def test_a_changed_config_is_run_again_not_skipped(tmp_path, monkeypatch):
    spec = RunConfig("olympiad", "fixed-rates", 0, epochs=1)
    stale = {**fake_row(spec), "config_hash": "0123456789ab"}
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps(stale) + "\n")
    ran = []
    monkeypatch.setattr(sweeps, "run", lambda s: ran.append(s) or fake_row(s))
    sweeps.sweep([spec], str(results), progress=False)
    assert ran == [spec]


def test_a_truncated_last_line_is_skipped_and_its_run_is_run_again(tmp_path, capsys, monkeypatch):
    rows = fake_rows()
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1])[:40])
    assert main(["summary", "-r", str(results), "--summary", str(tmp_path / "R.md"),
                 "--figures", str(tmp_path / "f")]) == 0
    assert "line 2: skipped a truncated last row" in capsys.readouterr().err
    ran = []
    monkeypatch.setattr(sweeps, "run", lambda spec: ran.append(spec) or
                        rows[spec.seed])
    specs = sweeps.plan(["olympiad"], ["all"], [0, 1], epochs=1)
    out = sweeps.sweep(specs, str(results), progress=False)
    assert [s.seed for s in ran] == [1] and [r["seed"] for r in out] == [0, 1]
    assert [json.loads(line)["seed"] for line in results.read_text().splitlines()] == [0, 1]


def test_a_complete_last_row_without_its_newline_is_kept(tmp_path, monkeypatch):
    rows = fake_rows()
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps(rows[0]))
    monkeypatch.setattr(sweeps, "run", lambda spec: rows[spec.seed])
    sweeps.sweep(sweeps.plan(["olympiad"], ["all"], [0, 1], epochs=1), str(results), progress=False)
    assert [r["seed"] for r in sweeps.read_results(str(results))] == [0, 1]


@pytest.mark.slow
def test_cleanlab_anchor_runs_inside_the_spawned_bench_workers(tmp_path):
    """cleanlab's own fork-based pool used to fail inside the bench's spawned processes."""
    pytest.importorskip("cleanlab")
    specs = sweeps.plan(["olympiad"], ["cleanlab"], [0, 1], epochs=2, device="cpu", scale=0.1)
    rows = sweeps.sweep(specs, str(tmp_path / "r.jsonl"), jobs=2, progress=False)
    assert sorted(r["seed"] for r in rows) == [0, 1]
    assert all(len(r["selection"]) == 2 for r in rows)  # epoch 2 ran on cleanlab's flags


@pytest.mark.slow  # trains whole runs; the quick suite stays under 3 minutes on 2 cores
def test_the_same_run_twice_gives_identical_rows():
    spec = RunConfig("olympiad", "your_select_indices", 3, epochs=1, device="cpu", scale=0.1)
    first, second = run(spec), run(spec)
    for key in ("scores", "history", "selection", "config_hash", "data"):
        assert first[key] == second[key]


def test_a_plan_with_an_unknown_scenario_is_refused():
    with pytest.raises(ValueError, match="scenario"):
        sweeps.plan(["olympiad", "moon"], ["all"], [0])
