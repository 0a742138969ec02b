"""Strategies by name: the registry the CLI, the bench and the submission exporter share.

Every entry is a class plus its keyword arguments (variants are data). The factory, the
exported source of a submission and the resolved config that every result records are all
derived from that pair, so they cannot drift apart.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import importlib
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from noisy_select import ending, experiments, selection, solution
from noisy_select.adaptive import AdaptiveSelection, class_balanced_weights, resample
from noisy_select.competition import Strategy
from noisy_select.config import SHIPPED

PACKAGE = "noisy_select"


@functools.cache
def _imports(module_name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The package modules ``module_name`` imports, and the other top-level packages it imports
    (cached: ``exportable`` asks for every registered strategy, and the answers share modules)."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    own, other = [], []
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                 else [])
        for name in names:
            if name.split(".")[0] == PACKAGE:
                own.append(name)
            elif name != "__future__":
                other.append(name.split(".")[0])
    return tuple(own), tuple(other)


def inlined_modules(module_name: str) -> list[str] | None:
    """The package modules a submission must inline for a class of ``module_name``: that
    module and what it imports from the package, dependencies first. None when one of them
    imports anything but torch and the standard library (it cannot go into a submission)."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> bool:
        if name in order:
            return True
        if name in visiting:  # an import cycle: cannot be inlined in order
            return False
        visiting.add(name)
        own, other = _imports(name)
        if any(o != "torch" and o not in sys.stdlib_module_names for o in other):
            return False
        if not all(visit(o) for o in own):
            return False
        order.append(name)
        return True

    return order if visit(module_name) else None


@dataclass(frozen=True)
class StrategySpec:
    """A registered strategy: ``cls(**kwargs)`` builds it.

    ``oracle`` strategies read the clean labels: their class takes ``clean_fn`` first, a
    function returning the current batch's clean labels (only the bench has one), unless
    ``clean_labels``, which trains on the clean labels instead of the noisy ones.
    """

    name: str
    description: str
    cls: type
    kwargs: dict = field(default_factory=dict)
    oracle: bool = False
    clean_labels: bool = False
    selects_nothing_at_times: bool = False  # empty selections on purpose (``ending``)

    @property
    def exportable(self) -> bool:
        return not self.oracle and inlined_modules(self.cls.__module__) is not None

    @property
    def export(self) -> str | None:
        """The expression that builds it from the inlined modules (None: not exportable)."""
        if not self.exportable:
            return None
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.cls.__name__}({args})"

    def build(self, clean_fn: Callable[[], torch.Tensor] | None = None) -> Strategy:
        if self.oracle and not self.clean_labels:
            return self.cls(clean_fn, **self.kwargs)
        return self.cls(**self.kwargs)


class OracleClean:
    """Selects exactly the correctly labelled samples of the batch, for both models."""

    def __init__(self, clean_fn: Callable[[], torch.Tensor]) -> None:
        self.clean_fn = clean_fn
        self.check = selection.LabelCheck()

    def reset(self) -> None:
        self.check = selection.LabelCheck()

    def correct(self, targets: torch.Tensor, losses) -> torch.Tensor:
        labels, _ = selection.prepare(targets, losses)
        self.check(labels)
        return labels == self.clean_fn().to(labels.device)

    def __call__(self, targets: torch.Tensor, losses) -> list[torch.Tensor]:
        correct = self.correct(targets, losses)
        if correct.numel() and not bool(correct.any()):
            correct[:] = True  # nothing correct in this batch: the step would otherwise skip
        idx = torch.nonzero(correct).reshape(-1)
        return [idx, idx.clone()]


class OracleCleanBalanced(OracleClean):
    """Exactly the correctly labelled samples, classes balanced by repetition, a fixed number
    of indices (the batch size): the output contract of the shipped rule, with perfect ranking."""

    def __call__(self, targets: torch.Tensor, losses) -> list[torch.Tensor]:
        correct = self.correct(targets, losses)
        labels = targets.reshape(-1).long()
        if labels.numel() == 0:
            return selection.no_selection(labels)
        weights = class_balanced_weights(labels, correct.float(), 1.0)
        idx = resample(weights, labels.numel())
        return [idx, idx.clone()]


def _cleanlab_class() -> type:
    from noisy_select.cleanlab_anchor import CleanlabSelection

    return CleanlabSelection


def _adaptive(name: str, description: str, **kwargs) -> StrategySpec:
    return StrategySpec(name, f"adaptive selection ({description})", AdaptiveSelection, kwargs)


def _experiment(name: str, description: str, **kwargs) -> StrategySpec:
    return StrategySpec(name, f"epoch-wise rates ({description})", experiments.EpochRates, kwargs)


REGISTRY: dict[str, StrategySpec] = {
    s.name: s
    for s in [
        StrategySpec("all", "every sample (the seed's baseline)", selection.AllSamples),
        StrategySpec("seed-coteaching",
                     "the seed notebook's solution: class-wise cross selection keeping 85%",
                     solution.ClassWiseCoTeaching, {"keep": (0.85, 0.85)}),
        StrategySpec("fixed-rates",
                     "the published solution: class-wise cross selection keeping 50% / 93%",
                     solution.ClassWiseCoTeaching, {"keep": (0.50, 0.93)}),
        StrategySpec("coteaching",
                     "Co-teaching (Han et al.): global forget rate tau=0.35 ramped over T_k=10 epochs",
                     selection.CoTeaching, {"tau": 0.35, "t_k": 10}),
        StrategySpec("cleanlab",
                     "cleanlab's find_label_issues on epoch-1 out-of-sample probabilities, "
                     "peer's flags, balanced (bench only: needs the cleanlab extra)",
                     _cleanlab_class(), {"filter_by": "prune_by_noise_rate"}),
        StrategySpec("oracle-clean", "bench only: exactly the correctly labelled samples",
                     OracleClean, oracle=True),
        StrategySpec("oracle-clean-balanced",
                     "bench only: exactly the correctly labelled samples, classes balanced, "
                     "fixed-size output like the shipped rule", OracleCleanBalanced, oracle=True),
        StrategySpec("oracle-labels", "bench only: every sample with its clean label",
                     selection.AllSamples, oracle=True, clean_labels=True),
        _adaptive("adaptive-mpe", "mixture-proportion rates, tightest bound (the rule shipped "
                  "until issue 11)", rate="mpe"),
        _adaptive("adaptive-mpe-current", "mixture-proportion rates, current estimate only",
                  rate="mpe", tightest=False),
        _adaptive("adaptive-mpe-agree", "mixture-proportion rates, both models must keep",
                  rate="mpe", combine="agree"),
        _adaptive("adaptive-confident", "confident-learning rates", rate="confident"),
        _adaptive("adaptive-otsu", "rates from a 2-means split", rate="otsu"),
        _adaptive("adaptive-unbalanced", "confident rates, no class balancing",
                  rate="confident", balance=0.0),
        _adaptive("adaptive-history", "confident rates, rank by an EMA of losses over epochs",
                  rate="confident", history_decay=0.5),
        _adaptive("adaptive-disagree", "confident rates, Co-teaching+ disagreement",
                  rate="confident", combine="disagree"),
        _adaptive("adaptive-warmup", "confident rates, first epoch keeps all (phase schedule)",
                  rate="confident", warmup_epochs=1),
        _adaptive("resample-fixed", "known rates 0.50 / 0.93, resampled, unbalanced",
                  rates=(0.5, 0.93), balance=0.0),
        _adaptive("resample-fixed-balanced", "known rates 0.50 / 0.93, resampled, balanced",
                  rates=(0.5, 0.93)),
        # Screened for issue 11 (docs/SELECTION.md): all lost to the published keep shares.
        _adaptive("x-mpe-unique", "the old shipped estimator, each kept index once",
                  rate="mpe", output="unique"),
        _adaptive("x-known-25", "known rates 0.25 / 0.93, resampled, balanced", rates=(0.25, 0.93)),
        _experiment("x-epoch", "rates from the previous epoch, every epoch", update="every"),
        _experiment("x-epoch-freeze", "rates from epochs 1-2 only", update="freeze2"),
        _experiment("x-epoch-unbal", "rates every epoch, unbalanced", update="every", balance=0.0),
        _experiment("x-warm2-freeze", "2 warm-up epochs, rates of epoch 2 frozen",
                    update="freeze", warmup_epochs=2),
        _experiment("x-warm2-every", "2 warm-up epochs, then rates every epoch",
                    update="every", warmup_epochs=2),
        _experiment("x-warm2-unique", "2 unbalanced warm-up epochs, frozen rates, each kept "
                    "index once", update="freeze", warmup_epochs=2, output="unique",
                    warmup="unbalanced"),
        _experiment("x-agree-w1", "1 warm-up epoch, then keep where the peer agrees",
                    update="agree", warmup_epochs=1),
        _experiment("x-agree-w2", "2 warm-up epochs, then keep where the peer agrees",
                    update="agree", warmup_epochs=2),
        StrategySpec("x-win", "tightest rates over 2,048-sample windows, peer ranking",
                     experiments.WindowRates),
        StrategySpec("x-win-ens", "tightest rates over 2,048-sample windows, both models' mean "
                     "ranking", experiments.WindowRates, {"rank": "ensemble"}),
        # The end of training (docs/SELECTION.md): empty selections late in the run.
        StrategySpec("x-end-50", "the published rule, nothing selected in the run's last 50 "
                     "calls", ending.EndOfTraining, {"inner": "fixed-rates", "window": 50},
                     selects_nothing_at_times=True),
        StrategySpec("x-end-25", "the published rule, nothing selected in the run's last 25 "
                     "calls", ending.EndOfTraining, {"inner": "fixed-rates", "window": 25},
                     selects_nothing_at_times=True),
        StrategySpec("x-short", "the published rule, nothing selected on each epoch's short "
                     "last batch", ending.EndOfTraining,
                     {"inner": "fixed-rates", "window": 0, "short_batch": True},
                     selects_nothing_at_times=True),
        _adaptive("x-all-balanced", "every sample, the labels balanced by repetition (balanced "
                  "error is noise-tolerant: Menon et al. 2015)", rates=(1.0, 1.0)),
        StrategySpec("oracle-clean-end-50", "bench only: exactly the correctly labelled samples, "
                     "nothing selected in the run's last 50 calls", ending.EndOfTraining,
                     {"inner": "oracle-clean", "window": 50}, oracle=True,
                     selects_nothing_at_times=True),
        StrategySpec(SHIPPED,
                     "the rule this project ships (noisy_select.solution): the published "
                     "class-wise co-teaching, keeping 50% / 93%", solution.YourSelectIndices),
    ]
}


def get_spec(name: str) -> StrategySpec:
    """The registered strategy ``name``; ``ValueError`` lists the valid names otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"Unknown strategy {name!r}. Expected one of: {', '.join(REGISTRY)}.")
    return REGISTRY[name]


def make_strategy(name: str, clean_fn: Callable[[], torch.Tensor] | None = None) -> Strategy:
    """A fresh strategy ``name``; oracles need ``clean_fn`` and so run only in the bench."""
    spec = get_spec(name)
    if spec.oracle and not spec.clean_labels and clean_fn is None:
        raise ValueError(
            f"Strategy {name!r} reads the clean labels, which only the bench has "
            "(noisy-select bench)."
        )
    return spec.build(clean_fn)


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def resolved_config(name: str) -> dict:
    """Everything that defines strategy ``name``: its class, every keyword argument with the
    defaults filled in, and the config object it resolves to (``AdaptiveSelection.config``)."""
    spec = get_spec(name)
    params = [p for p in inspect.signature(spec.cls).parameters.values()
              if p.name != "clean_fn" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    kwargs = {p.name: p.default for p in params if p.default is not p.empty}
    kwargs.update(spec.kwargs)
    config = getattr(spec.build(lambda: torch.zeros(0)), "config", None)
    return _jsonable({"class": f"{spec.cls.__module__}.{spec.cls.__qualname__}",
                      "kwargs": kwargs, "config": config, "clean_labels": spec.clean_labels})


def config_hash(*parts: dict) -> str:
    """A short hash of JSON-able configs (key order does not matter)."""
    text = json.dumps(list(parts), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
