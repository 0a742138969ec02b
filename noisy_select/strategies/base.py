"""What every rule shares: the checks on a call's inputs, the per-batch maths on tensors, and
``Strategy``, the run boundary of a rule with state (``Strategy.__call__`` says how a rule is
called; one without state can be a plain function). Torch and the standard library only: a
submission inlines it."""

from __future__ import annotations

import torch

# The competition's run length (competition.NUM_EPOCHS), which a rule cannot read from the
# notebook: rules with state count their run in it (the tools read constants.NUM_EPOCHS).
EPOCHS = 6
MAX_LOSS = 30.0  # losses are clipped to [0, MAX_LOSS]; NaN and inf rank as the worst loss
PUBLISHED_KEEP = (0.50, 0.93)  # the published solution's shares of label 0 and label 1
# A call repeats the run's first when its losses are this close (L2) to the first call's: a
# GPU's nondeterministic kernels move the losses of a batch by about 1e-5, training by far more.
RESTART_DISTANCE = 1e-3


def prepare(targets: torch.Tensor, losses) -> tuple[torch.Tensor, torch.Tensor]:
    """Check one call's inputs; ``(B,)`` int64 labels and ``(2, B)`` detached float32 losses.

    Raises ``ValueError`` when ``targets`` are not integer labels or ``losses`` are not two
    tensors of one loss per sample. Nothing passed in is changed.
    """
    if not isinstance(targets, torch.Tensor):
        raise ValueError(f"Expected `targets` to be a torch.Tensor, but got {type(targets).__name__}.")
    if targets.is_floating_point() or targets.is_complex():
        raise ValueError(f"Expected `targets` to hold integer labels, but got dtype {targets.dtype}.")
    labels = targets.reshape(-1).long()
    if not isinstance(losses, (list, tuple)) or len(losses) != 2:
        raise ValueError("Expected `losses` to be a list of two tensors, one per model.")
    for i, loss in enumerate(losses):
        if not isinstance(loss, torch.Tensor) or loss.numel() != labels.numel():
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            hint = (" (a mean loss: use nn.CrossEntropyLoss(reduction='none'), as the loop does)"
                    if isinstance(loss, torch.Tensor) and loss.dim() == 0 else "")
            raise ValueError(f"Expected `losses[{i}]` to hold one loss per sample "
                             f"({labels.numel()}), but got shape {shape}{hint}.")
    loss = torch.stack([x.detach().reshape(-1).to(labels.device, torch.float32) for x in losses])
    return labels, torch.nan_to_num(loss, MAX_LOSS, MAX_LOSS, MAX_LOSS).clamp(0, MAX_LOSS)


def check_labels(labels: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the first label that is not 0 or 1 (reads the values)."""
    bad = (labels < 0) | (labels > 1)
    if bool(bad.any()):
        raise ValueError(f"Expected labels 0 or 1, but got {int(labels[bad][0])}.")


def no_selection(labels: torch.Tensor) -> list[torch.Tensor]:
    """Two empty index tensors: an empty batch, where both models skip the step."""
    empty = torch.zeros(0, dtype=torch.long, device=labels.device)
    return [empty, empty.clone()]


def rank_in_class(labels: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """``(..., B)`` rank of each sample's ``score (..., B)`` among the samples of its label
    (0 = lowest; ties keep batch order): two stable sorts, by score and then by label."""
    by_score = torch.argsort(score, dim=-1, stable=True)
    by_label = torch.argsort(labels.expand_as(score).gather(-1, by_score), dim=-1, stable=True)
    position = torch.argsort(by_score.gather(-1, by_label), dim=-1)
    counts = torch.bincount(labels, minlength=2)
    return position - (torch.cumsum(counts, 0) - counts)[labels]


ROUNDINGS = ("floor", "round")


def keep_lowest(labels: torch.Tensor, score: torch.Tensor, keep: torch.Tensor, *,
                rounding: str = "floor") -> torch.Tensor:
    """``(..., B)`` bool: the share ``keep[c]`` (``(2,)`` or ``(..., 2)``) of each label ``c`` of
    ``labels (B,)`` with the lowest ``score (..., B)`` (ties keep batch order).

    ``rounding="floor"``: ``floor(n_c * keep[c])`` of label ``c`` (the published solution's
    ``int(n * share)``), and the row's lowest score where that keeps nothing (a batch of one);
    ``"round"``: ``round(n_c * keep[c])``, at least one of each label present.
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f"Expected `rounding` in {ROUNDINGS}, but got {rounding!r}.")
    counts = torch.bincount(labels, minlength=2).to(keep.dtype)
    if rounding == "round":
        quota = torch.maximum(torch.round(keep * counts), (counts > 0).to(keep.dtype))
        return rank_in_class(labels, score) < quota[..., labels]
    quota = torch.floor(counts * keep + 1e-9)
    mask = rank_in_class(labels, score) < quota[..., labels]
    lowest = torch.arange(labels.numel(), device=labels.device) == score.argmin(-1, keepdim=True)
    return mask | (lowest & ~mask.any(-1, keepdim=True))


def kept_by_peer(labels: torch.Tensor, loss: torch.Tensor, keep) -> torch.Tensor:
    """``(2, B)`` bool: row ``m`` keeps the lowest share ``keep[c]`` of each label ``c`` by the
    loss of model ``m``'s *peer* (``keep_lowest``, floor). Labels are clamped for the maths only:
    a label other than 0 or 1 is reported by ``kept_indices``, in the call's one host read."""
    keep = torch.tensor(keep, dtype=torch.float64, device=labels.device)
    return keep_lowest(labels.clamp(0, 1), loss.flip(0), keep)


def kept_indices(mask: torch.Tensor, labels: torch.Tensor, *also: torch.Tensor) -> list:
    """Each row's kept indices of ``mask (2, B)`` in batch order, then the value of each 0-d
    tensor in ``also``: one host read, which also counts the labels other than 0 or 1
    (``ValueError`` names the first)."""
    bad = ((labels < 0) | (labels > 1)).sum().reshape(1)
    *sizes, n_bad = torch.cat([mask.sum(-1), *(a.reshape(1) for a in also), bad]).tolist()
    if n_bad:
        check_labels(labels)
    order = torch.argsort((~mask).to(torch.uint8), dim=-1, stable=True)  # kept first
    return [order[0, : int(sizes[0])], order[1, : int(sizes[1])], *sizes[2:]]


def class_balanced_weights(labels: torch.Tensor, keep: torch.Tensor, balance: float) -> torch.Tensor:
    """Per-sample weights ``(..., B)``: the kept samples of each class share ``n_c ** (1 - balance)``."""
    onehot = torch.nn.functional.one_hot(labels, 2).to(keep.dtype)  # (B, 2)
    kept = keep @ onehot  # (..., 2)
    share = torch.where(kept > 0, kept.pow(1 - balance), torch.zeros_like(kept))
    per_sample = (share / kept.clamp(min=1)) @ onehot.T  # (..., B)
    return keep * per_sample


def resample(weights: torch.Tensor, size: int) -> torch.Tensor:
    """``size`` indices drawn systematically (deterministic) in proportion to ``weights (B,)``:
    a sample of share ``w_i / sum(w)`` appears about ``size * share`` times. All-zero weights
    fall back to uniform ones, so a non-empty batch never gives an empty selection."""
    n = weights.numel()
    total = weights.sum()
    weights = torch.where(total > 0, weights, torch.ones_like(weights))
    cumulative = weights.cumsum(0)
    grid = (torch.arange(size, device=weights.device, dtype=weights.dtype) + 0.5) / size
    idx = torch.searchsorted(cumulative, grid * cumulative[-1], right=True)
    return idx.clamp(max=n - 1)


def balanced(labels: torch.Tensor) -> list[torch.Tensor]:
    """Every sample, the label-0 ones filling half of a draw of ``B`` indices and the label-1
    ones the other half (weights ``1 / (2 n_0)`` and ``1 / (2 n_1)``), the same for both models."""
    everything = torch.ones(labels.numel(), device=labels.device)
    idx = resample(class_balanced_weights(labels, everything, 1.0), labels.numel())
    return [idx, idx.clone()]


class EpochCounter:
    """Where a call falls in the fixed loop, which never shuffles: every epoch repeats its batches.

    A batch shorter than the first is the last of its epoch: that settles the epoch length.
    Without one (data a multiple of the batch size) a call whose targets equal the first call's
    suggests a new epoch; a later call that contradicts it drops the guess, two whole confirming
    epochs settle it. Only this guessing reads tensor values.
    """

    def __init__(self) -> None:
        self.calls = 0
        self.epoch_length: int | None = None  # settled
        self.guess: int | None = None  # suggested by repeated targets, not yet settled
        self.first_size: int | None = None
        self.seen: list[torch.Tensor] = []

    def _compare(self, labels: torch.Tensor, call: int) -> None:
        self.seen.append(labels.clone())
        if self.guess is not None and not torch.equal(labels, self.seen[call - self.guess]):
            self.guess = None
        if self.guess is None and call > 0 and torch.equal(labels, self.seen[0]):
            self.guess = call
        if self.guess is not None and call + 1 >= 3 * self.guess:
            self.epoch_length, self.seen = self.guess, []

    def step(self, labels: torch.Tensor) -> tuple[int, int]:
        """Register one call; returns ``(epoch, position)``, both counted from 0."""
        size, call = labels.numel(), self.calls
        self.calls += 1
        if self.epoch_length is None:
            if self.first_size is None:
                self.first_size = size
            if size < self.first_size:
                self.epoch_length, self.seen = call + 1, []
            else:
                self._compare(labels, call)
        if self.length is None:
            return 0, call
        return divmod(call, self.length)

    @property
    def length(self) -> int | None:
        """The epoch length: settled, else guessed from repeated targets, else unknown."""
        return self.epoch_length or self.guess


class Strategy:
    """A rule with state: one object per training run (``reset()`` starts a new one).

    A subclass says what each model trains on, given ``(B,)`` int64 labels and ``(2, B)``
    detached float32 losses in ``[0, MAX_LOSS]`` of a non-empty batch: ``kept(labels, loss)``,
    a ``(2, B)`` bool mask, taken in batch order after one host read of its sizes (which checks
    the labels too); or, where ``kept`` gives None, ``select(labels, loss)``, the indices (the
    labels checked first: on every call on the CPU, on the first on an accelerator, where a read
    is a synchronisation). It extends ``reset`` with its own state.

    ``counts_epochs``: ``self.epoch`` and ``self.position`` place each call in the run
    (``EpochCounter``, from 0). ``restarts``: that, and the rule starts a new run by itself after
    ``self.epochs`` epochs, at a call larger than the run's first (a trial on a small batch came
    before), and at a call that repeats the run's first (losses within ``RESTART_DISTANCE``: a
    training cell run again); after the first epoch that distance is read with ``kept``'s sizes.
    """

    counts_epochs = False
    restarts = False
    epochs = EPOCHS

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the run so far: the next call is the first of a training run."""
        self.checked = False  # the labels, on an accelerator
        self.counter = EpochCounter()
        self.first: torch.Tensor | None = None  # the losses of the run's first call (restarts)
        self.epoch = self.position = 0

    def __call__(self, targets: torch.Tensor, losses) -> list[torch.Tensor]:
        """Which samples of the batch each model trains on.

        Parameters
        ----------
        targets : torch.Tensor
            ``(B,)`` (0-d for a batch of one) integer labels 0 or 1, as the loop passes them.
        losses : list of torch.Tensor
            The two models' per-sample losses, ``(B,)`` each (read, never changed).

        Returns
        -------
        list of torch.Tensor
            ``[indices for model 1, indices for model 2]``, int64 on the device of ``targets``
            (a repeated index trains on that sample twice); empty for an empty batch.

        Raises
        ------
        ValueError
            When ``targets`` are not integer labels 0 or 1, or ``losses`` are not two tensors
            of one loss per sample.
        """
        labels, loss = prepare(targets, losses)
        if labels.numel() == 0:
            return no_selection(labels)
        distance = self._step(labels, loss)
        mask = self.kept(labels, loss)
        if mask is None:
            if distance and float(distance[0]) < RESTART_DISTANCE:
                return self._restart(labels, loss)
            if labels.device.type == "cpu" or not self.checked:
                check_labels(labels)
                self.checked = True
            out = self.select(labels, loss)
        else:
            first, second, *far = kept_indices(mask, labels, *distance)  # the one host read
            if far and far[0] < RESTART_DISTANCE:
                return self._restart(labels, loss)
            out = [first, second]
        length = self.counter.length
        if self.restarts and length is not None and self.counter.calls >= self.epochs * length:
            self.reset()  # the run is over: the next call starts another one
        return out

    def _step(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        """Place this call in the run; ``[d]``, the unread L2 distance of its losses to the run's
        first call's where the rule ``restarts`` after the first epoch (same sizes), else []."""
        if self.restarts:
            first_size = self.counter.first_size
            if first_size is not None and labels.numel() > first_size:
                self.reset()  # no batch of a run is larger than its first: this call starts one
            if self.first is None:
                self.first = loss.clone()
        if not (self.counts_epochs or self.restarts):
            return []
        self.epoch, self.position = self.counter.step(labels)
        first = self.first if self.restarts and self.epoch > 0 else None
        return [torch.dist(loss, first)] if first is not None and first.shape == loss.shape else []

    def _restart(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        self.reset()  # this call is the first of a new run
        return self(labels, [loss[0], loss[1]])

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        """``(2, B)`` bool, what each model keeps; None: ``select`` answers this call."""
        return None

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        """``[indices for model 1, indices for model 2]``."""
        raise NotImplementedError
