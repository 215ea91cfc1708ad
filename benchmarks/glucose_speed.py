"""Steps per second of Glucose (the UVa/Padova patient under a pump) against its 5,000 target.

Run on demand: ``python benchmarks/glucose_speed.py [--steps N] [--repeats R]``.
Uniformly random actions in [-1, 1] (drawn up front, so only stepping and
resetting are timed), the environment unwrapped and through ``gym.make``;
prints the best of ``--repeats`` runs and its ratio to the target of 5,000
steps/s unwrapped (issue 23). Each step integrates 5 minutes of the patient
model (five RK4 steps of one minute).
"""

from __future__ import annotations

import argparse
import os

import gymnasium as gym
import numpy as np
from env_speed import steps_per_second  # the same timing loop (benchmarks/ is on sys.path)

import proxygym  # noqa: F401  (registers the ids)

TARGET = 5_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="steps per run (%(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="runs; best kept (%(default)s)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, numpy {np.__version__}, gymnasium {gym.__version__}")
    for label, make in (
        ("unwrapped", lambda: gym.make("proxygym/Glucose-v0").unwrapped),
        ("gym.make", lambda: gym.make("proxygym/Glucose-v0")),
    ):
        best = max(steps_per_second(make(), args.steps) for _ in range(args.repeats))
        print(f"Glucose-v0 {label:<10} {best:>9,.0f} steps/s  ({best / TARGET:.2f} x the target)")


if __name__ == "__main__":
    main()
