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
    """Co-teaching with per-label keep rates estimated from the losses, classes balanced.

    For each model and batch: estimate the share of correctly labelled samples of each label by
    mixture proportion estimation on the recent losses (wrongly labelled images of one label
    look, to the model, like the images of the other label; comparing the two labels' tails
    cancels the model's own errors), keep that share of each label's lowest *peer* losses,
    give both labels an equal part of the batch by repetition, and return a fixed number of
    indices. Nothing about the noise is given to it.
    """

    def __init__(self) -> None:
        super().__init__(YOUR_CONFIG)


def new_select_indices() -> YourSelectIndices:
    """A fresh rule with its own state (recent losses, rate bounds): use one per training run.

    ``select = new_select_indices()`` then ``train(..., select)``; the object is called like
    ``your_select_indices(targets, losses)``.
    """
    return YourSelectIndices()


_RULE = new_select_indices()


def your_select_indices(targets: torch.Tensor, losses: list[torch.Tensor]) -> list[torch.Tensor]:
    """The competition's entry point: ``[indices for model 1, indices for model 2]``.

    Its state lives in one module-level object that outlives a training run: call ``reset()``
    before a new run in the same process, or use ``new_select_indices()`` for a fresh rule.
    """
    return _RULE(targets, losses)


def reset() -> None:
    """Forget the state of ``your_select_indices``, before a new training run."""
    _RULE.reset()
