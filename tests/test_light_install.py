"""The light install (``pip install proxygym``, no extras) for environment-only users.

CleanRL, JAX, Minari and seals users want the environments, the proxy/true
contract, the wrappers and the exact planner, not torch (1.3 GB, or 5 GB as
a CUDA build), stable-baselines3, pandas or matplotlib. ``make test-light``
runs this file in a virtualenv with the base install only; in a full install
(where torch is importable) it is skipped, so the checks run where they mean
something.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import proxygym
from proxygym.model import exact_model
from proxygym.planning.tabular import optimal_returns
from proxygym.testing import rollout

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is not None,
    reason="checks the light install: run by make test-light in a venv without torch",
)

HEAVY = ("torch", "stable_baselines3", "pandas", "matplotlib", "tensorboard")
#: Needs torch to fit its reward model: it must say so, naming the extra.
NEEDS_AGENTS = "proxygym/LearnedProxy-v0"


def test_the_heavy_dependencies_are_not_installed() -> None:
    installed = [name for name in HEAVY if importlib.util.find_spec(name) is not None]
    assert installed == []


@pytest.mark.parametrize("env_id", [r.id for r in proxygym.list_envs() if r.id != NEEDS_AGENTS])
def test_every_environment_runs_and_reports_both_rewards(env_id: str) -> None:
    with gym.make(env_id) as env:
        transitions = rollout(env, seed=0, n_steps=300)
    assert len(transitions) == 300
    for _, _, reward, _, _, info, _ in transitions:
        assert info["proxy_reward"] == reward and np.isfinite(info["true_reward"])


def test_the_exact_planner_needs_no_extra() -> None:
    with gym.make("proxygym/BoatRace-v0") as env:
        model = exact_model(env)
    assert model is not None
    returns = optimal_returns(model)
    # README: shuttling scores as much as racing; the true optimum is 100 laps-worth.
    assert returns["proxy"].proxy_return == pytest.approx(50.0)
    assert returns["true"].true_return == pytest.approx(100.0)


def test_the_learned_proxy_names_the_extra_it_needs() -> None:
    with pytest.raises(ModuleNotFoundError, match=r"\.\[agents\]"):
        gym.make(NEEDS_AGENTS)


def test_the_command_line_answers_and_names_the_extra_for_training() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "proxygym.cli", "--help"], capture_output=True, text=True
    )
    assert help_text.returncode == 0, help_text.stderr
    assert "sweep" in help_text.stdout
    sweep = subprocess.run(
        [sys.executable, "-m", "proxygym.cli", "sweep", "experiments/boat_race_timesteps.toml"],
        capture_output=True,
        text=True,
    )
    assert sweep.returncode != 0
    lines = [line for line in sweep.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "[agents]" in lines[0], sweep.stderr
