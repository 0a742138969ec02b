"""The two competition models trained with a selection strategy, as a notebook's execution cell
does (``run_execution_cell``: either fixed loop of ``competition``), on tensor batches."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn as nn
from torch.optim import AdamW

from noisy_select.competition import (
    BATCH_SIZE,
    LEARNING_RATE,
    LOOPS,
    WEIGHT_DECAY,
    SelectIndices,
    SmallMobileNet,
    seed_everything,
    train,
    train_official,
)
from noisy_select.data.scenarios import Split
from noisy_select.errors import UsageError
from noisy_select.strategies.own import check_selection
from noisy_select.train.evaluation import evaluate

# Called after each epoch with that epoch's history row (epoch, validation BAC and AUC).
EpochEnd = Callable[[dict], None]
# Measured (docs/results/size-check.jsonl): on the olympiad proxy, training on every sample
# with its *clean* label scored BAC 0.50-0.54 below 20 optimizer steps and 0.56-0.63 at 24;
# from 30 steps on it learned (0.67-0.78 at 30-48 steps; 0.92 at the full 144).
LEARNS_FROM_STEPS = 30


def optimizer_steps(train_size: int, epochs: int, batch_size: int = BATCH_SIZE) -> int:
    """Steps of each model in the fixed loop: one per batch and epoch."""
    return epochs * -(-train_size // batch_size)


def size_warning(train_size: int, epochs: int, scale: float | None = 1.0) -> str | None:
    """A line saying that a run is too small to learn anything, with the smallest ``--epochs``
    (at this size) and ``--scale`` (at 6 epochs) that reach ``LEARNS_FROM_STEPS``; None when
    the run is large enough. ``scale`` None: data of the user's own, which no scale changes;
    a scale is suggested only where a larger one exists and reaches that many steps."""
    steps = optimizer_steps(train_size, epochs)
    if steps >= LEARNS_FROM_STEPS:
        return None
    batches = -(-train_size // BATCH_SIZE)
    need_epochs = -(-LEARNS_FROM_STEPS // batches)
    smallest = f"--epochs {need_epochs} at this size"
    full = train_size / (scale or 1.0)  # the size at --scale 1
    fewest = (-(-LEARNS_FROM_STEPS // 6) - 1) * BATCH_SIZE + 1  # images for enough batches
    if scale is not None and scale < 1 and round(full) >= fewest:
        need_scale = math.ceil(fewest / full * 100) / 100
        while round(full * need_scale) < fewest and need_scale < 1:
            need_scale = round(need_scale + 0.01, 2)
        smallest += f", or --scale {min(need_scale, 1.0):g} with 6 epochs"
    return (f"warning: this run has {steps} optimizer steps ({epochs} epochs x {batches} "
            f"batches); below {LEARNS_FROM_STEPS}, even training on the clean labels scored "
            "about 0.5 on the olympiad proxy (docs/results/size-check.jsonl), so its BAC says "
            f"little. The smallest run that learns: {smallest}.")


class InMemoryLoader:
    """The batches an unshuffled ``DataLoader`` over ``TaskDataset`` yields, decoded once.

    Iterating draws one number from torch's global generator, exactly as ``DataLoader.__iter__``
    does for its base seed, so dropout masks (and so every result) are bit-identical to a run
    that reads the PNG files through the competition's loader.
    """

    def __init__(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        torch.empty((), dtype=torch.int64).random_()
        return iter(self.batches)


def tensor_batches(
    split: Split, device: torch.device, *, clean_labels: bool = False, batch_size: int = BATCH_SIZE
) -> InMemoryLoader:
    """``split`` as an unshuffled loader would batch it, already on ``device``.

    Images become float32 in [0, 1] with shape (B, 1, 28, 28) as ``ToTensor`` makes them; labels
    are int64 of shape (B, 1) as the default collate stacks ``np.array([label])``.
    """
    x = torch.from_numpy(split.images).float().div(255).unsqueeze(1)
    y = torch.from_numpy(split.clean if clean_labels else split.labels).long().unsqueeze(1)
    return InMemoryLoader([
        (x[i : i + batch_size].to(device), y[i : i + batch_size].to(device))
        for i in range(0, len(y), batch_size)
    ])


@dataclass
class TrainedPair:
    """Two trained models and their validation BAC and AUC after each epoch."""

    model1: nn.Module
    model2: nn.Module
    history: list[dict] = field(default_factory=list)


def checked(strategy: SelectIndices) -> SelectIndices:
    """``strategy`` with each answer checked by ``check_selection``."""
    def select(targets: torch.Tensor, losses: list[torch.Tensor]):
        selected = strategy(targets, losses)
        check_selection(selected, targets.numel())
        return selected

    return select


def run_execution_cell(
    train_loader: Iterable,
    val_loader: Iterable,
    strategy: SelectIndices,
    *,
    epochs: int,
    device: torch.device,
    seed: int,
    loop: str = "official",
    progress: bool = True,
    on_epoch_end: EpochEnd | None = None,
) -> TrainedPair:
    """Seed, build both models and optimisers, and run a fixed loop, as its execution cell does.

    ``loop="official"`` is the organizers' cell, which the platform runs: seed, build, seed
    again, ``train_official`` in final evaluation mode. ``loop="seed"`` is the seed notebook's:
    seed once, build, ``train``. After each epoch both models are scored on ``val_loader``
    (read-only: eval mode, no grad, the random generators restored) into a history row
    ``{"epoch", "val_bac_1", "val_bac_2", "val_auc_1", "val_auc_2"}``, then
    ``on_epoch_end(row)`` runs if given.
    """
    if loop not in LOOPS:
        raise UsageError(f"Expected `loop` in {LOOPS}, but got {loop!r}.")
    strategy = checked(strategy)
    seed_everything(seed)
    criterion = nn.CrossEntropyLoss(reduction="none")
    m1, m2 = SmallMobileNet().to(device), SmallMobileNet().to(device)
    opt1 = AdamW(m1.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    opt2 = AdamW(m2.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    pair = TrainedPair(m1, m2)

    def after_epoch(epoch: int, a: nn.Module, b: nn.Module) -> None:
        (bac_1, auc_1), (bac_2, auc_2) = (evaluate(m, val_loader, device) for m in (a, b))
        row = {"epoch": epoch, "val_bac_1": bac_1, "val_bac_2": bac_2, "val_auc_1": auc_1,
               "val_auc_2": auc_2}
        pair.history.append(row)
        if on_epoch_end is not None:
            on_epoch_end(row)

    if loop == "official":
        seed_everything(seed)
        train_official(m1, m2, opt1, opt2, criterion, train_loader, val_loader, epochs, device,
                       strategy, final_evaluation_mode=True, epoch_hook=after_epoch,
                       progress=progress)
    else:
        train(m1, m2, opt1, opt2, criterion, train_loader, val_loader, epochs, device, strategy,
              epoch_hook=after_epoch, progress=progress)
    return pair

