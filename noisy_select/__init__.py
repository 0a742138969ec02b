"""noisy_select: sample selection for training two networks on noisy, imbalanced labels."""

from noisy_select.solution import your_select_indices

__all__ = ["your_select_indices"]
__version__ = "0.1.0"
