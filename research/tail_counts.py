"""Research instrument: what `tail_ratio.py` sees at its switch, and how sure it can be of it
(issue 28; docs/SELECTION.md section 13).

    TAIL_COUNTS_OUT=digits.jsonl noisy-select bench research/tail_counts.py:tail_counts \
        --scenarios digits --seeds 0-9 --epochs 3 --loop official -r /tmp/rows.jsonl
    python research/tail_counts.py digits.jsonl

The rule is `tail_ratio` unchanged (its own file, read with ``runpy`` as the tests read it), so
the run is `tail_ratio`'s run; at its first call after the warm-up it appends the per-label
counts of the last warm-up epoch to the JSON-lines file ``TAIL_COUNTS_OUT`` (nothing where that
is not set). Three epochs are
enough: the estimate is made at the start of the third. The bench's own-rule check runs the rule
once on a made-up run first, which writes a line too; run one seed per command (``-j 1``) and
keep every second line, or read the ``scores`` total.

``python research/tail_counts.py FILE`` prints, per line, the two tail ratios ``a`` and ``b``,
how many scores of each bucket hold the tail where each ratio is smallest, the separation
``1 - ab`` (the estimate's denominator) and the shares. The bound's noise is a ratio of counts:
a tail of ``n`` scores carries a relative error of about ``1 / sqrt(n)``, and the smallest ratio
over many thresholds is biased low where the tails are thin.
"""

from __future__ import annotations

import json
import os
import runpy
import sys

import torch

_TAILS = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "tail_ratio.py"))
OUT = "TAIL_COUNTS_OUT"


class TailCounts(_TAILS["TailRatio"]):
    """`tail_ratio`, writing its counts once per run, at the switch."""

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor | None:
        path = os.environ.get(OUT)  # unset: the rule is tail_ratio and writes nothing
        if path and self.epoch >= self.switch and self.keep is None and self.counts is not None:
            with open(path, "a") as f:
                f.write(json.dumps({"counts": self.counts.tolist()}) + "\n")
        return super().kept(labels, loss)


def read(counts: torch.Tensor) -> dict:
    """The bound's parts from ``counts (2, BINS)``: the ratios, their tails' sizes, the shares."""
    c = counts.double()
    upper, lower = c.flip(1).cumsum(1).flip(1), c.cumsum(1)  # scores at or above / below a bin
    mass_up, mass_low = upper / c.sum(1, keepdim=True), lower / c.sum(1, keepdim=True)
    inf = torch.tensor(float("inf"), dtype=torch.float64)
    ratio_a = torch.where(mass_up[1] >= _TAILS["LEAST"], mass_up[0] / mass_up[1].clamp(min=1e-12), inf)
    ratio_b = torch.where(mass_low[0] >= _TAILS["LEAST"], mass_low[1] / mass_low[0].clamp(min=1e-12), inf)
    i, j = int(ratio_a.argmin()), int(ratio_b.argmin())
    a, b = float(ratio_a[i]), float(ratio_b[j])
    shares = _TAILS["shares_from_tails"](counts).tolist()
    return {"scores": c.sum(1).int().tolist(), "a": a, "a_tails": upper[:, i].int().tolist(),
            "b": b, "b_tails": lower[[1, 0], j].int().tolist(), "apart": 1 - a * b,
            "shares": shares}


tail_counts = TailCounts()

if __name__ == "__main__":
    print("scores (label 0, 1) | a, its tails (label 0, 1) | b, its tails (label 1, 0) | 1 - ab | shares")
    for line in open(sys.argv[1]):
        r = read(torch.tensor(json.loads(line)["counts"]))
        print(f"{r['scores']} | {r['a']:.3f} {r['a_tails']} | {r['b']:.3f} {r['b_tails']} | "
              f"{r['apart']:.3f} | {r['shares'][0]:.3f} / {r['shares'][1]:.3f}")
