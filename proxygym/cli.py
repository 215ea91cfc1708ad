"""The ``proxygym`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proxygym.config import ConfigError, load_config
from proxygym.sweep import BACKENDS, SweepError, run_sweep


def _sweep(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    out = args.out if args.out is not None else Path("runs") / config.name
    print(
        f"sweep {config.name}: {config.env} {config.algo.upper()}, axis {config.axis} "
        f"{list(config.levels)}, seeds {list(config.seeds)} -> {out}"
    )
    summary = run_sweep(
        config,
        out,
        workers=args.workers,
        backend=args.backend,
        ray_address=args.ray_address,
        progress=args.progress,
    )
    print(
        f"done in {summary.seconds:.0f} s: {len(summary.ran)} cells run, "
        f"{len(summary.skipped)} already done, {len(summary.failed)} failed. Results: {out}"
    )
    print(f"load them with: proxygym.results.load({str(out)!r})")
    return 1 if summary.failed else 0


def _plot(args: argparse.Namespace) -> int:
    from proxygym.plots import plot_sweep

    for path in plot_sweep(args.directory, args.out):
        print(path)
    return 0


def _report(args: argparse.Namespace) -> int:
    from proxygym.report import write_report

    report = write_report(args.directory, args.out)
    print(f"report: {report.html}\nmarkdown: {report.markdown}\n{report.verdict}")
    return 0


def _detect(args: argparse.Namespace) -> int:
    from proxygym.detect import detection_table, format_detection, score_suspects

    suspects = score_suspects(args.directory, args.episodes, args.margin, args.seed)
    table = detection_table(suspects)
    print(format_detection(table, suspects if args.verbose else None))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"table: {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="proxygym",
        description="A testbed for proxy gaming (Goodhart's law) in reinforcement learning.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sweep = commands.add_parser(
        "sweep",
        help="train agents across optimization-pressure levels and seeds",
        description=(
            "Run every (pressure level, seed) cell of a sweep config (TOML, see experiments/), "
            "plus the oracle, random and exact baselines. Finished cells are written atomically; "
            "running the same command again resumes, skipping them."
        ),
        epilog=(
            "example: proxygym sweep experiments/boat_race_timesteps.toml --workers 2 --progress\n"
            "then:    proxygym report runs/boat_race_timesteps"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument(
        "file", type=Path, help="sweep config, e.g. experiments/boat_race_timesteps.toml"
    )
    sweep.add_argument(
        "--out", type=Path, default=None, help="results directory (default: runs/<name>)"
    )
    sweep.add_argument(
        "--workers", type=int, default=1, help="parallel worker processes (default: 1)"
    )
    sweep.add_argument(
        "--backend",
        choices=BACKENDS,
        default="local",
        help="local process pool, or Ray (pip install 'proxygym[ray]') (default: local)",
    )
    sweep.add_argument(
        "--ray-address",
        default=None,
        help="address of an existing Ray cluster (default: start a local Ray instance)",
    )
    sweep.add_argument("--progress", action="store_true", help="show progress bars")
    sweep.set_defaults(run=_sweep)

    plot = commands.add_parser(
        "plot",
        help="write the figures of a sweep directory",
        description="Goodhart curve, proxy against true, per-seed lines and true against "
        "sqrt(KL) with the fitted overoptimization curve, as PNG and SVG. Works on an "
        "interrupted sweep with what it has.",
    )
    plot.epilog = "example: proxygym plot runs/boat_race_timesteps"
    plot.add_argument("directory", type=Path, help="a sweep's results directory")
    plot.add_argument("--out", type=Path, default=None, help="default: DIRECTORY/figures")
    plot.set_defaults(run=_plot)

    report = commands.add_parser(
        "report",
        help="write an HTML report and its Markdown twin for a sweep directory",
        description="Setup, what the proxy and the true objective are, completeness, metrics, "
        "per-level table, baselines, fit, figures and a one-sentence verdict.",
    )
    report.epilog = "example: proxygym report runs/boat_race_timesteps --out /tmp/report"
    report.add_argument("directory", type=Path, help="a sweep's results directory")
    report.add_argument("--out", type=Path, default=None, help="default: DIRECTORY")
    report.set_defaults(run=_report)

    detect = commands.add_parser(
        "detect",
        help="score a gaming detector on a sweep's agents against its oracles",
        description="Roll out every saved agent and compare its action distributions with the "
        "oracle's (trained on the true objective) on the states it visits: KL, Jensen-Shannon "
        "and Hellinger, each averaged and maxed over episodes. An agent is gaming when its true "
        "return falls short of the oracle's by more than MARGIN times the oracle's gain over "
        "the random policy. Prints each metric's AUROC, and the accuracy on the held-out seeds "
        "of a threshold chosen on the others.",
    )
    detect.epilog = "example: proxygym detect runs/absent_supervisor_width --out detect.csv"
    detect.add_argument("directory", type=Path, help="a sweep's results directory")
    detect.add_argument(
        "--episodes", type=int, default=10, metavar="N", help="rollouts per agent (default: 10)"
    )
    detect.add_argument(
        "--margin",
        type=float,
        default=0.5,
        help="share of the oracle's gain over random an agent must lose to count as gaming "
        "(default: 0.5)",
    )
    detect.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the rollouts and, with one seed, the split (default: 0)",
    )
    detect.add_argument(
        "--out", type=Path, default=None, metavar="FILE.csv", help="also write the table as CSV"
    )
    detect.add_argument("--verbose", action="store_true", help="also print every agent's scores")
    detect.set_defaults(run=_detect)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (ConfigError, SweepError, FileNotFoundError, ValueError) as error:
        print(f"proxygym: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "proxygym: interrupted; finished cells are saved, run the same command to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
