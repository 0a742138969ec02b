"""Scenario files: the built-in scenarios are such files; a user's file works wherever a name does."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from noisy_select.cli import main
from noisy_select.data import scenarios

OLYMPIAD = os.path.join(scenarios.BUILTIN_DIR, "olympiad.toml")


def _files(root):
    return {p: open(os.path.join(root, p), "rb").read()
            for p in sorted(os.path.relpath(os.path.join(d, f), root)
                            for d, _, fs in os.walk(root) for f in fs)}


def test_every_built_in_scenario_is_a_file_shipped_with_the_package():
    names = sorted(f[:-5] for f in os.listdir(scenarios.BUILTIN_DIR) if f.endswith(".toml"))
    assert names == sorted(scenarios.SCENARIOS)


def test_a_scenario_file_reproduces_olympiad_byte_for_byte(tmp_path):
    mine = tmp_path / "mine.toml"
    shutil.copy(OLYMPIAD, mine)
    assert main(["data", "-d", str(tmp_path / "a"), "--scale", "0.1", "--seed", "7"]) == 0
    assert main(["data", "-d", str(tmp_path / "b"), "--scale", "0.1", "--seed", "7",
                 "--scenario", str(mine)]) == 0
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    manifest_a, manifest_b = (json.loads(x.pop("manifest.json")) for x in (a, b))
    assert a == b  # every image and labels file
    assert manifest_b["scenario"]["name"].startswith("olympiad@")  # a user's file is marked
    assert {**manifest_b["scenario"], "name": "olympiad"} == manifest_a["scenario"]


def test_json_and_flip_rates_and_class_names(tmp_path):
    spec = {"name": "coats", "source": "fashion", "positive": ["Coat", 9], "seed": 4,
            "train": {"size": 100, "prior": 0.3, "flip_1_to_0": 0.25},
            "val": {"size": 20, "prior": 0.5}, "test": {"size": 20, "prior": 0.5}}
    path = tmp_path / "coats.json"
    path.write_text(json.dumps(spec))
    recipe = scenarios.get_scenario(str(path))
    assert recipe.positive == (4, 9) and recipe.noise == ((1.0, 0.0), (0.25, 0.75))
    assert recipe.seed == 4 and recipe.name.startswith("coats@")


def test_a_seed_in_the_file_fixes_the_data_draw(tmp_path):
    path = tmp_path / "fixed.toml"
    path.write_text(open(OLYMPIAD).read().replace('source = "mnist"', 'source = "mnist"\nseed = 5'))
    one, two = (scenarios.build(str(path), seed, scale=0.1) for seed in (1, 2))
    assert np.array_equal(one.splits["train"].images, two.splits["train"].images)
    assert np.array_equal(one.splits["train"].images, scenarios.build("olympiad", 5, scale=0.1)
                          .splits["train"].images)


@pytest.mark.parametrize("edit, message", [
    (("[val]", "colour = 1\n[val]"), "Unknown key `train.colour`"),
    (("prior = 0.65                          # clean", "prior = 1.5  #"), "`train.prior`"),
    (("noise = [[0.90, 0.10], [0.484, 0.516]]", "flip_1_to_0 = 1.0"), "`train.flip_1_to_0`"),
    (("noise = [[0.90, 0.10], [0.484, 0.516]]", "flip_0_to_1 = -0.1"), "`train.flip_0_to_1`"),
    (("noise = [[0.90, 0.10], [0.484, 0.516]]", "noise = [[0.9, 0.2], [0.5, 0.5]]"),
     "`train.noise row 0`"),
    (("size = 3000", "size = 4900"), "asks for more images of a class than 'mnist' has"),
    (("positive = [5, 6, 7, 8, 9]", "positive = [5, 10]"), "`positive`"),
    (('source = "mnist"', 'source = "cifar"'), "`source`"),
])
def test_a_bad_scenario_file_is_one_line_naming_the_key_and_writes_nothing(tmp_path, capsys,
                                                                          edit, message):
    path = tmp_path / "bad.toml"
    text = open(OLYMPIAD).read()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1))
    out = tmp_path / "out"
    assert main(["data", "-d", str(out), "--scenario", str(path)]) in (2, 3)
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bench_runs_a_scenario_file_and_resumes_it(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    shutil.copy(OLYMPIAD, path)
    argv = ["bench", "all", "--scenarios", str(path), "--seeds", "0", "--scale", "0.1",
            "--epochs", "1", "-r", str(tmp_path / "r.jsonl"), "--summary", str(tmp_path / "R.md"),
            "--figures", str(tmp_path / "f"), "--no-progress"]
    assert main(argv) == 0
    row = json.loads((tmp_path / "r.jsonl").read_text())
    assert row["scenario"].startswith("olympiad@") and row["data"]["scenario"]["train_size"] == 3000
    capsys.readouterr()
    assert main(argv) == 0
    assert "0 runs to do" in capsys.readouterr().out


def test_the_readme_example_file_is_a_valid_scenario(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "mine.toml"
    path.write_text(block)
    recipe = scenarios.get_scenario(str(path))
    assert recipe.positive == (1, 8) and recipe.seed == 7 and recipe.test_size is None
