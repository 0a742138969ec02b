"""Research instrument: each model's scored test BAC and AUC at every one of a run's last calls.

    python research/trace_last_steps.py --scenario fashion-tops --seed 8 --calls 60 \
        --out docs/results/traces/shipped-seed8.json

One bench run (``bench.run.run``, organizers' loop, one thread, as a sweep runs it) in which the
rule is wrapped: on each of the run's last ``--calls`` calls, before the loop steps, both models
are scored on the clean test split with their *running* BatchNorm statistics, as the platform
scores them (``evaluation.evaluate``: eval mode, no grad, torch's generator restored after, so
the run is the same run: its final scores equal the bench's row). The row's final scores close
the trace, and a figure is written beside the JSON. This reads the models, which a rule may
never do: it is a measurement, not a rule, and its wrapper sits outside the rule.

With ``--statistics`` each traced call also reads, per model, what section 9 of
docs/SELECTION.md asks next: ``bac_bn_<m>``, the test BAC with BatchNorm's statistics
re-estimated on a fixed quarter of the training set (every fourth batch; the weights as they
stand); ``shift_<m>``, how far the running means stand from those re-estimated ones, in
re-estimated standard deviations (the mean over channels, then over the BatchNorm layers);
``shift_last_<m>``, the same for the last BatchNorm layer alone (the one the logits read); and
``step_<m>``, the relative size of the weights' change since the previous traced call (one
optimiser step), ``|w - w_prev| / |w|`` over every parameter.

``--margins`` adds, to those, where the test samples stand against the threshold, with the
running statistics and with re-estimated ones (``_bn``): ``positive_<m>``, the share of the test
split the model calls class 1, and ``near_<m>``, the share whose logit margin (class 1 minus
class 0) lies within 1 of the threshold at 0 (a probability between 0.27 and 0.73).
"""

from __future__ import annotations

import argparse
import json
import os

import torch

import noisy_select.strategies.registry as registry
import noisy_select.train.training as training
from noisy_select.bench.run import RunConfig, run
from noisy_select.data import scenarios
from noisy_select.train.evaluation import batch_norms, logits, scores, with_reestimated_statistics


def _shifts(running: torch.nn.Module, reestimated: torch.nn.Module) -> list[float]:
    """Per BatchNorm layer: the mean over channels of |running mean - re-estimated mean| in
    re-estimated standard deviations."""
    return [float(((a.running_mean - b.running_mean).abs()
                   / (b.running_var + b.eps).sqrt()).mean())
            for a, b in zip(batch_norms(running), batch_norms(reestimated))]


def _margins(out: torch.Tensor) -> tuple[float, float]:
    """From test logits: the share called class 1, and the share within 1 of the threshold."""
    margin = out[:, 1] - out[:, 0]
    return float((margin > 0).float().mean()), float((margin.abs() < 1).float().mean())


def statistics(model: torch.nn.Module, train, test, device, before: torch.Tensor | None,
               scored: torch.Tensor, margins: bool = False) -> dict:
    """The ``--statistics`` reads of one model (see the module docstring), and the
    ``--margins`` reads where asked; ``before`` is its flattened parameters at the previous
    traced call, or None; ``scored`` its test logits with the running statistics."""
    reestimated = with_reestimated_statistics(model, train, device)
    out, labels = logits(reestimated, test, device)
    shifts = _shifts(model, reestimated)
    now = torch.cat([p.detach().reshape(-1).cpu() for p in model.parameters()])
    read = {"bac_bn": scores(out, labels)[0],
            "shift": sum(shifts) / len(shifts), "shift_last": shifts[-1],
            "step": None if before is None else float((now - before).norm() / now.norm()),
            "weights": now}
    if margins:
        read["positive"], read["near"] = _margins(scored)
        read["positive_bn"], read["near_bn"] = _margins(out)
    return read


def trace(scenario: str, seed: int, strategy: str, calls: int, epochs: int = 6,
          scale: float = 1.0, with_statistics: bool = False, margins: bool = False) -> dict:
    splits = scenarios.build(scenario, seed, scale=scale).splits
    test = training.tensor_batches(splits["test"], "cpu")  # logits moves each batch
    reads = with_statistics or margins
    quarter = list(training.tensor_batches(splits["train"], "cpu"))[::4] if reads else None
    previous: dict[int, torch.Tensor | None] = {1: None, 2: None}
    total = training.optimizer_steps(len(splits["train"].labels), epochs)  # the run's calls
    models, rows = [], []
    official, make = training.SmallMobileNet, registry.make_strategy

    class Tracked(official):  # the official model; only remembers its instances
        def __init__(self) -> None:
            super().__init__()
            models.append(self)

    def score(call: int, batch: int, sizes: list[int]) -> None:
        row = {"call": call, "batch": batch, "selected": sizes}
        state = torch.get_rng_state()  # iterating a loader draws a number, as DataLoader does
        for i, model in enumerate(models[-2:], start=1):
            device = next(model.parameters()).device  # the run's device (auto)
            out, labels = logits(model, test, device)  # as evaluation.evaluate scores it
            row[f"bac_{i}"], row[f"auc_{i}"] = scores(out, labels)
            if reads:
                read = statistics(model, quarter, test, device, previous[i], out, margins)
                previous[i] = read.pop("weights")
                row.update({f"{k}_{i}": v for k, v in read.items()})
            model.train()  # logits leaves eval mode; the loop trains in train mode
        torch.set_rng_state(state)  # so later dropout masks are the run's own
        rows.append(row)

    def traced(name: str, clean_fn=None):
        rule, seen = make(name, clean_fn), [0]

        def select(targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
            seen[0] += 1
            out = rule(targets, losses)
            if seen[0] > total - calls:
                score(seen[0], targets.numel(), [len(i) for i in out])
            return out
        return select

    training.SmallMobileNet, registry.make_strategy = Tracked, traced
    try:
        row = run(RunConfig(scenario=scenario, strategy=strategy, seed=seed, epochs=epochs,
                            scale=scale, threads=1, progress=False))
    finally:
        training.SmallMobileNet, registry.make_strategy = official, make
    return {"scenario": scenario, "seed": seed, "strategy": strategy, "loop": row["loop"],
            "statistics": reads, "margins": margins,
            "calls": total, "trace": rows, "final": row["scores"]["test"],
            "scale": scale, "config_hash": row["config_hash"]}


def plot(result: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    read = result.get("statistics", False)
    fig, axes = plt.subplots(2 if read else 1, 1, figsize=(7, 6 if read else 3.5), sharex=True,
                             squeeze=False)
    ax = axes[0][0]
    traced = result["trace"]
    calls = [r["call"] for r in traced] + [result["calls"] + 1]
    for m, colour in ((1, "tab:blue"), (2, "tab:orange")):
        bac = [r[f"bac_{m}"] for r in traced] + [result["final"][f"bac_{m}"]]
        ax.plot(calls, bac, marker=".", color=colour, label=f"model {m}")
        if read:
            ax.plot(calls[:-1], [r[f"bac_bn_{m}"] for r in traced], ls="--", color=colour,
                    label=f"model {m}, statistics re-estimated")
    ax.set(ylabel="scored test BAC", ylim=(0.5, 1.0),  # one scale for every trace
           title=f"{result['strategy']}, {result['scenario']} seed {result['seed']}")
    ax.legend(fontsize=7)
    if read:
        low = axes[1][0]
        for m, colour in ((1, "tab:blue"), (2, "tab:orange")):
            low.plot(calls[:-1], [r[f"shift_last_{m}"] for r in traced], color=colour,
                     label=f"model {m}: last BatchNorm's running mean shift (sd)")
            low.plot(calls[1:-1], [100 * r[f"step_{m}"] for r in traced[1:]], ls=":",
                     color=colour, label=f"model {m}: step, % of |w|")
        low.set(ylabel="shift / step")
        low.legend(fontsize=7)
    axes[-1][0].set(xlabel="call (the last point: after the run's last step)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="fashion-tops")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--strategy", default="your_select_indices")
    p.add_argument("--calls", type=int, default=60)
    p.add_argument("--scale", type=float, default=1.0, help="shrink the scenario, (0, 1]")
    p.add_argument("--statistics", action="store_true",
                   help="also read re-estimated statistics, their distance and the step size")
    p.add_argument("--margins", action="store_true",
                   help="--statistics, and the shares called class 1 and near the threshold")
    p.add_argument("--out", required=True, help="a new JSON file (a .png is written beside it)")
    args = p.parse_args()
    if os.path.exists(args.out):
        p.error(f"{args.out} exists; name a new file.")
    result = trace(args.scenario, args.seed, args.strategy, args.calls, scale=args.scale,
                   with_statistics=args.statistics, margins=args.margins)
    with open(args.out, "x") as f:  # never overwrites
        json.dump(result, f, indent=1)
    plot(result, args.out.removesuffix(".json") + ".png")
    print(f"final test BAC {result['final']['bac_1']:.4f} / {result['final']['bac_2']:.4f}; "
          f"wrote {args.out}")


if __name__ == "__main__":
    main()
