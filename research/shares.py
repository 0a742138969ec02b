"""Research: does a cleaner kept set move the score? The shipped rule keeping fewer of each label
(issue 28; docs/SELECTION.md section 11).

    noisy-select bench research/shares.py:fewer --scenarios fashion-tops --seeds 0-9 --loop official

Every ranking of section 11's loss memory (this visit's loss, its mean over visits, both models'
sum) keeps the published shares at the same precision, within 0.01 (`fashion-tops` seeds 0 and
1, last epoch: label 0 0.89-0.90, label 1 0.96). The share is what moves it: on the shipped
rule's own trajectory (seed 1, last epoch) the peer's lowest 40% of label 0 are 0.931 right
(50%: 0.887) and its lowest 85% of label 1 0.982 (93%: 0.956), at 0.74 and 0.91 of each
label's clean samples kept (0.88 and 0.97).

``fewer`` is a diagnostic, not a product: the shipped rule with 0.40 / 0.85 after its warm-up,
each sample once, in batch order. Its two shares are read off one proxy's curve, so they are
exactly the constant the issue rules out for a rule that ships; the question it answers is
whether the kept set's precision is what holds the ranking and the crowd near the threshold,
which decides whether an estimator of the shares is worth building.
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import kept_by_peer
from noisy_select.strategies.shipped import BalancedThenPublished

FEWER = (0.40, 0.85)  # label 0, label 1: read off section 11's precision curve (one seed)


class Fewer(BalancedThenPublished):
    """The shipped warm-up, then the peer's lowest ``keep`` of each label."""

    def __init__(self, keep: tuple[float, float] = FEWER, **kwargs) -> None:
        self.keep = keep
        super().__init__(**kwargs)

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        return kept_by_peer(labels, loss, self.keep) if self.epoch >= self.switch else None


fewer = Fewer()
