"""Comparing strategies: sweeps over scenarios, strategies and seeds, their rows, and the reports.

``sweeps`` plans and runs a sweep (resumable); ``records`` writes and reads result rows;
``compare`` pairs strategies over seeds; ``report`` and ``plots`` write the summary and figures;
``speed`` times a strategy and counts its operations.
"""
