"""Training a pair of networks: either fixed loop, evaluation, and what a run records.

``training`` runs a notebook's execution cell with either loop of ``competition`` on tensor
batches; ``evaluation`` scores a model (BAC and AUC); ``diagnostics`` records the selections.
"""
