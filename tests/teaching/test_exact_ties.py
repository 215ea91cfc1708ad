"""``render``'s exact policies are the ones ``play`` and the notebook evaluate: ties sampled."""

from __future__ import annotations

import numpy as np
import pytest

from proxygym.agents.policies import exact_optima
from proxygym.teaching.animation import make_env, record_episode, record_episodes

BOAT = "proxygym/BoatRace-v0"


def test_recorded_proxy_optimum_averages_to_the_exact_returns_play_reports() -> None:
    # On BoatRace lapping and shuttling tie for the proxy at every turn: the exact
    # proxy-optimal policy (solve's, ties split evenly) has true return 49, not 0.
    exact = exact_optima(make_env(BOAT))
    assert exact is not None
    expected = exact["proxy-optimal"]
    recorded = record_episodes(BOAT, "proxy-optimal", episodes=16, seed=0)
    proxy = np.mean([episode.proxy_return for episode in recorded])
    true = np.array([episode.true_return for episode in recorded])
    assert proxy == pytest.approx(expected.proxy_return)  # every tied action is optimal
    # 16 episodes, per-episode spread about 6: the mean is within 4 of 49.
    assert abs(true.mean() - expected.true_return) < 4.0
    assert len(set(true.tolist())) > 1  # episodes differ: the ties are sampled


def test_tie_sampling_is_seeded_by_the_episode_seed() -> None:
    first = record_episode(BOAT, "proxy-optimal", seed=3, env_kwargs={"max_steps": 40})
    again = record_episode(BOAT, "proxy-optimal", seed=3, env_kwargs={"max_steps": 40})
    other = record_episode(BOAT, "proxy-optimal", seed=4, env_kwargs={"max_steps": 40})
    assert first.actions == again.actions and first.actions != other.actions


def test_true_optimum_without_ties_that_matter_replays_its_exact_return() -> None:
    racing = record_episodes(BOAT, "true-optimal", episodes=3)
    assert [episode.true_return for episode in racing] == [100.0] * 3
