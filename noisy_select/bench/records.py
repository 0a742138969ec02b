"""Result rows: one schema for `noisy-select run` and `bench`, written as JSON, read back checked.

A row says what produced it: the strategy's resolved config and the trainer's config (and a
hash of both, part of the resume key, so a changed strategy is run again, never skipped), the git
commit and whether the tree was dirty, versions and device, and the data used. Scores are on
the split ``scored_on`` (``test`` for a proxy, ``val`` for data without a test split); the
per-epoch history has both models' validation BAC and AUC.
"""

from __future__ import annotations

import functools
import json
import math
import os
import subprocess
import sys

from noisy_select.errors import DataError

SCHEMA = 2
KEY_FIELDS = ("scenario", "strategy", "loop", "seed", "epochs", "scale", "config_hash")
NUMBER_FIELDS = ("bac_1", "bac_2", "bac_mean", "points")
REQUIRED_FIELDS = ("schema", *KEY_FIELDS, *NUMBER_FIELDS)


def rule_name(name: str) -> str:
    """How a row names strategy ``name``: registered names as they are, a rule of one's own as
    ``file:<stem>.<NAME>@<hash>``. (Rows of the robust trainer that left the package, in
    docs/history/, name theirs ``robust:<name>``.)"""
    from noisy_select.strategies import own
    from noisy_select.strategies.registry import get_spec

    return get_spec(name).name if own.is_own(name) else name


def describe(strategy: str, epochs: int, *, loop: str = "official") -> dict:
    """``strategy`` under the fixed ``loop`` as the row records it: ``trainer``,
    ``strategy_config``, ``trainer_config`` (everything that defines the loop, defaults
    included) and their ``config_hash``, so a changed strategy or loop is run again."""
    from noisy_select import competition
    from noisy_select.strategies.registry import config_hash, get_spec, resolved_config

    strategy_config = resolved_config(strategy)
    trainer_config = {"name": "fixed", "loop": loop, "epochs": epochs, "optimizer": "AdamW",
                      "lr": competition.LEARNING_RATE, "weight_decay": competition.WEIGHT_DECAY,
                      "batch_size": competition.BATCH_SIZE}
    spec = get_spec(strategy, moved=True)
    return {"trainer": "fixed", "loop": loop, "tag": spec.tag, "reads_clean_labels": spec.oracle,
            "strategy_config": strategy_config, "trainer_config": trainer_config,
            "config_hash": config_hash(strategy_config, trainer_config)}


@functools.lru_cache(maxsize=1)
def git_state() -> dict:
    """The commit of the package's checkout and whether its tree has changes (None outside git)."""
    folder = os.path.dirname(os.path.abspath(__file__))

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                                 timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def scores(models, loader, device, train_loader=None) -> dict:
    """BAC and AUC of both models on ``loader``, the mean BAC and the competition's points;
    with ``train_loader`` also where each model's BAC goes besides its ranking
    (``evaluation.threshold_and_statistics``): ``bac_bn_<m>``, after re-estimating BatchNorm's
    statistics on the training set, and ``bac_best_<m>``, at the best threshold."""
    from noisy_select.competition import points
    from noisy_select.train.evaluation import evaluate, threshold_and_statistics

    (bac_1, auc_1), (bac_2, auc_2) = (evaluate(m, loader, device) for m in models)
    out = {"bac_1": bac_1, "bac_2": bac_2, "bac_mean": (bac_1 + bac_2) / 2,
           "points": points(bac_1, bac_2), "auc_1": auc_1, "auc_2": auc_2,
           "size": sum(len(y) for _, y in loader.batches)}  # a training.InMemoryLoader
    if train_loader is not None:
        for i, model in enumerate(models, start=1):
            for key, value in threshold_and_statistics(model, train_loader, loader, device).items():
                out[f"{key}_{i}"] = value
    return out


def make_row(*, scenario: str | None, strategy: str, seed: int, epochs: int, scale: float | None,
             device: str, described: dict, split_scores: dict[str, dict], history: list,
             selection: list | None, seconds: float, data: dict, environment: dict,
             extra: dict | None = None) -> dict:
    """One result row; the headline scores are those of ``test`` when scored, else ``val``."""
    scored_on = "test" if "test" in split_scores else "val"
    headline = {k: split_scores[scored_on][k]
                for k in ("bac_1", "bac_2", "bac_mean", "points", "auc_1", "auc_2")}
    return {"schema": SCHEMA, "scenario": scenario, "strategy": strategy, "seed": seed,
            "epochs": epochs, "scale": scale, "device": device, **described, **headline,
            "scored_on": scored_on, "scores": split_scores, "history": history,
            "selection": selection, "seconds": round(seconds, 2), **(extra or {}),
            "data": data, "environment": {**environment, **git_state()}}


def row_key(row: dict) -> tuple:
    return tuple(row.get(k) for k in KEY_FIELDS)


def unique_rows(rows: list[dict], source: str) -> list[dict]:
    """``rows`` with one row per key (``KEY_FIELDS``, the first one kept); says on stderr how
    many were dropped, so that a file read twice or a run written twice never counts double."""
    first: dict[tuple, dict] = {}
    for row in rows:
        first.setdefault(row_key(row), row)
    unique = list(first.values())
    if len(unique) < len(rows):
        print(f"{source}: dropped {len(rows) - len(unique)} duplicate row"
              f"{'s' if len(rows) - len(unique) > 1 else ''} (same {', '.join(KEY_FIELDS)}); "
              "the first of each is used.", file=sys.stderr)
    return unique


def read_results(path: str, *, missing_ok: bool = True) -> list[dict]:
    """Every row of a results file: JSON lines, or one run's ``.json`` record.

    A missing file has no rows (``missing_ok``) or raises ``DataError``. A last line cut off
    without its newline (an interrupted write) is reported and skipped, so its run is run
    again. Any other line that is not a JSON row of this schema raises ``DataError`` naming
    the file and the line, and how to go on: rows of another schema are never mixed in.
    """
    if not os.path.exists(path):
        if missing_ok:
            return []
        raise DataError(f"Expected a results file at {path}, but it does not exist; "
                        "write one with `noisy-select bench --results PATH`.")
    if os.path.isdir(path):
        raise DataError(f"Expected a results file at {path}, but it is a directory; name a "
                        ".jsonl file (bench) or a run's .json record.")
    try:
        with open(path) as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"Could not read the results file {path}: {err}.") from err
    if path.endswith(".json"):
        try:
            numbered = [(1, json.loads(text))]
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: not a JSON record ({err.msg}, line {err.lineno}).") from err
    else:
        numbered = []
        lines = text.split("\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                numbered.append((number, json.loads(line)))
            except json.JSONDecodeError as err:
                if number == len(lines) and numbered:  # no newline after it: cut off
                    print(f"{path}, line {number}: skipped a truncated last row (an interrupted "
                          "write); its run counts as not done.", file=sys.stderr)
                    continue
                raise DataError(f"{path}, line {number}: not a JSON row ({err.msg}); fix or "
                                "remove that line.") from err
    rows = []
    for number, row in numbered:
        if isinstance(row, dict) and row.get("schema", 1) != SCHEMA and "scenario" in row:
            raise DataError(
                f"{path}, line {number}: a row of result schema {row.get('schema', 1)}, this "
                f"version writes and reads schema {SCHEMA} (rows that record their config hash "
                "and commit). Re-run those runs into a new file: `noisy-select bench -r NEW.jsonl "
                "...` (or `compare`), and keep the old file apart.")
        missing = [k for k in REQUIRED_FIELDS if not isinstance(row, dict) or k not in row]
        if missing:
            raise DataError(f"{path}, line {number}: the row lacks {missing} (written by another "
                            "tool?); remove it or re-run that run with `noisy-select bench`.")
        for k in NUMBER_FIELDS:
            value = row[k]
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise DataError(f"{path}, line {number}: expected `{k}` to be a number, but got "
                                f"{value!r}; fix or remove that line.")
        rows.append(row)
    return rows


def check_results_file(path: str) -> list[dict]:
    """Before a sweep appends to ``path``: it must be a JSON-lines file (``.jsonl``) of this
    project's rows, or not exist yet, and be writable (``DataError`` otherwise). Returns its
    rows."""
    from noisy_select.files import check_writable

    if path.endswith(".json"):
        raise DataError(f"Expected a results file of JSON lines for --results, but {path} is a "
                        "run's .json record; a sweep appends rows to a .jsonl file, e.g. "
                        "results/bench.jsonl.")
    rows = read_results(path)
    check_writable(path, "--results")
    return rows


def end_with_newline(path: str) -> None:
    """Before appending to ``path``: end a complete last row with its newline, and cut off a
    half-written one (``read_results`` already reported and skipped it)."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    with open(path, "rb+") as f:
        data = f.read()
        if data.endswith(b"\n"):
            return
        start = data.rfind(b"\n") + 1
        try:
            json.loads(data[start:])
            f.write(b"\n")
        except ValueError:
            f.truncate(start)
