"""``strategies.base``: the checks and the per-batch maths every strategy shares."""


import pytest
import torch

from noisy_select.strategies import base
from noisy_select.strategies.base import PUBLISHED_KEEP, keep_lowest, rank_in_class


def test_epoch_counter_finds_epochs_from_a_short_last_batch_and_from_repeats():
    counter = base.EpochCounter()
    a, b, c = torch.tensor([0, 1, 1]), torch.tensor([1, 1, 0]), torch.tensor([0])
    assert [counter.step(x) for x in (a, b, c, a, b, c)] == [
        (0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    counter = base.EpochCounter()  # equal batch sizes: found when batch 0 comes back
    assert [counter.step(x) for x in (a, b, a, b, a)] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]
    counter = base.EpochCounter()  # a repeat that later calls contradict is dropped
    steps = [counter.step(x) for x in (a, a, b, a, a, b, a)]
    assert steps[2:] == [(0, 2), (1, 0), (1, 1), (1, 2), (2, 0)]


def test_keep_lowest_rounded_keeps_at_least_one_of_each_label():
    labels = torch.tensor([0, 0, 0, 0, 1, 1])
    score = torch.tensor([0.4, 0.1, 0.3, 0.2, 0.9, 0.5])
    keep = base.keep_lowest(labels, score, torch.tensor([0.5, 0.0]), rounding="round")
    assert keep.tolist() == [False, True, False, True, False, True]  # at least one per label
    keep = base.keep_lowest(labels, score, torch.tensor([0.5, 0.0]))  # floor: none of label 1
    assert keep.tolist() == [False, True, False, True, False, False]
    with pytest.raises(ValueError, match="Expected `rounding` in"):
        base.keep_lowest(labels, score, torch.tensor([0.5, 0.0]), rounding="ceil")


def test_rank_in_class_matches_a_sort_per_label():
    gen = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 2, (50,), generator=gen)
    score = torch.randint(0, 4, (2, 50), generator=gen).float()  # many ties
    ranks = rank_in_class(labels, score)
    for m in (0, 1):
        for c in (0, 1):
            idx = [i for i in range(50) if labels[i] == c]
            order = sorted(idx, key=lambda i: (score[m, i].item(), i))
            assert [ranks[m, i].item() for i in order] == list(range(len(idx)))


def test_keep_lowest_keeps_one_sample_of_a_batch_of_one():
    mask = keep_lowest(torch.tensor([1]), torch.tensor([[0.3], [0.2]]), torch.tensor(PUBLISHED_KEEP))
    assert mask.tolist() == [[True], [True]]  # floor(0.93) = 0, so the lowest stays
