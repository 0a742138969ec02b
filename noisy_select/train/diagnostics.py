"""What a selection strategy does during training: per-class keep rates, precision and recall
against the clean labels, and the per-sample losses of the last epoch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch


class BatchTracker:
    """Iterates training batches (a list or an unshuffled loader) and remembers the current one.

    ``clean`` holds the clean labels ``(B,)`` of each batch, in order.
    """

    def __init__(self, batches: Iterable, clean: list[torch.Tensor]) -> None:
        self.batches, self.clean_batches, self.index = batches, clean, -1

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for index, batch in enumerate(self.batches):
            self.index = index
            yield batch

    def __len__(self) -> int:
        return len(self.batches)  # type: ignore[arg-type]

    def clean(self) -> torch.Tensor:
        """Clean labels ``(B,)`` of the batch the loop is on."""
        return self.clean_batches[self.index]


def selection_counts(labels: torch.Tensor, clean: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Per given label ``c``: [samples, selected, selected and correct, correct], shape (2, 4).

    A repeated index counts once: these are counts of samples, not of gradient steps.
    """
    selected = torch.zeros_like(labels, dtype=torch.bool)
    selected[idx] = True
    correct = labels == clean
    rows = [torch.ones_like(correct), selected, selected & correct, correct]
    onehot = torch.nn.functional.one_hot(labels, 2).T.float()  # (2, B)
    return torch.stack([onehot @ r.float() for r in rows], dim=1)


def precision_recall(counts: torch.Tensor) -> dict:
    """Per class: precision, recall and keep rate of a selection from ``selection_counts``."""
    n, sel, sel_ok, ok = counts.unbind(-1)
    nan = torch.tensor(float("nan"))
    return {
        "precision": torch.where(sel > 0, sel_ok / sel.clamp(min=1), nan).tolist(),
        "recall": torch.where(ok > 0, sel_ok / ok.clamp(min=1), nan).tolist(),
        "keep_rate": torch.where(n > 0, sel / n.clamp(min=1), nan).tolist(),
    }


class SelectionRecorder:
    """Wraps a strategy; per model and epoch, records what its selections contain.

    With ``keep_losses`` it also keeps the last epoch's per-sample losses of both models
    (``losses``, shape (2, N)) and whether each sample's label is correct (``correct``, (N,)).
    """

    def __init__(self, strategy: Callable, tracker: BatchTracker, keep_losses: bool = False) -> None:
        self.strategy, self.tracker, self.keep_losses = strategy, tracker, keep_losses
        self.counts = torch.zeros(2, 2, 4)
        self.epochs: list[dict] = []
        self._losses: list[torch.Tensor] = []
        self._correct: list[torch.Tensor] = []
        self.losses: torch.Tensor | None = None
        self.correct: torch.Tensor | None = None

    def __call__(self, targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
        selected = self.strategy(targets, losses)
        labels = targets.reshape(-1).long()
        clean = self.tracker.clean().to(labels.device)
        for m in (0, 1):
            self.counts[m] += selection_counts(labels, clean, selected[m]).cpu()
        if self.keep_losses:
            self._losses.append(torch.stack([x.detach().reshape(-1) for x in losses]).cpu())
            self._correct.append((labels == clean).cpu())
        return selected

    def end_epoch(self, epoch: int) -> None:
        stats = [precision_recall(self.counts[m]) for m in (0, 1)]
        self.epochs.append({"epoch": epoch, **{k: [s[k] for s in stats] for k in stats[0]}})
        self.counts.zero_()
        if self.keep_losses:
            self.losses, self.correct = torch.cat(self._losses, 1), torch.cat(self._correct)
            self._losses, self._correct = [], []
