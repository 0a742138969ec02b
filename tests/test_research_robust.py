"""research/robust.py: the robust trainer that left the package (issue 29), run by its path."""

import json
import os
import runpy
import types

import pytest
import torch
import torch.nn as nn

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "research",
                    "robust.py")
robust = types.SimpleNamespace(**runpy.run_path(PATH))


def test_default_schedule_mirrors_the_seed_shape():
    phases = robust.parse_schedule(robust.DEFAULT_SCHEDULE, 6)
    first, last = robust.weights_for(phases, 1), robust.weights_for(phases, 6)
    assert first == {"supervised": 1.0, "mixup": 0.0, "teacher": 0.0}
    assert last["supervised"] == 0 and last["mixup"] > 0 and last["teacher"] > 0
    assert robust.weights_for(phases, 40) == last  # an open end runs on


@pytest.mark.parametrize("table, message", [
    ({"1-2": {"supervised": 1}}, r"does not cover epoch\(s\) \[3, 4\]"),
    ({"1-3": {"supervised": 1}, "3-4": {"mixup": 1}}, "Epoch 3 is covered twice"),
    ({"1-4": {"supervised": -1}}, "non-negative.*supervised=-1"),
    ({"1-4": {"supervised": 1, "magic": 2}}, r"Unknown loss terms \['magic'\]"),
    ({"1-4": {"supervised": 0}}, "only zero weights"),
    ({"one-two": {"supervised": 1}}, "epoch range like"),
    ({"3-1": {"supervised": 1}}, "range of epochs"),
    ({}, "non-empty dict"),
])
def test_bad_schedules_give_a_clear_error(table, message):
    with pytest.raises(ValueError, match=message):
        robust.parse_schedule(table, 4)


def test_schedule_from_a_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"1": {"supervised": 1}, "2-": {"teacher": 1}}))
    phases = robust.parse_schedule(str(path), 3)
    assert robust.weights_for(phases, 3) == {"supervised": 0.0, "mixup": 0.0, "teacher": 1.0}
    with pytest.raises(ValueError, match="Could not read"):
        robust.parse_schedule(str(tmp_path / "missing.json"), 3)


def test_ema_update_matches_a_hand_computed_case():
    teacher, student = nn.Linear(2, 1), nn.Linear(2, 1)
    bn_t, bn_s = nn.BatchNorm1d(1), nn.BatchNorm1d(1)
    with torch.no_grad():
        teacher.weight.copy_(torch.tensor([[1.0, 2.0]]))
        teacher.bias.fill_(0.0)
        student.weight.copy_(torch.tensor([[3.0, -2.0]]))
        student.bias.fill_(1.0)
        bn_s.running_mean.fill_(5.0)
    robust.ema_update(teacher, student, 0.75)
    assert teacher.weight.tolist() == [[1.5, 1.0]]  # 0.75 * 1 + 0.25 * 3, 0.75 * 2 + 0.25 * -2
    assert teacher.bias.tolist() == [0.25]
    robust.ema_update(bn_t, bn_s, 0.75)
    assert bn_t.running_mean.tolist() == [5.0]  # buffers are copied, not averaged


def test_mixup_targets():
    x = torch.tensor([[0.0], [10.0], [20.0]])
    y = torch.tensor([0, 1, 1])
    x_mix, y_mix = robust.mixup(x, y, 0.7, torch.tensor([1, 2, 0]))
    assert x_mix.squeeze(1).tolist() == pytest.approx([3.0, 13.0, 14.0])
    assert torch.allclose(y_mix, torch.tensor([[0.7, 0.3], [0.0, 1.0], [0.3, 0.7]]))
    assert torch.allclose(y_mix.sum(1), torch.ones(3))


def test_tiny_robust_run_end_to_end(tiny_proxy, tmp_path, capsys):
    root, _ = tiny_proxy
    out = tmp_path / "robust.json"
    schedule = tmp_path / "s.json"
    schedule.write_text(json.dumps({"1": {"supervised": 1}, "2": {"supervised": 0.5, "mixup": 1,
                                                                  "teacher": 1}}))
    assert robust.main(["--data", str(root), "--epochs", "2", "--schedule", str(schedule),
                        "--keep-best", "--device", "cpu", "--out", str(out),
                        "--strategy", "adaptive-mpe"]) == 0
    assert "test: BAC model 1" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["robust_config"]["keep_best"] and result["best_epoch"] in (1, 2)
    assert [h["weights"]["mixup"] for h in result["history"]] == [0.0, 1.0]
    for h in result["history"]:
        assert all(0 <= d <= 1 for d in h["disagreement"])
        # The scored models are the teachers: their BAC is the history's val_bac.
        assert h["teacher_val_bac_1"] == h["val_bac_1"] and "student_val_bac_2" in h
    # The last epoch's val BAC is the scored models' (keep_best restores an epoch's weights).
    best = result["history"][result["best_epoch"] - 1]
    assert result["scores"]["val"]["bac_1"] == best["val_bac_1"]


def test_bad_schedule_fails_before_training(tiny_proxy, tmp_path, capsys):
    schedule = tmp_path / "s.json"
    schedule.write_text(json.dumps({"1": {"supervised": 1}}))
    assert robust.main(["--data", str(tmp_path / "none"), "--epochs", "3",
                        "--schedule", str(schedule)]) == 2
    assert "does not cover epoch(s) [2, 3]" in capsys.readouterr().err
