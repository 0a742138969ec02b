"""Issue 27: nothing of the user's is overwritten by an output. Grouped by the rule each case tests."""

import json
import shutil

import pytest

from noisy_select.cli import main

EVIDENCE = "docs/results/bench.jsonl"


@pytest.fixture
def results(tmp_path):
    path = tmp_path / "ev.jsonl"
    shutil.copy(EVIDENCE, path)
    return path


# Rule 1: an output path may not be an input of the same command, nor another of its outputs.

def test_summary_may_not_replace_the_results_it_reads(results, tmp_path, capsys):  # case 1
    before = results.read_text()
    assert main(["summary", "-r", str(results), "--summary", str(results),
                 "--figures", str(tmp_path / "f")]) == 3
    assert "is an input of this command" in capsys.readouterr().err
    assert results.read_text() == before


def test_bench_and_compare_may_not_write_the_summary_over_their_results(results, capsys):  # case 1
    before = results.read_text()
    assert main(["bench", "all", "--scenarios", "olympiad", "--seeds", "0", "-r", str(results),
                 "--summary", str(results)]) == 3
    assert main(["compare", "all", "fixed-rates", "--seeds", "0", "-r", str(results),
                 "--summary", str(results)]) == 3
    assert results.read_text() == before


def test_compares_two_outputs_may_not_be_one_file(results, tmp_path, capsys):  # case 2
    same = tmp_path / "same.json"
    assert main(["compare", "all", "fixed-rates", "--seeds", "0", "-r", str(results),
                 "--summary", str(same)]) == 3
    assert "to be different files" in capsys.readouterr().err


# Rule 2: an existing file is replaced only when it is of the kind the command writes
# (recognised by what this package leaves in it); --force replaces it anyway.

def test_compare_does_not_replace_a_users_json_beside_its_summary(results, tmp_path, capsys):  # case 2
    notes = tmp_path / "notes.json"
    notes.write_text(json.dumps({"mine": 1}))
    assert main(["compare", "all", "fixed-rates", "--seeds", "0", "-r", str(results),
                 "--summary", str(tmp_path / "notes.md")]) == 3
    assert "not a file this command writes" in capsys.readouterr().err
    assert json.loads(notes.read_text()) == {"mine": 1}


def test_run_does_not_replace_a_results_file_with_its_record(results, capsys):  # case 3
    before = results.read_text()
    assert main(["run", "-d", str(results.parent / "p1"), "--epochs", "1", "-o", str(results)]) == 3
    err = capsys.readouterr().err
    assert "not a file this command writes" in err and "--force" in err
    assert results.read_text() == before
    assert not (results.parent / "p1").exists()  # refused before any work


def test_submission_replaces_only_its_own_notebooks(tmp_path, capsys):  # case 4
    mine = tmp_path / "notebook.ipynb"
    mine.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    assert main(["submission", "-o", str(mine), "--no-check"]) == 3
    assert "not a file this command writes" in capsys.readouterr().err
    ours = tmp_path / "s.ipynb"
    assert main(["submission", "-o", str(ours), "--no-check"]) == 0
    assert main(["submission", "-o", str(ours), "--no-check"]) == 0  # its own kind: replaced
    assert main(["submission", "-o", str(mine), "--no-check", "--force"]) == 0
    assert "Inlined from noisy_select" in mine.read_text()


def test_submission_writes_only_a_notebook(tmp_path, capsys):  # case 4
    assert main(["submission", "-o", str(tmp_path / "mine.txt"), "--no-check"]) == 2
    assert "(.ipynb)" in capsys.readouterr().err
    assert not (tmp_path / "mine.txt").exists()


# Rule 3: interrupted work does not block or linger.

def test_a_killed_writers_proxy_folder_does_not_block_the_data_folder(tmp_path):  # case 5
    import os
    import subprocess
    import sys

    from noisy_select.data.folders import folder_state

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    data = tmp_path / "X"
    (data / f".proxy-{dead.pid}-abcd" / "new" / "train").mkdir(parents=True)
    assert folder_state(str(data)).kind == "empty"
    assert os.listdir(data) == []
    (data / f".proxy-{os.getpid()}-efgh").mkdir()  # a writer still running: left alone
    assert folder_state(str(data)).kind == "other"


# Rule 4: a run is one row; every reader counts a key once and says what it dropped.

def test_summary_counts_a_file_read_twice_once(results, tmp_path, capsys):  # case 10
    from noisy_select.bench.records import read_results

    rows = len(read_results(str(results)))
    assert main(["summary", "-r", str(results), str(results), "--summary",
                 str(tmp_path / "s.md"), "--figures", str(tmp_path / "f")]) == 0
    out = capsys.readouterr()
    assert f"dropped {rows} duplicate rows" in out.err and f"from {rows} runs" in out.out


def test_a_name_or_seed_given_twice_is_one_run():  # case 10
    from noisy_select.bench.sweeps import plan

    specs = plan(["olympiad", "olympiad"], ["all", "all"], [0, 0], epochs=1)
    assert len(specs) == 1


def test_an_absurd_seed_range_is_refused_before_it_is_built(capsys):  # case 8
    with pytest.raises(SystemExit, match="2"):
        main(["bench", "all", "--scenarios", "olympiad", "--seeds", "0-4294967295"])
    assert "at most 10000 seeds" in capsys.readouterr().err


def test_no_scenario_is_refused(capsys):  # case 14
    assert main(["bench", "all", "--scenarios", "", "--seeds", "0"]) == 2
    assert "at least one scenario" in capsys.readouterr().err


# Rule 5: bad input is one line naming where it is, never a traceback.

@pytest.mark.parametrize("value", ["oops", None, True, float("nan")])
def test_a_result_row_with_a_bad_score_is_named_by_file_and_line(results, tmp_path, capsys,
                                                                  value):  # case 9
    lines = results.read_text().splitlines()
    row = json.loads(lines[2])
    row["bac_mean"] = value
    lines[2] = json.dumps(row)
    results.write_text("\n".join(lines) + "\n")
    assert main(["summary", "-r", str(results), "--summary", str(tmp_path / "s.md"),
                 "--figures", str(tmp_path / "f")]) == 3
    err = capsys.readouterr().err
    assert f"{results}, line 3: expected `bac_mean` to be a number" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["../../escape", "a/b", "..", "a\\b"])
def test_a_scenario_name_may_not_lead_out_of_the_figures_folder(name):  # case 12
    from noisy_select.data.scenarios import parse_scenario
    from noisy_select.errors import UsageError

    with pytest.raises(UsageError, match="without '/'"):
        parse_scenario({"name": name, "source": "mnist", "positive": [1], "train": {},
                        "val": {}}, "x.toml")


def _split(tmp_path, file_name, image=None):
    split = tmp_path / "train"
    (split / "data").mkdir(parents=True)
    (split / "dataset_labels.csv").write_text(f"file_name,label\n{file_name},0\n")
    if image is not None:
        image.save(split / "data" / file_name)
    return split


def test_an_absolute_or_escaping_file_name_is_refused(tmp_path):  # case 12
    from noisy_select.data.folders import read_split
    from noisy_select.errors import DataError

    outside = tmp_path / "outside.png"
    for name in (str(outside), "../outside.png", "../../outside.png"):
        split = _split(tmp_path / name.replace("/", "_"), name)
        with pytest.raises(DataError, match="points outside it"):
            read_split(str(split))


def test_a_decompression_bomb_is_one_line_naming_the_file_and_row(tmp_path, monkeypatch):  # case 7
    from PIL import Image

    from noisy_select.data.folders import read_split
    from noisy_select.errors import DataError

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 280x280 stands in for 14000x14000
    split = _split(tmp_path, "big.png", Image.new("L", (280, 280)))
    with pytest.raises(DataError, match=r"Could not read the image .*big.png \(row 2 of .*"):
        read_split(str(split))


def test_the_hand_off_interpreters_end_with_their_parent(tmp_path):  # case 6
    import os
    import subprocess
    import sys
    import time

    from noisy_select.export.handoff import PARENT_VARIABLE, WATCH_PARENT

    # a parent that starts a long child running the watcher, then dies as by kill -9
    child_code = WATCH_PARENT + "\nimport time\ntime.sleep(60)\n"
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, os\n"
        f"os.environ[{PARENT_VARIABLE!r}] = str(os.getpid())\n"
        f"p = subprocess.Popen([sys.executable, '-c', {child_code!r}])\n"
        "print(p.pid, flush=True)\n"
        "os._exit(0)\n")], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.wait()
    for _ in range(40):
        try:
            with open(f"/proc/{child}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":  # ended, not yet reaped
                    break
        except FileNotFoundError:
            break
        time.sleep(0.25)
    else:
        os.kill(child, 9)
        pytest.fail("the child outlived its parent")


def test_a_killed_checks_folder_is_removed(tmp_path, monkeypatch):  # case 6
    import subprocess
    import sys

    from noisy_select.data.folders import remove_stale_work
    from noisy_select.export.handoff import CHECK_PREFIX

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f"{CHECK_PREFIX}{dead.pid}-x" / "data").mkdir(parents=True)
    remove_stale_work(str(tmp_path), CHECK_PREFIX)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["run"], ["bench", "all"]])
def test_an_absurd_thread_count_is_refused(command, capsys):  # case 13
    with pytest.raises(SystemExit, match="2"):
        main([*command, "--threads", "100000"])
    assert "4 x this machine's cores" in capsys.readouterr().err


@pytest.mark.parametrize("switch", [1.5, "2", True, -1])
def test_the_shipped_rule_refuses_a_switch_that_is_not_a_whole_epoch(switch):  # case 13
    from noisy_select.strategies.shipped import BalancedThenPublished

    with pytest.raises(ValueError, match="Expected `switch` to be an integer >= 0"):
        BalancedThenPublished(switch=switch)


def test_the_notebook_reads_the_smoke_switch_as_people_write_it(monkeypatch):  # case 13
    import json as _json
    import os

    cells = _json.load(open("notebook.ipynb"))["cells"]
    line = next(ln for c in cells for ln in "".join(c["source"]).splitlines()
                if ln.startswith("SMOKE = "))
    for value, smoke in (("1", True), ("true", True), ("TRUE", True), ("yes", True), ("0", False),
                         ("", False), ("false", False)):
        monkeypatch.setenv("NOISY_SELECT_SMOKE", value)
        namespace: dict = {"os": os}
        exec(line, namespace)
        assert namespace["SMOKE"] is smoke, value


# Rule 8: messages say what is wrong and what can be done about it.

def test_an_empty_results_file_is_a_data_problem(tmp_path, capsys):  # case 14
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["summary", "-r", str(empty), "--summary", str(tmp_path / "s.md"),
                 "--figures", str(tmp_path / "f")]) == 3
    assert "hold no rows" in capsys.readouterr().err


def test_data_refuses_a_source_its_scenario_ignores(tmp_path, capsys):  # case 13
    assert main(["data", "-d", str(tmp_path / "p"), "--scenario", "olympiad", "--source",
                 "/nonexistent"]) == 2
    assert "--source applies to the fashion-* scenarios only" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_a_refused_second_sweep_names_the_first_ones_pid(tmp_path):  # case 14
    import os

    from noisy_select.bench.sweeps import results_lock
    from noisy_select.errors import DataError

    path = str(tmp_path / "r.jsonl")
    with results_lock(path):
        with pytest.raises(DataError, match=rf"is writing to .*r.jsonl \(pid {os.getpid()}\)"):
            with results_lock(path):
                pass
    assert not os.path.exists(path + ".pid")
