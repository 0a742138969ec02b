import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient

from noisy_select.cli import main
from noisy_select.competition import TRAIN_DATASET_URL, VAL_DATASET_URL, SmallMobileNet
from noisy_select.export import notebooks

ROOT = Path(__file__).resolve().parents[1]
# A copy of the seed notebook's text rendering (shared/seeds/000_65b619e6566df108.txt), so that
# the template is checked in a fresh clone too.
SEED_TEXT = Path(__file__).parent / "data" / "seed_notebook.txt"
SHARED_SEED = ROOT.parent / "shared" / "seeds" / "000_65b619e6566df108.txt"


def _load_script(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_template_is_the_seed_notebook():
    parse_seed = _load_script("parse_seed")
    assert parse_seed.parse_seed_text(SEED_TEXT.read_text()) == notebooks.seed_cells()
    if SHARED_SEED.exists():
        assert SHARED_SEED.read_text() == SEED_TEXT.read_text()


def test_submission_keeps_the_fixed_cells_and_swaps_model_and_solution():
    seed, sub = notebooks.seed_cells(), notebooks.submission_cells()
    assert len(seed) + 2 == len(sub)
    # It ends with the organizers' final-mode cell, which hands the strategy to the platform.
    assert sub[-1]["source"] == notebooks.HANDOFF_CELL and sub[-2]["cell_type"] == "markdown"
    assert "cloudpickle.dump(your_select_indices, f)" in sub[-1]["source"]
    sub = sub[:-2]
    changed = [i for i, (a, b) in enumerate(zip(seed, sub)) if a != b]
    assert len(changed) == 3
    model, text, solution = (sub[i]["source"] for i in changed)
    assert "groups=128" in model and model.startswith(notebooks.FIXED_MARK)
    assert text.startswith("# Solved Solution") and "your_select_indices" in text
    assert "def your_select_indices(targets" in solution
    assert sum(notebooks.is_fixed(c) for c in sub) == sum(notebooks.is_fixed(c) for c in seed) == 16


def test_official_model_cell_builds_the_package_model():
    namespace = {"nn": torch.nn, "torch": torch, "NUM_CLASSES": 2}
    exec(notebooks.OFFICIAL_MODEL_CELL, namespace)
    theirs, ours = namespace["SmallMobileNet"](), SmallMobileNet()
    assert [(k, v.shape) for k, v in theirs.state_dict().items()] == [
        (k, v.shape) for k, v in ours.state_dict().items()]
    assert repr(theirs) == repr(ours)


def test_solution_checks():
    notebooks.check_solution(notebooks.solution_source("fixed-rates"))
    with pytest.raises(ValueError, match="imports 'numpy'"):
        notebooks.check_solution("import numpy\ndef your_select_indices(targets, losses): pass")
    with pytest.raises(ValueError, match="imports 'noisy_select.strategies.shipped'"):
        notebooks.check_solution("from noisy_select.strategies.shipped import your_select_indices")
    with pytest.raises(ValueError, match=r"your_select_indices\(targets, losses\)"):
        notebooks.check_solution("def your_select_indices(t, l): pass")
    with pytest.raises(ValueError, match="does not parse"):
        notebooks.check_solution("def (:")


def test_submission_bad_input_writes_nothing(tmp_path, capsys):
    out = tmp_path / "s.ipynb"
    assert main(["submission", "--out", str(out), "--strategy", "magic"]) == 2
    assert main(["submission", "--out", str(out), "--strategy", "oracle-clean"]) == 2
    assert "clean labels" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _execute(nb, cwd, timeout=600):
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))


def _set_final_mode(nb, value):
    cell = next(c for c in nb.cells if c.source.startswith("# During the verification"))
    cell.source = cell.source.replace("FINAL_EVALUATION_MODE = False",
                                      f"FINAL_EVALUATION_MODE = {value}")


@pytest.mark.slow
def test_submission_in_final_mode_only_defines_then_trains_and_scores(tmp_path, tiny_proxy):
    root, _ = tiny_proxy
    path = tmp_path / "submission.ipynb"
    assert main(["submission", "--out", str(path), "--no-check"]) == 0
    nb = nbformat.read(path, as_version=4)
    _set_final_mode(nb, True)
    nb.cells.append(nbformat.v4.new_code_cell(f"""
assert "train_loader" not in globals() and "m1" not in globals()
TRAIN_DATASET_PATH, VAL_DATASET_PATH = {str(root / 'train')!r}, {str(root / 'val')!r}
train_loader, val_loader = load_data()
seed_everything(SEED)
criterion = nn.CrossEntropyLoss(reduction="none")
m1, m2 = SmallMobileNet().to(DEVICE), SmallMobileNet().to(DEVICE)
opt1 = AdamW(m1.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
opt2 = AdamW(m2.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
train(m1, m2, opt1, opt2, criterion, train_loader, val_loader, 1, DEVICE, your_select_indices)
print("params", sum(p.numel() for p in m1.parameters()))
final_evaluate({str(root / 'test')!r}, m1, m2)
"""))
    out = _execute(nb, tmp_path)
    assert "params 79874" in out
    assert "Final Score:" in out and out.count("Balanced Accuracy:") == 2
    assert not (tmp_path / "train").exists()  # final mode downloads nothing
    assert (tmp_path / "file_output" / "your_select_indices.pkl").stat().st_size > 0


def _zip_split(root, split, dest):
    shutil.make_archive(str(dest), "zip", root_dir=root, base_dir=split)


@pytest.mark.slow
def test_submission_runs_end_to_end_offline_with_a_stand_in_gdown(tmp_path, tiny_proxy,
                                                                 monkeypatch):
    root, _ = tiny_proxy
    served = tmp_path / "served"
    _zip_split(root, "train", served / TRAIN_DATASET_URL)
    _zip_split(root, "val", served / VAL_DATASET_URL)
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "gdown.py").write_text(
        "import os, shutil\n"
        "def download(url, output, fuzzy=False):\n"
        "    file_id = url.split('id=')[-1]\n"
        "    shutil.copy(os.path.join(os.environ['FAKE_GDOWN_DIR'], file_id + '.zip'), output)\n"
        "    return output\n")
    monkeypatch.setenv("FAKE_GDOWN_DIR", str(served))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(fake), *sys.path]))
    work = tmp_path / "work"
    work.mkdir()
    assert main(["submission", "--out", str(work / "submission.ipynb"), "--no-check"]) == 0
    nb = nbformat.read(work / "submission.ipynb", as_version=4)
    out = _execute(nb, work)
    assert "Downloaded:" in out and "Final Score:" in out
    assert (work / "train" / "dataset_labels.csv").exists()
    assert not (work / "file_output").exists()  # the hand-off cell runs in final mode only


@pytest.mark.slow
def test_working_notebook_runs_under_the_smoke_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("NOISY_SELECT_SMOKE", "1")
    nb = nbformat.read(ROOT / "notebook.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    out = _execute(nb, tmp_path)
    assert "offline proxy 'olympiad'" in out and "Final Score:" in out
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) == 1


@pytest.mark.slow
def test_working_notebook_in_final_mode_only_defines(tmp_path):
    nb = nbformat.read(ROOT / "notebook.ipynb", as_version=4)
    _set_final_mode(nb, True)
    out = _execute(nb, tmp_path)
    assert out == "" and not (tmp_path / "data").exists()


def test_notebook_sections_follow_the_seed():
    """The first heading of every seed Markdown cell appears in ours, in the same order."""
    def headings(cells):
        return [next(line for line in c["source"].splitlines() if line.startswith("#"))
                for c in cells if c["cell_type"] == "markdown"]

    ours = iter(headings(nbformat.read(ROOT / "notebook.ipynb", as_version=4).cells))
    for heading in headings(notebooks.seed_cells()):
        title = heading.split(" ", 1)[1]
        assert any(title in h for h in ours), f"section {heading!r} missing or out of order"


def test_inlined_solution_behaves_like_the_package_strategy():
    from noisy_select.strategies.shipped import BalancedThenPublished

    ours = BalancedThenPublished()
    namespace: dict = {}
    exec(compile(notebooks.solution_source(), "solution-cell", "exec"), namespace)
    assert "class AdaptiveSelection" not in notebooks.solution_source()  # only what it reaches
    gen = torch.Generator().manual_seed(0)
    epoch = [torch.randint(0, 2, (n,), generator=gen) for n in (128, 128, 16)]
    for targets in epoch * 7:  # both phases, and the start of a second run
        losses = [torch.rand(targets.numel(), generator=gen) * 3 for _ in range(2)]
        inlined = namespace["your_select_indices"](targets, losses)
        for a, b in zip(inlined, ours(targets, losses)):
            assert torch.equal(a, b)


def test_submission_text_describes_the_exported_rule_and_the_file_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert main(["submission", "-o", str(tmp_path / "new" / "s.ipynb"), "-s", "fixed-rates",
                     "--no-check"]) == 0
    finally:
        os.umask(old)
    path = tmp_path / "new" / "s.ipynb"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    nb = nbformat.read(path, as_version=4)
    text = next(c.source for c in nb.cells if c.source.startswith("# Solved Solution"))
    assert "fixed-rates" in text and "50% / 93%" in text and "85%" not in text
    code = next(c.source for c in nb.cells if "def your_select_indices" in c.source)
    assert "creates the strategy and its state" in code


@pytest.mark.parametrize("name", ["seed-coteaching", "seed-solution", "all", "adaptive-mpe",
                                  "fixed-rates"])
def test_an_exported_strategy_is_that_strategy(name):
    from noisy_select.strategies.registry import make_strategy

    namespace: dict = {}
    exec(compile(notebooks.solution_source(name), "solution-cell", "exec"), namespace)
    ours = make_strategy(name)
    gen = torch.Generator().manual_seed(1)
    epoch = [torch.randint(0, 2, (n,), generator=gen) for n in (128, 128, 16)]
    for targets in epoch * 3:  # three epochs
        losses = [torch.rand(targets.numel(), generator=gen) * 3 for _ in range(2)]
        for a, b in zip(namespace["your_select_indices"](targets, losses), ours(targets, losses)):
            assert torch.equal(a, b)


def test_the_solution_cell_builds_its_rule_once_and_cites_nothing_the_submission_lacks():
    for name in ("your_select_indices", "fixed-rates", "adaptive-mpe"):
        source = notebooks.solution_source(name)
        # A strategy object is built once, the shipped rule's as any other's.
        assert source.count("\n_STRATEGY = ") == 1
        assert "docs/" not in source
        text = notebooks.solution_text(name)
        assert "``" not in text and "docs/" not in text
