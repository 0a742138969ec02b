"""Kept only until export/handoff.py imports ``RunConfig`` from ``noisy_select.bench.run``
(issue 29: one config, one run)."""

from noisy_select.bench.run import RunConfig

__all__ = ["RunConfig"]
