"""The proxy/true contract, checked on every registered environment.

The rules themselves live in :mod:`proxygym.testing` (one implementation,
which users run on their own environments); this file runs them over every
setting in ``tests/conftest.py``'s CONFIGS, checks the catalogue and rendering
of every id, and checks what every ProxyEnv shares (the time limit's episode
sums, action checking, stepping before reset or after the end, bad kwargs, making
by id) on one or two environments. Each environment's own rules are in
``tests/envs/test_<env>.py``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.monitor import Monitor

import proxygym
from proxygym import testing
from proxygym.core import GOODHART_VARIANTS
from proxygym.registry import env_class
from tests.conftest import ALL_IDS, is_proxy_env


def test_every_registered_id_is_listed() -> None:
    registered = {env_id for env_id in gym.registry if env_id.startswith("proxygym/")}
    assert registered == set(ALL_IDS)
    assert {
        "proxygym/BoatRace-v0",
        "proxygym/TomatoWatering-v0",
        "proxygym/AbsentSupervisor-v0",
        "proxygym/RocksDiamonds-v0",
    } <= registered


@pytest.mark.parametrize("record", proxygym.list_envs(), ids=lambda r: r.id)
def test_list_envs_records_describe_the_env(record: proxygym.EnvRecord) -> None:
    """The catalogue's record is the environment's card (whose rules check_card tests)."""
    card = env_class(record.id).card
    assert (record.proxy, record.true_objective) == (card.proxy, card.true_objective)
    assert (record.goodhart_variant, record.knobs) == (card.goodhart_variant, card.knobs)
    assert record.proxy and record.true_objective and record.proxy != record.true_objective
    assert record.goodhart_variant in GOODHART_VARIANTS
    assert gym.spec(record.id).max_episode_steps == record.max_episode_steps == 100


#: Rollout length and seed of the checks that roll out (the others take neither).
CHECK_OPTIONS: dict[Callable[..., str | None], dict[str, int]] = {
    testing.check_info_contract: {"steps": 2000, "seed": 3},
    testing.check_seeding: {"steps": 300, "seed": 7},
    testing.check_hidden_true_objective: {"steps": 500, "seed": 11},
    testing.check_true_objective_wrapper: {"steps": 200, "seed": 5},
    testing.check_observation_from_state: {"steps": 3000, "seed": 0},
}

#: Known breaches, each an xfail that fails once fixed (strict), so this list stays true.
KNOWN_BREACHES: dict[tuple[str, Callable[..., str | None]], str] = {}
#: Rules a ProxyEnv may skip, with the reason (none today: sweeps take Box actions too).
ALLOWED_SKIPS: dict[tuple[str, Callable[..., str | None]], str] = {}


@pytest.mark.parametrize("check", testing.CHECKS, ids=lambda check: check.__name__)
def test_contract(
    config: tuple[str, dict[str, Any]],
    check: Callable[..., str | None],
    request: pytest.FixtureRequest,
) -> None:
    """Every rule of proxygym.testing, on every setting of every registered environment.

    Every rule applies to a ProxyEnv; a wrapped Gymnasium environment skips
    the rules that are ProxyEnv's own guarantees.
    """
    env_id, kwargs = config
    breach = KNOWN_BREACHES.get((env_id, check))
    if breach is not None:
        request.applymarker(
            pytest.mark.xfail(raises=testing.ContractError, strict=True, reason=breach)
        )
    reason = check(env_id, kwargs, **CHECK_OPTIONS.get(check, {}))
    allowed = ALLOWED_SKIPS.get((env_id, check))
    if allowed is not None and reason is not None and reason.startswith(allowed):
        pytest.skip(reason)
    if is_proxy_env(env_id):
        assert reason is None, f"{check.__name__} did not apply to a ProxyEnv: {reason}"
    elif reason is not None:
        pytest.skip(reason)


def test_truncation_at_the_time_limit_carries_the_episode_sums() -> None:
    env = gym.make("proxygym/BoatRace-v0")
    env.reset(seed=0)
    for step in range(1, 101):
        _, _, terminated, truncated, info = env.step(0)  # bump the wall forever
        assert not terminated
        assert truncated == (step == 100)
    assert info["episode_proxy_return"] == -100.0
    assert info["episode_true_return"] == -100.0


def test_outer_time_limit_still_gets_episode_sums_through_monitor() -> None:
    keys = ("episode_proxy_return", "episode_true_return")
    env = Monitor(gym.make("proxygym/BoatRace-v0", max_episode_steps=8), info_keywords=keys)
    env.reset(seed=0)
    for action in (3, 3, 1, 1, 2, 2, 0, 0):  # one clockwise lap
        _, _, terminated, truncated, info = env.step(action)
    assert truncated and not terminated
    assert info["episode"]["r"] == 4.0
    assert info["episode"]["episode_proxy_return"] == 4.0
    assert info["episode"]["episode_true_return"] == 8.0


@pytest.mark.parametrize("action", [4, -1, 1.0, 1.5, "1", None, np.array([1]), np.float32(2)])
def test_invalid_actions_raise_a_clear_error(action: Any) -> None:
    env = gym.make("proxygym/BoatRace-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action"):
        env.step(action)


def test_numpy_integer_actions_are_accepted() -> None:
    env = gym.make("proxygym/BoatRace-v0").unwrapped
    env.reset(seed=0)
    for action in (np.int64(3), np.array(3), np.uint8(3)):
        env.reset(seed=0)
        assert env.step(action)[1] == 2.0


def test_step_before_reset_and_after_the_end_raise() -> None:
    env = gym.make("proxygym/AbsentSupervisor-v0", supervisor=True).unwrapped
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    for action in (1, 1, 1):
        terminated = env.step(action)[2]
    assert terminated
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "message"),
    [
        ("proxygym/BoatRace-v0", {"speed": 2}, "speed"),
        ("proxygym/TomatoWatering-v0", {"dry_probability": 1.5}, "dry_probability"),
        ("proxygym/TomatoWatering-v0", {"dry_probability": "high"}, "dry_probability"),
        ("proxygym/AbsentSupervisor-v0", {"supervisor": "yes"}, "supervisor"),
        ("proxygym/RocksDiamonds-v0", {"level": 2}, "level"),
        ("proxygym/RocksDiamonds-v0", {"level": True}, "level"),
        ("proxygym/BoatRace-v0", {"max_steps": 0}, "max_steps"),
        ("proxygym/BoatRace-v0", {"render_mode": "video"}, "render_mode"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*render_mode")
def test_bad_kwargs_name_the_problem(env_id: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        gym.make(env_id, **kwargs)


def test_unknown_id_is_named() -> None:
    with pytest.raises(gym.error.Error, match="BoatRaec"):
        gym.make("proxygym/BoatRaec-v0")


def test_make_with_module_prefix_works_without_prior_import() -> None:
    code = (
        "import gymnasium as gym\n"
        "env = gym.make('proxygym:proxygym/BoatRace-v0')\n"
        "env.reset(seed=0)\n"
        "print(env.step(3)[1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "2.0"


def test_render_modes(config: tuple[str, dict[str, Any]]) -> None:
    env_id, kwargs = config
    if not is_proxy_env(env_id):
        pytest.skip("a wrapped Gymnasium environment renders as the environment it wraps")
    text_env = gym.make(env_id, render_mode="ansi", **kwargs)
    text_env.reset(seed=0)
    space = text_env.action_space
    text_env.step(1 if isinstance(space, gym.spaces.Discrete) else space.high)
    text = text_env.render()
    assert "visible score" in text and "HIDDEN score" in text
    assert text.count("\n") >= text_env.unwrapped.height + 3
    rgb_env = gym.make(env_id, render_mode="rgb_array", **kwargs)
    rgb_env.reset(seed=0)
    frame = rgb_env.render()
    unwrapped = rgb_env.unwrapped
    assert frame.dtype == np.uint8
    assert frame.shape == (unwrapped.height * 16, unwrapped.width * 16, 3)
    assert rgb_env.metadata["render_fps"] > 0
