"""A noisy_select strategy inside your own training loop, on your own tensors.

Two networks forward the whole batch, the strategy picks from their per-sample losses which samples
each network learns from, and each network steps on its own picks, as the competition's loop
does. Any two models and any optimiser work; the strategy only sees the labels and the losses.

    python examples/own_loop.py [--epochs 6] [--scale 1.0]

Here the tensors come from the package's offline proxy (real digits, a third of the labels
wrong, the clean labels kept aside to score); put your own ``x`` (N, ...) and ``y`` (N,) in.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn as nn
from sklearn.metrics import balanced_accuracy_score

from noisy_select.data.scenarios import build
from noisy_select.strategies.shipped import BalancedThenPublished


def small_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 2))


def train_pair(x: torch.Tensor, y: torch.Tensor, select, *, epochs: int, batch_size: int = 128,
               seed: int = 0) -> list[nn.Module]:
    """Train two models on ``x``, ``y`` with ``select(targets, losses) -> [idx_1, idx_2]``."""
    torch.manual_seed(seed)
    models = [small_model(), small_model()]
    optimizers = [torch.optim.AdamW(m.parameters(), lr=1e-3) for m in models]
    criterion = nn.CrossEntropyLoss(reduction="none")  # one loss per sample: the strategy needs them
    for _ in range(epochs):
        for model in models:
            model.train()
        for start in range(0, len(y), batch_size):
            inputs, targets = x[start:start + batch_size], y[start:start + batch_size]
            losses = [criterion(model(inputs), targets) for model in models]
            chosen = select(targets, losses)
            for model, optimizer, idx in zip(models, optimizers, chosen):
                optimizer.zero_grad()
                if len(idx) > 0:  # a strategy may select nothing; then this model skips the step
                    criterion(model(inputs[idx]), targets[idx]).mean().backward()
                    optimizer.step()
    return models


def balanced_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float(balanced_accuracy_score(y.numpy(), model(x).argmax(1).numpy()))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the data, (0, 1]")
    args = parser.parse_args(argv)
    data = build("olympiad", seed=0, scale=args.scale)
    train, test = data.splits["train"], data.splits["test"]
    x = torch.from_numpy(train.images).float().div(255).unsqueeze(1)
    y = torch.from_numpy(train.labels)  # the noisy labels: all the loop ever sees
    x_test = torch.from_numpy(test.images).float().div(255).unsqueeze(1)
    y_test = torch.from_numpy(test.clean)

    def every_sample(targets, losses):
        return [torch.arange(len(targets))] * 2

    scores = {}
    # The shipped strategy knows which epoch of the run it is in: a fresh one for every training
    # run (as any strategy with state, e.g. make_strategy("adaptive-mpe") from
    # noisy_select.strategies.registry).
    shipped = BalancedThenPublished(epochs=args.epochs)
    for name, select in (("every sample", every_sample), ("noisy_select", shipped)):
        models = train_pair(x, y, select, epochs=args.epochs)
        scores[name] = sum(balanced_accuracy(m, x_test, y_test) for m in models) / 2
        print(f"{name}: mean test BAC of the two models {scores[name]:.3f}")
    return scores


if __name__ == "__main__":
    main()
