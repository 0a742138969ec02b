"""What of a registered strategy can go into a submission: the exporter's question, answered by
reading the source of the modules the strategy's class lives in (the registry only names and
builds strategies).

A submission's solution cell holds a strategy's module and every package module it imports,
dependencies first, with their ``noisy_select`` imports dropped (``notebooks.solution_source``).
That works when none of them imports anything but torch and the standard library (the cell
must not need this package on the platform) and they import one another without a cycle.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import sys

PACKAGE = "noisy_select"


@functools.cache
def _imports(module_name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The package modules ``module_name`` imports, and the other top-level packages it imports
    (cached: ``noisy-select strategies`` asks for every registered strategy, and the answers
    share modules)."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    ours, other = [], []
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                 else [])
        for name in names:
            if name.split(".")[0] == PACKAGE:
                ours.append(name)
            elif name != "__future__":
                other.append(name.split(".")[0])
    return tuple(ours), tuple(other)


def inlined_modules(module_name: str) -> list[str] | None:
    """The package modules a submission must inline for a class of ``module_name``: that
    module and what it imports from the package, dependencies first. None when one of them
    imports anything but torch and the standard library, or they import in a cycle."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> bool:
        if name in order:
            return True
        if name in visiting:  # an import cycle: cannot be inlined in order
            return False
        visiting.add(name)
        ours, other = _imports(name)
        if any(o != "torch" and o not in sys.stdlib_module_names for o in other):
            return False
        if not all(visit(o) for o in ours):
            return False
        order.append(name)
        return True

    return order if visit(module_name) else None


def modules(spec) -> list[str] | None:
    """The package modules a submission inlines for registered strategy ``spec``
    (``registry.StrategySpec``), dependencies first; None where it cannot be inlined: an
    oracle (it reads the clean labels), a name that moved to research/, a rule of one's own (its
    submission is its file as it is: ``notebooks.own_source``), or a class whose modules import
    more than torch and the standard library."""
    if spec.oracle or spec.tag in ("own", "research"):
        return None
    return inlined_modules(spec.cls.__module__)


def exportable(spec) -> bool:
    """Whether ``noisy-select submission -s`` can write ``spec``: a registered strategy whose
    modules inline, or a rule of one's own (whose imports are checked when the notebook is
    written)."""
    return spec.tag == "own" or modules(spec) is not None


def expression(spec) -> str:
    """The expression that builds registered strategy ``spec`` from its inlined modules."""
    if not isinstance(spec.cls, type):
        return spec.cls.__name__
    args = ", ".join(f"{k}={v!r}" for k, v in spec.kwargs.items())
    return f"{spec.cls.__name__}({args})"
