import pytest
import torch

from noisy_select.strategies.schedule import EpochSchedule


class Tagged:
    """A strategy that answers with one index telling which phase it is, and counts resets."""

    def __init__(self, tag: int) -> None:
        self.tag, self.resets = tag, 0

    def reset(self) -> None:
        self.resets += 1

    def __call__(self, targets, losses):
        index = torch.tensor([self.tag])
        return [index, index.clone()]


def _phases(rule, batches):
    gen = torch.Generator().manual_seed(0)
    out = []
    for t in batches:
        t = torch.randint(0, 2, (t,), generator=gen) if isinstance(t, int) else t
        out.append(int(rule(t, [torch.rand(t.numel()), torch.rand(t.numel())])[0][0]))
    return out


def test_the_short_batch_ends_the_epoch_and_the_switch_epoch_goes_to_late():
    rule = EpochSchedule(Tagged(0), Tagged(1), switch=2)
    assert _phases(rule, [128, 128, 16] * 4) == [0] * 6 + [1] * 6


def test_data_a_multiple_of_the_batch_size_is_told_by_the_labels_coming_round_again():
    gen = torch.Generator().manual_seed(1)
    epoch = [torch.randint(0, 2, (128,), generator=gen) for _ in range(3)]
    rule = EpochSchedule(Tagged(0), Tagged(1), switch=1)
    assert _phases(rule, epoch * 3) == [0] * 3 + [1] * 6


def test_switch_zero_is_late_only_and_reset_starts_both_phases_afresh():
    early, late = Tagged(0), Tagged(1)
    rule = EpochSchedule(early, late, switch=0)
    assert _phases(rule, [128, 16]) == [1, 1]
    assert (early.resets, late.resets) == (1, 1)
    rule = EpochSchedule(early, late, switch=1)
    _phases(rule, [128, 16, 128])
    rule.reset()
    assert rule.counter.calls == 0 and (early.resets, late.resets) == (3, 3)
    assert _phases(rule, [128]) == [0]


def test_x_balanced_2_is_the_balanced_rule_for_two_epochs_then_the_published_one():
    from noisy_select.strategies.registry import make_strategy

    rule = make_strategy("x-balanced-2")
    early, late = make_strategy("x-all-balanced"), make_strategy("fixed-rates")
    gen = torch.Generator().manual_seed(2)
    epoch = [(torch.randint(0, 2, (n,), generator=gen), [torch.rand(n, generator=gen) for _ in "ab"])
             for n in (128, 128, 7)]
    for e in range(3):
        for t, losses in epoch:
            want = (early if e < 2 else late)(t, losses)
            for a, b in zip(rule(t, losses), want):
                assert torch.equal(a, b)


def test_a_negative_switch_is_refused():
    with pytest.raises(ValueError, match="switch"):
        EpochSchedule(Tagged(0), Tagged(1), switch=-1)
