"""``your_select_indices``: the selection rule this project ships.

Imports torch and the standard library only, because the submission notebook inlines it.
"""

from __future__ import annotations

import torch

from noisy_select.selection import ClassWiseCoTeaching


class YourSelectIndices(ClassWiseCoTeaching):
    """For now the seed notebook's class-wise co-teaching rule (keep 85% of each class)."""

    def __init__(self) -> None:
        super().__init__((0.85, 0.85))


_RULE = YourSelectIndices()


def your_select_indices(targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
    """The competition's entry point: ``[indices for model 1, indices for model 2]``."""
    return _RULE(targets, losses)


def reset() -> None:
    """Forget all state, before a new training run."""
    _RULE.reset()
