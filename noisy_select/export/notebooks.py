"""`noisy-select submission`: the seed notebook's cells (``seed_cells.json``, parsed by
``scripts/parse_seed.py``) with the official ``SmallMobileNet``, the strategy's source in the
solution cell, and the organizers' final-mode cell that saves ``your_select_indices`` with
cloudpickle; the hand-off is replayed before writing (``handoff.check_handoff``).
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
from importlib import resources

from noisy_select.constants import NUM_EPOCHS, SHIPPED
from noisy_select.errors import UsageError
from noisy_select.files import atomic_write

FIXED_MARK = "######################### DO NOT CHANGE THIS CELL ##########################"
# What a rule of one's own may import besides the standard library: the organizers'
# environment (their environment.yml: torch and the competition's libraries, with
# scikit-learn's dependencies). ``noisy_select`` and ``cleanlab`` are not there.
PLATFORM_MODULES = ("torch", "torchvision", "torchmetrics", "numpy", "PIL", "tqdm", "matplotlib",
                    "sklearn", "scipy", "joblib", "threadpoolctl", "pandas", "cloudpickle")

OFFICIAL_MODEL_CELL = f'''{FIXED_MARK}
class SmallMobileNet(nn.Module):
    def __init__(self, num_classes=NUM_CLASSES):
        super(SmallMobileNet, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU6(inplace=True),
            nn.Conv2d(32, 32, kernel_size=3, stride=1, padding=1, groups=32, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU6(inplace=True),
            nn.Conv2d(32, 64, kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU6(inplace=True),
            nn.Conv2d(64, 64, kernel_size=3, stride=2, padding=1, groups=64, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU6(inplace=True),
            nn.Conv2d(64, 128, kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU6(inplace=True),
            nn.Conv2d(128, 128, kernel_size=3, stride=2, padding=1, groups=128, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU6(inplace=True),
            nn.Conv2d(128, 256, kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU6(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(256, 128),
            nn.ReLU6(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(128, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.pool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x'''


# The organizers' last cell (their task notebook, in English): in final mode the platform runs
# the notebook, this saves the strategy, and the platform trains with the loaded copy.
HANDOFF_TEXT = ("The function `your_select_indices` is saved to the file "
                "`your_select_indices.pkl` and then used to train the models on the training set "
                "with the code above. The final points are computed from the classification "
                "quality on the test set.")
HANDOFF_CELL = f'''{FIXED_MARK}
if FINAL_EVALUATION_MODE:
    import cloudpickle

    OUTPUT_PATH = "file_output"
    FUNCTION_FILENAME = "your_select_indices.pkl"
    FUNCTION_OUTPUT_PATH = os.path.join(OUTPUT_PATH, FUNCTION_FILENAME)

    if not os.path.exists(OUTPUT_PATH):
        os.makedirs(OUTPUT_PATH)

    with open(FUNCTION_OUTPUT_PATH, "wb") as f:
        cloudpickle.dump(your_select_indices, f)'''


def seed_cells() -> list[dict]:
    """The seed notebook's cells, from the package data."""
    text = resources.files("noisy_select.export").joinpath("seed_cells.json").read_text()
    return json.loads(text)


def is_fixed(cell: dict) -> bool:
    """Whether ``cell`` is one of the notebook's "DO NOT CHANGE" cells."""
    return cell["cell_type"] == "code" and cell["source"].startswith(FIXED_MARK)


def solution_text(strategy: str = SHIPPED) -> str:
    """The "Solved Solution" Markdown cell, from the exported strategy's own description."""
    from noisy_select.strategies.registry import OwnSpec, get_spec, make_strategy

    spec, built = get_spec(strategy), make_strategy(strategy)
    if isinstance(spec, OwnSpec):
        doc = inspect.getdoc(built) if inspect.isfunction(built) else inspect.getdoc(type(built))
        module_doc = inspect.getdoc(inspect.getmodule(built)) if inspect.getmodule(built) else None
        return "\n".join(["# Solved Solution", "", f"Rule `{spec.name}`: {spec.description}.",
                          "", module_doc or doc or "", "",
                          "The cell below is the rule's file as it was when this notebook was "
                          "written."])
    # reStructuredText ``code`` is Markdown `code`.
    doc = re.sub(r"``([^`]+)``", r"`\1`", inspect.getdoc(type(built)) or "")
    config = getattr(built, "config", None)
    lines = ["# Solved Solution", "", f"Strategy `{strategy}`: {spec.description}.", "", doc]
    if config is not None:
        lines += ["", f"Settings: `{config!r}`."]
    lines += ["", "The cell below holds the strategy's whole source (torch and the standard library "
              "only); running it creates the strategy with fresh state."]
    return "\n".join(lines)


def _module_body(module) -> str:
    """A module's source without its docstring and its ``__future__`` / package imports."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    keep = []
    for i, node in enumerate(ast.parse(source).body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.ImportFrom) and (
            node.module == "__future__" or (node.module or "").startswith("noisy_select")
        ):
            continue
        # Decorators (``@dataclass``) sit above the node's own first line.
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        keep.append("\n".join(lines[first - 1 : node.end_lineno]))
    return "\n\n".join(keep)


def solution_source(strategy: str = SHIPPED) -> str:
    """The solution cell: the modules the strategy reaches, inlined, and ``your_select_indices``."""
    import importlib

    from noisy_select.export import inline
    from noisy_select.strategies.registry import OwnSpec, get_spec

    spec = get_spec(strategy)
    if isinstance(spec, OwnSpec):
        return own_source(spec)
    names = inline.modules(spec)
    if names is None:
        raise UsageError(
            f"Strategy {strategy!r} cannot be inlined into a submission: "
            + ("it reads the clean labels (bench only)." if spec.oracle else
               "its modules import more than torch and the standard library.")
        )
    modules = [importlib.import_module(m) for m in names]
    parts = [f"# Inlined from noisy_select (strategy {strategy!r}): torch and the standard "
             "library only.\n# Running this cell creates the strategy and its state afresh: re-run "
             "it before training again.\nfrom __future__ import annotations"]
    parts += [_module_body(m) for m in modules]
    # A strategy object, built once by this cell; the entry point calls it.
    parts.append(f"_STRATEGY = {inline.expression(spec)}")
    parts.append("def your_select_indices(targets, losses):\n    return _STRATEGY(targets, losses)")
    return "\n\n\n".join(parts) + "\n"


def own_source(spec) -> str:
    """The solution cell of a rule of one's own (``registry.OwnSpec``): its file as it is, then
    ``your_select_indices`` calling the rule unless the file defines exactly that function.
    ``UsageError`` names an import the platform lacks, before anything is written."""
    from noisy_select.strategies import own

    rule, data = own.locate(spec.rule.pinned)
    source = data.decode()
    tree = ast.parse(source)
    check_imports(tree, f"{rule.where}", set(PLATFORM_MODULES),
                  "the standard library and the organizers' environment: "
                  f"{', '.join(PLATFORM_MODULES)}")
    parts = [f"# Your rule {rule.where}:{rule.attr} (sha256 {rule.sha256[:12]}), as the file "
             "holds it; running this cell starts it afresh.\n" + source.rstrip()]
    if not _defines_entry_point(tree) or rule.attr != "your_select_indices":
        parts.append(f"_RULE = {rule.attr}\n\n\ndef your_select_indices(targets, losses):\n"
                     "    return _RULE(targets, losses)")
    return "\n\n\n".join(parts) + "\n"


def _defines_entry_point(tree: ast.Module) -> bool:
    """Whether the file's last top-level binding of ``your_select_indices`` is
    ``def your_select_indices(targets, losses)``."""
    def binds(node: ast.stmt) -> bool:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return node.name == "your_select_indices"
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
        return any(isinstance(t, ast.Name) and t.id == "your_select_indices" for t in targets)

    last = [node for node in tree.body if binds(node)][-1:]
    return bool(last) and isinstance(last[0], ast.FunctionDef) and [
        a.arg for a in last[0].args.args] == ["targets", "losses"]


def check_imports(tree: ast.Module, where: str, allowed: set[str], what: str) -> None:
    """``UsageError`` naming the first import of ``tree`` outside the standard library and
    ``allowed`` (or a relative one), with its line."""
    allowed = allowed | set(sys.stdlib_module_names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = ["." * node.level + (node.module or "")]
        else:
            continue
        for name in names:
            if name.split(".")[0] not in allowed:
                raise UsageError(f"{where} imports {name!r} (line {node.lineno}), which a "
                                 f"submission cannot: the platform has {what}.")


def check_solution(source: str, *, own: bool = False) -> None:
    """Raise ``UsageError`` unless ``source`` parses, imports only torch and the standard
    library (a rule of one's own: ``own_source`` checked its file's imports), and defines
    ``your_select_indices(targets, losses)``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise UsageError(f"The solution cell does not parse: {err}") from err
    if not own:
        check_imports(tree, "The solution cell", {"torch"}, "the standard library and torch "
                      "(what a strategy of this package may use)")
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    fn = functions.get("your_select_indices")
    if fn is None:
        raise UsageError("The solution cell does not define `your_select_indices`.")
    if [a.arg for a in fn.args.args] != ["targets", "losses"]:
        raise UsageError("Expected `your_select_indices(targets, losses)`, but got "
                         f"({', '.join(a.arg for a in fn.args.args)}).")


def submission_cells(strategy: str = SHIPPED) -> list[dict]:
    """The seed's cells with the official model and the inlined strategy."""
    from noisy_select.strategies.own import is_own

    solution = solution_source(strategy)
    check_solution(solution, own=is_own(strategy))
    cells = []
    for cell in seed_cells():
        code, source = cell["cell_type"] == "code", cell["source"]
        if is_fixed(cell) and "class SmallMobileNet" in source:
            cell = {**cell, "source": OFFICIAL_MODEL_CELL}
        elif code and source.startswith("def your_select_indices"):
            cell = {**cell, "source": solution}
        elif not code and source.startswith("# Solved Solution"):
            cell = {**cell, "source": solution_text(strategy)}
        cells.append(cell)
    cells += [{"cell_type": "markdown", "source": HANDOFF_TEXT},
              {"cell_type": "code", "source": HANDOFF_CELL}]
    return cells


def to_notebook(cells: list[dict]):
    """``cells`` as an nbformat v4 notebook (Python 3 kernel)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for cell in cells:
        make = nbformat.v4.new_code_cell if cell["cell_type"] == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(make(cell["source"]))
    return nb


def write_submission(path: str = "submission.ipynb", strategy: str = SHIPPED, *,
                     check: bool = True, check_scale: float = 0.1, check_epochs: int = NUM_EPOCHS
                     ) -> dict | None:
    """Write the submission notebook, after every check, so that an error writes nothing.

    With ``check``, ``handoff.check_handoff`` replays the platform's hand-off first (olympiad
    proxy shrunk by ``check_scale``, ``check_epochs`` epochs, CPU); returns what it compared.
    """
    import nbformat

    from noisy_select.export.handoff import check_handoff

    cells = submission_cells(strategy)
    report = check_handoff(cells, strategy, scale=check_scale, epochs=check_epochs) if check else None
    nb = to_notebook(cells)
    atomic_write(path, lambda f: nbformat.write(nb, f))
    return report
