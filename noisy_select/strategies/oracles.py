"""Oracles: rules that read the clean labels, so only the bench can run them (upper bounds)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from noisy_select.strategies.base import Strategy, class_balanced_weights, resample


class OracleClean(Strategy):
    """Exactly the correctly labelled samples of the batch, for both models (all of them where
    none is: the step would skip). ``clean_fn()`` returns the batch's clean labels ``(B,)``."""

    def __init__(self, clean_fn: Callable[[], torch.Tensor]) -> None:
        self.clean_fn = clean_fn
        super().__init__()

    def correct(self, labels: torch.Tensor) -> torch.Tensor:
        return labels == self.clean_fn().to(labels.device)

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        correct = self.correct(labels)
        return (correct | ~correct.any()).expand(2, -1)


class OracleCleanBalanced(OracleClean):
    """Exactly the correctly labelled samples, labels balanced by repetition, as many indices as
    the batch holds: the output shape of ``adaptive``, with perfect ranking."""

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> None:
        return None

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        weights = class_balanced_weights(labels, self.correct(labels).float(), 1.0)
        idx = resample(weights, labels.numel())
        return [idx, idx.clone()]
