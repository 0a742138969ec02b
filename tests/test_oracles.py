"""strategies/oracles.py: the rules that read the clean labels (bench only)."""


import torch

from noisy_select.strategies.registry import make_strategy


def test_oracle_clean_selects_exactly_the_correct_samples():
    clean = torch.tensor([0, 1, 1, 0])
    rule = make_strategy("oracle-clean", clean_fn=lambda: clean)
    out = rule(torch.tensor([0, 0, 1, 1]), [torch.rand(4), torch.rand(4)])
    assert [o.tolist() for o in out] == [[0, 2], [0, 2]]
