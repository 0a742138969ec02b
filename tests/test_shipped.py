"""The shipped strategy (``noisy_select.strategies.shipped``) against independent computations."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from noisy_select.strategies import shipped
from noisy_select.strategies.base import PUBLISHED_KEEP


def test_a_hand_worked_batch():
    # Label 0: losses 0.1 .. 0.6 at indices 0-5 (keep floor(6 * 0.5) = 3);
    # label 1: 15 samples at indices 6-20, peer loss decreasing (keep floor(15 * 0.93) = 13).
    labels = torch.tensor([0] * 6 + [1] * 15)
    peer = torch.tensor([0.6, 0.1, 0.5, 0.2, 0.4, 0.3] + [2.0 - 0.1 * i for i in range(15)])
    out = shipped.your_select_indices(labels, [peer.clone(), peer])
    assert out[0].tolist() == [1, 3, 5] + list(range(8, 21))  # 6 and 7 have the top losses


def test_inputs_are_not_changed_and_only_an_empty_batch_gives_an_empty_selection():
    targets = torch.tensor([0, 1, 1, 0, 1], dtype=torch.int32)
    losses = [torch.tensor([0.3, float("nan"), 2.0, 0.1, 0.5], requires_grad=True),
              torch.tensor([1.0, 0.2, float("inf"), 0.4, 0.3], requires_grad=True)]
    before = [targets.clone()] + [x.detach().clone() for x in losses]
    out = shipped.your_select_indices(targets, losses)
    assert torch.equal(targets, before[0]) and targets.dtype == torch.int32
    for x, y in zip(losses, before[1:]):
        assert torch.allclose(x.detach(), y, equal_nan=True)
    assert all(o.numel() > 0 and not o.requires_grad for o in out)
    empty = shipped.your_select_indices(torch.zeros(0, dtype=torch.long), [torch.zeros(0)] * 2)
    assert [o.numel() for o in empty] == [0, 0]


def test_the_rule_stays_within_sixty_top_level_ops_per_call():
    from noisy_select.bench.speed import count_ops

    ops = count_ops("your_select_indices")
    assert ops["max_ops"] <= 60
    assert ops["seed_ops"] < ops["max_ops"]  # the seed's strategy is leaner, and syncs twice


def test_a_mean_loss_says_how_to_get_one_loss_per_sample():
    with pytest.raises(ValueError, match=r"got shape \(\) \(a mean loss: use "
                                         r"nn.CrossEntropyLoss\(reduction='none'\)"):
        shipped.your_select_indices(torch.tensor([0, 1, 1]), [torch.tensor(0.5), torch.rand(3)])


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_the_shipped_strategy_is_the_published_one(data):
    from noisy_select.strategies.anchors import ClassWiseCoTeaching

    n = data.draw(st.integers(0, 140))
    labels = torch.tensor(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
                          dtype=torch.long)
    values = st.one_of(st.floats(0, 40), st.just(float("nan")), st.sampled_from([0.5, 1.0]))
    losses = [torch.tensor(data.draw(st.lists(values, min_size=n, max_size=n))) for _ in range(2)]
    published = ClassWiseCoTeaching(PUBLISHED_KEEP)
    for ours, theirs in zip(shipped.your_select_indices(labels, losses), published(labels, losses)):
        assert torch.equal(ours, theirs)  # the same indices in the same order
