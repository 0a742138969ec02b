"""``strategies.cleanlab_anchor``."""


import pytest
import torch


def test_cleanlab_anchor_with_one_class_flags_nothing():
    """cleanlab refuses labels of one class; the anchor then keeps every sample."""
    pytest.importorskip("cleanlab")
    from noisy_select.strategies.cleanlab_anchor import CleanlabSelection

    rule = CleanlabSelection()
    for _ in range(2):  # two epochs of three batches, the last one shorter
        for n in (8, 8, 3):
            out = rule(torch.ones(n, dtype=torch.long), [torch.rand(n), torch.rand(n)])
    assert all(o.shape == (3,) for o in out)
    assert all(bool(k.all()) for k in rule.keep)
