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
constant 6 epochs, a parameter, never read from the notebook. The strategy starts afresh after
that many epochs; at a call larger than the run's first (a new run after a trial on a small
batch); and at a call that repeats the run's first one, the same losses (up to a GPU's
rounding): models back at their first weights on the first batch, a training cell
interrupted and run again, which seeds and builds the models as before. So one object serves one
training run after another; ``reset()`` (also ``your_select_indices.reset()``) does it at will.

Torch and the standard library only, with ``base``: the submission inlines both.
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import (
    EPOCHS,
    PUBLISHED_KEEP,
    EpochCounter,
    LabelCheck,
    class_balanced_weights,
    in_batch_order,
    kept_by_peer,
    kept_sizes,
    no_selection,
    prepare,
    resample,
)

SWITCH_EPOCH = 2  # the first epoch (from 0) of the published selection
# A call repeats the run's first when its losses are this close (L2) to the first call's: a
# GPU's nondeterministic kernels move the losses of a batch by about 1e-5, training by far more.
RESTART_DISTANCE = 1e-3


def balanced(labels: torch.Tensor) -> list[torch.Tensor]:
    """Every sample, each label-0 one weighing ``1 / (2 n_0)`` and each label-1 one
    ``1 / (2 n_1)``: a systematic draw of ``B`` indices, the same for both models."""
    everything = torch.ones(labels.numel(), device=labels.device)
    idx = resample(class_balanced_weights(labels, everything, 1.0), labels.numel())
    return [idx, idx.clone()]


def published_mask(labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
    """``(2, B)`` bool: row ``m`` keeps the ``floor(0.50 n_0)`` label-0 and ``floor(0.93 n_1)``
    label-1 samples with the lowest losses of the *other* model."""
    return kept_by_peer(labels, loss, PUBLISHED_KEEP)


def published(labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
    """``published_mask``'s samples for each model, each once, in batch order."""
    mask = published_mask(labels, loss)
    return in_batch_order(mask, kept_sizes(mask, labels))


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
        self.first: torch.Tensor | None = None  # the losses of the run's first call

    def distance_to_first(self, loss: torch.Tensor) -> list[torch.Tensor]:
        """``[d]``, ``d`` the 0-d (unread) L2 distance of this call's losses to the run's first
        call's; ``[]`` where the batch sizes differ."""
        first = self.first
        return [torch.dist(loss, first)] if first is not None and first.shape == loss.shape else []

    def __call__(self, targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
        """``your_select_indices`` of this run (its docstring says what it returns)."""
        labels, loss = prepare(targets, losses)
        if labels.numel() == 0:
            return no_selection(labels)
        first = self.counter.first_size
        if first is not None and labels.numel() > first:
            self.reset()  # no batch of a run is larger than its first: this call starts a run
        if self.first is None:
            self.first = loss.clone()
        epoch, _ = self.counter.step(labels)
        # After the first epoch, one host read per call tells a restarted run.
        distance = self.distance_to_first(loss) if epoch > 0 else []
        if epoch < self.switch:
            if distance and float(distance[0]) < RESTART_DISTANCE:
                return self.restart(labels, loss)
            self.check(labels)  # every call on the CPU, the first one on an accelerator
            out = balanced(labels)
        else:
            mask = published_mask(labels, loss)
            kept = kept_sizes(mask, labels, *distance)  # [by model 1, by model 2, distance?]
            if kept[2:] and kept[2] < RESTART_DISTANCE:
                return self.restart(labels, loss)
            out = in_batch_order(mask, [int(k) for k in kept[:2]])
        length = self.counter.length
        if length is not None and self.counter.calls >= self.epochs * length:
            self.reset()  # the run is over: the next call starts another one
        return out

    def restart(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        """This call as the first of a new run."""
        self.reset()
        return self(labels, [loss[0], loss[1]])


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
        telling a new epoch by the labels; after it, the losses' distance to the run's first
        call, read with the published selection's counts), and a second one on a call that
        restarts the run.

    Raises
    ------
    ValueError
        When ``targets`` are not integer labels 0 or 1, or ``losses`` are not two tensors of
        one loss per sample.
    """
    return _RUN(targets, losses)


your_select_indices.reset = _RUN.reset  # type: ignore[attr-defined]
