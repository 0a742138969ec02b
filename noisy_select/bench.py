"""`noisy-select bench`: scenarios x strategies x seeds through the fixed loop, in memory.

Each run is a pure function of (scenario, strategy, seed, epochs, device, scale): the seed
builds the scenario's data and seeds the models. Runs use the competition's ``train`` with
identical semantics; images are decoded once into tensors instead of per epoch, which gives
the same batches in the same order. Results are appended as one JSON line per run, so a
sweep can be resumed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass

import torch
from tqdm import tqdm

from noisy_select import scenarios
from noisy_select.competition import BATCH_SIZE, NUM_EPOCHS, points, predict_and_evaluate
from noisy_select.diagnostics import BatchTracker, SelectionRecorder
from noisy_select.strategies import get_spec, make_strategy
from noisy_select.training import (
    environment,
    resolve_device,
    tensor_batches,
    train_models,
)


@dataclass(frozen=True)
class RunSpec:
    scenario: str
    strategy: str
    seed: int
    epochs: int = NUM_EPOCHS
    device: str = "auto"
    scale: float = 1.0  # shrinks every split (tests)

    def key(self) -> tuple:
        return (self.scenario, self.strategy, self.seed, self.epochs, self.scale)


ROBUST_PREFIX = "robust:"


def split_trainer(name: str) -> tuple[str, str]:
    """``"robust:adaptive"`` -> ``("robust", "adaptive")``; a plain name -> ``("fixed", name)``."""
    if name.startswith(ROBUST_PREFIX):
        return "robust", name[len(ROBUST_PREFIX):]
    return "fixed", name


def run_one(spec: RunSpec, progress: bool = False) -> dict:
    """Train and score one (scenario, strategy, seed); returns the result row.

    ``robust:<strategy>`` trains with ``robust.train_robust`` (default schedule, teachers
    scored) and ``<strategy>`` choosing the supervised samples; other names use the fixed loop.
    """
    trainer, strategy_name = split_trainer(spec.strategy)
    strategy_spec = get_spec(strategy_name)
    device = resolve_device(spec.device)
    data = scenarios.build(spec.scenario, spec.seed, scale=spec.scale)
    train_split = data.splits["train"]
    batches = tensor_batches(train_split, device, clean_labels=strategy_spec.clean_labels)
    clean_labels = torch.from_numpy(train_split.clean).to(device)
    clean = list(clean_labels.split(BATCH_SIZE))
    tracker = BatchTracker(batches, clean)
    recorder = SelectionRecorder(make_strategy(strategy_name, clean_fn=tracker.clean), tracker)
    val = tensor_batches(data.splits["val"], device)
    test = tensor_batches(data.splits["test"], device)

    start = time.perf_counter()
    models, history, extra = train_models(trainer, tracker, val, recorder, epochs=spec.epochs,
                                          device=device, seed=spec.seed, progress=progress,
                                          on_epoch_end=recorder.end_epoch)
    seconds = time.perf_counter() - start
    bacs = [predict_and_evaluate(m, test, device) for m in models]
    return {
        **extra,
        **asdict(spec),
        "bac_1": bacs[0], "bac_2": bacs[1], "bac_mean": (bacs[0] + bacs[1]) / 2,
        "points": points(*bacs),
        "history": history,
        "selection": recorder.epochs,
        "seconds": round(seconds, 2),
        "data": data.manifest()["counts"],
        "environment": environment(device),
    }


def read_results(path: str) -> list[dict]:
    """Every row of a results file (JSON lines); a missing file has none."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _key(row: dict) -> tuple:
    return RunSpec(row["scenario"], row["strategy"], row["seed"], row["epochs"],
                   scale=row["scale"]).key()


def _worker_init(threads: int) -> None:
    torch.set_num_threads(threads)


def plan(scenario_names: list[str], strategy_names: list[str], seeds: list[int], *,
         epochs: int = NUM_EPOCHS, device: str = "auto", scale: float = 1.0) -> list[RunSpec]:
    """Every run of a sweep, names checked first (unknown names raise ``ValueError``)."""
    for name in scenario_names:
        scenarios.get_scenario(name)
    for name in strategy_names:
        get_spec(split_trainer(name)[1])
    if epochs < 1:
        raise ValueError(f"Expected `epochs` >= 1, but got {epochs}.")
    return [RunSpec(sc, st, seed, epochs, device, scale)
            for sc in scenario_names for seed in seeds for st in strategy_names]


def sweep(specs: list[RunSpec], out: str, *, jobs: int = 1, progress: bool = True) -> list[dict]:
    """Run the specs not already in ``out`` (resume), appending each result as it finishes.

    Returns the rows of ``out`` that belong to ``specs``.
    """
    done = {_key(r) for r in read_results(out)}
    todo = [s for s in specs if s.key() not in done]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if len(specs) > len(todo):
        print(f"{len(specs) - len(todo)} of {len(specs)} runs already in {out}; running the rest.")
    bar = tqdm(total=len(todo), desc="bench", unit="run", disable=not progress)

    def save(row: dict) -> None:
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
        bar.set_postfix_str(f"{row['scenario']}/{row['strategy']}/{row['seed']}: "
                            f"{row['bac_mean']:.3f}")
        bar.update()

    if jobs <= 1:
        for spec in todo:
            save(run_one(spec))
    else:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        ctx = multiprocessing.get_context("spawn")  # safe with CUDA, unlike fork
        with ProcessPoolExecutor(jobs, ctx, _worker_init, (threads,)) as pool:
            futures = [pool.submit(run_one, s) for s in todo]
            for future in as_completed(futures):
                save(future.result())
    bar.close()
    wanted = {s.key() for s in specs}
    return [r for r in read_results(out) if _key(r) in wanted]
