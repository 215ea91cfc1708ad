"""PendulumNoTorqueCost: the proxy is Pendulum-v1's reward without the torque cost.

Checked against Pendulum-v1's own formula. That the fast Pendulum steps as
Gymnasium's does is in test_fast_classic_control.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from proxygym.envs.wrapped.proxy_examples import PendulumNoTorqueCostEnv


def test_pendulum_proxy_drops_exactly_the_torque_cost() -> None:
    env = PendulumNoTorqueCostEnv()
    obs, _ = env.reset(seed=0)
    for torque in (2.0, -2.0, 0.5, 3.5, -7.0, 0.0):
        theta = math.atan2(float(obs[1]), float(obs[0]))  # in [-pi, pi], as Pendulum normalises
        velocity = float(obs[2])
        clipped = min(max(torque, -2.0), 2.0)
        obs, proxy, _, _, info = env.step(np.array([torque], np.float32))
        assert proxy == pytest.approx(-(theta**2 + 0.1 * velocity**2), abs=1e-5)
        assert info["true_reward"] == pytest.approx(proxy - 0.001 * clipped**2, abs=1e-9)
