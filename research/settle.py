"""Research: a settled end of training (issue 28, step 2; docs/SELECTION.md section 8).

    noisy-select bench research/settle.py:settle_25 your_select_indices \
        --scenarios fashion-tops --seeds 0-9 --loop official

The shipped rule's worst seed on `fashion-tops` (seed 8, section 6) is a model that ranks well
after five epochs (validation AUC 0.949) and falls apart in the sixth (0.796): the last epoch's
steps at the full learning rate decide the scored model. A rule cannot change the learning
rate, but under AdamW it can shrink the steps: an update is ``lr * m / sqrt(v)``, and ``v``
remembers about 1,000 steps of gradients (beta2 = 0.999) where ``m`` forgets in about 10. So
``settle_25`` trains, in the run's last epoch only, on the samples each model's peer fits best
(the lowest 25% of each label by the peer's loss, each once, in batch order): their gradients
are small, so the steps shrink, a learning-rate decay made of the selection. The models still
forward every batch in train mode, so BatchNorm's statistics keep following the training data.
The selection is never empty (the organizers' loop would step AdamW on nothing).
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import kept_by_peer
from noisy_select.strategies.shipped import BalancedThenPublished


class SettledEnd(BalancedThenPublished):
    """The shipped rule, except in the run's last ``last`` epochs: there each model trains on the
    lowest share ``keep`` of each label by its peer's loss."""

    def __init__(self, keep: float = 0.25, last: int = 1, **shipped) -> None:
        self.keep, self.last = keep, last
        super().__init__(**shipped)

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        if self.epoch >= self.epochs - self.last:
            return kept_by_peer(labels, loss, (self.keep, self.keep))
        return super().kept(labels, loss)


settle_25 = SettledEnd()
