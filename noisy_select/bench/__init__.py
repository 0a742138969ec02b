"""Comparing strategies: one run, sweeps over scenarios, strategies and seeds, their rows, reports."""
