"""Data for a run: the folder as it is, the official download, or the offline proxy built into it."""

from __future__ import annotations

import os
import shutil

from noisy_select.competition import TRAIN_DATASET_URL, VAL_DATASET_URL, download_data, unpack_data
from noisy_select.constants import DEFAULT_SCENARIO, SEED
from noisy_select.data import proxy
from noisy_select.data.folders import (
    MANIFEST_FILE,
    FolderState,
    _what_is_missing,
    check_writable_for_proxy,
    describe_data,
    folder_state,
    has_split,
    read_manifest,
    read_split,
)
from noisy_select.data.sources import reachable
from noisy_select.errors import DataError

OFFICIAL_HOST = "drive.google.com"  # where the official data is


def ensure_data(data_dir: str, scenario: str | None = None, seed: int = SEED, *,
                download: bool = False, scale: float = 1.0,
                source: str | None = None) -> FolderState:
    """Make ``data_dir`` usable and say what it holds.

    A missing or empty folder gets the official data (with ``download``, when online) or the
    proxy ``scenario`` (default ``DEFAULT_SCENARIO``); a proxy missing a split is rebuilt; official
    data is used as it is. Anything else, or a proxy of another ``scenario``, is a ``DataError``
    and nothing is changed.
    """
    state = folder_state(data_dir)
    if state.kind in ("missing", "empty"):
        if download and reachable(OFFICIAL_HOST):
            download_official(data_dir)
        else:
            name = scenario or DEFAULT_SCENARIO
            why = "does not exist" if state.kind == "missing" else "is empty"
            print(f"{data_dir} {why}: building the offline proxy {name!r} (seed {seed}) there.")
            proxy.build_proxy(data_dir, name, seed, scale=scale, source_dir=source)
        return folder_state(data_dir)
    if state.kind == "proxy":
        from noisy_select.data.scenarios import get_scenario

        manifest = read_manifest(data_dir) or {}
        built = manifest["scenario"]["name"]
        if scenario is not None and built != get_scenario(scenario).name:
            raise DataError(
                f"Expected the proxy scenario {scenario!r} in {data_dir}, but it holds {built!r} "
                f"(seed {manifest.get('seed')}). Drop --scenario to use it, pick another --data "
                f"folder, or rebuild it: `noisy-select data --scenario {scenario} --data {data_dir} "
                "--force`."
            )
        if not (has_split(data_dir, "train") and has_split(data_dir, "val")):
            print(f"In the proxy in {data_dir}, {_what_is_missing(data_dir)} missing: rebuilding it.")
            proxy.build_proxy(data_dir, scenario or built, manifest.get("seed", seed), force=True,
                              scale=manifest.get("scale", 1.0), source_dir=source)
        return folder_state(data_dir)
    if state.kind == "data":
        if scenario is not None:
            raise DataError(f"Expected a proxy of scenario {scenario!r} in {data_dir}, but it holds data of "
                            "the official layout (no manifest.json). Drop --scenario to train on it, or pick "
                            "an empty --data folder for the proxy.")
        return state
    raise DataError(f"Expected {data_dir} to hold train/ and val/ with their labels (the official layout), "
                    f"but {_what_is_missing(data_dir)} missing (found: {', '.join(state.contents)}). "
                    "Nothing was changed. Point --data at a folder of the official layout, or build the "
                    "proxy into a new folder with `noisy-select data --data NEW_FOLDER`.")


def prepare_notebook_data(data_dir: str, smoke: bool = False) -> str:
    """Data for the working notebook: the official download when online, else the proxy
    (a tenth of its size, and no download attempt, in smoke mode)."""
    ensure_data(data_dir, download=not smoke, scale=0.1 if smoke else 1.0)
    return describe_data(data_dir)


def download_official(data_dir: str = "data") -> None:
    """Download and unpack the official train/ and val/ into ``data_dir`` (gdown): only into a
    new or empty folder, or over a proxy."""
    state = folder_state(data_dir)
    if state.kind == "data":
        raise DataError(f"{data_dir} already holds train/ and val/; nothing was downloaded.")
    check_writable_for_proxy(data_dir)
    if not reachable(OFFICIAL_HOST):
        raise ConnectionError(
            "Cannot reach drive.google.com to download the official data. Work offline with the "
            "proxy instead: `noisy-select data` builds it, and `noisy-select run` builds it "
            "on first use."
        )
    os.makedirs(data_dir, exist_ok=True)
    if state.kind == "proxy":
        # The proxy's test split and manifest must not pass for official data.
        shutil.rmtree(os.path.join(data_dir, "test"), ignore_errors=True)
        os.remove(os.path.join(data_dir, MANIFEST_FILE))
    for name, file_id in (("train", TRAIN_DATASET_URL), ("val", VAL_DATASET_URL)):
        download_data(os.path.join(data_dir, name), file_id)
        if not os.path.exists(os.path.join(data_dir, name + ".zip")):
            raise ConnectionError(f"gdown did not download {name}.zip (file id {file_id}).")
        unpack_data(data_dir, name, zip_dir=data_dir)
    for name in ("train", "val"):
        read_split(os.path.join(data_dir, name))
    print(f"Official data ready in {data_dir}/train and {data_dir}/val.")
