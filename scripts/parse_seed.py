"""Parse the seed notebook's text rendering into ``noisy_select/export/seed_cells.json``.

A one-off: the package data was written by ``python scripts/parse_seed.py SEED.txt``, and
``tests/test_notebooks.py`` checks that the copy in ``tests/data/`` still parses to it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

CODE_MARK = "In [None]:"
HEADING = re.compile(r"^#{1,3} [A-Z]")
OUT = Path(__file__).resolve().parents[1] / "noisy_select" / "export" / "seed_cells.json"


def parse_seed_text(text: str) -> list[dict]:
    """Cells ``{"cell_type": "markdown" | "code", "source": str}`` of the seed's rendering."""
    cells: list[dict] = []
    kind, lines = "markdown", list[str]()

    def flush() -> None:
        source = "\n".join(lines).strip("\n")
        if source.strip():
            cells.append({"cell_type": kind, "source": source})

    for line in text.splitlines():
        if line.strip() == CODE_MARK:
            flush()
            kind, lines = "code", []
        elif kind == "code" and HEADING.match(line) and lines and not lines[-1].strip():
            flush()
            kind, lines = "markdown", [line]
        else:
            lines.append(line)
    flush()
    return cells


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/parse_seed.py SEED_NOTEBOOK.txt", file=sys.stderr)
        return 2
    cells = parse_seed_text(Path(argv[0]).read_text())
    OUT.write_text(json.dumps(cells, indent=1) + "\n")
    print(f"Wrote {len(cells)} cells to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
