"""Oracles: strategies that read the clean labels, so only the bench can run them (upper bounds)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from noisy_select.strategies.base import Strategy, class_balanced_weights, resample


class OracleClean(Strategy):
    """Selects exactly the correctly labelled samples of the batch, for both models.

    ``clean_fn()`` returns the current batch's clean labels ``(B,)`` (only the bench has them).
    """

    def __init__(self, clean_fn: Callable[[], torch.Tensor]) -> None:
        self.clean_fn = clean_fn
        super().__init__()

    def correct(self, labels: torch.Tensor) -> torch.Tensor:
        return labels == self.clean_fn().to(labels.device)

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        correct = self.correct(labels)
        if not bool(correct.any()):
            correct[:] = True  # nothing correct in this batch: the step would otherwise skip
        idx = torch.nonzero(correct).reshape(-1)
        return [idx, idx.clone()]


class OracleCleanBalanced(OracleClean):
    """Exactly the correctly labelled samples, labels balanced by repetition, a fixed number
    of indices (the batch size): the output shape of ``adaptive``, with perfect ranking."""

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        weights = class_balanced_weights(labels, self.correct(labels).float(), 1.0)
        idx = resample(weights, labels.numel())
        return [idx, idx.clone()]
