"""Training a pair of networks: either fixed loop, evaluation, and what a run records."""
