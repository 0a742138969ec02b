"""Outputs: checked against the inputs before any work, and written whole (never half a file)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from typing import IO

from noisy_select.errors import DataError


def atomic_write(path: str, write: Callable[[IO[str]], object]) -> None:
    """Write ``path`` through ``write(file)`` into a temporary file beside it, then move it into
    place, with the user's umask (a temporary file alone would be mode 600)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".tmp-", delete=False) as f:
        try:
            write(f)
        except BaseException:
            f.close()
            os.remove(f.name)
            raise
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(f.name, 0o666 & ~mask)
        os.replace(f.name, path)
    except BaseException:
        os.remove(f.name)
        raise


def _nearest_existing(folder: str) -> str:
    """``folder`` or its nearest existing parent."""
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


def check_writable(path: str, option: str, *, folder: bool = False) -> None:
    """``DataError`` unless ``path`` can be written (a folder with ``folder``), probed by
    creating a temporary file there (which holds for root too)."""
    target = os.path.abspath(path)
    if folder:
        if os.path.exists(target) and not os.path.isdir(target):
            raise DataError(f"Expected a folder for {option}, but {path} is a file.")
        probe_dir = target if os.path.isdir(target) else _nearest_existing(target)
    else:
        if os.path.isdir(target):
            raise DataError(f"Expected a file path for {option}, but {path} is a directory; "
                            "name a file inside it.")
        probe_dir = _nearest_existing(os.path.dirname(target))
    if not os.path.isdir(probe_dir):
        raise DataError(f"Cannot write {option} {path}: {probe_dir} is a file, not a folder.")
    try:
        with tempfile.TemporaryFile(dir=probe_dir, prefix=".write-check-"):
            pass
    except OSError as err:
        raise DataError(f"Cannot write {option} {path}: {probe_dir} is not writable "
                        f"({err.strerror}); choose another path.") from None
    if os.path.isfile(target) and not os.access(target, os.W_OK):
        raise DataError(f"Cannot write {option} {path}: the file is read-only; choose another "
                        "path.")


# What this package leaves in each kind of file it writes, so that an existing file is replaced
# only when it is one of ours: a Markdown summary names the command that made it, a notebook
# holds the inlined strategy's header, a run record or a compare table is JSON with our keys.
def _head(path: str, size: int = 4096) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read(size)
    except OSError:
        return ""


def is_summary(path: str) -> bool:
    """A Markdown summary written by ``summary``, ``bench`` or ``compare``."""
    head = _head(path)
    return head.startswith(("#", "```")) and "noisy-select" in head


def is_notebook(path: str) -> bool:
    """A submission notebook written by ``submission``."""
    return "Inlined from noisy_select" in _head(path, 1 << 20)


def _json(path: str):
    """The JSON value in ``path``; None when it cannot be read or parsed."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_run_record(path: str) -> bool:
    """A run record written by ``run`` (one JSON object of the results schema)."""
    record = _json(path)
    return isinstance(record, dict) and "schema" in record and "strategy" in record


def is_compare_table(path: str) -> bool:
    """The JSON copy of a ``compare`` table (a list of rows with a verdict)."""
    table = _json(path)
    return isinstance(table, list) and all(isinstance(r, dict) and "verdict" in r for r in table)


def _same_file(a: str, b: str) -> bool:
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(outputs: list[tuple[str, str, Callable[[str], bool]]], inputs: list[str], *,
                  force: bool = False) -> None:
    """``DataError`` unless every ``(path, option, ours)`` of ``outputs`` may be written: not one
    of ``inputs`` nor another output, and an existing file only when ``ours(path)`` recognises it
    (or with ``force``).
    """
    for i, (path, option, ours) in enumerate(outputs):
        for source in inputs:
            if _same_file(path, source):
                raise DataError(f"Expected {option} to be a new file, but {path} is an input of "
                                "this command; writing it would replace what is read. Name "
                                "another path.")
        for other, other_option, _ in outputs[:i]:
            if _same_file(path, other):
                raise DataError(f"Expected {option} and {other_option} to be different files, "
                                f"but both are {path}.")
        check_writable(path, option)
        if os.path.isfile(path) and not force and not ours(path):
            raise DataError(f"{path} exists and is not a file this command writes ({option}); "
                            "name another path, or pass --force to replace it.")
