"""Your own rule, from its file to a submission: check, run, compare, submission.

    python examples/own_rule.py [--rule examples/my_rule.py] [--seeds 0,1,2] [--scale 0.2]

Each step is what the command line does with the same file (``noisy-select run -s
examples/my_rule.py``, ``noisy-select compare your_select_indices examples/my_rule.py``,
``noisy-select submission -s examples/my_rule.py``). It takes a few minutes on a CPU with the
defaults (2 x 3 runs of 2,000 images); everything it writes goes under ``--out``.
"""

from __future__ import annotations

import argparse
import os

from noisy_select import check, compare
from noisy_select.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))


def walk_through(rule: str, out: str, *, seeds: list[int], scale: float, epochs: int,
                 replay: bool) -> None:
    # 1. The checks every command runs first: the file loads, the rule answers made-up batches
    #    with indices the loops can use. A test file of yours can do just this.
    print(f"1. check: rows will name the rule {check(rule)}")

    # 2. One run on the offline proxy (built into a folder of its own), scored on its test split.
    code = main(["run", "-s", rule, "-d", os.path.join(out, "data"), "--scale", str(scale),
                 "--epochs", str(epochs), "--device", "cpu", "--no-progress",
                 "-o", os.path.join(out, "run.json")])
    assert code == 0, "the run failed (its message is above)"

    # 3. Against the shipped rule on paired seeds: the same data and starting models per seed.
    table = compare(rule, "your_select_indices", scenario="olympiad", seeds=seeds, scale=scale,
                    epochs=epochs, device="cpu", results=os.path.join(out, "compare.jsonl"))
    print(table.to_string(index=False))
    print(table.attrs["markdown"])  # "too few seeds" below 5: use --seeds 0-9 before deciding

    # 4. The notebook to hand in: your file as the solution cell, then the platform's hand-off
    #    replayed (cloudpickle, a fresh interpreter without noisy_select, the organizers' loop).
    argv = ["submission", "-s", rule, "-o", os.path.join(out, "submission.ipynb"), "--force"]
    assert main(argv + ([] if replay else ["--no-check"])) == 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", default=os.path.join(HERE, "my_rule.py"))
    parser.add_argument("--out", default="results/own_rule")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--no-check", action="store_true", help="skip the hand-off replay")
    args = parser.parse_args()
    walk_through(args.rule, args.out, seeds=[int(s) for s in args.seeds.split(",")],
                 scale=args.scale, epochs=args.epochs, replay=not args.no_check)
