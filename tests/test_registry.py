"""Every registered strategy: the robustness contract, state, and both fixed loops."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from noisy_select.export.inline import exportable
from noisy_select.strategies.registry import REGISTRY, get_spec, make_strategy

NAMES = sorted(REGISTRY)
SELECTS_NOTHING_AT_TIMES = {"seed-solution"}  # the seed's cell: int(0.85 * 1) keeps none of one


def fresh(name, clean=None):
    return make_strategy(name, clean_fn=lambda: clean)


def check_output(out, labels, name=None):
    assert isinstance(out, list) and len(out) == 2
    empty_ok = name in SELECTS_NOTHING_AT_TIMES
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


@pytest.mark.parametrize("name", ["seed-coteaching", "fixed-rates", "adaptive-mpe"])
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


def _batches(seed, noisy):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(12):
        targets = torch.randint(0, 2, (128,), generator=gen)
        base = torch.rand(2, 128, generator=gen)
        wrong = torch.rand(128, generator=gen) < (0.35 if noisy else 0.0)
        out.append((targets, [(b + 4 * wrong) for b in base]))
    return out


# The strategies whose state changes what they select (the others keep only the label check);
# cleanlab has its own test.
STATEFUL = sorted(n for n, spec in REGISTRY.items() if isinstance(spec.cls, type)
                  and not spec.oracle and n not in ("all", "fixed-rates", "seed-coteaching",
                                                    "cleanlab"))


@pytest.mark.parametrize("name", STATEFUL)
def test_a_reset_rule_does_not_remember_an_earlier_run(name):
    clean, noisy = _batches(0, noisy=False), _batches(1, noisy=True)
    # Six epochs of the same batches, the last one short: epoch-wise strategies see a whole run.
    noisy[-1] = (noisy[-1][0][:40], [x[:40] for x in noisy[-1][1]])
    noisy = noisy * 6
    rule = make_strategy(name)
    fresh = [rule(t, loss) for t, loss in noisy]
    used = make_strategy(name)
    for t, loss in clean + noisy:
        used(t, loss)
    # The earlier run shows (else the test below could not fail) ...
    assert not all(torch.equal(used(t, loss)[0], f[0]) for (t, loss), f in zip(noisy, fresh))
    # ... and reset() forgets it.
    used.reset()
    assert all(torch.equal(used(t, loss)[0], f[0]) for (t, loss), f in zip(noisy, fresh))


# --- every exportable strategy under both fixed loops --------------------------------------

EXPORTABLE = sorted(n for n, s in REGISTRY.items() if exportable(s))


@pytest.mark.parametrize("loop", ["seed", "official"])
@pytest.mark.parametrize("name", EXPORTABLE)
def test_every_exportable_strategy_trains_end_to_end_under_both_loops(name, loop):
    """Two epochs of a full and a short batch: the strategy's output drives both loops (the
    organizers' steps even on an empty selection) and leaves finite weights and statistics."""
    from noisy_select.train.training import InMemoryLoader, run_execution_cell

    gen = torch.Generator().manual_seed(3)
    x = torch.rand(21, 1, 28, 28, generator=gen)
    y = (torch.rand(21, 1, generator=gen) > 0.6).long()
    loader = InMemoryLoader([(x[:16], y[:16]), (x[16:], y[16:])])
    pair = run_execution_cell(loader, loader, make_strategy(name), epochs=2, device=torch.device("cpu"),
                              seed=0, loop=loop, progress=False)
    assert len(pair.history) == 2
    for model in (pair.model1, pair.model2):
        assert all(torch.isfinite(v).all() for v in model.state_dict().values()
                   if v.is_floating_point())


def test_registry_errors_name_the_valid_strategies():
    with pytest.raises(ValueError, match="Unknown strategy 'nope'.*fixed-rates.*oracle-clean"):
        get_spec("nope")
    with pytest.raises(ValueError, match="clean labels"):
        make_strategy("oracle-clean")
