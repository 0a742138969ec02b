"""One run: a ``RunConfig`` in, a result row out. `noisy-select run`, ``bench``, ``compare`` and
the Python API all train through ``run``.

The data is read and checked once per run: a scenario built in memory (``data`` None, what a
sweep does), or a data folder (a new or empty one gets the offline proxy). Both models train
under the loop the config names on the decoded images (``training.tensor_batches``: the bytes
and random draws of the competition's ``DataLoader``, without decoding every image every epoch).

Imports nothing heavy at the top, so that the command line builds its options from
``RunConfig`` without torch.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace

from noisy_select.bench.records import describe, make_row, rule_name, scores
from noisy_select.constants import DEFAULT_LOOP, DEFAULT_SCENARIO, LOOPS, NUM_EPOCHS, SEED, SHIPPED
from noisy_select.errors import UsageError

FOLDER = "folder:"  # how a sweep's rows name a folder of one's own: folder:<name>@<hash[:8]>


def _option(default, help: str, **extra):
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class RunConfig:
    """What one run is; the options of `noisy-select run` are built from these fields."""

    scenario: str | None = _option(None, "proxy scenario: built into a new --data, or checked "
                                         "against the proxy there (default: olympiad, or "
                                         "whatever proxy --data holds)", kind="scenario")
    strategy: str = _option(SHIPPED, "a rule: a registered name, mine.py (its "
                                     "your_select_indices), mine.py:NAME or package.module:NAME",
                            flags=("-s", "--strategy"))
    seed: int = _option(SEED, "seeds the models, and a proxy built into --data (competition: 123)",
                        kind="seed")
    epochs: int = _option(NUM_EPOCHS, "epochs (the competition trains 6)", kind="positive")
    device: str = _option("auto", "auto (CUDA when available), cpu or cuda")
    scale: float = _option(1.0, "shrink every split of a proxy built by this run, (0, 1]",
                           kind="scale")
    loop: str = _option(DEFAULT_LOOP, "official: the organizers' loop, what the platform runs "
                                      "(an empty selection still steps AdamW); seed: the seed "
                                      "notebook's", choices=LOOPS)
    source: str | None = _option(None, "folder with Fashion-MNIST's four IDX files, for a "
                                       "fashion-* proxy built by this run (default: found in "
                                       "the cache, /usr/share/datasets/fashion-mnist, or "
                                       "downloaded)")
    threads: int | None = _option(None, "torch threads (default: torch's own choice, all cores; "
                                        "the thread count changes a run's numerics)",
                                  kind="threads")
    # None: the scenario is built in memory (a sweep); the command line's default is data/.
    data: str | None = _option(None, "folder with train/ and val/ (official layout); a new or "
                                     "empty folder gets the offline proxy",
                               flags=("-d", "--data"), cli_default="data")
    # None: the row is only returned (a sweep's run, which prints nothing).
    out: str | None = _option(None, "the run's JSON record (default: a new "
                                    "results/run-<time>-<strategy>.json)", flags=("-o", "--out"))
    force: bool = _option(False, "replace an existing --out that is not a run record")
    progress: bool = _option(True, "no progress bars and no line per epoch",
                             flags=("--no-progress",))

    def describe(self) -> dict:
        """The strategy and loop as the row records them (``records.describe``)."""
        return describe(self.strategy, self.epochs, loop=self.loop)

    @property
    def name(self) -> str:
        """The strategy as its row names it (``records.rule_name``)."""
        return rule_name(self.strategy)

    def key(self) -> tuple:
        """What makes two runs of a sweep the same run: the row's ``KEY_FIELDS``."""
        described = self.describe()
        return (scenario_name(self.scenario), self.name, described["loop"],
                self.seed, self.epochs, self.scale, described["config_hash"])


@functools.lru_cache(maxsize=64)
def scenario_name(scenario: str | None) -> str:
    """How rows name a sweep's data: the scenario's name (a file's is ``<name>@<hash>``), or a
    folder's ``folder:<name>@<hash>`` as it is."""
    from noisy_select.data.scenarios import get_scenario

    if scenario is not None and scenario.startswith(FOLDER):
        return scenario
    return get_scenario(scenario or DEFAULT_SCENARIO).name


def check_config(config: RunConfig) -> None:
    """``UsageError`` for a config that cannot run, before anything is read or built."""
    from noisy_select.strategies.registry import get_spec

    if get_spec(config.strategy).oracle and config.data is not None:
        raise UsageError(f"Strategy {config.strategy!r} reads the clean labels; run it with "
                         "noisy-select bench.")
    if config.epochs < 1:
        raise UsageError(f"Expected `epochs` >= 1, but got {config.epochs}.")
    if not 0 < config.scale <= 1:
        raise UsageError(f"Expected `scale` to be in (0, 1], but got {config.scale}.")
    if config.loop not in LOOPS:
        raise UsageError(f"Expected `loop` in {LOOPS}, but got {config.loop!r}.")
    if config.threads is not None and config.threads < 1:
        raise UsageError(f"Expected `threads` >= 1, but got {config.threads}.")


def new_record_path(strategy: str, folder: str = "results") -> str:
    """``results/run-<YYYYmmdd-HHMMSS>-<strategy>.json``, never the path of an existing file."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # A rule file's row name (file:mine.NAME@hash) without what a file name should not hold.
    strategy = rule_name(strategy).removeprefix("file:").replace(":", "-").split("@")[0]
    path = os.path.join(folder, f"run-{stamp}-{strategy}.json")
    n = 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(folder, f"run-{stamp}-{strategy}-{n}.json")
    return path


def run(config: RunConfig) -> dict:
    """Train both models with ``config.strategy``, score them and return the result row
    (``records.make_row``).

    With ``config.out`` the run says what it does, a line per step, and writes the row there
    as its record (with the config); without, it prints nothing (a sweep writes the row).
    ``config.threads`` holds for this run only.
    """
    import torch

    from noisy_select.environment import resolve_device
    from noisy_select.strategies.registry import canonical

    check_config(config)
    config = replace(config, strategy=canonical(config.strategy))  # a rule file: this version
    device = resolve_device(config.device)
    if config.out:
        from noisy_select.files import check_outputs, is_run_record

        check_outputs([(config.out, "--out", is_run_record)], [], force=config.force)
        if os.path.exists(config.out):
            print(f"{config.out} exists and will be overwritten by this run's record.")
    previous = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        row = _train_and_score(config, device)
    finally:
        torch.set_num_threads(previous)
    if config.out:
        import json

        from noisy_select.files import atomic_write

        atomic_write(config.out, lambda f: json.dump(row, f, indent=2))
        print(f"Wrote {config.out}")
    return row


def _read_data(config: RunConfig, say) -> tuple[dict, str | None, float | None, dict, bool]:
    """The splits, once: ``(splits, the row's scenario and scale, its data record, whether the
    clean labels are known)``."""
    from noisy_select.data import folders

    if config.data is None:
        from noisy_select.data import scenarios

        built = scenarios.build(config.scenario or DEFAULT_SCENARIO, config.seed,
                                scale=config.scale, source_dir=config.source)
        return built.splits, built.scenario.name, config.scale, \
            {"kind": "scenario", **built.manifest()}, True
    if config.scenario and config.scenario.startswith(FOLDER):  # a sweep over one's own data
        record = {**folders.data_record(config.data),
                  "content_hash": folders.content_hash(config.data)}
        return folders.check_splits(config.data), config.scenario, config.scale, record, True
    from noisy_select.data import ensure

    if config.scale != 1.0 and folders.folder_state(config.data).kind in ("data", "proxy"):
        if (folders.read_manifest(config.data) or {}).get("scale") != config.scale:
            raise UsageError(f"--scale applies only to a proxy this run builds, but {config.data} "
                             "holds data already; drop --scale, or pass a new --data folder.")
    ensure.ensure_data(config.data, config.scenario, config.seed, scale=config.scale,
                       source=config.source)
    say(folders.describe_data(config.data))
    splits = folders.check_splits(config.data)  # bad data stops here, before training
    manifest = folders.read_manifest(config.data)
    return (splits, manifest["scenario"]["name"] if manifest else None,
            manifest.get("scale", 1.0) if manifest else None, folders.data_record(config.data),
            manifest is not None)


def _train_and_score(config: RunConfig, device) -> dict:
    import torch

    from noisy_select.competition import BATCH_SIZE
    from noisy_select.environment import environment
    from noisy_select.strategies.registry import get_spec, make_strategy
    from noisy_select.train.diagnostics import BatchTracker, SelectionRecorder
    from noisy_select.train.training import run_execution_cell, size_warning, tensor_batches

    def say(line: str) -> None:
        if config.out:
            print(line, flush=True)

    splits, scenario, scale, data, clean_known = _read_data(config, say)
    warning = size_warning(len(splits["train"].labels), config.epochs, scale)
    if warning and config.out:
        print(warning, file=sys.stderr)
    batches = tensor_batches(splits["train"], device,
                             clean_labels=get_spec(config.strategy).clean_labels)
    tracker = BatchTracker(batches, list(torch.from_numpy(splits["train"].clean).to(device)
                                         .split(BATCH_SIZE)))
    recorder = SelectionRecorder(make_strategy(config.strategy, clean_fn=tracker.clean), tracker)
    scored = {name: tensor_batches(split, device) for name, split in splits.items()
              if name != "train"}

    def after_epoch(row: dict) -> None:
        recorder.end_epoch(row["epoch"])
        if config.progress:
            say(f"epoch {row['epoch']}/{config.epochs}: validation BAC model 1 "
                f"{row['val_bac_1']:.4f}, model 2 {row['val_bac_2']:.4f}")

    say(f"Training with {rule_name(config.strategy)!r} ({config.loop} loop), seed {config.seed}, "
        f"{config.epochs} epochs on {device}.")
    start = time.perf_counter()
    pair = run_execution_cell(tracker, scored["val"], recorder, epochs=config.epochs,
                              device=device, seed=config.seed, loop=config.loop,
                              progress=config.progress and sys.stderr.isatty(),
                              on_epoch_end=after_epoch)
    seconds = time.perf_counter() - start
    say(f"Trained in {seconds:.1f} s on {device}.")
    scored_on = "test" if "test" in scored else "val"  # also how the BAC lost points there
    split_scores = {}
    for name, loader in scored.items():
        split_scores[name] = r = scores((pair.model1, pair.model2), loader, device,
                                        batches.batches if name == scored_on else None)
        say(f"{name}: BAC model 1 {r['bac_1']:.4f}, model 2 {r['bac_2']:.4f}, "
            f"mean {r['bac_mean']:.4f}, points {r['points']}/100")
    say(f"The platform scores a secret, clean test set: here {scored_on} is the estimate of that "
        f"score{' (held out, and larger than val)' if scored_on == 'test' else ''}; one run is "
        "one draw of it.")
    return make_row(
        scenario=scenario, strategy=config.name, seed=config.seed,
        epochs=config.epochs, scale=scale, device=config.device, described=config.describe(),
        split_scores=split_scores, history=pair.history,
        selection=recorder.epochs if clean_known else None, seconds=seconds, data=data,
        environment=environment(device), extra={"config": asdict(config)} if config.out else None)
