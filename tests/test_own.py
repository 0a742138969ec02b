"""Rules of your own (``strategies.own``): the spec forms, a fresh load per run, the checks and
the trial before any training, and the rule through run, bench, compare, submission and the API."""

import json
import re
import textwrap

import pytest
import torch

from noisy_select import check, compare
from noisy_select.bench import sweeps
from noisy_select.cli import main
from noisy_select.errors import DataError, UsageError
from noisy_select.strategies import own
from noisy_select.strategies.registry import default_bench, get_spec, make_strategy

# Keeps the lowest 80% of each label by the peer's loss; counts its calls at module level.
RULE = '''\
"""Keeps the lowest-loss 80% of each label, by the peer's loss."""
import torch

CALLS = 0


def your_select_indices(targets, losses):
    global CALLS
    CALLS += 1
    out = []
    for peer in (losses[1], losses[0]):
        keep = []
        for c in (0, 1):
            idx = (targets == c).nonzero().flatten()
            order = peer.detach()[idx].argsort()
            keep.append(idx[order[: int(0.8 * len(idx)) or len(idx)]])
        out.append(torch.cat(keep))
    return out


def everything(targets, losses):
    return [torch.arange(targets.numel())] * 2
'''


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def rule(tmp_path):
    return write(tmp_path, "mine.py", RULE)


def test_every_form_names_the_callable_it_should(rule, tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rules.py").write_text(RULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert get_spec(rule).name.startswith("file:mine.your_select_indices@")
    assert get_spec(f"{rule}:everything").name.startswith("file:mine.everything@")
    assert get_spec("pkg.rules:everything").name.startswith("file:pkg.rules.everything@")
    assert get_spec("fixed-rates").tag == "anchor"  # a bare word is a registered name
    targets = torch.tensor([0, 1, 1, 0])
    assert make_strategy(f"{rule}:everything")(targets, [torch.ones(4)] * 2)[0].tolist() == [0, 1, 2, 3]


def test_each_run_loads_the_file_afresh_and_the_trial_leaves_no_mark(rule):
    first = make_strategy(rule)  # after the trial, which called the rule 36 times
    assert first.__globals__["CALLS"] == 0
    first(torch.tensor([0, 1]), [torch.ones(2), torch.ones(2)])
    assert first.__globals__["CALLS"] == 1
    assert make_strategy(rule).__globals__["CALLS"] == 0  # the next run starts from zero
    import sys

    assert "noisy_select_rule_mine" not in sys.modules


def test_a_function_a_callable_object_and_a_strategy_instance_all_work(tmp_path):
    path = write(tmp_path, "kinds.py", '''
        import torch
        from noisy_select.strategies.anchors import ClassWiseCoTeaching

        class Everything:
            def __init__(self):
                self.resets = 0

            def reset(self):
                self.resets += 1

            def __call__(self, targets, losses):
                return [torch.arange(targets.numel())] * 2

        obj = Everything()
        published = ClassWiseCoTeaching(keep=(0.5, 0.93))

        def fn(targets, losses):
            return [[0], [0]]
        ''')
    assert make_strategy(f"{path}:obj").resets == 1  # a fresh load, reset once as a run starts
    for name in ("obj", "published", "fn"):
        assert len(make_strategy(f"{path}:{name}")(torch.tensor([0, 1]), [torch.ones(2)] * 2)) == 2


def test_rows_name_the_rule_by_file_and_hash_and_two_versions_never_mix(rule, tmp_path):
    [spec] = sweeps.plan(["olympiad"], [rule], [0], scale=0.05, epochs=1, device="cpu")
    described = spec.describe()
    name = spec.name
    assert name == get_spec(rule).name and described["tag"] == "own"
    config = described["strategy_config"]
    assert config["path"] == rule and len(config["sha256"]) == 64
    assert spec.name.endswith("@" + config["sha256"][:12])
    with open(rule, "a") as f:
        f.write("\n# a second version\n")
    with pytest.raises(DataError, match="mine.py changed since this work was planned"):
        spec.describe()  # the planned run refuses the changed file
    [again] = sweeps.plan(["olympiad"], [rule], [0], scale=0.05, epochs=1, device="cpu")
    assert again.name != name and again.describe()["config_hash"] != described["config_hash"]


BAD_FILES = [
    ("missing.py", None, "does not exist"),
    ("folder.py", "FOLDER", "is a folder"),
    ("rule.txt:fn", "def fn(targets, losses): pass\n", "ending in .py"),
    ("syntax.py", "def your_select_indices(targets, losses)\n    return 1\n", "syntax.py, line 1"),
    ("imports.py", "import no_such_module_here\n", "could not import 'no_such_module_here'"),
    ("raises.py", "x = 1\nraise RuntimeError('boom')\n",
     "raised RuntimeError while loading (raises.py, line 2)"),
    ("names.py:nope", "def a(targets, losses): pass\ndef b(targets, losses): pass\n",
     "has no 'nope'; its callables: a, b"),
    ("value.py:x", "x = 3\n", "is a int, not a callable rule"),
    ("cls.py:Rule", "class Rule:\n    def __call__(self, t, l): pass\n", "is a class"),
    ("args.py", "def your_select_indices(targets): pass\n", "takes (targets), but the loops call it"),
    ("one.py", "def your_select_indices(targets, losses):\n    return [[0]]\n",
     "Expected the strategy to return [indices for model 1, indices for model 2]"),
    ("range.py", "def your_select_indices(targets, losses):\n    return [[0], [500]]\n",
     "Expected indices in [0, 128)"),
    ("float.py", "import torch\ndef your_select_indices(targets, losses):\n"
                 "    return [torch.zeros(2), torch.zeros(2)]\n",
     "to be 1-D integers, but got torch.float32"),
    ("meta.py", "import torch\ndef your_select_indices(targets, losses):\n"
                "    return [torch.zeros(2, dtype=torch.long, device='meta')] * 2\n",
     "expected the indices for model 1 on cpu (the device of targets), but got meta"),
    ("error.py", "def your_select_indices(targets, losses):\n    x = 1\n    return x[0]\n",
     "raised TypeError at error.py, line 3 on call 1 of the trial"),
    ("oneclass.py", "import torch\ndef your_select_indices(targets, losses):\n"
                    "    n = int((targets == 0).sum())\n    return [[128 // n]] * 2\n",
     "raised ZeroDivisionError at oneclass.py, line 4 on call 4 of the trial, a batch of 128 "
     "with label [1]"),
    ("inplace.py", "def your_select_indices(targets, losses):\n    targets[0] = 1\n"
                   "    return [[0], [0]]\n", "changed `targets` or `losses` in place"),
]


@pytest.mark.parametrize("spec, text, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_rule_is_one_line_exit_2_before_any_data_is_looked_for(
        no_data_touched, tmp_path, capsys, monkeypatch, spec, text, message):
    rules = tmp_path / "rules"
    rules.mkdir()
    name = spec.split(":")[0]
    if text == "FOLDER":
        (rules / name).mkdir()
    elif text is not None:
        (rules / name).write_text(text)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(rules)
    for argv in (["run", "-s", spec, "-d", str(work / "d")],
                 ["bench", spec, "-r", str(work / "r.jsonl")],
                 ["compare", "fixed-rates", spec, "-r", str(work / "r.jsonl")],
                 ["submission", "-s", spec, "-o", str(work / "s.ipynb"), "--no-check"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert list(work.iterdir()) == []
    with pytest.raises(UsageError, match=re.escape(message.split(" (")[0][:30])):
        check(spec)


def test_repeated_indices_pass_the_trial():
    # The shipped rule repeats samples to balance the labels; the loops train on a repeat twice.
    assert check("your_select_indices") == "your_select_indices"
    assert check(lambda targets, losses: [[0, 0, 1], [1, 1]]) == "<lambda>"


def test_a_bare_word_with_a_file_of_that_name_says_to_write_it_with_py(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "mine.py", RULE)
    with pytest.raises(UsageError, match=r"A file mine.py is here: write it with .py \(mine.py\)"):
        get_spec("mine")


def test_check_on_a_callable_resets_it_after_the_trial():
    class Counting:
        def __init__(self):
            self.calls = 0

        def reset(self):
            self.calls = 0

        def __call__(self, targets, losses):
            self.calls += 1
            return [[0], [0]]

    rule = Counting()
    assert check(rule) == "Counting"
    assert rule.calls == 0
    with pytest.raises(UsageError, match="takes"):
        check(lambda targets: None)


@pytest.mark.parametrize("imports, named", [
    ("import noisy_select", "'noisy_select' (line 1)"),
    ("from pytest import approx", "'pytest' (line 1)"),  # here, but not on the platform
])
def test_a_submission_refuses_what_the_platform_lacks_before_writing(tmp_path, capsys, imports,
                                                                     named):
    path = write(tmp_path, "plat.py", f"{imports}\n{RULE}")
    out = tmp_path / "s.ipynb"
    assert main(["submission", "-s", path, "-o", str(out), "--no-check"]) == 2
    err = capsys.readouterr().err
    assert f"plat.py imports {named}, which a submission cannot" in err
    assert "torchvision" in err and len(err.strip().splitlines()) == 1 and not out.exists()


def test_a_submission_inlines_the_file_and_calls_the_named_rule(rule, tmp_path):
    from noisy_select.export.notebooks import solution_source

    whole = solution_source(rule)
    assert RULE.rstrip() in whole and "_RULE" not in whole  # the file defines the entry point
    named = solution_source(f"{rule}:everything")
    assert named.rstrip().endswith("_RULE = everything\n\n\ndef your_select_indices(targets, losses):\n"
                                   "    return _RULE(targets, losses)".rstrip())
    namespace: dict = {}
    exec(named, namespace)
    assert namespace["your_select_indices"](torch.tensor([0, 1]), [torch.ones(2)] * 2)[0].tolist() == [0, 1]


def test_bench_with_no_names_runs_the_product_the_anchors_and_the_oracles():
    names = default_bench()
    assert names[0] == "your_select_indices"
    assert {"fixed-rates", "all", "oracle-clean", "oracle-clean-balanced"} <= set(names)
    assert all(get_spec(n).tag in ("product", "anchor", "oracle") for n in names)


def test_a_rule_file_goes_through_run_bench_compare_and_the_api(rule, tmp_path, capsys,
                                                                tiny_proxy):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_proxy[0], data)
    record = tmp_path / "run.json"
    assert main(["run", "-s", rule, "-d", str(data), "--epochs", "1", "--device", "cpu",
                 "-o", str(record)]) == 0
    name = json.loads(record.read_text())["strategy"]
    assert name == get_spec(rule).name
    results = tmp_path / "r.jsonl"
    common = ["--scenarios", "olympiad", "--seeds", "0", "--scale", "0.05", "--epochs", "1",
              "--device", "cpu", "-r", str(results), "--no-progress"]
    assert main(["bench", rule, "fixed-rates", *common, "--summary", str(tmp_path / "b.md"),
                 "--figures", str(tmp_path / "f")]) == 0
    assert f"`{name}`" in (tmp_path / "b.md").read_text()
    assert main(["compare", "fixed-rates", rule, *common, "--summary", str(tmp_path / "c.md")]) == 0
    assert f"`{name}`" in (tmp_path / "c.md").read_text()
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    mine = [r for r in rows if r["strategy"] == name]
    assert len(mine) == 1 and mine[0]["strategy_config"]["path"] == rule  # compare reused it
    capsys.readouterr()
    table = compare(rule, "fixed-rates", scenario="olympiad", seeds=[0], scale=0.05, epochs=1,
                    device="cpu", results=str(results), progress=False)
    assert list(table.columns) == ["seed", "fixed-rates", name, "diff"]
    assert table.attrs["summary"]["strategy"] == name and "| `" in table.attrs["markdown"]
    assert len(results.read_text().splitlines()) == len(rows)  # nothing ran twice


def test_compare_names_the_shipped_object_by_its_registered_name():
    from noisy_select import your_select_indices
    from noisy_select.api import _spec

    assert _spec(your_select_indices) == "your_select_indices"


def test_compare_refuses_a_function_without_a_file():
    with pytest.raises(UsageError, match="pass the file's path"):
        compare(lambda targets, losses: [[0], [0]])


@pytest.mark.slow
def test_worker_processes_load_the_rule_afresh(tmp_path):
    """-j 2: each spawned worker loads the file itself, and every run gets a load of its own:
    each load logs its calls, and every run's load saw exactly one run's calls."""
    from noisy_select.data import scenarios

    log = tmp_path / "calls.log"
    path = write(tmp_path, "fresh.py", f'''
        import os
        import torch
        CALLS = 0

        def your_select_indices(targets, losses):
            global CALLS
            CALLS += 1
            with open({str(log)!r}, "a") as f:
                f.write(f"{{os.getpid()}}-{{id(globals())}} {{CALLS}}\\n")
            return [torch.arange(targets.numel())] * 2
        ''')
    specs = sweeps.plan(["olympiad"], [path], [0, 1, 2], scale=0.05, epochs=1, device="cpu")
    rows = sweeps.sweep(specs, str(tmp_path / "r.jsonl"), jobs=2, progress=False)
    assert len(rows) == 3 and {r["strategy"] for r in rows} == {get_spec(path).name}
    calls: dict[str, int] = {}
    for line in log.read_text().splitlines():
        load, count = line.split()
        assert int(count) == calls.get(load, 0) + 1  # each load counts from 1
        calls[load] = int(count)
    size = len(scenarios.build("olympiad", 0, scale=0.05).splits["train"].labels)
    per_run = -(-size // 128)
    trials = len(own.trial_batches())
    assert per_run != trials
    assert sorted(n for n in calls.values() if n != trials) == [per_run] * 3


@pytest.mark.slow
def test_a_submission_from_a_rule_file_passes_the_handoff_replay(rule, tmp_path, capsys):
    out = tmp_path / "submission.ipynb"
    assert main(["submission", "-s", rule, "-o", str(out), "--check-scale", "0.05",
                 "--check-epochs", "1"]) == 0
    assert "Hand-off checked" in capsys.readouterr().out
    cells = json.loads(out.read_text())["cells"]
    assert any(RULE.splitlines()[0] in "".join(c["source"]) for c in cells)
