"""Paired comparisons of strategies over seeds, with bootstrap confidence intervals.

Two strategies run on the same scenario and seed see the same data draw and the same model
initialisation, so their difference on that seed is far less noisy than either score. For
each scenario, ``compare`` takes the seeds both strategies have, the per-seed differences
``other - baseline`` of BAC_mean, and a percentile bootstrap 95% interval of their mean
(seeded, 10,000 resamples of the seeds).

The difference is of the scored BAC unless a ``measure`` says otherwise: the same runs' BAC with
BatchNorm's statistics re-estimated, at the best threshold, or their AUC. Those read the final
weights without the running statistics of the last steps, which decide most of a run's swing
under the organizers' loop (docs/SELECTION.md sections 9, 10 and 13), so they tell two rules'
models apart on fewer seeds; the points come from the scored BAC alone.
"""

from __future__ import annotations

import json

import numpy as np

from noisy_select.constants import DEFAULT_LOOP, MEASURES
from noisy_select.errors import UsageError

RESAMPLES = 10_000
TIE = 1e-9  # a per-seed difference this small is a tie
# A percentile bootstrap over fewer seeds is far too narrow to decide anything.
MIN_SEEDS = 5


def bootstrap_ci(values, *, resamples: int = RESAMPLES, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values (n,)``; (nan, nan) when empty."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(lo), float(hi)


def check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise UsageError(f"Expected a measure among {', '.join(MEASURES)}, but got {measure!r}.")


def measure_of(row: dict, measure: str = "bac") -> float | None:
    """A row's ``measure`` (one of ``MEASURES``); None where the row does not record it (rows
    written before the bench re-estimated the statistics)."""
    check_measure(measure)
    if measure == "bac":
        return row["bac_mean"]
    split = (row.get("scores") or {}).get(row.get("scored_on", "test")) or {}
    first, second = (split.get(f"{measure}_{m}") for m in (1, 2))
    return None if first is None or second is None else (first + second) / 2


def by_seed(rows: list[dict], scenario: str, strategy: str, loop: str | None = None,
            measure: str = "bac") -> dict[int, float]:
    """``measure`` per seed of one (scenario, strategy), under ``loop`` when given; a seed run
    twice keeps its last row, and rows without the measure are left out."""
    values = {r["seed"]: measure_of(r, measure) for r in rows
              if r["scenario"] == scenario and r["strategy"] == strategy
              and (loop is None or r.get("loop") == loop)}
    return {seed: v for seed, v in values.items() if v is not None}


def paired(rows: list[dict], scenario: str, baseline: str, other: str, loop: str | None = None,
           measure: str = "bac", **bootstrap) -> dict:
    """``other`` against ``baseline`` on the seeds both ran on ``scenario`` (under ``loop``),
    by ``measure``; ``per_seed_bac`` holds each seed's two values of it."""
    a = by_seed(rows, scenario, baseline, loop, measure)
    b = by_seed(rows, scenario, other, loop, measure)
    seeds = sorted(set(a) & set(b))
    diff = np.array([b[s] - a[s] for s in seeds])
    lo, hi = bootstrap_ci(diff, **bootstrap)
    return {
        "scenario": scenario, "loop": loop, "measure": measure, "baseline": baseline,
        "strategy": other, "seeds": seeds,
        "mean_diff": float(diff.mean()) if seeds else float("nan"), "ci_low": lo, "ci_high": hi,
        "wins": int((diff > TIE).sum()), "losses": int((diff < -TIE).sum()),
        "ties": int((np.abs(diff) <= TIE).sum()),
        "baseline_mean": float(np.mean([a[s] for s in seeds])) if seeds else float("nan"),
        "baseline_worst": float(min(a[s] for s in seeds)) if seeds else float("nan"),
        "mean": float(np.mean([b[s] for s in seeds])) if seeds else float("nan"),
        "worst": float(min(b[s] for s in seeds)) if seeds else float("nan"),
        "per_seed": {str(s): float(d) for s, d in zip(seeds, diff)},
        "per_seed_bac": {str(s): [float(a[s]), float(b[s])] for s in seeds},
    }


def verdict(row: dict) -> str:
    """What the interval says: better, worse, or not told apart by these seeds (and nothing
    from fewer than ``MIN_SEEDS`` paired seeds)."""
    if len(row["seeds"]) < MIN_SEEDS:
        return f"too few seeds (< {MIN_SEEDS})"
    if row["ci_low"] > 0:
        return "better"
    if row["ci_high"] < 0:
        return "worse"
    return "not told apart"


def compare(rows: list[dict], strategies: list[str], scenarios: list[str],
            loop: str | None = None, measure: str = "bac") -> list[dict]:
    """Every strategy after the first against the first, per scenario (under ``loop``)."""
    return [paired(rows, sc, strategies[0], other, loop, measure)
            for sc in scenarios for other in strategies[1:]]


def compare_runs(strategies: list[str], scenarios: list[str], seeds: list[int], *,
                 results: str, jobs: int = 1, progress: bool = True, bar: bool | None = None,
                 backend: str = "pool", address: str | None = None, measure: str = "bac",
                 **options) -> list[dict]:
    """Run what ``results`` lacks of strategies x scenarios x seeds (resumable; ``options``:
    the ``RunConfig`` fields every run shares, ``data`` a folder of one's own), then compare
    every strategy with the first, per scenario, on those seeds, by ``measure``."""
    from noisy_select.bench import sweeps
    from noisy_select.bench.records import rule_name
    from noisy_select.bench.run import scenario_name
    from noisy_select.strategies.registry import canonical

    if len(strategies) < 2:
        raise UsageError(f"Expected at least two strategies to compare, but got {strategies}.")
    check_measure(measure)
    sweeps.check_backend(jobs=jobs, backend=backend, address=address)
    # As the rows name them: a file given twice (mine.py, ./mine.py) is one strategy.
    named = [rule_name(canonical(s)) for s in strategies]
    if len(set(named)) < len(named):
        raise UsageError(f"Expected different strategies to compare, but got {strategies}.")
    configs = sweeps.plan(scenarios, strategies, seeds, **options)
    rows = sweeps.sweep(configs, results, jobs=jobs, progress=progress, bar=bar, backend=backend,
                        address=address)
    wanted = set(seeds)
    names = list(dict.fromkeys(scenario_name(c.scenario) for c in configs))
    return compare([r for r in rows if r["seed"] in wanted], named, names,
                   options.get("loop", DEFAULT_LOOP), measure)


def markdown(table: list[dict]) -> str:
    lines = []
    for scenario in dict.fromkeys(r["scenario"] for r in table):
        part = [r for r in table if r["scenario"] == scenario]
        base = part[0]["baseline"]
        loop = f" ({part[0]['loop']} loop)" if part[0].get("loop") else ""
        measure = part[0].get("measure", "bac")
        by = "" if measure == "bac" else f", by {measure} ({MEASURES[measure]})"
        lines += [f"### {scenario}{loop}: against `{base}`{by}", "",
                  "| strategy | seeds | mean diff | 95% CI | wins / losses / ties | mean | worst "
                  f"| `{base}` mean | `{base}` worst | verdict |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in part:
            lines.append(
                f"| `{r['strategy']}` | {len(r['seeds'])} | {r['mean_diff']:+.3f} | "
                f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] | {r['wins']} / {r['losses']} / "
                f"{r['ties']} | {r['mean']:.3f} | {r['worst']:.3f} | {r['baseline_mean']:.3f} | "
                f"{r['baseline_worst']:.3f} | {verdict(r)} |")
        lines.append("")
    return "\n".join(lines)


def to_json(table: list[dict]) -> str:
    return json.dumps([{**r, "verdict": verdict(r)} for r in table], indent=2)
