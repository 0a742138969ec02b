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
