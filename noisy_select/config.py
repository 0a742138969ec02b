"""What one ``noisy-select run`` does, as data: the CLI's ``run`` options are built from it.

Imports nothing heavy, so that ``noisy-select --help`` needs no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from noisy_select.constants import DEFAULT_LOOP, LOOPS, NUM_EPOCHS, SEED, SHIPPED, TRAINERS


def _option(default, help: str, **extra):
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class RunConfig:
    data: str = _option("data", "folder with train/ and val/ (official layout); a new or empty "
                                "folder gets the offline proxy", flags=("-d", "--data"))
    strategy: str = _option(SHIPPED, "a rule: a registered name, mine.py (its "
                                     "your_select_indices), mine.py:NAME or package.module:NAME; "
                                     "robust:<rule> trains it with the robust trainer",
                            flags=("-s", "--strategy"))
    epochs: int = _option(NUM_EPOCHS, "epochs (the competition trains 6)", kind="positive")
    device: str = _option("auto", "auto (CUDA when available), cpu or cuda")
    threads: int | None = _option(None, "torch threads (default: torch's own choice, all cores; "
                                        "the thread count changes a run's numerics)",
                                  kind="threads")
    seed: int = _option(SEED, "seeds the models, and a proxy built into --data (competition: 123)",
                        kind="seed")
    scenario: str | None = _option(None, "proxy scenario: built into a new --data, or checked "
                                         "against the proxy there (default: olympiad, or "
                                         "whatever proxy --data holds)", kind="scenario")
    scale: float = _option(1.0, "shrink every split of a proxy built by this run, (0, 1]",
                           kind="scale")
    out: str | None = _option(None, "the run's JSON record (default: a new "
                                    "results/run-<time>-<strategy>.json)", flags=("-o", "--out"))
    force: bool = _option(False, "replace an existing --out that is not a run record")
    progress: bool = _option(True, "no progress bars and no line per epoch",
                             flags=("--no-progress",))
    loop: str = _option(DEFAULT_LOOP, "the fixed trainer's loop: official (the organizers' "
                                      "notebook, what the platform runs: an empty selection "
                                      "still steps AdamW) or seed (the seed notebook's)",
                        choices=LOOPS)
    source: str | None = _option(None, "folder with Fashion-MNIST's four IDX files, for a "
                                       "fashion-* proxy built by this run (default: found in "
                                       "the cache, /usr/share/datasets/fashion-mnist, or "
                                       "downloaded)")
    trainer: str = _option("fixed", "fixed: the competition's loop; robust: schedule + mean "
                                    "teacher + mixup", choices=TRAINERS)
    schedule: str | None = _option(None, "robust: JSON file of the phase schedule")
    keep_best: bool = _option(False, "robust: keep the best epoch by validation BAC (labelled in "
                                     "results)")


def options() -> list:
    """The fields of ``RunConfig`` with their metadata, in order (for the CLI)."""
    return list(fields(RunConfig))
