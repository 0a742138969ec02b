"""The examples run as they are shown."""

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_own_loop_trains_both_ways_and_prints_both_scores(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["own_loop.py", "--epochs", "1", "--scale", "0.2"])
    runpy.run_path(str(EXAMPLES / "own_loop.py"), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["every sample", "noisy_select"]
    assert all(0.0 <= float(line.rsplit(" ", 1)[1]) <= 1.0 for line in out)


def test_own_loop_uses_the_indices_in_the_backward_step():
    namespace = runpy.run_path(str(EXAMPLES / "own_loop.py"))
    import torch

    calls = []

    def nothing(targets, losses):
        calls.append(len(targets))
        return [torch.zeros(0, dtype=torch.long)] * 2

    x, y = torch.rand(10, 1, 28, 28), torch.randint(0, 2, (10,))
    torch.manual_seed(0)
    before = [p.clone() for p in namespace["small_model"]().parameters()]
    models = namespace["train_pair"](x, y, nothing, epochs=1, batch_size=4)
    assert calls == [4, 4, 2]
    # Nothing selected: neither model ever stepped, so both keep their initial weights.
    assert all(torch.equal(a, b) for a, b in zip(before, models[0].parameters()))


def test_own_rule_walks_from_the_file_to_a_submission(capsys, monkeypatch, tmp_path):
    out = tmp_path / "out"
    monkeypatch.setattr("sys.argv", ["own_rule.py", "--out", str(out), "--seeds", "0",
                                     "--scale", "0.05", "--epochs", "1", "--no-check"])
    runpy.run_path(str(EXAMPLES / "own_rule.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "1. check: rows will name the rule file:my_rule.your_select_indices@" in printed
    assert "against `your_select_indices`" in printed
    assert {p.name for p in out.iterdir()} >= {"data", "run.json", "compare.jsonl", "submission.ipynb"}
