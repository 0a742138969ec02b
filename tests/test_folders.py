"""Data folders: what is built where, what is refused, and checks that stop bad data early."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from noisy_select import errors
from noisy_select.cli import main
from noisy_select.data import folders


def _official_layout(root, splits=("train", "val"), n=4):
    """A folder of the official layout (no manifest) with ``n`` blank images per split."""
    for split in splits:
        (root / split / "data").mkdir(parents=True)
        names = [f"{i}.png" for i in range(n)]
        for name in names:
            Image.fromarray(np.zeros((28, 28), np.uint8), mode="L").save(root / split / "data" / name)
        pd.DataFrame({"file_name": names, "label": [i % 2 for i in range(n)]}).to_csv(
            root / split / "dataset_labels.csv", index=False)
    return root


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_data_force_never_replaces_what_the_package_did_not_write(tmp_path, capsys):
    root = _official_layout(tmp_path / "own")
    before = _tree(root)
    assert main(["data", "--data", str(root), "--force", "--scale", "0.1"]) == 3
    assert "official layout" in capsys.readouterr().err
    assert _tree(root) == before


def _split(tmp_path, images):
    root = tmp_path / "split"
    (root / "data").mkdir(parents=True)
    for name, img in images.items():
        img.save(root / "data" / name)
    pd.DataFrame({"file_name": list(images), "label": [0] * len(images)}).to_csv(
        root / "dataset_labels.csv", index=False)
    return root


@pytest.mark.parametrize("image, shown", [
    (Image.new("RGB", (28, 28)), "28x28 image of mode RGB"),
    (Image.new("L", (32, 32)), "32x32 image of mode L"),
])
def test_images_the_loader_cannot_batch_are_refused_with_their_row(tmp_path, image, shown):
    good = Image.fromarray(np.zeros((28, 28), np.uint8), mode="L")
    root = _split(tmp_path, {"a.png": good, "b.png": image})
    with pytest.raises(errors.DataError, match=rf"b.png \(row 3 of .*dataset_labels.csv\).*{shown}"):
        folders.read_split(str(root))


def test_an_rgb_image_stops_run_before_training(tmp_path, capsys):
    root = _official_layout(tmp_path / "own")
    Image.new("RGB", (28, 28)).save(root / "val" / "data" / "2.png")
    assert main(["run", "--data", str(root), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "2.png" in err and "row 4" in err and "mode RGB" in err and "Training" not in err


@pytest.mark.parametrize("proxy_folder", [False, True])
def test_a_header_only_labels_file_is_refused(tmp_path, tiny_proxy, capsys, proxy_folder):
    import shutil

    if proxy_folder:
        root = tmp_path / "d"
        shutil.copytree(tiny_proxy[0], root)
    else:
        root = _official_layout(tmp_path / "own")
    (root / "train" / "dataset_labels.csv").write_text("file_name,label\n")
    assert main(["run", "--data", str(root), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "only the header" in err and "clean_labels" not in err
    assert not (tmp_path / "results").exists()


def test_a_labels_error_names_the_row_as_the_csv_shows_it(tmp_path):
    root = _official_layout(tmp_path / "own")
    (root / "train" / "dataset_labels.csv").write_text("file_name,label\n0.png,0\n1.png,7\n")
    with pytest.raises(errors.DataError, match=r"row 3 \(1.png\) has label 7"):
        folders.read_split(str(root / "train"))


def test_a_scale_that_empties_a_split_is_refused_and_writes_nothing(tmp_path, capsys):
    assert main(["data", "--data", str(tmp_path / "d"), "--scale", "0.001"]) == 2
    err = capsys.readouterr().err
    assert "gives val the class counts [0, 0]" in err and "larger --scale" in err
    assert not (tmp_path / "d").exists()


def test_own_data_is_recorded_as_what_it_is(tmp_path):
    root = _official_layout(tmp_path / "own", n=6)
    record = folders.data_record(str(root))
    assert record["kind"] == "folder" and record["path"] == str(root)
    assert record["splits"]["train"] == {"size": 6, "label_counts": [3, 3]}
    assert "official" not in json.dumps(record)


# --- a folder is a proxy only when the package can prove it wrote it ------------------------

def _snapshot(root):
    """Every file under ``root`` with its bytes: equal snapshots mean nothing was changed."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("manifest", ['{"scenario": {"name": "olympiad"}, "seed": 1}', "{}",
                                      "[1, 2]", "not json at all"])
def test_a_manifest_the_package_did_not_write_makes_nothing_replaceable(tmp_path, capsys,
                                                                        manifest):
    root = _official_layout(tmp_path / "own")
    (root / "manifest.json").write_text(manifest)
    before = _snapshot(root)
    for argv in (["data", "-d", str(root)], ["data", "-d", str(root), "--force"]):
        assert main([*argv, "--scale", "0.1"]) == 3
        err = capsys.readouterr().err
        assert "was not written by noisy_select, so it counts as your data" in err
        assert "--force" not in err and len(err.strip().splitlines()) == 1
        assert _snapshot(root) == before
    assert folders.folder_state(str(root)).kind == "data"
    assert folders.read_manifest(str(root)) is None
    assert folders.data_record(str(root))["kind"] == "folder"  # `run` records it as the user's


def test_run_on_own_data_with_a_foreign_manifest_trains_on_it(tmp_path, capsys):
    root = _official_layout(tmp_path / "own", n=6)
    (root / "manifest.json").write_text("[1, 2]")
    before = _snapshot(root)
    out = tmp_path / "r.json"
    assert main(["run", "-d", str(root), "--epochs", "1", "--no-progress", "-o", str(out),
                 "-s", "fixed-rates"]) == 0
    assert "official layout" in capsys.readouterr().out
    assert json.loads(out.read_text())["data"]["kind"] == "folder"
    assert _snapshot(root) == before


def test_an_edited_proxy_is_the_users_and_is_never_replaced(tmp_path, capsys):
    root = tmp_path / "p"
    assert main(["data", "-d", str(root), "--scale", "0.1"]) == 0
    assert folders.folder_state(str(root)).kind == "proxy"
    labels = root / "train" / "dataset_labels.csv"
    labels.write_text(labels.read_text().replace(",1\n", ",0\n", 1))  # the user relabels one
    (root / "val" / "my_notes.txt").write_text("keep me")
    before = _snapshot(root)
    assert main(["data", "-d", str(root), "--force", "--scale", "0.1"]) == 3
    assert "no longer match" in capsys.readouterr().err
    assert _snapshot(root) == before


def test_a_malformed_manifest_of_the_package_is_one_line_naming_it(tmp_path, capsys):
    root = _official_layout(tmp_path / "own")
    (root / "manifest.json").write_text('{"written_by": "noisy_select", "scenario": 3}')
    for argv in (["data", "-d", str(root)], ["run", "-d", str(root), "--epochs", "1"]):
        assert main(argv) == 3
        err = capsys.readouterr().err
        assert str(root / "manifest.json") in err and "malformed" in err
        assert len(err.strip().splitlines()) == 1


# --- dubious data is named before training -------------------------------------------------

def _labels_csv(root, split, text):
    (root / split / "dataset_labels.csv").write_text("file_name,label\n" + text)


def test_a_file_listed_twice_with_different_labels_names_both_rows(tmp_path, capsys):
    root = _official_layout(tmp_path / "own")
    _labels_csv(root, "train", "0.png,0\n1.png,1\n2.png,0\n0.png,1\n")
    assert main(["run", "-d", str(root), "--epochs", "1"]) == 3
    err = capsys.readouterr().err
    assert "0.png is listed in rows 2 and 5 with different labels (0 and 1)" in err


def test_the_same_row_twice_is_a_warning_line(tmp_path, capsys):
    root = _official_layout(tmp_path / "own")
    _labels_csv(root, "train", "0.png,0\n1.png,1\n1.png,1\n2.png,0\n")
    assert len(folders.read_labels(str(root / "train"))) == 4
    err = capsys.readouterr().err
    assert err.startswith("warning:") and "lists 1.png twice" in err and err.count("\n") == 1


@pytest.mark.parametrize("split, text, message", [
    ("val", "0.png,1\n1.png,1\n2.png,1\n3.png,1\n", "holds class 1 only: balanced accuracy is undefined"),
    ("train", "0.png,0\n1.png,0\n2.png,0\n3.png,0\n", "every training label is 0"),
])
def test_one_class_where_two_are_needed_is_an_error(tmp_path, capsys, split, text, message):
    root = _official_layout(tmp_path / "own")
    _labels_csv(root, split, text)
    assert main(["run", "-d", str(root), "--epochs", "1"]) == 3
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_unusual_spellings_of_a_label_are_read_and_said_once(tmp_path, capsys):
    root = _official_layout(tmp_path / "own")
    _labels_csv(root, "train", "0.png,0\n1.png, 1\n2.png,1.0\n3.png,0\n")
    assert folders.read_labels(str(root / "train"))["label"].astype(int).tolist() == [0, 1, 1, 0]
    err = capsys.readouterr().err
    assert "label ' 1' in row 3 was read as 1 (and 1 more labels like it)" in err
    assert err.count("\n") == 1
    # A run reads the labels more than once (the checks, the record): still one line.
    assert main(["run", "-d", str(root), "--epochs", "1", "--no-progress",
                 "-o", str(tmp_path / "r.json")]) == 0
    assert capsys.readouterr().err.count("was read as") == 0  # said already in this process


def test_a_run_says_a_repeated_row_once(tmp_path, capsys):
    root = _official_layout(tmp_path / "own")
    _labels_csv(root, "train", "0.png,0\n1.png,1\n0.png,0\n3.png,1\n")
    assert main(["run", "-d", str(root), "--epochs", "1", "--no-progress",
                 "-o", str(tmp_path / "r.json")]) == 0
    assert capsys.readouterr().err.count("lists 0.png twice with the same label") == 1


def test_an_empty_label_cell_says_it_has_no_label(tmp_path):
    root = _official_layout(tmp_path / "own")
    _labels_csv(root, "train", "0.png,0\n1.png,\n2.png,1\n3.png,0\n")
    with pytest.raises(errors.DataError, match=r"row 3 \(1.png\) has no label"):
        folders.read_labels(str(root / "train"))


def test_scale_on_existing_data_is_refused(tmp_path, capsys):
    root = _official_layout(tmp_path / "own")
    assert main(["run", "-d", str(root), "--scale", "0.5", "--epochs", "1"]) == 2
    assert "--scale applies only to a proxy this run builds" in capsys.readouterr().err
