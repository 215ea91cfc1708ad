"""ProxyReward: terms computed exactly on hand-made steps, clear errors, noise, registration.

A scripted environment with hand-picked rewards, info numbers and observations
checks every kind of term and the weighted sums against values worked out by
hand. The registered examples built with it (AcrobotHeight,
PendulumNoTorqueCost, HopperForward) are checked against their wrapped
environment's own formulas in ``tests/envs/test_<env>.py``, and the contract
for them by tests/envs/test_contract.py; only their remaking from the spec is
checked here.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.monitor import Monitor

import proxygym
from proxygym.proxy_reward import ProxyReward, Term, Transition
from proxygym.wrappers import TrueObjective

#: Per step of ScriptedEnv: (reward, info["speed"], info["cost"]); the last step terminates.
SCRIPT = [(1.0, 2.0, 0.5), (-1.0, 4.0, 0.0), (0.5, -1.0, 2.0)]


class ScriptedEnv(gym.Env[np.ndarray, int]):
    """Three steps with the rewards and info of SCRIPT; observation ``[10 t + action]``."""

    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-100.0, 100.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(3)
        self.t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        reward, speed, cost = SCRIPT[self.t]
        self.t += 1
        observation = np.array([10 * self.t + action], np.float32)
        return observation, reward, self.t == len(SCRIPT), False, {"speed": speed, "cost": cost}


def obs_gain(transition: Transition) -> float:
    """How much the observation grew in the step."""
    return float(transition.next_observation[0] - transition.observation[0])


def play(env: gym.Env, actions: list[int]) -> list[tuple[float, dict[str, Any]]]:
    env.reset(seed=0)
    return [(step[1], step[4]) for step in map(env.step, actions)]


def test_terms_and_weighted_sums_by_hand() -> None:
    env = ProxyReward(
        ScriptedEnv(),
        proxy={"reward": 2.0, "info:speed": -0.5, Term.fn("obs_gain", obs_gain): 0.25},
        true={"reward": 1.0, "info:cost": -1.0},
    )
    steps = play(env, [2, 0, 1])
    # Observations 0 -> 12 -> 20 -> 31, so obs_gain is 12, 8, 11.
    expected_proxy = [2 * 1.0 - 0.5 * 2.0 + 0.25 * 12, 2 * -1.0 - 0.5 * 4.0 + 0.25 * 8]
    expected_proxy.append(2 * 0.5 - 0.5 * -1.0 + 0.25 * 11)
    expected_true = [1.0 - 0.5, -1.0 - 0.0, 0.5 - 2.0]
    assert [reward for reward, _ in steps] == expected_proxy  # [4.0, -2.0, 4.25]
    for (reward, info), proxy, true, proxy_sum, true_sum in zip(
        steps,
        expected_proxy,
        expected_true,
        [4.0, 2.0, 6.25],
        [0.5, -0.5, -2.0],
        strict=True,
    ):
        assert type(reward) is float and reward == info["proxy_reward"] == proxy
        assert info["true_reward"] == true
        assert info["episode_proxy_return"] == proxy_sum
        assert info["episode_true_return"] == true_sum
        assert {"speed", "cost"} <= set(info)  # the environment's own info is kept
    env.reset()
    assert env.step(0)[4]["episode_proxy_return"] == 2.0 - 1.0 + 0.25 * 10  # sums restart


def test_the_true_objective_defaults_to_the_environments_reward() -> None:
    env = ProxyReward(ScriptedEnv(), proxy={"info:speed": 1.0})
    assert [info["true_reward"] for _, info in play(env, [0, 0, 0])] == [1.0, -1.0, 0.5]
    assert [reward for reward, _ in play(env, [0, 0, 0])] == [2.0, 4.0, -1.0]


def test_function_terms_see_the_whole_step() -> None:
    seen: list[Transition] = []

    def record(transition: Transition) -> float:
        seen.append(transition)
        return 0.0

    env = ProxyReward(ScriptedEnv(), proxy={Term.fn("record", record): 1.0})
    play(env, [1, 2, 0])
    assert [float(t.observation[0]) for t in seen] == [0.0, 11.0, 22.0]
    assert [float(t.next_observation[0]) for t in seen] == [11.0, 22.0, 30.0]
    assert [t.action for t in seen] == [1, 2, 0]
    assert [t.reward for t in seen] == [1.0, -1.0, 0.5]
    assert [t.terminated for t in seen] == [False, False, True]
    assert not any(t.truncated for t in seen)
    assert seen[1].info == {"speed": 4.0, "cost": 0.0}


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        ({"rewards": 1.0}, "unknown term 'rewards'.*'reward'.*'info:<key>'.*Term.fn"),
        ({"x_velocity": 1.0}, "unknown term 'x_velocity'"),
        ({"info:": 1.0}, "non-empty key"),
        ({5: 1.0}, "unknown term 5"),
        ({}, "proxy must be a non-empty mapping"),
        ([("reward", 1.0)], "proxy must be a non-empty mapping"),
        ({"reward": float("nan")}, "weight of term 'reward' in proxy must be a finite number"),
        ({"info:speed": math.inf}, "weight of term 'info:speed' in proxy"),
        ({"reward": "1"}, "weight of term 'reward'"),
        ({"reward": True}, "weight of term 'reward'"),
        ({"reward": None}, "weight of term 'reward'"),
        ({"info:speed": 1.0, Term.info("speed"): 2.0}, "term 'info:speed' appears twice"),
    ],
)
def test_bad_proxy_terms_and_weights_raise_clear_errors(proxy: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ProxyReward(ScriptedEnv(), proxy=proxy)


def test_bad_true_weights_name_the_role() -> None:
    with pytest.raises(ValueError, match="weight of term 'reward' in true"):
        ProxyReward(ScriptedEnv(), proxy={"reward": 1.0}, true={"reward": -math.inf})


def test_bad_function_terms_and_clashing_names() -> None:
    with pytest.raises(ValueError, match="reserved"):
        Term.fn("reward", obs_gain)
    with pytest.raises(ValueError, match="reserved"):
        Term.fn("info:speed", obs_gain)
    with pytest.raises(ValueError, match="non-empty name"):
        Term.fn("", obs_gain)
    with pytest.raises(ValueError, match="must be callable"):
        Term.fn("gain", 3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two different terms are named 'gain'"):
        ProxyReward(
            ScriptedEnv(),
            proxy={Term.fn("gain", obs_gain): 1.0},
            true={Term.fn("gain", lambda t: 0.0): 1.0},
        )


def test_an_info_key_the_env_lacks_fails_at_the_first_step_listing_the_keys() -> None:
    env = ProxyReward(ScriptedEnv(), proxy={"info:x_velocity": 1.0})
    env.reset(seed=0)
    with pytest.raises(KeyError, match=r"'x_velocity' in info.*\['cost', 'speed'\]"):
        env.step(0)


def test_terms_that_are_not_numbers_or_not_finite_are_reported() -> None:
    env = ProxyReward(ScriptedEnv(), proxy={Term.fn("label", lambda t: "fast"): 1.0})  # type: ignore[arg-type, return-value]
    env.reset(seed=0)
    with pytest.raises(TypeError, match="term 'label' must be a number, got 'fast'"):
        env.step(0)
    env = ProxyReward(ScriptedEnv(), proxy={"reward": 1.0, Term.fn("nan", lambda t: math.nan): 1.0})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="proxy reward is not finite.*'nan': nan"):
        env.step(0)


def noisy_rollout(noise: float, seed: int, steps: int = 400) -> list[tuple[Any, float, float]]:
    env = ProxyReward(gym.make("CartPole-v1"), proxy={"reward": 1.0}, noise=noise)
    rng = np.random.default_rng(0)
    env.reset(seed=seed)
    out = []
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(int(rng.integers(2)))
        out.append((obs, reward, info["true_reward"]))
        if terminated or truncated:
            env.reset()
    return out


def test_noise_is_gaussian_seeded_and_leaves_the_env_alone() -> None:
    clean, noisy, again = noisy_rollout(0.0, 1), noisy_rollout(0.5, 1), noisy_rollout(0.5, 1)
    assert [step[1] for step in noisy] == [step[1] for step in again]
    assert [step[1] for step in noisy] != [step[1] for step in noisy_rollout(0.5, 2)]
    for (obs, reward, true), (obs_noisy, _, true_noisy) in zip(clean, noisy, strict=True):
        np.testing.assert_array_equal(obs, obs_noisy)  # the env's randomness is untouched
        assert true == true_noisy == reward == 1.0
    deviations = np.array([step[1] - 1.0 for step in noisy])
    assert abs(deviations.mean()) < 0.1 and 0.45 < deviations.std() < 0.55
    with pytest.raises(ValueError, match="noise"):
        ProxyReward(ScriptedEnv(), proxy={"reward": 1.0}, noise=-0.1)


def test_wrapping_a_proxygym_env_can_rebuild_its_own_pair() -> None:
    plain = gym.make("proxygym/BoatRace-v0")
    rebuilt = ProxyReward(
        gym.make("proxygym/BoatRace-v0"), proxy={"reward": 1.0}, true={"info:true_reward": 1.0}
    )
    actions = [3, 3, 1, 1, 2, 2, 0, 0, 0, 1]
    for (reward, info), (reward2, info2) in zip(
        play(plain, actions), play(rebuilt, actions), strict=True
    ):
        assert reward == reward2 and info == info2


@pytest.mark.filterwarnings("ignore:.*(unwrapped version|infinity)")
def test_a_wrapped_env_registers_under_a_new_id_and_passes_the_checkers() -> None:
    env_id = "test_proxy_reward/CartPoleUpright-v0"
    upright = Term.fn("upright", lambda t: 1.0 - abs(float(t.next_observation[2])) / 0.2095)
    if env_id not in gym.registry:
        gym.register(
            env_id,
            entry_point=lambda **kwargs: ProxyReward(
                gym.make("CartPole-v1", **kwargs), proxy={upright: 1.0}
            ),
            max_episode_steps=100,
        )
    env = Monitor(gym.make(env_id), info_keywords=("episode_proxy_return", "episode_true_return"))
    env.reset(seed=0)
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(0)  # pushing left topples the pole
        done = terminated or truncated
    assert info["episode"]["r"] == pytest.approx(info["episode"]["episode_proxy_return"])
    assert info["episode"]["episode_true_return"] == info["episode"]["l"]  # CartPole: 1 a step
    oracle = TrueObjective(gym.make(env_id))
    oracle.reset(seed=0)
    assert oracle.step(0)[1] == 1.0
    gym_check_env(
        ProxyReward(gym.make("CartPole-v1").unwrapped, proxy={upright: 1.0}),
        skip_render_check=True,  # CartPole renders with pygame, not installed by proxygym
    )
    sb3_check_env(gym.make(env_id), warn=True)


def test_proxy_reward_is_exported_by_the_wrappers_module() -> None:
    assert proxygym.wrappers.ProxyReward is ProxyReward


# -- the registered examples --------------------------------------------------


@pytest.mark.parametrize(
    "env_id", ["proxygym/AcrobotHeight-v0", "proxygym/PendulumNoTorqueCost-v0"]
)
def test_examples_remake_from_their_spec(env_id: str) -> None:
    env = gym.make(env_id)
    remade = gym.make(env.spec)
    remade.reset(seed=0)
    assert remade.unwrapped.spec.id == env_id
    assert set(remade.step(remade.action_space.sample())[4]) >= set(proxygym.INFO_KEYS)


@pytest.mark.parametrize("space", [gym.spaces.Discrete(3), gym.spaces.Discrete(4, start=-2)])
def test_fast_discrete_check_agrees_with_gymnasium(space: gym.spaces.Discrete) -> None:
    from proxygym.proxy_reward import _in_discrete

    candidates: list[object] = [True, 1.0, np.array(1), np.array([1]), "1", None]
    for value in range(-4, 6):
        candidates += [value, np.int64(value), np.int32(value), np.array(value)]
    for action in candidates:
        assert _in_discrete(space, action) == space.contains(action), repr(action)


@pytest.mark.skipif(
    importlib.util.find_spec("pygame") is not None, reason="checks the message without pygame"
)
def test_rendering_without_pygame_names_proxygyms_render_extra() -> None:
    # AcrobotHeight's and PendulumNoTorqueCost's frames are drawn in numpy; CartPole's need pygame.
    env = ProxyReward(gym.make("CartPole-v1", render_mode="rgb_array"), proxy={"reward": 1.0})
    env.reset(seed=0)
    with pytest.raises(gym.error.DependencyNotInstalled, match=r"\.\[render\]"):
        env.render()
    env.close()
