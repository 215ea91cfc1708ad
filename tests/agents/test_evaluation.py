"""evaluate_proxy_and_true: SB3's evaluate_policy, reporting the proxy and the true returns.

Checked on BoatRace with scripted models whose returns are worked out by hand
(tests/envs/test_boat_race.py has the per-step rewards), on a single env and
on a VecEnv, and against SB3's own evaluate_policy for an untrained PPO.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy as sb3_evaluate_policy
from stable_baselines3.common.vec_env import VecNormalize

import proxygym  # noqa: F401  (registers the ids)
from proxygym.agents.evaluation import ProxyTrueEvaluation, evaluate_proxy_and_true
from proxygym.wrappers import TrueObjective

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
#: A clockwise lap of BoatRace: visible +4, hidden +8 (2/+1 onto an arrow, -1/+1 off it).
LAP = [RIGHT, RIGHT, DOWN, DOWN, LEFT, LEFT, UP, UP]
# Over the 100-step episode:
# - laps: 12 laps (96 steps) and right, right, down, down: proxy 12 * 4 + 2 = 50, true 100;
# - shuttling right, left: +2/+1 then -1/-1, 50 times: proxy 50, true 0 (the proxy gamed);
# - pushing up into the wall from the start corner: -1/-1 each step: proxy -100, true -100.
SHUTTLE_SCRIPT = [RIGHT, LEFT]
SHUTTLE = (50.0, 0.0)


class Scripted:
    """A stand-in model: plays ``scripts[k]`` (a cycle of actions) in its k-th episode.

    Like a recurrent SB3 policy it keeps its position in ``state``, one row per
    environment (step in the episode, episodes begun), and restarts on ``episode_start``.
    """

    def __init__(self, *scripts: list[int]) -> None:
        self.scripts = scripts
        self.calls: list[bool] = []

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        self.calls.append(deterministic)
        n_envs = len(observation)
        if state is None:
            state = np.zeros((n_envs, 2), dtype=int)
            state[:, 1] = -1
        state = state.copy()
        assert episode_start is not None
        for i in range(n_envs):
            if episode_start[i]:
                state[i] = (0, state[i, 1] + 1)
        actions = []
        for i in range(n_envs):
            script = self.scripts[state[i, 1] % len(self.scripts)]
            actions.append(script[state[i, 0] % len(script)])
            state[i, 0] += 1
        return np.array(actions), state


def test_scripted_laps_on_a_plain_env() -> None:
    result = evaluate_proxy_and_true(Scripted(LAP), gym.make("proxygym/BoatRace-v0"), 3)
    assert isinstance(result, ProxyTrueEvaluation)
    assert tuple(result) == (50.0, 0.0, 100.0, 0.0)
    assert result.proxy_returns == (50.0,) * 3 and result.true_returns == (100.0,) * 3
    assert result.episode_lengths == (100, 100, 100)


def test_spread_over_episodes_is_the_population_std() -> None:
    # Episodes alternate: laps (50, 100), then bumping the wall (-100, -100).
    mean_proxy, std_proxy, mean_true, std_true = evaluate_proxy_and_true(
        Scripted(LAP, [UP]), gym.make("proxygym/BoatRace-v0"), n_eval_episodes=2
    )
    assert (mean_proxy, std_proxy) == (-25.0, 75.0)
    assert (mean_true, std_true) == (0.0, 100.0)


def test_a_vec_env_divides_the_episodes_and_ignores_reward_scaling() -> None:
    venv = VecNormalize(
        make_vec_env("proxygym/BoatRace-v0", n_envs=2, seed=0), norm_obs=False, norm_reward=True
    )
    model = Scripted(SHUTTLE_SCRIPT)
    result = evaluate_proxy_and_true(model, venv, n_eval_episodes=5, deterministic=False)
    # SB3's division: 2 episodes in the first environment, 3 in the second.
    assert len(result.proxy_returns) == 5
    assert (result.mean_proxy_return, result.mean_true_return) == SHUTTLE
    assert result.std_proxy_return == result.std_true_return == 0.0
    assert model.calls and not any(model.calls)  # deterministic is passed on


def test_training_on_the_true_objective_still_reports_both_returns() -> None:
    env = TrueObjective(gym.make("proxygym/BoatRace-v0"))
    assert tuple(evaluate_proxy_and_true(Scripted(SHUTTLE_SCRIPT), env, 1)) == (
        50.0,
        0.0,
        0.0,
        0.0,
    )


def test_the_proxy_return_is_sb3s_return_for_an_untrained_ppo() -> None:
    model = PPO("MlpPolicy", make_vec_env("proxygym/BoatRace-v0", n_envs=2, seed=0), seed=0)
    ours = evaluate_proxy_and_true(model, make_vec_env("proxygym/BoatRace-v0", n_envs=2, seed=1), 4)
    episode_returns, lengths = sb3_evaluate_policy(
        model,
        make_vec_env("proxygym/BoatRace-v0", n_envs=2, seed=1),
        n_eval_episodes=4,
        return_episode_rewards=True,
    )
    assert isinstance(episode_returns, list) and isinstance(lengths, list)
    assert sorted(ours.proxy_returns) == pytest.approx(sorted(episode_returns))
    assert sorted(ours.episode_lengths) == sorted(lengths)
    assert all(np.isfinite(ours.true_returns))


@pytest.mark.parametrize("episodes", [0, -1, 2.5, True])
def test_bad_episode_counts_are_refused(episodes: Any) -> None:
    with pytest.raises(ValueError, match="n_eval_episodes"):
        evaluate_proxy_and_true(Scripted([UP]), gym.make("proxygym/BoatRace-v0"), episodes)


def test_an_env_without_the_contract_is_named() -> None:
    with pytest.raises(KeyError, match="episode_proxy_return"):
        evaluate_proxy_and_true(Scripted([0]), gym.make("CartPole-v1"), 1)
