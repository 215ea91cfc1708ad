"""Evaluate a policy on both objectives, and how far it moved from its initial self.

Every evaluation plays ``episodes`` seeded episodes and reports the mean and
standard deviation of the proxy and true returns. With an initial policy it
also reports ``kl_from_init``: the mean, over the states the evaluated policy
visits, of ``KL(evaluated(.|s) || initial(.|s))``, so any sweep can be
replotted against KL.

A policy is a function from an observation to its action distribution there
(:mod:`proxygym.agents.distributions`), or, for Discrete actions, to its
logits (:data:`~proxygym.core.LogitsFn`, read as a
:class:`~proxygym.agents.distributions.Categorical`).
:func:`policy_distribution` builds one from any stable-baselines3 policy.
At temperature 0 the evaluated policy acts greedily (SB3's
``deterministic=True``: the argmax on Discrete actions, the mean on Box
actions); at ``T > 0`` it samples, from ``softmax(logits / T)`` on Discrete
actions and with the standard deviation scaled by ``T`` on Box actions. The
KL compares both policies as the stochastic policies they are (temperature
1), whatever the temperature the episodes are played at: a greedy policy's
distribution is a point mass, whose KL from any initial policy is about
log(number of actions) at every level, the untrained one included, and says
nothing about how far training moved the policy. By algorithm it is the KL of
the softmax distributions (PPO, A2C on Discrete; DQN's softmax of its
Q-values), of the diagonal Gaussians (PPO, A2C on Box), of SAC's pre-``tanh``
Gaussians (equal to that of its squashed ones) and of TD3's exploration
Gaussians ``N(mu(s), sigma^2)`` (``sum (mu - mu_init)^2 / (2 sigma^2)``).

:func:`evaluate_proxy_and_true` is the twin of stable-baselines3's
``evaluate_policy`` for any model with SB3's ``predict`` on any environment
or VecEnv: it reports both returns, read from the contract's episode sums.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, TypeAlias

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.distributions import (
    DiagGaussianDistribution,
    StateDependentNoiseDistribution,
)
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.type_aliases import PolicyPredictor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
from stable_baselines3.dqn.policies import DQNPolicy
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.td3.policies import TD3Policy

from proxygym.agents.distributions import (
    DEFAULT_EXPLORATION_STD,
    ActionDistribution,
    Categorical,
    DeterministicActor,
    DiagGaussian,
    DistributionFn,
    PointMass,
    SquashedDiagGaussian,
    UniformBox,
    act,
    check_temperature,
    softmax,
)
from proxygym.core import EPISODE_KEYS, LogitsFn

__all__ = [
    "EvalResult",
    "ProxyTrueEvaluation",
    "agent_distribution",
    "as_distribution",
    "evaluate_policy",
    "evaluate_proxy_and_true",
    "policy_distribution",
    "policy_logits",
    "random_distribution",
    "scripted_distribution",
    "scripted_logits",
    "snapshot_policy",
    "softmax",
    "uniform_logits",
]

#: A policy as evaluation takes it: logits (Discrete actions) or distributions (any).
PolicyFn: TypeAlias = LogitsFn | DistributionFn


@dataclass(frozen=True)
class EvalResult:
    """Mean and spread of both returns over ``episodes`` episodes."""

    proxy_return: float
    true_return: float
    proxy_return_std: float
    true_return_std: float
    episodes: int
    kl_from_init: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _observation_tensor(policy: BasePolicy, observation: np.ndarray) -> torch.Tensor:
    tensor, _ = policy.obs_to_tensor(observation)
    return tensor  # type: ignore[return-value]


def _row(tensor: torch.Tensor) -> np.ndarray:
    """The first (only) row of a batch of one, as float64."""
    return tensor.numpy()[0].astype(np.float64)


def policy_logits(policy: BasePolicy) -> LogitsFn:
    """Action logits of an SB3 policy (Q-values for DQN) for discrete actions.

    Box actions have no logits: use :func:`policy_distribution` (or
    :func:`agent_distribution`), which covers every action space.
    """
    if not isinstance(policy.action_space, gym.spaces.Discrete):
        raise TypeError(
            f"logits need a Discrete action space, got {policy.action_space}; "
            "use policy_distribution for continuous (Box) actions"
        )

    def logits(observation: np.ndarray) -> np.ndarray:
        tensor = _observation_tensor(policy, observation)
        with torch.no_grad():
            if isinstance(policy, DQNPolicy):
                out = policy.q_net(tensor)
            else:
                out = policy.get_distribution(tensor).distribution.logits  # type: ignore[attr-defined,operator]
        return _row(out)

    return logits


def _box(policy: BasePolicy) -> gym.spaces.Box:
    space = policy.action_space
    if not isinstance(space, gym.spaces.Box):
        raise TypeError(f"{type(policy).__name__} acts in {space}, expected a Box")
    return space


def _actor_critic_distribution(policy: ActorCriticPolicy) -> DistributionFn:
    """PPO's or A2C's Gaussian on Box actions (squashed when the policy squashes its output)."""
    space = _box(policy)
    if not isinstance(
        policy.action_dist, (DiagGaussianDistribution, StateDependentNoiseDistribution)
    ):
        raise TypeError(
            f"evaluation supports Gaussian policies on Box actions, got "
            f"{type(policy.action_dist).__name__}"
        )
    kind = SquashedDiagGaussian if policy.squash_output else DiagGaussian

    def distribution(observation: np.ndarray) -> ActionDistribution:
        tensor = _observation_tensor(policy, observation)
        with torch.no_grad():
            normal = policy.get_distribution(tensor).distribution
        return kind(_row(normal.loc), _row(normal.scale), space.low, space.high)  # type: ignore[union-attr]

    return distribution


def _sac_distribution(policy: SACPolicy) -> DistributionFn:
    """SAC's squashed Gaussian: the actor's pre-``tanh`` mean and standard deviation."""
    space = _box(policy)
    actor = policy.actor

    def distribution(observation: np.ndarray) -> ActionDistribution:
        tensor = _observation_tensor(policy, observation)
        with torch.no_grad():
            mean, log_std, kwargs = actor.get_action_dist_params(tensor)
            normal = actor.action_dist.proba_distribution(mean, log_std, **kwargs).distribution
        return SquashedDiagGaussian(_row(normal.loc), _row(normal.scale), space.low, space.high)

    return distribution


def _td3_distribution(policy: TD3Policy, exploration_std: Any) -> DistributionFn:
    """TD3's actor ``mu(s)`` with its exploration noise (a fraction of the half-range)."""
    space = _box(policy)
    sigma = DEFAULT_EXPLORATION_STD if exploration_std is None else exploration_std
    std = np.asarray(sigma, dtype=np.float64) * 0.5 * (space.high - space.low)

    def distribution(observation: np.ndarray) -> ActionDistribution:
        tensor = _observation_tensor(policy, observation)
        with torch.no_grad():
            scaled = _row(policy.actor(tensor))
        mean = policy.unscale_action(scaled)
        return DeterministicActor(mean, std, space.low, space.high)

    return distribution


def policy_distribution(policy: BasePolicy, exploration_std: Any = None) -> DistributionFn:
    """The action distribution of an SB3 policy at each observation, for any algorithm.

    Discrete actions give a :class:`~proxygym.agents.distributions.Categorical`
    of the logits :func:`policy_logits` gives (the same numbers); PPO and A2C
    on Box actions a :class:`~proxygym.agents.distributions.DiagGaussian`; SAC
    a :class:`~proxygym.agents.distributions.SquashedDiagGaussian`; TD3 a
    :class:`~proxygym.agents.distributions.DeterministicActor` whose noise is
    ``exploration_std`` (a fraction of the half-range, per dimension or one
    for all; default :data:`~proxygym.agents.distributions.DEFAULT_EXPLORATION_STD`).
    :func:`agent_distribution` reads that noise from the model.
    """
    if isinstance(policy.action_space, gym.spaces.Discrete):
        logits = policy_logits(policy)
        return lambda observation: Categorical(logits(observation))
    if isinstance(policy, SACPolicy):
        return _sac_distribution(policy)
    if isinstance(policy, TD3Policy):
        return _td3_distribution(policy, exploration_std)
    if isinstance(policy, ActorCriticPolicy):
        return _actor_critic_distribution(policy)
    raise TypeError(
        f"no action distribution for {type(policy).__name__} acting in {policy.action_space}"
    )


def exploration_std(model: BaseAlgorithm) -> np.ndarray | None:
    """The scale of a model's ``NormalActionNoise`` (a fraction of the half-range), or None."""
    noise = getattr(model, "action_noise", None)
    if isinstance(noise, NormalActionNoise):
        return np.asarray(noise._sigma, dtype=np.float64)
    return None


def agent_distribution(model: BaseAlgorithm, policy: BasePolicy | None = None) -> DistributionFn:
    """:func:`policy_distribution` of ``model``'s policy, or of ``policy`` (e.g. its initial
    snapshot), with TD3's exploration noise read from ``model``."""
    return policy_distribution(policy or model.policy, exploration_std(model))


def snapshot_policy(policy: BasePolicy) -> BasePolicy:
    """A frozen copy of ``policy`` (its class rebuilt, its parameters loaded), on the CPU.

    SB3's own way of saving and loading a policy, because ``copy.deepcopy``
    fails on a policy with state-dependent exploration (gSDE): its exploration
    matrix is a tensor computed from a parameter, which torch refuses to
    deepcopy. Rebuilding initialises weights from torch's generator, so the
    generator's state is saved and restored around it: taking a snapshot never
    changes the training run's randomness.
    """
    with torch.random.fork_rng(devices=[]):
        copy = type(policy)(**policy._get_constructor_parameters())
    copy.load_state_dict(policy.state_dict())
    copy.to(policy.device)
    copy.set_training_mode(False)
    copy.requires_grad_(False)
    return copy


def uniform_logits(n_actions: int) -> LogitsFn:
    """Logits of the uniformly random policy (evaluate it at temperature 1)."""
    zeros = np.zeros(n_actions)
    return lambda observation: zeros


def scripted_logits(act: Callable[[np.ndarray], int], n_actions: int) -> LogitsFn:
    """A scripted policy (observation -> action) as logits (evaluate it greedily)."""

    def logits(observation: np.ndarray) -> np.ndarray:
        scores = np.zeros(n_actions)
        scores[int(act(observation))] = 1.0
        return scores

    return logits


def random_distribution(space: gym.Space[Any]) -> PolicyFn:
    """The uniformly random policy of an action space (evaluate it at temperature 1).

    Discrete: uniform logits (:func:`uniform_logits`). Box: uniform over the
    Box (:class:`~proxygym.agents.distributions.UniformBox`; it needs finite bounds).
    """
    if isinstance(space, gym.spaces.Discrete):
        return uniform_logits(int(space.n))
    if isinstance(space, gym.spaces.Box):
        uniform = UniformBox(space.low, space.high)
        return lambda observation: uniform
    raise TypeError(f"no random policy for the action space {space}")


def scripted_distribution(act: Callable[[np.ndarray], Any], space: gym.Space[Any]) -> PolicyFn:
    """A scripted policy (observation -> action) in an action space (evaluate it greedily).

    Discrete: :func:`scripted_logits`. Box: the action as a
    :class:`~proxygym.agents.distributions.PointMass`.
    """
    if isinstance(space, gym.spaces.Discrete):
        return scripted_logits(act, int(space.n))
    return lambda observation: PointMass(np.asarray(act(observation)))


#: The distributions of :mod:`proxygym.agents.distributions` (subclasses included).
_BUILT_IN = (Categorical, DiagGaussian, UniformBox, PointMass)


def as_distribution(output: np.ndarray | ActionDistribution) -> ActionDistribution:
    """What a policy returned at one state as a distribution: an array is Categorical logits."""
    if isinstance(output, np.ndarray):
        return Categorical(output)
    # The built-in kinds first: a Protocol's isinstance check costs microseconds a step.
    if isinstance(output, _BUILT_IN) or isinstance(output, ActionDistribution):
        return output  # type: ignore[return-value]
    raise TypeError(
        f"a policy must return logits (a numpy array) or an action distribution, got "
        f"{type(output).__name__}"
    )


def evaluate_policy(
    logits: PolicyFn,
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    episodes: int,
    seed: int,
    temperature: float = 0.0,
    initial_logits: PolicyFn | None = None,
) -> EvalResult:
    """Play ``episodes`` episodes (reset seeds ``seed``, ``seed + 1``, ...).

    Args:
        logits: the evaluated policy: observation to logits (Discrete actions)
            or to an action distribution (any action space).
        temperature: 0 acts greedily; > 0 samples at that temperature
            (``softmax(logits / temperature)``, or the standard deviation scaled
            by it) with a generator seeded by ``seed``.
        initial_logits: the untrained policy, the same kind, for ``kl_from_init``
            (at temperature 1).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    check_temperature(temperature)
    env = gym.make(env_id, **(env_kwargs or {}))
    rng = np.random.default_rng(seed)
    proxy_returns, true_returns = [], []
    kl_total, kl_states = 0.0, 0
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        done = False
        while not done:
            distribution = as_distribution(logits(observation))
            action = act(distribution, rng, temperature)
            if initial_logits is not None:
                kl_total += distribution.kl(as_distribution(initial_logits(observation)))
                kl_states += 1
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        proxy_returns.append(info["episode_proxy_return"])
        true_returns.append(info["episode_true_return"])
    env.close()
    return EvalResult(
        proxy_return=float(np.mean(proxy_returns)),
        true_return=float(np.mean(true_returns)),
        proxy_return_std=float(np.std(proxy_returns)),
        true_return_std=float(np.std(true_returns)),
        episodes=episodes,
        kl_from_init=kl_total / kl_states if initial_logits is not None else None,
    )


@dataclass(frozen=True)
class ProxyTrueEvaluation:
    """Both returns of :func:`evaluate_proxy_and_true`'s episodes, and their means and spreads.

    Unpacks, like SB3's ``evaluate_policy`` result, to the four summary numbers:
    ``mean_proxy, std_proxy, mean_true, std_true = evaluate_proxy_and_true(...)``.

    Attributes:
        proxy_returns, true_returns, episode_lengths: per episode, in the order
            the episodes ended.
    """

    mean_proxy_return: float
    std_proxy_return: float
    mean_true_return: float
    std_true_return: float
    proxy_returns: tuple[float, ...]
    true_returns: tuple[float, ...]
    episode_lengths: tuple[int, ...]

    def __iter__(self) -> Iterator[float]:
        """The four summary numbers: mean and std of the proxy return, then of the true return."""
        yield self.mean_proxy_return
        yield self.std_proxy_return
        yield self.mean_true_return
        yield self.std_true_return


def evaluate_proxy_and_true(
    model: PolicyPredictor,
    env: gym.Env | VecEnv,
    n_eval_episodes: int = 10,
    deterministic: bool = True,
) -> ProxyTrueEvaluation:
    """Play ``n_eval_episodes`` episodes with ``model``; report the proxy and the true returns.

    The twin of ``stable_baselines3.common.evaluation.evaluate_policy(model,
    env, n_eval_episodes, deterministic)``, and run the same way: ``model`` is
    anything with SB3's ``predict(observation, state, episode_start,
    deterministic)`` (an algorithm, a policy or a scripted stand-in); ``env``
    a VecEnv or a single environment (put in a ``DummyVecEnv``), reset once at
    the start; a VecEnv's episodes are divided evenly among its environments
    (SB3's unbiased division). Each episode's returns are the
    ``info["episode_proxy_return"]`` and ``info["episode_true_return"]`` of
    the step that ended it, so wrappers that scale the reward (``VecNormalize``)
    or replace it (``TrueObjective``) do not change them, and no ``Monitor``
    is needed.

    Raises:
        ValueError: when ``n_eval_episodes`` < 1.
        KeyError: when the step ending an episode has no episode sums in its
            ``info`` (the environment does not follow the proxygym contract).
    """
    if (
        isinstance(n_eval_episodes, bool)
        or not isinstance(n_eval_episodes, (int, np.integer))
        or n_eval_episodes < 1
    ):
        raise ValueError(f"n_eval_episodes must be an integer >= 1, got {n_eval_episodes!r}")
    vec_env: VecEnv = env if isinstance(env, VecEnv) else DummyVecEnv([lambda: env])
    n_envs = vec_env.num_envs
    counts = np.zeros(n_envs, dtype=int)
    targets = np.array([(n_eval_episodes + i) // n_envs for i in range(n_envs)], dtype=int)
    lengths = np.zeros(n_envs, dtype=int)
    proxy_returns: list[float] = []
    true_returns: list[float] = []
    episode_lengths: list[int] = []
    observations = vec_env.reset()
    states = None
    episode_starts = np.ones(n_envs, dtype=bool)
    while (counts < targets).any():
        actions, states = model.predict(
            observations,  # type: ignore[arg-type]
            state=states,
            episode_start=episode_starts,
            deterministic=deterministic,
        )
        observations, _, dones, infos = vec_env.step(actions)
        lengths += 1
        for i in range(n_envs):
            episode_starts[i] = dones[i]
            if not dones[i]:
                continue
            if counts[i] < targets[i]:
                info = infos[i]
                missing = [key for key in EPISODE_KEYS if key not in info]
                if missing:
                    raise KeyError(
                        f"the step that ended an episode has no {missing} in its info "
                        f"(info keys: {sorted(info)}); the environment does not follow the "
                        "proxygym contract"
                    )
                proxy_returns.append(float(info["episode_proxy_return"]))
                true_returns.append(float(info["episode_true_return"]))
                episode_lengths.append(int(lengths[i]))
                counts[i] += 1
            lengths[i] = 0
    return ProxyTrueEvaluation(
        mean_proxy_return=float(np.mean(proxy_returns)),
        std_proxy_return=float(np.std(proxy_returns)),
        mean_true_return=float(np.mean(true_returns)),
        std_true_return=float(np.std(true_returns)),
        proxy_returns=tuple(proxy_returns),
        true_returns=tuple(true_returns),
        episode_lengths=tuple(episode_lengths),
    )
