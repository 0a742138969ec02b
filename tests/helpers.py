"""What several test files share: result rows for tests that do not train (the real
``records.make_row``), a failing disk, and a made-up Fashion-MNIST in its four IDX files."""

import gzip
import os

import numpy as np

from noisy_select.bench.records import make_row
from noisy_select.bench.run import RunConfig, scenario_name


def fake_row(spec, bac_mean=0.5, seconds=1.0, **extra):
    score = {"bac_1": bac_mean, "bac_2": bac_mean, "bac_mean": bac_mean, "points": 0,
             "auc_1": 0.5, "auc_2": 0.5, "size": 10}
    row = make_row(scenario=scenario_name(spec.scenario), strategy=spec.strategy, seed=spec.seed,
                   epochs=spec.epochs, scale=spec.scale, device=spec.device,
                   described=spec.describe(), split_scores={"test": score},
                   history=[{"epoch": 1, "val_bac_1": 0.5, "val_bac_2": 0.5, "val_auc_1": 0.5,
                             "val_auc_2": 0.5}],
                   selection=[{"epoch": 1, "precision": [[0.5, 0.9], [0.5, 0.9]]}],
                   seconds=seconds, data={}, environment={})
    return {**row, **extra}


def fake_rows(seeds=(0, 1)):
    """Rows of ``all`` on ``olympiad``, one epoch, one per seed."""
    return [fake_row(RunConfig("olympiad", "all", s, epochs=1)) for s in seeds]


def fail_after_saves(monkeypatch, n: int, error: BaseException) -> None:
    """Make PIL's ``Image.save`` raise ``error`` after ``n`` images were written (a full disk,
    a Ctrl-C in the middle of writing a data set)."""
    from PIL import Image

    save, count = Image.Image.save, [0]

    def failing(self, *args, **kwargs):
        count[0] += 1
        if count[0] > n:
            raise error
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", failing)


def write_idx(folder, *, per_split=(300, 100), seed=0, gz=True, broken=None):
    """A tiny Fashion-MNIST in its four IDX files: images whose pixels encode their class."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in zip(("train", "t10k"), per_split):
        classes = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 20, size=(n, 28, 28), dtype=np.uint8) + classes[:, None, None] * 20
        files = {f"{split}-images-idx3-ubyte": (2051, [n, 28, 28], images),
                 f"{split}-labels-idx1-ubyte": (2049, [n], classes)}
        for stem, (magic, dims, array) in files.items():
            if broken and broken[0] == stem:
                magic, dims, array = broken[1](magic, dims, array)
            header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
            payload = header + np.ascontiguousarray(array).tobytes()
            name = os.path.join(folder, stem + (".gz" if gz else ""))
            with (gzip.open if gz else open)(name, "wb") as f:
                f.write(payload)
    return folder
