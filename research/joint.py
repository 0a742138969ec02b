"""Research: both models train on one set chosen by the sum of their losses (issue 28, step 2,
"agreement"; docs/SELECTION.md section 8).

    noisy-select bench research/joint.py:joint_all your_select_indices \
        --scenarios fashion-tops --seeds 0-9 --loop official

The shipped warm-up (two epochs, every sample, the labels balanced), then each label's published
share (0.50 of label 0, 0.93 of label 1) with the lowest loss *summed over both models*, the same
samples for both. ``research/switch.py:joint_0`` does this for label 0 only and keeps the peer's
choice for label 1; on `fashion-tops` seed 0 it raised the last epoch's label-0 precision from
0.894 to 0.911. Co-teaching lets each model correct its peer's mistakes; a joint choice gives up
that exchange for a ranking by two models at once (JoCoR, Wei et al., CVPR 2020, select by a
joint loss too).
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import PUBLISHED_KEEP, keep_lowest
from noisy_select.strategies.shipped import BalancedThenPublished


class JointBoth(BalancedThenPublished):
    """The shipped warm-up for ``switch`` epochs, then the published shares of each label by both
    models' summed loss, one set for both."""

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        if self.epoch < self.switch:
            return None
        keep = torch.tensor(PUBLISHED_KEEP, dtype=torch.float64, device=labels.device)
        return keep_lowest(labels.clamp(0, 1), loss.sum(0), keep).expand(2, -1)


joint_all = JointBoth()
