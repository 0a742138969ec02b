"""The package's layers: every import points down, no cycles, and the torch-free commands."""

import ast
import json
import pathlib
import subprocess
import sys

import noisy_select

ROOT = pathlib.Path(noisy_select.__file__).parent
# Lowest first. A module may import its own layer and the layers below it, never above.
LAYERS = [
    # Foundations: torch-free constants and errors, file checks, the competition's fixed cells.
    ["errors", "constants", "environment", "files", "competition"],
    ["strategies"],  # the selection strategies and their registry
    ["data"],  # scenarios, image sources, data folders, the proxy
    ["train"],  # the training of a pair (both fixed loops), evaluation, diagnostics
    ["bench"],  # sweeps, result rows, paired comparison, reports, figures, speed
    ["export"],  # the submission notebook and its hand-off check
    ["api", "cli", "__main__", ""],  # the Python API, the command line, the entry point
]


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def layer(name: str) -> int:
    top = name.split(".")[0]
    return next(i for i, names in enumerate(LAYERS) if top in names)


def imports(name: str) -> set[str]:
    """The package modules ``name`` imports, at the top or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("noisy_select"):
            base = node.module.removeprefix("noisy_select").lstrip(".")
            for alias in node.names:
                full = f"{base}.{alias.name}".lstrip(".")
                out.add(full if full in MODULES else base)
        elif isinstance(node, ast.Import):
            out |= {a.name.removeprefix("noisy_select").lstrip(".") for a in node.names
                    if a.name.startswith("noisy_select")}
    return out - {name}


def test_every_module_has_a_layer():
    assert all(layer(name) >= 0 for name in MODULES)


def test_imports_point_down_only():
    upward = [f"{name} (layer {layer(name)}) imports {other} (layer {layer(other)})"
              for name in MODULES for other in imports(name) if layer(other) > layer(name)]
    assert upward == []


def test_no_import_cycles():
    graph = {name: imports(name) for name in MODULES}
    done, path = set(), []

    def visit(name):
        assert name not in path, f"import cycle: {' -> '.join(path[path.index(name):] + [name])}"
        if name in done:
            return
        path.append(name)
        for other in graph[name]:
            visit(other)
        path.pop()
        done.add(name)

    for name in graph:
        visit(name)


def _torch_loaded_after(code: str) -> bool:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('torch' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def test_help_and_summary_import_no_torch(tmp_path):
    from helpers import fake_row

    from noisy_select.bench.sweeps import plan

    results = tmp_path / "r.jsonl"
    results.write_text("".join(json.dumps(fake_row(s)) + "\n"
                               for s in plan(["olympiad"], ["all", "fixed-rates"], [0, 1])))
    assert not _torch_loaded_after(
        "from noisy_select.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert not _torch_loaded_after(
        f"from noisy_select.cli import main\nmain(['summary', '-r', {str(results)!r}, "
        f"'--summary', {str(tmp_path / 's.md')!r}, '--figures', {str(tmp_path / 'f')!r}])")
    assert (tmp_path / "s.md").exists()
