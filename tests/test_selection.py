import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from noisy_select import selection
from noisy_select.adaptive import (
    AdaptiveConfig,
    AdaptiveSelection,
    class_balanced_weights,
    confident_rates,
    keep_share_per_class,
    mpe_rates,
    otsu_threshold,
    resample,
)
from noisy_select.strategies import REGISTRY, make_strategy


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
    if min(int((targets == 0).sum()), int((targets == 1).sum())) < 2:
        return  # the seed's rule can select nothing there; ours keeps one sample
    ours = make_strategy("seed-coteaching")(targets, losses)
    ref = [seed_filter_for_peer(targets, losses[1], 0.85), seed_filter_for_peer(targets, losses[0], 0.85)]
    for a, b in zip(ours, ref):
        assert sorted(a.tolist()) == sorted(b.tolist())


def test_fixed_rates_keep_half_of_label_zero_and_most_of_label_one():
    targets = torch.tensor([0] * 10 + [1] * 10)
    peer = torch.arange(20, dtype=torch.float32)
    sel = make_strategy("fixed-rates")(targets, [torch.zeros(20), peer])[0]
    assert sorted(sel.tolist()) == [0, 1, 2, 3, 4] + list(range(10, 19))


def test_coteaching_forget_rate_ramps_by_epoch():
    rule = selection.CoTeaching(tau=0.4, t_k=2)
    targets = torch.randint(0, 2, (100,), generator=torch.Generator().manual_seed(0))
    # 100 samples: an epoch is 3 batches of 40, 40, 20
    sizes = []
    for _ in range(3):
        for start, stop in ((0, 40), (40, 80), (80, 100)):
            t = targets[start:stop]
            sizes.append(len(rule(t, [torch.rand(len(t)), torch.rand(len(t))])[0]))
    assert sizes == [40, 40, 20, 32, 32, 16, 24, 24, 12]


def test_epoch_counter_finds_epochs_from_a_short_last_batch_and_from_repeats():
    counter = selection.EpochCounter()
    a, b, c = torch.tensor([0, 1, 1]), torch.tensor([1, 1, 0]), torch.tensor([0])
    assert [counter.step(x) for x in (a, b, c, a, b, c)] == [
        (0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    counter = selection.EpochCounter()  # equal batch sizes: found when batch 0 comes back
    assert [counter.step(x) for x in (a, b, a, b, a)] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]
    counter = selection.EpochCounter()  # a repeat that later calls contradict is dropped
    steps = [counter.step(x) for x in (a, a, b, a, a, b, a)]
    assert steps[2:] == [(0, 2), (1, 0), (1, 1), (1, 2), (2, 0)]


@given(st.floats(1e-4, 20))
def test_margin_is_the_log_odds_of_the_label(loss):
    p = math.exp(-loss)
    expected = math.log(p / (1 - p))
    got = float(selection.margin_from_loss(torch.tensor(loss, dtype=torch.float64)))
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6)


def brute_force_otsu(values):
    values = np.sort(np.asarray(values, dtype=float))
    best, threshold = 0.0, -np.inf
    for k in range(1, len(values)):
        low, high = values[:k], values[k:]
        if high.mean() - low.mean() <= 0 or values[k - 1] == values[k]:
            continue
        between = len(low) * len(high) * (high.mean() - low.mean()) ** 2
        if between > best + 1e-9:
            best, threshold = between, values[k - 1]
    return threshold


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-2000, 2000).map(lambda v: v / 100), min_size=1, max_size=40,
                unique=True),
       st.lists(st.floats(-20, 20), max_size=20))
def test_otsu_matches_a_brute_force_2_means_on_the_masked_values(group, others):
    x = torch.tensor(group + others, dtype=torch.float64)
    mask = torch.tensor([True] * len(group) + [False] * len(others))
    got = float(otsu_threshold(x, mask))
    expected = brute_force_otsu(group)
    if math.isinf(expected):
        assert math.isinf(got)
    else:
        low = [v for v in group if v <= got]
        high = [v for v in group if v > got]
        ref_low = [v for v in group if v <= expected]
        between = len(low) * len(high) * (np.mean(high) - np.mean(low)) ** 2
        ref = len(ref_low) * (len(group) - len(ref_low)) * (
            np.mean([v for v in group if v > expected]) - np.mean(ref_low)) ** 2
        assert between == pytest.approx(ref, rel=1e-6)


def test_otsu_splits_two_clusters_and_leaves_one_value_alone():
    x = torch.tensor([[0.0, 0.1, 0.2, 5.0, 5.1], [1.0, 1.0, 1.0, 1.0, 1.0]])
    t = otsu_threshold(x, torch.ones_like(x, dtype=torch.bool))
    assert t[0] == pytest.approx(0.2) and t[1] == -math.inf


def test_resample_is_proportional_and_never_empty():
    idx = resample(torch.tensor([1.0, 0.0, 3.0]), 4)
    assert torch.bincount(idx, minlength=3).tolist() == [1, 0, 3]
    assert torch.bincount(resample(torch.zeros(3), 6), minlength=3).tolist() == [2, 2, 2]


def test_class_balanced_weights_give_each_class_an_equal_share():
    labels = torch.tensor([0, 0, 0, 1, 1])
    keep = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0])
    w = class_balanced_weights(labels, keep, 1.0)
    assert w.tolist() == [0.5, 0.5, 0.0, 1.0, 0.0]
    w0 = class_balanced_weights(labels, keep, 0.0)
    assert w0.tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]


def test_confident_rates_on_a_hand_made_buffer():
    # Label 0: three confident 0s (p0 = 0.9) and one sample the model puts in class 1
    # (p0 = 0.2); label 1: two confident 1s (p1 = 0.8) and two with p1 = 0.3.
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    p_given = torch.tensor([0.9, 0.9, 0.9, 0.2, 0.8, 0.8, 0.3, 0.3])
    rates = confident_rates(-torch.log(p_given), labels)
    # t0 = mean p0 over label 0 = 0.725, t1 = mean p1 over label 1 = 0.55.
    # Label 0: p0 = 0.2 has p1 = 0.8 >= t1 and p0 < t0: flagged as class 1 -> keep 3/4.
    # Label 1: p1 = 0.3 has p0 = 0.7 < t0: not flagged -> keep 4/4.
    assert rates.tolist() == pytest.approx([0.75, 1.0])
    # Now p0 = 0.9 >= t0 for the label-1 pair: flagged, unless p1 itself clears t1 and wins.
    p_given = torch.tensor([0.9, 0.9, 0.9, 0.2, 0.8, 0.8, 0.1, 0.1])
    rates = confident_rates(-torch.log(p_given), labels)  # t0 = 0.725, t1 = 0.45
    assert rates.tolist() == pytest.approx([0.75, 0.5])
    empty = confident_rates(torch.ones(3), torch.tensor([0, 0, -1]))
    assert empty[1] == 1.0


def test_mpe_rates_on_a_hand_made_buffer():
    # Label 1: four clean class-1 samples, p1 = 0.9 .. 0.6. Label 0: the same four class-1
    # images (wrongly labelled) and four class-0 images with p1 = 0.1.
    p1 = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.9, 0.8, 0.7, 0.6, 0.1, 0.1, 0.1, 0.1])
    labels = torch.tensor([1] * 4 + [0] * 8)
    loss = -torch.log(torch.where(labels == 1, p1, 1 - p1))
    # r0: among the top of label 1 by p1, label 0 reaches half the share -> 0.5; r1 = 0
    # (no label-1 sample looks like class 0) -> n0 = 0.5 * 1 / 1, n1 = 0.
    assert mpe_rates(loss, labels).tolist() == pytest.approx([0.5, 1.0])
    # A model that cannot tell the labels apart: every ratio is 1, so everything is kept.
    assert mpe_rates(torch.full((12,), 0.69), labels).tolist() == [1.0, 1.0]
    assert mpe_rates(loss[:4], labels[:4]).tolist() == [1.0, 1.0]  # one label only


def test_keep_share_per_class_keeps_the_lowest_scores():
    labels = torch.tensor([0, 0, 0, 0, 1, 1])
    score = torch.tensor([0.4, 0.1, 0.3, 0.2, 0.9, 0.5])
    keep = keep_share_per_class(labels, score, torch.tensor([0.5, 0.0]))
    assert keep.tolist() == [False, True, False, True, False, True]  # at least one per class


@pytest.mark.parametrize("rate", ["mpe", "confident"])
def test_adaptive_drops_the_high_loss_samples_and_balances_the_classes(rate):
    # Label 0: ten confident 0s and ten samples the model puts in class 1 (p1 = 0.95);
    # label 1: eighteen confident 1s and two it puts in class 0. Both estimators find 0.5 / 0.9
    # (mpe: r0 = 0.5 / 0.9, r1 = 0.1 / 0.5, so n0 = 0.5 and n1 = 0.1).
    labels = torch.tensor([0] * 20 + [1] * 20)
    peer = torch.cat([torch.full((10,), 0.05), torch.full((10,), 3.0),
                      torch.full((18,), 0.1), torch.full((2,), 4.0)])
    rule = AdaptiveSelection(rate=rate)
    sel = rule(labels, [torch.rand(40), peer])[0]
    assert set(sel.tolist()) == set(range(10)) | set(range(20, 38))
    assert torch.bincount(labels[sel], minlength=2).tolist() == [20, 20]


def test_adaptive_config_is_checked():
    with pytest.raises(ValueError, match="rate"):
        AdaptiveConfig(rate="median")
    with pytest.raises(ValueError, match="balance"):
        AdaptiveSelection(balance=2.0)


# --- every registered strategy: the robustness contract --------------------------------

NAMES = sorted(REGISTRY)


def fresh(name, clean=None):
    return make_strategy(name, clean_fn=lambda: clean)


def check_output(out, labels, name=None):
    assert isinstance(out, list) and len(out) == 2
    empty_ok = name is not None and REGISTRY[name].selects_nothing_at_times
    for idx in out:
        assert idx.dtype == torch.long and idx.device == labels.device
        if labels.numel() and not empty_ok:
            assert idx.numel() > 0
        if idx.numel():
            assert int(idx.min()) >= 0 and int(idx.max()) < labels.numel()


loss_values = st.one_of(st.floats(0, 50), st.just(float("nan")), st.just(float("inf")))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_every_strategy_survives_arbitrary_batches(name, data):
    n = data.draw(st.integers(1, 70))
    labels = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    dtype = data.draw(st.sampled_from([torch.int64, torch.int32, torch.int16, torch.uint8]))
    targets = torch.tensor(labels, dtype=dtype)
    losses = [torch.tensor(data.draw(st.lists(loss_values, min_size=n, max_size=n)),
                           requires_grad=True) for _ in range(2)]
    rule = fresh(name, clean=torch.tensor(labels))
    for _ in range(3):  # later calls use the state of earlier ones
        check_output(rule(targets, losses), targets.reshape(-1), name)


@pytest.mark.parametrize("name", NAMES)
def test_no_strategy_changes_its_inputs(name):
    gen = torch.Generator().manual_seed(2)
    targets = torch.randint(0, 2, (64,), generator=gen, dtype=torch.int32)
    losses = [torch.rand(64, generator=gen, requires_grad=True) for _ in range(2)]
    losses[0].data[3] = float("nan")
    before = [targets.clone()] + [x.detach().clone() for x in losses]
    rule = fresh(name, clean=targets.long())
    for _ in range(3):
        out = rule(targets, losses)
    assert torch.equal(targets, before[0]) and targets.dtype == torch.int32
    assert all(torch.allclose(x.detach(), b, equal_nan=True) for x, b in zip(losses, before[1:]))
    assert all(x.grad is None for x in losses) and not any(o.requires_grad for o in out)


@pytest.mark.parametrize("name", NAMES)
def test_edge_batches(name):
    rule = fresh(name, clean=torch.tensor([1]))
    check_output(rule(torch.tensor(1), [torch.tensor(0.3), torch.tensor(0.2)]), torch.tensor([1]), name)
    rule = fresh(name, clean=torch.zeros(5, dtype=torch.long))
    check_output(rule(torch.zeros(5, dtype=torch.long), [torch.rand(5), torch.rand(5)]),
                 torch.zeros(5), name)
    rule = fresh(name, clean=torch.zeros(0, dtype=torch.long))
    out = rule(torch.zeros(0, dtype=torch.long), [torch.zeros(0), torch.zeros(0)])
    assert [len(o) for o in out] == [0, 0]


@pytest.mark.parametrize("name", NAMES)
def test_bad_labels_and_shapes_raise_value_error(name):
    rule = fresh(name, clean=torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels 0 or 1, but got 2"):
        rule(torch.tensor([0, 1, 2]), [torch.rand(3), torch.rand(3)])
    with pytest.raises(ValueError, match=r"losses\[1\].*\(4,\)"):
        rule(torch.tensor([0, 1, 1]), [torch.rand(3), torch.rand(4)])
    with pytest.raises(ValueError, match="integer labels"):
        rule(torch.tensor([0.0, 1.0]), [torch.rand(2), torch.rand(2)])


@pytest.mark.parametrize("name", ["seed-coteaching", "fixed-rates",
                                  "adaptive-mpe", "adaptive-confident", "your_select_indices"])
def test_nan_and_inf_losses_rank_as_worst(name):
    labels = torch.tensor([0] * 8 + [1] * 8)
    peer = torch.linspace(0.01, 0.2, 16)
    peer[3], peer[12] = float("nan"), float("inf")
    rule = fresh(name)
    for _ in range(2):
        for sel in rule(labels, [peer.clone(), peer.clone()]):
            assert 3 not in sel.tolist() and 12 not in sel.tolist()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_inputs_give_cuda_indices(name):
    targets = torch.randint(0, 2, (64,), device="cuda")
    rule = fresh(name, clean=targets)
    check_output(rule(targets, [torch.rand(64, device="cuda"), torch.rand(64, device="cuda")]),
                 targets)


def simulated_buffer(prior1, flip_01, flip_10, separation, n=2048, seed=0):
    """Losses of a model whose logit is ``separation * (+-1) + N(0, 1)`` on noisy labels."""
    gen = torch.Generator().manual_seed(seed)
    clean = (torch.rand(n, generator=gen) < prior1).long()
    u = torch.rand(n, generator=gen)
    labels = torch.where(clean == 1, (u >= flip_10).long(), (u < flip_01).long())
    p1 = torch.sigmoid(separation * (2 * clean - 1).float() + torch.randn(n, generator=gen))
    loss = -torch.log(torch.where(labels == 1, p1, 1 - p1))
    truth = [float((clean[labels == c] == c).float().mean()) for c in (0, 1)]
    return loss, labels, truth


@pytest.mark.parametrize("noise", [(0.65, 0.1, 0.484), (0.2, 0.3, 0.3), (0.3, 0.0, 0.4),
                                   (0.65, 0.0, 0.0)],
                         ids=["olympiad", "symmetric", "minority-flip", "clean"])
@pytest.mark.parametrize("separation", [0.7, 1.5])
def test_mpe_tracks_the_true_clean_shares(noise, separation):
    loss, labels, truth = simulated_buffer(*noise, separation)
    est = mpe_rates(loss, labels).tolist()
    assert est == pytest.approx(truth, abs=0.1), (est, truth)


def test_confident_counting_blames_a_weak_model_for_noise():
    loss, labels, truth = simulated_buffer(0.65, 0.1, 0.484, separation=0.7)
    assert confident_rates(loss, labels)[1] < truth[1] - 0.15  # label 1 looks far noisier
    assert mpe_rates(loss, labels)[1] > truth[1] - 0.1


def _batches(seed, noisy):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(12):
        targets = torch.randint(0, 2, (128,), generator=gen)
        base = torch.rand(2, 128, generator=gen)
        wrong = torch.rand(128, generator=gen) < (0.35 if noisy else 0.0)
        out.append((targets, [(b + 4 * wrong) for b in base]))
    return out


@pytest.mark.parametrize("name", ["your_select_indices", "adaptive-mpe", "x-epoch", "coteaching"])
def test_a_fresh_or_reset_rule_does_not_remember_an_earlier_run(name):
    clean, noisy = _batches(0, noisy=False), _batches(1, noisy=True)
    # Three epochs of the same batches, the last one short, so epoch-wise rules see epochs.
    noisy[-1] = (noisy[-1][0][:40], [x[:40] for x in noisy[-1][1]])
    noisy = noisy * 3
    rule = make_strategy(name)
    fresh = [rule(t, loss) for t, loss in noisy]
    used = make_strategy(name)
    for t, loss in clean + noisy:
        used(t, loss)
    used.reset()
    assert all(torch.equal(used(t, loss)[0], f[0]) for (t, loss), f in zip(noisy, fresh))


def test_the_module_level_rule_resets():
    import noisy_select

    clean, noisy = _batches(0, noisy=False), _batches(1, noisy=True)
    fresh = [noisy_select.new_select_indices()(t, loss) for t, loss in noisy]
    for t, loss in clean:
        noisy_select.your_select_indices(t, loss)
    noisy_select.reset()
    assert all(torch.equal(noisy_select.your_select_indices(t, loss)[0], f[0])
               for (t, loss), f in zip(noisy, fresh))


def test_cleanlab_anchor_with_one_class_flags_nothing():
    """cleanlab refuses labels of one class; the anchor then keeps every sample."""
    pytest.importorskip("cleanlab")
    from noisy_select.cleanlab_anchor import CleanlabSelection

    rule = CleanlabSelection()
    for _ in range(2):  # two epochs of three batches, the last one shorter
        for n in (8, 8, 3):
            out = rule(torch.ones(n, dtype=torch.long), [torch.rand(n), torch.rand(n)])
    assert all(o.shape == (3,) for o in out)
    assert all(bool(k.all()) for k in rule.keep)


# --- every exportable strategy under both fixed loops --------------------------------------

EXPORTABLE = sorted(n for n, s in REGISTRY.items() if s.exportable)


@pytest.mark.parametrize("loop", ["seed", "official"])
@pytest.mark.parametrize("name", EXPORTABLE)
def test_every_exportable_strategy_trains_end_to_end_under_both_loops(name, loop):
    """Two epochs of a full and a short batch: the rule's output drives both loops (the
    organizers' steps even on an empty selection) and leaves finite weights and statistics."""
    from noisy_select.training import InMemoryLoader, train_pair

    gen = torch.Generator().manual_seed(3)
    x = torch.rand(21, 1, 28, 28, generator=gen)
    y = (torch.rand(21, 1, generator=gen) > 0.6).long()
    loader = InMemoryLoader([(x[:16], y[:16]), (x[16:], y[16:])])
    pair = train_pair(loader, loader, make_strategy(name), epochs=2, device=torch.device("cpu"),
                      seed=0, loop=loop, progress=False)
    assert len(pair.history) == 2
    for model in (pair.model1, pair.model2):
        assert all(torch.isfinite(v).all() for v in model.state_dict().values()
                   if v.is_floating_point())
