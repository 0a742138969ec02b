"""The competition's on-disk layout: write a built scenario, check and read split folders.

A split folder holds ``dataset_labels.csv`` (``file_name,label``) and ``data/*.png`` (28x28,
mode L), exactly what ``TaskDataset`` reads. A proxy also writes ``clean_labels.csv`` beside
it (never read by ``TaskDataset``) and a ``manifest.json`` at the top of the data folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np
import pandas as pd
from PIL import Image

from noisy_select.competition import IMAGES_DIR, TASK_DATASET_LABELS_FILE
from noisy_select.scenarios import SPLITS, ProxyData, Split, build

CLEAN_LABELS_FILE = "clean_labels.csv"
MANIFEST_FILE = "manifest.json"


class DataError(ValueError):
    """A split folder that the competition's loader could not use."""


def _write_split(split: Split, folder: str) -> None:
    os.makedirs(os.path.join(folder, IMAGES_DIR))
    names = [f"{i:05d}.png" for i in range(len(split.labels))]
    for name, img in zip(names, split.images):
        Image.fromarray(img, mode="L").save(os.path.join(folder, IMAGES_DIR, name))
    pd.DataFrame({"file_name": names, "label": split.labels}).to_csv(
        os.path.join(folder, TASK_DATASET_LABELS_FILE), index=False
    )
    pd.DataFrame({"file_name": names, "label": split.clean}).to_csv(
        os.path.join(folder, CLEAN_LABELS_FILE), index=False
    )


def write_proxy(data: ProxyData, out_dir: str, *, force: bool = False) -> None:
    """Write ``data`` as ``out_dir/{train,val,test}`` plus ``out_dir/manifest.json``.

    Everything is written into a temporary folder beside ``out_dir`` first and then moved into
    place, so a failure leaves nothing half-written.
    """
    out_dir = os.path.abspath(out_dir)
    targets = [os.path.join(out_dir, s) for s in SPLITS] + [os.path.join(out_dir, MANIFEST_FILE)]
    existing = [t for t in targets if os.path.exists(t)]
    if existing and not force:
        raise FileExistsError(
            f"Expected no data set in {out_dir}, but found {existing[0]}; "
            "pass force=True (--force) to replace it."
        )
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".proxy-", dir=out_dir)
    try:
        for name, split in data.splits.items():
            _write_split(split, os.path.join(tmp, name))
        with open(os.path.join(tmp, MANIFEST_FILE), "w") as f:
            json.dump(data.manifest(), f, indent=2)
        for t in existing:
            shutil.rmtree(t) if os.path.isdir(t) else os.remove(t)
        for t in targets:
            os.replace(os.path.join(tmp, os.path.basename(t)), t)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build_proxy(out_dir: str, scenario: str = "olympiad", seed: int = 123, **kwargs) -> dict:
    """Build scenario ``scenario`` with ``seed`` into ``out_dir``; returns its manifest."""
    scale = kwargs.pop("scale", 1.0)
    data = build(scenario, seed, scale=scale)
    write_proxy(data, out_dir, **kwargs)
    return data.manifest()


def read_manifest(data_dir: str) -> dict | None:
    """The proxy manifest of ``data_dir``, or None for official (or other) data."""
    path = os.path.join(data_dir, MANIFEST_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def read_labels(split_dir: str, file_name: str = TASK_DATASET_LABELS_FILE) -> pd.DataFrame:
    """Read and check a labels CSV: columns ``file_name,label``, labels 0 or 1."""
    path = os.path.join(split_dir, file_name)
    if not os.path.isfile(path):
        raise DataError(f"Expected a labels file at {path}, but it does not exist.")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"Could not read {path} as CSV: {err}") from err
    missing = {"file_name", "label"} - set(df.columns)
    if missing:
        raise DataError(
            f"Expected columns file_name,label in {path}, but it lacks {sorted(missing)} "
            f"(columns: {list(df.columns)})."
        )
    labels = pd.to_numeric(df["label"], errors="coerce")
    bad = ~labels.isin([0, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"Expected labels 0 or 1 in {path}, but row {row} ({df['file_name'].iloc[row]}) "
            f"has label {df['label'].iloc[row]}."
        )
    return df


def read_split(split_dir: str) -> Split:
    """Check a split folder and load it: images (N, 28, 28) uint8, labels, clean labels.

    Clean labels come from ``clean_labels.csv`` when present (a proxy), else they repeat the
    given labels (the official validation data is clean; the official training data has none).
    """
    df = read_labels(split_dir)
    images = np.zeros((len(df), 28, 28), dtype=np.uint8)
    for i, name in enumerate(df["file_name"]):
        path = os.path.join(split_dir, IMAGES_DIR, str(name))
        if not os.path.isfile(path):
            raise DataError(f"Expected the image {path} listed in the labels file, but it is missing.")
        try:
            with Image.open(path) as img:
                array = np.asarray(img.convert("L"))
        except OSError as err:
            raise DataError(f"Could not read the image {path}: {err}") from err
        if array.shape != (28, 28):
            raise DataError(f"Expected a 28x28 image at {path}, but got {array.shape}.")
        images[i] = array
    labels = df["label"].to_numpy(dtype=np.int64)
    clean = labels
    if os.path.exists(os.path.join(split_dir, CLEAN_LABELS_FILE)):
        clean_df = read_labels(split_dir, CLEAN_LABELS_FILE)
        if list(clean_df["file_name"]) != list(df["file_name"]):
            raise DataError(f"{CLEAN_LABELS_FILE} in {split_dir} lists other files than the labels.")
        clean = clean_df["label"].to_numpy(dtype=np.int64)
    return Split(images, labels, clean)
