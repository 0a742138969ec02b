"""Regenerate docs/RESULTS.md and docs/figures from the raw bench rows (one command).

Usage: python scripts/make_results.py [RESULTS.jsonl]  (default: the committed
docs/results/bench.jsonl; another file is copied there first)

Writes docs/results/commands.txt: for each (strategy, loop) group of rows, the bench command
that reproduces exactly those rows into the committed file, docs/results/bench.jsonl (each
run is a pure function of scenario, strategy, loop and seed; the sweep was run in several
resumable pieces into one results file).
"""

import collections
import json
import os
import shutil
import subprocess
import sys

EVIDENCE = "docs/results/bench.jsonl"
results = sys.argv[1] if len(sys.argv) > 1 else EVIDENCE
os.makedirs("docs/results", exist_ok=True)
if os.path.abspath(results) != os.path.abspath(EVIDENCE):
    shutil.copy(results, EVIDENCE)
groups: dict = collections.defaultdict(set)
for line in open(results):
    if not line.strip():
        continue
    row = json.loads(line)
    key = (row["strategy"], row.get("loop") or "", row["epochs"], row["scale"])
    groups[key].add((row["scenario"], row["seed"]))
commands = []
for (strategy, loop, epochs, scale), runs in sorted(groups.items()):
    by_seeds: dict = collections.defaultdict(list)
    for scenario in sorted({s for s, _ in runs}):
        seeds = tuple(sorted(seed for s, seed in runs if s == scenario))
        by_seeds[seeds].append(scenario)
    for seeds, scenarios in by_seeds.items():
        options = (f" --loop {loop}" if loop else "") + (f" --epochs {epochs}" if epochs != 6 else "")
        options += f" --scale {scale}" if scale != 1.0 else ""
        commands.append(f"noisy-select bench {strategy} --scenarios {','.join(scenarios)}"
                        f"{options} --seeds {','.join(map(str, seeds))} --jobs 2 "
                        f"--results {EVIDENCE}")  # where the rows are
with open("docs/results/commands.txt", "w") as f:
    f.write("\n".join(commands) + "\n")
subprocess.run(["noisy-select", "summary", "--results", EVIDENCE,
                "--summary", "docs/RESULTS.md", "--figures", "docs/figures",
                "--commands", "docs/results/commands.txt"], check=True)
