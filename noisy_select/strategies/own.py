"""Rules of your own: ``path/to/file.py`` (its ``your_select_indices``), ``path/to/file.py:NAME``
or ``package.module:NAME``, wherever a strategy name goes.

``locate`` finds and hashes the file; ``load`` executes it afresh, outside ``sys.modules``, so no
state carries from one load into the next; ``trial`` checks a rule on made-up batches. Every
failure is one ``UsageError`` line, raised before any training.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass

import torch

from noisy_select.constants import NUM_EPOCHS
from noisy_select.errors import DataError, UsageError

DEFAULT_ATTR = "your_select_indices"  # the competition's entry point: what a bare file means
PREFIX = "file:"  # how result rows name a rule of one's own
TRIAL_EPOCHS = NUM_EPOCHS  # the trial's passes: a stateful rule sees epochs repeat and a run end


def is_own(text: str) -> bool:
    """Whether ``text`` names a file or a module (else it is a registered name)."""
    return text.endswith(".py") or ":" in text


@dataclass(frozen=True)
class OwnRule:
    """One version of a rule of one's own: ``attr`` of the file at ``path`` with this hash."""

    path: str  # the absolute path of the file that is executed
    attr: str
    sha256: str
    module: str | None = None  # the dotted name, for the package.module:NAME form

    @property
    def where(self) -> str:
        """The file as the user sees it: relative to the working folder when inside it."""
        rel = os.path.relpath(self.path)
        return self.path if rel.startswith("..") else rel

    @property
    def name(self) -> str:
        """How result rows name it: ``file:<stem>.<NAME>@<first 12 hex of the sha256>``."""
        stem = self.module or os.path.splitext(os.path.basename(self.path))[0]
        return f"{PREFIX}{stem}.{self.attr}@{self.sha256[:12]}"

    @property
    def pinned(self) -> str:
        """The spec of exactly this version: a later load of a changed file is refused."""
        return f"{self.module or self.path}:{self.attr}@{self.sha256}"

    def config(self) -> dict:
        return {"class": "file", "path": self.path, "module": self.module, "name": self.attr,
                "sha256": self.sha256}


def _split(text: str) -> tuple[str, str, str | None]:
    """``where``, ``attr`` and the pinned hash (None) of a spec."""
    pin = None
    head, at, tail = text.rpartition("@")
    if at and len(tail) == 64 and all(c in "0123456789abcdef" for c in tail):
        text, pin = head, tail
    if text.endswith(".py"):
        return text, DEFAULT_ATTR, pin
    where, _, attr = text.rpartition(":")
    if not attr.isidentifier():
        raise UsageError(f"Expected a Python name after ':' in the rule spec {text!r} "
                         "(path/to/file.py:NAME or package.module:NAME), but got "
                         f"{attr!r}.")
    if not where:
        raise UsageError(f"Expected a file or module before ':' in the rule spec {text!r}.")
    return where, attr, pin


def locate(text: str) -> tuple[OwnRule, bytes]:
    """The rule ``text`` names and its file's bytes; ``UsageError`` for a file or module that is
    not found or not Python source, ``DataError`` for one changed since it was pinned."""
    where, attr, pin = _split(text)
    module = None
    if where.endswith(".py") or "/" in where or os.sep in where or os.path.exists(where):
        path = os.path.abspath(os.path.expanduser(where))
        if not os.path.exists(path):
            raise UsageError(f"Expected a rule file, but {where} does not exist.")
        if os.path.isdir(path):
            raise UsageError(f"Expected a rule file (.py), but {where} is a folder.")
        if not path.endswith(".py"):
            raise UsageError(f"Expected a rule file ending in .py, but got {where}.")
    else:
        if not all(part.isidentifier() for part in where.split(".")):
            raise UsageError(f"Expected package.module:NAME or path/to/file.py[:NAME], but got "
                             f"{text!r}.")
        try:
            found = importlib.util.find_spec(where)
        except (ImportError, ValueError):
            found = None
        if found is None or not (found.origin or "").endswith(".py"):
            raise UsageError(f"Expected an importable module of Python source for the rule spec "
                             f"{text!r}, but found no module {where!r}.")
        path, module = str(found.origin), where
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise UsageError(f"Could not read the rule file {where}: {err.strerror}.") from None
    rule = OwnRule(path, attr, hashlib.sha256(data).hexdigest(), module)
    if pin is not None and pin != rule.sha256:
        raise DataError(f"{rule.where} changed since this work was planned (sha256 {pin[:12]} "
                        f"then, {rule.sha256[:12]} now); run the command again.")
    return rule, data


def _frame(err: BaseException, path: str | None = None) -> str:
    """``file, line N`` of the last frame of ``err`` (of ``path``'s frames, when it has one)."""
    frames = list(traceback.extract_tb(err.__traceback__))
    mine = [f for f in frames if path and os.path.abspath(f.filename) == path]
    if not (mine or frames):
        return "?"
    last = (mine or frames)[-1]
    file = os.path.relpath(last.filename) if os.path.isabs(last.filename) else last.filename
    return f"{file}, line {last.lineno}"


def execute(rule: OwnRule, data: bytes) -> types.ModuleType:
    """The module of ``data`` (the file's bytes), executed afresh; ``UsageError`` for any error."""
    name = rule.module or f"noisy_select_rule_{os.path.splitext(os.path.basename(rule.path))[0]}"
    spec = importlib.util.spec_from_loader(name, loader=None, origin=rule.path)
    assert spec is not None  # a loader of None always gives one
    module = importlib.util.module_from_spec(spec)
    module.__file__ = rule.path
    try:
        code = compile(data, rule.path, "exec")
    except SyntaxError as err:
        raise UsageError(f"{rule.where}, line {err.lineno}: {err.msg} (a syntax error).") from None
    # Present while it runs (dataclasses and relative imports look the module up), gone after.
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except ImportError as err:
        missing = err.name or str(err)
        raise UsageError(f"{rule.where} could not import {missing!r} ({_frame(err, rule.path)}): "
                         f"{err}.") from None
    except (Exception, SystemExit) as err:
        raise UsageError(f"{rule.where} raised {type(err).__name__} while loading "
                         f"({_frame(err, rule.path)}): {err}") from None
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
    return module


def load(rule: OwnRule, data: bytes | None = None) -> Callable:
    """``rule``'s callable from a fresh execution of its file (read again unless ``data``);
    ``UsageError`` when it is missing or not a rule."""
    if data is None:
        rule, data = locate(rule.pinned)
    module = execute(rule, data)
    if not hasattr(module, rule.attr):
        own = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_")
                     and getattr(v, "__module__", None) == module.__name__)
        has = f"its callables: {', '.join(own)}" if own else "it defines no callable"
        raise UsageError(f"{rule.where} has no {rule.attr!r}; {has}.")
    fn = getattr(module, rule.attr)
    check_callable(fn, f"{rule.where}:{rule.attr}")
    return fn


def check_callable(fn, label: str) -> None:
    """``UsageError`` unless ``fn`` can be called as ``fn(targets, losses)``."""
    if isinstance(fn, type):
        raise UsageError(f"{label} is a class; a rule is a function or an object: write "
                         f"`rule = {fn.__name__}()` in the file and name `rule`.")
    if not callable(fn):
        raise UsageError(f"{label} is a {type(fn).__name__}, not a callable rule "
                         "(targets, losses) -> [indices for model 1, indices for model 2].")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # a builtin without a signature: the trial calls it
    try:
        signature.bind(torch.zeros(1), [torch.zeros(1), torch.zeros(1)])
    except TypeError:
        raise UsageError(f"{label} takes {signature}, but the loops call it with two arguments "
                         "(targets, losses).") from None


def check_selection(selected, size: int) -> None:
    """``UsageError`` unless ``selected`` is two 1-D integer index tensors (or lists) in
    ``[0, size)`` (a negative index would wrap, a bool mask be taken as one); one host read."""
    if not isinstance(selected, (list, tuple)) or len(selected) != 2:
        raise UsageError("Expected the strategy to return [indices for model 1, indices for "
                         f"model 2], but got {type(selected).__name__}"
                         f"{f' of length {len(selected)}' if isinstance(selected, (list, tuple)) else ''}.")
    ranges = []
    for m, sel in enumerate(selected, start=1):
        idx = sel if isinstance(sel, torch.Tensor) else torch.as_tensor(sel)
        if idx.dtype == torch.bool or idx.is_floating_point() or idx.is_complex() or idx.dim() > 1:
            what = "a bool mask" if idx.dtype == torch.bool else f"{idx.dtype} of shape {tuple(idx.shape)}"
            raise UsageError(f"Expected the indices for model {m} to be 1-D integers, but got "
                             f"{what}; return positions in the batch (e.g. mask.nonzero().flatten()).")
        if idx.numel():
            ranges += [idx.min().reshape(1), idx.max().reshape(1)]
    if ranges:
        values = torch.cat([r.to(ranges[0].device) for r in ranges]).tolist()
        if min(values) < 0 or max(values) >= size:
            bad = min(values) if min(values) < 0 else max(values)
            raise UsageError(f"Expected indices in [0, {size}) for a batch of {size}, but the "
                             f"strategy returned {bad}.")


def trial_batches(seed: int = 0) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
    """``TRIAL_EPOCHS`` passes of: three batches of 128 (about 63% label 0), one of label 1 only,
    one of label 0 only, and one of 16; losses ``(B,)`` attached to a graph, drawn anew each call."""
    gen = torch.Generator().manual_seed(seed)
    mixed = [(torch.rand(size, generator=gen) > 0.63).long() for size in (128, 128, 128, 16)]
    epoch = [*mixed[:3], torch.ones(128, dtype=torch.long), torch.zeros(128, dtype=torch.long),
             mixed[3]]
    batches = []
    for targets in epoch * TRIAL_EPOCHS:
        leaves = [torch.rand(targets.numel(), generator=gen).mul(3).requires_grad_()
                  for _ in range(2)]
        batches.append((targets, [leaf * 1.0 for leaf in leaves]))
    return batches


def trial(rule: Callable, label: str) -> None:
    """Call ``rule`` on ``trial_batches``: each answer ``check_selection``'s, on the device of
    ``targets``, the inputs unchanged (repeated indices are allowed: the loops train on them
    twice). ``UsageError`` names the call, the batch and an exception's last frame."""
    for call, (targets, losses) in enumerate(trial_batches()):
        kept = targets.clone(), [x.detach().clone() for x in losses]
        labels = sorted(set(targets.tolist()))
        batch = (f"call {call + 1} of the trial, a batch of {targets.numel()} with "
                 f"label{'s' if len(labels) > 1 else ''} {labels}")
        try:
            selected = rule(targets, losses)
        except Exception as err:  # noqa: BLE001 (any error of the rule is reported, one line)
            raise UsageError(f"{label} raised {type(err).__name__} at {_frame(err)} on {batch}: "
                             f"{err}") from None
        for m, idx in enumerate(selected if isinstance(selected, (list, tuple)) else [], start=1):
            if isinstance(idx, torch.Tensor) and idx.device != targets.device:
                raise UsageError(f"{label} on {batch}: expected the indices for model {m} on "
                                 f"{targets.device} (the device of targets), but got {idx.device}.")
        try:
            check_selection(selected, targets.numel())
        except UsageError as err:
            raise UsageError(f"{label} on {batch}: {err}") from None
        if not torch.equal(targets, kept[0]) or not all(
                torch.equal(x.detach(), y) for x, y in zip(losses, kept[1])):
            raise UsageError(f"{label} on {batch}: it changed `targets` or `losses` in place; a "
                             "rule only reads them (clone before changing).")
