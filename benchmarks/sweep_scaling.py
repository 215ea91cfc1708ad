"""Wall time of one sweep with --workers 2 against --workers 1.

Runs the same sweep (PPO on BoatRace, one cell per seed, no baselines) twice
into fresh directories, first with one worker, then with two, checks that
both wrote identical records, and prints the speed-up. Target on a 2-core
machine: >= 1.7.

Run on demand: ``python benchmarks/sweep_scaling.py [--seeds N] [--timesteps T]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import pandas as pd

from proxygym.sweeps import results
from proxygym.sweeps.config import SweepConfig
from proxygym.sweeps.runner import run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, default=6, help="cells (one per seed) (default: %(default)s)"
    )
    parser.add_argument(
        "--timesteps", type=int, default=30_000, help="PPO steps per cell (default: %(default)s)"
    )
    args = parser.parse_args()
    config = SweepConfig.from_dict(
        {
            "env": "proxygym/BoatRace-v0",
            "algo": "ppo",
            "timesteps": args.timesteps,
            "seeds": list(range(args.seeds)),
            "eval_episodes": 10,
            "baselines": False,
            "pressure": {"axis": "timesteps", "levels": [args.timesteps]},
        },
        source="sweep_scaling",
    )
    print(f"{os.cpu_count()} cores; {args.seeds} cells of {args.timesteps} PPO steps on BoatRace")
    seconds, frames = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        for workers in (1, 2):
            out = Path(scratch) / f"workers{workers}"
            summary = run_sweep(config, out, workers=workers, echo=lambda _: None)
            seconds[workers] = summary.seconds
            frames[workers] = (
                results.load(out)
                .drop(columns=["wall_time"])
                .sort_values("cell")
                .reset_index(drop=True)
            )
            print(f"--workers {workers}: {summary.seconds:6.1f} s")
    pd.testing.assert_frame_equal(frames[1], frames[2])
    print(f"speed-up: {seconds[1] / seconds[2]:.2f}x (records identical)")


if __name__ == "__main__":
    main()
