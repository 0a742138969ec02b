"""Research: the keep shares estimated once, at the end of the shipped rule's warm-up, from the
two label buckets' score tails (issue 28, step 2: "estimated keep shares"; docs/SELECTION.md
section 12).

    noisy-select bench research/tail_ratio.py:tail_ratio your_select_indices \
        --scenarios fashion-tops --seeds 0-9 --loop official

Under class-conditional noise the label-0 bucket is a mixture ``c0 * G0 + (1 - c0) * G1`` of the
two classes' score distributions and the label-1 bucket ``(1 - c1) * G0 + c1 * G1``, where
``c0`` and ``c1`` are the buckets' clean shares, the shares a selection should keep. Where the
scores are high enough that only class 1 lives there, the label-0 bucket's upper tail over the
label-1 bucket's is ``a = (1 - c0) / c1``; where they are low enough for class 0 alone, the
label-1 bucket's lower tail over the label-0 bucket's is ``b = (1 - c1) / c0``. Each ratio is
the smallest over the thresholds (the mixture proportion bound of Scott, Blanchard and Handy,
"Classification with asymmetric label noise: consistency and maximal denoising", COLT 2013),
and the two together give both shares, with no prior and no constant about the noise:

    c0 = (1 - a) / (1 - a b),    c1 = (1 - b) / (1 - a b).

The scores are both models' class-1 logits (from the loss and the label) over the last
warm-up epoch, when the models have trained on every sample with the labels balanced, which
ranks the clean classes (Menon et al., ICML 2015) without a selection feeding back into it.
Estimated once at the switch and held: later epochs' scores come from models trained on what
they kept. After it the rule is the shipped one at those shares (the peer's lowest ``c0`` of
label 0 and ``c1`` of label 1, each once, in batch order). On ``fashion-tops`` seed 1, from the
shipped rule's recorded losses (``research/loss_memory.py``): 0.500 / 0.903 against the clean
shares 0.500 / 0.905.

The constants are the estimator's, not the noise's: ``BINS`` equal bins of the logit over
``[-LIMIT, LIMIT]`` (the loss's probability is clamped to ``[1e-7, 1 - 1e-7]``, so a logit
never leaves it), a tail that counts only where it holds at least ``LEAST`` of its bucket,
and the shares clamped to ``[FLOOR, 1]``; where the two buckets' tails do not separate
(``a b`` near 1) it keeps everything.
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import keep_lowest
from noisy_select.strategies.shipped import BalancedThenPublished

BINS, LIMIT = 128, 16.2  # the class-1 logit in 128 bins over [-16.2, 16.2]
LEAST = 0.01  # a tail counts where it holds at least 1% of its bucket
FLOOR = 0.05  # a share below it means the estimate failed, not that a label is all wrong


def class_1_logit(labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
    """``(2, B)`` each model's logit of class 1, from its cross-entropy loss on the label."""
    p = torch.exp(-loss).clamp(1e-7, 1 - 1e-7)  # the probability of the label
    return (torch.log(p) - torch.log1p(-p)) * (2 * labels - 1)


def shares_from_tails(counts: torch.Tensor) -> torch.Tensor:
    """``(2,)`` float64 clean shares of the label-0 and label-1 buckets from ``counts (2, BINS)``,
    each bucket's scores counted by bin, lowest first (the module docstring's ``c0``, ``c1``)."""
    mass = counts.double() / counts.double().sum(1, keepdim=True).clamp(min=1)
    upper = mass.flip(1).cumsum(1).flip(1)  # at this bin or above
    lower = mass.cumsum(1)  # at this bin or below
    none = torch.tensor(float("inf"), dtype=torch.float64, device=counts.device)
    a = torch.where(upper[1] >= LEAST, upper[0] / upper[1].clamp(min=1e-12), none).min()
    b = torch.where(lower[0] >= LEAST, lower[1] / lower[0].clamp(min=1e-12), none).min()
    apart = 1 - a * b
    c = torch.stack([1 - a, 1 - b]) / apart.clamp(min=1e-6)
    return torch.where(apart > 1e-6, c, torch.ones_like(c)).nan_to_num(1.0).clamp(FLOOR, 1.0)


class TailRatio(BalancedThenPublished):
    """The shipped warm-up, counting both models' class-1 logits per label in its last epoch;
    then the peer's lowest share of each label that those counts estimate as clean."""

    def reset(self) -> None:
        super().reset()
        self.counts: torch.Tensor | None = None  # (2, BINS) over the last warm-up epoch
        self.keep: torch.Tensor | None = None  # (2,) float64, estimated at the switch

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        if self.epoch < self.switch:
            if self.epoch == self.switch - 1:
                self.count(labels.clamp(0, 1), loss)
            return None
        if self.keep is None:
            self.keep = (shares_from_tails(self.counts) if self.counts is not None else
                         torch.ones(2, dtype=torch.float64, device=labels.device))
        return keep_lowest(labels.clamp(0, 1), loss.flip(0), self.keep)

    def count(self, labels: torch.Tensor, loss: torch.Tensor) -> None:
        """Add this call's two models' logits to the per-label counts."""
        z = class_1_logit(labels, loss)
        bins = ((z + LIMIT) * (BINS / (2 * LIMIT))).floor().clamp(0, BINS - 1).long()
        flat = torch.bincount((labels * BINS + bins).reshape(-1), minlength=2 * BINS)
        if self.counts is None:
            self.counts = torch.zeros(2, BINS, dtype=torch.long, device=labels.device)
        self.counts += flat.reshape(2, BINS)


tail_ratio = TailRatio()
