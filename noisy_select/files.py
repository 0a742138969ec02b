"""Writing result files so that an interrupt or an error never leaves half a file behind."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from typing import IO


def atomic_write(path: str, write: Callable[[IO[str]], object]) -> None:
    """Write ``path`` through ``write(file)`` into a temporary file beside it, then move it into
    place (creating the folder). The file gets the user's umask, like any new file (a temporary
    file alone would be private, mode 600)."""
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


def write_json(record: dict, path: str) -> None:
    """``record`` as indented JSON at ``path``, written atomically."""
    atomic_write(path, lambda f: json.dump(record, f, indent=2))


def _nearest_existing(folder: str) -> str:
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


def check_writable(path: str, option: str, *, folder: bool = False) -> None:
    """Raise ``DataError`` unless ``path`` can be written (a file; a folder with ``folder``),
    before any work starts: an existing directory where a file goes, a file where a folder
    goes, or a place where nothing can be created (read-only, immutable, no permission; probed
    by creating and removing a temporary file, which also holds for root).
    """
    from noisy_select.errors import DataError

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
