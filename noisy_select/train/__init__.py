"""Training a pair of networks: both fixed loops, evaluation, and what a run records.

``training`` runs a pair with the competition's loops (``competition``); ``evaluation`` scores
a model (BAC and AUC); ``diagnostics`` records the selections; ``robust`` is the second seed's
trainer (schedule, mean teacher, mixup) for users with their own loop, outside the
competition's path.
"""
