"""`noisy-select speed`: the cost of one selection call next to the seed's strategy and a step."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from functools import partial

import torch
import torch.nn as nn
from torch.optim import AdamW

from noisy_select.competition import BATCH_SIZE, LEARNING_RATE, WEIGHT_DECAY, SmallMobileNet
from noisy_select.constants import NUM_EPOCHS, SHIPPED
from noisy_select.strategies.registry import make_strategy


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


def call_stream(epochs: int = 2, samples: int = 3000, seed: int = 0,
                device: torch.device | str = "cpu") -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
    """The calls of ``epochs`` epochs of the loop over ``samples`` samples of the olympiad's
    noise, unshuffled; each model's margin is ``1.5 * (+-1) + N(0, 1)`` for the clean class."""
    gen = torch.Generator().manual_seed(seed)
    clean = (torch.rand(samples, generator=gen) < 0.65).long()
    flip = torch.where(clean == 1, torch.rand(samples, generator=gen) < 0.484,
                       torch.rand(samples, generator=gen) < 0.10)
    labels = torch.where(flip, 1 - clean, clean)
    calls = []
    for _ in range(epochs):
        for i in range(0, samples, BATCH_SIZE):
            y, c = labels[i : i + BATCH_SIZE], clean[i : i + BATCH_SIZE]
            losses = []
            for _ in range(2):
                margin = 1.5 * (2 * c - 1) + torch.randn(len(c), generator=gen)
                logits = torch.stack([-margin / 2, margin / 2], dim=1)
                losses.append(nn.functional.cross_entropy(logits, y, reduction="none").to(device))
            calls.append((y.to(device), losses))
    return calls


@contextlib.contextmanager
def _profiler_quiet():
    """Silence what the profiler's C++ side prints to file descriptor 2 (some torch builds)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def top_level_ops(fn: Callable[[], object]) -> int:
    """How many top-level aten operators ``fn()`` dispatches (``torch.profiler``, CPU): a
    strategy's cost in kernel launches."""
    from torch.profiler import ProfilerActivity, profile

    with _profiler_quiet(), profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return sum(1 for e in prof.events() if e.name.startswith("aten::")
               and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")))


def count_ops(strategy: str = SHIPPED, device: torch.device | str = "cpu",
              epochs: int = NUM_EPOCHS) -> dict:
    """Top-level aten ops per call of ``strategy`` over ``call_stream`` (median and most), and
    the seed's strategy's."""
    built = make_strategy(strategy)
    calls = call_stream(epochs=epochs, device=device)
    counts = sorted(top_level_ops(partial(built, y, losses)) for y, losses in calls)
    seed = top_level_ops(partial(seed_select_indices, *calls[0]))
    return {"strategy": strategy, "calls": len(counts), "median_ops": counts[len(counts) // 2],
            "max_ops": counts[-1], "seed_ops": seed}


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


def measure(device: torch.device, strategy: str = SHIPPED, repeats: int = 200) -> dict:
    """Seconds per call of ``strategy`` and of the seed's strategy, and of one training step."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH_SIZE, 1, 28, 28, generator=gen).to(device)
    y = torch.randint(0, 2, (BATCH_SIZE,), generator=gen).to(device)
    criterion = nn.CrossEntropyLoss(reduction="none")
    models = [SmallMobileNet().to(device) for _ in range(2)]
    optims = [AdamW(m.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY) for m in models]
    losses = [criterion(m(x), y) for m in models]
    built = make_strategy(strategy)

    def step() -> None:
        out = [m(x) for m in models]
        step_losses = [criterion(o, y) for o in out]
        sel = built(y, step_losses)
        for i, (m, opt) in enumerate(zip(models, optims)):
            opt.zero_grad()
            criterion(m(x[sel[i]]), y[sel[i]]).mean().backward()
            opt.step()

    ours = time_call(lambda: built(y, losses), device, repeats)
    seed = time_call(lambda: seed_select_indices(y, losses), device, repeats)
    train_step = time_call(step, device, max(2, repeats // 10))
    return {
        "device": str(device), "strategy": strategy, "call_s": ours, "seed_call_s": seed,
        "step_s": train_step, "share_of_step": ours / train_step,
    }
