"""train/diagnostics.py: what a selection kept, against the clean labels."""

import math

import pytest
import torch

from noisy_select.train import diagnostics


def test_selection_counts_on_a_hand_made_batch():
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    clean = torch.tensor([0, 1, 0, 1, 1, 1, 0])  # correct: 0, 2 (label 0); 4, 5 (label 1)
    idx = torch.tensor([0, 1, 1, 4, 6])  # index 1 twice: counted once
    counts = diagnostics.selection_counts(labels, clean, idx)
    assert counts.tolist() == [[4, 2, 1, 2], [3, 2, 1, 2]]
    stats = diagnostics.precision_recall(counts)
    assert stats["precision"] == [0.5, 0.5]  # label 0: {0 ok, 1 wrong}; label 1: {4 ok, 6 wrong}
    assert stats["recall"] == [0.5, 0.5]  # label 0: 1 of {0, 2}; label 1: 1 of {4, 5}
    assert stats["keep_rate"] == [0.5, pytest.approx(2 / 3)]
    none = torch.tensor([], dtype=torch.long)
    empty = diagnostics.precision_recall(diagnostics.selection_counts(labels, clean, none))
    assert math.isnan(empty["precision"][0]) and empty["recall"] == [0.0, 0.0]
