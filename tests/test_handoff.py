"""export/handoff.py: a submission whose rule does not survive the platform's hand-off is refused."""

import pytest

from noisy_select.cli import main
from noisy_select.errors import HandoffError
from noisy_select.export import handoff, notebooks


def test_the_replay_runs_the_notebook_in_final_mode_and_needs_its_flag():
    cells = notebooks.seed_cells()
    code = handoff.final_mode_cells(cells)
    assert len(code) == sum(c["cell_type"] == "code" for c in cells)
    assert sum("FINAL_EVALUATION_MODE = True" in c for c in code) == 1
    assert not any("FINAL_EVALUATION_MODE = False" in c for c in code)
    with pytest.raises(HandoffError, match="Expected the notebook to set `FINAL_EVALUATION_MODE"):
        handoff.final_mode_cells([c for c in cells if "FINAL_EVALUATION_MODE = False" not in c["source"]])


@pytest.mark.slow
def test_submission_replays_the_handoff_and_matches_run_official(tmp_path, capsys):
    path = tmp_path / "s.ipynb"
    assert main(["submission", "-o", str(path), "--check-epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "Hand-off checked" in out and "same indices" in out and path.exists()


def _with_solution(monkeypatch, source):
    monkeypatch.setattr(notebooks, "solution_source", lambda strategy="": source)


@pytest.mark.parametrize("source, message", [
    ("import threading\n_LOCK = threading.Lock()\n"
     "def your_select_indices(targets, losses):\n"
     "    with _LOCK:\n"
     "        return [torch.arange(targets.numel())] * 2\n",
     "cannot pickle '_thread.lock' object"),
    ("import importlib\n"
     "def your_select_indices(targets, losses):\n"
     "    return importlib.import_module('noisy_' + 'select.solution').your_select_indices("
     "targets, losses)\n",
     "noisy_select is not available on the platform"),
    ("def your_select_indices(targets, losses):\n"
     "    return [torch.randperm(targets.numel())] * 2\n",
     "selects differently from 'your_select_indices' on seeded batch 0"),
])
@pytest.mark.slow
def test_a_rule_that_does_not_survive_the_handoff_is_refused_and_nothing_written(
        tmp_path, capsys, monkeypatch, source, message):
    _with_solution(monkeypatch, source)
    path = tmp_path / "s.ipynb"
    assert main(["submission", "-o", str(path), "--check-epochs", "1"]) == 3
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not path.exists()
