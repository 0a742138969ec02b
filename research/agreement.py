"""Research: the samples both models keep count twice (issue 28, step 2, "agreement";
docs/SELECTION.md section 9).

    noisy-select bench research/agreement.py:agreed_twice \
        --scenarios fashion-tops --seeds 0-9 --loop official

Section 9's traces show the shipped rule's last epoch as a walk of the scored threshold that the
clean oracle, at the same shares, does not make: what drives it is the wrong labels among the
kept samples. Co-teaching keeps, for each model, what its *peer* finds easy; a wrong label that
the peer has learnt and the model has not is kept for the model at a high loss of its own, so
it gives the model one of the largest gradients of the batch. ``agreed_twice`` keeps the shipped
warm-up and the published kept sets and adds to each model's selection, once more, the samples
that both models' losses keep (``base.kept_by_peer``'s two rows agree): a sample kept by the
peer alone is trained on once, one kept by both twice. So the disputed samples weigh half as
much as the agreed ones, and no sample the shipped rule keeps is dropped. No constant beyond the
published shares; the two models' selections stay their own.
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import PUBLISHED_KEEP, kept_by_peer
from noisy_select.strategies.shipped import BalancedThenPublished


class AgreedTwice(BalancedThenPublished):
    """The shipped rule; after its warm-up each model trains on its peer's kept samples, those
    that both models keep twice (in batch order, a repeated index next to itself)."""

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        return None  # every call answers in ``select``

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        if self.epoch < self.switch:
            return super().select(labels, loss)
        kept = kept_by_peer(labels.clamp(0, 1), loss, PUBLISHED_KEEP)  # row m: by m's peer
        times = kept.long() + (kept[0] & kept[1]).long()  # (2, B): 0, 1 or 2
        every = torch.arange(labels.numel(), device=labels.device)
        return [every.repeat_interleave(times[m]) for m in (0, 1)]


agreed_twice = AgreedTwice()
