"""Mark the evidence rows written before the organizers' loop existed as seed-loop rows.

Until the organizers' loop was added, every fixed-trainer run used the seed notebook's loop.
Such a row lacks ``loop``; this sets ``loop: "seed"``, adds it to the trainer config, recomputes
the config hash from the row's own strategy config, and notes it in ``rekeyed``, so that resume
and compare find the row under ``--loop seed``. Rows that have a loop are left alone, so running
it again changes nothing. Checked by re-running one such row bit-identically under --loop seed.

    python scripts/record_seed_loop.py docs/results/bench.jsonl
"""
import json
import os
import sys

from noisy_select.strategies import config_hash

for path in sys.argv[1:]:
    rows = [json.loads(line) for line in open(path) if line.strip()]
    changed = 0
    for r in rows:
        if "loop" in r or r.get("trainer") != "fixed":
            continue
        old = r["config_hash"]
        r["trainer_config"] = {"name": "fixed", "loop": "seed",
                               **{k: v for k, v in r["trainer_config"].items() if k != "name"}}
        r["loop"] = "seed"
        r["config_hash"] = config_hash(r["strategy_config"], r["trainer_config"])
        r.setdefault("rekeyed", {})["loop"] = {
            "from_config_hash": old,
            "why": "written before the organizers' loop existed: the seed notebook's loop ran"}
        changed += 1
    with open(path + ".tmp", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    os.replace(path + ".tmp", path)
    print(f"{path}: {changed} of {len(rows)} rows marked as seed-loop rows")
