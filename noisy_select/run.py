"""`noisy-select run`: train the two models on the official data or the offline proxy."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass

from noisy_select import data
from noisy_select.competition import BATCH_SIZE, NUM_EPOCHS, SEED, points
from noisy_select.files import write_json
from noisy_select.strategies import get_spec, make_strategy


@dataclass
class RunConfig:
    data: str = "data"  # folder with train/ and val/ (official layout), or where the proxy is built
    strategy: str = "your_select_indices"  # a registered strategy name
    epochs: int = NUM_EPOCHS  # the competition trains 6
    device: str = "auto"  # auto: CUDA when available
    seed: int = SEED  # seeds the models (seed_everything) and a proxy built here; competition: 123
    scenario: str | None = None  # proxy scenario: built into an empty --data, checked against one there
    scale: float = 1.0  # shrinks every split of a proxy built here, (0, 1]
    out: str | None = None  # the run's JSON record (None: a new results/run-<time>-<strategy>.json)
    progress: bool = True  # progress bars (on a terminal only) and a line per epoch
    trainer: str = "fixed"  # fixed: the competition's loop; robust: robust.train_robust
    schedule: str | None = None  # robust only: JSON file of the phase schedule (None: default)
    keep_best: bool = False  # robust only: restore the best epoch by validation BAC


def check_config(config: RunConfig) -> None:
    """Raise ``ValueError`` for a config that cannot run, before anything is read or built."""
    if get_spec(config.strategy).oracle:
        raise ValueError(
            f"Strategy {config.strategy!r} reads the clean labels; run it with noisy-select bench."
        )
    if config.epochs < 1:
        raise ValueError(f"Expected `epochs` >= 1, but got {config.epochs}.")
    if not 0 < config.scale <= 1:
        raise ValueError(f"Expected `scale` to be in (0, 1], but got {config.scale}.")
    if config.trainer not in ("fixed", "robust"):
        raise ValueError(f"Expected `trainer` to be 'fixed' or 'robust', but got {config.trainer!r}.")
    if config.trainer == "fixed" and (config.schedule or config.keep_best):
        raise ValueError("--schedule and --keep-best apply to --trainer robust only.")


def new_record_path(strategy: str, folder: str = "results") -> str:
    """``results/run-<YYYYmmdd-HHMMSS>-<strategy>.json``, never the path of an existing file."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = os.path.join(folder, f"run-{stamp}-{strategy}.json")
    n = 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(folder, f"run-{stamp}-{strategy}-{n}.json")
    return path


def score(models, split_dir: str, device) -> dict:
    """BAC of both models on a split folder, their mean, the points and the split size."""
    import torchvision.transforms as transforms
    from torch.utils.data import DataLoader

    from noisy_select.competition import TaskDataset, predict_and_evaluate

    loader: DataLoader = DataLoader(TaskDataset(split_dir, transform=transforms.ToTensor()),
                                    batch_size=BATCH_SIZE)
    bacs = [predict_and_evaluate(m, loader, device) for m in models]
    return {"bac_1": bacs[0], "bac_2": bacs[1], "bac_mean": (bacs[0] + bacs[1]) / 2,
            "points": points(*bacs), "size": len(loader.dataset)}  # type: ignore[arg-type]


def run(config: RunConfig) -> dict:
    """Train both models with ``config.strategy``, score them, write the record."""
    from noisy_select.competition import load_data
    from noisy_select.environment import environment, resolve_device
    from noisy_select.training import train_models

    check_config(config)
    device = resolve_device(config.device)
    data.ensure_data(config.data, config.scenario, config.seed, scale=config.scale)
    print(data.describe_data(config.data))
    split_names = data.check_splits(config.data)
    splits = {s: os.path.join(config.data, s) for s in split_names}
    out = config.out or new_record_path(config.strategy)
    if config.out and os.path.exists(config.out):
        print(f"{config.out} exists and will be overwritten by this run's record.")
    train_loader, val_loader = load_data(splits["train"], splits["val"])

    print(f"Training with {config.strategy!r} ({config.trainer} trainer), seed {config.seed}, "
          f"{config.epochs} epochs on {device}.")
    bars = config.progress and sys.stderr.isatty()
    start = time.perf_counter()
    models, history, extra = train_models(
        config.trainer, train_loader, val_loader, make_strategy(config.strategy),
        epochs=config.epochs, device=device, seed=config.seed, progress=bars,
        keep_best=config.keep_best, schedule=config.schedule,
        on_epoch_end=_epoch_printer(config.epochs) if config.progress else None)
    seconds = time.perf_counter() - start

    result: dict = {"config": asdict(config), **extra, "train_seconds": round(seconds, 2)}
    for name in splits:
        if name == "train":
            continue
        result[name] = r = score(models, splits[name], device)
        print(f"{name}: BAC model 1 {r['bac_1']:.4f}, model 2 {r['bac_2']:.4f}, "
              f"mean {r['bac_mean']:.4f}, points {r['points']}/100")
    result["history"] = history
    result["data"] = data.data_record(config.data)
    result["environment"] = environment(device)
    print(f"Trained in {seconds:.1f} s on {device}.")
    write_json(result, out)
    print(f"Wrote {out}")
    return result


def _epoch_printer(epochs: int):
    def show(row: dict) -> None:
        print(f"epoch {row['epoch']}/{epochs}: validation BAC model 1 {row['val_bac_1']:.4f}, "
              f"model 2 {row['val_bac_2']:.4f}", flush=True)

    return show
