"""Research: the shipped rule with its switch at another epoch, and with the label-0 bucket
chosen by both models (issue 28, step 2: "the switch" and "agreement"; docs/SELECTION.md
section 8).

    noisy-select bench research/switch.py:switch_1 research/switch.py:switch_3 \
        --scenarios fashion-tops --seeds 0-4 --loop official

- ``switch_1``, ``switch_3``: every sample with the labels balanced for one (three) epochs,
  then the published shares, instead of two. On 860 images a two-epoch warm-up is 14 steps; on
  10,000 it is 158. Neither epoch is fitted to a proxy: the question is whether the rule's
  result depends on it.
- ``joint_0``: the shipped warm-up, then label 1 as published (the peer's lowest 93%) and
  label 0 by the *sum* of both models' losses (the lowest 50%, the same set for both models).
  After the warm-up both models rank the label-0 bucket (which is about half wrong on the real
  task) far better than either alone early on; the sum ranks better than one model (docs/
  SELECTION.md section 3, +0.01 to +0.04 AUC), and the noisy bucket is where the shipped
  rule's precision is lowest (0.89 against 0.96 for label 1).
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import PUBLISHED_KEEP, keep_lowest
from noisy_select.strategies.shipped import BalancedThenPublished

switch_1 = BalancedThenPublished(switch=1)
switch_3 = BalancedThenPublished(switch=3)


class JointLabel0(BalancedThenPublished):
    """The shipped warm-up for ``switch`` epochs, then label 1 by the peer's loss and label 0
    by both models' summed loss, at the published shares."""

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        by_peer = super().kept(labels, loss)
        if by_peer is None:
            return None
        keep = torch.tensor(PUBLISHED_KEEP, dtype=torch.float64, device=labels.device)
        joint = keep_lowest(labels.clamp(0, 1), loss.sum(0), keep).expand_as(by_peer)
        return torch.where(labels == 0, joint, by_peer)


joint_0 = JointLabel0()
