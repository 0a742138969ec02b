"""noisy_select: sample selection for training two networks on noisy, imbalanced labels.

The selection strategy is imported on first use, so ``noisy-select --help`` and ``summary`` start
without torch.
"""

from __future__ import annotations

__all__ = ["your_select_indices"]
__version__ = "0.3.0"


def __getattr__(name: str):
    if name in __all__:
        from noisy_select.strategies import shipped

        return getattr(shipped, name)
    raise AttributeError(f"module 'noisy_select' has no attribute {name!r}")
