"""``strategies.adaptive``: estimated keep shares, balancing and resampling."""

import pytest
import torch

from noisy_select.strategies.adaptive import (
    AdaptiveConfig,
    AdaptiveSelection,
    clean_shares_from_ratios,
    mpe_ratios,
)
from noisy_select.strategies.base import class_balanced_weights, resample


def test_resample_is_proportional_and_never_empty():
    idx = resample(torch.tensor([1.0, 0.0, 3.0]), 4)
    assert torch.bincount(idx, minlength=3).tolist() == [1, 0, 3]
    assert torch.bincount(resample(torch.zeros(3), 6), minlength=3).tolist() == [2, 2, 2]


def test_class_balanced_weights_give_each_class_an_equal_share():
    labels = torch.tensor([0, 0, 0, 1, 1])
    keep = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0])
    w = class_balanced_weights(labels, keep, 1.0)
    assert w.tolist() == [0.5, 0.5, 0.0, 1.0, 0.0]
    w0 = class_balanced_weights(labels, keep, 0.0)
    assert w0.tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]


def mpe_clean_shares(loss, labels):
    return clean_shares_from_ratios(mpe_ratios(loss, labels))


def test_mpe_clean_shares_on_a_hand_made_buffer():
    # Label 1: four clean class-1 samples, p1 = 0.9 .. 0.6. Label 0: the same four class-1
    # images (wrongly labelled) and four class-0 images with p1 = 0.1.
    p1 = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.9, 0.8, 0.7, 0.6, 0.1, 0.1, 0.1, 0.1])
    labels = torch.tensor([1] * 4 + [0] * 8)
    loss = -torch.log(torch.where(labels == 1, p1, 1 - p1))
    # r0: among the top of label 1 by p1, label 0 reaches half the share -> 0.5; r1 = 0
    # (no label-1 sample looks like class 0) -> n0 = 0.5 * 1 / 1, n1 = 0.
    assert mpe_clean_shares(loss, labels).tolist() == pytest.approx([0.5, 1.0])
    # A model that cannot tell the labels apart: every ratio is 1, so everything is kept.
    assert mpe_clean_shares(torch.full((12,), 0.69), labels).tolist() == [1.0, 1.0]
    assert mpe_clean_shares(loss[:4], labels[:4]).tolist() == [1.0, 1.0]  # one label only


def test_adaptive_drops_the_high_loss_samples_and_balances_the_classes():
    # Label 0: ten confident 0s and ten samples the model puts in class 1 (p1 = 0.95);
    # label 1: eighteen confident 1s and two it puts in class 0. The estimate is 0.5 / 0.9
    # (mpe: r0 = 0.5 / 0.9, r1 = 0.1 / 0.5, so n0 = 0.5 and n1 = 0.1).
    labels = torch.tensor([0] * 20 + [1] * 20)
    peer = torch.cat([torch.full((10,), 0.05), torch.full((10,), 3.0),
                      torch.full((18,), 0.1), torch.full((2,), 4.0)])
    rule = AdaptiveSelection()
    sel = rule(labels, [torch.rand(40), peer])[0]
    assert set(sel.tolist()) == set(range(10)) | set(range(20, 38))
    assert torch.bincount(labels[sel], minlength=2).tolist() == [20, 20]


def test_adaptive_config_is_checked():
    with pytest.raises(ValueError, match="keep"):
        AdaptiveConfig(keep=(0.5, 1.5))
    with pytest.raises(TypeError, match="rate"):  # the estimators that lost are gone
        AdaptiveConfig(rate="otsu")
    with pytest.raises(ValueError, match="balance"):
        AdaptiveSelection(balance=2.0)


def simulated_buffer(prior1, flip_01, flip_10, separation, n=2048, seed=0):
    """Losses of a model whose logit is ``separation * (+-1) + N(0, 1)`` on noisy labels."""
    gen = torch.Generator().manual_seed(seed)
    clean = (torch.rand(n, generator=gen) < prior1).long()
    u = torch.rand(n, generator=gen)
    labels = torch.where(clean == 1, (u >= flip_10).long(), (u < flip_01).long())
    p1 = torch.sigmoid(separation * (2 * clean - 1).float() + torch.randn(n, generator=gen))
    loss = -torch.log(torch.where(labels == 1, p1, 1 - p1))
    truth = [float((clean[labels == c] == c).float().mean()) for c in (0, 1)]
    return loss, labels, truth


@pytest.mark.parametrize("noise", [(0.65, 0.1, 0.484), (0.2, 0.3, 0.3), (0.3, 0.0, 0.4),
                                   (0.65, 0.0, 0.0)],
                         ids=["olympiad", "symmetric", "minority-flip", "clean"])
@pytest.mark.parametrize("separation", [0.7, 1.5])
def test_mpe_tracks_the_true_clean_shares(noise, separation):
    loss, labels, truth = simulated_buffer(*noise, separation)
    est = mpe_clean_shares(loss, labels).tolist()
    assert est == pytest.approx(truth, abs=0.1), (est, truth)
