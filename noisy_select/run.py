"""`noisy-select run`: train the two models on the official data or the offline proxy.

``RunConfig`` (in ``config``) says what to do; ``run`` checks it, finds or builds the data,
trains, scores and writes the record.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, replace

from noisy_select.bench.records import (
    ROBUST_PREFIX,
    describe,
    make_row,
    pinned,
    rule_name,
    scores,
    split_trainer,
)
from noisy_select.competition import BATCH_SIZE
from noisy_select.config import RunConfig
from noisy_select.constants import DEFAULT_LOOP, LOOPS, TRAINERS
from noisy_select.data import ensure, folders
from noisy_select.errors import UsageError
from noisy_select.files import write_json
from noisy_select.strategies.registry import get_spec, make_strategy
from noisy_select.train.diagnostics import BatchTracker, SelectionRecorder


def trainer_and_strategy(config: RunConfig) -> tuple[str, str]:
    """The trainer and the selection strategy's name: ``-s robust:<name>`` is ``--trainer robust``."""
    trainer, name = split_trainer(config.strategy)
    return ("robust" if config.trainer == "robust" else trainer), name


def check_config(config: RunConfig) -> None:
    """Raise ``ValueError`` for a config that cannot run, before anything is read or built."""
    if get_spec(split_trainer(config.strategy)[1]).oracle:
        raise UsageError(
            f"Strategy {config.strategy!r} reads the clean labels; run it with noisy-select bench."
        )
    if config.epochs < 1:
        raise UsageError(f"Expected `epochs` >= 1, but got {config.epochs}.")
    if not 0 < config.scale <= 1:
        raise UsageError(f"Expected `scale` to be in (0, 1], but got {config.scale}.")
    if config.trainer not in TRAINERS:
        raise UsageError(f"Expected `trainer` in {TRAINERS}, but got {config.trainer!r}.")
    if trainer_and_strategy(config)[0] == "fixed" and (config.schedule or config.keep_best):
        raise UsageError("--schedule and --keep-best apply to --trainer robust only.")
    if config.loop not in LOOPS:
        raise UsageError(f"Expected `loop` in {LOOPS}, but got {config.loop!r}.")
    if trainer_and_strategy(config)[0] == "robust":
        if config.loop != DEFAULT_LOOP:
            raise UsageError("--loop applies to --trainer fixed only (the robust trainer has its "
                             "own loop); drop --loop.")
        if config.schedule:
            from noisy_select.train.robust import parse_schedule

            parse_schedule(config.schedule, config.epochs)  # a bad schedule stops before any work


def new_record_path(strategy: str, folder: str = "results") -> str:
    """``results/run-<YYYYmmdd-HHMMSS>-<strategy>.json``, never the path of an existing file."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # A rule file's row name (file:mine.NAME@hash) without what a file name should not hold.
    strategy = rule_name(strategy).removeprefix("file:").replace(":", "-").split("@")[0]
    path = os.path.join(folder, f"run-{stamp}-{strategy}.json")
    n = 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(folder, f"run-{stamp}-{strategy}-{n}.json")
    return path


def run(config: RunConfig) -> dict:
    """Train both models with ``config.strategy``, score them, write the record (a result row
    of the bench's schema, ``records.make_row``)."""
    from noisy_select.environment import resolve_device

    check_config(config)
    config = replace(config, strategy=pinned(config.strategy))  # a rule file: this version
    device = resolve_device(config.device)
    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)
    out = record_path(config)
    checked = find_data(config)
    splits = {name: os.path.join(config.data, name) for name in checked}
    warn_if_too_small(config, len(checked["train"].labels))
    recorder, train_loader, val_loader = recorded_strategy(config, splits, checked["train"].clean)
    models, history, extra, seconds = train_run(config, recorder, train_loader, val_loader, device)
    split_scores = score_splits(models, splits, device, train_loader.batches)
    record = make_record(config, device, recorder, split_scores, history, extra, seconds)
    write_json(record, out)
    print(f"Wrote {out}")
    return record


def find_data(config: RunConfig) -> dict:
    """Fetch or build the data if needed, describe it, and read every split once, so that bad
    data stops here (``folders.check_splits``)."""
    state = folders.folder_state(config.data)
    if config.scale != 1.0 and state.kind in ("data", "proxy"):
        built = (folders.read_manifest(config.data) or {}).get("scale")
        if built != config.scale:
            raise UsageError(f"--scale applies only to a proxy this run builds, but {config.data} "
                             "holds data already; drop --scale, or pass a new --data folder.")
    ensure.ensure_data(config.data, config.scenario, config.seed, scale=config.scale,
                     source=config.source)
    print(folders.describe_data(config.data))
    return folders.check_splits(config.data)


def warn_if_too_small(config: RunConfig, train_size: int) -> None:
    from noisy_select.train.training import size_warning

    manifest = folders.read_manifest(config.data)
    warning = size_warning(train_size, config.epochs,
                           scale=manifest.get("scale", 1.0) if manifest else None)
    if warning:
        print(warning, file=sys.stderr)


def record_path(config: RunConfig) -> str:
    """Where the record goes, checked writable before anything is built or trained."""
    from noisy_select.files import check_outputs, is_run_record

    out = config.out or new_record_path(config.strategy)
    inputs = [config.schedule] if config.schedule else []
    check_outputs([(out, "--out", is_run_record)], inputs, force=config.force)
    if config.out and os.path.exists(config.out):
        print(f"{config.out} exists and will be overwritten by this run's record.")
    return out


def recorded_strategy(config: RunConfig, splits: dict[str, str], clean_train):
    """A fresh strategy wrapped to record its selections (against ``clean_train``: the clean
    labels of a proxy, the given ones for data without them), and the two loaders."""
    import torch

    from noisy_select.competition import load_data

    train_loader, val_loader = load_data(splits["train"], splits["val"])
    clean = torch.from_numpy(clean_train.copy())
    tracker = BatchTracker(train_loader, list(clean.split(BATCH_SIZE)))
    name = trainer_and_strategy(config)[1]
    return SelectionRecorder(make_strategy(name), tracker), tracker, val_loader


def train_run(config: RunConfig, recorder: SelectionRecorder, train_loader, val_loader, device):
    """Train with ``config``'s trainer, a line per epoch; models, history, extra, seconds."""
    from noisy_select.train.training import train_models

    trainer, name = trainer_and_strategy(config)

    def after_epoch(row: dict) -> None:
        recorder.end_epoch(row["epoch"])
        if config.progress:
            print(f"epoch {row['epoch']}/{config.epochs}: validation BAC model 1 "
                  f"{row['val_bac_1']:.4f}, model 2 {row['val_bac_2']:.4f}", flush=True)

    loop = f", {config.loop} loop" if trainer == "fixed" else ""
    print(f"Training with {rule_name(name)!r} ({trainer} trainer{loop}), seed {config.seed}, "
          f"{config.epochs} epochs on {device}.")
    start = time.perf_counter()
    models, history, extra = train_models(
        trainer, train_loader, val_loader, recorder, epochs=config.epochs, device=device,
        seed=config.seed, loop=config.loop, progress=config.progress and sys.stderr.isatty(),
        keep_best=config.keep_best, schedule=config.schedule, on_epoch_end=after_epoch)
    seconds = time.perf_counter() - start
    print(f"Trained in {seconds:.1f} s on {device}.")
    return models, history, extra, seconds


def score_splits(models, splits: dict[str, str], device, train_loader=None) -> dict[str, dict]:
    """Both models' scores on every split but train, printed as the competition reports them;
    on the scored split (test, else val) also how the BAC depends on BatchNorm's statistics and
    the threshold, with the training set read from ``train_loader``."""
    split_scores = {}
    scored_on = "test" if "test" in splits else "val"
    for split, folder in splits.items():
        if split != "train":
            split_scores[split] = r = scores(models, _loader(folder), device,
                                             train_loader if split == scored_on else None)
            print(f"{split}: BAC model 1 {r['bac_1']:.4f}, model 2 {r['bac_2']:.4f}, "
                  f"mean {r['bac_mean']:.4f}, points {r['points']}/100")
    estimate = "test" if "test" in split_scores else "val"
    print(f"The platform scores a secret, clean test set: here {estimate} is the estimate of "
          f"that score{' (held out, and larger than val)' if estimate == 'test' else ''}; one "
          "run is one draw of it.")
    return split_scores


def make_record(config: RunConfig, device, recorder: SelectionRecorder, split_scores: dict,
                history: list[dict], extra: dict, seconds: float) -> dict:
    from noisy_select.environment import environment

    trainer, name = trainer_and_strategy(config)
    strategy = f"{ROBUST_PREFIX}{name}" if trainer == "robust" else name
    manifest = folders.read_manifest(config.data)
    return make_row(
        scenario=manifest["scenario"]["name"] if manifest else None, strategy=rule_name(strategy),
        seed=config.seed, epochs=config.epochs, scale=manifest.get("scale", 1.0) if manifest else None,
        device=config.device, split_scores=split_scores, history=history,
        described=(describe(strategy, config.epochs, keep_best=config.keep_best,
                            schedule=config.schedule) if trainer == "robust"
                   else describe(strategy, config.epochs, loop=config.loop)),
        selection=recorder.epochs if manifest else None, seconds=seconds,
        data=folders.data_record(config.data), environment=environment(device),
        extra={"config": asdict(config), **extra})


def _loader(split_dir: str):
    import torchvision.transforms as transforms
    from torch.utils.data import DataLoader

    from noisy_select.competition import TaskDataset

    return DataLoader(TaskDataset(split_dir, transform=transforms.ToTensor()), batch_size=BATCH_SIZE)
