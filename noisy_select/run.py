"""Kept only until export/handoff.py imports ``run`` from ``noisy_select.bench.run`` (issue 29:
one config, one run)."""

from noisy_select.bench.run import run

__all__ = ["run"]
