"""export/inline.py: which registered strategies a submission can inline, and how it builds them."""

from noisy_select.export import inline
from noisy_select.strategies.registry import MOVED, REGISTRY, get_spec


def test_the_shipped_rule_inlines_its_module_after_what_it_imports():
    assert inline.modules(REGISTRY["your_select_indices"]) == [
        "noisy_select.strategies.base", "noisy_select.strategies.shipped"]
    assert inline.expression(REGISTRY["your_select_indices"]) == "BalancedThenPublished()"


def test_keyword_arguments_go_into_the_expression():
    assert inline.expression(REGISTRY["fixed-rates"]) == "ClassWiseCoTeaching(keep=(0.5, 0.93))"
    assert inline.expression(REGISTRY["seed-solution"]) == "seed_solution"  # a plain function


def test_what_cannot_go_into_a_submission():
    # cleanlab's anchor imports cleanlab (inside a method: still an import the platform lacks);
    # an oracle reads the clean labels; a moved name builds nothing.
    assert inline.inlined_modules("noisy_select.strategies.cleanlab_anchor") is None
    for spec in (REGISTRY["cleanlab"], REGISTRY["oracle-clean"], MOVED["x-end-50"]):
        assert inline.modules(spec) is None and not inline.exportable(spec)


def test_a_rule_of_ones_own_is_exported_as_its_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.py").write_text(
        "import torch\n\ndef your_select_indices(targets, losses):\n"
        "    i = torch.arange(targets.numel(), device=targets.device)\n    return [i, i.clone()]\n")
    spec = get_spec("mine.py")
    assert inline.exportable(spec) and inline.modules(spec) is None
