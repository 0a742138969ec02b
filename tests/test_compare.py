import json

import numpy as np
import pytest
from helpers import fake_row
from scipy import stats

from noisy_select.bench import compare, sweeps
from noisy_select.bench.run import RunConfig
from noisy_select.cli import main
from noisy_select.errors import UsageError


def _rows(values: dict[str, list[float]], scenario="olympiad"):
    return [fake_row(RunConfig(scenario, name, seed, epochs=1), bac_mean=v)
            for name, vs in values.items() for seed, v in enumerate(vs)]


def test_bootstrap_interval_matches_an_independent_computation():
    rng = np.random.default_rng(5)
    diff = rng.normal(0.03, 0.05, size=10)
    lo, hi = compare.bootstrap_ci(diff)
    ref = stats.bootstrap((diff,), np.mean, n_resamples=10_000, method="percentile",
                          confidence_level=0.95, random_state=1).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.004) and hi == pytest.approx(ref.high, abs=0.004)
    assert compare.bootstrap_ci(diff) == (lo, hi)  # seeded: the same interval every time


def test_paired_difference_wins_losses_ties_and_worst():
    base = [0.70, 0.80, 0.75, 0.60]
    other = [0.75, 0.80, 0.70, 0.70]
    row = compare.paired(_rows({"all": base, "fixed-rates": other}), "olympiad", "all",
                         "fixed-rates")
    assert row["mean_diff"] == pytest.approx(np.mean(np.subtract(other, base)))
    assert (row["wins"], row["losses"], row["ties"]) == (2, 1, 1)
    assert row["worst"] == 0.70 and row["baseline_worst"] == 0.60
    assert row["ci_low"] <= row["mean_diff"] <= row["ci_high"]


def test_only_seeds_both_strategies_ran_are_paired():
    rows = _rows({"all": [0.7, 0.8, 0.9], "fixed-rates": [0.8]})
    row = compare.paired(rows, "olympiad", "all", "fixed-rates")
    assert row["seeds"] == [0] and row["mean_diff"] == pytest.approx(0.1)


def _instrumented(row, bn, best, auc):
    """``row`` with its two models' re-estimated BAC (0.02 either side of ``bn``), best-threshold
    BAC and AUC."""
    row["scores"]["test"].update({
        "bac_bn_1": bn - 0.02, "bac_bn_2": bn + 0.02,  # the models differ: the mean is read
        "bac_best_1": best, "bac_best_2": best, "auc_1": auc, "auc_2": auc})
    return row


def test_a_measure_pairs_the_same_runs_by_their_statistics_threshold_or_ranking():
    rows = _rows({"all": [0.6, 0.7, 0.8], "fixed-rates": [0.9, 0.5, 0.8]})
    for r in rows:
        strat, seed = r["strategy"] == "fixed-rates", r["seed"]
        if not (strat and seed == 2):  # its seed 2 predates the instrument
            _instrumented(r, bn=0.80 + 0.05 * strat + 0.01 * seed, best=0.9, auc=0.95 - 0.1 * strat)
    assert compare.measure_of(rows[0], "bac_bn") == pytest.approx(0.80)
    assert compare.measure_of(rows[-1], "bac_bn") is None and compare.measure_of(rows[-1]) == 0.8
    bn = compare.paired(rows, "olympiad", "all", "fixed-rates", measure="bac_bn")
    assert bn["seeds"] == [0, 1] and bn["measure"] == "bac_bn"
    assert bn["mean_diff"] == pytest.approx(0.05) and bn["wins"] == 2
    assert bn["per_seed_bac"]["1"] == pytest.approx([0.81, 0.86])
    auc = compare.paired(rows, "olympiad", "all", "fixed-rates", measure="auc")
    assert auc["seeds"] == [0, 1, 2]  # every row records its AUC, the older ones too (0.5 here)
    assert auc["mean_diff"] == pytest.approx((-0.1 - 0.1 - 0.45) / 3) and auc["losses"] == 3
    scored = compare.paired(rows, "olympiad", "all", "fixed-rates")
    assert scored["seeds"] == [0, 1, 2] and scored["mean_diff"] == pytest.approx(0.1 / 3)
    assert "by auc (the AUC)" in compare.markdown([auc]) and "by" not in compare.markdown([scored])
    with pytest.raises(UsageError, match="Expected a measure among bac, bac_bn, bac_best, auc, "
                                         "but got 'loss'"):
        compare.paired(rows, "olympiad", "all", "fixed-rates", measure="loss")


def test_compare_command_reads_committed_rows_and_writes_markdown_and_json(tmp_path, capsys):
    results = tmp_path / "r.jsonl"
    rows = _rows({"fixed-rates": [0.7, 0.72, 0.75, 0.7, 0.7], "all": [0.5] * 5})
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "c.md"
    assert main(["compare", "fixed-rates", "all", "--scenarios", "olympiad", "--seeds", "0-4",
                 "--epochs", "1", "-r", str(results), "--summary", str(out),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "0 runs to do" in printed and "| `all` | 5 | -0.214 |" in printed and "worse" in printed
    table = json.loads((tmp_path / "c.json").read_text())
    assert table[0]["verdict"] == "worse" and table[0]["losses"] == 5
    # Fewer seeds than MIN_SEEDS decide nothing, whatever their interval says.
    assert compare.verdict(compare.paired(rows, "olympiad", "fixed-rates", "all") | {
        "seeds": [0, 1]}) == "too few seeds (< 5)"
    assert "noisy-select compare fixed-rates all" in out.read_text()


def test_compare_command_takes_a_measure(tmp_path, capsys):
    results = tmp_path / "r.jsonl"
    rows = _rows({"fixed-rates": [0.7] * 5, "all": [0.5] * 5})
    for r in rows:
        _instrumented(r, bn=0.8 + 0.1 * (r["strategy"] == "all"), best=0.9, auc=0.9)
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["compare", "fixed-rates", "all", "--scenarios", "olympiad", "--seeds", "0-4",
                 "--epochs", "1", "-r", str(results), "--summary", str(tmp_path / "c.md"),
                 "--measure", "bac_bn", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "by bac_bn (the BAC with BatchNorm's statistics re-estimated" in printed
    assert "| `all` | 5 | +0.100 |" in printed and "better" in printed
    assert json.loads((tmp_path / "c.json").read_text())[0]["measure"] == "bac_bn"


@pytest.mark.parametrize("argv, message", [
    (["compare", "all"], "at least two strategies"),
    (["compare", "all", "magic"], "Unknown strategy 'magic'"),
    (["compare", "all", "all"], "different strategies"),
    (["bench", "--backend", "ray", "--address", "127.0.0.1:1", "--scenarios", "olympiad",
      "all", "--seeds", "0"], "nothing answers there"),
    (["bench", "all", "--address", "127.0.0.1:1"], "--backend ray only"),
])
def test_bad_compare_and_backend_input_is_one_line_and_writes_nothing(tmp_path, capsys, argv,
                                                                     message):
    assert main([*argv, "-r", str(tmp_path / "r.jsonl")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_ray_backend_without_ray_names_the_extra(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["bench", "all", "--backend", "ray", "--scenarios", "olympiad",
                 "--seeds", "0", "-r", str(tmp_path / "r.jsonl")]) == 2
    assert "pip install -e '.[ray]'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _comparable(row):
    return {k: v for k, v in row.items() if k not in ("seconds", "environment")}


@pytest.mark.slow
def test_a_local_ray_sweep_gives_the_pool_rows(tmp_path):
    pytest.importorskip("ray")
    specs = sweeps.plan(["olympiad"], ["all", "fixed-rates"], [2], epochs=1, device="cpu",
                       scale=0.1)
    pool = sweeps.sweep(specs, str(tmp_path / "pool.jsonl"), jobs=2, progress=False)
    ray_rows = sweeps.sweep(specs, str(tmp_path / "ray.jsonl"), jobs=2, progress=False,
                           backend="ray")
    key = lambda r: r["strategy"]  # noqa: E731
    assert [_comparable(r) for r in sorted(ray_rows, key=key)] == [
        _comparable(r) for r in sorted(pool, key=key)]
    # Resume works the same: nothing left to run.
    assert len(sweeps.sweep(specs, str(tmp_path / "ray.jsonl"), progress=False, backend="ray")) == 2


def test_summary_pairs_the_shipped_rule_with_each_anchor():
    from noisy_select.bench.report import shipped_against_anchors

    rows = _rows({"your_select_indices": [0.8, 0.82, 0.85, 0.8, 0.8],
                  "fixed-rates": [0.7, 0.75, 0.8, 0.7, 0.7], "oracle-clean": [0.9] * 5})
    text = shipped_against_anchors(rows)
    assert "vs `fixed-rates`: +0.084" in text and "5 wins / 0 losses / 0 ties: better" in text
    assert "vs `oracle-clean`: -0.086" in text and "worse" in text


def test_strategies_command_lists_oracles_and_exportable_ones(capsys):
    assert main(["strategies"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.split("\n\n")[0].splitlines()[1:]}
    assert "reads them" in lines["oracle-clean-balanced"] and "  no  " in lines["oracle-clean"]
    assert "yes" in lines["your_select_indices"] and "cleanlab" in lines
    assert "reads them" not in lines["cleanlab"]
    assert "mine.py (its your_select_indices), mine.py:NAME or package.module:NAME" in out


# --- a folder of one's own data as a scenario ---------------------------------------------

def _own_folder(tiny_proxy, tmp_path):
    import shutil

    root, _ = tiny_proxy
    own = tmp_path / "own"
    shutil.copytree(root, own)
    (own / "manifest.json").unlink()  # now it is just a folder of the official layout
    shutil.rmtree(own / "test")
    return own


@pytest.mark.slow
def test_compare_on_a_folder_of_ones_own_data_pairs_loop_seeds(tiny_proxy, tmp_path, capsys):
    from noisy_select.cli import main

    own = _own_folder(tiny_proxy, tmp_path)
    out = tmp_path / "r.jsonl"
    assert main(["compare", "fixed-rates", "adaptive-mpe", "-d", str(own), "--seeds", "0-4",
                 "--epochs", "1", "-r", str(out), "--summary", str(tmp_path / "c.md"),
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "### folder:own@" in printed and "| `adaptive-mpe` | 5 |" in printed
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 10 and {r["scored_on"] for r in rows} == {"val"}
    assert {r["data"]["content_hash"] for r in rows} == {rows[0]["data"]["content_hash"]}
    assert rows[0]["data"]["kind"] == "folder" and rows[0]["data"]["path"] == str(own)
    # The data is fixed: every seed trains on the same images, in the same order.
    assert len({r["data"]["splits"]["train"]["size"] for r in rows}) == 1


def test_a_folder_that_cannot_be_compared_on_is_refused_before_anything_runs(
        tiny_proxy, tmp_path, capsys):
    from noisy_select.cli import main

    own = _own_folder(tiny_proxy, tmp_path)
    base = ["--seeds", "0", "--epochs", "1", "-r", str(tmp_path / "r.jsonl"), "--summary",
            str(tmp_path / "c.md")]
    assert main(["compare", "fixed-rates", "oracle-clean", "-d", str(own), *base]) == 2
    assert "read the clean labels" in capsys.readouterr().err
    labels = own / "val" / "dataset_labels.csv"
    lines = labels.read_text().splitlines()
    labels.write_text("\n".join([lines[0]] + [ln.rsplit(",", 1)[0] + ",1" for ln in lines[1:]]))
    assert main(["compare", "fixed-rates", "all", "-d", str(own), *base]) == 3
    assert "holds class 1 only" in capsys.readouterr().err
    assert main(["compare", "fixed-rates", "all", "-d", str(tmp_path / "nope"), *base]) == 3
    assert not (tmp_path / "r.jsonl").exists()


def test_a_ray_that_does_not_start_is_one_line_and_keeps_the_rows(tmp_path, capsys, monkeypatch):
    import sys
    import types

    attempts = []

    def init(**kwargs):
        attempts.append(kwargs)
        raise RuntimeError("The current node timed out during startup.\nmore detail")

    fake = types.SimpleNamespace(is_initialized=lambda: False, init=init, shutdown=lambda: None)
    monkeypatch.setitem(sys.modules, "ray", fake)
    results = tmp_path / "r.jsonl"
    done = sweeps.plan(["olympiad"], ["all"], [0], epochs=1)[0]
    results.write_text(json.dumps(fake_row(done)) + "\n")
    before = results.read_text()
    assert main(["bench", "all", "fixed-rates", "--backend", "ray", "--scenarios", "olympiad",
                 "--seeds", "0", "--epochs", "1", "-r", str(results), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "Ray did not start here (tried twice): The current node timed out during startup." in err
    assert len(attempts) == 2 and results.read_text() == before
