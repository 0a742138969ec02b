"""Command line: `noisy-select` and `python -m noisy_select` both call ``main``."""

from __future__ import annotations

import argparse
import sys

from noisy_select.competition import NUM_EPOCHS, SEED
from noisy_select.scenarios import SCENARIOS

DEFAULT_BENCH = ("all", "seed-coteaching", "fixed-rates", "coteaching", "oracle-clean",
                 "oracle-labels", "your_select_indices")


def _cmd_run(args: argparse.Namespace) -> None:
    from noisy_select.run import RunConfig, run

    run(RunConfig(data=args.data, strategy=args.strategy, epochs=args.epochs, device=args.device,
                  seed=args.seed, scenario=args.scenario, out=args.out,
                  progress=not args.no_progress, trainer=args.trainer, schedule=args.schedule,
                  keep_best=args.keep_best))


def _cmd_data(args: argparse.Namespace) -> None:
    from noisy_select.proxy import build_proxy

    manifest = build_proxy(args.out, args.scenario, args.seed, force=args.force, scale=args.scale)
    for split, c in manifest["counts"].items():
        print(f"{split}: {c['size']} images, clean counts {c['clean_counts']}, "
              f"labels {c['label_counts']}, {c['wrong_labels']} wrong")
    print(f"Wrote scenario {args.scenario!r} (seed {args.seed}) to {args.out}")


def _cmd_download(args: argparse.Namespace) -> None:
    from noisy_select.run import download_official

    download_official(args.data)


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _seeds(text: str) -> list[int]:
    """``"1,2,5"`` or a range ``"0-4"``."""
    try:
        if "-" in text and "," not in text:
            lo, hi = (int(t) for t in text.split("-"))
            return list(range(lo, hi + 1))
        return [int(t) for t in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"Expected seeds like '1,2,3' or '0-4', but got {text!r}."
        ) from None


def _cmd_bench(args: argparse.Namespace) -> None:
    from noisy_select import bench, report

    specs = bench.plan(_names(args.scenarios), _names(args.strategies), args.seeds,
                       epochs=args.epochs, device=args.device, scale=args.scale)
    rows = bench.sweep(specs, args.out, jobs=args.jobs, progress=not args.no_progress)
    table = report.summarize(rows, args.summary, args.figures, args.command_line)
    print(report.markdown(table, args.command_line).split("\n", 8)[-1])
    print(f"Results in {args.out}; summary in {args.summary}, figures in {args.figures}")


def _cmd_summary(args: argparse.Namespace) -> None:
    from noisy_select import bench, report

    rows = bench.read_results(args.results)
    command = args.command_line
    if args.commands:
        with open(args.commands) as f:
            command = f.read().strip() + "\n" + command
    report.summarize(rows, args.out, args.figures, command)
    print(f"Wrote {args.out} and figures in {args.figures} from {len(rows)} runs.")


def _cmd_speed(args: argparse.Namespace) -> None:
    from noisy_select.speed import measure
    from noisy_select.training import resolve_device

    r = measure(resolve_device(args.device), args.strategy, args.repeats)
    print(f"device {r['device']}: {r['strategy']} {1e6 * r['call_s']:.0f} us/call, "
          f"seed rule {1e6 * r['seed_call_s']:.0f} us/call, one training step "
          f"{1e3 * r['step_s']:.1f} ms ({100 * r['share_of_step']:.2f}% of a step)")


def _cmd_submission(args: argparse.Namespace) -> None:
    from noisy_select.notebooks import write_submission

    path = write_submission(args.out, args.strategy)
    print(f"Wrote {path} (strategy {args.strategy!r}): runs offline with torch and the "
          "competition's own libraries only.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="noisy-select",
        description="Sample selection for two networks trained on noisy, imbalanced labels.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="train the two models with a selection rule and score them")
    p.add_argument("--data", default="data", help="folder with train/ and val/ (default: data)")
    p.add_argument("--strategy", default="your_select_indices", help="a registered strategy")
    p.add_argument("--epochs", type=int, default=NUM_EPOCHS)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--seed", type=int, default=SEED, help="model seed (competition: 123)")
    p.add_argument("--scenario", default="olympiad", choices=sorted(SCENARIOS),
                   help="proxy built when --data holds no data")
    p.add_argument("--out", default="results/run.json", help="result JSON")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument("--trainer", default="fixed", choices=["fixed", "robust"],
                   help="fixed: the competition's loop; robust: schedule + mean teacher + mixup")
    p.add_argument("--schedule", default=None, help="robust: JSON file of the phase schedule")
    p.add_argument("--keep-best", action="store_true",
                   help="robust: keep the best epoch by validation BAC (labelled in results)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("data", help="build an offline proxy scenario into a folder")
    p.add_argument("--scenario", default="olympiad", choices=sorted(SCENARIOS))
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--out", default="data", help="folder to write train/ val/ test/ into")
    p.add_argument("--scale", type=float, default=1.0, help="shrink every split (0, 1]")
    p.add_argument("--force", action="store_true", help="replace data already there")
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser("download", help="download the official data with gdown")
    p.add_argument("--data", default="data")
    p.set_defaults(func=_cmd_download)
    p = sub.add_parser("bench", help="scenarios x strategies x seeds, with anchors and oracles")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated names")
    p.add_argument("--strategies", default=",".join(DEFAULT_BENCH),
                   help="comma-separated registered names")
    p.add_argument("--seeds", type=_seeds, default=[0, 1, 2], help="'0,1,2' or '0-4'")
    p.add_argument("--epochs", type=int, default=NUM_EPOCHS)
    p.add_argument("--jobs", type=int, default=1, help="parallel processes")
    p.add_argument("--device", default="auto")
    p.add_argument("--scale", type=float, default=1.0, help="shrink every split (0, 1]")
    p.add_argument("--out", default="results/bench.jsonl", help="results, one JSON line per run")
    p.add_argument("--summary", default="results/RESULTS.md", help="Markdown summary")
    p.add_argument("--figures", default="results/figures", help="folder for the figures")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("speed", help="time one selection call against the seed's rule")
    p.add_argument("--strategy", default="your_select_indices")
    p.add_argument("--device", default="auto")
    p.add_argument("--repeats", type=int, default=200)
    p.set_defaults(func=_cmd_speed)

    p = sub.add_parser("submission", help="write the self-contained notebook to hand in")
    p.add_argument("--out", default="submission.ipynb")
    p.add_argument("--strategy", default="your_select_indices", help="a registered strategy")
    p.set_defaults(func=_cmd_submission)

    p = sub.add_parser("summary", help="Markdown table and figures from a results file")
    p.add_argument("--results", default="results/bench.jsonl")
    p.add_argument("--out", default="results/RESULTS.md")
    p.add_argument("--figures", default="results/figures")
    p.add_argument("--commands", default=None,
                   help="text file with the bench commands that wrote the results, listed first")
    p.set_defaults(func=_cmd_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.command_line = "noisy-select " + " ".join(sys.argv[1:] if argv is None else argv)
    try:
        args.func(args)
    except (ValueError, FileExistsError, ConnectionError) as err:
        print(f"noisy-select {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


def console() -> None:
    """Entry point of the `noisy-select` script."""
    sys.exit(main())
