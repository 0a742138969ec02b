"""Scoring a trained model, and where its BAC goes: BatchNorm's statistics and the threshold."""

import math

import torch
import torch.nn as nn
from helpers import fake_row

from noisy_select.bench import report, sweeps
from noisy_select.competition import SmallMobileNet
from noisy_select.train.evaluation import (
    best_threshold_bac,
    threshold_and_statistics,
    with_reestimated_statistics,
)


def test_the_best_threshold_is_the_best_of_every_cut_and_keeps_ties_together():
    margin = torch.tensor([0.1, 0.5, -0.2, 0.9, 0.3])
    assert best_threshold_bac(margin, torch.tensor([0, 1, 0, 1, 0])) == 1.0
    # Ties cannot be split by a threshold: all three are one class or the other.
    assert best_threshold_bac(torch.ones(3), torch.tensor([0, 1, 1])) == 0.5
    # Brute force over every threshold between the sorted margins.
    gen = torch.Generator().manual_seed(0)
    margin = torch.randn(200, generator=gen).round(decimals=1)
    labels = (torch.rand(200, generator=gen) < 0.3).long()
    cuts = torch.cat([margin.unique() - 1e-6, margin.max().reshape(1) + 1])
    brute = max(((margin > t)[labels == 1].double().mean()
                 + (margin <= t)[labels == 0].double().mean()) / 2 for t in cuts)
    assert abs(best_threshold_bac(margin, labels) - float(brute)) < 1e-12
    assert math.isnan(best_threshold_bac(margin, torch.zeros(200, dtype=torch.long)))


def test_reestimated_statistics_are_every_batchs_average_and_leave_the_model_alone():
    torch.manual_seed(0)
    model = SmallMobileNet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batches = [(torch.rand(8, 1, 28, 28) * (i + 1), torch.zeros(8, 1)) for i in range(3)]
    copied = with_reestimated_statistics(model, batches, "cpu")
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    first = copied.features[1]  # the BatchNorm right after the first convolution
    conv = model.features[0]
    means = [conv(x).mean((0, 2, 3)) for x, _ in batches]
    assert torch.allclose(first.running_mean, torch.stack(means).mean(0), atol=1e-5)
    weights = {k: v for k, v in copied.state_dict().items()
               if "running" not in k and "num_batches" not in k}
    assert all(torch.equal(v, before[k]) for k, v in weights.items())
    assert not copied.training


def test_threshold_and_statistics_score_the_same_samples():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2), nn.BatchNorm1d(2))
    data = [(torch.randn(16, 4), torch.randint(0, 2, (16, 1))) for _ in range(2)]
    out = threshold_and_statistics(model, data, data, "cpu")
    assert set(out) == {"bac_bn", "bac_best"} and 0 <= out["bac_bn"] <= 1
    assert 0.5 <= out["bac_best"] <= 1


def test_a_run_records_where_its_bac_goes_and_the_summary_decomposes_it(tmp_path):
    specs = sweeps.plan(["olympiad"], ["fixed-rates"], [0], epochs=1, scale=0.05, device="cpu")
    [row] = sweeps.sweep(specs, str(tmp_path / "r.jsonl"), progress=False)
    test = row["scores"]["test"]
    assert {"bac_bn_1", "bac_bn_2", "bac_best_1", "bac_best_2"} <= set(test)
    assert test["bac_best_1"] >= test["bac_1"] - 1e-12  # the best threshold beats threshold 0
    oracle = fake_row(sweeps.plan(["olympiad"], ["oracle-clean"], [0], epochs=1, scale=0.05)[0])
    oracle["scores"] = {"test": {**test, "bac_1": 0.9, "bac_2": 0.9, "bac_best_1": 0.95,
                                 "bac_best_2": 0.95, "auc_1": 0.99, "auc_2": 0.99}}
    text = report.decomposition([row, oracle])
    assert "| `fixed-rates` | 1 |" in text and "gap to `oracle-clean`" in text
    assert report.decomposition([fake_row(specs[0])]) == ""  # rows without the fields
