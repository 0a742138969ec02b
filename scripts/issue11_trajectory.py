"""Record every selection call of one bench run (labels, both losses, clean labels, selections).

Usage: python scripts/issue11_trajectory.py STRATEGY SEED OUT.pt [SCENARIO]
Then: python scripts/issue11_ranking.py OUT.pt [--estimates]   (docs/SELECTION.md, issue 11)
"""

import sys

import torch

from noisy_select import scenarios
from noisy_select.competition import BATCH_SIZE
from noisy_select.diagnostics import BatchTracker
from noisy_select.strategies import make_strategy
from noisy_select.training import tensor_batches, train_models


def main(argv: list[str]) -> None:
    name, seed, out = argv[0], int(argv[1]), argv[2]
    scenario = argv[3] if len(argv) > 3 else "olympiad"
    torch.set_num_threads(1)  # as in the bench's workers: the thread count changes the numerics
    data = scenarios.build(scenario, seed)
    train_split = data.splits["train"]
    batches = tensor_batches(train_split, torch.device("cpu"))
    tracker = BatchTracker(batches, list(torch.from_numpy(train_split.clean).split(BATCH_SIZE)))
    strategy = make_strategy(name, clean_fn=tracker.clean)
    calls = []

    def record(targets, losses):
        selected = strategy(targets, losses)
        calls.append((targets.reshape(-1).clone(), torch.stack([x.detach().reshape(-1) for x in losses]),
                      tracker.clean().clone(), [s.clone() for s in selected]))
        return selected

    val = tensor_batches(data.splits["val"], torch.device("cpu"))
    _, history, _ = train_models("fixed", tracker, val, record, epochs=6,
                                 device=torch.device("cpu"), seed=seed, progress=False)
    torch.save({"calls": calls, "history": history, "n_batches": len(batches)}, out)
    print("val BAC per epoch:", [round((h["val_bac_1"] + h["val_bac_2"]) / 2, 3) for h in history])


if __name__ == "__main__":
    main(sys.argv[1:])
