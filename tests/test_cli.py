import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from helpers import fake_row

from noisy_select.bench import sweeps
from noisy_select.bench.run import RunConfig, run
from noisy_select.cli import build_parser, main


def _run(data, out, *extra):
    return main(["run", "--data", str(data), "--epochs", "1", "--device", "cpu",
                 "--out", str(out), *extra])


def test_run_end_to_end_on_a_tiny_proxy(tiny_proxy, tmp_path, capsys):
    root, manifest = tiny_proxy
    data = tmp_path / "data"
    shutil.copytree(root, data)
    out = tmp_path / "run.json"
    assert _run(data, out, "--strategy", "fixed-rates") == 0
    printed = capsys.readouterr().out
    assert "offline proxy 'olympiad'" in printed
    assert "Training with 'fixed-rates' (official loop), seed 123, 1 epochs on cpu." in printed
    assert "epoch 1/1: validation BAC model 1" in printed and "\r" not in printed
    result = json.loads(out.read_text())
    assert result["config"]["strategy"] == "fixed-rates" and result["config"]["seed"] == 123
    for split in ("val", "test"):
        assert result["scores"][split]["size"] == manifest["counts"][split]["size"]
    history = result["history"]
    assert [h["epoch"] for h in history] == [1]
    # The last epoch's validation BACs are the final validation scores: one model, two readings.
    assert (history[0]["val_bac_1"], history[0]["val_bac_2"]) == (
        result["scores"]["val"]["bac_1"], result["scores"]["val"]["bac_2"])
    assert result["data"]["kind"] == "proxy" and result["data"]["scenario"]["name"] == "olympiad"
    assert result["environment"]["device"] == "cpu"


@pytest.mark.slow
def test_a_clean_run_then_a_noisy_run_in_one_process_equals_the_noisy_run_alone(tmp_path):
    """Each run starts the strategy with fresh state (a leak would carry the clean run's estimates)."""
    clean, noisy = tmp_path / "clean", tmp_path / "noisy"
    assert main(["data", "--data", str(clean), "--scenario", "clean", "--scale", "0.1"]) == 0
    assert main(["data", "--data", str(noisy), "--scale", "0.1", "--seed", "1"]) == 0
    assert _run(noisy, tmp_path / "alone.json", "--no-progress") == 0
    assert _run(clean, tmp_path / "first.json", "--no-progress") == 0
    assert _run(noisy, tmp_path / "after.json", "--no-progress") == 0
    alone, after = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("alone", "after"))
    assert after["scores"] == alone["scores"] and after["history"] == alone["history"]


@pytest.mark.slow  # trains whole runs; the quick suite stays under 3 minutes on 2 cores
def test_a_bench_row_and_noisy_select_run_give_identical_scores(tmp_path):
    """Same scenario, seed and strategy: the bench's in-memory batches and run's PNG files."""
    spec = RunConfig("olympiad", "fixed-rates", 3, epochs=2, device="cpu", scale=0.1)
    row = run(spec)
    assert main(["run", "-d", str(tmp_path / "d"), "--scale", "0.1", "--seed", "3", "--epochs",
                 "2", "-s", "fixed-rates", "--device", "cpu", "-o", str(tmp_path / "r.json"),
                 "--no-progress"]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["scores"] == row["scores"] and record["history"] == row["history"]
    assert record["selection"] == row["selection"] and record["config_hash"] == row["config_hash"]
    for key in ("scenario", "strategy", "seed", "epochs", "scale", "schema"):
        assert record[key] == row[key]


@pytest.mark.slow  # trains whole runs; the quick suite stays under 3 minutes on 2 cores
def test_bench_runs_start_with_fresh_state():
    spec_clean = RunConfig("clean", "your_select_indices", 0, epochs=1, device="cpu", scale=0.1)
    spec_noisy = RunConfig("olympiad", "your_select_indices", 1, epochs=1, device="cpu",
                               scale=0.1)
    alone = run(spec_noisy)
    run(spec_clean)
    after = run(spec_noisy)
    assert after["bac_mean"] == alone["bac_mean"] and after["selection"] == alone["selection"]


@pytest.mark.slow  # trains whole runs; the quick suite stays under 3 minutes on 2 cores
def test_runs_write_a_new_record_each_and_say_when_they_overwrite(tiny_proxy, tmp_path, capsys,
                                                                   monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(tiny_proxy[0], data)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["run", "--data", "data", "--epochs", "1", "--no-progress", "-s", "all"]) == 0
    records = sorted(os.listdir(tmp_path / "results"))
    assert len(records) == 2 and all(r.startswith("run-") and r.endswith("-all.json")
                                     for r in records)
    capsys.readouterr()
    assert _run(data, tmp_path / "results" / records[0], "--no-progress", "-s", "all") == 0
    assert "exists and will be overwritten" in capsys.readouterr().out


def test_run_refuses_a_scenario_the_data_does_not_hold(tiny_proxy, capsys):
    assert main(["run", "--data", str(tiny_proxy[0]), "--scenario", "symmetric"]) == 3
    assert "holds 'olympiad'" in capsys.readouterr().err


def test_unknown_strategy_is_a_clear_error(capsys):
    assert main(["run", "--strategy", "magic"]) == 2
    err = capsys.readouterr().err
    assert "Unknown strategy 'magic'" in err and "fixed-rates" in err


def test_oracles_are_refused_outside_the_bench(capsys):
    assert main(["run", "--strategy", "oracle-clean"]) == 2
    assert "bench" in capsys.readouterr().err


def test_data_command_writes_a_scenario(tmp_path, capsys):
    assert main(["data", "--scenario", "digits", "--seed", "2", "--scale", "0.2",
                 "--data", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["scenario"]["name"] == "digits" and manifest["seed"] == 2
    assert main(["data", "--data", str(tmp_path)]) == 2
    assert "force" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["data", "--out", "d"], ["bench", "-s", "all"],
                                  ["summary", "--out", "s.md"]])
def test_the_old_spellings_are_gone(tmp_path, capsys, argv):
    # data --out, bench --out and summary --out went in 0.2.0 (README, changelog), and bench
    # takes its strategies as compare does: as names after the command.
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["bench", "--seeds", "4-0"], "did you mean '0-4'"),
    (["bench", "--seeds", ","], "at least one seed"),
    (["bench", "--jobs", "0"], "Expected a whole number >= 1, but got 0"),
    (["speed", "--repeats", "0"], "Expected a whole number >= 1, but got 0"),
    (["run", "--epochs", "0"], "Expected a whole number >= 1, but got 0"),
    (["run", "--epochs", "1.5"], "Expected a whole number >= 1, but got '1.5'"),
    (["run", "--seed", "-5"], "from 0 to 2**32 - 1 as the seed, but got -5"),
    (["data", "--seed", "-5"], "from 0 to 2**32 - 1 as the seed, but got -5"),
    (["bench", "--seeds", "3,-5"], "from 0 to 2**32 - 1 as the seed, but got -5"),
    (["data", "--scale", "2"], "Expected a scale in (0, 1], but got 2.0"),
])
def test_bad_option_values_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_every_option_has_help_and_the_version_is_printed(capsys):
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings} has no help"
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("noisy-select 0.")
    text = subparsers["bench"].format_help()
    assert "(default: 6)" in text and "docs/results/bench.jsonl" in text


def test_the_cli_restates_the_competition_seed_and_run_length_faithfully():
    # Written three times on purpose: the competition's cell as it is, the torch-free constants
    # of the tools, and the rules' base module, which a submission inlines without the package.
    from noisy_select import cli, competition, constants
    from noisy_select.strategies import base

    assert cli.SEED == competition.SEED
    assert constants.NUM_EPOCHS == competition.NUM_EPOCHS == base.EPOCHS


def test_ctrl_c_in_run_prints_one_line_and_writes_nothing(tiny_proxy, tmp_path, capsys, monkeypatch):
    import noisy_select.train.training

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(noisy_select.train.training, "run_execution_cell", interrupted)
    assert _run(tiny_proxy[0], tmp_path / "r" / "run.json", "--no-progress") == 130
    err = capsys.readouterr().err
    assert "noisy-select run: interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_ctrl_c_in_data_leaves_no_folder_behind(tmp_path, capsys, monkeypatch):
    from helpers import fail_after_saves

    fail_after_saves(monkeypatch, 5, KeyboardInterrupt())  # Ctrl-C while images are written
    assert main(["data", "--data", str(tmp_path / "d"), "--scale", "0.1"]) == 130
    assert "interrupted" in capsys.readouterr().err and os.listdir(tmp_path) == []


def test_ctrl_c_in_bench_keeps_the_finished_runs(tmp_path, capsys, monkeypatch):
    calls = []

    def second_interrupts(spec):
        calls.append(spec)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return fake_row(spec)

    monkeypatch.setattr(sweeps, "run", second_interrupts)
    results = tmp_path / "r.jsonl"
    assert main(["bench", "all", "fixed-rates", "--scenarios", "olympiad", "--seeds", "0",
                 "-r", str(results), "--no-progress"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert [r["strategy"] for r in sweeps.read_results(str(results))] == ["all"]


def test_sweep_says_its_size_before_it_starts(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweeps, "run", fake_row)
    specs = sweeps.plan(["olympiad"], ["all", "fixed-rates"], [0, 1], epochs=1)
    sweeps.sweep(specs[:1], str(tmp_path / "r.jsonl"), progress=False)
    sweeps.sweep(specs, str(tmp_path / "r.jsonl"))
    out = capsys.readouterr().out
    # Not a terminal: one plain line per finished run, counted.
    assert "[1/3] olympiad/" in out and "[3/3] olympiad/" in out and "\r" not in out
    assert "1 runs to do with 1 process." in out
    assert "3 runs to do with 1 process, about 0 minutes (each run at the mean time" in out


def test_sweep_estimate_times_each_run_by_its_own_scenario(fake_fashion):
    rows = [{"scenario": "olympiad", "scale": 1.0, "seconds": 100},
            {"scenario": "fashion-tops", "scale": 1.0, "seconds": 500},
            {"scenario": "fashion-tops", "scale": 1.0, "seconds": 700}]
    todo = sweeps.plan(["fashion-tops", "olympiad", "digits"], ["all"], [0], source=fake_fashion)
    # 600 (fashion-tops' mean) + 100 (olympiad's) + 433.3 (no digits rows: the mean of all)
    assert sweeps._estimate(rows, todo) == pytest.approx(600 + 100 + 1300 / 3)
    assert sweeps._estimate([], todo) is None


@pytest.mark.slow
def test_sigterm_during_data_force_leaves_no_hidden_folder(tmp_path):
    root = tmp_path / "d"
    assert main(["data", "--data", str(root), "--scale", "0.1"]) == 0
    manifest = (root / "manifest.json").read_text()
    proc = subprocess.Popen([sys.executable, "-m", "noisy_select", "data", "--data", str(root),
                             "--force", "--seed", "5"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not any(n.startswith(".proxy-") for n in os.listdir(root)):
        assert proc.poll() is None and time.time() < deadline, "the build never started"
        time.sleep(0.01)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "stopped by SIGTERM" in err
    assert not [n for n in os.listdir(root) if n.startswith(".")]
    assert (root / "manifest.json").read_text() == manifest


def test_a_reader_that_goes_away_ends_the_output_quietly():
    # `noisy-select strategies | head -1`: the reader closes the pipe before the output ends
    # (here before it starts, so that the write fails on every machine).
    proc = subprocess.Popen([sys.executable, "-m", "noisy_select", "strategies"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert err == "" and proc.returncode in (0, 1)


# --- unusable output paths: one line and a documented code, before any work ----------------

def _unusable(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    afile = tmp_path / "a-file"
    afile.write_text("mine")
    record = tmp_path / "run-record.json"
    record.write_text(json.dumps({"schema": 2, "pretty": True}, indent=2))
    return folder, afile, record


@pytest.mark.parametrize("argv", [
    ["run", "-o", "{folder}"],
    ["run", "-o", "{file}/record.json"],
    ["submission", "-o", "{folder}"],
    ["submission", "-o", "{file}/s.ipynb"],
    ["bench", "-r", "{folder}"],
    ["bench", "-r", "{record}"],
    ["bench", "-r", "{file}/r.jsonl"],
    ["bench", "--summary", "{folder}"],
    ["bench", "--figures", "{file}"],
    ["compare", "fixed-rates", "all", "--scenarios", "olympiad", "-r", "{folder}"],
    ["compare", "fixed-rates", "all", "--scenarios", "olympiad", "--summary", "{folder}"],
    ["summary", "-r", "{folder}"],
    ["summary", "-r", "{file}"],
    ["summary", "--summary", "{folder}"],
    ["summary", "--figures", "{file}"],
    ["data", "-d", "{file}"],
    ["data", "-d", "{file}/proxy"],
    ["download", "-d", "{file}"],
])
def test_every_command_refuses_an_unusable_path_in_one_line(tmp_path, capsys, argv):
    folder, afile, record = _unusable(tmp_path)
    argv = [a.format(folder=folder, file=afile, record=record) for a in argv]
    before = {p: p.read_bytes() for p in (afile, record)}
    code = main([*argv, "--scale", "0.1"] if argv[0] in ("run", "bench", "data") else argv)
    err = capsys.readouterr().err
    assert code in (2, 3), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "error:" in err
    assert {p: p.read_bytes() for p in (afile, record)} == before
    assert list(folder.iterdir()) == []


def test_data_into_a_file_suggests_a_folder_that_can_exist(tmp_path, capsys):
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    assert main(["data", "-d", str(afile)]) == 3
    err = capsys.readouterr().err
    assert "is a file" in err and f"--data {tmp_path / 'proxy'}" in err


def test_bench_and_compare_write_a_scratch_file_unless_the_evidence_is_named():
    from noisy_select.cli import EVIDENCE, build_parser

    for argv in (["bench"], ["compare", "a", "b"]):
        assert build_parser().parse_args(argv).results == "results/bench.jsonl" != EVIDENCE


def test_a_second_sweep_on_the_same_results_file_is_refused(tmp_path, capsys):
    from noisy_select.bench import sweeps

    out = tmp_path / "r.jsonl"
    with sweeps.results_lock(str(out)):
        assert main(["bench", "all", "--scenarios", "olympiad", "--seeds", "0",
                     "--scale", "0.1", "--epochs", "1", "-r", str(out), "--summary",
                     str(tmp_path / "R.md"), "--figures", str(tmp_path / "f")]) == 3
    err = capsys.readouterr().err
    assert "Another noisy-select sweep is writing to" in err
    assert not out.exists()  # nothing ran: the lock's empty file is gone too


def _children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_bench_workers_end_with_their_parent_however_it_dies(tmp_path, sig):
    out = tmp_path / "r.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "noisy_select", "bench", "--scenarios", "olympiad", "all",
         "fixed-rates", "--seeds", "0-9", "--scale", "0.1", "--epochs", "2", "-j", "2",
         "-r", str(out), "--summary", str(tmp_path / "R.md"), "--figures", str(tmp_path / "f"),
         "--no-progress"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out.exists() and out.read_text().count("\n") >= 1):
        assert proc.poll() is None and time.time() < deadline, "no run finished"
        time.sleep(0.2)
    workers = _children(proc.pid)
    assert workers
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    deadline = time.time() + 10
    while any(_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)
    if sig == signal.SIGTERM:
        assert proc.returncode == 143 and "leaked" not in err
    # After kill -9 the parent cannot release its pool's semaphores: multiprocessing's resource
    # tracker removes them and says so; that line is all that is left.
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(r["schema"] == 2 for r in rows)  # what finished is intact


def test_top_level_help_lists_every_exit_code(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for code in ("0 done", "2 usage error", "3 data", "130 interrupted", "143 stopped by SIGTERM"):
        assert code in out


def test_run_says_which_split_estimates_the_platforms_score(tiny_proxy, tmp_path, capsys):
    root, _ = tiny_proxy
    data = tmp_path / "data"
    shutil.copytree(root, data)
    assert main(["run", "-d", str(data), "--epochs", "1", "--no-progress", "-s", "all",
                 "-o", str(tmp_path / "r.json")]) == 0
    assert "here test is the estimate of that score" in capsys.readouterr().out


def test_threads_are_set_per_run_and_recorded(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert main(["bench", "all", "--scenarios", "olympiad", "--seeds", "0", "--scale",
                 "0.1", "--epochs", "1", "--threads", "2", "-r", str(out), "--summary",
                 str(tmp_path / "R.md"), "--figures", str(tmp_path / "f"), "--no-progress"]) == 0
    assert json.loads(out.read_text())["environment"]["threads"] == 2
    import torch

    assert torch.get_num_threads() == 1  # restored after the in-process run
    with pytest.raises(SystemExit):
        main(["bench", "--threads", "0"])
    assert "Expected a thread count from 1 to" in capsys.readouterr().err


@pytest.mark.parametrize("argv, steps, epochs, scale", [
    (["--scale", "0.1", "--epochs", "2"], 6, 10, "0.18"),
    pytest.param(["--scale", "0.2", "--epochs", "1"], 5, 6, "0.18",
                 marks=pytest.mark.slow),  # the same message; trains as long as the first
])
def test_a_run_too_small_to_learn_says_so_before_training_with_the_smallest_that_learns(
        tmp_path, capsys, argv, steps, epochs, scale):
    from noisy_select.train.training import LEARNS_FROM_STEPS, optimizer_steps, size_warning

    assert main(["run", "-d", str(tmp_path / "d"), "-s", "all", "--no-progress", *argv,
                 "-o", str(tmp_path / "r.json")]) == 0
    err = capsys.readouterr().err
    assert f"this run has {steps} optimizer steps" in err
    assert f"--epochs {epochs} at this size, or --scale {scale} with 6 epochs" in err
    # The suggestions are the smallest that reach the measured threshold.
    assert optimizer_steps(round(3000 * float(scale)), 6) >= LEARNS_FROM_STEPS
    assert optimizer_steps(round(3000 * (float(scale) - 0.01)), 6) < LEARNS_FROM_STEPS
    assert size_warning(3000, 6) is None and size_warning(10_000, 1) is None


def test_bench_names_a_sweep_too_small_to_learn(tmp_path, capsys):
    assert main(["bench", "all", "--scenarios", "olympiad", "--seeds", "0", "--scale",
                 "0.1", "--epochs", "1", "-r", str(tmp_path / "r.jsonl"), "--summary",
                 str(tmp_path / "R.md"), "--figures", str(tmp_path / "f"), "--no-progress"]) == 0
    assert "olympiad: warning: this run has 3 optimizer steps" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["run", "-s", "nope"], "Unknown strategy 'nope'"),
    (["run", "-s", "oracle-clean"], "reads the clean labels"),
    (["run", "--epochs", "0"], "a whole number >= 1"),
    (["data", "--scenario", "nope"], "Expected a scenario"),
    (["data", "--scale", "2"], "a scale in (0, 1]"),
    (["download", "--bogus"], "unrecognized arguments"),
    (["bench", "nope"], "Unknown strategy 'nope'"),
    (["bench", "all", "--address", "127.0.0.1:1"], "--backend ray only"),
    (["bench", "all", "--scenarios", "nope"], "Expected a scenario name"),
    (["compare", "all", "nope"], "Unknown strategy 'nope'"),
    (["compare", "all", "all"], "different strategies"),
    (["compare", "all", "fixed-rates", "--address", "127.0.0.1:1"], "--backend ray only"),
    (["summary", "--commands"], "expected one argument"),
    (["speed", "-s", "nope"], "Unknown strategy 'nope'"),
    (["submission", "-s", "nope", "--no-check"], "Unknown strategy 'nope'"),
    (["submission", "-s", "oracle-clean", "--no-check"], "oracle-clean"),
])
def test_usage_errors_exit_2_before_any_data_is_looked_for(no_data_touched, tmp_path, capsys,
                                                          monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own usage errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert list(tmp_path.iterdir()) == []
