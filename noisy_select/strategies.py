"""Strategies by name: the registry the CLI, the bench and the submission exporter share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from noisy_select import selection, solution
from noisy_select.adaptive import AdaptiveSelection


class Strategy(Protocol):
    def __call__(self, targets: torch.Tensor, losses) -> list[torch.Tensor]: ...

    def reset(self) -> None: ...


@dataclass(frozen=True)
class StrategySpec:
    """A registered strategy.

    ``factory`` builds a fresh strategy; oracle factories take a function that returns the clean
    labels of the current batch (only the bench has one). ``clean_labels`` means the run trains
    on the clean labels instead of the noisy ones.
    """

    name: str
    description: str
    factory: Callable[..., Strategy]
    oracle: bool = False
    clean_labels: bool = False
    export: str | None = None  # expression that builds it from the inlined modules


class OracleClean:
    """Selects exactly the correctly labelled samples of the batch, for both models."""

    def __init__(self, clean_fn: Callable[[], torch.Tensor]) -> None:
        self.clean_fn = clean_fn
        self.check = selection.LabelCheck()

    def reset(self) -> None:
        self.check = selection.LabelCheck()

    def __call__(self, targets: torch.Tensor, losses) -> list[torch.Tensor]:
        labels, _ = selection.prepare(targets, losses)
        self.check(labels)
        correct = labels == self.clean_fn().to(labels.device)
        if labels.numel() and not bool(correct.any()):
            correct[:] = True  # nothing correct in this batch: the step would otherwise skip
        idx = torch.nonzero(correct).reshape(-1)
        return [idx, idx.clone()]


REGISTRY: dict[str, StrategySpec] = {
    s.name: s
    for s in [
        StrategySpec("all", "every sample (the seed's baseline)", selection.AllSamples,
                     export="AllSamples()"),
        StrategySpec(
            "seed-coteaching",
            "the seed notebook's solution: class-wise cross selection keeping 85%",
            lambda: selection.ClassWiseCoTeaching((0.85, 0.85)),
            export="ClassWiseCoTeaching((0.85, 0.85))",
        ),
        StrategySpec(
            "fixed-rates",
            "the published solution: class-wise cross selection keeping 50% / 93%",
            lambda: selection.ClassWiseCoTeaching((0.50, 0.93)),
            export="ClassWiseCoTeaching((0.50, 0.93))",
        ),
        StrategySpec(
            "coteaching",
            "Co-teaching (Han et al.): global forget rate tau=0.35 ramped over T_k=10 epochs",
            selection.CoTeaching,
            export="CoTeaching()",
        ),
        StrategySpec(
            "oracle-clean", "bench only: exactly the correctly labelled samples",
            OracleClean, oracle=True,
        ),
        StrategySpec(
            "oracle-labels", "bench only: every sample with its clean label",
            selection.AllSamples, oracle=True, clean_labels=True,
        ),
        *[
            StrategySpec(name, f"adaptive selection ({desc})",
                         lambda kw=kw: AdaptiveSelection(**kw),
                         export=f"AdaptiveSelection(**{kw!r})")
            for name, desc, kw in [
                ("adaptive-mpe", "mixture-proportion rates, tightest bound (= shipped rule)",
                 {"rate": "mpe"}),
                ("adaptive-mpe-current", "mixture-proportion rates, current estimate only",
                 {"rate": "mpe", "tightest": False}),
                ("adaptive-mpe-agree", "mixture-proportion rates, both models must keep",
                 {"rate": "mpe", "combine": "agree"}),
                ("adaptive-confident", "confident-learning rates", {"rate": "confident"}),
                ("adaptive-otsu", "rates from a 2-means split", {"rate": "otsu"}),
                ("adaptive-unbalanced", "confident rates, no class balancing",
                 {"rate": "confident", "balance": 0.0}),
                ("adaptive-history", "confident rates, rank by an EMA of losses over epochs",
                 {"rate": "confident", "history_decay": 0.5}),
                ("adaptive-disagree", "confident rates, Co-teaching+ disagreement",
                 {"rate": "confident", "combine": "disagree"}),
                ("adaptive-warmup", "confident rates, first epoch keeps all (phase schedule)",
                 {"rate": "confident", "warmup_epochs": 1}),
                ("resample-fixed", "known rates 0.50 / 0.93, resampled, unbalanced",
                 {"rates": (0.5, 0.93), "balance": 0.0}),
                ("resample-fixed-balanced", "known rates 0.50 / 0.93, resampled, balanced",
                 {"rates": (0.5, 0.93)}),
            ]
        ],
        StrategySpec(
            "your_select_indices",
            "the rule this project ships (noisy_select.solution): estimated keep rates, "
            "co-teaching, balanced",
            solution.YourSelectIndices,
            export="YourSelectIndices()",
        ),
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
    if spec.oracle and not spec.clean_labels:
        if clean_fn is None:
            raise ValueError(
                f"Strategy {name!r} reads the clean labels, which only the bench has "
                "(noisy-select bench)."
            )
        return spec.factory(clean_fn)
    return spec.factory()
