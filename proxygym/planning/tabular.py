"""Exact finite-horizon planning for environments with small state spaces.

A :class:`~proxygym.model.TabularModel` is derived from an environment's own
transition function (``env.unwrapped.tabular_model()``), so the solver plans in exactly
the game the agent plays. :func:`solve` gives an optimal (temperature 0) or
soft-optimal (entropy-regularised, temperature > 0) time-dependent policy for
either objective; :func:`evaluate` gives its exact expected proxy and true
returns. Sweeping the inverse temperature of a proxy-soft-optimal policy is the
cleanest optimization-pressure axis there is: no training noise at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from proxygym.model import Objective, TabularModel, exact_model


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
    """The exact model of ``env.unwrapped``, or None for an environment that has none.

    Same as :func:`proxygym.model.exact_model`; :func:`proxygym.model.model_reason` says why not.
    """
    return exact_model(env)


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
    model: TabularModel, policy: TabularPolicy, reference: TabularPolicy | None = None
) -> float:
    """Expected sum over one episode of ``KL(policy_t(.|s) || reference_t(.|s))``.

    The expectation is over the states ``policy`` itself visits: the KL
    divergence of the two trajectory distributions, i.e. how far optimization
    pressure has moved the policy from where it started. ``reference`` is the
    uniformly random policy by default, as in :func:`solve`.
    """
    if reference is None:
        shape = (model.horizon, model.n_states, model.n_actions)
        reference = TabularPolicy(np.full(shape, 1.0 / model.n_actions))
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
