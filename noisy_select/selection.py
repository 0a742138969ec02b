"""Per-batch selection maths and the published anchor strategies.

Torch and the standard library only (and ``solution``'s input checks): a submission of one of
these strategies inlines both modules.

A strategy is an object with ``__call__(targets, losses) -> [idx_model_1, idx_model_2]`` and
``reset()``. ``targets`` are the batch's labels as the fixed loop passes them (``squeeze()``d,
so 0-d for a batch of one); ``losses`` are the two models' per-sample losses, still attached to
the graph. Returned indices are ``long`` on the device of ``targets``; a repeated index trains
on that sample twice.
"""

from __future__ import annotations

import math

import torch

from noisy_select.solution import (
    ClassWiseCoTeaching,
    LabelCheck,
    check_labels,
    no_selection,
    prepare,
    rank_in_class,
)

# Re-exported: the published rule lives in ``solution``; the other strategies use its checks.
__all__ = ["AllSamples", "ClassWiseCoTeaching", "CoTeaching", "EpochCounter", "LabelCheck",
           "check_labels", "margin_from_loss", "no_selection", "prepare", "rank_in_class"]

MIN_LOSS = 1e-6


def margin_from_loss(loss: torch.Tensor) -> torch.Tensor:
    """Binary margin ``log(p / (1 - p))`` of the given label, with ``p = exp(-loss)``.

    Losses below ``MIN_LOSS`` count as ``MIN_LOSS`` (margin about 13.8) to stay finite.
    """
    loss = loss.clamp(min=MIN_LOSS)
    return -loss - torch.log(-torch.expm1(-loss))


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
        length = self.epoch_length or self.guess
        if length is None:
            return 0, call
        return divmod(call, length)


def _both(idx: torch.Tensor) -> list[torch.Tensor]:
    return [idx, idx.clone()]


class AllSamples:
    """The seed's baseline: every sample for both models."""

    def __init__(self) -> None:
        self.check = LabelCheck()

    def reset(self) -> None:
        self.check = LabelCheck()

    def __call__(self, targets: torch.Tensor, losses) -> list[torch.Tensor]:
        labels, _ = prepare(targets, losses)
        self.check(labels)
        return _both(torch.arange(labels.numel(), device=labels.device))


class CoTeaching:
    """Co-teaching (Han et al., 2018) without class logic.

    Each model trains on the ``(1 - R(T)) * B`` samples with its peer's smallest losses, with
    ``R(T) = tau * min(T / T_k, 1)`` and ``T`` the epoch counted from 0, as in the authors' code.
    """

    def __init__(self, tau: float = 0.35, t_k: int = 10) -> None:
        if not 0 <= tau < 1:
            raise ValueError(f"Expected `tau` in [0, 1), but got {tau}.")
        if t_k < 1:
            raise ValueError(f"Expected `t_k` >= 1, but got {t_k}.")
        self.tau, self.t_k = tau, t_k
        self.reset()

    def reset(self) -> None:
        self.check = LabelCheck()
        self.counter = EpochCounter()

    def forget_rate(self, epoch: int) -> float:
        return self.tau * min(epoch / self.t_k, 1.0)

    def __call__(self, targets: torch.Tensor, losses) -> list[torch.Tensor]:
        labels, loss = prepare(targets, losses)
        self.check(labels)
        epoch, _ = self.counter.step(labels)
        n_keep = max(1, math.ceil((1 - self.forget_rate(epoch)) * labels.numel()))
        if labels.numel() == 0:
            return _both(torch.zeros(0, dtype=torch.long, device=labels.device))
        return [torch.argsort(loss[1])[:n_keep], torch.argsort(loss[0])[:n_keep]]
