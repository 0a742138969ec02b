import filecmp
import json
import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from noisy_select import errors
from noisy_select.data import folders, proxy, scenarios


def test_olympiad_counts_and_realised_noise():
    data = scenarios.build("olympiad", seed=3)
    train = data.splits["train"]
    assert len(train.labels) == 3000
    assert np.bincount(train.clean).tolist() == [1050, 1950]
    # Exactly round(rate * n) flips per class: 105 of class 0, 944 of class 1.
    assert int(((train.clean == 0) & (train.labels == 1)).sum()) == 105
    assert int(((train.clean == 1) & (train.labels == 0)).sum()) == 944
    noisy = np.bincount(train.labels)
    assert noisy.tolist() == [1889, 1111]
    assert abs(noisy[0] / noisy.sum() - 6298 / 10000) < 0.002
    assert 0.33 < (train.labels != train.clean).mean() < 0.36
    val = data.splits["val"]
    assert (val.labels == val.clean).all() and val.clean.mean() > 0.5
    test = data.splits["test"]
    assert (test.labels == test.clean).all() and len(test.labels) > 0
    assert train.images.shape == (3000, 28, 28) and train.images.dtype == np.uint8


def test_splits_do_not_share_images():
    data = scenarios.build("olympiad", seed=0)
    rows = [s.images.reshape(len(s.images), -1) for s in data.splits.values()]
    all_rows = np.concatenate(rows)
    assert len(np.unique(all_rows, axis=0)) == len(all_rows)


def test_same_seed_same_bytes_other_seed_other_noise(tmp_path):
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        proxy.build_proxy(str(tmp_path / name), "olympiad", seed, scale=0.1)
    cmp = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only
    for split in ("train", "val", "test"):
        sub = filecmp.dircmp(tmp_path / "a" / split, tmp_path / "b" / split)
        assert not sub.diff_files
        assert not filecmp.dircmp(tmp_path / "a" / split / "data",
                                  tmp_path / "b" / split / "data").diff_files
    a = pd.read_csv(tmp_path / "a" / "train" / "dataset_labels.csv")
    c = pd.read_csv(tmp_path / "c" / "train" / "dataset_labels.csv")
    assert not a.equals(c)


def test_written_proxy_is_the_competition_layout(tiny_proxy):
    root, manifest = tiny_proxy
    for split in ("train", "val", "test"):
        df = pd.read_csv(root / split / "dataset_labels.csv")
        assert list(df.columns) == ["file_name", "label"]
        img = Image.open(root / split / "data" / df.file_name[0])
        assert img.size == (28, 28) and img.mode == "L"
        loaded = folders.read_split(str(root / split))
        assert len(loaded.labels) == manifest["counts"][split]["size"]
    saved = json.loads((root / "manifest.json").read_text())
    assert saved["scenario"]["noise"] == [[0.9, 0.1], [0.484, 0.516]]
    assert saved["seed"] == 0
    train = folders.read_split(str(root / "train"))
    assert int((train.labels != train.clean).sum()) == manifest["counts"]["train"]["wrong_labels"]


FASHION = sorted(n for n, r in scenarios.SCENARIOS.items() if r.source == "fashion")


def _assert_noise_as_recipe(data, recipe, scale=1.0):
    train = data.splits["train"]
    n = len(train.labels)
    assert n == round(recipe.train_size * scale)
    # Exact counts per class: the realised rates are the recipe's up to rounding.
    tolerance = max(0.002, 1.5 / (n * min(recipe.train_prior, 1 - recipe.train_prior)))
    for i in (0, 1):
        members = train.clean == i
        flipped = (train.labels[members] != i).mean()
        assert abs(flipped - recipe.noise[i][1 - i]) < tolerance
    assert abs(train.clean.mean() - recipe.train_prior) < max(0.002, 1 / n)


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.needs_fashion) if n in FASHION else n
    for n in sorted(scenarios.SCENARIOS)])
def test_every_scenario_builds_with_its_noise(name):
    _assert_noise_as_recipe(scenarios.build(name, seed=1), scenarios.SCENARIOS[name])


@pytest.mark.parametrize("name", FASHION)
def test_every_fashion_scenario_builds_from_made_up_idx_files(name, fake_fashion):
    data = scenarios.build(name, seed=1, scale=0.05, source_dir=fake_fashion)
    _assert_noise_as_recipe(data, scenarios.SCENARIOS[name], scale=0.05)
    assert data.manifest()["source_fingerprint"] == scenarios._fingerprint("fashion", fake_fashion)


def test_unknown_scenario_lists_the_valid_ones():
    with pytest.raises(ValueError, match="olympiad"):
        scenarios.build("nope", seed=0)


def test_existing_data_is_not_overwritten_without_force(tiny_proxy):
    root, _ = tiny_proxy
    with pytest.raises(FileExistsError, match="force"):
        proxy.build_proxy(str(root), "olympiad", 0, scale=0.1)


def test_a_failed_build_leaves_nothing_behind(tmp_path, monkeypatch):
    from helpers import fail_after_saves

    fail_after_saves(monkeypatch, 50, OSError("disk full"))
    with pytest.raises(OSError, match="disk full"):
        proxy.build_proxy(str(tmp_path), "olympiad", 0, scale=0.1)
    assert os.listdir(tmp_path) == []


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("failing_rename", [1, 3, 6])
def test_a_rebuild_that_fails_while_swapping_leaves_the_old_proxy_whole(tmp_path, monkeypatch,
                                                                        failing_rename):
    root = tmp_path / "d"
    proxy.build_proxy(str(root), "olympiad", 0, scale=0.1)
    (root / "README.md").write_text("mine")
    before = _tree(root)
    replace, calls = os.replace, [0]

    def interrupted(src, dst):
        calls[0] += 1
        if calls[0] == failing_rename:  # the 8 renames: 4 entries aside, then 4 in
            raise KeyboardInterrupt
        replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        proxy.build_proxy(str(root), "olympiad", 5, scale=0.1, force=True)
    monkeypatch.setattr(os, "replace", replace)
    assert _tree(root) == before  # the old proxy, byte for byte, and the user's README
    proxy.build_proxy(str(root), "olympiad", 5, scale=0.1, force=True)
    assert _tree(root) != before and (root / "README.md").read_text() == "mine"
    assert folders.folder_state(str(root)).kind == "proxy"


def _make_split(tmp_path, rows, images=True):
    root = tmp_path / "split"
    (root / "data").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(root / "dataset_labels.csv", index=False)
    if images:
        for name in pd.DataFrame(rows).get("file_name", []):
            Image.fromarray(np.zeros((28, 28), np.uint8), mode="L").save(root / "data" / name)
    return root


def test_missing_labels_file_is_named(tmp_path):
    with pytest.raises(errors.DataError, match="dataset_labels.csv"):
        folders.read_split(str(tmp_path))


def test_csv_without_the_columns_is_named(tmp_path):
    root = _make_split(tmp_path, {"name": ["a.png"], "y": [0]}, images=False)
    with pytest.raises(errors.DataError, match=r"lacks \['file_name', 'label'\]"):
        folders.read_split(str(root))


def test_label_outside_zero_one_is_named(tmp_path):
    root = _make_split(tmp_path, {"file_name": ["a.png", "b.png"], "label": [1, 2]})
    with pytest.raises(errors.DataError, match="b.png.*label 2"):
        folders.read_split(str(root))


def test_missing_image_is_named(tmp_path):
    root = _make_split(tmp_path, {"file_name": ["a.png", "b.png"], "label": [0, 1]})
    os.remove(root / "data" / "b.png")
    with pytest.raises(errors.DataError, match="b.png.*missing"):
        folders.read_split(str(root))


def test_unreadable_image_is_named(tmp_path):
    root = _make_split(tmp_path, {"file_name": ["a.png"], "label": [0]})
    (root / "data" / "a.png").write_bytes(b"not a png")
    with pytest.raises(errors.DataError, match="Could not read the image .*a.png"):
        folders.read_split(str(root))
