"""noisy_select: sample selection for training two networks on noisy, imbalanced labels.

``your_select_indices`` is the rule this project ships; ``check`` and ``compare`` (``api``) test
a rule of your own. Each is imported on first use, so ``noisy-select --help`` and ``summary``
start without torch.
"""

from __future__ import annotations

__all__ = ["check", "compare", "your_select_indices"]
__version__ = "0.3.0"


def __getattr__(name: str):
    if name == "your_select_indices":
        from noisy_select.strategies import shipped

        return shipped.your_select_indices
    if name in __all__:
        from noisy_select import api

        return getattr(api, name)
    raise AttributeError(f"module 'noisy_select' has no attribute {name!r}")
