"""What every strategy shares: the checks on one call's inputs and the per-batch maths on tensors.

Torch and the standard library only, so that a submission can inline it. A strategy is called as
``strategy(targets, losses) -> [indices for model 1, indices for model 2]``: ``targets`` are the
batch's labels as the fixed loop passes them (``squeeze()``d, so 0-d for a batch of one);
``losses`` are the two models' per-sample losses, still attached to the graph (read, never
changed). Returned indices are ``long`` on the device of ``targets``; a repeated index trains
on that sample twice.
"""

from __future__ import annotations

import torch

# The competition's run length (competition.NUM_EPOCHS), which a rule cannot read from the
# notebook: stateful rules count their run in it (the tools read constants.NUM_EPOCHS, the same).
EPOCHS = 6
MAX_LOSS = 30.0  # losses are clipped to [0, MAX_LOSS]; NaN and inf rank as the worst loss
# Share of label 0 and of label 1 kept by the published solution (and the shipped strategy's
# second phase).
PUBLISHED_KEEP = (0.50, 0.93)


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


class LabelCheck:
    """Checks labels on every call on the CPU, and on the first call only on an accelerator
    (reading the values there is a host-device synchronisation)."""

    def __init__(self) -> None:
        self.checked = False

    def __call__(self, labels: torch.Tensor) -> None:
        if labels.device.type == "cpu" or not self.checked:
            check_labels(labels)
            self.checked = True


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
    """The lowest-scored share ``keep[c]`` of each label ``c`` of the batch.

    Parameters
    ----------
    labels : torch.Tensor
        ``(B,)`` int64 labels 0 or 1.
    score : torch.Tensor
        ``(..., B)`` what is ranked, lowest first (ties keep batch order).
    keep : torch.Tensor
        ``(2,)`` or ``(..., 2)`` share of each label to keep, in [0, 1].
    rounding : {"floor", "round"}, default "floor"
        ``"floor"``: ``floor(n_c * keep[c])`` of label ``c`` (the published solution's
        ``int(n * share)``), and where that keeps nothing in a row (a batch of one) the row's
        lowest score stays. ``"round"``: ``round(n_c * keep[c])``, at least one of each label
        present.

    Returns
    -------
    torch.Tensor
        ``(..., B)`` bool, the kept samples.
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
    a label other than 0 or 1 is reported by ``kept_sizes``, in the call's one host read."""
    keep = torch.tensor(keep, dtype=torch.float64, device=labels.device)
    return keep_lowest(labels.clamp(0, 1), loss.flip(0), keep)


def kept_sizes(mask: torch.Tensor, labels: torch.Tensor, *also: torch.Tensor) -> list:
    """How many each row of ``mask (2, B)`` keeps, then the value of each 0-d tensor in ``also``
    (with a float in ``also``, all come back as floats).

    That read is the call's one host-device synchronisation; the same read counts the labels
    that are not 0 or 1, so that the check costs no second one (``ValueError`` names the first
    such label).
    """
    bad = ((labels < 0) | (labels > 1)).sum().reshape(1)
    *sizes, n_bad = torch.cat([mask.sum(-1), *(a.reshape(1) for a in also), bad]).tolist()
    if n_bad:
        check_labels(labels)
    return sizes


def in_batch_order(mask: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    """Each row's kept indices of ``mask (2, B)``, in batch order (``sizes``: ``kept_sizes``)."""
    order = torch.argsort((~mask).to(torch.uint8), dim=-1, stable=True)  # kept first
    return [order[0, : sizes[0]], order[1, : sizes[1]]]


def kept_indices(mask: torch.Tensor, labels: torch.Tensor) -> list[torch.Tensor]:
    """Each row's kept indices of ``mask (2, B)``, in batch order, with one host read
    (``kept_sizes``)."""
    return in_batch_order(mask, kept_sizes(mask, labels))


class EpochCounter:
    """Tracks where a call falls in the fixed loop: epoch and batch position within it.

    The loop never shuffles, so every epoch repeats the same batches. A batch shorter than the
    first one is the last of its epoch; that settles the epoch length. Without one (the data
    size is a multiple of the batch size) a call whose targets equal the first call's
    suggests a new epoch; the guess is dropped as soon as a later call contradicts it and
    becomes final after two whole confirming epochs. Only this guessing reads tensor values.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
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
    """A selection strategy with state: one object per training run (``reset()`` starts a new one).

    ``strategy(targets, losses)`` checks the call's inputs (``prepare``, ``LabelCheck``), answers an
    empty batch with an empty selection, and hands the rest to ``select(labels, loss)`` with
    ``(B,)`` int64 labels and ``(2, B)`` detached float32 losses in ``[0, MAX_LOSS]``. A
    subclass implements ``select`` and extends ``reset`` with its own state. A strategy without
    state can be a plain function instead.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything of the run so far."""
        self.check = LabelCheck()

    def __call__(self, targets: torch.Tensor, losses) -> list[torch.Tensor]:
        labels, loss = prepare(targets, losses)
        self.check(labels)
        if labels.numel() == 0:
            return no_selection(labels)
        return self.select(labels, loss)

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        """``[indices for model 1, indices for model 2]`` of a non-empty batch."""
        raise NotImplementedError


def class_balanced_weights(labels: torch.Tensor, keep: torch.Tensor, balance: float) -> torch.Tensor:
    """Per-sample weights ``(..., B)``: the kept samples of each class share ``n_c ** (1 - balance)``."""
    onehot = torch.nn.functional.one_hot(labels, 2).to(keep.dtype)  # (B, 2)
    kept = keep @ onehot  # (..., 2)
    share = torch.where(kept > 0, kept.pow(1 - balance), torch.zeros_like(kept))
    per_sample = (share / kept.clamp(min=1)) @ onehot.T  # (..., B)
    return keep * per_sample


def resample(weights: torch.Tensor, size: int) -> torch.Tensor:
    """``size`` indices drawn systematically (deterministic) in proportion to ``weights (B,)``.

    A sample with share ``w_i / sum(w)`` appears about ``size * share`` times. All-zero weights
    fall back to uniform ones, so a non-empty batch never gives an empty selection.
    """
    n = weights.numel()
    total = weights.sum()
    weights = torch.where(total > 0, weights, torch.ones_like(weights))
    cumulative = weights.cumsum(0)
    grid = (torch.arange(size, device=weights.device, dtype=weights.dtype) + 0.5) / size
    idx = torch.searchsorted(cumulative, grid * cumulative[-1], right=True)
    return idx.clamp(max=n - 1)
