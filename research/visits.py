"""Research: rank by the loss of two visits, not one batch's (issue 28, step 2, "agreement and
time"; docs/SELECTION.md section 10).

    noisy-select bench research/visits.py:two_visits your_select_indices \
        --scenarios fashion-tops --seeds 0-9 --loop official

The loop never shuffles (``base.EpochCounter``): the batch at position ``p`` of an epoch holds
the same samples, in the same order, every epoch. So a rule can remember each position's
losses and rank a sample by what it cost at its last visit too: one batch's loss is one draw of
a walking model (section 9), the mean of two visits an epoch apart is a steadier ranking, in the
way that small-loss methods average a sample's loss over epochs. ``two_visits`` is the shipped
rule with one change: after the warm-up, each model keeps the published shares of each label by
its peer's mean loss over this visit and the last (the current loss alone where a sample's
label differs from its last visit's, as it would under a shuffling loop, and on a position not
seen before). The memory is the run's: a new run starts it afresh. No constant beyond the
published shares; the two visits are the fewest that make a mean.
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import PUBLISHED_KEEP, kept_by_peer
from noisy_select.strategies.shipped import BalancedThenPublished


class TwoVisits(BalancedThenPublished):
    """The shipped rule, ranking after its warm-up by the peer's mean loss over a sample's last
    two visits (the same position of the epoch before)."""

    def reset(self) -> None:
        super().reset()
        self.visits: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # position: labels, loss

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        last = self.visits.get(self.position)
        self.visits[self.position] = (labels.clone(), loss.clone())
        if self.epoch < self.switch:
            return None  # the warm-up answers in ``select``
        if last is not None and last[0].shape == labels.shape:
            loss = torch.where(labels == last[0], (loss + last[1]) / 2, loss)
        return kept_by_peer(labels, loss, PUBLISHED_KEEP)


two_visits = TwoVisits()
