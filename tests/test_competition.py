import numpy as np
import pytest
import torch
import torch.nn as nn

from noisy_select import competition as c


def test_architecture_matches_the_official_table():
    model = c.SmallMobileNet()
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    table = [(1, 32, 3, 1, 1, 1), (32, 32, 3, 1, 1, 32), (32, 64, 1, 1, 0, 1),
             (64, 64, 3, 2, 1, 64), (64, 128, 1, 1, 0, 1), (128, 128, 3, 2, 1, 128),
             (128, 256, 1, 1, 0, 1)]
    got = [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0], m.groups)
           for m in convs]
    assert got == table
    assert all(m.bias is None for m in convs)
    kinds = [type(m) for m in model.features]
    assert kinds == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU6] * 7
    assert [type(m) for m in model.classifier] == [nn.Linear, nn.ReLU6, nn.Dropout, nn.Linear]
    assert isinstance(model.pool, nn.AdaptiveAvgPool2d)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 79_874
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 2)


@pytest.mark.parametrize(
    "bacs, expected",
    [((0.5, 0.5), 0), ((0.4, 0.6), 0), ((0.65, 0.65), 50), ((0.6, 0.7), 50),
     ((0.8, 0.8), 100), ((0.95, 0.9), 100), ((0.7, 0.71), 68)],
)
def test_points_follow_the_seed_formula(bacs, expected, capsys):
    assert c.performance(*bacs) == expected
    assert capsys.readouterr().out == f"Final Score: {expected}/100\n"


def test_task_dataset_and_load_data_read_the_competition_layout(tiny_proxy):
    root, manifest = tiny_proxy
    train_loader, val_loader = c.load_data(str(root / "train"), str(root / "val"))
    assert len(train_loader.dataset) == manifest["counts"]["train"]["size"]
    inputs, targets = next(iter(train_loader))
    assert inputs.shape == (c.BATCH_SIZE, 1, 28, 28) and inputs.dtype == torch.float32
    assert targets.shape == (c.BATCH_SIZE, 1) and targets.dtype == torch.int64
    assert 0 <= inputs.min() and inputs.max() <= 1
    labels = np.concatenate([t.numpy().ravel() for _, t in train_loader])
    assert np.bincount(labels).tolist() == manifest["counts"]["train"]["label_counts"]
    assert not val_loader.dataset.labels_df.empty


def test_default_select_indices_returns_every_sample_twice():
    sel = c.default_select_indices(torch.tensor([0, 1, 1]), [torch.zeros(3)] * 2)
    assert [s.tolist() for s in sel] == [[0, 1, 2], [0, 1, 2]]


def test_epoch_callback_does_not_change_training():
    """Evaluating after each epoch, even through a DataLoader (which draws a seed from the
    global generator), leaves the trained weights identical: dropout masks stay the same."""
    x = torch.rand(40, 1, 28, 28)
    y = torch.randint(0, 2, (40, 1))
    loader = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 40, 16)]

    def weights(callback):
        c.seed_everything(0)
        m1, m2 = c.SmallMobileNet(), c.SmallMobileNet()
        o1 = torch.optim.AdamW(m1.parameters(), lr=c.LEARNING_RATE)
        o2 = torch.optim.AdamW(m2.parameters(), lr=c.LEARNING_RATE)
        crit = nn.CrossEntropyLoss(reduction="none")
        c.train(m1, m2, o1, o2, crit, loader, loader, 2, "cpu",
                lambda t, ls: [torch.arange(len(t))] * 2, epoch_hook=callback, progress=False)
        return torch.cat([p.detach().flatten() for p in m1.parameters()])

    seen = []
    dataset = torch.utils.data.TensorDataset(x, y)
    val_loader = torch.utils.data.DataLoader(dataset, batch_size=16)  # draws from the RNG

    def evaluate(epoch, a, b):
        seen.append(c.predict_and_evaluate(a, val_loader, "cpu"))

    assert torch.equal(weights(None), weights(evaluate))
    assert len(seen) == 2


# --- the organizers' loop ------------------------------------------------------------------

def _tiny_loader(n=40, batch=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=gen)
    y = torch.randint(0, 2, (n, 1), generator=gen)
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, n, batch)]


class _NoIteration:
    """A val loader that must not be read (final evaluation mode)."""

    def __iter__(self):
        raise AssertionError("the validation loader was read")


def _pair(seed=0):
    c.seed_everything(seed)
    m1, m2 = c.SmallMobileNet(), c.SmallMobileNet()
    o1 = torch.optim.AdamW(m1.parameters(), lr=c.LEARNING_RATE, weight_decay=c.WEIGHT_DECAY)
    o2 = torch.optim.AdamW(m2.parameters(), lr=c.LEARNING_RATE, weight_decay=c.WEIGHT_DECAY)
    return m1, m2, o1, o2


def _flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _reference_official(loader, rule, epochs):
    """The organizers' semantics written out plainly: every model steps on every batch, an
    empty selection included; no validation in final mode."""
    m1, m2, o1, o2 = _pair()
    crit = nn.CrossEntropyLoss(reduction="none")
    for _ in range(epochs):
        m1.train(), m2.train()
        for inputs, targets in loader:
            targets = targets.squeeze().long()
            losses = [crit(m(inputs), targets) for m in (m1, m2)]
            sel = rule(targets, losses)
            for model, opt, idx in ((m1, o1, sel[0]), (m2, o2, sel[1])):
                opt.zero_grad()
                crit(model(inputs[idx]), targets[idx]).mean().backward()
                opt.step()
    return m1, m2


def _every_other_call_empty():
    calls = [0]

    def rule(targets, losses):
        calls[0] += 1
        if calls[0] % 2 == 0:
            return [torch.zeros(0, dtype=torch.long)] * 2
        return [torch.arange(len(targets))] * 2
    return rule


def test_official_loop_steps_on_empty_selections_as_the_organizers_notebook_does():
    loader = _tiny_loader()
    ref1, ref2 = _reference_official(loader, _every_other_call_empty(), 2)
    m1, m2, o1, o2 = _pair()
    c.train_official(m1, m2, o1, o2, nn.CrossEntropyLoss(reduction="none"), loader,
                     _NoIteration(), 2, "cpu", _every_other_call_empty(), progress=False)
    assert torch.equal(_flat(m1), _flat(ref1)) and torch.equal(_flat(m2), _flat(ref2))
    for a, b in zip(m1.state_dict().values(), ref1.state_dict().values()):
        assert torch.equal(a, b)  # BatchNorm's running statistics too


def _three_real_steps_then_nothing():
    calls = [0]

    def rule(targets, losses):
        calls[0] += 1
        return [torch.arange(len(targets) if calls[0] <= 3 else 0)] * 2
    return rule


def test_an_empty_selection_skips_the_seed_loop_but_moves_the_weights_in_the_official_one():
    loader = _tiny_loader(n=48)
    crit = nn.CrossEntropyLoss(reduction="none")
    moved = {}
    for loop in ("seed", "official"):
        rule = _three_real_steps_then_nothing()
        m1, m2, o1, o2 = _pair()
        train = c.train if loop == "seed" else c.train_official
        train(m1, m2, o1, o2, crit, loader[:3], [], 1, "cpu", rule, progress=False)
        before = _flat(m1).clone()
        stats = m1.features[1].running_mean.clone()
        train(m1, m2, o1, o2, crit, loader[:1], [], 1, "cpu", rule, progress=False)
        moved[loop] = float((_flat(m1) - before).abs().max())
        # The full-batch forward pass refreshes the statistics in both loops; the empty
        # subset adds nothing (the seed loop skips it, the official one normalises no sample).
        assert not torch.equal(m1.features[1].running_mean, stats)
        assert torch.isfinite(_flat(m1)).all()
    assert moved["seed"] == 0.0 and moved["official"] > 1e-4


def test_official_loop_outside_final_mode_reads_val_and_returns_its_metrics(capsys):
    loader = _tiny_loader()
    m1, m2, o1, o2 = _pair()
    metrics = c.train_official(m1, m2, o1, o2, nn.CrossEntropyLoss(reduction="none"), loader,
                               loader, 2, "cpu", lambda t, ls: [torch.arange(len(t))] * 2,
                               final_evaluation_mode=False)
    assert [len(metrics["val_bac"][i]) for i in (0, 1)] == [2, 2]
    assert all(0 <= b <= 1 for b in metrics["val_bac"][0] + metrics["train_bac"][1])
    out = capsys.readouterr().out
    assert "Epoch 1" in out and "Model2 - Train Loss" in out
    m1, m2, o1, o2 = _pair()
    final = c.train_official(m1, m2, o1, o2, nn.CrossEntropyLoss(reduction="none"), loader,
                             _NoIteration(), 2, "cpu", lambda t, ls: [torch.arange(len(t))] * 2,
                             progress=False)
    assert final["val_bac"] == [[], []]


def test_official_cell_seeds_again_before_training():
    """run_execution_cell(loop="official") is the organizers' execution cell: seed, build, seed again."""
    from noisy_select.data import scenarios
    from noisy_select.train.training import run_execution_cell, tensor_batches

    data = scenarios.build("olympiad", 0, scale=0.05)
    loader = tensor_batches(data.splits["train"], torch.device("cpu"))
    rule = lambda t, ls: [torch.arange(len(t))] * 2  # noqa: E731
    pair = run_execution_cell(loader, loader, rule, epochs=1, device=torch.device("cpu"), seed=5,
                              loop="official", progress=False)
    m1, m2, o1, o2 = _pair(seed=5)
    c.seed_everything(5)
    c.train_official(m1, m2, o1, o2, nn.CrossEntropyLoss(reduction="none"), loader, loader, 1,
                     "cpu", rule, progress=False)
    assert torch.equal(_flat(pair.model1), _flat(m1))
    seed_pair = run_execution_cell(loader, loader, rule, epochs=1, device=torch.device("cpu"), seed=5,
                                   loop="seed", progress=False)
    assert not torch.equal(_flat(seed_pair.model1), _flat(m1))
    with pytest.raises(ValueError, match="Expected `loop` in"):
        run_execution_cell(loader, loader, rule, epochs=1, device=torch.device("cpu"), seed=5,
                           loop="platform")
