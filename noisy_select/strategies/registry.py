"""Rules by name, for the CLI, the bench and the exporter: the registry names and builds them.

Every entry is a class plus its keyword arguments (variants are data): the factory, the config
every result records and the expression a submission builds it with (``export.inline``) all
derive from that pair, so they cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from noisy_select.constants import BENCH_TAGS, SHIPPED
from noisy_select.errors import UsageError
from noisy_select.strategies import anchors, own, shipped
from noisy_select.strategies.adaptive import AdaptiveSelection
from noisy_select.strategies.base import PUBLISHED_KEEP
from noisy_select.strategies.cleanlab_anchor import CleanlabSelection
from noisy_select.strategies.oracles import OracleClean, OracleCleanBalanced

# ``research``: the tag of rows of strategies that moved to research/ (research/README.md).
TAGS = ("product", "anchor", "estimate", "oracle", "research", "own")


@dataclass(frozen=True)
class StrategySpec:
    """A registered rule: ``cls(**kwargs)`` builds it (a plain function is the rule itself).

    ``tag``: ``product`` the rule this project ships; ``anchor`` a published or standard rule to
    compare against; ``estimate`` one that estimates the keep shares; ``oracle`` one that reads
    the clean labels (bench only: its class takes ``clean_fn`` first, a function returning the
    batch's clean labels, unless ``clean_labels``: it trains on the clean labels instead).
    """

    name: str
    description: str
    cls: Callable
    kwargs: dict = field(default_factory=dict)
    tag: str = "anchor"
    clean_labels: bool = False

    def __post_init__(self) -> None:
        if self.tag not in TAGS:
            raise ValueError(f"Expected `tag` in {TAGS}, but got {self.tag!r}.")

    @property
    def oracle(self) -> bool:
        return self.tag == "oracle"

    def config(self) -> dict:
        """Everything that defines it: its class, every keyword argument with the defaults
        filled in, and the config object it resolves to (``AdaptiveSelection.config``)."""
        params = [p for p in inspect.signature(self.cls).parameters.values()
                  if p.name != "clean_fn" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        kwargs = {p.name: p.default for p in params if p.default is not p.empty}
        kwargs.update(self.kwargs)
        config = getattr(self.build(lambda: torch.zeros(0)), "config", None)
        # The class by name: where it lives in the package is not what it does.
        return _jsonable({"class": self.cls.__qualname__,
                          "kwargs": kwargs, "config": config, "clean_labels": self.clean_labels})

    def build(self, clean_fn: Callable[[], torch.Tensor] | None = None) -> Callable:
        if not isinstance(self.cls, type):
            return self.cls
        if self.tag == "oracle" and not self.clean_labels:
            return self.cls(clean_fn, **self.kwargs)
        return self.cls(**self.kwargs)


@dataclass(frozen=True)
class OwnSpec(StrategySpec):
    """A rule of the user's (``own.OwnRule``): each ``build`` executes its file afresh."""

    rule: own.OwnRule | None = None

    def config(self) -> dict:
        assert self.rule is not None
        return self.rule.config()

    def build(self, clean_fn: Callable[[], torch.Tensor] | None = None) -> Callable:
        assert self.rule is not None
        rule = own.load(self.rule)
        reset = getattr(rule, "reset", None)
        if callable(reset):
            reset()  # where the package starts its own strategies afresh
        return rule


@functools.cache
def own_spec(rule: own.OwnRule, data: bytes) -> OwnSpec:
    """The user's rule at ``own.locate``'s answer, checked: loaded, then tried on made-up
    batches (once per version and process)."""
    label = f"{rule.where}:{rule.attr}"
    own.trial(own.load(rule, data), label)  # its own load: the runs get fresh ones
    return OwnSpec(rule.name, f"your rule {label} (sha256 {rule.sha256[:12]})", own.load,
                   tag="own", rule=rule)


def canonical(name: str) -> str:
    """``name`` as work planned now passes it on: a rule of one's own pinned to its path and
    hash, so that every run (in any process) loads this version or refuses; a registered name
    as it is (``UsageError`` for an unknown one)."""
    spec = get_spec(name, moved=True)  # an unknown name stops here; a moved one at its run
    return spec.rule.pinned if isinstance(spec, OwnSpec) and spec.rule else name


REGISTRY: dict[str, StrategySpec] = {
    s.name: s
    for s in [
        StrategySpec(SHIPPED, "the strategy this project ships (noisy_select.strategies.shipped): "
                     "every sample with the labels balanced for 2 epochs, then the published "
                     "class-wise co-teaching, keeping 50% / 93%",
                     shipped.BalancedThenPublished, tag="product"),
        StrategySpec("all", "every sample (the seed's baseline)", anchors.AllSamples),
        StrategySpec("seed-coteaching",
                     "the seed notebook's solution in batch order: class-wise cross selection "
                     "keeping 85%",
                     anchors.ClassWiseCoTeaching, {"keep": (anchors.SEED_KEEP,) * 2}),
        StrategySpec("seed-solution",
                     "the seed notebook's solution cell as published: class-wise cross selection "
                     "keeping int(0.85 n) of each label, label 0 then label 1, by the peer's loss",
                     anchors.seed_solution),
        StrategySpec("fixed-rates",
                     "the published solution: class-wise cross selection keeping 50% / 93%",
                     anchors.ClassWiseCoTeaching, {"keep": PUBLISHED_KEEP}),
        StrategySpec("coteaching",
                     "Co-teaching (Han et al.): global forget rate tau=0.35 ramped over T_k=10 epochs",
                     anchors.CoTeaching, {"tau": 0.35, "t_k": 10}),
        StrategySpec("cleanlab",
                     "cleanlab's find_label_issues on epoch-1 out-of-sample probabilities, "
                     "peer's flags, balanced (bench only: needs the cleanlab extra)",
                     CleanlabSelection, {"filter_by": "prune_by_noise_rate"}),
        StrategySpec("adaptive-mpe", "adaptive selection (keep shares by mixture proportion "
                     "estimation, tightest bound, labels balanced)", AdaptiveSelection,
                     tag="estimate"),
        StrategySpec("oracle-clean", "bench only: exactly the correctly labelled samples",
                     OracleClean, tag="oracle"),
        StrategySpec("oracle-clean-balanced",
                     "bench only: exactly the correctly labelled samples, labels balanced, "
                     "fixed-size output", OracleCleanBalanced, tag="oracle"),
        StrategySpec("oracle-labels", "bench only: every sample with its clean label",
                     anchors.AllSamples, tag="oracle", clean_labels=True),
    ]
}


@dataclass(frozen=True)
class MovedSpec(StrategySpec):
    """A name that left the registry for research/ (research/README.md): its old rows still read
    (``config`` is what they recorded), and it builds nothing (``UsageError`` says where it went)."""

    to: str = ""
    recorded: dict | None = None

    @property
    def message(self) -> str:
        return (f"Strategy {self.name!r} moved out of the package: it is now {self.to}; see "
                "research/README.md.")

    def config(self) -> dict:
        if self.recorded is None:
            raise UsageError(self.message)
        return self.recorded

    def build(self, clean_fn: Callable[[], torch.Tensor] | None = None) -> Callable:
        raise UsageError(self.message)


def _moved(name: str, to: str, recorded: dict | None = None) -> MovedSpec:
    return MovedSpec(name, f"moved to {to}", type(None), tag="research", to=to, recorded=recorded)


_ALL_BALANCED_CONFIG = {"class": "AdaptiveSelection", "clean_labels": False,
                        "config": {"balance": 1.0, "buffer_size": 1024, "keep": [1.0, 1.0]},
                        "kwargs": {"config": None, "keep": [1.0, 1.0]}}
MOVED = {spec.name: spec for spec in [
    _moved("x-all-balanced", "research/schedule.py:all_balanced", _ALL_BALANCED_CONFIG),
    _moved("x-balanced-2", "research/schedule.py:balanced_2 (the shipped rule)",
           {"class": "EpochSchedule", "clean_labels": False, "config": None,
            "kwargs": {"early": "x-all-balanced", "late": "fixed-rates", "switch": 2}}),
    _moved("x-end-50", "research/ending.py:x_end_50"),
    _moved("x-end-25", "research/ending.py:x_end_25"),
    _moved("x-short", "research/ending.py:x_short"),
    _moved("oracle-clean-end-50", "nowhere (a rule file cannot read the clean labels; git has it)"),
]}


def default_bench() -> list[str]:
    """What ``noisy-select bench`` runs unnamed (``constants.BENCH_TAGS``), in registry order."""
    return [name for name, spec in REGISTRY.items() if spec.tag in BENCH_TAGS]


def get_spec(name: str, *, moved: bool = False) -> StrategySpec:
    """The rule ``name`` names: registered, or the user's from a file or a module (``own_spec``);
    ``UsageError`` lists the valid names otherwise. A name that moved to research/ is a
    ``MovedSpec`` where ``moved`` (reading its old rows), else ``UsageError`` says where it went."""
    if own.is_own(name):
        return own_spec(*own.locate(name))
    if name in MOVED:
        if not moved:
            raise UsageError(MOVED[name].message)
        return MOVED[name]
    if name not in REGISTRY:
        file = next((f for f in (f"{name}.py", name) if os.path.isfile(f)), None)
        hint = (f" A file {file} is here: write it with .py ({name}.py) to run the rule in it."
                if file else "")
        raise UsageError(f"Unknown strategy {name!r}. Expected one of: {', '.join(REGISTRY)}, "
                         f"or a file (mine.py, mine.py:NAME) or module (package.module:NAME)."
                         f"{hint}")
    return REGISTRY[name]


def make_strategy(name: str, clean_fn: Callable[[], torch.Tensor] | None = None) -> Callable:
    """A fresh rule ``name``; oracles need ``clean_fn`` and so run only in the bench."""
    spec = get_spec(name)
    if spec.oracle and not spec.clean_labels and clean_fn is None:
        raise UsageError(f"Strategy {name!r} reads the clean labels, which only the bench has "
                         "(noisy-select bench).")
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
    """Everything that defines rule ``name`` (``StrategySpec.config``; a moved name's: what its
    rows recorded)."""
    return get_spec(name, moved=True).config()


def config_hash(*parts: dict) -> str:
    """A short hash of JSON-able configs (key order does not matter)."""
    text = json.dumps(list(parts), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
