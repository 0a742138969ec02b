"""``strategies.anchors``: the published anchors against the seed notebook's code and brute force."""

import math

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from noisy_select.strategies import anchors
from noisy_select.strategies.anchors import ClassWiseCoTeaching
from noisy_select.strategies.base import MAX_LOSS, PUBLISHED_KEEP
from noisy_select.strategies.registry import make_strategy


def seed_filter_for_peer(targets, peer_loss, keep_ratio):
    """The seed notebook's own code (its solution cell), as the reference."""
    batch_size = targets.shape[0]
    indices = torch.arange(batch_size)
    c0_mask, c1_mask = (targets == 0), (targets == 1)
    c0_keep = int(c0_mask.sum().item() * keep_ratio)
    c1_keep = int(c1_mask.sum().item() * keep_ratio)
    _, s0 = torch.sort(peer_loss[c0_mask])
    sel0 = indices[c0_mask][s0[:c0_keep]]
    _, s1 = torch.sort(peer_loss[c1_mask])
    sel1 = indices[c1_mask][s1[:c1_keep]]
    return torch.cat([sel0, sel1])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0, 10)), min_size=4, max_size=60,
                unique_by=lambda t: t[1]))
def test_seed_coteaching_matches_the_seed_notebook(batch):
    targets = torch.tensor([t for t, _ in batch])
    losses = [torch.tensor([v for _, v in batch]), torch.tensor([v * 0.5 + 1 for _, v in batch])]
    # The seed's strategy can select nothing where a label has fewer than 2; ours keeps one.
    assume(min(int((targets == 0).sum()), int((targets == 1).sum())) >= 2)
    ours = make_strategy("seed-coteaching")(targets, losses)
    ref = [seed_filter_for_peer(targets, losses[1], 0.85), seed_filter_for_peer(targets, losses[0], 0.85)]
    for a, b in zip(ours, ref):
        assert sorted(a.tolist()) == sorted(b.tolist())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0, 10)), min_size=1, max_size=130,
                unique_by=lambda t: t[1]))
def test_seed_solution_is_the_seed_notebooks_cell_index_for_index(batch):
    # The same indices in the same order, a batch with one label or of one sample included.
    targets = torch.tensor([t for t, _ in batch])
    losses = [torch.tensor([v for _, v in batch]), torch.tensor([v * 0.5 + 1 for _, v in batch])]
    ours = make_strategy("seed-solution")(targets, losses)
    ref = [seed_filter_for_peer(targets, losses[1], 0.85), seed_filter_for_peer(targets, losses[0], 0.85)]
    assert [a.tolist() for a in ours] == [b.tolist() for b in ref]


def test_fixed_rates_keep_half_of_label_zero_and_most_of_label_one():
    targets = torch.tensor([0] * 10 + [1] * 10)
    peer = torch.arange(20, dtype=torch.float32)
    sel = make_strategy("fixed-rates")(targets, [torch.zeros(20), peer])[0]
    assert sorted(sel.tolist()) == [0, 1, 2, 3, 4] + list(range(10, 19))


def test_coteaching_forget_rate_ramps_by_epoch():
    rule = anchors.CoTeaching(tau=0.4, t_k=2)
    targets = torch.randint(0, 2, (100,), generator=torch.Generator().manual_seed(0))
    # 100 samples: an epoch is 3 batches of 40, 40, 20
    sizes = []
    for _ in range(3):
        for start, stop in ((0, 40), (40, 80), (80, 100)):
            t = targets[start:stop]
            sizes.append(len(rule(t, [torch.rand(len(t)), torch.rand(len(t))])[0]))
    assert sizes == [40, 40, 20, 32, 32, 16, 24, 24, 12]


def reference(labels: list[int], peer: list[float], keep: tuple[float, float]) -> list[int]:
    """Brute force: per label, sort (loss as float32, NaN/inf as MAX_LOSS, index) and keep
    floor(n * share) of them; the lowest loss of the batch when that keeps nothing. Indices in
    batch order."""
    as_float32 = torch.tensor(peer, dtype=torch.float32).tolist()  # the strategy ranks float32 losses
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


def test_keep_shares_are_checked():
    with pytest.raises(ValueError, match="two keep shares in"):
        ClassWiseCoTeaching((0.5, 1.5))
