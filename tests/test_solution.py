"""The shipped rule (``noisy_select.solution``) against independent computations."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from noisy_select import solution
from noisy_select.solution import (
    MAX_LOSS,
    PUBLISHED_KEEP,
    ClassWiseCoTeaching,
    keep_lowest,
    rank_in_class,
)


def reference(labels: list[int], peer: list[float], keep: tuple[float, float]) -> list[int]:
    """Brute force: per label, sort (loss as float32, NaN/inf as MAX_LOSS, index) and keep
    floor(n * share) of them; the lowest loss of the batch when that keeps nothing. Indices in
    batch order."""
    as_float32 = torch.tensor(peer, dtype=torch.float32).tolist()  # the rule ranks float32 losses
    clean = [MAX_LOSS if not math.isfinite(v) else min(max(v, 0.0), MAX_LOSS) for v in as_float32]
    kept = set()
    for c in (0, 1):
        members = sorted((clean[i], i) for i in range(len(labels)) if labels[i] == c)
        kept |= {i for _, i in members[: math.floor(len(members) * keep[c] + 1e-9)]}
    if labels and not kept:
        kept = {min(range(len(labels)), key=lambda i: (clean[i], i))}
    return sorted(kept)


losses_st = st.one_of(st.floats(0, 40), st.just(float("nan")), st.just(float("inf")),
                      st.sampled_from([0.5, 1.0]))  # repeated values: ties keep batch order


@settings(max_examples=200, deadline=None)
@given(data=st.data(), keep=st.sampled_from([PUBLISHED_KEEP, (0.85, 0.85), (0.0, 1.0), (1.0, 0.3)]))
def test_each_model_gets_the_lowest_share_of_each_label_by_its_peer(data, keep):
    n = data.draw(st.integers(1, 60))
    labels = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    a, b = (data.draw(st.lists(losses_st, min_size=n, max_size=n)) for _ in range(2))
    out = ClassWiseCoTeaching(keep)(torch.tensor(labels), [torch.tensor(a), torch.tensor(b)])
    assert out[0].tolist() == reference(labels, b, keep)  # model 1 learns from model 2's pick
    assert out[1].tolist() == reference(labels, a, keep)


def test_a_hand_worked_batch():
    # Label 0: losses 0.1 .. 0.6 at indices 0-5 (keep floor(6 * 0.5) = 3);
    # label 1: 15 samples at indices 6-20, peer loss decreasing (keep floor(15 * 0.93) = 13).
    labels = torch.tensor([0] * 6 + [1] * 15)
    peer = torch.tensor([0.6, 0.1, 0.5, 0.2, 0.4, 0.3] + [2.0 - 0.1 * i for i in range(15)])
    out = solution.new_select_indices()(labels, [peer.clone(), peer])
    assert out[0].tolist() == [1, 3, 5] + list(range(8, 21))  # 6 and 7 have the top losses


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


def test_inputs_are_not_changed_and_only_an_empty_batch_gives_an_empty_selection():
    targets = torch.tensor([0, 1, 1, 0, 1], dtype=torch.int32)
    losses = [torch.tensor([0.3, float("nan"), 2.0, 0.1, 0.5], requires_grad=True),
              torch.tensor([1.0, 0.2, float("inf"), 0.4, 0.3], requires_grad=True)]
    before = [targets.clone()] + [x.detach().clone() for x in losses]
    out = solution.your_select_indices(targets, losses)
    assert torch.equal(targets, before[0]) and targets.dtype == torch.int32
    for x, y in zip(losses, before[1:]):
        assert torch.allclose(x.detach(), y, equal_nan=True)
    assert all(o.numel() > 0 and not o.requires_grad for o in out)
    empty = solution.your_select_indices(torch.zeros(0, dtype=torch.long), [torch.zeros(0)] * 2)
    assert [o.numel() for o in empty] == [0, 0]


def test_keep_shares_are_checked():
    with pytest.raises(ValueError, match="two keep shares in"):
        ClassWiseCoTeaching((0.5, 1.5))


def test_the_rule_stays_within_sixty_top_level_ops_per_call():
    from noisy_select.speed import count_ops

    ops = count_ops("your_select_indices")
    assert ops["max_ops"] <= 60
    assert ops["seed_ops"] < ops["max_ops"]  # the seed's rule is leaner, and syncs twice


def test_a_mean_loss_says_how_to_get_one_loss_per_sample():
    with pytest.raises(ValueError, match=r"got shape \(\) \(a mean loss: use "
                                         r"nn.CrossEntropyLoss\(reduction='none'\)"):
        solution.your_select_indices(torch.tensor([0, 1, 1]), [torch.tensor(0.5), torch.rand(3)])
