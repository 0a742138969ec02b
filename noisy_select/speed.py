"""`noisy-select speed`: the cost of one selection call next to the seed's rule and a step."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn as nn
from torch.optim import AdamW

from noisy_select.competition import BATCH_SIZE, LEARNING_RATE, WEIGHT_DECAY, SmallMobileNet
from noisy_select.strategies import make_strategy


def seed_select_indices(targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
    """The seed notebook's solution cell, verbatim in behaviour (the speed reference)."""
    batch_size = targets.shape[0]
    device = targets.device
    loss1, loss2 = losses
    indices = torch.arange(batch_size, device=device)
    c0_mask, c1_mask = (targets == 0), (targets == 1)
    keep_ratio = 0.85
    c0_keep = int(c0_mask.sum().item() * keep_ratio)
    c1_keep = int(c1_mask.sum().item() * keep_ratio)

    def filter_for_peer(peer_loss):
        _, s0 = torch.sort(peer_loss[c0_mask])
        sel0 = indices[c0_mask][s0[:c0_keep]]
        _, s1 = torch.sort(peer_loss[c1_mask])
        sel1 = indices[c1_mask][s1[:c1_keep]]
        return torch.cat([sel0, sel1])

    return [filter_for_peer(loss2), filter_for_peer(loss1)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls, after a warm-up."""
    for _ in range(min(5, repeats)):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def measure(device: torch.device, strategy: str = "your_select_indices", repeats: int = 200) -> dict:
    """Seconds per call of ``strategy`` and of the seed's rule, and of one training step."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH_SIZE, 1, 28, 28, generator=gen).to(device)
    y = torch.randint(0, 2, (BATCH_SIZE,), generator=gen).to(device)
    criterion = nn.CrossEntropyLoss(reduction="none")
    models = [SmallMobileNet().to(device) for _ in range(2)]
    optims = [AdamW(m.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY) for m in models]
    losses = [criterion(m(x), y) for m in models]
    rule = make_strategy(strategy)

    def step() -> None:
        out = [m(x) for m in models]
        step_losses = [criterion(o, y) for o in out]
        sel = rule(y, step_losses)
        for i, (m, opt) in enumerate(zip(models, optims)):
            opt.zero_grad()
            criterion(m(x[sel[i]]), y[sel[i]]).mean().backward()
            opt.step()

    ours = time_call(lambda: rule(y, losses), device, repeats)
    seed = time_call(lambda: seed_select_indices(y, losses), device, repeats)
    train_step = time_call(step, device, max(2, repeats // 10))
    return {
        "device": str(device), "strategy": strategy, "call_s": ours, "seed_call_s": seed,
        "step_s": train_step, "share_of_step": ours / train_step,
    }
