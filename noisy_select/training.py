"""Train the two competition models with a selection rule, as the seed's execution cell does."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
from torch.optim import AdamW

from noisy_select.competition import (
    BATCH_SIZE,
    LEARNING_RATE,
    WEIGHT_DECAY,
    SelectFn,
    SmallMobileNet,
    predict_and_evaluate,
    seed_everything,
    train,
)
from noisy_select.scenarios import Split

Batches = list[tuple[torch.Tensor, torch.Tensor]]
# Called after each epoch with that epoch's history row (epoch and validation BACs).
EpochEnd = Callable[[dict], None]


def tensor_batches(
    split: Split, device: torch.device, *, clean_labels: bool = False, batch_size: int = BATCH_SIZE
) -> Batches:
    """The batches an unshuffled ``DataLoader`` over ``TaskDataset`` yields, already on ``device``.

    Images become float32 in [0, 1] with shape (B, 1, 28, 28) as ``ToTensor`` makes them; labels
    are int64 of shape (B, 1) as the default collate stacks ``np.array([label])``.
    """
    x = torch.from_numpy(split.images).float().div(255).unsqueeze(1)
    y = torch.from_numpy(split.clean if clean_labels else split.labels).long().unsqueeze(1)
    return [
        (x[i : i + batch_size].to(device), y[i : i + batch_size].to(device))
        for i in range(0, len(y), batch_size)
    ]


@dataclass
class TrainedPair:
    """Two trained models and their validation BAC after each epoch."""

    model1: nn.Module
    model2: nn.Module
    history: list[dict] = field(default_factory=list)


def train_pair(
    train_loader: Iterable,
    val_loader: Iterable,
    select_fn: SelectFn,
    *,
    epochs: int,
    device: torch.device,
    seed: int,
    progress: bool = True,
    on_epoch_end: EpochEnd | None = None,
) -> TrainedPair:
    """Seed, build both models and optimisers, and run the fixed loop (the seed's last cell).

    After each epoch both models are scored on ``val_loader`` (read-only: eval mode, no grad)
    into a history row ``{"epoch", "val_bac_1", "val_bac_2"}``, then ``on_epoch_end(row)`` runs
    if given.
    """
    seed_everything(seed)
    criterion = nn.CrossEntropyLoss(reduction="none")
    m1, m2 = SmallMobileNet().to(device), SmallMobileNet().to(device)
    opt1 = AdamW(m1.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    opt2 = AdamW(m2.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    pair = TrainedPair(m1, m2)

    def after_epoch(epoch: int, a: nn.Module, b: nn.Module) -> None:
        bacs = [predict_and_evaluate(m, val_loader, device) for m in (a, b)]
        row = {"epoch": epoch, "val_bac_1": bacs[0], "val_bac_2": bacs[1]}
        pair.history.append(row)
        if on_epoch_end is not None:
            on_epoch_end(row)

    train(m1, m2, opt1, opt2, criterion, train_loader, val_loader, epochs, device, select_fn,
          on_epoch_end=after_epoch, progress=progress)
    return pair


def train_models(
    trainer: str,
    train_loader: Iterable,
    val_loader: Iterable,
    select_fn: SelectFn,
    *,
    epochs: int,
    device: torch.device,
    seed: int,
    progress: bool = True,
    on_epoch_end: EpochEnd | None = None,
    keep_best: bool = False,
    schedule: dict | str | None = None,
) -> tuple[tuple[nn.Module, nn.Module], list[dict], dict]:
    """Train with the fixed loop (``"fixed"``) or ``robust.train_robust`` (``"robust"``).

    Returns the two models to score, the per-epoch history and what a result should record
    about the trainer (empty for the fixed loop). ``keep_best`` and ``schedule`` are robust only.
    """
    if trainer == "fixed":
        pair = train_pair(train_loader, val_loader, select_fn, epochs=epochs, device=device,
                          seed=seed, progress=progress, on_epoch_end=on_epoch_end)
        return (pair.model1, pair.model2), pair.history, {}
    from noisy_select.robust import RobustConfig, train_robust

    config = RobustConfig(epochs=epochs, keep_best=keep_best)
    out = train_robust(train_loader, val_loader, select_fn, device=device, seed=seed,
                       config=config, schedule=schedule, progress=progress,
                       on_epoch_end=on_epoch_end)
    extra = {"trainer": "robust", "robust_config": asdict(config), "best_epoch": out["best_epoch"]}
    return out["models"], out["history"], extra
