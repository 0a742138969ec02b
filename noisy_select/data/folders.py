"""Data folders: what one holds, whether a proxy may go there, and reading its split folders.

A split folder holds ``dataset_labels.csv`` (``file_name,label``) and ``data/*.png``, what
``TaskDataset`` reads; a proxy adds ``clean_labels.csv``. A proxy is only built into a folder
that is missing, empty, or holds a proxy whose ``manifest.json`` proves this package wrote it
(README, "Your data is safe"). Errors name the file and the row as a spreadsheet shows the CSV.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image

from noisy_select.competition import (
    IMAGES_DIR,
    TASK_DATASET_LABELS_FILE,
)
from noisy_select.data.scenarios import Split
from noisy_select.errors import DataError

CLEAN_LABELS_FILE = "clean_labels.csv"
MANIFEST_FILE = "manifest.json"
WRITTEN_BY = "noisy_select"  # the manifest's mark: this package wrote the folder
MANIFEST_SCHEMA = 1
IMAGE_SIZE = (28, 28)
IMAGE_MODE = "L"  # 8-bit grayscale: what ToTensor turns into (1, 28, 28)
# Files that do not make a folder "hold something" (the repository's data/ has a README).
IGNORED_FILES = frozenset({"README.md", "README", "README.txt", ".gitkeep", ".gitignore", ".DS_Store"})


def has_split(data_dir: str, split: str) -> bool:
    """Whether ``data_dir/split`` holds a labels file."""
    return os.path.isfile(os.path.join(data_dir, split, TASK_DATASET_LABELS_FILE))


def file_sha256(path: str) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def split_files(split_dir: str) -> dict:
    """What a manifest records of one split folder: its image count and label checksums."""
    record: dict[str, int | str] = {"images": len(os.listdir(os.path.join(split_dir, IMAGES_DIR)))}
    for name in (TASK_DATASET_LABELS_FILE, CLEAN_LABELS_FILE):
        record[name] = file_sha256(os.path.join(split_dir, name))
    return record


def _proxy_mismatch(data_dir: str, manifest: dict) -> str | None:
    """Why the files on disk are not those ``manifest`` lists (None when they are). A missing
    file is no one's (the proxy rebuilds it); a changed or foreign one makes the folder the user's."""
    ours = {IMAGES_DIR, TASK_DATASET_LABELS_FILE, CLEAN_LABELS_FILE}
    for split, expected in manifest["files"].items():
        folder = os.path.join(data_dir, split)
        if not os.path.lexists(folder):
            continue
        if not os.path.isdir(folder) or os.path.islink(folder):
            return f"{split} is not the folder it wrote"
        foreign = sorted(set(os.listdir(folder)) - ours)
        if foreign:
            return f"{split}/ holds {foreign[0]}, which it did not write"
        images = os.path.join(folder, IMAGES_DIR)
        if os.path.isdir(images) and len(os.listdir(images)) != expected.get("images"):
            return f"{split}/{IMAGES_DIR}/ holds other images than it wrote"
        for name in (TASK_DATASET_LABELS_FILE, CLEAN_LABELS_FILE):
            path = os.path.join(folder, name)
            if os.path.exists(path) and file_sha256(path) != expected.get(name):
                return f"{split}/{name} changed since it was written"
    return None


def read_manifest(data_dir: str) -> dict | None:
    """The manifest of an unchanged proxy this package wrote into ``data_dir``, else None."""
    return inspect_manifest(data_dir)[0]


def inspect_manifest(data_dir: str) -> tuple[dict | None, str | None]:
    """``(manifest, None)`` for a proven proxy, else ``(None, why the folder is not one)``;
    ``DataError`` for a manifest with this package's mark that is malformed."""
    path = os.path.join(data_dir, MANIFEST_FILE)
    if not os.path.isfile(path):
        return None, None
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("written_by") != WRITTEN_BY:
        return None, f"its {MANIFEST_FILE} was not written by noisy_select"
    ok = (manifest.get("manifest_schema") == MANIFEST_SCHEMA
          and isinstance(manifest.get("files"), dict)
          and all(isinstance(v, dict) for v in manifest["files"].values())
          and isinstance(manifest.get("scenario"), dict) and "name" in manifest["scenario"])
    if not ok:
        raise DataError(f"Expected {path} to be a noisy_select proxy manifest (schema "
                        f"{MANIFEST_SCHEMA}: written_by, scenario, files), but it is malformed; "
                        "move it away, or rebuild the proxy into a new folder with "
                        "`noisy-select data --data NEW_FOLDER`.")
    mismatch = _proxy_mismatch(data_dir, manifest)
    if mismatch:
        return None, (f"its files no longer match the {MANIFEST_FILE} noisy_select wrote "
                      f"({mismatch})")
    return manifest, None


@dataclass(frozen=True)
class FolderState:
    """What a data folder holds. ``kind``: ``missing``, ``empty`` (only ``IGNORED_FILES``),
    ``proxy`` (``read_manifest``), ``data`` (``train/`` and ``val/`` with labels) or ``other``
    (``contents`` lists it); ``note``: why its ``manifest.json`` is not a proxy's."""

    path: str
    kind: str
    contents: tuple[str, ...] = ()
    note: str | None = None


# ``write_proxy`` builds in ``.proxy-<pid>-XXXX`` inside the data folder; a writer killed with
# SIGKILL leaves it behind, and the pid says whether the writer is gone.
WORK_PREFIX = ".proxy-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        pass
    return True


def remove_stale_work(data_dir: str, prefix: str = WORK_PREFIX) -> None:
    """Remove the ``<prefix><pid>-*`` folders of ``data_dir`` whose process no longer runs."""
    import shutil

    for name in os.listdir(data_dir):
        pid = name[len(prefix):].split("-")[0]
        if name.startswith(prefix) and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(data_dir, name), ignore_errors=True)


def folder_state(data_dir: str) -> FolderState:
    """What ``data_dir`` holds (removing work folders left by dead writers first)."""
    if not os.path.exists(data_dir):
        return FolderState(data_dir, "missing")
    if not os.path.isdir(data_dir):
        return FolderState(data_dir, "other", (os.path.basename(data_dir),))
    with contextlib.suppress(OSError):  # unreadable or read-only: the checks below say so
        remove_stale_work(data_dir)
    contents = tuple(sorted(n for n in os.listdir(data_dir) if n not in IGNORED_FILES))
    if not contents:
        return FolderState(data_dir, "empty")
    manifest, note = inspect_manifest(data_dir)
    if manifest is not None:
        return FolderState(data_dir, "proxy", contents)
    if has_split(data_dir, "train") and has_split(data_dir, "val"):
        return FolderState(data_dir, "data", contents, note)
    return FolderState(data_dir, "other", contents, note)


def _what_is_missing(data_dir: str) -> str:
    """``"train/dataset_labels.csv is"`` or ``"... and val/dataset_labels.csv are"``."""
    missing = [os.path.join(s, TASK_DATASET_LABELS_FILE) for s in ("train", "val")
               if not has_split(data_dir, s)]
    return " and ".join(missing) + (" are" if len(missing) > 1 else " is")


def check_writable_for_proxy(data_dir: str) -> FolderState:
    """``DataError`` unless a proxy may be written into ``data_dir``; returns its state."""
    state = folder_state(data_dir)
    if state.kind in ("missing", "empty", "proxy"):
        return state
    shown = ", ".join(state.contents[:6]) + (", ..." if len(state.contents) > 6 else "")
    what = ("holds data of the official layout" if state.kind == "data"
            else f"is not empty and holds no proxy (found: {shown})")
    if state.note:
        what += f"; {state.note}, so it counts as your data"
    if os.path.isfile(data_dir):
        what = "is a file"
        suggestion = os.path.join(os.path.dirname(data_dir), "proxy")
    else:
        suggestion = os.path.join(data_dir, "proxy")
    raise DataError(f"Expected an empty or new folder (or one holding a proxy) to build the proxy into, but "
                    f"{data_dir} {what}. Nothing was changed; choose another folder, e.g. "
                    f"`noisy-select data --data {suggestion}`.")


def describe_data(data_dir: str) -> str:
    """One line saying which data ``data_dir`` holds."""
    manifest = read_manifest(data_dir)
    if manifest is None:
        return f"Using the data in {data_dir} (official layout, no proxy manifest)."
    return (f"Using the offline proxy {manifest['scenario']['name']!r} (seed {manifest['seed']}) "
            f"in {data_dir}: {manifest['source']}.")


def content_hash(data_dir: str) -> str:
    """SHA-256 of every split's labels files and images, in order: which data a row used."""
    digest = hashlib.sha256()
    for split in ("train", "val", "test"):
        folder = os.path.join(data_dir, split)
        if not has_split(data_dir, split):
            continue
        for name in (TASK_DATASET_LABELS_FILE, CLEAN_LABELS_FILE):
            if os.path.isfile(os.path.join(folder, name)):
                digest.update(f"{split}/{name}".encode())
                with open(os.path.join(folder, name), "rb") as f:
                    digest.update(f.read())
        labels = pd.read_csv(os.path.join(folder, TASK_DATASET_LABELS_FILE))
        for name in labels["file_name"].astype(str):
            with open(os.path.join(folder, IMAGES_DIR, name), "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def data_record(data_dir: str) -> dict:
    """What a result records of its data: the proxy's manifest, or the folder's path and its
    splits' sizes and label counts."""
    manifest = read_manifest(data_dir)
    if manifest is not None:
        return {"kind": "proxy", "path": os.path.abspath(data_dir), **manifest}
    splits = {}
    for split in ("train", "val", "test"):
        if has_split(data_dir, split):
            labels = read_labels(os.path.join(data_dir, split))["label"].to_numpy(dtype=np.int64)
            splits[split] = {"size": int(len(labels)),
                             "label_counts": np.bincount(labels, minlength=2).tolist()}
    return {"kind": "folder", "path": os.path.abspath(data_dir), "splits": splits}


def read_labels(split_dir: str, file_name: str = TASK_DATASET_LABELS_FILE) -> pd.DataFrame:
    """Read and check a labels CSV: columns ``file_name,label``, at least one row, labels 0 or 1."""
    path = os.path.join(split_dir, file_name)
    if not os.path.isfile(path):
        raise DataError(f"Expected a labels file at {path}, but it does not exist.")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"Could not read {path} as CSV: {err}") from err
    missing = {"file_name", "label"} - set(df.columns)
    if missing:
        raise DataError(f"Expected columns file_name,label in {path}, but it lacks {sorted(missing)} "
                        f"(columns: {list(df.columns)}).")
    if df.empty:
        raise DataError(f"Expected at least one row in {path}, but it holds only the header; "
                        "add one row per image (file_name,label).")
    labels = pd.to_numeric(df["label"], errors="coerce")
    bad = ~labels.isin([0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        shown = df["label"].iloc[i]
        what = "has no label" if pd.isna(shown) else f"has label {shown}"
        raise DataError(f"Expected labels 0 or 1 in {path}, but row {i + 2} ({df['file_name'].iloc[i]}) "
                        f"{what}; fix or remove that row.")
    _check_duplicates(path, df, labels)
    _note_unusual_spelling(path, labels)
    return df


_SAID: set[str] = set()


def _say_once(message: str) -> None:
    """Print ``message`` to stderr once per process (a folder's labels are read more than once)."""
    if message not in _SAID:
        _SAID.add(message)
        print(message, file=sys.stderr)


def _check_duplicates(path: str, df: pd.DataFrame, labels: pd.Series) -> None:
    """A file listed twice: with different labels an error naming both rows, else a warning."""
    names = df["file_name"].astype(str)
    repeated = names.duplicated(keep=False)
    if not repeated.any():
        return
    for name, rows in names[repeated].groupby(names[repeated]).groups.items():
        found = sorted(int(r) + 2 for r in rows)
        if labels.loc[rows].nunique() > 1:
            raise DataError(f"Expected each image once in {path}, but {name} is listed in rows "
                            f"{found[0]} and {found[1]} with different labels "
                            f"({int(labels.loc[rows[0]])} and {int(labels.loc[rows[1]])}); "
                            "keep the right one.")
    first = names[repeated].iloc[0]
    count = int(names[repeated].nunique())
    _say_once(f"warning: {path} lists {first} twice with the same label"
              + (f" (and {count - 1} other files too)" if count > 1 else "")
              + "; the loader trains on such a file twice.")


def _note_unusual_spelling(path: str, labels: pd.Series) -> None:
    """Labels such as ``1.0`` or `` 1`` are read as the number they spell: say so once."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)["label"]
    unusual = raw[~raw.isin(["0", "1"])]
    if len(unusual):
        i = int(unusual.index[0])
        _say_once(f"note: {path}: label {raw.iloc[i]!r} in row {i + 2} was read as "
                  f"{int(labels.iloc[i])}" + (f" (and {len(unusual) - 1} more labels like it)"
                                               if len(unusual) > 1 else "") + ".")


def read_split(split_dir: str) -> Split:
    """Check a split folder and load it: images ``(N, 28, 28)`` uint8, labels and clean labels
    ``(N,)`` int64 (from ``clean_labels.csv``, else the labels). Every image must be a 28x28 PNG
    of mode ``L``, which ``TaskDataset`` batches as it is; anything else would fail in training."""
    df = read_labels(split_dir)
    images = np.zeros((len(df), *IMAGE_SIZE), dtype=np.uint8)
    for i, name in enumerate(df["file_name"]):
        path = os.path.join(split_dir, IMAGES_DIR, str(name))
        where = f"row {i + 2} of {os.path.join(split_dir, TASK_DATASET_LABELS_FILE)}"
        if os.path.isabs(str(name)) or os.path.normpath(str(name)).split(os.sep)[0] == "..":
            raise DataError(f"Expected a file name inside {os.path.join(split_dir, IMAGES_DIR)} "
                            f"({where}), but got {name!r}, which points outside it.")
        if not os.path.isfile(path):
            raise DataError(f"Expected the image {path} ({where}), but it is missing.")
        try:
            with Image.open(path) as img:
                mode, size = img.mode, img.size
                # the header first: a huge image is refused before its pixels are read
                array = np.asarray(img) if (mode, size) == (IMAGE_MODE, IMAGE_SIZE) else None
        except (OSError, Image.DecompressionBombError) as err:
            raise DataError(f"Could not read the image {path} ({where}): {err}") from err
        if array is None:
            raise DataError(f"Expected a 28x28 grayscale (mode L) image at {path} ({where}), but got a "
                            f"{size[0]}x{size[1]} image of mode {mode}; convert it, e.g. "
                            "`Image.open(p).convert('L').resize((28, 28))`.")
        images[i] = array
    labels = df["label"].to_numpy(dtype=np.int64).copy()  # writable, for torch
    clean = labels
    if os.path.exists(os.path.join(split_dir, CLEAN_LABELS_FILE)):
        clean_df = read_labels(split_dir, CLEAN_LABELS_FILE)
        if list(clean_df["file_name"]) != list(df["file_name"]):
            raise DataError(f"Expected {CLEAN_LABELS_FILE} in {split_dir} to list the same files as "
                            f"{TASK_DATASET_LABELS_FILE}, in the same order, but they differ; rebuild the "
                            "proxy with `noisy-select data --force`.")
        clean = clean_df["label"].to_numpy(dtype=np.int64).copy()
    return Split(images, labels, clean)


def check_splits(data_dir: str) -> dict[str, Split]:
    """Every split of ``data_dir`` by name (``test`` only where there is one), checked before
    training: both labels in train, both classes in the others."""
    names = [s for s in ("train", "val", "test") if s != "test" or has_split(data_dir, s)]
    splits = {name: read_split(os.path.join(data_dir, name)) for name in names}
    train = splits["train"].labels
    if len(np.unique(train)) < 2:
        raise DataError(f"Expected both labels in {os.path.join(data_dir, 'train')}, but every "
                        f"training label is {int(train[0])}: there is nothing to select "
                        "between.")
    for name in names[1:]:
        classes = np.unique(splits[name].labels)
        if len(classes) < 2:
            raise DataError(f"Expected both classes in {os.path.join(data_dir, name)}, but it "
                            f"holds class {int(classes[0])} only: balanced accuracy is undefined "
                            "on one class. Add images of the other class.")
    return splits


def clean_label_batches(data_dir: str, batch_size: int) -> list:
    """Clean labels of the training split in loader order, batched (the given labels for
    official data, whose clean labels nobody knows)."""
    import torch

    y = torch.tensor(read_split(os.path.join(data_dir, "train")).clean)
    return [y[i : i + batch_size] for i in range(0, len(y), batch_size)]


