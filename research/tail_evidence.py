"""Research: the published shares, moved only as far as the warm-up's score tails show them wrong
(issue 28, step 2: "estimated keep shares" with a fallback; docs/SELECTION.md section 14).

    noisy-select bench research/tail_evidence.py:tail_evidence your_select_indices \
        --scenarios digits --seeds 0-9 --loop official

`tail_ratio.py` estimates both labels' clean shares at the switch from two tail ratios, the
mixture proportion bound on each label bucket (its docstring has the algebra):

    c0 = (1 - a) / (1 - a b),    c1 = (1 - b) / (1 - a b).

Where the tails hold enough scores that estimate is close (``fashion-tops`` seed 1: 0.511 /
0.904 against the clean 0.500 / 0.905); on 1,000 images it scatters from 0.2 to 0.93, because a
ratio of a few counts is noisy and the smallest of many such ratios is biased low (section 13).
This rule gives each ratio an interval instead of a value, and lets the data move the shares
only where they must:

- each tail ratio ``r = (n / N) / (m / M)`` of two counts gets ``r exp(+-Z s)`` with
  ``s^2 = 1 / n + 1 / m`` (the delta method on the log of two binomial counts), each count
  plus a half (Haldane's correction: an empty tail still has a ratio and an upper end);
  the counts are per sample, half the scores, since the two models score a sample almost alike;
- the threshold of each ratio is the one whose upper end is smallest, so a thin tail, whose
  upper end is high, is not chosen for a low value it got by chance;
- the intervals of ``a`` and ``b`` give each share's interval (``c0`` falls with ``a`` and rises
  with ``b``; ``c1`` the other way), and each label keeps the published share moved to the
  nearest end of its interval: unchanged where the interval holds it, and unchanged for both
  labels where the two ratios' upper ends leave no separation (``a b`` near 1) or where a label
  has no scores;
- after that the rule is the shipped one at those shares (the peer's lowest, in batch order).

``Z = 2`` (two standard errors) is the estimator's one constant besides `tail_ratio`'s bins;
nothing in it is fitted to a proxy's noise. The thresholds are many, so two standard errors at
each are not a 95% interval on the smallest; the choice by the upper end is what guards against
the low bias. Where the data say nothing the rule is the shipped one, selection for selection.

Where ``TAIL_EVIDENCE_OUT`` names a file, a run appends its counts and shares there at the
switch (the bench's own-rule check writes a line first, from its made-up run).
"""

from __future__ import annotations

import json
import os
import runpy

import torch

from noisy_select.strategies.base import PUBLISHED_KEEP, keep_lowest

_TAILS = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "tail_ratio.py"))
Z = 2.0  # an interval of two standard errors on each tail ratio's log
OUT = "TAIL_EVIDENCE_OUT"  # where set, the counts and shares at the switch are appended there


def ratio_intervals(counts: torch.Tensor) -> torch.Tensor:
    """``(2, 3)`` float64: rows ``a`` (label 0's upper tail over label 1's) and ``b`` (label 1's
    lower tail over label 0's), each ``(low, value, high)`` at the threshold whose high end is
    smallest, from ``counts (2, BINS)``, each label bucket's scores counted by bin, lowest first."""
    c = counts.double() / 2  # per sample: both models score each sample of the epoch
    below = c.cumsum(1)  # at this bin or below
    total = below[:, -1:]
    # the tails of each ratio, numerator first: a over the upper tails (strictly above a bin),
    # b over the lower ones (at it or below); (ratio, label of numerator then denominator, bin)
    tails = torch.stack([total - below, below.flip(0)])
    sizes = torch.stack([total, total.flip(0)])
    tails = tails + 0.5  # Haldane's half: an empty tail has a ratio, and an upper end above 0
    r = (tails[:, 0] / sizes[:, 0]) / (tails[:, 1] / sizes[:, 1])
    spread = torch.exp(Z * (1 / tails).sum(1).sqrt())
    high = r * spread
    at = high.argmin(1, keepdim=True)
    return torch.cat([(r / spread).gather(1, at), r.gather(1, at), high.gather(1, at)], 1)


def checked_shares(counts: torch.Tensor, published=PUBLISHED_KEEP) -> torch.Tensor:
    """``(2,)`` float64: each label's ``published`` share moved to the nearest end of the
    interval that ``ratio_intervals`` gives it; ``published`` as it is where the upper ends do
    not separate the buckets or a label has no scores."""
    (a_low, _, a_high), (b_low, _, b_high) = ratio_intervals(counts).clamp(max=1.0)
    apart = 1 - a_high * b_high  # the smallest separation the intervals allow; ends below need it
    known = (apart > 1e-6) & (counts.sum(1) > 0).all()  # and both labels seen
    ends = torch.stack([(1 - a_high) / (1 - a_high * b_low), (1 - a_low) / (1 - a_low * b_high),
                        (1 - b_high) / (1 - a_low * b_high), (1 - b_low) / (1 - a_high * b_low)])
    low, high = ends.reshape(2, 2).clamp(0.0, 1.0).unbind(1)
    keep = torch.tensor(published, dtype=torch.float64, device=counts.device)
    return torch.where(known, torch.minimum(torch.maximum(keep, low), high), keep)


class TailEvidence(_TAILS["TailRatio"]):
    """`tail_ratio`'s counts over the last warm-up epoch; then the peer's lowest published share
    of each label, moved only as far as those counts show it wrong."""

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        if self.epoch < self.switch:
            if self.epoch == self.switch - 1:
                self.count(labels.clamp(0, 1), loss)
            return None
        if self.keep is None:
            self.keep = (checked_shares(self.counts) if self.counts is not None else
                         torch.tensor(PUBLISHED_KEEP, dtype=torch.float64, device=labels.device))
            if os.environ.get(OUT) and self.counts is not None:  # an instrument: off unless set
                with open(os.environ[OUT], "a") as f:
                    f.write(json.dumps({"counts": self.counts.tolist(), "keep": self.keep.tolist()}) + "\n")
        return keep_lowest(labels.clamp(0, 1), loss.flip(0), self.keep)


tail_evidence = TailEvidence()
