"""Bring result rows written by older code to today's keys, where the run would be the same.

A row's resume key holds a hash of its strategy's and trainer's configs, so a row whose
config reads differently today is not found by ``bench`` (it would run again) or ``compare``.
Two changes of how configs read, not of what runs, are handled here; each rewritten row notes
it under ``rekeyed`` with its old hash:

- ``loop``: rows written before the organizers' loop existed ran the seed notebook's loop;
  they get ``loop: "seed"`` (checked by re-running one such row bit-identically).
- ``layout``: the package moved into layers. A class is now recorded by its name, not its
  module path; ``AdaptiveSelection`` lost the options that lost (its rows used their
  defaults, dropped here) and calls its known shares ``keep``; the shipped strategy became a
  plain function, the same selection as ``fixed-rates`` (checked by re-running one of its
  rows bit-identically).

A row whose config still differs after that, or whose strategy is gone, is left alone and
counted. Running it again changes nothing.

    python scripts/rekey_rows.py docs/results/bench.jsonl docs/results/calibration.jsonl
"""
import json
import os
import sys

from noisy_select.strategies.registry import REGISTRY, config_hash, resolved_config

# AdaptiveConfig's options that lost, at the defaults every committed row used.
REMOVED_OPTIONS = {"rate": "mpe", "combine": "cross", "history_decay": 0.0, "warmup_epochs": 0,
                   "tightest": True, "output": "resample"}
RENAMED = {"rates": "keep"}  # one name for the share kept per label
SHIPPED_BEFORE = {"class": "YourSelectIndices", "kwargs": {"keep": [0.5, 0.93]}, "config": None,
                  "clean_labels": False}


def today(config: dict) -> dict:
    """``config`` as today's code writes it, where only the reading changed."""
    kwargs = {RENAMED.get(k, k): v for k, v in config["kwargs"].items()
              if REMOVED_OPTIONS.get(k, object()) != v}
    options = config["config"]
    if isinstance(options, dict):
        options = {RENAMED.get(k, k): v for k, v in options.items()
                   if REMOVED_OPTIONS.get(k, object()) != v}
    return {**config, "class": config["class"].rpartition(".")[2], "kwargs": kwargs,
            "config": options}


def rekey(row: dict) -> str:
    """Rewrite ``row`` in place; which change it took ("kept": none was needed or possible)."""
    change = None
    if "loop" not in row and row.get("trainer") == "fixed":
        row["trainer_config"] = {"name": "fixed", "loop": "seed",
                                 **{k: v for k, v in row["trainer_config"].items() if k != "name"}}
        row["loop"] = "seed"
        change = "loop"
    name = row["strategy"].removeprefix("robust:")
    if name not in REGISTRY:
        return "kept: strategy gone"
    now = resolved_config(name)
    old = today(row["strategy_config"])
    if old != now and not (name == "your_select_indices" and old == SHIPPED_BEFORE):
        return "kept: another run"
    new_hash = config_hash(now, row["trainer_config"])
    if row["strategy_config"] != now:
        row["strategy_config"] = now
        change = "layout" if change is None else change + "+layout"
    if change is None or new_hash == row["config_hash"]:
        return change or "kept: up to date"
    why = {"loop": "written before the organizers' loop existed: the seed notebook's loop ran",
           "layout": "the package moved into layers: the same run, its config read anew"}
    row.setdefault("rekeyed", {})[change] = {
        "from_config_hash": row["config_hash"],
        "why": "; ".join(why[c] for c in change.split("+"))}
    row["config_hash"] = new_hash
    return change


for path in sys.argv[1:]:
    rows = [json.loads(line) for line in open(path) if line.strip()]
    changes = [rekey(r) for r in rows]
    with open(path + ".tmp", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    os.replace(path + ".tmp", path)
    counts = {c: changes.count(c) for c in sorted(set(changes))}
    print(f"{path}: {len(rows)} rows; {counts}")
