"""Exact finite-horizon planning for environments with small state spaces.

A :class:`TabularModel` is derived from an environment's own transition
function (``env.unwrapped.tabular_model()``), so the solver plans in exactly
the game the agent plays. :func:`solve` gives an optimal (temperature 0) or
soft-optimal (entropy-regularised, temperature > 0) time-dependent policy for
either objective; :func:`evaluate` gives its exact expected proxy and true
returns. Sweeping the inverse temperature of a proxy-soft-optimal policy is the
cleanest optimization-pressure axis there is: no training noise at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

import numpy as np

Objective = Literal["proxy", "true"]
S = TypeVar("S", bound=Hashable)


@dataclass(frozen=True)
class TabularModel:
    """A finite-horizon MDP with two reward functions.

    Transitions from state ``s`` under action ``a`` have up to ``K`` outcomes
    ``k``, each with probability ``probs[s, a, k]``, successor
    ``next_states[s, a, k]``, rewards ``proxy_rewards[s, a, k]`` and
    ``true_rewards[s, a, k]``, and flag ``terminal[s, a, k]`` (the episode ends
    on that transition). Unused outcome slots have probability 0.

    Attributes:
        states: the environment's own state objects; ``index`` maps back.
        initial: initial state distribution, shape ``(S,)``.
        horizon: number of steps in an episode (the environment's time limit).
    """

    states: tuple[Hashable, ...]
    initial: np.ndarray
    next_states: np.ndarray
    probs: np.ndarray
    proxy_rewards: np.ndarray
    true_rewards: np.ndarray
    terminal: np.ndarray
    horizon: int

    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_actions(self) -> int:
        return int(self.next_states.shape[1])

    @property
    def index(self) -> dict[Hashable, int]:
        """State object to state index."""
        return {state: i for i, state in enumerate(self.states)}

    def rewards(self, objective: Objective) -> np.ndarray:
        """Per-outcome rewards of ``objective`` (``"proxy"`` or ``"true"``)."""
        if objective == "proxy":
            return self.proxy_rewards
        if objective == "true":
            return self.true_rewards
        raise ValueError(f"objective must be 'proxy' or 'true', got {objective!r}")

    @classmethod
    def from_deterministic(
        cls,
        initial: Sequence[tuple[float, S]],
        step: Callable[[S, int], tuple[S, float, float, bool]],
        n_actions: int,
        horizon: int,
    ) -> TabularModel:
        """Enumerate every state reachable from ``initial`` under ``step``.

        Args:
            initial: ``(probability, state)`` pairs.
            step: the game's deterministic rules,
                ``step(state, action) -> (next_state, proxy, true, terminated)``.
            n_actions: number of discrete actions.
            horizon: episode length in steps.
        """
        index: dict[S, int] = {}
        states: list[S] = []
        rows: list[list[tuple[int, float, float, bool]]] = []
        frontier: deque[S] = deque()

        def visit(state: S) -> int:
            if state not in index:
                index[state] = len(states)
                states.append(state)
                frontier.append(state)
            return index[state]

        initial_indices = [(visit(state), p) for p, state in initial]
        while frontier:
            state = frontier.popleft()
            row = []
            for action in range(n_actions):
                next_state, proxy, true, terminated = step(state, action)
                row.append((visit(next_state), float(proxy), float(true), bool(terminated)))
            rows.append(row)
        start = np.zeros(len(states))
        for i, p in initial_indices:
            start[i] += p
        table = np.array([[outcome[0] for outcome in row] for row in rows], dtype=np.int64)
        shape = (len(states), n_actions, 1)
        return cls(
            states=tuple(states),
            initial=start,
            next_states=table.reshape(shape),
            probs=np.ones(shape),
            proxy_rewards=np.array([[o[1] for o in row] for row in rows]).reshape(shape),
            true_rewards=np.array([[o[2] for o in row] for row in rows]).reshape(shape),
            terminal=np.array([[o[3] for o in row] for row in rows]).reshape(shape),
            horizon=horizon,
        )


@dataclass(frozen=True)
class TabularPolicy:
    """A time-dependent stochastic policy: ``probs[t, s, a]``."""

    probs: np.ndarray

    def action_probabilities(self, t: int, state_index: int) -> np.ndarray:
        return self.probs[t, state_index]

    def act(self, t: int, state_index: int, rng: np.random.Generator) -> int:
        """Sample an action at step ``t`` in state ``state_index``."""
        return int(rng.choice(self.probs.shape[2], p=self.probs[t, state_index]))


@dataclass(frozen=True)
class Evaluation:
    """Exact expected returns of a policy over one episode."""

    proxy_return: float
    true_return: float


def _expected(model: TabularModel, rewards: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Q(s, a) = sum_k p_k (r_k + [not terminal_k] V(next_k))."""
    continuation = np.where(model.terminal, 0.0, values[model.next_states])
    return (model.probs * (rewards + continuation)).sum(axis=2)


def solve(
    model: TabularModel,
    objective: Objective = "proxy",
    temperature: float = 0.0,
    reference: TabularPolicy | None = None,
) -> TabularPolicy:
    """Finite-horizon optimal policy for ``objective`` by backward induction.

    With ``temperature > 0`` it is the soft optimum that maximises expected
    return minus ``temperature`` times the KL divergence from ``reference``
    (uniform by default, which makes it the entropy-regularised optimum):
    ``pi_t(a|s) ~ reference_t(a|s) exp(Q_t(s, a) / temperature)`` with the
    soft backup ``V_t(s) = temperature * log sum_a reference_t(a|s) exp(Q_t(s, a) / temperature)``.
    With ``temperature == 0`` it is the limit of that as the temperature goes
    to 0: optimal, splitting probability between tied best actions in
    proportion to ``reference`` (evenly by default). Lowering the temperature
    is optimization pressure: the policy moves further from ``reference``.
    """
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    shape = (model.horizon, model.n_states, model.n_actions)
    if reference is not None and reference.probs.shape != shape:
        raise ValueError(f"reference policy has shape {reference.probs.shape}, model needs {shape}")
    rewards = model.rewards(objective)
    values = np.zeros(model.n_states)
    policy = np.empty(shape)
    uniform = np.full((model.n_states, model.n_actions), 1.0 / model.n_actions)
    for t in range(model.horizon - 1, -1, -1):
        prior = uniform if reference is None else reference.probs[t]
        q = _expected(model, rewards, values)
        # Actions the reference never takes are out of reach at any temperature.
        q_allowed = np.where(prior > 0, q, -np.inf)
        best = q_allowed.max(axis=1, keepdims=True)
        if temperature == 0:
            weights = prior * np.isclose(q_allowed, best, rtol=1e-12, atol=1e-9)
            policy[t] = weights / weights.sum(axis=1, keepdims=True)
            values = best[:, 0]
        else:
            weights = prior * np.exp((q_allowed - best) / temperature)
            total = weights.sum(axis=1, keepdims=True)
            policy[t] = weights / total
            values = best[:, 0] + temperature * np.log(total[:, 0])
    return TabularPolicy(policy)


def _flows(model: TabularModel, policy: TabularPolicy) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For each step t: the state occupancy ``(S,)`` and the mass ``(S, A, K)``
    on each (state, action, outcome) when following ``policy`` from the start."""
    expected_shape = (model.horizon, model.n_states, model.n_actions)
    if policy.probs.shape != expected_shape:
        raise ValueError(f"policy has shape {policy.probs.shape}, model needs {expected_shape}")
    occupancy = model.initial.astype(float)
    for t in range(model.horizon):
        flow = (occupancy[:, None] * policy.probs[t])[:, :, None] * model.probs
        yield occupancy, flow
        occupancy = np.bincount(
            model.next_states.ravel(),
            weights=np.where(model.terminal, 0.0, flow).ravel(),
            minlength=model.n_states,
        )


def evaluate(model: TabularModel, policy: TabularPolicy) -> Evaluation:
    """Exact expected proxy and true returns of ``policy`` over one episode."""
    proxy_return = 0.0
    true_return = 0.0
    for _, flow in _flows(model, policy):
        proxy_return += float((flow * model.proxy_rewards).sum())
        true_return += float((flow * model.true_rewards).sum())
    return Evaluation(proxy_return=proxy_return, true_return=true_return)


def model_of(env: Any) -> TabularModel | None:
    """``env.unwrapped.tabular_model()``, or None for an environment that has none."""
    try:
        return env.unwrapped.tabular_model()  # type: ignore[no-any-return]
    except (AttributeError, NotImplementedError):
        return None


def optimal_returns(model: TabularModel) -> dict[Objective, Evaluation]:
    """Exact returns of the proxy-optimal and the true-optimal policy (ties split evenly)."""
    return {objective: evaluate(model, solve(model, objective)) for objective in ("proxy", "true")}


def worst_true_return(model: TabularModel) -> float:
    """The lowest expected true return any policy can get: backward induction on -true.

    A floor for normalising true returns where the uniformly random policy is
    no floor at all, because it already reaches the true optimum (CobraBounty:
    random hunting catches every wild cobra; never hunting catches none).
    """
    flipped = replace(model, true_rewards=-model.true_rewards)
    return evaluate(model, solve(flipped, "true")).true_return


def kl_from_reference(
    model: TabularModel, policy: TabularPolicy, reference: TabularPolicy
) -> float:
    """Expected sum over one episode of ``KL(policy_t(.|s) || reference_t(.|s))``.

    The expectation is over the states ``policy`` itself visits: the KL
    divergence of the two trajectory distributions, i.e. how far optimization
    pressure has moved the policy from where it started.
    """
    if policy.probs.shape != reference.probs.shape:
        raise ValueError(
            f"policy shape {policy.probs.shape} differs from "
            f"reference shape {reference.probs.shape}"
        )
    total = 0.0
    for t, (occupancy, _) in enumerate(_flows(model, policy)):
        p, q = policy.probs[t], reference.probs[t]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
        total += float(occupancy @ terms.sum(axis=1))
    return total
