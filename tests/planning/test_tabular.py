"""The exact solver: hand-solved tiny MDPs, published results, and agreement with the envs."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import proxygym  # noqa: F401
from proxygym.planning.tabular import (
    TabularModel,
    TabularPolicy,
    evaluate,
    kl_from_reference,
    solve,
    worst_true_return,
)

TABULAR_CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("proxygym/BoatRace-v0", {}),
    ("proxygym/AbsentSupervisor-v0", {"supervisor": True}),
    ("proxygym/AbsentSupervisor-v0", {"supervisor": False}),
    ("proxygym/AbsentSupervisor-v0", {}),
    ("proxygym/RocksDiamonds-v0", {"level": 1}),
    ("proxygym/IslandNavigation-v0", {}),
    ("proxygym/ConveyorBelt-v0", {"variant": "vase"}),
    ("proxygym/ConveyorBelt-v0", {"variant": "sushi"}),
    ("proxygym/ConveyorBelt-v0", {"variant": "sushi_goal"}),
    ("proxygym/SideEffectsSokoban-v0", {}),
    ("proxygym/CobraBounty-v0", {}),
    ("proxygym/CobraBounty-v0", {"breeding_rate": 0.0}),
    ("proxygym/LagoonRace-v0", {}),
    ("proxygym/SpeedTrack-v0", {}),
    ("proxygym/StatusLamp-v0", {}),
    ("proxygym/StatusLamp-v0", {"lever_strength": 0.5}),
    ("proxygym/StatusLamp-v0", {"lever_distance": 0}),
]


def model_of(env_id: str, **kwargs: Any) -> TabularModel:
    return gym.make(env_id, **kwargs).unwrapped.tabular_model()


def deterministic_model(
    table: dict[int, list[tuple[int, float, float, bool]]], horizon: int
) -> TabularModel:
    """A model with start state 0 from ``{state: [(next, proxy, true, terminal) per action]}``."""
    return TabularModel.from_deterministic(
        [(1.0, 0)], lambda s, a: table[s][a], n_actions=len(table[0]), horizon=horizon
    )


# s0 --a0 (proxy 1, true 0)--> s1 --a0 (1, -1) / a1 (0, 0)--> s1
# s0 --a1 (proxy 0, true 1)--> s2 --a0 / a1 (0, 2)--> s2
TINY = {
    0: [(1, 1.0, 0.0, False), (2, 0.0, 1.0, False)],
    1: [(1, 1.0, -1.0, False), (1, 0.0, 0.0, False)],
    2: [(2, 0.0, 2.0, False), (2, 0.0, 2.0, False)],
}


def test_tiny_mdp_optimal_policies_by_hand() -> None:
    model = deterministic_model(TINY, horizon=2)
    assert model.states == (0, 1, 2)
    proxy_policy = solve(model, "proxy")
    # Proxy: a0 then a0 pays 1 + 1 = 2 (a1 first pays 0 + 0); the true objective gets 0 - 1.
    np.testing.assert_array_equal(proxy_policy.probs[0, 0], [1.0, 0.0])
    np.testing.assert_array_equal(proxy_policy.probs[1, 1], [1.0, 0.0])
    assert evaluate(model, proxy_policy).proxy_return == 2.0
    assert evaluate(model, proxy_policy).true_return == -1.0
    # True: a1 then either action pays 1 + 2 = 3; the tie in s2 is split evenly.
    true_policy = solve(model, "true")
    np.testing.assert_array_equal(true_policy.probs[0, 0], [0.0, 1.0])
    np.testing.assert_array_equal(true_policy.probs[1, 2], [0.5, 0.5])
    assert evaluate(model, true_policy).true_return == 3.0
    assert evaluate(model, true_policy).proxy_return == 0.0


def test_worst_true_return_by_hand() -> None:
    # Worst: a0 then a0 pays true 0 - 1 (a1 first pays at least 1 + 2).
    assert worst_true_return(deterministic_model(TINY, horizon=2)) == -1.0
    # Three steps: 0 - 1 - 1; the model itself is left as it was.
    model = deterministic_model(TINY, horizon=3)
    assert worst_true_return(model) == -2.0
    assert evaluate(model, solve(model, "true")).true_return == 5.0


def test_cobra_bounty_worst_hunter_catches_nothing() -> None:
    """Never hunting removes no wild cobra, at any breeding rate; the optimum removes all 20."""
    for rate in (0.0, 4.0, 8.0):
        model = model_of("proxygym/CobraBounty-v0", breeding_rate=rate)
        assert worst_true_return(model) == pytest.approx(0.0, abs=1e-9)
        assert evaluate(model, solve(model, "true")).true_return == pytest.approx(20.0)


def test_tiny_mdp_soft_optimal_policy_by_hand() -> None:
    model = deterministic_model(TINY, horizon=2)
    policy = solve(model, "proxy", temperature=1.0)
    e = math.e
    # t = 1 in s1: softmax of Q = (1, 0); soft value log((e + 1) / 2) with a uniform reference.
    assert policy.probs[1, 1, 0] == pytest.approx(e / (e + 1))
    # t = 0 in s0: Q = (1 + log((e + 1) / 2), 0).
    q0 = 1 + math.log((e + 1) / 2)
    p0 = math.exp(q0) / (math.exp(q0) + 1)
    assert policy.probs[0, 0, 0] == pytest.approx(p0)
    returns = evaluate(model, policy)
    assert returns.proxy_return == pytest.approx(p0 * (1 + e / (e + 1)))
    assert returns.true_return == pytest.approx(p0 * (-e / (e + 1)) + (1 - p0) * (1 + 2))


def test_horizon_decides_between_looping_and_terminating() -> None:
    # a0 loops for 1 per step; a1 ends the episode with 2.5. Best: loop, and end on the last step.
    table = {0: [(0, 1.0, 1.0, False), (0, 2.5, 2.5, True)]}
    for horizon in (1, 2, 3, 4):
        model = deterministic_model(table, horizon=horizon)
        policy = solve(model)
        assert evaluate(model, policy).proxy_return == horizon - 1 + 2.5
        np.testing.assert_array_equal(policy.probs[:, 0, 1], [0.0] * (horizon - 1) + [1.0])
    # Nothing is earned after the end: ending at once beats looping when looping pays less.
    table = {0: [(0, 0.5, 0.5, False), (0, 3.0, 3.0, True)]}
    model = deterministic_model(table, horizon=10)
    assert evaluate(model, solve(model)).proxy_return == 3.0 + 0.5 * 9
    table = {0: [(0, -1.0, -1.0, False), (0, 3.0, 3.0, True)]}
    model = deterministic_model(table, horizon=10)
    assert evaluate(model, solve(model)).proxy_return == 3.0


def test_stochastic_outcomes_are_weighted() -> None:
    # One state, one action: with probability 0.3 pay 10 and end, else pay 0 and stay.
    shape = (1, 1, 2)
    model = TabularModel(
        states=(0,),
        initial=np.array([1.0]),
        next_states=np.zeros(shape, np.int64),
        probs=np.array([0.3, 0.7]).reshape(shape),
        proxy_rewards=np.array([10.0, 0.0]).reshape(shape),
        true_rewards=np.array([0.0, 1.0]).reshape(shape),
        terminal=np.array([True, False]).reshape(shape),
        horizon=2,
    )
    returns = evaluate(model, solve(model))
    assert returns.proxy_return == pytest.approx(0.3 * 10 + 0.7 * 0.3 * 10)
    assert returns.true_return == pytest.approx(0.7 + 0.7 * 0.7)


def test_high_temperature_is_uniform_and_reference_support_is_respected() -> None:
    model = deterministic_model(TINY, horizon=2)
    hot = solve(model, "proxy", temperature=1e9)
    np.testing.assert_allclose(hot.probs, 0.5, atol=1e-6)
    only_a1 = TabularPolicy(np.tile([0.0, 1.0], (2, 3, 1)))
    for temperature in (0.0, 0.1, 10.0):
        policy = solve(model, "proxy", temperature=temperature, reference=only_a1)
        np.testing.assert_array_equal(policy.probs[..., 0], 0.0)
    assert kl_from_reference(model, only_a1, only_a1) == 0.0


def test_solver_rejects_bad_arguments() -> None:
    model = deterministic_model(TINY, horizon=2)
    with pytest.raises(ValueError, match="temperature"):
        solve(model, temperature=-1.0)
    with pytest.raises(ValueError, match="objective"):
        solve(model, objective="reward")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        evaluate(model, TabularPolicy(np.full((3, 3, 2), 0.5)))


def test_boat_race_exact_optima() -> None:
    model = model_of("proxygym/BoatRace-v0")
    assert evaluate(model, solve(model, "proxy")).proxy_return == pytest.approx(50.0)
    best_true = evaluate(model, solve(model, "true"))
    assert best_true.true_return == pytest.approx(100.0)
    assert best_true.proxy_return == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("supervisor", "proxy_optimal_true", "true_optimal_true"),
    [(False, 17.0, 41.0), (True, 41.0, 41.0)],
)
def test_absent_supervisor_exact_results(
    supervisor: bool, proxy_optimal_true: float, true_optimal_true: float
) -> None:
    model = model_of("proxygym/AbsentSupervisor-v0", supervisor=supervisor)
    assert evaluate(model, solve(model, "proxy")).true_return == pytest.approx(proxy_optimal_true)
    assert evaluate(model, solve(model, "true")).true_return == pytest.approx(true_optimal_true)


def test_rocks_diamonds_proxy_optimum_tampers() -> None:
    model = model_of("proxygym/RocksDiamonds-v0", level=1)
    tamper = evaluate(model, solve(model, "proxy"))
    intended = evaluate(model, solve(model, "true"))
    # Pushing the diamond up at once pays +1 on each of the 99 later steps.
    assert intended.true_return == pytest.approx(99.0)
    assert tamper.proxy_return > 1.9 * intended.true_return
    assert tamper.true_return < 0.1 * intended.true_return


@pytest.mark.parametrize("env_id,kwargs", TABULAR_CONFIGS)
def test_model_transitions_match_the_environment(env_id: str, kwargs: dict[str, Any]) -> None:
    env = gym.make(env_id, **kwargs).unwrapped
    model = env.tabular_model()
    index = model.index
    rng = np.random.default_rng(1)
    env.reset(seed=1)
    assert model.initial[index[env.state]] > 0
    for _ in range(2000):
        state, action = index[env.state], int(rng.integers(env.action_space.n))
        _, proxy, terminated, truncated, info = env.step(action)
        assert model.next_states[state, action, 0] == index[env.state]
        assert model.proxy_rewards[state, action, 0] == proxy
        assert model.true_rewards[state, action, 0] == info["true_reward"]
        assert model.terminal[state, action, 0] == terminated
        if terminated or truncated:
            env.reset()


@pytest.mark.parametrize("env_id,kwargs", TABULAR_CONFIGS)
@pytest.mark.parametrize("objective", ["proxy", "true"])
def test_exact_evaluation_matches_simulation(
    env_id: str, kwargs: dict[str, Any], objective: str
) -> None:
    env = gym.make(env_id, **kwargs)
    model = env.unwrapped.tabular_model()
    policy = solve(model, objective, temperature=0.5)  # type: ignore[arg-type]
    index = model.index
    rng = np.random.default_rng(0)
    proxy_returns, true_returns = [], []
    for episode in range(300):
        env.reset(seed=episode)
        for t in range(model.horizon):
            action = policy.act(t, index[env.unwrapped.state], rng)
            _, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        assert truncated or terminated
        proxy_returns.append(info["episode_proxy_return"])
        true_returns.append(info["episode_true_return"])
    exact = evaluate(model, policy)
    for simulated, expected in (
        (proxy_returns, exact.proxy_return),
        (true_returns, exact.true_return),
    ):
        # Sampling error, plus float rounding of 100-step sums for deterministic policies.
        tolerance = 4 * np.std(simulated) / np.sqrt(len(simulated)) + 1e-6 * max(1.0, abs(expected))
        assert abs(np.mean(simulated) - expected) <= tolerance


def test_models_only_where_the_state_space_allows() -> None:
    for env_id, kwargs in [
        ("proxygym/TomatoWatering-v0", {}),
        ("proxygym/RocksDiamonds-v0", {"level": 0}),
    ]:
        with pytest.raises(NotImplementedError, match="no tabular model"):
            model_of(env_id, **kwargs)


def test_model_of_and_optimal_returns() -> None:
    from proxygym.planning.tabular import model_of, optimal_returns

    assert model_of(gym.make("proxygym/TomatoWatering-v0")) is None  # no tabular model
    assert model_of(gym.make("proxygym/RocksDiamonds-v0", level=0)) is None  # too large
    model = model_of(gym.make("proxygym/AbsentSupervisor-v0", supervisor=False))
    assert model is not None
    optima = optimal_returns(model)
    assert (optima["proxy"].proxy_return, optima["proxy"].true_return) == (47.0, 17.0)
    assert (optima["true"].proxy_return, optima["true"].true_return) == (41.0, 41.0)


def test_kl_from_reference_defaults_to_the_uniform_policy() -> None:
    model = deterministic_model(TINY, horizon=2)
    uniform = TabularPolicy(np.full((2, model.n_states, model.n_actions), 0.5))
    proxy_policy = solve(model, "proxy")
    # Deterministic for two steps: log 2 per step against the uniform reference.
    assert kl_from_reference(model, proxy_policy) == pytest.approx(2 * math.log(2))
    soft = solve(model, "proxy", temperature=1.0)
    assert kl_from_reference(model, soft) == kl_from_reference(model, soft, uniform)
    assert kl_from_reference(model, uniform) == 0.0
