"""``your_select_indices``: the selection rule this project ships.

Imports torch and the standard library only, because the submission notebook inlines it
(together with ``selection.py`` and ``adaptive.py``). Why this rule: docs/SELECTION.md.
"""

from __future__ import annotations

import torch

from noisy_select.adaptive import AdaptiveConfig, AdaptiveSelection

# Per-class clean shares by mixture proportion estimation, co-teaching cross selection of the
# lowest peer losses, classes balanced by repetition, fixed-size resampled output.
YOUR_CONFIG = AdaptiveConfig(rate="mpe", combine="cross", balance=1.0)


class YourSelectIndices(AdaptiveSelection):
    """The shipped rule: ``AdaptiveSelection`` with ``YOUR_CONFIG``."""

    def __init__(self) -> None:
        super().__init__(YOUR_CONFIG)


_RULE = YourSelectIndices()


def your_select_indices(targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
    """The competition's entry point: ``[indices for model 1, indices for model 2]``.

    State (the epoch counter and the recent losses) lives in one object; call ``reset()``
    before a new training run in the same process.
    """
    return _RULE(targets, losses)


def reset() -> None:
    """Forget all state, before a new training run."""
    _RULE.reset()
