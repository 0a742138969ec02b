"""Research: the last epoch without the kept samples a model gets wrong (issue 28, step 2,
"a settled end"; docs/SELECTION.md section 10).

    noisy-select bench research/own_fit.py:fit_end your_select_indices \
        --scenarios fashion-tops --seeds 0-9 --loop official

Section 10's traces show the shipped rule's scored BAC walking in the last epoch while the same
weights, with BatchNorm's statistics re-estimated, hold steady: the running statistics cannot
follow weights that move 0.6-1.0% a step at the full learning rate. A rule cannot lower the
learning rate, but under AdamW it can shrink the steps (``v`` remembers about 1,000 steps,
``m`` about 10): by leaving out the largest gradients. Co-teaching keeps, for each model, what
its peer finds easy; the kept samples that the model itself still gets wrong (its own loss above
ln 2, the argmax boundary of two classes) carry the largest gradients of its selection, and they
are the disputed ones, a wrong label that the peer has learnt among them. ``fit_end`` is the
shipped rule, except in the run's last epoch, where each model trains on its peer's kept
samples that it already classifies as labelled. Unlike ``settle.py:settle_25`` it keeps every
kept sample the model fits, not the peer's lowest quarter; where a model fits none of a batch
it keeps the peer's whole kept set (never empty: the organizers' loop would step AdamW on
nothing). No constant beyond the published shares and the boundary of the argmax.
"""

from __future__ import annotations

import math

import torch

from noisy_select.strategies.base import PUBLISHED_KEEP, kept_by_peer
from noisy_select.strategies.shipped import BalancedThenPublished


class FitEnd(BalancedThenPublished):
    """The shipped rule; in the run's last ``last`` epochs each model keeps its peer's kept
    samples that its own loss puts on the side of their label."""

    def __init__(self, last: int = 1, **shipped) -> None:
        self.last = last
        super().__init__(**shipped)

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        if self.epoch < self.epochs - self.last:
            return super().kept(labels, loss)
        peer = kept_by_peer(labels, loss, PUBLISHED_KEEP)  # row m: by m's peer
        fits = peer & (loss < math.log(2))  # row m: m's own loss
        return torch.where(fits.any(-1, keepdim=True), fits, peer)


fit_end = FitEnd()
