"""Adaptive selection (``adaptive-mpe``): per-label keep shares estimated from the losses.

Torch and the standard library only: a submission inlines it. Each call, for each model:

1. **estimate** the share of correctly labelled samples of each label from a ring buffer of
   that model's recent losses, by mixture proportion estimation across the two labels
   (``mpe_ratios``), keeping the tightest bound seen so far (or take known ``keep`` shares);
2. **keep** that share of the lowest losses of each label (``keep_lowest``, rounded);
3. **cross**: each model trains on what its *peer* keeps (co-teaching);
4. **balance** the labels by repetition (``class_balanced_weights``) and **resample** as many
   indices as the batch holds: a fixed size, so no host-device synchronisation.

What lost to the published shares (other estimators, rankings, warm-ups): docs/SELECTION.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from noisy_select.strategies.base import Strategy, class_balanced_weights, keep_lowest, resample


@dataclass(frozen=True)
class AdaptiveConfig:
    balance: float = 1.0  # 1: the labels share the batch equally; 0: by their kept counts
    buffer_size: int = 1024  # recent samples the per-label shares are estimated on
    keep: tuple[float, float] | None = None  # known keep shares per label: no estimation

    def __post_init__(self) -> None:
        if not 0 <= self.balance <= 1:
            raise ValueError(f"Expected `balance` in [0, 1], but got {self.balance}.")
        if self.keep is not None and not all(0 <= k <= 1 for k in self.keep):
            raise ValueError(f"Expected `keep` in [0, 1], but got {self.keep}.")
        if self.buffer_size < 1:
            raise ValueError(f"Expected `buffer_size` >= 1, but got {self.buffer_size}.")


def mpe_ratios(loss: torch.Tensor, labels: torch.Tensor,
               quantiles: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)) -> torch.Tensor:
    """``(..., 2)`` tail ratios ``r_c`` in [0, 1] of mixture proportion estimation, from the
    cross-entropy losses ``(..., n)`` of ``labels (n,)`` (0 or 1; -1 an empty slot); 0 where a
    label has no sample.

    The wrongly labelled samples of label ``c`` are images of the other class ``o``, so their
    probability of ``o`` is distributed like that of the samples labelled ``o``. Among the
    samples most confidently ``o`` (the top ``q`` of label ``o`` by ``p(o)``), the share reached
    by label ``c``, divided by ``q``, tends to ``r_c = n_c / (1 - n_o)``, where ``n_c`` is the
    noise rate of label ``c``; the model's own errors enter both sides and cancel. A tail that
    still holds class-``c`` images only raises the ratio, so each ratio is an upper bound;
    ``r_c`` is the smallest over ``quantiles``.
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
    """``(..., 2)`` clean shares ``1 - n_c`` from the ratios ``r_c = n_c / (1 - n_o)``, solved:
    ``n_c = r_c (1 - r_o) / (1 - r_c r_o)``. Ratios near 1 on both sides (a model that cannot
    tell the labels apart) give no noise: everything is kept."""
    r0, r1 = ratios.unbind(-1)
    denominator = 1 - r0 * r1
    ok = denominator > 1e-3
    safe = torch.where(ok, denominator, torch.ones_like(denominator))
    n0 = torch.where(ok, r0 * (1 - r1) / safe, torch.zeros_like(r0))
    n1 = torch.where(ok, r1 * (1 - r0) / safe, torch.zeros_like(r1))
    return 1 - torch.stack([n0, n1], dim=-1).clamp(0, 1)


class AdaptiveSelection(Strategy):
    """Per-label keep shares estimated online, cross selection, label balancing, resampling."""

    def __init__(self, config: AdaptiveConfig | None = None, **overrides) -> None:
        base = config or AdaptiveConfig()
        self.config = AdaptiveConfig(**{**base.__dict__, **overrides})
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.buffer: torch.Tensor | None = None  # (2, buffer_size) recent losses
        self.buffer_labels: torch.Tensor | None = None  # (buffer_size,) their labels, -1 empty
        self.cursor = 0
        self.ratio_bound: torch.Tensor | None = None  # (2, 2) tightest mpe ratios so far

    def _keep_shares(self, loss: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``(2 models, 2 labels)`` shares to keep: the known ``keep``, or the clean shares
        estimated on the ring buffer with this batch added."""
        if self.config.keep is not None:  # nothing to estimate: the buffer is never read
            return torch.tensor(self.config.keep, device=loss.device).expand(2, 2)
        size = self.config.buffer_size
        if self.buffer is None or self.buffer_labels is None or self.buffer.device != loss.device:
            self.buffer = torch.zeros(2, size, device=loss.device)
            self.buffer_labels = torch.full((size,), -1, dtype=torch.long, device=loss.device)
            self.cursor = 0
        n = min(labels.numel(), size)
        slots = (self.cursor + torch.arange(n, device=loss.device)) % size
        self.buffer[:, slots] = loss[:, -n:]
        self.buffer_labels[slots] = labels[-n:]
        self.cursor = (self.cursor + n) % size
        ratios = mpe_ratios(self.buffer, self.buffer_labels)
        # Each ratio bounds the true one from above: the smallest seen is the best estimate.
        # Only full buffers count, so that a small sample cannot set it.
        full = (self.buffer_labels >= 0).all()
        bound = ratios if self.ratio_bound is None else torch.minimum(self.ratio_bound, ratios)
        self.ratio_bound = torch.where(full, bound, torch.ones_like(bound))
        return clean_shares_from_ratios(torch.minimum(ratios, self.ratio_bound))

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        keep = self._keep_shares(loss, labels)
        own = keep_lowest(labels, loss, keep, rounding="round").float()  # row m: model m keeps
        weights = class_balanced_weights(labels, own.flip(0), self.config.balance)  # the peer's
        return [resample(weights[0], labels.numel()), resample(weights[1], labels.numel())]
