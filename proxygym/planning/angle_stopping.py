"""Early stopping by reward angle (Karwowski et al. 2023), for exact tabular optimisation.

A policy's expected return is linear in its *occupancy*: with ``eta[t, s, a]``
the probability of taking action ``a`` in state ``s`` at step ``t`` and
``R[t, s, a]`` the expected reward of that step (``sum_k probs * rewards``),
``return = eta . R``. Optimisation pressure on the proxy moves the occupancy
along a path ``eta_0, eta_1, ...``; here the path is the proxy soft optimum at
decreasing temperatures, starting from the uniform policy (temperature inf).

Let ``theta`` be the angle between the proxy and true reward vectors. A step
``d = eta_{k+1} - eta_k`` whose angle with the proxy is below ``pi/2 - theta``
has, by the triangle inequality for angles, an angle below ``pi/2`` with the
true reward, so ``d . R_true > 0``: the step raises the true return. The rule
walks the path and stops before the first step that does not pass this test,
so it never lets the true return drop, whatever the true reward is, given
only ``theta`` (or an upper bound on it). The price is that it may stop long
before the true return peaks.

By default both rewards are first projected onto the directions occupancies
can move in, as in Karwowski et al.'s projected angle: a component every
policy collects equally (potential-based shaping, reward in unreachable
states) cannot tell policies apart, and every step ``d`` has ``d . R = d .
P R``. ``projected=False`` compares the raw vectors instead. The guarantee
holds either way, as long as ``theta`` is measured the same way as the step
angles; projection makes each step's angle with the proxy smaller (it passes
more steps) and ``theta`` the angle that actually matters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from proxygym.planning.tabular import (
    Objective,
    TabularModel,
    TabularPolicy,
    _flows,
    evaluate,
    solve,
)

#: Steps whose occupancy change is shorter than this (Euclidean norm) are
#: float round-off between practically identical policies: they have no
#: meaningful direction, change both returns by nothing measurable, and are
#: taken without being tested.
NULL_STEP_NORM = 1e-10
#: A true-return fall smaller than this, relative to the returns' scale, is round-off.
DROP_TOLERANCE = 1e-9
#: Conjugate gradients stop at this residual, relative to the right-hand side.
PROJECTION_TOLERANCE = 1e-12


def angle_between(u: np.ndarray, v: np.ndarray) -> float:
    """The angle in radians, in ``[0, pi]``, between two non-zero vectors of the same shape."""
    if np.shape(u) != np.shape(v):
        raise ValueError(f"vectors have shapes {np.shape(u)} and {np.shape(v)}")
    a = np.asarray(u, dtype=np.float64).ravel()
    b = np.asarray(v, dtype=np.float64).ravel()
    norm_a, norm_b = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if norm_a == 0.0 or norm_b == 0.0:
        raise ValueError("the angle with a zero vector is undefined")
    cosine = float(a @ b) / (norm_a * norm_b)
    return math.acos(min(1.0, max(-1.0, cosine)))


def _uniform(model: TabularModel) -> TabularPolicy:
    shape = (model.horizon, model.n_states, model.n_actions)
    return TabularPolicy(np.full(shape, 1.0 / model.n_actions))


def occupancy_vector(model: TabularModel, policy: TabularPolicy) -> np.ndarray:
    """``eta[t, s, a]``: the probability of taking ``a`` in ``s`` at step ``t``, flattened.

    Shape ``(horizon * n_states * n_actions,)``, in ``(t, s, a)`` C order,
    matching :func:`expected_reward_vector`. Mass that has terminated is gone,
    so each step's entries sum to the probability the episode is still running.
    """
    steps = [
        occupancy[:, None] * policy.probs[t]
        for t, (occupancy, _) in enumerate(_flows(model, policy))
    ]
    return np.concatenate([step.ravel() for step in steps])


def expected_reward_vector(model: TabularModel, objective: Objective) -> np.ndarray:
    """``R[t, s, a] = sum_k probs[s, a, k] * rewards[s, a, k]``, flattened like the occupancy.

    Rewards do not depend on ``t``, so the ``(S, A)`` table is repeated for
    every step; ``occupancy_vector(model, pi) @ expected_reward_vector(model,
    objective)`` is ``pi``'s expected return of ``objective``.
    """
    per_step = (model.probs * model.rewards(objective)).sum(axis=2)
    return np.tile(per_step.ravel(), model.horizon)


class _FlowConstraints:
    """The linear constraints ``C eta = b`` every occupancy satisfies, as operators.

    One row per state ``s`` reachable at step ``t``: the mass leaving it,
    ``sum_a eta[t, s, a]``, minus the mass arriving from step ``t - 1``,
    equals the initial probability at ``t = 0`` and 0 later. Coordinates of
    states no policy reaches are 0 for every occupancy and are dropped too.
    Occupancy differences are exactly the vectors ``d`` on the reachable
    coordinates with ``C d = 0``.
    """

    def __init__(self, model: TabularModel) -> None:
        self.model = model
        # The uniform policy reaches every state any policy can reach.
        self.reachable = np.array(
            [occupancy > 0 for occupancy, _ in _flows(model, _uniform(model))]
        )
        self.continuing = model.probs * np.where(model.terminal, 0.0, 1.0)

    def transpose(self, y: np.ndarray) -> np.ndarray:
        """``C^T y`` for ``y`` of shape ``(H, S)``: ``y[t, s] - E[y[t + 1, next] | s, a]``."""
        model = self.model
        arriving = (self.continuing * y[1:, model.next_states]).sum(axis=3)
        last = np.zeros((1, model.n_states, model.n_actions))
        x = y[:, :, None] - np.concatenate([arriving, last])
        return np.where(self.reachable[:, :, None], x, 0.0)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """``C x`` for ``x`` of shape ``(H, S, A)``: mass leaving minus mass arriving."""
        model = self.model
        y = x.sum(axis=2)
        for t in range(1, model.horizon):
            y[t] -= np.bincount(
                model.next_states.ravel(),
                weights=(x[t - 1][:, :, None] * self.continuing).ravel(),
                minlength=model.n_states,
            )
        return np.where(self.reachable, y, 0.0)


def project_reward(model: TabularModel, reward: np.ndarray) -> np.ndarray:
    """Orthogonal projection of a ``(t, s, a)`` reward onto the directions occupancies move in.

    That removes the part every policy collects equally: reward on unreachable
    states and (time-dependent) potential-based shaping ``y[t, s] - E[y[t+1,
    s']]``, the row space of the flow constraints ``C``. The shaping part is
    the least-squares solution of ``C C^T y = C R``, found by conjugate
    gradients. Whatever ``y`` the solver stops at, ``d . R = d .
    project_reward(R)`` for every occupancy difference ``d``, so a loose
    solve could only make the angles less tight, never the rule unsafe.
    """
    shape = (model.horizon, model.n_states, model.n_actions)
    vector = np.asarray(reward, dtype=np.float64)
    if vector.shape != (math.prod(shape),):
        raise ValueError(f"reward has shape {vector.shape}, model needs ({math.prod(shape)},)")
    constraints = _FlowConstraints(model)
    masked = np.where(constraints.reachable[:, :, None], vector.reshape(shape), 0.0)
    rhs = constraints.apply(masked)
    y = np.zeros_like(rhs)
    residual = rhs.copy()
    direction = residual.copy()
    residual_sq = float(np.sum(residual**2))
    target = (PROJECTION_TOLERANCE * float(np.linalg.norm(rhs))) ** 2
    # Conjugate gradients converge in at most rank(C) steps in exact arithmetic.
    for _ in range(int(constraints.reachable.sum())):
        if residual_sq <= target:
            break
        product = constraints.apply(constraints.transpose(direction))
        step = residual_sq / float(np.sum(direction * product))
        y += step * direction
        residual -= step * product
        previous, residual_sq = residual_sq, float(np.sum(residual**2))
        direction = residual + (residual_sq / previous) * direction
    return (masked - constraints.transpose(y)).ravel()


def _reward_vectors(model: TabularModel, projected: bool) -> tuple[np.ndarray, np.ndarray]:
    """Proxy and true expected-reward vectors, projected or not; each must tell policies apart."""
    vectors = []
    for objective in ("proxy", "true"):
        raw = expected_reward_vector(model, objective)
        vector = project_reward(model, raw) if projected else raw
        # Relative to the raw size: what projection leaves of pure shaping is round-off.
        if float(np.linalg.norm(vector)) <= 1e-9 * max(1.0, float(np.linalg.norm(raw))):
            raise ValueError(
                f"the {objective} reward gives every policy the same return: no angle to measure"
            )
        vectors.append(vector)
    return vectors[0], vectors[1]


def reward_angle(model: TabularModel, projected: bool = True) -> float:
    """The angle between the proxy and true expected-reward vectors of ``model``.

    With ``projected`` (the default), Karwowski et al.'s projected angle: both
    vectors pass through :func:`project_reward` first.
    """
    proxy, true = _reward_vectors(model, projected)
    return angle_between(proxy, true)


@dataclass(frozen=True)
class PathPoint:
    """One policy on the optimisation path.

    Attributes:
        temperature: of the proxy soft optimum (``inf`` for the uniform start).
        proxy_return: exact expected proxy return.
        true_return: exact expected true return.
        step_angle: angle between the step from this point to the next and the
            proxy reward vector; NaN for the last point and for null steps
            (see :data:`NULL_STEP_NORM`).
        reached: whether the stopping rule gets here (index <= stop index).
    """

    temperature: float
    proxy_return: float
    true_return: float
    step_angle: float
    reached: bool


@dataclass(frozen=True)
class EarlyStoppingPath:
    """The whole optimisation path and where the angle rule stops on it.

    Attributes:
        points: the path, uniform policy first.
        theta: the proxy-true angle the rule used.
        threshold: ``pi/2 - theta``; a step is taken only if its angle with
            the proxy is below this.
        stop_index: the index of the point the rule stops at (the last point
            when every step passes).
    """

    points: tuple[PathPoint, ...]
    theta: float
    threshold: float
    stop_index: int

    @property
    def stopped_true_return(self) -> float:
        """True return of the policy the rule keeps."""
        return self.points[self.stop_index].true_return

    @property
    def best_true_return(self) -> float:
        """Highest true return anywhere on the path."""
        return max(point.true_return for point in self.points)

    @property
    def true_return_given_up(self) -> float:
        """How much true return stopping early costs against the best point on the path."""
        return self.best_true_return - self.stopped_true_return

    @property
    def first_drop_index(self) -> int | None:
        """First ``k`` where the step to ``k + 1`` raises (or keeps) the proxy
        return but lowers the true return: a Goodhart drop. None if there is none."""
        scale = max(1.0, *(abs(p.true_return) for p in self.points))
        tolerance = DROP_TOLERANCE * scale
        for k in range(len(self.points) - 1):
            here, after = self.points[k], self.points[k + 1]
            proxy_holds = after.proxy_return >= here.proxy_return - tolerance
            if proxy_holds and after.true_return < here.true_return - tolerance:
                return k
        return None

    @property
    def goodhart_drop(self) -> bool:
        """Whether the unstopped path has a Goodhart drop."""
        return self.first_drop_index is not None

    @property
    def drop_avoided(self) -> bool:
        """Whether the path has a Goodhart drop and the rule stops before it."""
        drop = self.first_drop_index
        return drop is not None and self.stop_index <= drop


def early_stopping_path(
    model: TabularModel,
    temperatures: Sequence[float],
    theta: float | None = None,
    projected: bool = True,
) -> EarlyStoppingPath:
    """Walk the proxy soft-optimal path and apply the angle stopping rule.

    Args:
        model: the MDP, with both rewards.
        temperatures: strictly decreasing temperatures ``>= 0`` of the proxy
            soft optima after the uniform start (0 is the proxy optimum).
        theta: the angle between proxy and true rewards, or an upper bound on
            it (all the rule needs to know about the true reward); by default
            the exact angle, :func:`reward_angle`.
        projected: measure angles between projected rewards
            (:func:`project_reward`); a given ``theta`` must bound the angle
            measured the same way.

    Returns:
        Every point of the path with its returns and step angle, and the stop index.
    """
    values = [float(t) for t in temperatures]
    if any(not math.isfinite(t) or t < 0 for t in values):
        raise ValueError(f"temperatures must be finite and >= 0, got {values}")
    if any(later >= earlier for earlier, later in zip(values, values[1:], strict=False)):
        raise ValueError(f"temperatures must be strictly decreasing, got {values}")
    if theta is not None and not (0.0 <= theta <= math.pi):
        raise ValueError(f"theta must be an angle in [0, pi], got {theta!r}")
    proxy_reward, true_reward = _reward_vectors(model, projected)
    if theta is None:
        theta = angle_between(proxy_reward, true_reward)
    threshold = math.pi / 2 - theta

    policies = [_uniform(model)] + [solve(model, "proxy", temperature=t) for t in values]
    occupancies = [occupancy_vector(model, policy) for policy in policies]
    angles: list[float] = []
    for here, after in zip(occupancies, occupancies[1:], strict=False):
        step = after - here
        null = float(np.linalg.norm(step)) <= NULL_STEP_NORM
        angles.append(math.nan if null else angle_between(step, proxy_reward))
    angles.append(math.nan)

    stop_index = next(
        (k for k, angle in enumerate(angles[:-1]) if angle >= threshold), len(policies) - 1
    )
    points = []
    for k, (policy, temperature, angle) in enumerate(
        zip(policies, [math.inf] + values, angles, strict=True)
    ):
        returns = evaluate(model, policy)
        points.append(
            PathPoint(
                temperature=temperature,
                proxy_return=returns.proxy_return,
                true_return=returns.true_return,
                step_angle=angle,
                reached=k <= stop_index,
            )
        )
    return EarlyStoppingPath(
        points=tuple(points), theta=float(theta), threshold=threshold, stop_index=stop_index
    )
