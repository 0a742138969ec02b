import json
import shutil

import pytest

from noisy_select.cli import main


def test_run_end_to_end_on_a_tiny_proxy(tiny_proxy, tmp_path, capsys):
    root, manifest = tiny_proxy
    data = tmp_path / "data"
    shutil.copytree(root, data)
    out = tmp_path / "run.json"
    code = main(["run", "--data", str(data), "--epochs", "1", "--device", "cpu",
                 "--out", str(out), "--no-progress", "--strategy", "fixed-rates"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "offline proxy 'olympiad'" in printed and "points" in printed
    result = json.loads(out.read_text())
    assert result["config"]["strategy"] == "fixed-rates"
    assert result["config"]["epochs"] == 1 and result["config"]["seed"] == 123
    for split in ("val", "test"):
        r = result[split]
        assert 0 <= r["bac_1"] <= 1 and 0 <= r["bac_2"] <= 1
        assert r["bac_mean"] == pytest.approx((r["bac_1"] + r["bac_2"]) / 2)
        assert r["size"] == manifest["counts"][split]["size"]
    assert [h["epoch"] for h in result["history"]] == [1]
    assert result["environment"]["device"] == "cpu"
    assert result["data"]["scenario"]["name"] == "olympiad"


def test_run_builds_the_proxy_when_data_is_missing(tmp_path, monkeypatch, capsys):
    import noisy_select.run as run_module

    built = []

    def fake_build(out, scenario, seed, **kwargs):
        built.append((out, scenario))
        raise ValueError("stop here")

    monkeypatch.setattr(run_module.proxy, "build_proxy", fake_build)
    assert main(["run", "--data", str(tmp_path / "empty"), "--no-progress"]) == 2
    assert built == [(str(tmp_path / "empty"), "olympiad")]


def test_unknown_strategy_is_a_clear_error(capsys):
    assert main(["run", "--strategy", "magic"]) == 2
    err = capsys.readouterr().err
    assert "Unknown strategy 'magic'" in err and "fixed-rates" in err


def test_oracles_are_refused_outside_the_bench(capsys):
    assert main(["run", "--strategy", "oracle-clean"]) == 2
    assert "bench" in capsys.readouterr().err


def test_data_command_writes_a_scenario(tmp_path, capsys):
    assert main(["data", "--scenario", "digits", "--seed", "2", "--scale", "0.2",
                 "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["scenario"]["name"] == "digits" and manifest["seed"] == 2
    assert main(["data", "--out", str(tmp_path)]) == 2
    assert "force" in capsys.readouterr().err


def test_bad_data_is_reported_before_training(tmp_path, capsys):
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    for split in ("train", "val"):
        (tmp_path / split / "dataset_labels.csv").write_text("file_name,label\nx.png,0\n")
    assert main(["run", "--data", str(tmp_path), "--no-progress"]) == 2
    assert "x.png" in capsys.readouterr().err
