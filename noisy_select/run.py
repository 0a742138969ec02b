"""`noisy-select run`: train the two models on the official data or the offline proxy."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import asdict, dataclass

import torchvision.transforms as transforms
from torch.utils.data import DataLoader

from noisy_select import proxy
from noisy_select.competition import (
    BATCH_SIZE,
    NUM_EPOCHS,
    SEED,
    TRAIN_DATASET_URL,
    VAL_DATASET_URL,
    TaskDataset,
    download_data,
    load_data,
    points,
    predict_and_evaluate,
    unpack_data,
)
from noisy_select.strategies import get_spec, make_strategy
from noisy_select.training import environment, resolve_device, train_models


@dataclass
class RunConfig:
    data: str = "data"  # folder with train/ and val/ (official) or where the proxy is built
    strategy: str = "your_select_indices"  # a registered strategy name
    epochs: int = NUM_EPOCHS  # the competition trains 6
    device: str = "auto"  # auto: CUDA when available
    seed: int = SEED  # seeds the models (seed_everything), as the competition's 123
    scenario: str = "olympiad"  # proxy scenario built when data/ holds no data
    out: str = "results/run.json"  # the result with its config
    progress: bool = True  # tqdm bars
    trainer: str = "fixed"  # fixed: the competition's loop; robust: robust.train_robust
    schedule: str | None = None  # robust only: JSON file of the phase schedule (None: default)
    keep_best: bool = False  # robust only: restore the best epoch by validation BAC


def has_split(data_dir: str, split: str) -> bool:
    return os.path.isfile(os.path.join(data_dir, split, "dataset_labels.csv"))


def describe_data(data_dir: str) -> str:
    """One line saying which data ``data_dir`` holds."""
    manifest = proxy.read_manifest(data_dir)
    if manifest is None:
        return f"Using the data in {data_dir} (official layout, no proxy manifest)."
    return (
        f"Using the offline proxy {manifest['scenario']['name']!r} (seed {manifest['seed']}) "
        f"in {data_dir}: {manifest['source']}."
    )


def ensure_data(data_dir: str, scenario: str = "olympiad", seed: int = SEED, *,
                download: bool = False, scale: float = 1.0) -> str:
    """Use the data in ``data_dir`` if it has train/ and val/; else download the official data
    (``download`` and Google Drive answers) or build the proxy there. Returns the one line
    that says which data it is."""
    if not (has_split(data_dir, "train") and has_split(data_dir, "val")):
        if download and google_drive_reachable():
            download_official(data_dir)
        else:
            print(f"No data in {data_dir}: building the offline proxy {scenario!r} (seed {seed}).")
            proxy.build_proxy(data_dir, scenario, seed, force=True, scale=scale)
    return describe_data(data_dir)


def run(config: RunConfig) -> dict:
    """Train both models with ``config.strategy``, score them, write ``config.out``."""
    spec = get_spec(config.strategy)
    if spec.oracle:
        raise ValueError(
            f"Strategy {config.strategy!r} reads the clean labels; run it with noisy-select bench."
        )
    if config.epochs < 1:
        raise ValueError(f"Expected `epochs` >= 1, but got {config.epochs}.")
    if config.trainer not in ("fixed", "robust"):
        raise ValueError(f"Expected `trainer` to be 'fixed' or 'robust', but got {config.trainer!r}.")
    if config.trainer == "fixed" and (config.schedule or config.keep_best):
        raise ValueError("--schedule and --keep-best apply to --trainer robust only.")
    device = resolve_device(config.device)
    print(ensure_data(config.data, config.scenario))
    splits = {s: os.path.join(config.data, s) for s in ("train", "val", "test")}
    for name in ("train", "val", "test"):
        if name != "test" or has_split(config.data, "test"):
            proxy.read_split(splits[name])  # clear errors before any training
    train_loader, val_loader = load_data(splits["train"], splits["val"])

    strategy = make_strategy(config.strategy)
    result: dict = {"config": asdict(config)}
    start = time.perf_counter()
    models, history, extra = train_models(
        config.trainer, train_loader, val_loader, strategy, epochs=config.epochs, device=device,
        seed=config.seed, progress=config.progress, keep_best=config.keep_best,
        schedule=config.schedule)
    result.update(extra)
    seconds = time.perf_counter() - start
    result["train_seconds"] = round(seconds, 2)
    eval_splits = ["val"] + (["test"] if has_split(config.data, "test") else [])
    for name in eval_splits:
        loader: DataLoader = DataLoader(TaskDataset(splits[name], transform=transforms.ToTensor()),
                            batch_size=BATCH_SIZE)
        bacs = [predict_and_evaluate(m, loader, device) for m in models]
        result[name] = {
            "bac_1": bacs[0], "bac_2": bacs[1], "bac_mean": (bacs[0] + bacs[1]) / 2,
            "points": points(*bacs), "size": len(loader.dataset),  # type: ignore[arg-type]
        }
        print(f"{name}: BAC model 1 {bacs[0]:.4f}, model 2 {bacs[1]:.4f}, "
              f"mean {result[name]['bac_mean']:.4f}, points {result[name]['points']}/100")
    result["history"] = history
    result["data"] = proxy.read_manifest(config.data) or {"official": True}
    result["environment"] = environment(device)
    print(f"Trained in {seconds:.1f} s on {device}.")
    if config.out:
        os.makedirs(os.path.dirname(os.path.abspath(config.out)), exist_ok=True)
        with open(config.out, "w") as f:
            json.dump(result, f, indent=2)
        print(f"Wrote {config.out}")
    return result


def prepare_notebook_data(data_dir: str, smoke: bool = False) -> str:
    """Data for the working notebook: the official download when online, else the proxy
    (a tenth of its size, and no download attempt, in smoke mode)."""
    return ensure_data(data_dir, download=not smoke, scale=0.1 if smoke else 1.0)


def clean_label_batches(data_dir: str, batch_size: int) -> list:
    """Clean labels of the training split in loader order, batched (the given labels for
    official data, whose clean labels nobody knows)."""
    import torch

    labels = proxy.read_split(os.path.join(data_dir, "train")).clean
    y = torch.tensor(labels)
    return [y[i : i + batch_size] for i in range(0, len(y), batch_size)]


def google_drive_reachable(timeout: float = 3.0) -> bool:
    try:
        socket.create_connection(("drive.google.com", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def download_official(data_dir: str = "data") -> None:
    """Download and unpack the official train/ and val/ archives into ``data_dir`` (gdown)."""
    if not google_drive_reachable():
        raise ConnectionError(
            "Cannot reach drive.google.com to download the official data. Work offline with the "
            "proxy instead: `noisy-select data` builds it, and `noisy-select run` builds it "
            "on first use."
        )
    os.makedirs(data_dir, exist_ok=True)
    if proxy.read_manifest(data_dir) is not None:
        # A proxy lives here: its test split and manifest must not pass for official data.
        shutil.rmtree(os.path.join(data_dir, "test"), ignore_errors=True)
        os.remove(os.path.join(data_dir, proxy.MANIFEST_FILE))
    for name, file_id in (("train", TRAIN_DATASET_URL), ("val", VAL_DATASET_URL)):
        download_data(os.path.join(data_dir, name), file_id)
        if not os.path.exists(os.path.join(data_dir, name + ".zip")):
            raise ConnectionError(f"gdown did not download {name}.zip (file id {file_id}).")
        unpack_data(data_dir, name, zip_dir=data_dir)
    for name in ("train", "val"):
        proxy.read_split(os.path.join(data_dir, name))
    print(f"Official data ready in {data_dir}/train and {data_dir}/val.")
