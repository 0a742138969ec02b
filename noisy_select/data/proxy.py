"""The offline proxy: a drawn scenario written in the competition's layout (``folders`` reads
it), with ``clean_labels.csv`` beside each split's labels and a ``manifest.json`` on top."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pandas as pd
from PIL import Image

from noisy_select.competition import IMAGES_DIR, TASK_DATASET_LABELS_FILE
from noisy_select.constants import DEFAULT_SCENARIO, SEED
from noisy_select.data.folders import (
    CLEAN_LABELS_FILE,
    MANIFEST_FILE,
    MANIFEST_SCHEMA,
    WORK_PREFIX,
    WRITTEN_BY,
    check_writable_for_proxy,
    split_files,
)
from noisy_select.data.scenarios import SPLITS, ProxyData, Split, build
from noisy_select.files import check_writable


def _write_split(split: Split, folder: str) -> None:
    os.makedirs(os.path.join(folder, IMAGES_DIR))
    names = [f"{i:05d}.png" for i in range(len(split.labels))]
    for name, img in zip(names, split.images):
        Image.fromarray(img, mode="L").save(os.path.join(folder, IMAGES_DIR, name))
    for file, labels in ((TASK_DATASET_LABELS_FILE, split.labels), (CLEAN_LABELS_FILE, split.clean)):
        pd.DataFrame({"file_name": names, "label": labels}).to_csv(os.path.join(folder, file),
                                                                    index=False)


def write_proxy(data: ProxyData, out_dir: str, *, force: bool = False) -> None:
    """Write ``data`` as ``out_dir/{train,val,test}`` and ``out_dir/manifest.json``, only where
    ``folders.check_writable_for_proxy`` allows (over a proxy only with ``force``).

    Written in a work folder inside ``out_dir``, then swapped in by renames (``_swap``): a failure
    or an interrupt leaves the old proxy or the new one, never a mix.
    """
    out_dir = os.path.abspath(out_dir)
    state = check_writable_for_proxy(out_dir)
    check_writable(out_dir, "--data", folder=True)
    if state.kind == "proxy" and not force:
        raise FileExistsError(f"Expected no data set in {out_dir}, but it holds a proxy already; "
                              "pass force=True (--force) to replace it.")
    names = [*SPLITS, MANIFEST_FILE]
    created = state.kind == "missing"
    os.makedirs(out_dir, exist_ok=True)
    done = False
    try:
        tmp = tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-", dir=out_dir)
        try:
            new, old = os.path.join(tmp, "new"), os.path.join(tmp, "old")
            os.makedirs(old)
            for name, split in data.splits.items():
                _write_split(split, os.path.join(new, name))
            # The mark and the checksums prove later that this package wrote the folder.
            manifest = {"written_by": WRITTEN_BY, "manifest_schema": MANIFEST_SCHEMA,
                        **data.manifest(),
                        "files": {name: split_files(os.path.join(new, name)) for name in SPLITS}}
            with open(os.path.join(new, MANIFEST_FILE), "w") as f:
                json.dump(manifest, f, indent=2)
            _swap(out_dir, new, old, names)
            done = True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if created and not done:
            shutil.rmtree(out_dir, ignore_errors=True)


def _swap(out_dir: str, new: str, old: str, names: list[str]) -> None:
    """Move ``names`` from ``out_dir`` into ``old`` and from ``new`` into ``out_dir``, by renames
    only, all undone if one fails or is interrupted."""
    moved: list[tuple[str, str]] = []
    try:
        for name in names:
            if os.path.lexists(os.path.join(out_dir, name)):
                os.replace(os.path.join(out_dir, name), os.path.join(old, name))
                moved.append((os.path.join(old, name), os.path.join(out_dir, name)))
        for name in names:
            os.replace(os.path.join(new, name), os.path.join(out_dir, name))
            moved.append((os.path.join(out_dir, name), os.path.join(new, name)))
    except BaseException:
        for source, back in reversed(moved):
            os.replace(source, back)
        raise


def build_proxy(out_dir: str, scenario: str = DEFAULT_SCENARIO, seed: int = SEED, *,
                scale: float = 1.0, source_dir: str | None = None, force: bool = False) -> dict:
    """Build scenario ``scenario`` with ``seed`` into ``out_dir``; returns its manifest."""
    check_writable_for_proxy(os.path.abspath(out_dir))
    check_writable(out_dir, "--data", folder=True)
    data = build(scenario, seed, scale=scale, source_dir=source_dir)
    write_proxy(data, out_dir, force=force)
    return data.manifest()
