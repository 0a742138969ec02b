"""``your_select_indices``: the rule this project ships, in two phases by epoch (docs/SELECTION.md).

1. **Epochs 1-2: every sample, the two labels balanced by repetition** (``base.balanced``): a
   draw of as many indices as the batch holds, in which the label-0 samples fill one half and the
   label-1 samples the other, the same for both models. Under class-conditional noise the
   classifier that minimises the balanced error on the noisy labels also minimises it on the
   clean ones (Menon et al., ICML 2015); training on everything this way ranks the data well
   from the first epoch, where a selection by loss is still a coin toss.
2. **Epochs 3-6: the published class-wise co-teaching** (``fixed-rates``): each model trains on
   the 50% of label-0 samples and the 93% of label-1 samples of the batch that its *peer*
   finds easiest (lowest loss), each once, in batch order (``base.kept_by_peer``). Starting it
   from models that rank keeps it from locking onto the wrong half of the noisy label-0 bucket,
   its failure on a third of the seeds when it selects from the first batch.

The epoch and the start of a new run come from the batches themselves (``base.Strategy``); the
run's length is the competition's 6 epochs, a parameter, never read from the notebook. So one
object serves one training run after another; ``reset()`` starts one at will.

Torch and the standard library only, with ``base``: the submission inlines both.
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import EPOCHS, PUBLISHED_KEEP, Strategy, balanced, kept_by_peer

SWITCH_EPOCH = 2  # the first epoch (from 0) of the published selection


class BalancedThenPublished(Strategy):
    """``balanced`` for the first ``switch`` epochs of a run, the published selection after.

    Parameters
    ----------
    switch : int, default 2
        The first epoch (counted from 0) of the published selection.
    epochs : int, default 6
        The length of a training run in epochs; after that many the rule starts afresh.
    """

    restarts = True  # the rule tells a new run from the batches (base.Strategy)

    def __init__(self, switch: int = SWITCH_EPOCH, epochs: int = EPOCHS) -> None:
        for name, value, least in (("switch", switch, 0), ("epochs", epochs, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"Expected `{name}` to be an integer >= {least}, but got "
                                 f"{value!r}.")
        self.switch, self.epochs = switch, epochs
        super().__init__()

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        """From epoch ``switch`` on: the published shares of each label by the peer's loss."""
        return kept_by_peer(labels, loss, PUBLISHED_KEEP) if self.epoch >= self.switch else None

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        """Before it: every sample, the labels balanced."""
        return balanced(labels)


# The competition's entry point, one object for one training run after another;
# ``your_select_indices.reset()`` starts a run at will.
your_select_indices = BalancedThenPublished()
