"""LearnedRewardProxy: a fitted reward model replaces an environment's proxy.

The agent is paid what the reward model predicts for the observation it acted
in and the action it took; the hidden true objective is still the
environment's own, so the gap between the two is the reward model's error.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from proxygym.core import reset_info
from proxygym.envs.learned_proxy._checks import check_spaces
from proxygym.envs.learned_proxy.ensemble import RewardEnsemble


class LearnedRewardProxy(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Pay a reward model's prediction as the proxy; keep the true objective untouched.

    ``step()`` returns ``ensemble.step_reward(observation, action)`` (the
    observation the action was taken in) as the reward and as
    ``info["proxy_reward"]``; ``info["true_reward"]`` is the wrapped
    environment's; ``info["episode_proxy_return"]`` and
    ``info["episode_true_return"]`` are running sums over the current episode
    (reset by ``reset()``); the wrapped environment's own proxy is kept as
    ``info["env_proxy_reward"]``. ``reset()``'s ``info`` carries the same
    keys, all 0.0. Observations, actions and episode ends are the wrapped
    environment's: the true objective never reaches the agent.

    Args:
        env: an environment following the proxygym contract, with a
            ``Discrete`` action space and a ``Box`` observation space.
        ensemble: fitted on this environment's step features (observation
            size plus number of actions).

    Raises:
        ValueError: when the spaces do not fit ``ensemble``.
        KeyError: on a step whose ``info`` lacks ``true_reward`` or ``proxy_reward``.
    """

    def __init__(self, env: gym.Env, ensemble: RewardEnsemble) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, ensemble=ensemble)
        gym.Wrapper.__init__(self, env)
        n_features = check_spaces(env, "LearnedRewardProxy")
        if n_features != ensemble.n_features:
            raise ValueError(
                f"the reward model takes {ensemble.n_features} step features but this "
                f"environment has {n_features} (observation size plus number of actions)"
            )
        self.ensemble = ensemble
        self.episode_proxy_return = 0.0
        self.episode_true_return = 0.0
        self._observation: Any = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        observation, info = self.env.reset(seed=seed, options=options)
        self._observation = observation
        self.episode_proxy_return = 0.0
        self.episode_true_return = 0.0
        return observation, {**info, **reset_info(), "env_proxy_reward": 0.0}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, _, terminated, truncated, info = self.env.step(action)
        if "true_reward" not in info or "proxy_reward" not in info:
            raise KeyError(
                "LearnedRewardProxy needs info['true_reward'] and info['proxy_reward'] on every "
                f"step; {self.env.unwrapped!r} does not follow the proxygym contract"
            )
        # The wrapped env has validated the action by now.
        proxy = self.ensemble.step_reward(self._observation, int(action))
        true = info["true_reward"]
        self._observation = observation
        self.episode_proxy_return += proxy
        self.episode_true_return += true
        info = {
            **info,
            "env_proxy_reward": info["proxy_reward"],
            "proxy_reward": proxy,
            "episode_proxy_return": self.episode_proxy_return,
            "episode_true_return": self.episode_true_return,
        }
        return observation, proxy, terminated, truncated, info

    def render(self) -> Any:
        """The wrapped environment's frame; in its text view the visible score is the learned one.

        The wrapped environment's own score line counts its own proxy, which
        this wrapper replaces, so that line is rewritten with the running sum
        of the reward model's predictions (the reward the agent is paid).
        """
        frame = self.env.render()
        if not isinstance(frame, str):
            return frame
        lines = [
            f"visible score (learned reward model):   {self.episode_proxy_return:.4g}"
            if line.startswith("visible score")
            else line
            for line in frame.split("\n")
        ]
        return "\n".join(lines)
