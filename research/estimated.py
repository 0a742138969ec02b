"""Research: keep shares estimated from the batches after the shipped rule's warm-up, instead of
the organizers' constants 0.50 / 0.93 (issue 28, step 2; docs/SELECTION.md section 6).

    noisy-select bench research/estimated.py:agree_2 your_select_indices --scenarios fashion-tops

The organizers chose 0.50 / 0.93 by balancing the labels of one batch on untrained models; on
data of another domain (the real task is MedMNIST) nothing says those shares are right. Both
rules below train on every sample with the labels balanced for two epochs, as the shipped rule
does, and then estimate, from each batch, which samples of each label to keep, with the labels
balanced by repetition in the selection (a batch-size draw in which each label fills half), so
that the label mix of what is kept never moves the threshold:

- ``agree_2``: each model trains on the samples its *peer* classifies as their label (the peer's
  loss below ``ln 2``, its probability of the label above one half). After a balanced warm-up
  the peer's threshold is the balanced-error one, so the share it keeps of each label is an
  estimate of that label's clean share, with no constant but the classifier's own boundary.
- ``mpe_2``: the keep shares by mixture proportion estimation (``adaptive-mpe``: the tightest
  bound over a ring buffer of recent losses), which lost on ``olympiad`` when it started from
  untrained models (docs/SELECTION.md section 4), here started from warm ones.
"""

from __future__ import annotations

import math

import torch

from noisy_select.strategies.adaptive import AdaptiveSelection
from noisy_select.strategies.base import EpochCounter, Strategy, class_balanced_weights, resample
from noisy_select.strategies.shipped import balanced


class AfterWarmUp(Strategy):
    """The shipped rule's first phase (``shipped.balanced``: every sample, the labels balanced)
    for the run's first ``switch`` epochs, ``late`` after (it sees only the calls after)."""

    def __init__(self, late, switch: int = 2) -> None:
        self.late, self.switch = late, switch
        super().__init__()

    def reset(self) -> None:
        super().reset()
        if hasattr(self.late, "reset"):
            self.late.reset()
        self.counter = EpochCounter()

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        epoch, _ = self.counter.step(labels)
        return balanced(labels) if epoch < self.switch else self.late(labels, [loss[0], loss[1]])


class PeerAgrees(Strategy):
    """Each model trains on the samples its peer gives their label a probability above one
    half, the two labels balanced by repetition (a systematic draw of ``B`` indices)."""

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        agreed = (loss < math.log(2)).float().flip(0)  # row m: what model m's peer agrees with
        weights = class_balanced_weights(labels, agreed, 1.0)
        return [resample(weights[0], labels.numel()), resample(weights[1], labels.numel())]


agree_2 = AfterWarmUp(PeerAgrees())
mpe_2 = AfterWarmUp(AdaptiveSelection())
