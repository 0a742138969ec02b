import json
import os

import numpy as np
import pytest
from helpers import write_idx

from noisy_select.cli import main
from noisy_select.data import scenarios, sources
from noisy_select.errors import DataError


def test_read_fashion_joins_both_files_and_keeps_pixels_and_classes(tmp_path):
    folder = write_idx(tmp_path / "f")
    images, classes = sources.read_fashion(str(folder))
    assert images.shape == (400, 28, 28) and images.dtype == np.uint8
    assert classes.tolist() == [i % 10 for i in range(300)] + [i % 10 for i in range(100)]
    assert (images[:, 0, 0] // 20 == classes).all()
    plain = write_idx(tmp_path / "plain", gz=False)
    assert np.array_equal(sources.read_fashion(str(plain))[0], images)


def test_find_fashion_looks_in_order_and_names_every_place(tmp_path, monkeypatch):
    monkeypatch.setenv("NOISY_SELECT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sources, "DEBIAN_FASHION", str(tmp_path / "debian"))
    monkeypatch.setattr(sources, "_online", lambda timeout=3.0: False)
    with pytest.raises(DataError) as err:
        sources.find_fashion()
    message = str(err.value)
    for place in ("--source", str(tmp_path / "cache"), str(tmp_path / "debian"), "apt-get install",
                  "torchvision's download"):
        assert place in message
    debian = write_idx(tmp_path / "debian")
    assert sources.find_fashion() == str(debian)
    cached = write_idx(tmp_path / "cache" / "FashionMNIST" / "raw")
    assert sources.find_fashion() == str(cached)  # the cache before Debian's copy
    given = write_idx(tmp_path / "given")
    assert sources.find_fashion(str(given)) == str(given)
    assert sources.find_fashion(str(tmp_path / "cache")) == str(cached)  # torchvision's layout


@pytest.mark.parametrize("broken, message", [
    (("train-images-idx3-ubyte", lambda m, d, a: (2049, d, a)), "magic number 2051, but got 2049"),
    (("t10k-labels-idx1-ubyte", lambda m, d, a: (m, [d[0] - 1], a[:-1])), "100 images and"),
    (("train-images-idx3-ubyte", lambda m, d, a: (m, [d[0], 14, 56], a)), "28x28 images"),
    (("train-labels-idx1-ubyte", lambda m, d, a: (m, [d[0] + 5], a)), "truncated"),
])
def test_bad_idx_files_are_named_with_what_is_wrong(tmp_path, broken, message):
    folder = write_idx(tmp_path / "f", broken=broken)
    with pytest.raises(DataError, match=message) as err:
        sources.read_fashion(str(folder))
    assert broken[0] in str(err.value)


def test_a_source_folder_that_is_missing_or_incomplete_stops_the_cli_with_nothing_written(
        tmp_path, capsys):
    out = tmp_path / "proxy"
    assert main(["data", "-d", str(out), "--scenario", "fashion-tops",
                 "--source", str(tmp_path / "nowhere")]) == 3
    assert "does not exist" in capsys.readouterr().err
    partial = write_idx(tmp_path / "partial")
    os.remove(partial / "t10k-labels-idx1-ubyte.gz")
    assert main(["data", "-d", str(out), "--scenario", "fashion-tops",
                 "--source", str(partial)]) == 3
    assert "lacks some of them" in capsys.readouterr().err
    truncated = write_idx(tmp_path / "trunc", broken=(
        "train-labels-idx1-ubyte", lambda m, d, a: (m, [d[0] + 5], a)))
    assert main(["data", "-d", str(out), "--scenario", "fashion-tops", "--scale", "0.01",
                 "--source", str(truncated)]) == 3
    assert "train-labels-idx1-ubyte.gz" in capsys.readouterr().err
    assert not out.exists()


def test_fashion_scenario_maps_classes_and_records_the_source(tmp_path):
    folder = write_idx(tmp_path / "f", per_split=(2000, 500))
    scenarios.load_source.cache_clear()
    data = scenarios.build("fashion-tops", 0, scale=0.05, source_dir=str(folder))
    positive = scenarios.get_scenario("fashion-tops").positive
    for split in data.splits.values():
        source_class = split.images[:, 0, 0] // 20
        assert (np.isin(source_class, positive) == split.clean.astype(bool)).all()
    manifest = data.manifest()
    assert manifest["counts"]["train"]["size"] == 500
    assert manifest["class_map"].startswith("class 1 = Trouser, Dress, Sandal, Sneaker, Bag")
    assert manifest["source_fingerprint"] == sources.fingerprint(*sources.read_fashion(str(folder)))
    again = scenarios.build("fashion-tops", 0, scale=0.05, source_dir=str(folder))
    assert np.array_equal(again.splits["train"].images, data.splits["train"].images)


@pytest.mark.slow  # trains whole runs; the quick suite stays under 3 minutes on 2 cores
def test_every_command_runs_a_fashion_scenario_from_made_up_idx_files(fake_fashion, tmp_path,
                                                                     capsys):
    """The fashion path of data, run, bench and compare, on a machine without the real images."""
    common = ["--scenario", "fashion-tops", "--source", fake_fashion]
    assert main(["data", "-d", str(tmp_path / "d"), *common, "--scale", "0.05"]) == 0
    assert "Wrote scenario 'fashion-tops'" in capsys.readouterr().out
    assert main(["run", "-d", str(tmp_path / "r"), *common, "--scale", "0.02", "--epochs", "1",
                 "--device", "cpu", "--no-progress", "-o", str(tmp_path / "run.json")]) == 0
    assert "offline proxy 'fashion-tops'" in capsys.readouterr().out
    sweep = ["--scenarios", "fashion-tops", "--source", fake_fashion, "--scale", "0.02",
             "--epochs", "1", "--device", "cpu", "--no-progress", "-r", str(tmp_path / "b.jsonl")]
    assert main(["bench", "all", *sweep, "--seeds", "0", "--summary", str(tmp_path / "b.md"),
                 "--figures", str(tmp_path / "fig")]) == 0
    assert main(["compare", "all", "fixed-rates", *sweep, "--seeds", "0",
                 "--summary", str(tmp_path / "c.md")]) == 0
    out = capsys.readouterr().out
    assert "### fashion-tops (official loop): against `all`" in out
    rows = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert [(r["scenario"], r["strategy"]) for r in rows] == [("fashion-tops", "all"),
                                                                ("fashion-tops", "fixed-rates")]
    assert {r["data"]["source_fingerprint"] for r in rows} == {
        scenarios._fingerprint("fashion", fake_fashion)}
