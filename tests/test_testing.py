"""proxygym.testing's checks pass a correct environment and reject broken ones by rule.

Each broken environment below is the correct ``Walk`` with one mistake; its
check must raise a ContractError naming the rule the mistake breaks.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pytest

from proxygym import testing
from proxygym.core import EnvCard, ProxyEnv, check_dial, check_knob
from proxygym.rendering import board_image
from proxygym.testing import ContractError, check_proxy_env


class Walk(ProxyEnv):
    """A walk on cells 0-4 from a seeded start: the proxy pays the cell reached.

    The true objective is the same minus ``cost`` per step to the right, so
    the proxy's optimum walks right and waits there, paying for every step.
    """

    card: ClassVar[EnvCard] = EnvCard(
        proxy="the cell reached, each step",
        true_objective="the cell reached minus cost per step to the right",
        goodhart_variant="extremal",
        knobs=("cost",),
    )

    def __init__(self, cost: float = 1.5, max_steps: int = 20, render_mode: str | None = None):
        super().__init__(max_steps=max_steps, render_mode=render_mode)
        self.cost = check_knob("cost", cost)
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (5,), np.float32)
        self.position = 0

    @property
    def state(self) -> int:
        return self.position

    def _observe(self) -> np.ndarray:
        return np.eye(5, dtype=np.float32)[self.position]

    def _reset_state(self, options: dict[str, Any] | None) -> np.ndarray:
        self.position = int(self.np_random.integers(5))
        return self._observe()

    def _advance(self, action: int) -> tuple[np.ndarray, float, float, bool]:
        self.position = min(max(self.position + (1 if action == 1 else -1), 0), 4)
        proxy = float(self.position)
        return self._observe(), proxy, proxy - self.cost * action, False

    def _render(self) -> str | np.ndarray:
        row = "".join("A" if cell == self.position else "." for cell in range(5))
        if self.render_mode == "ansi":
            return row
        return board_image(np.array([list(row)]), {})


class LeaksTrueReturn(Walk):
    """Shows the episode's true return so far as a sixth observation entry."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (6,), np.float32)

    def _observe(self) -> np.ndarray:
        return np.append(super()._observe(), np.float32(self.episode_true_return))


class ShowsTrueReward(gym.Wrapper):
    """Appends the step's true reward to the observation."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (6,), np.float32)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return np.append(obs, np.float32(0.0)), info

    def step(self, action: Any) -> tuple[np.ndarray, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return np.append(obs, np.float32(info["true_reward"])), reward, terminated, truncated, info


class ForgetsTrueReward(Walk):
    """Leaves ``true_reward`` out of ``info``."""

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        del info["true_reward"]
        return obs, reward, terminated, truncated, info


class NeverResetsItsSums(Walk):
    """Keeps adding to the episode sums across episodes."""

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        proxy_sum, true_sum = self.episode_proxy_return, self.episode_true_return
        obs, info = super().reset(**kwargs)
        self.episode_proxy_return, self.episode_true_return = proxy_sum, true_sum
        return obs, info


class SlipsUnseeded(Walk):
    """Slips one cell now and then, drawn from Python's global generator, not ``np_random``."""

    def _advance(self, action: int) -> tuple[np.ndarray, float, float, bool]:
        if random.random() < 0.3:
            action = 1 - action
        return super()._advance(action)


class TakesAnyAction(Walk):
    """Reads any action as 'left' unless it equals 1."""

    def _validate_action(self, action: Any) -> int:
        return 1 if action == 1 else 0


class ShowsTheStepCount(Walk):
    """Shows how far the episode has gone, which is not part of its state."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (6,), np.float32)

    def _observe(self) -> np.ndarray:
        return np.append(super()._observe(), np.float32(self.elapsed_steps / self.max_steps))


class StepsOnForever(Walk):
    """Lets the agent step after the episode ended (though not before the first reset)."""

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.elapsed_steps > 0:
            self._needs_reset = False
        return super().step(action)


class SameProxyAndTruth(Walk):
    """Its card claims the proxy is the true objective."""

    card = EnvCard(
        proxy="the cell reached", true_objective="the cell reached", goodhart_variant="extremal"
    )


class UnsettableKnob(Walk):
    """Its card names a knob the constructor does not take."""

    card = EnvCard(
        proxy="the cell reached",
        true_objective="the cell reached minus cost",
        goodhart_variant="extremal",
        knobs=("position",),
    )


class UnsettableDial(Walk):
    """Its card names a hack-difficulty dial the constructor does not take."""

    card = EnvCard(
        proxy="the cell reached",
        true_objective="the cell reached minus cost",
        goodhart_variant="extremal",
        knobs=("cost",),
        dial="position",
    )


class DialIsAKnob(Walk):
    """Its card names its misspecification knob as its dial too."""

    card = EnvCard(
        proxy="the cell reached",
        true_objective="the cell reached minus cost",
        goodhart_variant="extremal",
        knobs=("cost",),
        dial="cost",
    )


class TextOnly(Walk):
    """Renders text only, so it refuses the rgb_array render mode sweeps build it with."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}


@pytest.fixture
def registered() -> Iterator[Callable[[type[gym.Env]], str]]:
    """Registers classes under ``test_testing/<Name>-v0`` and unregisters them afterwards."""
    ids: list[str] = []

    def register(cls: type[gym.Env]) -> str:
        env_id = f"test_testing/{cls.__name__}-v0"
        gym.register(env_id, entry_point=cls, max_episode_steps=20)
        ids.append(env_id)
        return env_id

    yield register
    for env_id in ids:
        del gym.registry[env_id]


def test_a_correct_env_passes_every_check_by_id(
    registered: Callable[[type[gym.Env]], str],
) -> None:
    outcomes = check_proxy_env(registered(Walk), {"cost": 0.5})
    assert outcomes == {check.__name__: "passed" for check in testing.CHECKS}


def test_a_correct_env_passes_as_a_class_and_as_an_instance() -> None:
    by_class = check_proxy_env(Walk, {"cost": 0.5}, steps=200)
    by_instance = check_proxy_env(Walk(cost=0.5), steps=200)
    not_registered = "skipped: not a registered id: sweeps make environments by id"
    for outcomes in (by_class, by_instance):
        assert outcomes.pop("check_sweepable").startswith(not_registered)
        assert set(outcomes.values()) == {"passed"}


@pytest.mark.parametrize(
    ("env", "check", "rule", "message"),
    [
        (ForgetsTrueReward, testing.check_info_contract, "info-contract", "lacks ['true_reward']"),
        (NeverResetsItsSums, testing.check_info_contract, "info-contract", "episode's sum is"),
        (SlipsUnseeded, testing.check_seeding, "seeding", "two rollouts from reset"),
        (
            LeaksTrueReturn,
            testing.check_hidden_true_objective,
            "hidden-true-objective",
            "adding 1 to every true reward changed the observation",
        ),
        (
            lambda: ShowsTrueReward(Walk()),
            testing.check_hidden_true_objective,
            "hidden-true-objective",
            "observation entries [5] equal the true reward",
        ),
        (
            ShowsTheStepCount,
            testing.check_observation_from_state,
            "observation-from-state",
            "shows state",
        ),
        (
            TakesAnyAction,
            testing.check_invalid_actions,
            "invalid-actions",
            "step(None) was accepted",
        ),
        (StepsOnForever, testing.check_reset_needed, "reset-needed", "after the episode ended"),
        (
            ForgetsTrueReward,
            testing.check_true_objective_wrapper,
            "true-objective-wrapper",
            "TrueObjective needs info",
        ),
        (SameProxyAndTruth, testing.check_card, "card", "proxy and true objective are the same"),
        (UnsettableKnob, testing.check_card, "card", "knob 'position' is not a constructor kwarg"),
        (UnsettableDial, testing.check_card, "card", "dial 'position' is not a constructor kwarg"),
        (DialIsAKnob, testing.check_card, "card", "dial 'cost' is also a knob"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_a_broken_env_is_rejected_naming_the_rule(
    env: Callable[..., gym.Env], check: Callable[..., str | None], rule: str, message: str
) -> None:
    with pytest.raises(ContractError, match=re.escape(message)) as raised:
        check(env)
    assert raised.value.rule == rule
    assert f"breaks rule {rule!r}" in str(raised.value)


@pytest.mark.parametrize(
    ("env", "rule"),
    [
        (ForgetsTrueReward, "info-contract"),
        (LeaksTrueReturn, "hidden-true-objective"),
        (TakesAnyAction, "invalid-actions"),
        (ShowsTheStepCount, "observation-from-state"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_check_proxy_env_raises_the_broken_rule(env: type[gym.Env], rule: str) -> None:
    with pytest.raises(ContractError) as raised:
        check_proxy_env(env, steps=200)
    assert raised.value.rule == rule


def test_an_env_sweeps_cannot_build_is_rejected(
    registered: Callable[[type[gym.Env]], str],
) -> None:
    env_id = registered(TextOnly)
    assert testing.check_gymnasium_api(env_id) is None  # Gymnasium itself has no objection
    with pytest.raises(ContractError, match="render_mode must be one of") as raised:
        testing.check_sweepable(env_id)
    assert raised.value.rule == "sweepable"


def test_rules_that_do_not_apply_say_why() -> None:
    wrapped = ShowsTrueReward(Walk())
    assert testing.check_sweepable(wrapped) is not None
    assert testing.check_card(lambda: gym.make("CartPole-v1")) == (
        "no card: the environment and its wrappers set no EnvCard"
    )
    reason = testing.check_reset_needed(lambda: gym.make("CartPole-v1"))
    assert reason is not None and reason.startswith("not a ProxyEnv")


def test_bad_input_is_named() -> None:
    with pytest.raises(gym.error.Error, match="Wlak"):
        testing.check_seeding("proxygym/Wlak-v0")
    with pytest.raises(ValueError, match="cannot apply to an environment instance"):
        testing.check_seeding(Walk(), {"cost": 1.0})
    with pytest.raises(ValueError, match="expected an environment id, class, factory or instance"):
        testing.check_seeding(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cost must be a finite number"):
        testing.check_seeding(Walk, {"cost": -1.0})


def test_random_action_and_rollout_are_seeded() -> None:
    space = gym.spaces.Discrete(3, start=-1)
    draws = [testing.random_action(space, np.random.default_rng(0)) for _ in range(2)]
    assert draws[0] == draws[1] and space.contains(draws[0])
    first = testing.rollout(Walk(), seed=4, n_steps=45)
    second = testing.rollout(Walk(), seed=4, n_steps=45)
    assert [t[1:5] for t in first] == [t[1:5] for t in second]
    assert sum(t[4] for t in first) == 2  # two 20-step episodes truncated in 45 steps


def test_importing_needs_neither_pytest_nor_stable_baselines3() -> None:
    code = (
        "import sys, proxygym.testing\n"
        "print(sorted(m for m in ('pytest', 'stable_baselines3', 'torch') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("value", [-1, 1.5, 2.0, True, "3", None])
def test_a_bad_dial_value_is_named(value: Any) -> None:
    with pytest.raises(
        ValueError, match=re.escape(f"steps must be an integer >= 0, got {value!r}")
    ):
        check_dial("steps", value)


def test_a_dial_is_an_int() -> None:
    assert check_dial("steps", np.int64(3)) == 3 and type(check_dial("steps", np.int64(3))) is int
