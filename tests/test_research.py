"""research/: the candidates that left the package, as rule files through the own-rule path.

Each file runs as ``noisy-select bench research/<file>.py:NAME``; the names they had in the
registry say where they went (research/README.md), and their old rows still read.
"""

import json
import math
import os
import runpy

import pytest
import torch

from noisy_select import check
from noisy_select.errors import UsageError
from noisy_select.strategies.anchors import ClassWiseCoTeaching
from noisy_select.strategies.base import balanced
from noisy_select.strategies.registry import MOVED, get_spec, make_strategy

RESEARCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "research")
ENDING = runpy.run_path(os.path.join(RESEARCH, "ending.py"))
SCHEDULE = runpy.run_path(os.path.join(RESEARCH, "schedule.py"))
ESTIMATED = runpy.run_path(os.path.join(RESEARCH, "estimated.py"))
SWITCH = runpy.run_path(os.path.join(RESEARCH, "switch.py"))
SETTLE = runpy.run_path(os.path.join(RESEARCH, "settle.py"))
JOINT = runpy.run_path(os.path.join(RESEARCH, "joint.py"))
LAST_STEP = runpy.run_path(os.path.join(RESEARCH, "last_step.py"))
EndOfTraining = ENDING["EndOfTraining"]
PUBLISHED = ClassWiseCoTeaching()


@pytest.mark.parametrize("spec", ["ending.py:x_end_50", "ending.py:x_end_25", "ending.py:x_short",
                                  "schedule.py:all_balanced", "schedule.py:balanced_2",
                                  "estimated.py:agree_2", "estimated.py:mpe_2",
                                  "switch.py:switch_1", "switch.py:switch_3", "switch.py:joint_0",
                                  "settle.py:settle_25", "joint.py:joint_all",
                                  "last_step.py:last_all", "last_step.py:last_balanced",
                                  "balanced_kept.py:balanced_kept", "agreement.py:agreed_twice",
                                  "own_fit.py:fit_end", "visits.py:two_visits",
                                  "shares.py:fewer", "tail_ratio.py:tail_ratio",
                                  "tail_counts.py:tail_counts", "tail_evidence.py:tail_evidence",
                                  "tail_mix.py:tail_mix"])
def test_every_research_rule_passes_the_own_rule_checks(spec):
    name = check(os.path.join(RESEARCH, spec))
    assert name.startswith(f"file:{spec.replace('.py:', '.')}@")


def test_a_name_that_moved_says_where_it_went():
    with pytest.raises(UsageError, match=r"'x-balanced-2' moved out of the package: it is now "
                                         r"research/schedule.py:balanced_2"):
        get_spec("x-balanced-2")
    for spec in MOVED.values():
        path = spec.to.split(":")[0]
        assert path.startswith("nowhere") or os.path.isfile(os.path.join(RESEARCH, "..", path))


def test_the_shipped_rule_selects_what_balanced_2_measured_over_a_run():
    # x-balanced-2 was x-all-balanced for two epochs, then fixed-rates: composed here by hand.
    ours, balanced_2 = make_strategy("your_select_indices"), SCHEDULE["balanced_2"]
    early, late = SCHEDULE["all_balanced"], make_strategy("fixed-rates")
    balanced_2.reset()
    early.reset()
    gen = torch.Generator().manual_seed(6)
    for epoch in range(6):
        for n in (128, 128, 128, 7):
            t = torch.randint(0, 2, (n,), generator=gen)
            x = [torch.rand(n, generator=gen) * 3 for _ in range(2)]
            measured = (early if epoch < 2 else late)(t, x)
            for selected in (ours(t, x), balanced_2(t, x)):
                assert all(torch.equal(a, b) for a, b in zip(selected, measured))


# --- research/ending.py ------------------------------------------------------------------------

class Tagged:
    """A rule that answers with one index telling which it is, and counts its resets."""

    def __init__(self, tag: int) -> None:
        self.tag, self.resets = tag, 0

    def reset(self) -> None:
        self.resets += 1

    def __call__(self, targets, losses):
        index = torch.tensor([self.tag])
        return [index, index.clone()]


def _empty(rule, sizes, seed=0):
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
    empty = _empty(EndOfTraining(PUBLISHED, window=7, epochs=3), epoch * 3)
    assert [i for i, e in enumerate(empty) if e] == list(range(23, 30))


def test_a_window_longer_than_what_is_left_starts_as_soon_as_the_epoch_is_known():
    empty = _empty(EndOfTraining(PUBLISHED, window=100, epochs=2), [128, 128, 16] * 2)
    assert empty == [False, False, True, True, True, True]


def test_the_end_window_on_data_a_multiple_of_the_batch_size():
    gen = torch.Generator().manual_seed(1)
    epoch = [torch.randint(0, 2, (128,), generator=gen) for _ in range(4)]
    rule = EndOfTraining(PUBLISHED, window=3, epochs=4)
    empty = [len(rule(t, [torch.rand(128), torch.rand(128)])[0]) == 0 for t in epoch * 4]
    assert [i for i, e in enumerate(empty) if e] == [13, 14, 15]


def test_the_short_batch_option_empties_each_epochs_last_batch_only():
    empty = _empty(EndOfTraining(PUBLISHED, window=0, short_batch=True, epochs=2),
                   [128, 128, 16] * 2)
    assert empty == [False, False, True, False, False, True]


def test_outside_the_window_it_is_the_inner_rule_and_reset_starts_afresh():
    rule, inner = ENDING["x_end_25"], make_strategy("fixed-rates")
    rule.reset()
    t, losses = torch.tensor([0, 1, 1, 0, 1]), [torch.rand(5), torch.rand(5)]
    for a, b in zip(rule(t, losses), inner(t, losses)):
        assert torch.equal(a, b)
    _empty(rule, [128, 128, 16])
    rule.reset()
    assert rule.counter.calls == 0 and rule.counter.epoch_length is None
    tagged = EndOfTraining(Tagged(7), window=0)
    assert tagged.inner.resets == 1 and _empty(tagged, [3]) == [False]
    tagged.reset()
    assert tagged.inner.resets == 2  # the inner rule is reset with it
    with pytest.raises(ValueError, match="window"):
        EndOfTraining(PUBLISHED, window=-1)


def test_the_old_rows_of_a_moved_name_still_read_by_their_key():
    # compare and bench read the committed rows of x-balanced-2 and x-all-balanced: the key a
    # run of the moved name would have is the key those rows carry; a missing run is refused.
    import json

    from noisy_select.bench.records import describe

    path = os.path.join(RESEARCH, "..", "docs", "results", "bench.jsonl")
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    for name in ("x-balanced-2", "x-all-balanced"):
        row = next(r for r in rows if r["strategy"] == name and r.get("loop") == "official")
        assert describe(name, row["epochs"], loop="official")["config_hash"] == row["config_hash"]
    with pytest.raises(UsageError, match="moved out of the package"):
        make_strategy("x-all-balanced")


# --- research/estimated.py ---------------------------------------------------------------------

def test_peer_agrees_trains_each_model_on_what_its_peer_agrees_with_the_labels_balanced():
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    low, high = 0.1, 2.0  # probability of the label about 0.90 and 0.14
    loss = torch.tensor([[low] * 10,  # model 1 agrees with every label
                         [low, high, high, high, low, low, high, low, low, low]])
    first, second = ESTIMATED["PeerAgrees"]()(labels, [loss[0], loss[1]])
    assert len(first) == len(second) == 10
    assert set(first.tolist()) == {0, 4, 5, 7, 8, 9}  # what model 2 agrees with
    assert {0, 1, 2, 3} <= set(second.tolist())  # model 1 agrees with every label-0 sample
    for picked in (first, second):  # each label fills half of the draw
        assert int((labels[picked] == 0).sum()) == 5


def test_the_estimated_rules_warm_up_as_the_shipped_rule_does():
    ours, rule = make_strategy("your_select_indices"), ESTIMATED["agree_2"]
    gen = torch.Generator().manual_seed(3)
    for epoch in range(3):
        for n in (128, 128, 7):
            t = torch.randint(0, 2, (n,), generator=gen)
            x = [torch.rand(n, generator=gen) * 3 for _ in range(2)]
            same = all(torch.equal(a, b) for a, b in zip(ours(t, x), rule(t, x)))
            assert same == (epoch < 2)


# --- research/switch.py and settle.py -----------------------------------------------------------

def _run(rule, epochs=6, sizes=(128, 128, 128, 7), seed=4):
    """Each call's selections over a run whose epochs are ``sizes`` batches (a short last one)."""
    gen = torch.Generator().manual_seed(seed)
    calls = []
    for epoch in range(epochs):
        for n in sizes:
            t = torch.randint(0, 2, (n,), generator=gen)
            x = [torch.rand(n, generator=gen) * 3 for _ in range(2)]
            calls.append((epoch, t, x, rule(t, x)))
    return calls


def _same(a, b):
    return all(torch.equal(u, v) for u, v in zip(a, b))


def _lowest(t, label, score, share):
    """The ``floor(n * share)`` samples of ``label`` with the lowest ``score``, in batch order
    (the published shares' floor, short batch too); what ``picked`` should hold of that label."""
    members = (t == label).nonzero().flatten()
    return members[torch.argsort(score[members], stable=True)[: int(len(members) * share)]].sort().values


def _of(picked, t, label):
    return picked[t[picked] == label]


def _after_the_warm_up(rule, **run):
    """``(t, x, picked, shipped)`` of each call after the shipped two-epoch warm-up, where
    ``shipped`` is the shipped rule's selection; through the warm-up the two must be equal."""
    ours = make_strategy("your_select_indices")
    for epoch, t, x, picked in _run(rule, **run):
        shipped = ours(t, x)
        if epoch < 2:
            assert _same(picked, shipped)
        else:
            yield t, x, picked, shipped


def test_joint_0_is_the_shipped_rule_for_label_1_and_both_models_loss_for_label_0():
    for t, x, (first, second), shipped in _after_the_warm_up(SWITCH["JointLabel0"]()):
        for picked, peer in ((first, shipped[0]), (second, shipped[1])):
            assert torch.equal(_of(picked, t, 1), _of(peer, t, 1))
            assert torch.equal(_of(picked, t, 0), _lowest(t, 0, x[0] + x[1], 0.5))


def test_settle_25_is_the_shipped_rule_until_its_last_epoch_then_the_peers_easiest_quarter():
    ours = make_strategy("your_select_indices")
    for epoch, t, x, (first, second) in _run(SETTLE["SettledEnd"]()):
        shipped = ours(t, x)
        if epoch < 5:
            assert _same((first, second), shipped)
            continue
        for picked, peer_loss in ((first, x[1]), (second, x[0])):
            for label in (0, 1):
                assert torch.equal(_of(picked, t, label), _lowest(t, label, peer_loss, 0.25))


def test_fit_end_is_the_shipped_rule_until_its_last_epoch_then_the_kept_samples_each_model_fits():
    ours, own_fit = make_strategy("your_select_indices"), runpy.run_path(
        os.path.join(RESEARCH, "own_fit.py"))
    dropped = 0
    for epoch, t, x, picked in _run(own_fit["FitEnd"]()):
        shipped = ours(t, x)
        if epoch < 5:
            assert _same(picked, shipped)
            continue
        for m in (0, 1):
            fits = shipped[m][x[m][shipped[m]] < math.log(2)]  # in batch order, as kept
            assert torch.equal(picked[m], fits if len(fits) else shipped[m])
            dropped += len(shipped[m]) - len(picked[m])
    assert dropped > 0  # losses up to 3: some kept samples are misclassified and left out
    t, x = torch.tensor([0, 1, 1, 1]), [torch.full((4,), 2.0), torch.tensor([0.0, 0.1, 1.0, 3.0])]
    rule = own_fit["FitEnd"](last=6)  # from the first call; model 1 fits nothing it is given
    peer = PUBLISHED(t, x)  # fixed-rates: the published kept sets by the peer's loss
    assert _same(rule(t, x), (peer[0], peer[1][x[1][peer[1]] < math.log(2)]))


def test_two_visits_ranks_by_the_peers_mean_loss_over_this_visit_and_the_last():
    rule = runpy.run_path(os.path.join(RESEARCH, "visits.py"))["TwoVisits"]()
    ours = make_strategy("your_select_indices")
    calls = _run(rule, epochs=12)  # two runs back to back: the second starts afresh
    for _, t, x, _ in calls[:4]:
        ours(t, x)  # the first epoch: the warm-up, and the shipped rule's count of the run
    for (epoch, t, x, picked), (_, t_last, x_last, _) in zip(calls[4:], calls):
        if epoch in (1, 6, 7):  # the warm-up of each run: the shipped rule's
            assert _same(picked, ours(t, x))
            continue
        ours(t, x)  # keeps the shipped rule's count of the run
        same = t == t_last if len(t) == len(t_last) else torch.zeros(len(t), dtype=torch.bool)
        for m, peer in ((0, 1), (1, 0)):
            score = torch.where(same, (x[peer] + x_last[peer]) / 2, x[peer])
            for label, share in ((0, 0.5), (1, 0.93)):
                assert torch.equal(_of(picked[m], t, label), _lowest(t, label, score, share))


def test_the_switch_moves_the_end_of_the_balanced_phase():
    for name, switch in (("switch_1", 1), ("switch_3", 3)):
        rule = SWITCH[name]
        rule.reset()
        for epoch, t, x, picked in _run(rule):
            assert _same(picked, PUBLISHED(t, x) if epoch >= switch else balanced(t))


def test_joint_all_trains_both_models_on_the_published_shares_by_their_summed_loss():
    for epoch, t, x, (first, second) in _run(JOINT["JointBoth"]()):
        if epoch < 2:
            assert _same((first, second), balanced(t))
            continue
        assert torch.equal(first, second)
        for label, share in ((0, 0.50), (1, 0.93)):
            assert torch.equal(_of(first, t, label), _lowest(t, label, x[0] + x[1], share))


def test_last_step_rules_change_only_the_runs_last_call_and_start_the_next_run_as_shipped():
    for last in ("all", "balanced"):
        ours = make_strategy("your_select_indices")
        calls = _run(LAST_STEP["LastStep"](last), epochs=12)  # two runs back to back
        for i, (_, t, x, picked) in enumerate(calls):
            shipped = ours(t, x)
            if i % 24 != 23:
                assert _same(picked, shipped)
            elif last == "all":
                assert _same(picked, (torch.arange(7), torch.arange(7)))
            else:
                assert _same(picked, balanced(t))
    with pytest.raises(ValueError, match="Expected `last` in"):
        LAST_STEP["LastStep"]("none")


@pytest.mark.slow
def test_the_last_steps_trace_reads_the_models_without_changing_the_run():
    from noisy_select.bench.run import RunConfig, run

    trace = runpy.run_path(os.path.join(RESEARCH, "trace_last_steps.py"))["trace"]
    traced = trace("fashion-tops", 8, "your_select_indices", calls=3, scale=0.05,
                   margins=True)  # every read the trace makes
    plain = run(RunConfig(scenario="fashion-tops", seed=8, scale=0.05, threads=1, progress=False))
    assert [r["call"] for r in traced["trace"]] == [22, 23, 24]  # 4 batches an epoch, 6 epochs
    for key in ("bac_1", "bac_2", "auc_1", "auc_2"):
        assert traced["final"][key] == plain[key]
    assert traced["trace"][-1]["batch"] < 128  # the short last batch
    first, *later = traced["trace"]
    assert first["step_1"] is None and all(r["step_1"] > 0 and r["shift_last_2"] > 0 for r in later)
    assert all(0 <= r[f"{k}_{m}"] <= 1 for r in traced["trace"] for m in (1, 2)
               for k in ("positive", "near", "positive_bn", "near_bn"))


def test_the_statistics_shift_is_zero_for_re_estimated_statistics_and_grows_with_the_lag():
    from noisy_select.competition import SmallMobileNet
    from noisy_select.train.evaluation import with_reestimated_statistics

    shifts = runpy.run_path(os.path.join(RESEARCH, "trace_last_steps.py"))["_shifts"]
    torch.manual_seed(0)
    batches = [(torch.rand(16, 1, 28, 28) * 2 + 1, None) for _ in range(3)]
    fresh = SmallMobileNet()  # running means 0, the data's far from it
    reestimated = with_reestimated_statistics(fresh, batches, "cpu")
    assert shifts(reestimated, reestimated) == [0.0] * 7
    assert min(shifts(fresh, reestimated)) > 0.1


def _memory_run(signs_1, signs_0, batches=4):
    """Calls of a run whose label-0 half of each 16-sample batch is half wrong (which half moves
    with the batch's position); each model's loss puts the wrong ones above the right ones by
    its sign for the epoch (``signs_m``: model ``m``'s), label 1 all right."""
    gen = torch.Generator().manual_seed(1)
    labels = torch.tensor([0] * 8 + [1] * 8)
    truths = [torch.tensor([int((i - p) % 8 < 4) for i in range(8)] + [1] * 8)
              for p in range(batches)]
    calls = []
    for a, b in zip(signs_1, signs_0):
        for truth in truths:
            wrong = (labels != truth).float() - 0.5
            loss = 12 + torch.stack([b * wrong, a * wrong]) + torch.rand(2, 16, generator=gen) * 0.1
            calls.append((labels, loss))
    return calls, torch.cat(truths)


def test_the_loss_memory_reads_the_margin_from_the_loss_and_scores_each_ranking_by_the_truth():
    memory = runpy.run_path(os.path.join(RESEARCH, "loss_memory.py"))
    p = torch.tensor([0.5, 0.9, 0.2])
    assert torch.allclose(memory["margin"](-torch.log(p)), torch.log(p / (1 - p)), atol=1e-5)
    # Model 0 keeps by model 1's losses, whose epochs rank the wrong label-0 samples above the
    # right ones by -20, 6, 4, -1; model 1 by model 0's, 2, -2, -2, -2. Last epoch: a window's
    # mean above 0 keeps the four right ones of each batch (precision 1), below 0 the wrong.
    calls, clean = _memory_run([-20, 6, 4, -1], [2, -2, -2, -2])
    out = memory["precisions"](calls, clean, 4)
    assert list(out) == [2, 3]
    expected = {"now": 0, "two": 1, "since_1": 1, "all": 0, "warm": 1, "margin_since_1": 1}
    for name, right in expected.items():
        assert out[3][name]["per_model"] == [[right, 1.0], [0.0, 1.0]], name
        assert out[3][name]["precision"] == [right / 2, 1.0], name
    assert out[3]["sum_since_1"]["per_model"] == [[1.0, 1.0], [1.0, 1.0]]  # (4 + 2 - 3) / 3 > 0
    assert out[3]["now"]["kept"] == pytest.approx([0.5, 0.875])  # floor(8 * 0.93) = 7 of 8
    assert out[2]["all"]["per_model"][0][0] == 0.0 and out[2]["now"]["per_model"][0][0] == 1.0
    # The share of each label kept (last epoch, both models keep the wrong ones first).
    by_share = memory["shares"](calls, clean, 4)[3]
    for share, precision, clean_kept in ((0.3, 0.0, 0.0), (0.7, 0.2, 0.25), (0.8, 1 / 3, 0.5),
                                         (1.0, 0.5, 1.0)):
        assert by_share[0][share]["precision"] == pytest.approx(precision)
        assert by_share[0][share]["clean_kept"] == pytest.approx(clean_kept)
    assert by_share[1][0.5] == {"precision": 1.0, "clean_kept": 0.5}
    # A recording whose epochs do not repeat the first's batches is refused.
    with pytest.raises(ValueError, match="was the loop shuffled"):
        memory["precisions"](calls[:-1], clean, 4)
    shuffled = calls[:-1] + [(calls[-1][0].flip(0), calls[-1][1])]
    with pytest.raises(ValueError, match="was the loop shuffled"):
        memory["precisions"](shuffled, clean, 4)


def test_fewer_keeps_the_peers_lowest_forty_and_eighty_five_percent_after_the_warm_up():
    rule = runpy.run_path(os.path.join(RESEARCH, "shares.py"))["Fewer"]()
    for t, x, picked, _ in _after_the_warm_up(rule):
        for m, peer in ((0, 1), (1, 0)):
            for label, share in ((0, 0.40), (1, 0.85)):
                assert torch.equal(_of(picked[m], t, label), _lowest(t, label, x[peer], share))


def _classes(bins):
    """The two classes' score distributions over ``bins`` bins: class 0 alone below bin 48,
    class 1 alone above 79."""
    g0, g1 = torch.zeros(bins), torch.zeros(bins)
    g0[:80], g1[48:] = 1 / 80, 1 / 80
    return g0, g1


def _mixture(c0, c1, scores, bins):
    """``(2, bins)`` counts of ``scores`` scores in each label bucket, the label-0 bucket ``c0``
    clean and the label-1 bucket ``c1`` (``_classes``)."""
    g0, g1 = _classes(bins)
    return (torch.stack([c0 * g0 + (1 - c0) * g1, (1 - c1) * g0 + c1 * g1]) * scores).round().long()


def test_the_tail_ratio_recovers_the_clean_shares_of_two_known_mixtures():
    tails = runpy.run_path(os.path.join(RESEARCH, "tail_ratio.py"))
    shares, bins = tails["shares_from_tails"], tails["BINS"]
    g0, g1 = _classes(bins)
    for c0, c1 in ((0.40, 0.90), (0.593, 0.793), (0.5, 1.0), (1.0, 1.0)):
        assert torch.allclose(shares(_mixture(c0, c1, 1e6, bins)), torch.tensor([c0, c1]).double(),
                              atol=1e-3)
    same = torch.stack([0.5 * g0 + 0.5 * g1] * 2) * 1e6  # buckets that do not separate
    assert torch.equal(shares(same.long()), torch.ones(2, dtype=torch.float64))
    for one_label in (torch.stack([g0 * 1e6, torch.zeros(bins)]),
                      torch.stack([torch.zeros(bins), g1 * 1e6])):  # no label 1, no label 0
        assert torch.equal(shares(one_label.long()), torch.ones(2, dtype=torch.float64))


def test_tail_counts_reads_the_bound_of_a_known_mixture_and_writes_the_counts_at_the_switch(
        tmp_path, monkeypatch):
    counts_file = runpy.run_path(os.path.join(RESEARCH, "tail_counts.py"))
    bins = counts_file["_TAILS"]["BINS"]
    counts = _mixture(0.4, 0.9, 8e4, bins)
    r = counts_file["read"](counts)
    assert r["a"] == pytest.approx(0.6 / 0.9, abs=1e-3) and r["b"] == pytest.approx(0.1 / 0.4, abs=1e-3)
    assert r["apart"] == pytest.approx(1 - r["a"] * r["b"]) and r["scores"] == [80000, 80000]
    assert r["shares"] == pytest.approx([0.4, 0.9], abs=1e-3)
    for (n_0, n_1), ratio, own in ((r["a_tails"], r["a"], counts[1, 80:].sum()),  # class 1 alone
                                   (r["b_tails"], r["b"], counts[0, :48].sum())):  # class 0 alone
        assert n_0 / n_1 == pytest.approx(ratio, abs=2e-3) and 0 < n_1 <= own
    out = tmp_path / "counts.jsonl"
    monkeypatch.setenv("TAIL_COUNTS_OUT", str(out))
    rule, gen = counts_file["TailCounts"](), torch.Generator().manual_seed(3)
    for epoch in range(3):
        for n in (128, 128, 7):
            t, x = _labelled_losses(n, gen)
            rule(t, x)
            if epoch == 2 and n == 128:
                written = [json.loads(line)["counts"] for line in out.read_text().splitlines()]
                assert written == [rule.counts.tolist()]  # once, at the switch
    monkeypatch.delenv("TAIL_COUNTS_OUT")
    monkeypatch.chdir(tmp_path)
    rule = counts_file["TailCounts"]()  # unset: a run of tail_ratio that writes nothing anywhere
    for _ in range(3):
        for n in (128, 128, 7):
            rule(*_labelled_losses(n, gen))
    assert rule.keep is not None  # it did pass its switch
    assert os.listdir(tmp_path) == ["counts.jsonl"] and len(out.read_text().splitlines()) == 1


def _labelled_losses(n, gen, wrong_0=0.3, wrong_1=0.5):
    """``(labels, [loss, loss])`` of a batch whose label buckets are ``1 - wrong_c`` clean: the
    two classes' logits 3 apart from 0 (sd 1), each model's own draw, as cross-entropy losses."""
    t = torch.randint(0, 2, (n,), generator=gen)
    wrong = torch.rand(n, generator=gen) < torch.where(t == 1, wrong_1, wrong_0)
    sign = (2 * t - 1) * (1 - 2 * wrong.long())  # +1: the true class is 1
    z = [3 * sign + torch.randn(n, generator=gen) for _ in range(2)]  # class-1 logits
    return t, [torch.nn.functional.softplus(-zm * (2 * t - 1)) for zm in z]  # the label's loss


def test_tail_ratio_counts_the_last_warm_up_epoch_then_keeps_the_peers_lowest_estimated_shares():
    tails = runpy.run_path(os.path.join(RESEARCH, "tail_ratio.py"))
    rule, bins, limit = tails["TailRatio"](), tails["BINS"], tails["LIMIT"]
    sizes, gen = (128, 128, 128, 7), torch.Generator().manual_seed(7)
    for run, (wrong_0, wrong_1, epochs) in enumerate(((0.3, 0.5, 6), (0.1, 0.2, 3))):
        ours = make_strategy("your_select_indices")
        counts = torch.zeros(2, bins, dtype=torch.long)  # this run's second epoch, by hand
        kept = 0
        for epoch in range(epochs):  # the first run ends, and the rule starts the second afresh
            for n in sizes:
                t, x = _labelled_losses(n, gen, wrong_0, wrong_1)
                picked, shipped = rule(t, x), ours(t, x)
                if epoch < 2:
                    assert _same(picked, shipped)
                if epoch == 1:
                    for loss in x:
                        z = tails["class_1_logit"](t, loss)
                        b = ((z + limit) * (bins / (2 * limit))).floor().clamp(0, bins - 1).long()
                        counts += torch.stack([torch.bincount(b[t == c], minlength=bins)
                                               for c in (0, 1)])
                if epoch < 2:
                    continue
                if epoch == 2 and n == sizes[0]:  # the switch: estimated from the counts, held
                    assert torch.equal(rule.counts, counts) and counts.sum() == 2 * sum(sizes)
                    estimate = tails["shares_from_tails"](counts)
                assert (run, epoch, n) == (0, 5, 7) or torch.equal(rule.keep, estimate)
                for m, peer in ((0, 1), (1, 0)):
                    for label in (0, 1):
                        share = float(estimate[label])
                        assert torch.equal(_of(picked[m], t, label),
                                           _lowest(t, label, x[peer], share))
                        kept += len(_of(picked[m], t, label))
        if run == 0:  # the clean shares 0.7 / 0.5, estimated above them on 391 samples a model
            assert ((estimate > torch.tensor([0.68, 0.48]).double()) & (estimate < 0.9)).all()
            assert kept < 0.9 * 2 * 4 * sum(sizes) and rule.keep is None  # reset at the run's end
        else:
            assert (estimate > torch.tensor([0.88, 0.78]).double()).all()  # 0.9 / 0.8 clean


def test_balanced_kept_draws_the_published_kept_sets_with_the_labels_filling_half_each():
    rule = runpy.run_path(os.path.join(RESEARCH, "balanced_kept.py"))["BalancedKept"]()
    for t, _, picked, shipped in _after_the_warm_up(rule, sizes=(128, 128, 128, 16)):
        for drawn, kept in zip(picked, shipped):
            assert torch.equal(drawn.unique(), kept)  # every kept sample, nothing else
            assert torch.equal(drawn, drawn.sort().values)  # batch order
            counts = torch.bincount(t[drawn], minlength=2)
            assert counts[0] == counts[1] == max(torch.bincount(t[kept], minlength=2))


def test_agreed_twice_trains_on_the_shipped_sets_with_what_both_models_keep_twice():
    rule = runpy.run_path(os.path.join(RESEARCH, "agreement.py"))["AgreedTwice"]()
    for t, _, picked, shipped in _after_the_warm_up(rule):
        both = set(shipped[0].tolist()) & set(shipped[1].tolist())
        for drawn, kept in zip(picked, shipped):
            assert torch.equal(drawn.unique(), kept)
            assert torch.equal(drawn, drawn.sort().values)
            counts = torch.bincount(drawn, minlength=len(t))
            assert all(counts[i] == (2 if i in both else 1) for i in kept.tolist())


@pytest.mark.parametrize("stem, prior, clean_0, clean_1", [("tops-prior-55", 0.55, 0.593, 0.793),
                                                           ("tops-prior-75", 0.75, 0.397, 1.0)])
def test_the_stress_scenarios_keep_the_real_noisy_counts_at_another_prior(stem, prior, clean_0,
                                                                           clean_1):
    """Each file's recipe gives exactly the real task's noisy counts and the clean shares of the
    two label buckets that its comment states (the labels flipped as a build flips them)."""
    import numpy as np

    from noisy_select.data.scenarios import _class_counts, flip_labels, read_scenario_file

    scenario = read_scenario_file(os.path.join(RESEARCH, "scenarios", f"{stem}.toml"))
    assert scenario.name.startswith(f"{stem}@") and scenario.source == "fashion"
    assert (scenario.train_size, scenario.train_prior, scenario.test_prior) == (10_000, prior, 0.75)
    clean = np.repeat([0, 1], _class_counts(scenario.train_size, scenario.train_prior))
    labels = flip_labels(clean, np.asarray(scenario.noise), np.random.default_rng(0))
    assert np.bincount(labels).tolist() == [6298, 3702]
    assert math.isclose((clean[labels == 0] == 0).mean(), clean_0, abs_tol=5e-4)
    assert math.isclose((clean[labels == 1] == 1).mean(), clean_1, abs_tol=5e-4)


def test_tail_evidence_moves_the_published_shares_only_where_the_tails_refute_them():
    evidence = runpy.run_path(os.path.join(RESEARCH, "tail_evidence.py"))
    intervals, shares, bins = evidence["ratio_intervals"], evidence["checked_shares"], 128
    g0, g1 = _classes(bins)
    published = torch.tensor([0.50, 0.93], dtype=torch.float64)
    many = _mixture(0.40, 1.0, 2e6, bins)  # the validation prior's structure; 2e6 scores, 1e6 samples
    (a_low, a, a_high), (b_low, b, b_high) = intervals(many).tolist()
    assert a_low < a < a_high and a == pytest.approx(0.6, abs=1e-3) and a_high < 0.61
    assert 0 < b_low < b < b_high < 1e-4  # an empty tail: Haldane's half, still above 0
    assert torch.allclose(shares(many), torch.tensor([0.40, 1.0]).double(), atol=0.01)
    assert torch.allclose(shares(_mixture(0.5, 0.93, 2e6, bins)), published, atol=0.005)
    assert torch.equal(shares(_mixture(0.40, 1.0, 200, bins)), published)  # 100 samples say too little
    moved = shares(_mixture(0.40, 1.0, 2e4, bins))  # 10,000: part of the way, never past the truth
    assert 0.40 <= moved[0] < 0.5 and 0.93 < moved[1] <= 1.0
    for unsupported in (torch.stack([0.5 * g0 + 0.5 * g1] * 2) * 1e6,  # buckets that do not separate
                        torch.stack([g0 * 1e6, torch.zeros(bins)]),  # no label 1
                        torch.stack([torch.zeros(bins), g1 * 1e6])):  # no label 0
        assert torch.equal(shares(unsupported.long()), published)


def test_tail_evidence_is_the_shipped_rule_where_its_shares_stay_published(tmp_path, monkeypatch):
    evidence = runpy.run_path(os.path.join(RESEARCH, "tail_evidence.py"))
    out = tmp_path / "keep.jsonl"
    monkeypatch.setenv("TAIL_EVIDENCE_OUT", str(out))
    gen = torch.Generator().manual_seed(5)
    for wrong_0, wrong_1, sizes, moves in ((0.5, 0.07, (64, 64, 7), False),  # 135 samples
                                           (0.7, 0.0, (128,) * 12 + (7,), True)):  # 1,543
        rule, ours = evidence["TailEvidence"](), make_strategy("your_select_indices")
        for epoch in range(3):
            for n in sizes:
                t, x = _labelled_losses(n, gen, wrong_0, wrong_1)
                picked, shipped = rule(t, x), ours(t, x)
                if epoch == 2 and n == sizes[0]:  # the switch: the counts' shares, written once
                    keep = evidence["checked_shares"](rule.counts)
                    assert torch.equal(rule.keep, keep)
                    assert json.loads(out.read_text().splitlines()[-1]) == {
                        "counts": rule.counts.tolist(), "keep": keep.tolist()}
                if epoch < 2 or not moves:
                    assert _same(picked, shipped)
                    continue
                for m, peer in ((0, 1), (1, 0)):
                    for label in (0, 1):
                        assert torch.equal(_of(picked[m], t, label),
                                           _lowest(t, label, x[peer], float(keep[label])))
        assert torch.equal(keep, torch.tensor([0.50, 0.93], dtype=torch.float64)) != moves
    assert len(out.read_text().splitlines()) == 2


def test_tail_mix_draws_the_kept_samples_in_the_published_label_mix():
    mix = runpy.run_path(os.path.join(RESEARCH, "tail_mix.py"))
    gen = torch.Generator().manual_seed(5)
    for wrong, sizes, moves in (((0.5, 0.07), (64, 64, 7), False),
                                ((0.15, 0.0), (128,) * 12 + (7,), True)):
        rule, ours = mix["TailMix"](), make_strategy("your_select_indices")
        for epoch in range(3):
            for n in sizes:
                t, x = _labelled_losses(n, gen, *wrong)
                picked, shipped = rule(t, x), ours(t, x)
                if epoch < 2 or not moves:
                    assert _same(picked, shipped)
                    continue
                assert rule.moved and (rule.keep > torch.tensor([0.5, 0.93]).double()).all()
                target = [int(float((t == c).sum()) * s + 1e-9) for c, s in ((0, 0.50), (1, 0.93))]
                for m, peer in ((0, 1), (1, 0)):
                    kept = _lowest(t, 0, x[peer], float(rule.keep[0])).tolist() + \
                        _lowest(t, 1, x[peer], float(rule.keep[1])).tolist()
                    assert len(picked[m]) == n and set(picked[m].tolist()) <= set(kept)
                    drawn = [int((t[picked[m]] == c).sum()) for c in (0, 1)]
                    share = target[1] / sum(target)  # label 1's share of the published kept set
                    assert abs(drawn[1] - n * share) <= max(1, 0.04 * n)  # a systematic draw
        assert rule.moved is moves
