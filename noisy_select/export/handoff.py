"""The platform's hand-off, replayed before a submission is written (``check_handoff``).

The platform runs the notebook in final mode, whose last cell cloudpickles
``your_select_indices``; it loads that file, trains with the organizers' loop and scores the
test set. So: (1) a fresh interpreter runs the code cells in final mode and writes the pickle;
(2) another (``python -m noisy_select.export.handoff``), with this package blocked, loads it
twice, calls one copy on seeded batches and trains with the other on a proxy; (3) this process
checks the same indices as the package's strategy and the same BACs as ``noisy-select run
--loop official`` on the same data, seed and thread count.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile

import torch

from noisy_select.constants import NUM_EPOCHS
from noisy_select.errors import HandoffError

CHECK_PREFIX = "submission-check-"
PICKLE_PATH = os.path.join("file_output", "your_select_indices.pkl")
EPOCHS = NUM_EPOCHS  # seeded passes: a stateful strategy sees epochs repeat and a run end


def seeded_batches(seed: int = 0) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
    """``EPOCHS`` passes over 9 batches of 128 and one of 16: ``targets (B,)`` int64 (about 63%
    zero, the same each pass) and two per-sample losses ``(B,)`` with ties, drawn anew each call."""
    gen = torch.Generator().manual_seed(seed)
    epoch = [(torch.rand(size, generator=gen) > 0.63).long() for size in [128] * 9 + [16]]
    return [(targets, [torch.rand(targets.numel(), generator=gen).mul(3).round(decimals=2)
                       for _ in range(2)])
            for targets in epoch * EPOCHS]


def selections(strategy, batches) -> list[list[list[int]]]:
    """What ``strategy`` returns on each batch, as lists (order kept)."""
    return [[torch.as_tensor(idx).reshape(-1).tolist()
             for idx in strategy(targets, [x.clone() for x in losses])]
            for targets, losses in batches]


def final_mode_cells(cells: list[dict]) -> list[str]:
    """The notebook's code cells, the flag cell switched to final evaluation mode."""
    code = [c["source"] for c in cells if c["cell_type"] == "code"]
    flagged = [i for i, src in enumerate(code) if "FINAL_EVALUATION_MODE = False" in src]
    if not flagged:
        raise HandoffError("Expected the notebook to set `FINAL_EVALUATION_MODE = False` in a "
                           "cell, as the task notebook does, but none does.")
    code[flagged[0]] = code[flagged[0]].replace("FINAL_EVALUATION_MODE = False",
                                                "FINAL_EVALUATION_MODE = True", 1)
    return code


# Both fresh interpreters run this first: it ends them once their parent (`submission`) is gone,
# even by kill -9 (an orphan is re-parented); the pid passed holds if it died before they started.
PARENT_VARIABLE = "NOISY_SELECT_PARENT_PID"
WATCH_PARENT = f"""import os as _os, threading as _threading, time as _time
def _exit_with_parent(parent=int(_os.environ.get("{PARENT_VARIABLE}", _os.getppid()))):
    while _os.getppid() == parent:
        _time.sleep(0.5)
    _os._exit(1)
_threading.Thread(target=_exit_with_parent, daemon=True).start()
"""
# Runs the cells as a kernel does: each compiled on its own, all in one __main__ namespace.
RUN_CELLS = "import json, sys\n" + WATCH_PARENT + """
for number, source in enumerate(json.load(open(sys.argv[1])), start=1):
    exec(compile(source, f"<cell {number}>", "exec"), globals())
"""


def _python(args: list[str], cwd: str, what: str, timeout: float) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, PARENT_VARIABLE: str(os.getpid())})
    except subprocess.TimeoutExpired as err:
        raise HandoffError(f"{what} did not finish within {timeout:.0f} s.") from err
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise HandoffError(f"{what} failed: {lines[-1] if lines else '(no message)'}")
    return done


def make_pickle(cells: list[dict], folder: str, timeout: float = 600) -> str:
    """Run the notebook's code cells in final mode in a fresh interpreter inside ``folder``;
    returns the path of the pickle its last cell wrote."""
    with open(os.path.join(folder, "cells.json"), "w") as f:
        json.dump(final_mode_cells(cells), f)
    _python(["-c", RUN_CELLS, "cells.json"], folder, "The notebook in final evaluation mode "
            "(ending with the cell that saves `your_select_indices` with cloudpickle)", timeout)
    path = os.path.join(folder, PICKLE_PATH)
    if not os.path.isfile(path):
        raise HandoffError(f"The notebook ran in final mode but wrote no {PICKLE_PATH}.")
    return path


def load_and_train(pickle_path: str, data_dir: str, *, seed: int, epochs: int, threads: int,
                   timeout: float = 1200) -> dict:
    """Step 2 in a fresh interpreter: its selections on ``seeded_batches`` and the BACs of the
    organizers' loop on ``data_dir`` (trained on train/, scored on test/)."""
    with tempfile.TemporaryDirectory(prefix="handoff-") as work:
        out = os.path.join(work, "result.json")
        _python(["-m", "noisy_select.export.handoff", pickle_path, data_dir, "--seed", str(seed),
                 "--epochs", str(epochs), "--threads", str(threads), "--out", out], work,
                "Loading the pickle in a fresh interpreter and training with it", timeout)
        with open(out) as f:
            return json.load(f)


def check_handoff(cells: list[dict], strategy: str, *, scale: float = 0.1, epochs: int = NUM_EPOCHS,
                  seed: int = 123) -> dict:
    """Replay the platform's hand-off for the notebook ``cells`` that export ``strategy`` on the
    CPU, one thread, ``olympiad`` proxy shrunk by ``scale``; ``HandoffError`` says what failed.
    Returns what was compared."""
    # One thread in both interpreters: the same float summation order, and no oversubscribed
    # cores (the check compares, it does not time).
    threads, previous = 1, torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        theirs, ours, expected = _replay(cells, strategy, scale=scale, epochs=epochs, seed=seed)
    finally:
        torch.set_num_threads(previous)
    if (theirs["bac_1"], theirs["bac_2"]) != (expected["bac_1"], expected["bac_2"]):
        raise HandoffError(
            f"The unpickled strategy trained to BAC {theirs['bac_1']:.6f} / {theirs['bac_2']:.6f} "
            f"under the organizers' loop, but `noisy-select run --loop official` gives "
            f"{expected['bac_1']:.6f} / {expected['bac_2']:.6f} on the same data and seed.")
    return {"calls": len(ours), "bac_1": theirs["bac_1"], "bac_2": theirs["bac_2"],
            "scale": scale, "epochs": epochs, "seed": seed, "threads": threads}


def _replay(cells: list[dict], strategy: str, *, scale: float, epochs: int, seed: int):
    from noisy_select.bench.run import RunConfig, run
    from noisy_select.data.folders import remove_stale_work
    from noisy_select.data.proxy import build_proxy
    from noisy_select.strategies.registry import make_strategy

    # a check killed with kill -9 left its folder; its pid in the name says it is gone
    remove_stale_work(tempfile.gettempdir(), CHECK_PREFIX)
    with tempfile.TemporaryDirectory(prefix=f"{CHECK_PREFIX}{os.getpid()}-") as work:
        pickle_path = make_pickle(cells, work)
        data_dir = os.path.join(work, "data")
        with contextlib.redirect_stdout(io.StringIO()):
            build_proxy(data_dir, "olympiad", seed, scale=scale)
        theirs = load_and_train(pickle_path, data_dir, seed=seed, epochs=epochs,
                                threads=torch.get_num_threads())
        ours = selections(make_strategy(strategy), seeded_batches())
        for call, (a, b) in enumerate(zip(ours, theirs["selections"])):
            if a != b:
                raise HandoffError(
                    f"The unpickled strategy selects differently from {strategy!r} on seeded batch "
                    f"{call}: model 1 {b[0][:8]}... instead of {a[0][:8]}...; its state or "
                    "helpers do not survive cloudpickle as they are.")
        with contextlib.redirect_stdout(io.StringIO()):
            record = run(RunConfig(data=data_dir, strategy=strategy, epochs=epochs,
                                   device="cpu", seed=seed, loop="official", progress=False,
                                   out=os.path.join(work, "run.json")))
    return theirs, ours, record["scores"]["test"]


class _Blocked:
    """A meta-path finder that refuses to import ``name`` (and its submodules)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise ImportError(f"{fullname} is not available on the platform")
        return None


def _child(argv: list[str] | None = None) -> None:
    """Step 2 (``python -m noisy_select.export.handoff``): everything the platform has, nothing more."""
    # its training may take minutes: it must not outlive a `submission` killed with kill -9
    exec(WATCH_PARENT, {})
    import cloudpickle
    import torch.nn as nn
    import torchvision.transforms as transforms
    from torch.optim import AdamW
    from torch.utils.data import DataLoader

    from noisy_select import competition as c

    parser = argparse.ArgumentParser()
    parser.add_argument("pickle")
    parser.add_argument("data")
    for option in ("--seed", "--epochs", "--threads"):
        parser.add_argument(option, type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    batches = seeded_batches()
    # Forget this package and block it: the strategy must load and run from the pickle alone.
    for name in [m for m in sys.modules if m == "noisy_select" or m.startswith("noisy_select.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _Blocked("noisy_select"))
    with open(args.pickle, "rb") as f:
        probe = cloudpickle.load(f)
    with open(args.pickle, "rb") as f:
        trained = cloudpickle.load(f)
    chosen = selections(probe, batches)

    train_loader, val_loader = c.load_data(os.path.join(args.data, "train"),
                                           os.path.join(args.data, "val"))
    c.seed_everything(args.seed)
    criterion = nn.CrossEntropyLoss(reduction="none")
    model1 = c.SmallMobileNet(c.NUM_CLASSES).to("cpu")
    model2 = c.SmallMobileNet(c.NUM_CLASSES).to("cpu")
    optimizer1 = AdamW(model1.parameters(), lr=c.LEARNING_RATE, weight_decay=c.WEIGHT_DECAY)
    optimizer2 = AdamW(model2.parameters(), lr=c.LEARNING_RATE, weight_decay=c.WEIGHT_DECAY)
    c.seed_everything(args.seed)
    c.train_official(model1, model2, optimizer1, optimizer2, criterion, train_loader, val_loader,
                     args.epochs, "cpu", trained, final_evaluation_mode=True, progress=False)
    test = c.TaskDataset(os.path.join(args.data, "test"),
                         transform=transforms.Compose([transforms.ToTensor()]))
    loader: DataLoader = DataLoader(test, batch_size=c.BATCH_SIZE, shuffle=False)
    bac_1, bac_2 = (c.predict_and_evaluate(m, loader, "cpu") for m in (model1, model2))
    c.performance(bac_1, bac_2)
    with open(args.out, "w") as f:
        json.dump({"selections": chosen, "bac_1": bac_1, "bac_2": bac_2}, f)


if __name__ == "__main__":
    _child()
