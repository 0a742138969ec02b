"""The project's constants, torch-free: ``noisy-select --help`` and ``summary`` import only this."""

SEED = 123  # the competition's seed (competition.SEED, restated without torch)
NUM_EPOCHS = 6  # the competition trains 6 epochs (competition.NUM_EPOCHS)
SHIPPED = "your_select_indices"  # the registered name of the rule this project ships
DEFAULT_SCENARIO = "olympiad"  # the proxy built when none is named: the competition's structure
# The realistic scenario (docs/CALIBRATION.md): the default of compare and first in bench.
HEADLINE_SCENARIO = "fashion-tops"
# The registry tags whose strategies `noisy-select bench` runs when none is named.
BENCH_TAGS = ("product", "anchor", "oracle")
# The fixed loops (competition.LOOPS): the organizers' one, which the platform runs, and the
# seed notebook's. The organizers' is the default of run, bench and compare: it scores points.
LOOPS = ("seed", "official")
DEFAULT_LOOP = "official"
# The rows behind docs/RESULTS.md: bench and compare append to them only when named with -r.
EVIDENCE = "docs/results/bench.jsonl"
SCRATCH = "results/bench.jsonl"  # where bench, compare and the API's compare write by default
# What compare can read off a row, each the mean of both models on its scored split: the scored
# BAC (the points), and three reads of the same final weights without the last steps' running
# statistics (bench/compare.py).
MEASURES = {
    "bac": "the scored BAC, what the platform scores",
    "bac_bn": "the BAC with BatchNorm's statistics re-estimated on the training set",
    "bac_best": "the BAC at the best threshold on the logit margin",
    "auc": "the AUC",
}
