"""The rules screened for issue 11 that lost to the published keep shares (docs/SELECTION.md).

Kept so that every row of ``docs/results/screen-issue11.jsonl`` can be re-run by name
(``x-*`` in the registry). Both estimate per-label keep shares by mixture proportion
estimation (``adaptive.mpe_ratios``) on the *mean* probability of both models, over a whole
window of samples instead of the shipped rule's per-call buffer:

- ``EpochRates``: once per epoch on the previous epoch; optional warm-up epochs that keep
  everything (balanced, or not); or, after the warm-up, keep where the peer gives the label a
  probability of at least 1/2 (``update="agree"``, the Bayes decision of a balanced model).
- ``WindowRates``: every ``window`` samples, the tightest ratios so far, no warm-up.
"""

from __future__ import annotations

import math

import torch

from noisy_select.adaptive import (
    clean_shares_from_ratios,
    keep_share_per_class,
    mpe_ratios,
    selection_output,
)
from noisy_select.selection import EpochCounter, LabelCheck, no_selection, prepare

UPDATES = ("every", "freeze", "freeze2", "agree")


def _ratios(p_given: list[torch.Tensor], labels: list[torch.Tensor]) -> torch.Tensor:
    """``mpe_ratios`` of the samples seen: both models' mean probability of the given label."""
    p = torch.cat(p_given).clamp(min=1e-12)
    return mpe_ratios(-torch.log(p), torch.cat(labels))


def _keep_shares(labels: torch.Tensor, loss: torch.Tensor, shares: torch.Tensor,
                 ensemble: bool) -> torch.Tensor:
    """``(2, B)``: each model keeps ``shares`` of each label's lowest losses of its peer (or
    of both models' mean, ``ensemble``)."""
    score = loss.mean(0).expand(2, -1) if ensemble else loss.flip(0)
    return torch.stack([keep_share_per_class(labels, score[m], shares) for m in (0, 1)]).float()


class EpochRates:
    """Keep shares estimated at the end of each epoch (``update``: ``every`` epoch, ``freeze``
    at the first estimate after the warm-up, ``freeze2`` from the first two epochs), applied to
    the peer's losses (or the mean of both, ``ensemble``) in the next."""

    def __init__(self, update: str = "every", balance: float = 1.0, warmup: str = "all",
                 ensemble: bool = False, warmup_epochs: int = 1, output: str = "resample") -> None:
        if update not in UPDATES:
            raise ValueError(f"Expected `update` in {UPDATES}, but got {update!r}.")
        self.update, self.balance, self.warmup, self.ensemble = update, balance, warmup, ensemble
        self.warmup_epochs, self.output = warmup_epochs, output
        self.reset()

    def reset(self) -> None:
        self.check = LabelCheck()
        self.counter = EpochCounter()
        self.epoch = 0
        self.labels: list[torch.Tensor] = []  # this epoch's labels
        self.p: list[torch.Tensor] = []  # and both models' mean probability of them
        self.rates: torch.Tensor | None = None
        self.estimates: list[list[float]] = []

    def _end_epoch(self) -> None:
        rates = clean_shares_from_ratios(_ratios(self.p, self.labels))
        self.estimates.append(rates.tolist())
        first = self.rates is None and len(self.estimates) >= self.warmup_epochs
        if first or (self.rates is not None and (
                self.update == "every" or (self.update == "freeze2" and len(self.estimates) <= 2))):
            self.rates = rates
        self.labels, self.p = [], []

    def __call__(self, targets, losses) -> list[torch.Tensor]:
        labels, loss = prepare(targets, losses)
        self.check(labels)
        size = labels.numel()
        if size == 0:
            return no_selection(labels)
        epoch, _ = self.counter.step(labels)
        if epoch > self.epoch:
            self.epoch = epoch
            self._end_epoch()
        self.labels.append(labels)
        self.p.append(torch.exp(-loss).mean(0))
        balance = self.balance
        if self.rates is None:
            keep = torch.ones(2, size, device=labels.device)
            balance = 1.0 if self.warmup == "all" else 0.0
        elif self.update == "agree":
            score = loss.mean(0).expand(2, -1) if self.ensemble else loss.flip(0)
            keep = (score < math.log(2)).float()  # the peer gives the label p >= 1/2
        else:
            keep = _keep_shares(labels, loss, self.rates, self.ensemble)
        return selection_output(keep, loss, labels, balance, self.output == "unique")


class WindowRates:
    """Keep shares from the tightest ratios over windows of ``window`` samples; everything,
    balanced, until the first window is full."""

    def __init__(self, window: int = 2048, rank: str = "peer", tightest: bool = True) -> None:
        self.window, self.rank, self.tightest = window, rank, tightest
        self.reset()

    def reset(self) -> None:
        self.check = LabelCheck()
        self.p: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []
        self.count = 0
        self.ratios: torch.Tensor | None = None

    def __call__(self, targets, losses) -> list[torch.Tensor]:
        labels, loss = prepare(targets, losses)
        self.check(labels)
        size = labels.numel()
        if size == 0:
            return no_selection(labels)
        self.p.append(torch.exp(-loss).mean(0))
        self.labels.append(labels)
        self.count += size
        if self.count >= self.window:
            ratios = _ratios(self.p, self.labels)
            if self.ratios is not None and self.tightest:
                ratios = torch.minimum(self.ratios, ratios)
            self.ratios = ratios
            self.p, self.labels, self.count = [], [], 0
        if self.ratios is None:
            keep = torch.ones(2, size, device=labels.device)
        else:
            shares = clean_shares_from_ratios(self.ratios)
            keep = _keep_shares(labels, loss, shares, self.rank == "ensemble")
        return selection_output(keep, loss, labels, 1.0, False)
