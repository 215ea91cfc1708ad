"""The angle early-stopping rule: occupancy algebra, projection, and its no-drop guarantee."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import proxygym  # noqa: F401
from proxygym.planning.angle_stopping import (
    angle_between,
    early_stopping_path,
    expected_reward_vector,
    occupancy_vector,
    project_reward,
    reward_angle,
)
from proxygym.planning.tabular import TabularModel, TabularPolicy, evaluate, solve

TEMPERATURES = [*np.geomspace(100.0, 0.01, 17), 0.0]


def model_of(env_id: str, **kwargs: Any) -> TabularModel:
    return gym.make(env_id, **kwargs).unwrapped.tabular_model()  # type: ignore[attr-defined,no-any-return]


def random_model(rng: np.random.Generator, noise: float) -> TabularModel:
    """A small random MDP with stochastic transitions, some terminal, and proxy = true + noise."""
    n_states, n_actions, n_outcomes = (int(n) for n in rng.integers(2, 5, size=3))
    shape = (n_states, n_actions, n_outcomes)
    true = rng.normal(size=shape)
    return TabularModel(
        states=tuple(range(n_states)),
        initial=rng.dirichlet(np.ones(n_states)),
        next_states=rng.integers(0, n_states, size=shape),
        probs=rng.dirichlet(np.ones(n_outcomes), size=(n_states, n_actions)),
        proxy_rewards=true + noise * rng.normal(size=shape),
        true_rewards=true,
        terminal=rng.random(shape) < 0.1,
        horizon=int(rng.integers(2, 6)),
    )


def random_policy(rng: np.random.Generator, model: TabularModel) -> TabularPolicy:
    shape = (model.horizon, model.n_states)
    return TabularPolicy(rng.dirichlet(np.ones(model.n_actions), size=shape))


def bandit(proxy: list[float], true: list[float]) -> TabularModel:
    """One state, one step: the return of a policy is its expected reward."""
    shape = (1, len(proxy), 1)
    return TabularModel(
        states=(0,),
        initial=np.ones(1),
        next_states=np.zeros(shape, dtype=np.int64),
        probs=np.ones(shape),
        proxy_rewards=np.array(proxy, dtype=float).reshape(shape),
        true_rewards=np.array(true, dtype=float).reshape(shape),
        terminal=np.ones(shape, dtype=bool),
        horizon=1,
    )


def test_angle_between_hand_vectors() -> None:
    assert angle_between(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(math.pi / 2)
    assert angle_between(np.array([1.0, 1.0]), np.array([3.0, 0.0])) == pytest.approx(math.pi / 4)
    assert angle_between(np.array([1.0, 2.0]), np.array([-2.0, -4.0])) == pytest.approx(math.pi)
    assert angle_between(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])) == 0.0
    with pytest.raises(ValueError):
        angle_between(np.zeros(2), np.ones(2))
    with pytest.raises(ValueError):
        angle_between(np.ones(2), np.ones(3))


def test_occupancy_dot_expected_reward_is_the_exact_return() -> None:
    rng = np.random.default_rng(0)
    models = [random_model(rng, 1.0) for _ in range(20)]
    models.append(model_of("proxygym/BoatRace-v0"))
    for model in models:
        policies = [random_policy(rng, model), solve(model, "proxy", temperature=0.5)]
        for policy in policies:
            occupancy = occupancy_vector(model, policy)
            returns = evaluate(model, policy)
            proxy = occupancy @ expected_reward_vector(model, "proxy")
            true = occupancy @ expected_reward_vector(model, "true")
            assert proxy == pytest.approx(returns.proxy_return, rel=1e-12, abs=1e-12)
            assert true == pytest.approx(returns.true_return, rel=1e-12, abs=1e-12)


def test_projection_keeps_every_return_difference() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        model = random_model(rng, 1.0)
        reward = expected_reward_vector(model, "true")
        projected = project_reward(model, reward)
        np.testing.assert_allclose(project_reward(model, projected), projected, atol=1e-9)
        assert np.linalg.norm(projected) <= np.linalg.norm(reward) + 1e-12
        for _ in range(5):
            step = occupancy_vector(model, random_policy(rng, model)) - occupancy_vector(
                model, random_policy(rng, model)
            )
            assert step @ projected == pytest.approx(step @ reward, abs=1e-9)


def test_projection_removes_potential_shaping() -> None:
    """Shaping ``E[y(t + 1, s')] - y(t, s)`` (``y = 0`` after the horizon) changes no
    return difference: the projection removes it, and the angle it adds."""
    model = model_of("proxygym/BoatRace-v0")
    horizon = model.horizon
    potential = np.random.default_rng(2).normal(size=(horizon + 1, model.n_states))
    potential[horizon] = 0.0
    continuing = model.probs * np.where(model.terminal, 0.0, 1.0)
    shaping = np.stack(
        [
            (continuing * potential[t + 1][model.next_states]).sum(axis=2) - potential[t][:, None]
            for t in range(horizon)
        ]
    ).ravel()
    reward = expected_reward_vector(model, "true")
    np.testing.assert_allclose(
        project_reward(model, reward + shaping), project_reward(model, reward), atol=1e-8
    )
    assert angle_between(reward + shaping, reward) > 0.1
    assert angle_between(
        project_reward(model, reward + shaping), project_reward(model, reward)
    ) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("projected", [True, False])
def test_true_return_never_drops_before_the_stop(projected: bool) -> None:
    rng = np.random.default_rng(3)
    drops = avoided_after_steps = 0
    for _ in range(120):
        model = random_model(rng, float(rng.choice([0.3, 1.0, 2.0])))
        path = early_stopping_path(model, TEMPERATURES, projected=projected)
        true_returns = [point.true_return for point in path.points[: path.stop_index + 1]]
        scale = max(1.0, *(abs(r) for r in true_returns))
        for before, after in zip(true_returns, true_returns[1:], strict=False):
            assert after >= before - 1e-9 * scale
        assert [point.reached for point in path.points] == [
            k <= path.stop_index for k in range(len(path.points))
        ]
        if path.goodhart_drop:
            drops += 1
            assert path.drop_avoided
            avoided_after_steps += path.stop_index > 0
    # The property is not vacuous: drops happen, and the rule often walks part of the way.
    assert drops >= 20
    assert avoided_after_steps >= 5


def test_larger_theta_stops_no_later() -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        model = random_model(rng, 1.0)
        exact = early_stopping_path(model, TEMPERATURES)
        bound = early_stopping_path(model, TEMPERATURES, theta=min(math.pi, exact.theta + 0.2))
        assert bound.stop_index <= exact.stop_index


def test_bandit_rule_takes_the_safe_steps_then_stops_before_the_drop() -> None:
    # Mass first leaves action 0 (true -2) for actions 1 and 2: the true return
    # rises. Then it moves from action 1 (true 1) to action 2 (proxy 1.2, true 0):
    # the proxy still rises, the true return falls.
    model = bandit(proxy=[0.0, 1.0, 1.2], true=[-2.0, 1.0, 0.0])
    path = early_stopping_path(model, TEMPERATURES)
    assert path.goodhart_drop and path.drop_avoided
    assert 0 < path.stop_index <= path.first_drop_index  # type: ignore[operator]
    assert path.stopped_true_return > path.points[0].true_return
    assert path.points[-1].true_return == pytest.approx(0.0)
    assert path.true_return_given_up == pytest.approx(
        path.best_true_return - path.stopped_true_return
    )
    # Centring removes the one constraint sum_a eta = 1.
    centre = np.array([0.0, 1.0, 1.2]) - 2.2 / 3
    np.testing.assert_allclose(project_reward(model, np.array([0.0, 1.0, 1.2])), centre)


def test_rocks_diamonds_stops_before_its_goodhart_drop() -> None:
    model = model_of("proxygym/RocksDiamonds-v0", level=1)
    path = early_stopping_path(model, [1000.0, 100.0, 25.0, 10.0, 1.0, 0.0])
    assert path.goodhart_drop
    assert path.drop_avoided
    assert path.points[-1].true_return < path.best_true_return
    assert path.stopped_true_return <= path.best_true_return


def test_bad_arguments_are_rejected() -> None:
    model = bandit(proxy=[0.0, 1.0], true=[1.0, 0.0])
    with pytest.raises(ValueError):
        early_stopping_path(model, [1.0, 2.0])
    with pytest.raises(ValueError):
        early_stopping_path(model, [1.0, -1.0])
    with pytest.raises(ValueError):
        early_stopping_path(model, [1.0], theta=4.0)
    with pytest.raises(ValueError, match="same return"):
        reward_angle(bandit(proxy=[1.0, 1.0], true=[1.0, 0.0]))
