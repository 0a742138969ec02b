"""bench/speed.py: the time of a call and of a step."""


import pytest
import torch

from noisy_select.cli import main


@pytest.mark.slow
def test_speed_measures_a_call_and_a_step(capsys):
    from noisy_select.bench.speed import measure, seed_select_indices

    result = measure(torch.device("cpu"), "fixed-rates", repeats=5)
    assert 0 < result["call_s"] < result["step_s"] and 0 < result["seed_call_s"]
    assert result["share_of_step"] == pytest.approx(result["call_s"] / result["step_s"])
    targets = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    peer = torch.arange(8, dtype=torch.float32)
    # The seed's strategy keeps int(4 * 0.85) = 3 of each class by the peer's loss.
    assert sorted(seed_select_indices(targets, [peer, peer])[0].tolist()) == [0, 1, 2, 4, 5, 6]
    assert main(["speed", "--strategy", "all", "--device", "cpu", "--repeats", "5"]) == 0
    assert "us/call" in capsys.readouterr().out
