"""Training callbacks that hold back proxy over-optimization.

Two mitigations for deep RL, each a stable-baselines3 callback that, switched
off, leaves training bit-for-bit the same as without it:

- :class:`KLPenalty` subtracts ``coef`` times an estimate of
  ``KL(pi(.|s) || pi_init(.|s))`` from every reward of an on-policy rollout
  (PPO, A2C; Discrete or Gaussian Box actions), the RLHF-style leash that
  keeps the policy near where it started (Gao et al. 2022 find it acts much
  like early stopping). ``coef=0`` is off.
- :class:`TrueLabelEarlyStopping` spends a small, counted budget of
  true-objective labels on periodic evaluations and stops training once the
  true return stops improving. ``patience=None`` is off (it still watches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.distributions import (
    CategoricalDistribution,
    DiagGaussianDistribution,
    Distribution,
    StateDependentNoiseDistribution,
)
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.utils import obs_as_tensor

from proxygym.agents.distributions import Categorical, act
from proxygym.agents.evaluation import agent_distribution, as_distribution, snapshot_policy

StopReason = Literal["patience", "budget"]
KLEstimator = Literal["sampled", "exact"]


def _flatten_batch(observations: np.ndarray | dict[str, np.ndarray], batch_dims: int) -> Any:
    """Merge the leading ``batch_dims`` axes (a buffer's step and env axes) into one."""
    if isinstance(observations, dict):
        return {key: _flatten_batch(value, batch_dims) for key, value in observations.items()}
    return observations.reshape(-1, *observations.shape[batch_dims:])


class KLPenalty(BaseCallback):
    """Penalise each step's reward by ``coef`` times the policy's KL from its initial self.

    After a rollout is collected, every stored reward ``r_t`` becomes ``r_t -
    coef * k_t``, where ``k_t`` measures how far the policy that collected the
    rollout has moved from a frozen copy of the policy as it was when this
    callback first saw the model; returns and advantages are then recomputed,
    so the update optimises the penalised reward. ``k_t`` is, by ``estimator``:

    - ``"sampled"`` (default): ``log pi(a_t|s_t) - log pi_init(a_t|s_t)`` for
      the action actually taken, as in RLHF (Ziegler et al. 2019). Its mean
      over ``a_t`` is exactly ``KL(pi(.|s_t) || pi_init(.|s_t))``, and because
      it depends on ``a_t`` the policy gradient of the penalised return is
      the gradient of the KL-regularised objective: the policy is pulled back
      towards ``pi_init`` in every state.
    - ``"exact"``: ``KL(pi(.|s_t) || pi_init(.|s_t))`` over the whole
      action distribution (closed form for Gaussians, summed over
      dimensions). It has less noise but depends on the state only,
      and the policy gradient treats rewards as independent of the
      parameters: the term at ``s_t`` is a baseline shift for ``a_t`` and
      only steers earlier actions away from states where the policy has
      drifted, never pulls ``pi(.|s_t)`` back. In short PPO runs on BoatRace it
      did not lower the KL at all; it is kept as the ablation that shows it.

    The exact mean KL and the mean penalty of each rollout go to SB3's logger
    as ``mitigation/kl_from_init`` and ``mitigation/kl_penalty``, and the mean
    KL to :attr:`rollout_kl`.

    SB3 internals this relies on (``OnPolicyAlgorithm.collect_rollouts``,
    SB3 2.x): ``on_rollout_end`` runs right after
    ``rollout_buffer.compute_returns_and_advantage(last_values=values,
    dones=dones)``, and the callback's ``locals`` then hold that
    ``rollout_buffer`` and the very ``values`` (value of the last
    observation) and ``dones`` used; the buffer's ``log_probs`` are those of
    the collecting policy. Before changing anything the callback recomputes
    the advantages from those locals and checks they match SB3's bit for bit,
    so a change in SB3 fails loudly instead of silently training on wrong
    advantages. Rewards in the buffer already include SB3's bootstrap for
    truncated episodes and any ``VecNormalize`` scaling; the penalty is in
    those units.

    With ``coef=0`` the buffer is left untouched (the KL is still logged):
    training is identical to training without the callback.

    On Box actions the policies are PPO's or A2C's Gaussians (plain or with
    state-dependent noise): the KL is that of the unclipped Gaussians and the
    log-probabilities are of the unclipped actions the buffer stores, as PPO's
    own ratio uses them.

    Args:
        coef: penalty weight, a finite number >= 0.
        estimator: ``"sampled"`` or ``"exact"``, see above.
    """

    def __init__(self, coef: float, estimator: KLEstimator = "sampled", verbose: int = 0) -> None:
        super().__init__(verbose)
        if isinstance(coef, bool) or not math.isfinite(coef) or coef < 0:
            raise ValueError(f"coef must be a finite number >= 0, got {coef!r}")
        if estimator not in ("sampled", "exact"):
            raise ValueError(f"estimator must be 'sampled' or 'exact', got {estimator!r}")
        self.coef = float(coef)
        self.estimator = estimator
        self.initial_policy: ActorCriticPolicy | None = None
        #: Mean KL from the initial policy over each rollout's observations.
        self.rollout_kl: list[float] = []

    def _init_callback(self) -> None:
        if not isinstance(self.model, OnPolicyAlgorithm):
            raise TypeError(f"KLPenalty needs an on-policy algorithm (PPO, A2C), got {self.model}")
        if not isinstance(self.model.action_space, (gym.spaces.Discrete, gym.spaces.Box)):
            raise TypeError(
                f"KLPenalty needs Discrete or Box actions, got {self.model.action_space}"
            )
        if not isinstance(self.model.policy.action_dist, _SUPPORTED_DISTRIBUTIONS):
            raise TypeError(
                "KLPenalty needs a categorical or Gaussian policy, got "
                f"{type(self.model.policy.action_dist).__name__}"
            )
        # A later learn() call keeps penalising distance from the very first policy.
        if self.initial_policy is None:
            self.initial_policy = snapshot_policy(self.model.policy)  # type: ignore[assignment]

    def _on_step(self) -> bool:
        return True

    def _distributions(
        self, observations: np.ndarray | dict[str, np.ndarray]
    ) -> tuple[Distribution, Distribution]:
        """The current and the initial policy's action distributions at ``observations``."""
        if self.initial_policy is None:
            raise RuntimeError("KLPenalty has not seen a model yet: pass it to learn() first")
        policy = self.model.policy
        assert isinstance(policy, ActorCriticPolicy)
        tensor = obs_as_tensor(observations, policy.device)
        return policy.get_distribution(tensor), self.initial_policy.get_distribution(tensor)

    def kl_from_initial(self, observations: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
        """Exact ``KL(pi(.|s) || pi_init(.|s))`` for a batch of observations, shape ``(N,)``."""
        with th.no_grad():
            current, initial = self._distributions(observations)
            return _kl(current, initial).cpu().numpy()

    def _on_rollout_end(self) -> None:
        buffer = self.locals.get("rollout_buffer")
        if not isinstance(buffer, RolloutBuffer) or "values" not in self.locals:
            raise RuntimeError(
                "KLPenalty expects SB3's collect_rollouts locals (rollout_buffer, values, dones) "
                "at on_rollout_end"
            )
        steps, envs = buffer.rewards.shape
        with th.no_grad():
            current, initial = self._distributions(_flatten_batch(buffer.observations, 2))
            kl = _kl(current, initial).cpu().numpy()
            initial_log_probs = _log_probs(initial, buffer.actions, steps * envs)
        if self.estimator == "exact":
            divergence = kl
        else:
            divergence = buffer.log_probs.reshape(-1) - initial_log_probs
        penalty = (np.float32(self.coef) * divergence.reshape(steps, envs)).astype(np.float32)
        self.rollout_kl.append(float(kl.mean()))
        self.logger.record("mitigation/kl_from_init", float(kl.mean()))
        self.logger.record("mitigation/kl_penalty", float(penalty.mean()))
        if self.coef == 0.0:
            return
        last_values, dones = self.locals["values"], self.locals["dones"]
        advantages = buffer.advantages.copy()
        buffer.compute_returns_and_advantage(last_values=last_values, dones=dones)
        if not np.array_equal(advantages, buffer.advantages):
            raise RuntimeError(
                "the advantages SB3 computed differ from a recomputation with the callback's "
                "locals: this SB3 version does not call on_rollout_end the way KLPenalty needs"
            )
        buffer.rewards -= penalty
        buffer.compute_returns_and_advantage(last_values=last_values, dones=dones)


#: The SB3 action distributions :class:`KLPenalty` handles.
_SUPPORTED_DISTRIBUTIONS = (
    CategoricalDistribution,
    DiagGaussianDistribution,
    StateDependentNoiseDistribution,
)


def _kl(current: Distribution, initial: Distribution) -> th.Tensor:
    """``KL(current || initial)`` per state: a Gaussian's is summed over the action dimensions."""
    kl = th.distributions.kl_divergence(current.distribution, initial.distribution)  # type: ignore[arg-type]
    return kl.sum(dim=-1) if kl.ndim > 1 else kl


def _log_probs(distribution: Distribution, actions: np.ndarray, rows: int) -> np.ndarray:
    """``log pi(a|s)`` of a buffer's ``actions`` (one row per state) under ``distribution``."""
    if isinstance(distribution, CategoricalDistribution):
        torch_distribution = distribution.distribution
        flat = th.as_tensor(actions.reshape(-1), device=torch_distribution.logits.device)
        return torch_distribution.log_prob(flat.long()).cpu().numpy()
    batch = th.as_tensor(actions.reshape(rows, -1), device=distribution.distribution.mean.device)  # type: ignore[union-attr]
    return distribution.log_prob(batch).cpu().numpy()


@dataclass(frozen=True)
class TrueLabelCheck:
    """One evaluation on the true objective.

    Attributes:
        timestep: training timesteps when the check ran.
        true_return: mean true return over the check's episodes.
        labels_used: true-reward labels spent so far, this check included.
        improved: whether it beat the best so far by more than ``min_delta``.
    """

    timestep: int
    true_return: float
    labels_used: int
    improved: bool


class TrueLabelEarlyStopping(BaseCallback):
    """Stop training when a held-out budget of true-objective labels stops improving.

    Every ``check_every`` timesteps the current policy plays
    ``episodes_per_check`` episodes of a separate environment,
    ``gym.make(env_id, **env_kwargs)``, and the callback reads each episode's
    true return from ``info["episode_true_return"]``. Every check replays the
    same episodes (reset seeds ``seed, seed + 1, ...``; with ``temperature >
    0`` the action sampler is reseeded with ``seed`` too), so checks differ
    only through the policy. After ``patience`` checks in a row that fail to
    beat the best mean true return by more than ``min_delta``, ``_on_step``
    returns False and SB3 ends training.

    The label budget is counted exactly: :attr:`labels_used` is the number of
    evaluation steps whose true reward was read (each step of each evaluation
    episode) and :attr:`episodes_used` the number of evaluation episodes
    completed. With ``max_labels``, no step beyond the budget is ever taken:
    a check that would need more is abandoned (its partial episodes count as
    spent, their returns are not used) and no further checks run. Training
    then stops as well (``stop_reason == "budget"``), because beyond that
    point nothing watches the true objective any more; the last checked
    policy is the furthest the budget can vouch for.

    With ``restore_best=True`` the policy's parameters are set, when training
    ends for any reason, to those of the best check (the optimizer state is
    not restored). Only the policy's ``state_dict`` is snapshotted, at each
    improving check.

    With ``patience=None`` the callback only watches: it never stops training
    (not even when the budget runs out, it just stops checking) and never
    restores, so training is identical to training without it; the checks
    and counts are still recorded.

    Evaluation uses its own environment and generator and runs the policy
    under ``torch.no_grad`` without drawing from torch's generator, so it
    never changes the training run's randomness.

    Args:
        env_id: environment for evaluation (normally the training env's id).
        check_every: timesteps between checks.
        episodes_per_check: evaluation episodes per check.
        patience: checks without improvement before stopping; None disables stopping.
        min_delta: improvement needed to count, in true-return units.
        temperature: 0 acts greedily; > 0 samples from ``softmax(logits / temperature)``
            (Discrete) or with the standard deviation scaled by it (Box), as in evaluation.
        seed: seeds the evaluation episodes.
        env_kwargs: constructor kwargs of the evaluation environment.
        max_labels: the label budget; None for no cap.
        restore_best: end with the best checked parameters (needs ``patience``).

    Attributes:
        labels_used: true-reward labels read so far (evaluation steps).
        episodes_used: evaluation episodes completed so far.
        checks: every completed check, in order.
        best_true_return: best mean true return of a check (``-inf`` before any).
        best_timestep: timestep of that check.
        stopped_at: timestep at which this callback stopped training, or None.
        stop_reason: ``"patience"``, ``"budget"`` or None.
        budget_spent: whether a check was abandoned for lack of labels.
    """

    def __init__(
        self,
        env_id: str,
        check_every: int,
        episodes_per_check: int = 5,
        patience: int | None = 3,
        min_delta: float = 0.0,
        temperature: float = 0.0,
        seed: int = 0,
        env_kwargs: dict[str, Any] | None = None,
        max_labels: int | None = None,
        restore_best: bool = False,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if check_every < 1 or episodes_per_check < 1:
            raise ValueError("check_every and episodes_per_check must be >= 1")
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {patience}")
        if max_labels is not None and max_labels < 1:
            raise ValueError(f"max_labels must be >= 1 or None, got {max_labels}")
        if not math.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}")
        if not math.isfinite(temperature) or temperature < 0:
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        if restore_best and patience is None:
            raise ValueError("restore_best needs early stopping on: give a patience")
        gym.spec(env_id)  # fails early, naming the id, when it is unknown
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.check_every = int(check_every)
        self.episodes_per_check = int(episodes_per_check)
        self.patience = patience
        self.min_delta = float(min_delta)
        self.temperature = float(temperature)
        self.seed = int(seed)
        self.max_labels = max_labels
        self.restore_best = restore_best

        self.labels_used = 0
        self.episodes_used = 0
        self.checks: list[TrueLabelCheck] = []
        self.best_true_return = -math.inf
        self.best_timestep: int | None = None
        self.stopped_at: int | None = None
        self.stop_reason: StopReason | None = None
        self.budget_spent = False
        self._next_check = self.check_every
        self._checks_without_improvement = 0
        self._best_parameters: dict[str, th.Tensor] | None = None
        self._env: gym.Env | None = None

    def _on_training_start(self) -> None:
        self._next_check = (self.num_timesteps // self.check_every + 1) * self.check_every
        if self._env is None:
            self._env = gym.make(self.env_id, **self.env_kwargs)

    def _on_step(self) -> bool:
        if self.budget_spent or self.num_timesteps < self._next_check:
            return True
        self._next_check = (self.num_timesteps // self.check_every + 1) * self.check_every
        true_return = self._evaluate()
        if true_return is None:
            self.budget_spent = True
            return self.patience is None or self._stop("budget")
        improved = true_return > self.best_true_return + self.min_delta
        self.checks.append(
            TrueLabelCheck(self.num_timesteps, true_return, self.labels_used, improved)
        )
        self.logger.record("mitigation/true_return", true_return)
        self.logger.record("mitigation/labels_used", self.labels_used)
        if improved:
            self.best_true_return = true_return
            self.best_timestep = self.num_timesteps
            self._checks_without_improvement = 0
            if self.restore_best:
                state = self.model.policy.state_dict()
                self._best_parameters = {
                    key: value.detach().clone() for key, value in state.items()
                }
            return True
        self._checks_without_improvement += 1
        if self.patience is not None and self._checks_without_improvement >= self.patience:
            return self._stop("patience")
        return True

    def _stop(self, reason: StopReason) -> bool:
        self.stopped_at = self.num_timesteps
        self.stop_reason = reason
        if self.verbose:
            print(f"TrueLabelEarlyStopping: stopped at {self.num_timesteps} steps ({reason})")
        return False

    def _evaluate(self) -> float | None:
        """Mean true return of the current policy, or None if the budget ran out first."""
        assert self._env is not None
        policy = agent_distribution(self.model)
        rng = np.random.default_rng(self.seed)
        true_returns = []
        for episode in range(self.episodes_per_check):
            observation, _ = self._env.reset(seed=self.seed + episode)
            done = False
            while not done:
                if self.max_labels is not None and self.labels_used >= self.max_labels:
                    return None
                distribution = as_distribution(policy(observation))
                if self.temperature == 0 or not isinstance(distribution, Categorical):
                    action = act(distribution, rng, self.temperature)
                else:  # this callback's own softmax, kept so its checks replay bit for bit
                    scores = distribution.logits
                    weights = np.exp((scores - scores.max()) / self.temperature)
                    action = int(rng.choice(scores.size, p=weights / weights.sum()))
                observation, _, terminated, truncated, info = self._env.step(action)
                self.labels_used += 1
                done = terminated or truncated
            self.episodes_used += 1
            true_returns.append(float(info["episode_true_return"]))
        return float(np.mean(true_returns))

    def _on_training_end(self) -> None:
        if self.restore_best and self._best_parameters is not None:
            self.model.policy.load_state_dict(self._best_parameters)
        if self._env is not None:
            self._env.close()
            self._env = None
