"""data/ensure.py: a run's data, built, used as it is, rebuilt or downloaded; never over another's."""

import os

import pytest
from test_folders import _official_layout, _tree

from noisy_select import errors
from noisy_select.cli import main
from noisy_select.data import ensure, folders


@pytest.mark.parametrize("setup", ["missing", "empty", "readme only"])
def test_the_proxy_is_built_into_a_new_or_empty_folder(tmp_path, setup):
    root = tmp_path / "d"
    if setup != "missing":
        root.mkdir()
    if setup == "readme only":
        (root / "README.md").write_text("mine")
    state = ensure.ensure_data(str(root), scale=0.1)
    assert state.kind == "proxy" and folders.has_split(str(root), "train")
    if setup == "readme only":
        assert (root / "README.md").read_text() == "mine"


def test_a_proxy_there_is_used_as_it_is(tiny_proxy):
    root, _ = tiny_proxy
    before = os.stat(root / "train" / "dataset_labels.csv").st_mtime_ns
    assert ensure.ensure_data(str(root)).kind == "proxy"
    assert os.stat(root / "train" / "dataset_labels.csv").st_mtime_ns == before


def test_a_proxy_of_another_scenario_is_an_error(tiny_proxy):
    root, _ = tiny_proxy
    with pytest.raises(errors.DataError, match="'symmetric'.*holds 'olympiad'.*Drop --scenario"):
        ensure.ensure_data(str(root), "symmetric")


def test_official_layout_is_used_and_a_scenario_for_it_is_an_error(tmp_path):
    root = _official_layout(tmp_path / "own")
    assert ensure.ensure_data(str(root)).kind == "data"
    with pytest.raises(errors.DataError, match="official layout"):
        ensure.ensure_data(str(root), "olympiad")


def test_download_refuses_a_folder_with_other_files(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("keep me")
    assert main(["download", "--data", str(tmp_path)]) == 3
    assert "thesis.tex" in capsys.readouterr().err
    assert _tree(tmp_path) == ["thesis.tex"]


def test_a_proxy_missing_a_split_is_rebuilt_from_its_manifest(tmp_path):
    root = tmp_path / "d"
    ensure.ensure_data(str(root), "digits", seed=4, scale=0.3)
    labels = (root / "val" / "dataset_labels.csv").read_text()
    (root / "val" / "dataset_labels.csv").unlink()
    ensure.ensure_data(str(root))
    assert (root / "val" / "dataset_labels.csv").read_text() == labels


@pytest.mark.parametrize("case, missing", [
    ("train without its CSV, val with notes",
     "train/dataset_labels.csv and val/dataset_labels.csv are missing"),
    ("train only", "val/dataset_labels.csv is missing"),
    ("unrelated files", "train/dataset_labels.csv and val/dataset_labels.csv are missing"),
])
def test_a_folder_holding_something_else_is_refused_and_left_alone(tmp_path, capsys, case, missing):
    root = tmp_path / "own"
    root.mkdir()
    if case.startswith("train without"):
        (root / "train").mkdir()
        (root / "val").mkdir()
        (root / "val" / "NOTES.txt").write_text("keep me")
    elif case == "train only":
        _official_layout(root, splits=("train",))
    else:
        (root / "photos").mkdir()
        (root / "thesis.tex").write_text("keep me")
    before = _tree(root)
    # The reproduction: `run` used to rebuild the proxy over the user's folders.
    assert main(["run", "--data", str(root), "--epochs", "1", "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert missing in err and "Nothing was changed" in err and "noisy-select data" in err
    assert _tree(root) == before
    if case.startswith("train without"):
        assert (root / "val" / "NOTES.txt").read_text() == "keep me"
