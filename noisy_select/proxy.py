"""Write a built scenario in the competition's on-disk layout (reading and checking: ``data``).

A split folder holds ``dataset_labels.csv`` (``file_name,label``) and ``data/*.png`` (28x28,
mode L), exactly what ``TaskDataset`` reads. A proxy also writes ``clean_labels.csv`` beside
it (never read by ``TaskDataset``) and a ``manifest.json`` at the top of the data folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pandas as pd
from PIL import Image

from noisy_select.competition import IMAGES_DIR, TASK_DATASET_LABELS_FILE
from noisy_select.config import DEFAULT_SCENARIO, SEED
from noisy_select.data import (
    CLEAN_LABELS_FILE,
    MANIFEST_FILE,
    MANIFEST_SCHEMA,
    WRITTEN_BY,
    check_writable_for_proxy,
    split_files,
)
from noisy_select.files import check_writable
from noisy_select.scenarios import SPLITS, ProxyData, Split, build


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

    Only into a folder that does not exist, is empty, or holds a proxy (replaced only with
    ``force``): see ``data.check_writable_for_proxy``. Everything is written into a temporary
    folder inside ``out_dir`` first and then moved into place, so a failure or an interrupt
    leaves nothing half-written (and no folder this call created).
    """
    out_dir = os.path.abspath(out_dir)
    state = check_writable_for_proxy(out_dir)
    check_writable(out_dir, "--data", folder=True)
    if state.kind == "proxy" and not force:
        raise FileExistsError(
            f"Expected no data set in {out_dir}, but it holds a proxy already; "
            "pass force=True (--force) to replace it."
        )
    targets = [os.path.join(out_dir, s) for s in SPLITS] + [os.path.join(out_dir, MANIFEST_FILE)]
    existing = [t for t in targets if os.path.exists(t)]
    created = state.kind == "missing"
    os.makedirs(out_dir, exist_ok=True)
    done = False
    try:
        tmp = tempfile.mkdtemp(prefix=".proxy-", dir=out_dir)
        try:
            for name, split in data.splits.items():
                _write_split(split, os.path.join(tmp, name))
            # The mark and the checksums prove later that this package wrote the folder.
            manifest = {"written_by": WRITTEN_BY, "manifest_schema": MANIFEST_SCHEMA,
                        **data.manifest(),
                        "files": {name: split_files(os.path.join(tmp, name)) for name in SPLITS}}
            with open(os.path.join(tmp, MANIFEST_FILE), "w") as f:
                json.dump(manifest, f, indent=2)
            for t in existing:
                shutil.rmtree(t) if os.path.isdir(t) else os.remove(t)
            for t in targets:
                os.replace(os.path.join(tmp, os.path.basename(t)), t)
            done = True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if created and not done:
            shutil.rmtree(out_dir, ignore_errors=True)


def build_proxy(out_dir: str, scenario: str = DEFAULT_SCENARIO, seed: int = SEED, **kwargs) -> dict:
    """Build scenario ``scenario`` with ``seed`` into ``out_dir``; returns its manifest."""
    check_writable_for_proxy(os.path.abspath(out_dir))
    check_writable(out_dir, "--data", folder=True)
    scale = kwargs.pop("scale", 1.0)
    data = build(scenario, seed, scale=scale, source_dir=kwargs.pop("source_dir", None))
    write_proxy(data, out_dir, **kwargs)
    return data.manifest()
