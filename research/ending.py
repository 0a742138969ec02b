"""Research: the end of training, empty selections late in the run, so that BatchNorm's running
statistics settle on the final weights (docs/SELECTION.md, "The threshold"). Formerly the
registered ``x-end-50``, ``x-end-25`` and ``x-short`` (research/README.md).

    noisy-select bench research/ending.py:x_end_50 fixed-rates --scenarios fashion-tops

The scored model is normalised by running statistics that are a short, lagging average of the
last batches, taken while the weights still move. An empty selection changes what happens in a
step: in the seed's loop that model skips its step (its weights stay), in the organizers' loop
AdamW still steps on a zero gradient, so the weights coast on the optimiser's momentum, which
decays by ``beta1 = 0.9`` a step. Either way the full-batch forward pass of every step goes on
refreshing the statistics, now on (nearly) fixed weights.

``EndOfTraining`` wraps a rule: it passes every call through, except the last ``window`` calls
of the run, and optionally the short last batch of every epoch, which get an empty selection.
The run's length is ``epochs`` (the competition's 6, a parameter, never read from the notebook)
times the epoch length, which the first epoch tells (``base.EpochCounter``).
"""

from __future__ import annotations

import torch

from noisy_select.strategies.anchors import ClassWiseCoTeaching
from noisy_select.strategies.base import EPOCHS, Strategy, no_selection


class EndOfTraining(Strategy):
    """``inner`` with empty selections at the end of training.

    Parameters
    ----------
    inner : callable
        The rule that selects outside the window (``reset()`` with this one, where it has it).
    window : int, default 50
        How many of the run's last calls select nothing (0: none). Until the epoch length is
        settled (the first epoch's short last batch) no call is in the window.
    short_batch : bool, default False
        Also select nothing on each epoch's short last batch (its statistics rest on a few
        samples).
    epochs : int, default 6
        The number of epochs of the run (the competition trains 6).
    """

    counts_epochs = True

    def __init__(self, inner, *, window: int = 50, short_batch: bool = False,
                 epochs: int = EPOCHS) -> None:
        if window < 0 or epochs < 1:
            raise ValueError(f"Expected `window` >= 0 and `epochs` >= 1, but got {window} and "
                             f"{epochs}.")
        self.inner, self.window, self.short_batch, self.epochs = inner, window, short_batch, epochs
        super().__init__()

    def reset(self) -> None:
        super().reset()
        if hasattr(self.inner, "reset"):
            self.inner.reset()

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        out = self.inner(labels, [loss[0], loss[1]])  # always: a stateful inner sees every batch
        call, length = self.counter.calls - 1, self.counter.epoch_length
        in_window = length is not None and call >= self.epochs * length - self.window
        short = labels.numel() < (self.counter.first_size or 0)
        return no_selection(labels) if in_window or (self.short_batch and short) else out


# The published rule (``fixed-rates``) with nothing selected in the run's last 50 or 25 calls,
# or on each epoch's short last batch.
x_end_50 = EndOfTraining(ClassWiseCoTeaching(), window=50)
x_end_25 = EndOfTraining(ClassWiseCoTeaching(), window=25)
x_short = EndOfTraining(ClassWiseCoTeaching(), window=0, short_batch=True)
