"""Command line: `noisy-select` and `python -m noisy_select` both call ``main``."""

from __future__ import annotations

import argparse
import sys

from noisy_select.competition import NUM_EPOCHS, SEED
from noisy_select.scenarios import SCENARIOS


def _cmd_run(args: argparse.Namespace) -> None:
    from noisy_select.run import RunConfig, run

    run(RunConfig(data=args.data, strategy=args.strategy, epochs=args.epochs, device=args.device,
                  seed=args.seed, scenario=args.scenario, out=args.out,
                  progress=not args.no_progress))


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileExistsError, ConnectionError) as err:
        print(f"noisy-select {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


def console() -> None:
    """Entry point of the `noisy-select` script."""
    sys.exit(main())
