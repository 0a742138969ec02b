"""`noisy-select run`: train the two models on the official data or the offline proxy.

``RunConfig`` (in ``config``) says what to do; ``run`` checks it, finds or builds the data,
trains, scores and writes the record.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict

from noisy_select import data
from noisy_select.competition import BATCH_SIZE
from noisy_select.config import TRAINERS, RunConfig
from noisy_select.diagnostics import BatchTracker, SelectionRecorder
from noisy_select.files import write_json
from noisy_select.records import ROBUST_PREFIX, describe, make_row, scores, split_trainer
from noisy_select.strategies import get_spec, make_strategy


def trainer_and_strategy(config: RunConfig) -> tuple[str, str]:
    """The trainer and the selection rule's name: ``-s robust:<name>`` is ``--trainer robust``."""
    trainer, name = split_trainer(config.strategy)
    return ("robust" if config.trainer == "robust" else trainer), name


def check_config(config: RunConfig) -> None:
    """Raise ``ValueError`` for a config that cannot run, before anything is read or built."""
    if get_spec(split_trainer(config.strategy)[1]).oracle:
        raise ValueError(
            f"Strategy {config.strategy!r} reads the clean labels; run it with noisy-select bench."
        )
    if config.epochs < 1:
        raise ValueError(f"Expected `epochs` >= 1, but got {config.epochs}.")
    if not 0 < config.scale <= 1:
        raise ValueError(f"Expected `scale` to be in (0, 1], but got {config.scale}.")
    if config.trainer not in TRAINERS:
        raise ValueError(f"Expected `trainer` in {TRAINERS}, but got {config.trainer!r}.")
    if trainer_and_strategy(config)[0] == "fixed" and (config.schedule or config.keep_best):
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


def run(config: RunConfig) -> dict:
    """Train both models with ``config.strategy``, score them, write the record (a result row
    of the bench's schema, ``records.make_row``)."""
    import torch

    from noisy_select.competition import load_data
    from noisy_select.environment import environment, resolve_device
    from noisy_select.training import train_models

    check_config(config)
    device = resolve_device(config.device)
    data.ensure_data(config.data, config.scenario, config.seed, scale=config.scale)
    print(data.describe_data(config.data))
    checked = data.check_splits(config.data)
    splits = {s: os.path.join(config.data, s) for s in checked}
    out = config.out or new_record_path(config.strategy)
    if config.out and os.path.exists(config.out):
        print(f"{config.out} exists and will be overwritten by this run's record.")
    train_loader, val_loader = load_data(splits["train"], splits["val"])
    trainer, name = trainer_and_strategy(config)
    strategy = f"{ROBUST_PREFIX}{name}" if trainer == "robust" else name
    described = describe(strategy, config.epochs, keep_best=config.keep_best,
                         schedule=config.schedule)
    clean = torch.from_numpy(checked["train"].clean)  # the given labels for data without a proxy's
    tracker = BatchTracker(train_loader, list(clean.split(BATCH_SIZE)))
    recorder = SelectionRecorder(make_strategy(name), tracker)

    def after_epoch(row: dict) -> None:
        recorder.end_epoch(row["epoch"])
        if config.progress:
            print(f"epoch {row['epoch']}/{config.epochs}: validation BAC model 1 "
                  f"{row['val_bac_1']:.4f}, model 2 {row['val_bac_2']:.4f}", flush=True)

    print(f"Training with {name!r} ({trainer} trainer), seed {config.seed}, "
          f"{config.epochs} epochs on {device}.")
    start = time.perf_counter()
    models, history, extra = train_models(
        trainer, tracker, val_loader, recorder, epochs=config.epochs, device=device,
        seed=config.seed, progress=config.progress and sys.stderr.isatty(),
        keep_best=config.keep_best, schedule=config.schedule, on_epoch_end=after_epoch)
    seconds = time.perf_counter() - start

    split_scores = {}
    for split in splits:
        if split != "train":
            split_scores[split] = r = scores(models, _loader(splits[split]), device)
            print(f"{split}: BAC model 1 {r['bac_1']:.4f}, model 2 {r['bac_2']:.4f}, "
                  f"mean {r['bac_mean']:.4f}, points {r['points']}/100")
    manifest = data.read_manifest(config.data)
    record = make_row(
        scenario=manifest["scenario"]["name"] if manifest else None, strategy=strategy,
        seed=config.seed, epochs=config.epochs, scale=manifest.get("scale", 1.0) if manifest else None,
        device=config.device, described=described, split_scores=split_scores, history=history,
        selection=recorder.epochs if manifest else None, seconds=seconds,
        data=data.data_record(config.data), environment=environment(device),
        extra={"config": asdict(config), **extra})
    print(f"Trained in {seconds:.1f} s on {device}.")
    write_json(record, out)
    print(f"Wrote {out}")
    return record


def _loader(split_dir: str):
    import torchvision.transforms as transforms
    from torch.utils.data import DataLoader

    from noisy_select.competition import TaskDataset

    return DataLoader(TaskDataset(split_dir, transform=transforms.ToTensor()), batch_size=BATCH_SIZE)
