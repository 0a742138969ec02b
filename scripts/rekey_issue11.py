"""One-off (issue 11): re-key rows whose code moved or was renamed with identical behaviour, so
that resume and compare find them; each re-keyed row says so in ``rekeyed``.

- ClassWiseCoTeaching moved from selection.py to solution.py (fixed-rates, seed-coteaching).
- The rule shipped until issue 11 ran as ``your_select_indices`` (solution.YourSelectIndices, an
  AdaptiveSelection with the config below); it is registered as ``adaptive-mpe`` now.
Both checked by re-running seeds bit-identically (see the commit). Running it again changes
nothing: re-keyed rows no longer match."""
import json
import os

from noisy_select.strategies import config_hash, resolved_config

path = "docs/results/bench.jsonl"
rows = [json.loads(line) for line in open(path) if line.strip()]
counts = {"moved class": 0, "renamed": 0}
for r in rows:
    cfg = r["strategy_config"]
    if cfg["class"] == "noisy_select.selection.ClassWiseCoTeaching":
        new_cfg, why, kind = resolved_config(r["strategy"]), (
            "ClassWiseCoTeaching moved from noisy_select.selection to noisy_select.solution with "
            "identical behaviour (issue 11)"), "moved class"
        assert new_cfg["kwargs"] == cfg["kwargs"]
    elif r["strategy"] == "your_select_indices" and cfg.get("config") is not None:
        new_cfg, why, kind = resolved_config("adaptive-mpe"), (
            "the rule shipped as your_select_indices until issue 11 is registered as adaptive-mpe "
            "(same AdaptiveConfig; output='resample' is its only behaviour)"), "renamed"
        assert {**cfg["config"], "output": "resample"} == new_cfg["config"]
        r["rekeyed_strategy"] = r["strategy"]
        r["strategy"] = "adaptive-mpe"
    else:
        continue
    r["rekeyed"] = {"from_config_hash": r["config_hash"], "from_class": cfg["class"], "why": why}
    r["strategy_config"] = new_cfg
    r["config_hash"] = config_hash(new_cfg, r["trainer_config"])
    counts[kind] += 1
with open(path + ".tmp", "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows)
os.replace(path + ".tmp", path)
print(counts)
