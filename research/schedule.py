"""Research: a schedule by epoch, one strategy for the first epochs, another after
(docs/SELECTION.md). Formerly the registered ``x-all-balanced`` and ``x-balanced-2``; the shipped
rule (``noisy_select.strategies.shipped``) is ``balanced_2`` written as one rule, and selects the
same indices (tests/test_research.py).

    noisy-select bench research/schedule.py:balanced_2 your_select_indices --seeds 0-2

The published strategy selects from the start, when the peer's loss ranks the label-0 bucket
at random (AUC about 0.53 in epoch 1): on some seeds its models lock onto the wrong half and
never recover (on `fashion-tops` three of ten seeds end with a label-0 precision of 0.80 and a
test AUC of 0.87, against 0.87-0.90 and 0.95-0.97 on the others). Training on every sample
with the labels balanced ranks far better early (validation AUC 0.93 after one epoch, 0.94
after two, against 0.88 and 0.86), so selecting only after such a warm-up starts the
selection from a model that can tell the wrong labels apart.

``EpochSchedule`` passes each call to ``early`` during the run's first ``switch`` epochs and to
``late`` after. The epoch comes from ``base.EpochCounter`` (the short last batch, or the first
batch's labels coming round again); until the first epoch ends, every call is in epoch 0.
"""

from __future__ import annotations

import torch

from noisy_select.strategies.adaptive import AdaptiveSelection
from noisy_select.strategies.anchors import ClassWiseCoTeaching
from noisy_select.strategies.base import EpochCounter, Strategy


class EpochSchedule(Strategy):
    """``early`` for the first ``switch`` epochs of the run, ``late`` from then on.

    Parameters
    ----------
    early, late : callable
        The strategies of the two phases (each ``reset()`` with this one, where it has it).
        Each sees only the calls of its own phase, so a call costs the work of one of them.
    switch : int, default 2
        The epoch (counted from 0) whose first call goes to ``late``; 0 means ``late`` only.
    """

    def __init__(self, early, late, *, switch: int = 2) -> None:
        if switch < 0:
            raise ValueError(f"Expected `switch` >= 0, but got {switch}.")
        self.early, self.late, self.switch = early, late, switch
        super().__init__()

    def reset(self) -> None:
        super().reset()
        for phase in (self.early, self.late):
            if hasattr(phase, "reset"):
                phase.reset()
        self.counter = EpochCounter()

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        epoch, _ = self.counter.step(labels)
        phase = self.early if epoch < self.switch else self.late
        return phase(labels, [loss[0], loss[1]])


# Every sample, the labels balanced by repetition (balanced error is noise-tolerant: Menon et al.
# 2015), and that for two epochs before the published strategy (``fixed-rates``).
all_balanced = AdaptiveSelection(keep=(1.0, 1.0))
balanced_2 = EpochSchedule(AdaptiveSelection(keep=(1.0, 1.0)), ClassWiseCoTeaching(), switch=2)
