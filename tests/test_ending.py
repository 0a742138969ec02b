import pytest
import torch

from noisy_select.strategies.anchors import ClassWiseCoTeaching
from noisy_select.strategies.ending import EndOfTraining

PUBLISHED = ClassWiseCoTeaching()


def _calls(rule, sizes, seed=0):
    """Empty (True) or not, per call, for batches of ``sizes``."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for n in sizes:
        t = torch.randint(0, 2, (n,), generator=gen)
        sel = rule(t, [torch.rand(n, generator=gen), torch.rand(n, generator=gen)])
        out.append(len(sel[0]) == 0 and len(sel[1]) == 0)
    return out


def test_the_last_calls_of_the_run_select_nothing_once_the_short_batch_tells_the_epoch():
    epoch = [128] * 9 + [16]  # 10 calls an epoch, as 1,168 images give
    empty = _calls(EndOfTraining(PUBLISHED, window=7, epochs=3), epoch * 3)
    assert [i for i, e in enumerate(empty) if e] == list(range(23, 30))


def test_a_window_longer_than_what_is_left_starts_as_soon_as_the_epoch_is_known():
    empty = _calls(EndOfTraining(PUBLISHED, window=100, epochs=2), [128, 128, 16] * 2)
    assert empty == [False, False, True, True, True, True]


def test_data_a_multiple_of_the_batch_size_is_told_by_the_labels_coming_round_again():
    gen = torch.Generator().manual_seed(1)
    epoch = [torch.randint(0, 2, (128,), generator=gen) for _ in range(4)]
    rule = EndOfTraining(PUBLISHED, window=3, epochs=4)
    empty = [len(rule(t, [torch.rand(128), torch.rand(128)])[0]) == 0 for t in epoch * 4]
    assert [i for i, e in enumerate(empty) if e] == [13, 14, 15]


def test_the_short_batch_option_empties_each_epochs_last_batch_only():
    empty = _calls(EndOfTraining(PUBLISHED, window=0, short_batch=True, epochs=2), [128, 128, 16] * 2)
    assert empty == [False, False, True, False, False, True]


def test_outside_the_window_it_is_the_inner_rule_and_reset_starts_afresh():
    from noisy_select.strategies.registry import make_strategy

    rule, inner = make_strategy("x-end-25"), make_strategy("fixed-rates")
    t, losses = torch.tensor([0, 1, 1, 0, 1]), [torch.rand(5), torch.rand(5)]
    for a, b in zip(rule(t, losses), inner(t, losses)):
        assert torch.equal(a, b)
    _calls(rule, [128, 128, 16])
    rule.reset()
    assert rule.counter.calls == 0 and rule.counter.epoch_length is None
    assert rule.inner.check.checked is False  # the inner strategy is reset with it


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="window"):
        EndOfTraining(PUBLISHED, window=-1)
