"""Research: the run's last step, which sets a fifth of the scored BatchNorm statistics
(issue 28, step 2, "a settled end"; docs/SELECTION.md section 9).

    noisy-select bench research/last_step.py:last_all research/last_step.py:last_balanced \
        --scenarios fashion-tops --seeds 0-9 --loop official

On 10,000 training images (the real task's size, and `fashion-tops`') the last batch of an
epoch holds 16 samples. In the run's last step each model's running statistics are updated
twice with momentum 0.1, on those 16 samples and then on its selection (9 of them under the
published shares), so 19% of the scored statistics rest on 25 forwarded rows.

Written on a wrong premise: a first trace of seed 8 showed that step taking model 1 from 0.871
to 0.686, but that trace drew from torch's generator at each read and so was another run. The
corrected trace (``research/trace_last_steps.py``, docs/SELECTION.md section 9) shows the last
step moving model 1 from 0.682 to 0.686: the collapse came in the steps before. Kept, with its
two measured seeds, as a record of what the last step alone is worth.

These rules are the shipped rule in every call but that last one:

- ``last_all``: every sample of the last batch, once, in batch order: the selection's forward
  pass sees the whole batch (16 rows, not 9), at the price of one step on its noisy labels.
- ``last_balanced``: the warm-up's draw, every sample with the two labels each filling half.

The last call is the ``epochs``-th epoch's last batch, known once the first epoch's length is
settled (``base.EpochCounter``).
"""

from __future__ import annotations

import torch

from noisy_select.strategies.shipped import BalancedThenPublished


class LastStep(BalancedThenPublished):
    """The shipped rule, except on the run's last call, which selects ``last``: ``"all"`` (every
    sample, in batch order) or ``"balanced"`` (the warm-up's label-balanced draw)."""

    def __init__(self, last: str = "all", **shipped) -> None:
        if last not in ("all", "balanced"):
            raise ValueError(f"Expected `last` in ('all', 'balanced'), but got {last!r}.")
        self.last = last
        super().__init__(**shipped)

    def _is_last(self) -> bool:
        length = self.counter.epoch_length
        return length is not None and self.counter.calls == self.epochs * length

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        return None if self._is_last() else super().kept(labels, loss)

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        if self._is_last() and self.last == "all":
            every = torch.arange(labels.numel(), device=labels.device)
            return [every, every.clone()]
        return super().select(labels, loss)


last_all = LastStep("all")
last_balanced = LastStep("balanced")
