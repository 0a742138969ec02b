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


class EpochOf(base.Strategy):
    """Answers each call with the epoch it places the call in; keeps a mask from epoch 1 on."""

    restarts, epochs = True, 2

    def kept(self, labels, loss):
        return (loss < 0.5) if self.epoch >= 1 else None

    def select(self, labels, loss):
        index = torch.tensor([self.epoch])
        return [index, index.clone()]


def test_a_strategy_restarts_at_its_runs_end_at_a_larger_call_and_at_its_first_call_repeated():
    gen = torch.Generator().manual_seed(0)
    labels = [torch.randint(0, 2, (n,), generator=gen) for n in (4, 4, 2)]
    # Losses above 0.5: the epoch-1 mask keeps nothing. Fresh losses for every call.
    calls = [(t, [torch.rand(t.numel(), generator=gen) + 1] * 2) for _ in range(4) for t in labels]
    rule = EpochOf()
    answers = [rule(t, x)[0].tolist() for t, x in calls[:9]]
    assert answers == [[0]] * 3 + [[]] * 3 + [[0]] * 3  # two epochs, then a new run
    rule.reset()
    rule(*calls[2])  # a trial on a small batch: the run's first call ...
    assert rule(*calls[0])[0].tolist() == [0] and rule.counter.calls == 1  # ... then a larger one
    for t, x in calls[1:5]:
        rule(t, x)
    assert rule.epoch == 1 and rule.counter.calls == 5
    assert rule(*calls[0])[0].tolist() == [0] and rule.counter.calls == 1  # the first call again


def test_a_kept_mask_is_taken_in_batch_order_and_checks_the_labels_in_its_one_read():
    rule, loss = EpochOf(), [torch.tensor([0.1, 0.9, 0.2, 0.3])] * 2
    rule.epoch, rule.counts_epochs, rule.restarts = 1, False, False  # always the mask
    assert [o.tolist() for o in rule(torch.tensor([1, 0, 0, 1]), loss)] == [[0, 2, 3]] * 2
    with pytest.raises(ValueError, match="labels 0 or 1, but got 2"):
        rule(torch.tensor([1, 2, 0, 1]), loss)
