"""``your_select_indices``: the selection strategy this project ships.

Two phases by epoch (docs/SELECTION.md):

1. **Epochs 1-2: every sample, the two labels balanced by repetition** (``balanced``): a draw
   of as many indices as the batch holds, in which the label-0 samples fill one half and the
   label-1 samples the other, the same for both models. Under class-conditional noise the
   classifier that minimises the balanced error on the noisy labels also minimises it on the
   clean ones (Menon et al., ICML 2015); training on everything this way ranks the data well
   from the first epoch, where a selection by loss is still a coin toss.
2. **Epochs 3-6: the published class-wise co-teaching** (``published``): each model trains on
   the 50% of label-0 samples and the 93% of label-1 samples of the batch that its *peer*
   finds easiest (lowest loss), each once, in batch order. Starting it from models that rank
   keeps it from locking onto the wrong half of the noisy label-0 bucket, its failure on a
   third of the seeds when it selects from the first batch.

The epoch comes from the batches themselves (``base.EpochCounter``: the first epoch's short last
batch, or its first batch's labels coming round again); the run's length is the competition's
constant 6 epochs, a parameter, never read from the notebook. After that many epochs, or at a
call larger than the run's first (a new run after a trial on a small batch), the strategy starts
afresh, so one object can serve one training run after another; ``reset()`` does it at will.

Torch and the standard library only, with ``base``: the submission inlines both.
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import (
    PUBLISHED_KEEP,
    EpochCounter,
    LabelCheck,
    class_balanced_weights,
    keep_lowest,
    kept_indices,
    no_selection,
    prepare,
    resample,
)

SWITCH_EPOCH = 2  # the first epoch (from 0) of the published selection
EPOCHS = 6  # the competition trains 6 epochs


def balanced(labels: torch.Tensor) -> list[torch.Tensor]:
    """Every sample, each label-0 one weighing ``1 / (2 n_0)`` and each label-1 one
    ``1 / (2 n_1)``: a systematic draw of ``B`` indices, the same for both models."""
    everything = torch.ones(labels.numel(), device=labels.device)
    idx = resample(class_balanced_weights(labels, everything, 1.0), labels.numel())
    return [idx, idx.clone()]


def published(labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
    """For model ``m``, the ``floor(0.50 n_0)`` label-0 and ``floor(0.93 n_1)`` label-1
    samples with the lowest losses of the *other* model, each once, in batch order."""
    keep = torch.tensor(PUBLISHED_KEEP, dtype=torch.float64, device=labels.device)
    # Row m: what model m's peer keeps. Labels are clamped for the maths only: a label
    # other than 0 or 1 is reported by ``kept_indices``, in the same host read.
    return kept_indices(keep_lowest(labels.clamp(0, 1), loss.flip(0), keep), labels)


class BalancedThenPublished:
    """``balanced`` for the first ``switch`` epochs of a run, ``published`` after.

    Parameters
    ----------
    switch : int, default 2
        The first epoch (counted from 0) of the published selection.
    epochs : int, default 6
        The length of a training run in epochs; after that many the strategy starts afresh.
    """

    def __init__(self, switch: int = SWITCH_EPOCH, epochs: int = EPOCHS) -> None:
        for name, value, least in (("switch", switch, 0), ("epochs", epochs, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"Expected `{name}` to be an integer >= {least}, but got "
                                 f"{value!r}.")
        self.switch, self.epochs = switch, epochs
        self.reset()

    def reset(self) -> None:
        """Forget the run so far: the next call is the first of a training run."""
        self.counter = EpochCounter()
        self.check = LabelCheck()

    def __call__(self, targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
        """``your_select_indices`` of this run (its docstring says what it returns)."""
        labels, loss = prepare(targets, losses)
        if labels.numel() == 0:
            return no_selection(labels)
        first = self.counter.first_size
        if first is not None and labels.numel() > first:
            self.reset()  # no batch of a run is larger than its first: this call starts a run
        epoch, _ = self.counter.step(labels)
        if epoch < self.switch:
            self.check(labels)  # every call on the CPU, the first one on an accelerator
            out = balanced(labels)
        else:
            out = published(labels, loss)
        length = self.counter.length
        if length is not None and self.counter.calls >= self.epochs * length:
            self.reset()  # the run is over: the next call starts another one
        return out


_RUN = BalancedThenPublished()  # the entry point's state: it starts afresh after each 6 epochs


def your_select_indices(targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
    """The competition's entry point: which samples of the batch each model trains on.

    Parameters
    ----------
    targets : torch.Tensor
        ``(B,)`` (or 0-d for a batch of one) integer labels 0 or 1, as the loop passes them.
    losses : list of torch.Tensor
        The two models' per-sample losses, ``(B,)`` each (read, never changed; NaN and inf
        rank as the worst loss).

    Returns
    -------
    list of torch.Tensor
        ``[indices for model 1, indices for model 2]``, int64 on the device of ``targets``:
        ``balanced`` in a run's first two epochs, ``published`` in the four after. Empty for
        an empty batch. At most one host-device synchronisation per call (in the first epoch,
        telling a new epoch by the labels; after it, counting what the published selection
        keeps).

    Raises
    ------
    ValueError
        When ``targets`` are not integer labels 0 or 1, or ``losses`` are not two tensors of
        one loss per sample.
    """
    return _RUN(targets, losses)
