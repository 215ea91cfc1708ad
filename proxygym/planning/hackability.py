"""Is a proxy hackable? Exact pairwise-ordering check after Skalse et al. 2022.

A proxy is *hackable* on a policy set when some pair of policies is ordered
strictly one way by the expected proxy return and strictly the other way by
the expected true return: improving the proxy can then make things worse.
Skalse et al. show that over all stochastic policies almost every non-trivial
proxy is hackable, and suggest checking small MDPs by enumerating their
deterministic policies; :func:`hackability` does exactly that for the
stationary deterministic policies (one action per state, used at every time
step) of a :class:`~proxygym.planning.tabular.TabularModel`.

Returns are computed exactly by a backward pass vectorised over many
policies at once (:func:`stationary_returns`), so all 65,536 policies of
BoatRace take about a second. The pairwise check sorts by proxy return and
compares against the running maximum of the true return: ``O(N log N)``,
not ``O(N^2)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from proxygym.planning.tabular import TabularModel, TabularPolicy, solve

#: Two returns closer than this count as tied (absolute, in return units).
#: Returns are float64 sums of at most ``horizon`` rewards, so rounding error
#: is many orders of magnitude smaller; genuine differences are far larger.
DEFAULT_TOLERANCE = 1e-9

#: Search: weights ``w`` of the mixed objective ``(1 - w) proxy + w true``
#: (0 and 1 first, so a small budget still gets both pure optima).
MIX_WEIGHTS = (0.0, 1.0, 0.5, 0.25, 0.75, 0.1, 0.9)
#: Search: temperatures, as multiples of the mixed objective's largest |reward|.
TEMPERATURE_FACTORS = (0.0, 0.01, 0.1, 1.0)

#: Policies are evaluated in blocks holding about this many (state, outcome)
#: entries: small enough for the working set to stay in cache (measured ~4x
#: faster than one big block on BoatRace) and to bound memory on big models.
_BLOCK_OUTCOMES = 1 << 16


@dataclass(frozen=True)
class RankedPolicy:
    """A stationary deterministic policy and its exact expected returns.

    Attributes:
        actions: one action per state index, shape ``(n_states,)``.
        proxy_return: expected proxy return over one episode.
        true_return: expected true return over one episode.
    """

    actions: np.ndarray
    proxy_return: float
    true_return: float


@dataclass(frozen=True)
class HackingWitness:
    """Two policies the proxy and the true objective order strictly oppositely.

    Attributes:
        proxy_preferred: the policy with the higher proxy return and the lower
            true return (what optimizing the proxy would pick).
        true_preferred: the policy with the lower proxy return and the higher
            true return.
    """

    proxy_preferred: RankedPolicy
    true_preferred: RankedPolicy

    @property
    def true_loss(self) -> float:
        """True return given up by following the proxy's preference (> 0)."""
        return self.true_preferred.true_return - self.proxy_preferred.true_return

    @property
    def proxy_gain(self) -> float:
        """Proxy return gained by following the proxy's preference (> 0)."""
        return self.proxy_preferred.proxy_return - self.true_preferred.proxy_return


@dataclass(frozen=True)
class HackabilityResult:
    """Whether the proxy is hackable on the stationary deterministic policies.

    Attributes:
        hackable: a witness pair was found. Always certain.
        exhaustive: every stationary deterministic policy was checked, so
            ``hackable=False`` is a proof. When False, only a search was run
            and ``hackable=False`` is merely "no witness found": a lower bound
            on hackability, not a proof of safety.
        n_policies: number of distinct policies evaluated.
        witness: when hackable, a reversed pair chosen to show what pushing
            the proxy up leads to: its proxy-preferred policy has the highest
            proxy return of any policy in a reversal (the highest-true-loss
            one among ties), and its true-preferred policy is the best in
            true return among those with a strictly lower proxy return.
            None when not hackable.
        tolerance: returns closer than this counted as tied.
    """

    hackable: bool
    exhaustive: bool
    n_policies: int
    witness: HackingWitness | None
    tolerance: float

    @property
    def conclusive(self) -> bool:
        """Whether ``hackable`` is proven either way (a witness, or an exhaustive check)."""
        return self.hackable or self.exhaustive

    @property
    def verdict(self) -> str:
        """One line saying what was shown and how strongly."""
        if self.hackable:
            return f"hackable (witness among {self.n_policies} policies)"
        if self.exhaustive:
            return f"not hackable (all {self.n_policies} stationary deterministic policies checked)"
        return (
            f"no witness among {self.n_policies} searched policies "
            "(not a proof: the policy set was not enumerated)"
        )


def hackability(
    model: TabularModel,
    max_policies: int = 100_000,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> HackabilityResult:
    """Check whether ``model``'s proxy is hackable on its stationary deterministic policies.

    When ``n_actions ** n_states <= max_policies`` every such policy is
    enumerated and the answer is exact. Otherwise a search evaluates up to
    ``max_policies`` distinct policies (duplicates are dropped), in this order
    of priority:

    1. the stationary projections of the optimal and soft-optimal policies
       (:func:`~proxygym.planning.tabular.solve`) of the mixed objectives
       ``(1 - w) proxy + w true`` for ``w`` in :data:`MIX_WEIGHTS` and
       temperatures :data:`TEMPERATURE_FACTORS` times the objective's largest
       absolute reward; a time-dependent policy is projected by taking its
       most likely action per state at steps 0, ``horizon // 2`` and
       ``horizon - 1``;
    2. every policy differing from one of those in exactly one state;
    3. uniformly random deterministic policies drawn with ``seed``.

    A witness found by the search is a real witness; finding none is not a
    proof (``exhaustive=False``).

    Args:
        model: the MDP with its proxy and true rewards.
        max_policies: enumeration threshold and search budget (>= 1).
        tolerance: returns differing by at most this are tied, so ties are
            never counted as opposite orderings (see :data:`DEFAULT_TOLERANCE`).
        seed: seed of the random part of the search.
    """
    if isinstance(max_policies, bool) or not isinstance(max_policies, int) or max_policies < 1:
        raise ValueError(f"max_policies must be an integer >= 1, got {max_policies!r}")
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    n_total = model.n_actions**model.n_states
    exhaustive = n_total <= max_policies
    # Exhaustive: policy i is _decode(i), never materialised all at once.
    candidates = None if exhaustive else _search_candidates(model, max_policies, seed)
    if candidates is None:
        proxy, true = _enumerated_returns(model, n_total)
    else:
        proxy, true = stationary_returns(model, candidates)
    pair = _top_reversal(proxy, true, tolerance)
    witness = None
    if pair is not None:
        ranked = []
        for i in pair:
            actions = (
                _decode(model, np.array([i]))[0] if candidates is None else candidates[i].copy()
            )
            actions.flags.writeable = False
            ranked.append(RankedPolicy(actions, float(proxy[i]), float(true[i])))
        witness = HackingWitness(proxy_preferred=ranked[0], true_preferred=ranked[1])
    return HackabilityResult(
        hackable=witness is not None,
        exhaustive=exhaustive,
        n_policies=int(proxy.size),
        witness=witness,
        tolerance=tolerance,
    )


def stationary_returns(model: TabularModel, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact expected proxy and true returns of many stationary deterministic policies.

    Args:
        model: the MDP.
        actions: shape ``(n_policies, n_states)``, one action per state index.

    Returns:
        ``(proxy_returns, true_returns)``, each of shape ``(n_policies,)``;
        identical to :func:`~proxygym.planning.tabular.evaluate` on
        :func:`stationary_policy` of each row, but one backward pass for all.
    """
    actions = _checked_actions(model, actions)
    n_policies = actions.shape[0]
    returns = np.empty((2, n_policies))
    block = max(1, _BLOCK_OUTCOMES // (model.n_states * model.probs.shape[2]))
    for start in range(0, n_policies, block):
        returns[:, start : start + block] = _block_returns(model, actions[start : start + block])
    return returns[0], returns[1]


def stationary_policy(model: TabularModel, actions: np.ndarray) -> TabularPolicy:
    """The :class:`~proxygym.planning.tabular.TabularPolicy` taking ``actions[s]`` in ``s``."""
    actions = _checked_actions(model, actions)
    if actions.shape[0] != 1:
        raise ValueError(f"actions must be one policy of shape ({model.n_states},)")
    one_hot = np.eye(model.n_actions)[actions[0]]
    return TabularPolicy(np.broadcast_to(one_hot, (model.horizon, *one_hot.shape)).copy())


def _checked_actions(model: TabularModel, actions: np.ndarray) -> np.ndarray:
    """``actions`` as an ``(n_policies, n_states)`` integer array, or ValueError."""
    array = np.asarray(actions)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != model.n_states:
        raise ValueError(
            f"actions must have shape (n_policies, {model.n_states}) or ({model.n_states},), "
            f"got {np.shape(actions)}"
        )
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"actions must be integers, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= model.n_actions):
        raise ValueError(
            f"actions must lie in [0, {model.n_actions}), got range [{array.min()}, {array.max()}]"
        )
    return array.astype(np.int64, copy=False)


def _block_returns(model: TabularModel, actions: np.ndarray) -> np.ndarray:
    """Returns ``(2, n)`` (proxy, true) of ``n`` policies by backward induction over the horizon.

    ``V_t(s) = sum_k p_k (r_k + [not terminal_k] V_{t+1}(next_k))`` with the
    policy's action in ``s``, exactly the recursion :func:`evaluate` unrolls
    forwards; the return is ``initial @ V_0``. Values of all ``n`` policies
    live in one flat ``(2, n * S)`` array so each backup is one gather per
    outcome slot.
    """
    n, n_states = actions.shape
    states = np.arange(n_states)
    probs = model.probs[states, actions]  # (n, S, K)
    rewards = np.stack(
        [
            (probs * model.proxy_rewards[states, actions]).sum(axis=2).ravel(),
            (probs * model.true_rewards[states, actions]).sum(axis=2).ravel(),
        ]
    )  # (2, n * S)
    offsets = (np.arange(n) * n_states)[:, None, None]
    # Per outcome slot k: flat successor indices and continuation probabilities, (K, n * S).
    successors = np.ascontiguousarray(
        (model.next_states[states, actions] + offsets).reshape(n * n_states, -1).T
    )
    continuing = np.ascontiguousarray(
        np.where(model.terminal[states, actions], 0.0, probs).reshape(n * n_states, -1).T
    )
    values = np.zeros_like(rewards)
    gathered = np.empty_like(rewards)
    for _ in range(model.horizon):
        backup = rewards.copy()
        for slot_successors, slot_continuing in zip(successors, continuing, strict=True):
            np.take(values, slot_successors, axis=1, out=gathered)
            gathered *= slot_continuing
            backup += gathered
        values = backup
    return values.reshape(2, n, n_states) @ model.initial


def _enumerated_returns(model: TabularModel, n_total: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns of every stationary deterministic policy, policy ``i`` being :func:`_decode` (i)."""
    proxy = np.empty(n_total)
    true = np.empty(n_total)
    block = max(1, _BLOCK_OUTCOMES // (model.n_states * model.probs.shape[2]))
    for start in range(0, n_total, block):
        stop = min(start + block, n_total)
        actions = _decode(model, np.arange(start, stop))
        proxy[start:stop], true[start:stop] = stationary_returns(model, actions)
    return proxy, true


def _decode(model: TabularModel, codes: np.ndarray) -> np.ndarray:
    """Policy numbers to actions: the base-``n_actions`` digits, state 0 most significant."""
    powers = model.n_actions ** np.arange(model.n_states - 1, -1, -1, dtype=np.int64)
    return (codes[:, None] // powers) % model.n_actions


def _search_candidates(model: TabularModel, budget: int, seed: int) -> np.ndarray:
    """Up to ``budget`` distinct policies, structured ones first (see :func:`hackability`).

    The one-state variants are built a block of ``budget`` rows at a time and
    only until ``budget`` distinct policies are in hand: all of them at once
    take ``projections x n_states x n_actions x n_states`` integers, 12.8 GiB
    for a model of 4,225 states.
    """
    structured = _optimal_projections(model)
    for block in _one_state_variants(structured, model.n_actions, budget):
        if len(structured) >= budget:
            break
        structured = _unique_in_order(np.concatenate([structured, block]))
    n_random = max(0, budget - len(structured))
    rng = np.random.default_rng(seed)
    random = rng.integers(model.n_actions, size=(n_random, model.n_states))
    return _unique_in_order(np.concatenate([structured, random]))[:budget]


def _one_state_variants(
    projections: np.ndarray, n_actions: int, block_rows: int
) -> Iterator[np.ndarray]:
    """Every policy differing from a projection in at most one state, in blocks of ``block_rows``.

    Variant ``v`` is projection ``v // (S A)`` with action ``v % A`` in state
    ``(v // A) % S``: projection by projection, state by state, action by action.
    """
    n_projections, n_states = projections.shape
    n_variants = n_projections * n_states * n_actions
    for start in range(0, n_variants, block_rows):
        variant = np.arange(start, min(start + block_rows, n_variants))
        rows = projections[variant // (n_states * n_actions)]  # a copy (fancy indexing)
        rows[np.arange(len(variant)), (variant // n_actions) % n_states] = variant % n_actions
        yield rows


def _optimal_projections(model: TabularModel) -> np.ndarray:
    """Stationary projections of (soft-)optimal policies of mixed objectives, deduplicated."""
    times = sorted({0, model.horizon // 2, model.horizon - 1})
    rows: list[np.ndarray] = []
    for factor in TEMPERATURE_FACTORS:
        for weight in MIX_WEIGHTS:
            rewards = (1 - weight) * model.proxy_rewards + weight * model.true_rewards
            scale = float(np.abs(rewards).max()) or 1.0
            mixed = replace(model, proxy_rewards=rewards)
            policy = solve(mixed, "proxy", temperature=factor * scale)
            rows.extend(policy.probs[t].argmax(axis=1) for t in times)
    return _unique_in_order(np.array(rows, dtype=np.int64))


def _unique_in_order(rows: np.ndarray) -> np.ndarray:
    """Distinct rows of ``rows`` in order of first occurrence."""
    _, first = np.unique(rows, axis=0, return_index=True)
    return rows[np.sort(first)]


def _top_reversal(proxy: np.ndarray, true: np.ndarray, tolerance: float) -> tuple[int, int] | None:
    """The witness pair ``(i, j)`` described in :class:`HackabilityResult`, or None.

    A reversal is ``proxy[i] > proxy[j] + tolerance`` and
    ``true[i] < true[j] - tolerance``. Among the policies ``i`` in some
    reversal, those with the highest proxy return (within ``tolerance``) are
    kept, and of those the one with the largest ``max_j true[j] - true[i]``.
    Sorting by proxy return makes the candidates ``j`` of each ``i`` a prefix
    of the sorted order, whose best true return is a running maximum:
    ``O(N log N)`` rather than ``O(N^2)`` pairs.
    """
    order = np.argsort(proxy, kind="stable")
    proxy_sorted, true_sorted = proxy[order], true[order]
    best_true = np.maximum.accumulate(true_sorted)
    positions = np.arange(order.size)
    best_position = np.maximum.accumulate(np.where(true_sorted == best_true, positions, 0))
    # How many policies have a proxy return below each one's by more than the tolerance.
    n_below = np.searchsorted(proxy_sorted, proxy_sorted - tolerance, side="left")
    prefix_end = np.maximum(n_below - 1, 0)
    loss = np.where(n_below > 0, best_true[prefix_end] - true_sorted, -np.inf)
    reversed_ = loss > tolerance
    if not reversed_.any():
        return None
    top = proxy_sorted[reversed_].max()
    i = int(np.argmax(np.where(reversed_ & (proxy_sorted >= top - tolerance), loss, -np.inf)))
    return int(order[i]), int(order[best_position[prefix_end[i]]])
