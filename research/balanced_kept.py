"""Research: the published shares drawn label-balanced (issue 28, step 2; docs/SELECTION.md
section 9).

    noisy-select bench research/balanced_kept.py:balanced_kept \
        --scenarios fashion-tops --seeds 0-9 --loop official

The shipped rule's last epoch is a walk (section 9's trace): a model's scored BAC falls by up
to 0.2 within a few steps and comes back, mostly at a nearly unchanged AUC, so what moves is its
threshold, and the run ends wherever the walk stands. After the warm-up each step trains on the
published shares, about one label-0 sample to three of label 1 on the real task's label mix,
and the mix changes from batch to batch, so each step pushes the bias its own way. This rule
keeps the shipped warm-up and the published kept sets, and draws from them as the warm-up draws
from everything, the kept label-0 samples filling one half of the draw and the kept label-1
samples the other (``base.resample`` per label, in batch order); the draw is twice the
larger kept label, so every kept sample is trained on at least once and the smaller label is
repeated.
Under class-conditional noise the balanced error on the noisy labels has the same minimiser as
on the clean ones (Menon et al., ICML 2015); balanced steps aim the threshold at the balanced
accuracy the task scores, on every batch alike. Not a new constant: the shares stay the
published ones.
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import PUBLISHED_KEEP, kept_by_peer, resample
from noisy_select.strategies.shipped import BalancedThenPublished


class BalancedKept(BalancedThenPublished):
    """The shipped warm-up, then each model draws from the published kept set by its peer's loss,
    the two labels weighted equally, twice as many indices as its larger kept label holds."""

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        if self.epoch < self.switch:
            return super().select(labels, loss)
        labels = labels.clamp(0, 1)
        kept = kept_by_peer(labels, loss, PUBLISHED_KEEP)  # (2 models, B)
        by_label = [kept & (labels == c) for c in (0, 1)]
        counts = torch.stack([m.sum(1) for m in by_label], 1).tolist()  # the call's one host read
        out = []
        for m, n in enumerate(counts):  # each label present fills half of twice the larger count
            half = max(n)
            out.append(torch.cat([resample(by_label[c][m].double(), half) for c in (0, 1) if n[c]])
                       .sort().values)
        return out

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        return None  # every call draws, in ``select``


balanced_kept = BalancedKept()
