"""Command line: `noisy-select` and `python -m noisy_select` both call ``main``.

One meaning per option name in every subcommand: ``--data`` a data folder, ``--results`` a
results file of JSON lines, ``--summary`` a Markdown summary, ``--figures`` a folder of figures,
``--out`` the one file a command produces (a run's record, a notebook). Exit codes: 0 done,
2 a usage error (bad option or value), 3 data or results on disk that cannot be used (or a
failed download), 130 interrupted (Ctrl-C), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
from dataclasses import fields, replace

from noisy_select import __version__
from noisy_select.bench.run import RunConfig
from noisy_select.constants import (
    BENCH_TAGS,
    DEFAULT_LOOP,
    DEFAULT_SCENARIO,
    EVIDENCE,
    HEADLINE_SCENARIO,
    LOOPS,
    MEASURES,
    NUM_EPOCHS,
    SCRATCH,
    SEED,
    SHIPPED,
)
from noisy_select.data.scenarios import SCENARIOS

# The headline scenario first, then the MNIST ones (the calibration candidates stay out).
BENCH_SCENARIOS = ",".join([HEADLINE_SCENARIO, *(n for n in SCENARIOS if not n.startswith("fashion"))])
EXIT_USAGE, EXIT_DATA, EXIT_INTERRUPT, EXIT_TERM = 2, 3, 130, 143
MAX_SEEDS = 10_000  # a range is counted before it is built: more runs than anyone can train


def _cmd_run(args: argparse.Namespace) -> None:
    from noisy_select.bench.run import new_record_path, run

    config = RunConfig(**{f.name: getattr(args, f.name) for f in fields(RunConfig)})
    run(config if config.out else replace(config, out=new_record_path(config.strategy)))


def _run_options(p: argparse.ArgumentParser) -> None:
    """One option per ``RunConfig`` field: its default, help and flags come from the field."""
    kinds = {"positive": {"type": _positive}, "threads": {"type": _threads},
             "scale": {"type": _scale}, "seed": {"type": _seed}, "scenario": {"type": _scenario}}
    for f in fields(RunConfig):
        meta = dict(f.metadata)
        flags = meta.pop("flags", (f"--{f.name.replace('_', '-')}",))
        default = meta.pop("cli_default", f.default)
        kwargs = {"help": meta.pop("help"), "dest": f.name, **kinds.get(meta.pop("kind", ""), {}),
                  **meta}
        if isinstance(f.default, bool):
            # A flag turns the default around: --force sets True, --no-progress False.
            kwargs["action"] = "store_false" if f.default else "store_true"
        elif "type" not in kwargs and f.default is not None and not isinstance(f.default, str):
            kwargs["type"] = type(f.default)
        p.add_argument(*flags, default=default, **kwargs)


def _cmd_data(args: argparse.Namespace) -> None:
    from noisy_select.data.proxy import build_proxy
    from noisy_select.data.scenarios import get_scenario
    from noisy_select.errors import UsageError

    if args.source and get_scenario(args.scenario).source != "fashion":
        raise UsageError(f"--source applies to the fashion-* scenarios only; {args.scenario!r} "
                         "is built from its own images. Drop --source.")
    manifest = build_proxy(args.data, args.scenario, args.seed, force=args.force, scale=args.scale,
                           source_dir=args.source)
    for split, c in manifest["counts"].items():
        print(f"{split}: {c['size']} images, clean counts {c['clean_counts']}, "
              f"labels {c['label_counts']}, {c['wrong_labels']} wrong")
    print(f"Wrote scenario {args.scenario!r} (seed {args.seed}) to {args.data}")


def _cmd_download(args: argparse.Namespace) -> None:
    from noisy_select.data.ensure import download_official

    download_official(args.data)


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _seeds(text: str) -> list[int]:
    """``"1,2,5"`` or a range ``"0-4"``."""
    try:
        if "-" in text.strip("-") and "," not in text:
            lo, hi = (int(t) for t in text.split("-"))
            if hi - lo >= MAX_SEEDS:
                raise argparse.ArgumentTypeError(
                    f"Expected at most {MAX_SEEDS} seeds, but {text!r} names {hi - lo + 1}.")
            if hi < lo:
                raise argparse.ArgumentTypeError(
                    f"Expected a range low-high, but {text!r} is empty (did you mean '{hi}-{lo}'?).")
            return list(range(lo, hi + 1))
        seeds = [int(t) for t in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"Expected seeds like '1,2,3' or '0-4', but got {text!r}."
        ) from None
    if not seeds:
        raise argparse.ArgumentTypeError(f"Expected at least one seed, but got {text!r}.")
    for seed in seeds:
        _seed(str(seed))
    return seeds


def _scenario(text: str) -> str:
    """A built-in scenario name, or the path of a scenario file (read when it is used)."""
    if text in SCENARIOS or text.endswith((".toml", ".json")):
        return text
    raise argparse.ArgumentTypeError(f"Expected a scenario in {sorted(SCENARIOS)} or a scenario "
                                     f"file (.toml, .json), but got {text!r}.")


def _checked(cast, ok, expected: str):
    """An argparse type: ``cast(text)`` that must satisfy ``ok``, else "Expected {expected}"."""
    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"Expected {expected}, but got {text!r}.") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"Expected {expected}, but got {value}.")
        return value

    return parse


_positive = _checked(int, lambda v: v >= 1, "a whole number >= 1")
# More threads than cores only slows a run down; a huge count hits the process limit.
MAX_THREADS = 4 * (os.cpu_count() or 1)
_threads = _checked(int, lambda v: 1 <= v <= MAX_THREADS,
                    f"a thread count from 1 to {MAX_THREADS} (4 x this machine's cores)")
# numpy and torch take seeds in [0, 2**32 - 1].
_seed = _checked(int, lambda v: 0 <= v < 2**32, "a whole number from 0 to 2**32 - 1 as the seed")
_scale = _checked(float, lambda v: 0 < v <= 1, "a scale in (0, 1]")


def _cmd_bench(args: argparse.Namespace) -> None:
    from noisy_select.bench import report, sweeps
    from noisy_select.files import check_outputs, check_writable, is_summary

    sweeps.check_backend(jobs=args.jobs, backend=args.backend, address=args.address)
    check_outputs([(args.summary, "--summary", is_summary)], [args.results], force=args.force)
    check_writable(args.figures, "--figures", folder=True)
    from noisy_select.strategies.registry import default_bench

    configs = sweeps.plan(_scenario_names(args, BENCH_SCENARIOS),
                          args.strategies or default_bench(), args.seeds, **_run_options_of(args))
    rows = sweeps.sweep(configs, args.results, jobs=args.jobs, progress=not args.no_progress,
                       backend=args.backend, address=args.address)
    table = report.summarize(rows, args.summary, args.figures, args.command_line)
    print(report.markdown(table, args.command_line).split("\n", 8)[-1])
    print(f"Results in {args.results}; summary in {args.summary}, figures in {args.figures}")


def _cmd_compare(args: argparse.Namespace) -> None:
    from noisy_select.bench import compare
    from noisy_select.files import atomic_write, check_outputs, is_compare_table, is_summary

    json_path = os.path.splitext(args.summary)[0] + ".json"
    check_outputs([(args.summary, "--summary", is_summary),
                   (json_path, "--summary (its .json copy)", is_compare_table)],
                  [args.results], force=args.force)
    table = compare.compare_runs(
        args.strategies, _scenario_names(args, HEADLINE_SCENARIO), args.seeds,
        results=args.results, jobs=args.jobs, progress=not args.no_progress,
        backend=args.backend, address=args.address, measure=args.measure,
        **_run_options_of(args))
    text = compare.markdown(table)
    print(text)
    atomic_write(args.summary, lambda f: f.write(f"```bash\n{args.command_line}\n```\n\n{text}"))
    atomic_write(json_path, lambda f: f.write(compare.to_json(table)))
    print(f"Wrote {args.summary} and {json_path} from the rows in {args.results}.")


def _run_options_of(args: argparse.Namespace) -> dict:
    """What every run of a sweep shares, as ``RunConfig`` fields."""
    return {name: getattr(args, name)
            for name in ("epochs", "device", "scale", "loop", "source", "threads", "data")}


def _scenario_names(args: argparse.Namespace, default: str) -> list[str]:
    """``--scenarios`` as given; when not given, the default, or none beside ``-d FOLDER``."""
    if args.scenarios is None:
        return [] if args.data else _names(default)
    return _names(args.scenarios)


def _cmd_strategies(args: argparse.Namespace) -> None:
    from noisy_select.export.inline import exportable
    from noisy_select.strategies.registry import REGISTRY

    width = max(map(len, REGISTRY))
    print(f"{'name':<{width}}  tag       clean labels  submission  description")
    for name, spec in REGISTRY.items():
        print(f"{name:<{width}}  {spec.tag:<8}  {'reads them' if spec.oracle else 'no':<12}  "
              f"{'yes' if exportable(spec) else 'no':<10}  {spec.description}")
    print("\nYour own rule goes wherever a name goes: mine.py (its your_select_indices), "
          "mine.py:NAME or package.module:NAME.\nIt is checked on made-up batches first; each "
          "run loads it afresh, and rows name it file:<stem>.<NAME>@<sha256[:12]>.")


def _cmd_summary(args: argparse.Namespace) -> None:
    from noisy_select.bench import records, report
    from noisy_select.files import check_outputs, check_writable, is_summary

    inputs = args.results + ([args.commands] if args.commands else [])
    check_outputs([(args.summary, "--summary", is_summary)], inputs, force=args.force)
    check_writable(args.figures, "--figures", folder=True)
    rows = [row for path in args.results for row in records.read_results(path, missing_ok=False)]
    rows = records.unique_rows(rows, " + ".join(args.results))
    command = args.command_line
    if args.commands:
        try:
            with open(args.commands) as f:
                command = f.read().strip() + "\n" + command
        except OSError as err:
            from noisy_select.errors import DataError

            raise DataError(f"Could not read the commands file {args.commands}: {err.strerror}.") from err
    report.summarize(rows, args.summary, args.figures, command)
    print(f"Wrote {args.summary} and figures in {args.figures} from {len(rows)} runs.")


def _cmd_speed(args: argparse.Namespace) -> None:
    from noisy_select.bench.speed import measure
    from noisy_select.environment import resolve_device

    device = resolve_device(args.device)
    if args.ops:
        from noisy_select.bench.speed import count_ops

        ops = count_ops(args.strategy, device)
        print(f"{ops['strategy']}: {ops['median_ops']} top-level aten ops per call (median of "
              f"{ops['calls']} calls over six epochs, at most {ops['max_ops']}); the seed's strategy "
              f"{ops['seed_ops']}")
    r = measure(device, args.strategy, args.repeats)
    print(f"device {r['device']}: {r['strategy']} {1e6 * r['call_s']:.0f} us/call, "
          f"seed strategy {1e6 * r['seed_call_s']:.0f} us/call, one training step "
          f"{1e3 * r['step_s']:.1f} ms ({100 * r['share_of_step']:.2f}% of a step)")


def _cmd_submission(args: argparse.Namespace) -> None:
    from noisy_select.errors import UsageError
    from noisy_select.export.notebooks import write_submission
    from noisy_select.files import check_outputs, is_notebook

    if not args.out.endswith(".ipynb"):
        raise UsageError(f"Expected --out to be a notebook (.ipynb), but got {args.out!r}.")
    check_outputs([(args.out, "--out", is_notebook)], [], force=args.force)
    if args.no_check:
        print("Not checking the hand-off (--no-check).")
    else:
        print(f"Checking the platform's hand-off of {args.strategy!r}: final mode, cloudpickle, a "
              "fresh interpreter, the organizers' loop ...", flush=True)
    report = write_submission(args.out, args.strategy, check=not args.no_check,
                              check_scale=args.check_scale, check_epochs=args.check_epochs)
    if report:
        print(f"Hand-off checked: the pickled strategy loaded in a fresh interpreter without "
              f"noisy_select, chose the same indices as {args.strategy!r} loaded here on {report['calls']} "
              f"seeded batches, and trained under the organizers' loop (olympiad proxy, scale "
              f"{report['scale']}, {report['epochs']} epochs, seed {report['seed']}, CPU) to BAC "
              f"{report['bac_1']:.4f} / {report['bac_2']:.4f}, as `noisy-select run --loop "
              "official` does.")
    print(f"Wrote {args.out} (strategy {args.strategy!r}): runs offline with torch and the "
          "competition's own libraries only; in final mode it saves the strategy to "
          "file_output/your_select_indices.pkl for the platform.")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every default, except where the help text already says it or for flags."""

    def _get_help_string(self, action: argparse.Action) -> str:
        flag = isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
        if flag or action.default in (None, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action) or ""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="noisy-select", formatter_class=_Formatter,
        description="Sample selection for two networks trained on noisy, imbalanced labels.",
        epilog="Exit codes: 0 done, 2 usage error, 3 data, results or an output path that cannot "
               "be used (or a submission whose hand-off fails), 130 interrupted (Ctrl-C), 143 "
               "stopped by SIGTERM.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, formatter_class=_Formatter)
        p.set_defaults(func=func)
        return p

    def data_option(p: argparse.ArgumentParser, help: str) -> None:
        p.add_argument("-d", "--data", default="data", help=help)

    def strategy_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("-s", "--strategy", default=SHIPPED,
                       help="a rule: a registered name, mine.py (its your_select_indices), "
                            "mine.py:NAME or package.module:NAME")

    def force_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--force", action="store_true",
                       help="replace an existing output that this command did not write")

    def report_options(p: argparse.ArgumentParser, summary_help: str) -> None:
        p.add_argument("--summary", default="results/RESULTS.md", help=summary_help)
        p.add_argument("--figures", default="results/figures", help="folder for the figures")
        force_option(p)

    def source_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--source", default=None,
                       help="folder with Fashion-MNIST's four IDX files for the fashion-* "
                            "scenarios (default: the cache, /usr/share/datasets/fashion-mnist, "
                            "or torchvision's download)")

    def device_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")

    p = command("run", "train the two models with a selection strategy and score them", _cmd_run)
    _run_options(p)

    p = command("data", "build an offline proxy scenario into a folder", _cmd_data)
    data_option(p, "folder to write train/ val/ test/ into: new, empty, or holding a proxy")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, type=_scenario,
                   help=f"which noisy data set to build: one of {', '.join(sorted(SCENARIOS))}, "
                        "or a scenario file (.toml, .json)")
    p.add_argument("--seed", type=_seed, default=SEED, help="seeds the split and the label noise")
    p.add_argument("--scale", type=_scale, default=1.0, help="shrink every split, (0, 1]")
    p.add_argument("--force", action="store_true", help="replace a proxy already there")
    source_option(p)

    p = command("download", "download the official data with gdown (internet)", _cmd_download)
    data_option(p, "folder to unpack train/ and val/ into: new, empty, or holding a proxy")

    def sweep_options(p: argparse.ArgumentParser, scenarios: str, seeds: str) -> None:
        """The options of every command that runs a sweep (bench, compare)."""
        p.add_argument("--scenarios", default=None,
                       help="comma-separated built-in names or scenario files (.toml, .json) "
                            f"(default: {scenarios}; none when -d is given)")
        p.add_argument("-d", "--data", default=None,
                       help="a folder of your own data in the official layout, run as a "
                            "scenario of its own: scored on its val split, which must be clean; "
                            "its data is fixed, so --seeds seed the models only")
        p.add_argument("--seeds", type=_seeds, default=seeds,
                       help="'0,1,2' or '0-9': each seeds the data draw and the models")
        p.add_argument("--epochs", type=_positive, default=NUM_EPOCHS, help="epochs per run")
        p.add_argument("-j", "--jobs", type=_positive, default=1, help="parallel processes")
        p.add_argument("--threads", type=_threads, default=1,
                       help="torch threads per run (one by default, as the committed rows used: "
                            "the thread count changes a run's numerics)")
        device_option(p)
        p.add_argument("--scale", type=_scale, default=1.0, help="shrink every split, (0, 1]")
        p.add_argument("-r", "--results", default=SCRATCH,
                       help="results file, one JSON line per run (appended; resumes); the "
                            f"project's committed evidence is {EVIDENCE}, used only when named")
        p.add_argument("--backend", default="pool", choices=["pool", "ray"],
                       help="pool: local processes; ray: one Ray task per run (the ray extra)")
        p.add_argument("--address", default=None,
                       help="ray: address of an existing cluster, host:port (default: a local Ray)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
        p.add_argument("--loop", default=DEFAULT_LOOP, choices=LOOPS,
                       help="official: the organizers' loop, which the platform runs; seed: the "
                            "seed notebook's")
        source_option(p)

    p = command("bench", "scenarios x strategies x seeds, with anchors and oracles", _cmd_bench)
    p.add_argument("strategies", nargs="*", metavar="STRATEGY",
                   help="rules: registered names, mine.py, mine.py:NAME or package.module:NAME "
                        f"(default: those tagged {', '.join(BENCH_TAGS)} in `noisy-select "
                        "strategies`)")
    sweep_options(p, BENCH_SCENARIOS, "0,1,2")
    report_options(p, "Markdown summary")

    p = command("compare", "paired comparison of strategies over seeds, with bootstrap "
                           "confidence intervals", _cmd_compare)
    p.add_argument("strategies", nargs="+", metavar="STRATEGY",
                   help="two or more rules (registered names, mine.py, mine.py:NAME, "
                        "package.module:NAME); each is compared with the first")
    sweep_options(p, HEADLINE_SCENARIO, "0-9")
    p.add_argument("--measure", default="bac", choices=list(MEASURES),
                   help="what to compare: the scored BAC, or the same runs' BAC with BatchNorm's "
                        "statistics re-estimated, at the best threshold, or AUC (rows that "
                        "record them), which leave out the last steps' swing")
    p.add_argument("--summary", default="results/compare.md",
                   help="Markdown table to write (and its .json beside it)")
    force_option(p)

    command("strategies", "every registered strategy: clean labels read, exportable, what it does",
            _cmd_strategies)

    p = command("speed", "time one selection call against the seed's strategy", _cmd_speed)
    strategy_option(p)
    device_option(p)
    p.add_argument("--repeats", type=_positive, default=200, help="timed calls")
    p.add_argument("--ops", action="store_true",
                   help="also count the top-level aten ops per call with torch.profiler")

    p = command("submission", "write the self-contained notebook to hand in", _cmd_submission)
    p.add_argument("-o", "--out", default="submission.ipynb",
                   help="the notebook to write (its folder is created)")
    strategy_option(p)
    p.add_argument("--no-check", action="store_true",
                   help="skip replaying the platform's hand-off before writing")
    force_option(p)
    p.add_argument("--check-scale", type=_scale, default=0.1,
                   help="size of the olympiad proxy the hand-off check trains on, (0, 1]")
    p.add_argument("--check-epochs", type=_positive, default=NUM_EPOCHS,
                   help="epochs of the hand-off check")

    p = command("summary", "Markdown table and figures from a results file", _cmd_summary)
    p.add_argument("-r", "--results", nargs="+", default=[EVIDENCE],
                   help="results files to read: JSON lines of the bench, or run records (.json)")
    report_options(p, "Markdown summary to write")
    p.add_argument("--commands", default=None,
                   help="text file with the bench commands that wrote the results, listed first")
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an exception so that clean-up code runs as for Ctrl-C."""


def _raise_terminated(_signum, _frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.command_line = "noisy-select " + " ".join(sys.argv[1:] if argv is None else argv)
    from noisy_select.errors import DataError, HandoffError, UsageError

    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        args.func(args)
    except BrokenPipeError:  # the reader went away (`noisy-select strategies | head`): stop quietly
        # (caught before ConnectionError, its base class)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1
    except (DataError, HandoffError, ConnectionError) as err:
        print(f"noisy-select {args.command}: error: {err}", file=sys.stderr)
        return EXIT_DATA
    except (UsageError, FileExistsError) as err:
        print(f"noisy-select {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # a file system that refused a write the checks could not foresee
        where = f"{err.filename}: " if err.filename else ""
        print(f"noisy-select {args.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return EXIT_DATA
    except KeyboardInterrupt as err:
        what = "stopped by SIGTERM" if isinstance(err, Terminated) else "interrupted"
        print(f"\nnoisy-select {args.command}: {what}; finished work is kept, nothing was left "
              "half-written.", file=sys.stderr)
        code = EXIT_TERM if isinstance(err, Terminated) else EXIT_INTERRUPT
    else:
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    # A stopped sweep leaves its process pool in reference cycles: collect it now, so that its
    # semaphores are released before exit (else multiprocessing warns of leaked ones).
    gc.collect()
    return code


def console() -> None:
    """Entry point of the `noisy-select` script."""
    sys.exit(main())
