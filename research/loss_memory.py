"""Research instrument: how clean the published shares would be under other rankings, read on
one run of a rule (issue 28, "agreement and time"; docs/SELECTION.md section 11).

    python research/loss_memory.py --seed 0 --out docs/results/memory/shipped-seed0.json

One bench run (``bench.run.run``, organizers' loop, one thread) in which the rule is wrapped,
as ``trace_last_steps.py`` wraps it: every call's labels and both models' losses are kept, and
the run goes on exactly as the rule decides (the wrapper only copies), so its final scores equal
the bench's row. The loop never shuffles, so the call at position ``p`` of an epoch holds
training samples ``p * B`` on; after the run the clean labels of the scenario say, for every
epoch from the third on (the JSON's keys count epochs from 0: key 2 is the third, the first
after the shipped rule's two-epoch warm-up, which the scores below assume), how clean each
ranking's kept set would have been: each model keeps
the published shares of each label (0.50 / 0.93, floor, as the shipped rule does) by a score of
its *peer*, and the instrument reports the share of the kept samples whose label is right.

The scores compared, each the peer's, per sample:

- ``now``: this visit's loss (what the shipped rule ranks by: its kept sets, checked against
  the row's selection precision);
- ``two``: the mean of this visit's and the last one's (``visits.py:two_visits``);
- ``since_1``: the mean over every visit from epoch 1 on (epoch 0 is a model learning from
  nothing); ``all``: over every visit;
- ``warm``: the loss of the last warm-up visit (epoch 1, counted from 0) alone, a ranking fixed at the switch;
- ``margin_since_1``: the mean logit margin on the label from epoch 1 on, read from the loss
  (``log p - log(1 - p)`` with ``p = exp(-loss)``), in the way the area under the margin
  averages it;
- ``sum_since_1``: both models' summed loss, mean from epoch 1 on (one set for both).

``shares`` adds, for ``now``, each label's precision and the share of its clean samples kept at
keep shares from 0.3 to 1.0 (the precision of a share is what an estimate of it would buy).
The recorded losses are saved beside the JSON (``.pt``) for other reads.

A measurement of rankings on one trajectory, not a rule: a ranking that keeps cleaner sets here
is a candidate worth a run, since a rule that selects differently changes the trajectory too.
"""

from __future__ import annotations

import argparse
import json
import os

import torch

import noisy_select.strategies.registry as registry
from noisy_select.bench.run import RunConfig, run
from noisy_select.data import scenarios
from noisy_select.strategies.base import PUBLISHED_KEEP, keep_lowest, prepare

SHARES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.96, 1.0)
SCORES = ("now", "two", "since_1", "all", "warm", "margin_since_1", "sum_since_1")


Calls = list[tuple[torch.Tensor, torch.Tensor]]  # per call: labels (B,), losses (2, B)


def record(scenario: str, seed: int, strategy: str, epochs: int = 6,
           scale: float = 1.0) -> tuple[dict, Calls]:
    """Run once; returns the row and every call's labels and losses, as the rule reads them
    (``base.prepare``: NaN and inf the worst loss, clipped to [0, MAX_LOSS])."""
    calls: Calls = []
    make = registry.make_strategy

    def recorded(name: str, clean_fn=None):
        rule = make(name, clean_fn)

        def select(targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
            labels, loss = prepare(targets, losses)  # labels may be a view of targets
            calls.append((labels.clone().cpu(), loss.cpu()))
            return rule(targets, losses)
        return select

    registry.make_strategy = recorded
    try:
        row = run(RunConfig(scenario=scenario, strategy=strategy, seed=seed, epochs=epochs,
                            scale=scale, threads=1, progress=False))
    finally:
        registry.make_strategy = make
    return row, calls


def margin(loss: torch.Tensor) -> torch.Tensor:
    """The logit margin on the label, from a two-class cross-entropy loss: log p - log(1 - p)."""
    p = torch.exp(-loss).clamp(1e-7, 1 - 1e-7)
    return torch.log(p) - torch.log1p(-p)


def calls_per_epoch(calls: Calls, epochs: int) -> int:
    """The calls of one epoch; raises ``ValueError`` unless every epoch repeats the first's
    labels, batch by batch (the loop never shuffles: what the position reads rest on)."""
    per_epoch, rest = divmod(len(calls), epochs)
    if rest or any(not torch.equal(calls[i][0], calls[i % per_epoch][0])
                   for i in range(len(calls))):
        raise ValueError(f"Expected {epochs} epochs of the same batches, but got {len(calls)} "
                         "calls that do not repeat: was the loop shuffled?")
    return per_epoch


def truths(calls: Calls, clean: torch.Tensor, per_epoch: int) -> list[torch.Tensor]:
    """The clean labels of each position's batch: position ``p`` holds the training samples
    after those of positions ``0..p-1``, in order (the loop never shuffles)."""
    ends = torch.tensor([len(labels) for labels, _ in calls[:per_epoch]]).cumsum(0).tolist()
    return list(clean[:ends[-1]].split([b - a for a, b in zip([0] + ends, ends)]))


def precisions(calls: Calls, clean: torch.Tensor, epochs: int) -> dict:
    """Per epoch from 2 on, per score: the label-0 and label-1 precision of the kept sets (both
    models' kept samples pooled; ``per_model``: each model's) and the share of each label kept."""
    per_epoch = calls_per_epoch(calls, epochs)
    keep = torch.tensor(PUBLISHED_KEEP, dtype=torch.float64)
    out: dict = {}
    truth_of = truths(calls, clean, per_epoch)
    for epoch in range(2, epochs):
        tally = {s: torch.zeros(2, 2, 2) for s in SCORES}  # model, label: right kept, kept
        for pos, truth in enumerate(truth_of):
            visits = [calls[e * per_epoch + pos][1] for e in range(epoch + 1)]
            labels = calls[epoch * per_epoch + pos][0]
            stacked = torch.stack(visits)  # (visits, 2, B)
            score = {"now": stacked[-1], "two": stacked[-2:].mean(0),
                     "since_1": stacked[1:].mean(0), "all": stacked.mean(0),
                     "warm": stacked[1], "margin_since_1": -margin(stacked[1:]).mean(0),
                     "sum_since_1": stacked[1:].mean(0).sum(0, keepdim=True).expand(2, -1)}
            for name, s in score.items():
                kept = keep_lowest(labels, s.flip(0), keep)  # (2, B): model m by its peer
                for label in (0, 1):
                    mask = kept & (labels == label)
                    tally[name][:, label, 0] += (mask & (truth == label)).sum(-1)
                    tally[name][:, label, 1] += mask.sum(-1)
        counts = torch.bincount(torch.cat([c[0] for c in calls[:per_epoch]]), minlength=2)
        out[epoch] = {name: {"precision": (t[..., 0].sum(0) / t[..., 1].sum(0)).tolist(),
                             "per_model": (t[..., 0] / t[..., 1]).tolist(),
                             "kept": (t[..., 1].sum(0) / (2 * counts)).tolist()}
                      for name, t in tally.items()}
    return out


def shares(calls: Calls, clean: torch.Tensor, epochs: int) -> dict:
    """Per epoch from 2 on, per label, per keep share of ``SHARES``: the precision of the kept
    samples by the peer's loss of this visit, and the share of the label's clean samples kept
    (both models pooled)."""
    per_epoch = calls_per_epoch(calls, epochs)
    out: dict = {}
    truth_of = truths(calls, clean, per_epoch)
    for epoch in range(2, epochs):
        tally = torch.zeros(len(SHARES), 2, 3)  # share, label: right kept, kept, right in all
        for pos, truth in enumerate(truth_of):
            labels, loss = calls[epoch * per_epoch + pos]
            for i, share in enumerate(SHARES):
                keep = torch.tensor((share, share), dtype=torch.float64)
                kept = keep_lowest(labels, loss.flip(0), keep)
                for label in (0, 1):
                    mine, right = labels == label, truth == label
                    tally[i, label] += torch.tensor([float((kept & mine & right).sum()),
                                                     float((kept & mine).sum()),
                                                     2.0 * float((mine & right).sum())])
        out[epoch] = {label: {share: {"precision": float(t[label, 0] / t[label, 1]),
                                      "clean_kept": float(t[label, 0] / t[label, 2])}
                              for share, t in zip(SHARES, tally)} for label in (0, 1)}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="fashion-tops")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strategy", default="your_select_indices")
    p.add_argument("--scale", type=float, default=1.0, help="shrink the scenario, (0, 1]")
    p.add_argument("--out", required=True, help="a new JSON file (the losses: a .pt beside it)")
    args = p.parse_args()
    recording = args.out.removesuffix(".json") + ".pt"
    for path in (args.out, recording):
        if os.path.exists(path):
            p.error(f"{path} exists; name a new file.")
    row, calls = record(args.scenario, args.seed, args.strategy, scale=args.scale)
    clean = torch.as_tensor(scenarios.build(args.scenario, args.seed, scale=args.scale)
                            .splits["train"].clean)
    epochs = row["epochs"]
    result = {"scenario": args.scenario, "seed": args.seed, "strategy": args.strategy,
              "scale": args.scale, "epochs": epochs, "config_hash": row["config_hash"],
              "environment": row["environment"],
              "final": row["scores"]["test"], "row_selection": row["selection"],
              "precision": precisions(calls, clean, epochs),
              "shares": shares(calls, clean, epochs)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "x") as f:  # never overwrites
        json.dump(result, f, indent=1)
    with open(recording, "xb") as f:
        torch.save({"labels": [c[0] for c in calls], "losses": [c[1] for c in calls],
                    "clean": clean}, f)
    print(f"final test BAC {row['scores']['test']['bac_1']:.4f} / "
          f"{row['scores']['test']['bac_2']:.4f}")
    for epoch, by_score in result["precision"].items():
        cells = "  ".join(f"{name} {v['precision'][0]:.3f}/{v['precision'][1]:.3f}"
                          for name, v in by_score.items())
        print(f"epoch {epoch + 1}: {cells}")
    for label in (0, 1):
        last = result["shares"][epochs - 1][label]
        print(f"label {label}, last epoch, share: precision / clean kept  " + "  ".join(
            f"{s} {v['precision']:.3f}/{v['clean_kept']:.3f}" for s, v in last.items()))


if __name__ == "__main__":
    main()
