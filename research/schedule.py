"""Research: a schedule by epoch, every sample with the labels balanced first, the published
rule after (docs/SELECTION.md). Formerly the registered ``x-all-balanced`` and ``x-balanced-2``;
``x-balanced-2`` became the shipped rule, so ``balanced_2`` is that rule (tests/test_research.py
checks it selects what ``x-balanced-2`` measured: ``all_balanced`` for two epochs, then
``fixed-rates``).

    noisy-select bench research/schedule.py:all_balanced your_select_indices --seeds 0-2

The published rule selects from the start, when the peer's loss ranks the label-0 bucket at
random (AUC about 0.53 in epoch 1): on some seeds its models lock onto the wrong half and never
recover (on `fashion-tops` three of ten seeds end with a label-0 precision of 0.80 and a test
AUC of 0.87, against 0.87-0.90 and 0.95-0.97 on the others). Training on every sample with the
labels balanced ranks far better early (validation AUC 0.93 after one epoch, 0.94 after two,
against 0.88 and 0.86), so selecting only after such a warm-up starts the selection from a
model that can tell the wrong labels apart.
"""

from __future__ import annotations

from noisy_select.strategies.adaptive import AdaptiveSelection
from noisy_select.strategies.shipped import BalancedThenPublished

# Every sample, the labels balanced by repetition (balanced error is noise-tolerant: Menon et al.
# 2015); for two epochs before the published rule (``fixed-rates``), the shipped rule.
all_balanced = AdaptiveSelection(keep=(1.0, 1.0))
balanced_2 = BalancedThenPublished()
