"""The Python API for a rule of your own, in a notebook or a test file.

``check(rule)`` runs the checks every command runs before it trains; ``compare(rule, ...)`` is
``noisy-select compare`` (the same runs, the same rows in the same results file) returned as a
DataFrame::

    from noisy_select import check, compare

    def test_mine():
        check("my_rule.py")

    table = compare("my_rule.py", scenario="olympiad", seeds=range(3), scale=0.2)
    print(table.attrs["markdown"])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from noisy_select.constants import DEFAULT_LOOP, HEADLINE_SCENARIO, NUM_EPOCHS, SCRATCH, SHIPPED
from noisy_select.errors import UsageError


def check(rule: str | Callable) -> str:
    """Check ``rule`` as every command does before training; return how result rows name it.

    ``rule`` is a rule spec (a registered name, ``mine.py``, ``mine.py:NAME`` or
    ``package.module:NAME``: the file is found, loaded afresh and tried) or a callable (its
    arguments checked, then tried on made-up batches: ``own.trial``). A callable keeps the state
    the trial gave it, except that its ``reset()`` is called after, where it has one.

    Raises
    ------
    UsageError
        (a ``ValueError``) One line: what is wrong and where (the file and line of an error).
    """
    from noisy_select.bench.records import rule_name
    from noisy_select.strategies import own
    from noisy_select.strategies.registry import get_spec

    if isinstance(rule, str):
        get_spec(rule)
        return rule_name(rule)
    label = getattr(rule, "__name__", type(rule).__name__)
    own.check_callable(rule, label)
    own.trial(rule, label)
    reset = getattr(rule, "reset", None)
    if callable(reset):
        reset()
    return label


def _spec(rule: str | Callable) -> str:
    """A rule spec for ``rule``: as it is, or the file and name a callable was defined under."""
    if isinstance(rule, str):
        return rule
    from noisy_select.strategies.shipped import your_select_indices

    if rule is your_select_indices:  # the shipped rule is an object: its registered name
        return SHIPPED
    name = getattr(rule, "__name__", None)
    path = getattr(rule, "__globals__", {}).get("__file__")
    defined = name and getattr(rule, "__globals__", {}).get(name) is rule  # top level, by name
    if defined and path and path.endswith(".py") and os.path.isfile(path):
        return f"{path}:{name}"
    raise UsageError("compare loads the rule afresh from its file for every run: pass the "
                     "file's path ('my_rule.py' or 'my_rule.py:NAME'), not a function defined "
                     "in a notebook cell or the console.")


def compare(rule: str | Callable, against: str = SHIPPED, *, scenario: str = HEADLINE_SCENARIO,
            seeds: Iterable[int] = range(10), loop: str = DEFAULT_LOOP, epochs: int = NUM_EPOCHS,
            scale: float = 1.0, results: str = SCRATCH, source: str | None = None,
            device: str = "auto", jobs: int = 1, threads: int = 1, progress: bool = True,
            measure: str = "bac"):
    """``rule`` against ``against`` on paired seeds, as ``noisy-select compare`` runs them.

    Both rules run on ``scenario`` with each seed (the same data draw and the same starting
    models for both) under ``loop``; runs already in ``results`` are not run again, new ones
    are appended to it. ``progress`` shows a progress bar over the runs.

    Returns
    -------
    pandas.DataFrame
        One row per seed: ``seed``, the BAC (mean of the two models) of ``against`` and of
        ``rule``, each under the name its rows carry, and ``diff`` (``rule`` minus
        ``against``); with ``measure`` (``compare --measure``: ``bac_bn``, ``bac_best``,
        ``auc``) that measure instead of the scored BAC. ``attrs["summary"]``: the mean
        difference, its 95% bootstrap interval, wins / losses / ties, means, worst seeds and the
        verdict, as ``compare`` writes them;
        ``attrs["markdown"]``: the table ``compare`` prints.
    """
    import pandas as pd

    from noisy_select.bench import compare as paired
    from noisy_select.bench.records import rule_name
    from noisy_select.strategies.registry import canonical

    seeds = list(seeds)
    names = [rule_name(canonical(_spec(r))) for r in (against, rule)]
    table = paired.compare_runs([against, _spec(rule)], [scenario], seeds, results=results,
                                epochs=epochs, device=device, scale=scale, loop=loop,
                                source=source, threads=threads, jobs=jobs, progress=progress,
                                bar=progress, measure=measure)
    bacs = table[0]["per_seed_bac"]
    frame = pd.DataFrame([{"seed": s, names[0]: bacs[str(s)][0], names[1]: bacs[str(s)][1],
                           "diff": bacs[str(s)][1] - bacs[str(s)][0]} for s in table[0]["seeds"]])
    frame.attrs["summary"] = {**table[0], "verdict": paired.verdict(table[0])}
    frame.attrs["markdown"] = paired.markdown(table)
    return frame
