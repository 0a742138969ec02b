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
