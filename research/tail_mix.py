"""Research: `tail_evidence`'s kept samples, drawn in the published shares' label mix (issue 28;
docs/SELECTION.md section 14).

    noisy-select bench research/tail_mix.py:tail_mix --scenarios minority-flip,clean \
        --seeds 0-4 --loop seed

On ``minority-flip`` `tail_evidence` kept more of label 0 than the published 0.50 (0.56-0.79 of
a bucket 0.85 clean), and its scored BAC fell by 0.08 while its models did not (with
re-estimated statistics -0.008, AUC +0.010): its kept sets held more label 0 than the published
ones, and the threshold follows the label mix a model trains on. This rule separates the two:
`tail_evidence` says which samples of each label to keep, the published shares say how many of
each label to train on. Each model gets a systematic draw of ``B`` indices (``resample``) from
its kept samples, a label's total weight the count that the published shares would keep of it
in this batch, shared equally among its kept samples (so a sample appears about as often as the
others of its label, some twice). Where the shares stay published the rule is `tail_evidence`,
and so the shipped rule, selection for selection. Whether they moved is read once, at the
switch (one more host read in that call, a research shortcut).
"""

from __future__ import annotations

import os
import runpy

import torch

from noisy_select.strategies.base import PUBLISHED_KEEP, keep_lowest, resample

_EVIDENCE = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "tail_evidence.py"))


class TailMix(_EVIDENCE["TailEvidence"]):
    """`tail_evidence`'s kept samples, in the label mix of the published shares."""

    def reset(self) -> None:
        super().reset()
        self.moved: bool | None = None  # the shares left the published ones (read at the switch)

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        mask = super().kept(labels, loss)
        if mask is not None and self.moved is None:
            published = torch.tensor(PUBLISHED_KEEP, dtype=torch.float64, device=self.keep.device)
            self.moved = bool((self.keep != published).any())
        return None if self.moved else mask  # moved: ``select`` draws from the kept samples

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        if self.epoch < self.switch:
            return super().select(labels, loss)  # the warm-up: every sample, labels balanced
        labels = labels.clamp(0, 1)
        mask = keep_lowest(labels, loss.flip(0), self.keep)  # (2, B): by the peer's loss
        onehot = torch.nn.functional.one_hot(labels, 2).double()  # (B, 2)
        counts = onehot.sum(0)
        published = torch.tensor(PUBLISHED_KEEP, dtype=torch.float64, device=labels.device)
        target = torch.floor(counts * published + 1e-9)  # how many of each label
        kept = mask.double() @ onehot  # (2, 2): each model's kept samples of each label
        weights = mask.double() * (target / kept.clamp(min=1))[:, labels]
        return [resample(w, labels.numel()) for w in weights]


tail_mix = TailMix()
