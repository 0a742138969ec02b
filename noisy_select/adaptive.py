"""Adaptive selection: per-class keep rates estimated online from the peer's losses.

Imports torch and the standard library only: the submission notebook inlines it.

Each call, for each model:

1. **estimate** the share of correctly labelled samples of each class from a ring buffer of
   that model's recent losses: ``rate="mpe"`` (the default) by mixture proportion estimation
   across the two labels (``mpe_ratios``), keeping the tightest bound seen so far;
   ``rate="confident"`` removes, per given label, the share that
   confident learning flags as belonging to the other class (probability of class ``k`` at
   least ``t_k``, the mean probability of ``k`` over the samples labelled ``k``, with
   ``p = exp(-loss)``; cleanlab's off-diagonal of the confident joint); ``rate="otsu"`` takes
   the share above a 2-means split of the class's margins. No noise rate is given.
2. **rank** each class's samples by the model's loss (``history_decay > 0``: by an exponential
   moving average of each sample's loss over the epochs seen so far; the batch order repeats,
   so the batch position identifies a sample, and ``EpochCounter`` finds the epoch length);
3. **keep** the estimated share of the lowest-ranked samples of each class;
4. **combine**: each model trains on what its *peer* keeps (co-teaching), on what both keep
   (agreement), or on the peer's keep narrowed to samples where the two models disagree
   about the label (Co-teaching+, falling back to the peer's keep when they never disagree);
5. **balance** the classes by repetition: the kept samples of each class share an equal part of
   the batch (``balance=1``) or a part proportional to their count (``balance=0``);
6. **resample** a fixed number of indices (the batch size) in proportion to those weights.
   Fixed-size output means no host-device synchronisation: no ``nonzero``, no ``.item()``.

A phase schedule (``warmup_epochs``) keeps every sample, balanced, in the first epochs, as the
second seed's warm-up does before its robust terms start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from noisy_select.selection import (
    EpochCounter,
    LabelCheck,
    margin_from_loss,
    no_selection,
    prepare,
    rank_in_class,
)

RATES = ("mpe", "confident", "otsu")
COMBINES = ("cross", "agree", "disagree")


@dataclass(frozen=True)
class AdaptiveConfig:
    rate: str = "mpe"  # how each class's clean share is estimated (module docstring)
    combine: str = "cross"  # cross: peer decides; agree: both; disagree: Co-teaching+
    balance: float = 1.0  # 1: classes share the batch equally; 0: by their kept counts
    history_decay: float = 0.0  # EMA weight of the past epochs' losses (0: no history)
    warmup_epochs: int = 0  # epochs at the start that keep every sample (balanced)
    buffer_size: int = 1024  # recent samples the per-class rates are estimated on
    rates: tuple[float, float] | None = None  # known clean shares per class: no estimation
    tightest: bool = True  # mpe: keep the smallest ratio seen since the buffer filled up
    output: str = "resample"  # resample: batch-size output; unique: the kept indices once each

    def __post_init__(self) -> None:
        if self.rate not in RATES:
            raise ValueError(f"Expected `rate` in {RATES}, but got {self.rate!r}.")
        if self.combine not in COMBINES:
            raise ValueError(f"Expected `combine` in {COMBINES}, but got {self.combine!r}.")
        if not 0 <= self.balance <= 1:
            raise ValueError(f"Expected `balance` in [0, 1], but got {self.balance}.")
        if not 0 <= self.history_decay < 1:
            raise ValueError(f"Expected `history_decay` in [0, 1), but got {self.history_decay}.")
        if self.rates is not None and not all(0 <= r <= 1 for r in self.rates):
            raise ValueError(f"Expected `rates` in [0, 1], but got {self.rates}.")
        if self.output not in ("resample", "unique"):
            raise ValueError(f"Expected `output` 'resample' or 'unique', but got {self.output!r}.")
        if self.warmup_epochs < 0 or self.buffer_size < 1:
            raise ValueError("Expected `warmup_epochs` >= 0 and `buffer_size` >= 1.")


def otsu_threshold(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """2-means threshold of the values of ``x`` where ``mask`` is set, along the last axis.

    Parameters
    ----------
    x : torch.Tensor
        ``(..., n)`` float values.
    mask : torch.Tensor
        ``(..., n)`` bool, which values belong to the group.

    Returns
    -------
    torch.Tensor
        ``(...)``: the largest value of the low group of the split that maximises the
        between-group variance, so the high group is ``x > threshold``; ``-inf`` where the
        group has fewer than two distinct values (nothing to split).
    """
    xs, order = x.sort(dim=-1)
    ws = mask.gather(-1, order).to(x.dtype)
    n0, s0 = ws.cumsum(-1), (ws * xs).cumsum(-1)
    n1, s1 = n0[..., -1:] - n0, s0[..., -1:] - s0
    gap = s1 / n1.clamp(min=1) - s0 / n0.clamp(min=1)
    between = n0 * n1 * gap * gap
    between = torch.where((ws > 0) & (n1 > 0) & (gap > 0), between, torch.zeros_like(between))
    best, k = between.max(dim=-1, keepdim=True)
    threshold = xs.gather(-1, k).squeeze(-1)
    return torch.where(best.squeeze(-1) > 0, threshold, torch.full_like(threshold, -torch.inf))


def confident_rates(loss: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Share of each given label that confident learning does not flag as mislabelled.

    Parameters
    ----------
    loss : torch.Tensor
        ``(..., n)`` cross-entropy losses of the given labels.
    labels : torch.Tensor
        ``(n,)`` labels 0 or 1; -1 marks an empty slot.

    Returns
    -------
    torch.Tensor
        ``(..., 2)``: for label ``i``, ``1 - C[i, j] / n_i`` (``j != i``), where ``C[i, j]`` counts
        samples labelled ``i`` whose probability of class ``j`` reaches ``t_j``, the mean
        probability of class ``j`` over the samples labelled ``j`` (when both classes reach
        their thresholds, the larger probability decides). 1 where a label has no sample.
    """
    p_given = torch.exp(-loss)
    p1 = torch.where(labels == 1, p_given, 1 - p_given)
    probs = torch.stack([1 - p1, p1], dim=-1)  # (..., n, 2)
    members = torch.stack([labels == 0, labels == 1], dim=-1).to(loss.dtype)  # (n, 2)
    t = (probs * members).sum(-2) / members.sum(-2).clamp(min=1)  # (..., 2)
    above = probs >= t.unsqueeze(-2)
    other = 1 - labels.clamp(min=0)
    p_other = torch.where(other == 1, p1, 1 - p1)
    above_other = torch.where(other == 1, above[..., 1], above[..., 0])
    above_own = torch.where(other == 1, above[..., 0], above[..., 1])
    flagged = above_other & (~above_own | (p_other > 0.5))
    flagged_c = (flagged.to(loss.dtype).unsqueeze(-1) * members).sum(-2)
    n_c = members.sum(-2)
    return torch.where(n_c > 0, 1 - flagged_c / n_c.clamp(min=1), torch.ones_like(flagged_c))


def mpe_ratios(loss: torch.Tensor, labels: torch.Tensor,
               quantiles: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)) -> torch.Tensor:
    """Tail ratios ``r_c`` of mixture proportion estimation across the two label buckets.

    The wrongly labelled samples of label ``c`` are images of the other class ``o``, so their
    probability of ``o`` is distributed like that of the samples labelled ``o``. Among the
    samples most confidently ``o`` (the top ``q`` of label ``o`` by ``p(o)``), the share reached
    by label ``c``, divided by ``q``, tends to ``r_c = n_c / (1 - n_o)``, where ``n_c`` is the
    noise rate of label ``c``; the model's own errors enter both sides and cancel. A tail that
    still holds class-``c`` images only raises the ratio, so each ratio is an upper bound;
    ``r_c`` is the smallest over ``quantiles``.

    Parameters
    ----------
    loss : torch.Tensor
        ``(..., n)`` cross-entropy losses of the given labels.
    labels : torch.Tensor
        ``(n,)`` labels 0 or 1; -1 marks an empty slot.

    Returns
    -------
    torch.Tensor
        ``(..., 2)`` ratios in [0, 1]; 0 where a label has no sample.
    """
    p_given = torch.exp(-loss)
    p1 = torch.where(labels == 1, p_given, 1 - p_given)
    q = torch.tensor(quantiles, dtype=loss.dtype, device=loss.device)
    ratios = []
    for c in (0, 1):
        o = 1 - c
        score = p1 if o == 1 else 1 - p1  # probability of the other class, (..., n)
        in_c, in_o = labels == c, labels == o
        n_c, n_o = in_c.sum().to(loss.dtype), in_o.sum().to(loss.dtype)
        ranked = torch.where(in_o, score, torch.full_like(score, -torch.inf))
        ranked = ranked.sort(dim=-1, descending=True).values
        k = (torch.ceil(q * n_o) - 1).clamp(min=0).long()  # (Q,) rank of each quantile
        tau = ranked[..., k].unsqueeze(-1)  # (..., Q, 1)
        above = score.unsqueeze(-2) >= tau  # (..., Q, n)
        share_o = (above & in_o).to(loss.dtype).sum(-1) / n_o.clamp(min=1)
        share_c = (above & in_c).to(loss.dtype).sum(-1) / n_c.clamp(min=1)
        best = (share_c / share_o.clamp(min=1e-6)).amin(-1).clamp(max=1)
        ratios.append(torch.where((n_c > 0) & (n_o > 0), best, torch.zeros_like(best)))
    return torch.stack(ratios, dim=-1)


def clean_shares_from_ratios(ratios: torch.Tensor) -> torch.Tensor:
    """``(..., 2)`` clean shares ``1 - n_c`` from the ratios ``r_c = n_c / (1 - n_o)``.

    Solving both: ``n_c = r_c (1 - r_o) / (1 - r_c r_o)``. Ratios near 1 on both sides (a
    model that cannot tell the labels apart) give no noise, so everything is kept.
    """
    r0, r1 = ratios.unbind(-1)
    denominator = 1 - r0 * r1
    ok = denominator > 1e-3
    safe = torch.where(ok, denominator, torch.ones_like(denominator))
    n0 = torch.where(ok, r0 * (1 - r1) / safe, torch.zeros_like(r0))
    n1 = torch.where(ok, r1 * (1 - r0) / safe, torch.zeros_like(r1))
    return 1 - torch.stack([n0, n1], dim=-1).clamp(0, 1)


def mpe_rates(loss: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``(..., 2)`` clean share of each label by mixture proportion estimation."""
    return clean_shares_from_ratios(mpe_ratios(loss, labels))


def otsu_rates(loss: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``(..., 2)``: share of each label's margins above its 2-means (Otsu) split."""
    margin = margin_from_loss(loss)
    rates = []
    for c in (0, 1):
        mask = (labels == c).expand_as(margin)
        threshold = otsu_threshold(margin, mask)
        above = ((margin > threshold.unsqueeze(-1)) & mask).to(loss.dtype).sum(-1)
        rates.append(torch.where(mask.sum(-1) > 0, above / mask.sum(-1).clamp(min=1),
                                 torch.ones_like(above)))
    return torch.stack(rates, dim=-1)


def keep_share_per_class(labels: torch.Tensor, score: torch.Tensor, rates: torch.Tensor) -> torch.Tensor:
    """``(B,)`` bool: the ``round(rates[c] * n_c)`` lowest scores of each class (at least one)."""
    counts = torch.bincount(labels, minlength=2).to(rates.dtype)
    quota = torch.maximum(torch.round(rates * counts), (counts > 0).to(rates.dtype))
    return rank_in_class(labels, score) < quota[labels]


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


def selection_output(keep: torch.Tensor, loss: torch.Tensor, labels: torch.Tensor,
                     balance: float, unique: bool) -> list[torch.Tensor]:
    """Per model, each kept index once (``unique``; the peer's lowest loss when nothing is
    kept), or a batch-size draw in proportion to ``keep (2, B)`` with the labels balanced by
    ``balance``."""
    if unique:
        out = []
        for m in (0, 1):
            idx = torch.nonzero(keep[m]).reshape(-1)
            out.append(idx if idx.numel() else torch.argmin(loss[1 - m]).reshape(1))
        return out
    weights = class_balanced_weights(labels, keep, balance)
    return [resample(weights[0], labels.numel()), resample(weights[1], labels.numel())]


class AdaptiveSelection:
    """Per-class keep rates estimated online, cross selection, class balancing, resampling."""

    def __init__(self, config: AdaptiveConfig | None = None, **overrides) -> None:
        base = config or AdaptiveConfig()
        self.config = AdaptiveConfig(**{**base.__dict__, **overrides})
        self.reset()

    def reset(self) -> None:
        self.check = LabelCheck()
        self.counter = EpochCounter()
        self.history: dict[int, torch.Tensor] = {}  # batch position -> (2, B) EMA of losses
        self.buffer: torch.Tensor | None = None  # (2, buffer_size) recent losses
        self.buffer_labels: torch.Tensor | None = None  # (buffer_size,) their labels, -1 empty
        self.cursor = 0
        self.ratio_bound: torch.Tensor | None = None  # (2, 2) tightest mpe ratios so far

    def _score(self, loss: torch.Tensor, epoch: int, position: int) -> torch.Tensor:
        """What each class is ranked by: the loss, or its EMA over epochs."""
        decay = self.config.history_decay
        if decay == 0:
            return loss
        past = self.history.get(position)
        score = loss if epoch == 0 or past is None or past.shape != loss.shape else (
            decay * past + (1 - decay) * loss)
        self.history[position] = score
        return score

    def _rates(self, loss: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Add this batch to the ring buffer; ``(2 models, 2 classes)`` estimated clean shares."""
        size = self.config.buffer_size
        if self.buffer is None or self.buffer.device != loss.device:
            self.buffer = torch.zeros(2, size, device=loss.device)
            self.buffer_labels = torch.full((size,), -1, dtype=torch.long, device=loss.device)
            self.cursor = 0
        assert self.buffer_labels is not None
        n = min(labels.numel(), size)
        slots = (self.cursor + torch.arange(n, device=loss.device)) % size
        self.buffer[:, slots] = loss[:, -n:]
        self.buffer_labels[slots] = labels[-n:]
        self.cursor = (self.cursor + n) % size
        if self.config.rates is not None:
            return torch.tensor(self.config.rates, device=loss.device).expand(2, 2)
        if self.config.rate == "mpe":
            ratios = mpe_ratios(self.buffer, self.buffer_labels)
            if self.config.tightest:
                # Each ratio bounds the true one from above: the smallest seen is the best
                # estimate. Only full buffers count, so that a small sample cannot set it.
                full = (self.buffer_labels >= 0).all()
                bound = ratios if self.ratio_bound is None else torch.minimum(self.ratio_bound, ratios)
                self.ratio_bound = torch.where(full, bound, torch.ones_like(bound))
                ratios = torch.minimum(ratios, self.ratio_bound)
            return clean_shares_from_ratios(ratios)
        estimate = confident_rates if self.config.rate == "confident" else otsu_rates
        return estimate(self.buffer, self.buffer_labels)

    def __call__(self, targets: torch.Tensor, losses) -> list[torch.Tensor]:
        labels, loss = prepare(targets, losses)
        self.check(labels)
        size = labels.numel()
        if size == 0:
            return no_selection(labels)
        epoch, position = 0, 0
        if self.config.history_decay > 0 or self.config.warmup_epochs > 0:
            # Only history and warm-up need the epoch; finding it may read the targets.
            epoch, position = self.counter.step(labels)
        score = self._score(loss, epoch, position)
        rates = self._rates(loss, labels)
        if epoch < self.config.warmup_epochs:
            keep = torch.ones(2, size, device=labels.device)
        else:
            own = torch.stack([keep_share_per_class(labels, score[m], rates[m]) for m in (0, 1)])
            own = own.float()
            peer = own.flip(0)  # model 1 learns from what model 2 keeps, and vice versa
            if self.config.combine == "agree":
                keep = peer * own
            elif self.config.combine == "disagree":
                disagree = ((loss[0] < math.log(2)) != (loss[1] < math.log(2))).float()
                narrowed = peer * disagree
                keep = torch.where(narrowed.sum(-1, keepdim=True) > 0, narrowed, peer)
            else:
                keep = peer
        return selection_output(keep, loss, labels, self.config.balance,
                                self.config.output == "unique")
