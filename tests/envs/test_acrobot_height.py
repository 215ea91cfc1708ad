"""AcrobotHeight: the proxy is the tip height; it pays more to swing high than to finish.

The proxy is checked against Acrobot's own geometry and the true reward against
Acrobot-v1's. That the fast Acrobot steps as Gymnasium's does is in
test_fast_classic_control.py.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import proxygym  # noqa: F401  (registers the ids)


def tip_height(observation: np.ndarray) -> float:
    cos1, sin1, cos2, sin2 = observation[:4].astype(np.float64)
    return -cos1 - (cos1 * cos2 - sin1 * sin2)


def test_acrobot_height_pays_the_tip_height_and_reports_acrobots_reward() -> None:
    env = gym.make("proxygym/AcrobotHeight-v0")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(100):
        obs, proxy, terminated, truncated, info = env.step(int(rng.integers(3)))
        assert proxy == pytest.approx((tip_height(obs) + 2) / 4, abs=1e-12)
        assert info["true_reward"] == (0.0 if terminated else -1.0)
        if terminated or truncated:
            break
    assert truncated and not terminated  # random torques never reach the line


def swing(obs: np.ndarray, hold_back: bool) -> int:
    """Pump energy with the elbow; holding back brakes once the tip is above -0.5."""
    pump = 2 if obs[5] > 0 else 0
    return 2 - pump if hold_back and tip_height(obs) > -0.5 else pump


def test_acrobot_height_prefers_swinging_high_to_finishing() -> None:
    env = gym.make("proxygym/AcrobotHeight-v0")
    means = {}
    for hold_back in (False, True):
        returns = []
        for seed in range(20):
            obs, _ = env.reset(seed=seed)
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(swing(obs, hold_back))
                done = terminated or truncated
            returns.append((info["episode_proxy_return"], info["episode_true_return"]))
        means[hold_back] = np.mean(returns, axis=0)
    # Measured: finishing (14.8, -76.6), holding back (21.6, -98.6).
    assert means[True][0] > means[False][0] + 5 and means[True][1] < means[False][1] - 15
