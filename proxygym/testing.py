"""The proxy/true contract as checks you can run on your own environment.

proxygym's test suite runs these on every registered environment; run them on
yours before you sweep it. Each check takes the environment as a registered
id (``"mine/CleanRoom-v0"``, or ``"mymodule:mine/CleanRoom-v0"`` to import
the registering module first), a class or factory called with ``kwargs``, or
an environment instance; it returns None when the environment follows the
rule, a sentence saying why the rule does not apply to it (for instance the
ResetNeeded guarantee of :class:`~proxygym.core.ProxyEnv` on an environment
that is not one), and raises :class:`ContractError`, an AssertionError whose
message names the rule and the step that broke it, otherwise::

    from proxygym.testing import check_proxy_env
    check_proxy_env("mine/CleanRoom-v0", {"cover_strength": 0.5})  # every rule

    # or one pytest test per rule
    @pytest.mark.parametrize("check", proxygym.testing.CHECKS, ids=lambda check: check.__name__)
    def test_contract(check):
        reason = check("mine/CleanRoom-v0")
        if reason is not None:
            pytest.skip(reason)

The rules (:data:`RULES`) are the contract of :mod:`proxygym.core` plus what
makes an environment safe to train, sweep and compare on: Gymnasium's and
stable-baselines3's env checkers pass, seeded rollouts repeat, the hidden
true objective never reaches the observation, bad actions raise, sweeps can
build it, and the card describes it. This module imports neither pytest nor
stable-baselines3 until a check needs it. ``docs/custom_env.md`` walks
through writing, checking and sweeping a new environment.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from proxygym.core import EPISODE_KEYS, GOODHART_VARIANTS, INFO_KEYS, EnvCard, ProxyEnv
from proxygym.wrappers import TrueObjective

#: What a check accepts: a registered id, a class or factory, or an instance.
EnvSource = str | gym.Env | Callable[..., gym.Env]
#: One step of :func:`rollout`: (obs, action, reward, terminated, truncated, info, next_obs).
Step = tuple[Any, Any, SupportsFloat, bool, bool, dict[str, Any], Any]

#: Every rule, by the name :class:`ContractError` reports.
RULES: dict[str, str] = {
    "gymnasium-api": "Gymnasium's env checker (gymnasium.utils.env_checker.check_env) passes",
    "sb3-api": "stable-baselines3's env checker passes",
    "info-contract": (
        "step() returns the proxy as a float reward; info carries proxy_reward equal to it, "
        "a finite float true_reward and the episode's running sums episode_proxy_return and "
        "episode_true_return on every step; observations lie in the observation space; "
        "episodes end within the time limit"
    ),
    "seeding": "reset(seed=s) and the same actions give the same rollout",
    "hidden-true-objective": (
        "the true objective never reaches the observation: no observation entry copies the "
        "true reward or the episode's true return, and changing the hidden reward of a "
        "ProxyEnv changes no observation"
    ),
    "observation-from-state": (
        "a ProxyEnv's observation is a function of its state: returns, step counts and "
        "anything else outside the state never reach the agent"
    ),
    "invalid-actions": "step() raises an error on an action outside the action space",
    "reset-needed": (
        "a ProxyEnv raises gymnasium.error.ResetNeeded when stepped before reset() or "
        "after its episode ended"
    ),
    "true-objective-wrapper": (
        "proxygym.wrappers.TrueObjective pays info['true_reward'] as the reward and keeps "
        "the proxy in info['proxy_reward']"
    ),
    "sweepable": (
        "a registered id builds and steps as a sweep builds it: gym.make with "
        "render_mode='rgb_array' (stable-baselines3's default), in a Monitor logging the "
        "episode sums"
    ),
    "card": (
        "the EnvCard names a proxy and a different true objective, a Goodhart variant, and "
        "knobs that are constructor kwargs; a proxygym/ environment's docstring has the "
        "sections Rewards, Observation Space, Arguments and its Goodhart variant"
    ),
}

#: Sections every ``proxygym/`` environment's class docstring has.
DOCSTRING_SECTIONS: tuple[str, ...] = (
    "## Rewards",
    "## Observation Space",
    "## Arguments",
    "Goodhart variant",
)


class ContractError(AssertionError):
    """An environment breaks a rule of the contract.

    Attributes:
        rule: the rule's name, a key of :data:`RULES`.
        env: the environment as the check was given it (id or class name).
        detail: what happened, with the step where it matters.
    """

    def __init__(self, rule: str, env: str, detail: str) -> None:
        self.rule = rule
        self.env = env
        self.detail = detail
        super().__init__(f"{env} breaks rule {rule!r} ({RULES[rule]}): {detail}")


# -- the environment under test ------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    """How to get the environment under test, and what to call it in messages."""

    label: str
    make: Callable[[], gym.Env]
    registered_id: str | None
    #: Whether ``make`` builds a new environment (so a check may close it).
    fresh: bool


def _subject(env: EnvSource, kwargs: Mapping[str, Any] | None) -> _Subject:
    """Normalise the ways a check can be given an environment; a ValueError for anything else."""
    settings = dict(kwargs or {})
    if isinstance(env, str):
        module, _, env_id = env.rpartition(":")
        if module:
            importlib.import_module(module)
        gym.spec(env_id)  # an unknown id fails here, naming it
        label = env_id + "".join(f" {k}={v!r}" for k, v in settings.items())
        return _Subject(label, lambda: gym.make(env_id, **settings), env_id, fresh=True)
    if isinstance(env, gym.Env):
        if settings:
            raise ValueError(
                f"kwargs {settings} cannot apply to an environment instance; pass its id or class"
            )
        return _Subject(type(env.unwrapped).__name__, lambda: env, None, fresh=False)
    if callable(env):
        name = getattr(env, "__name__", repr(env))
        return _Subject(name, lambda: env(**settings), None, fresh=True)
    raise ValueError(
        f"expected an environment id, class, factory or instance, got {env!r} "
        f"of type {type(env).__name__}"
    )


@contextmanager
def _opened(subject: _Subject) -> Iterator[gym.Env]:
    """An environment from ``subject``, closed afterwards unless it is the caller's instance."""
    env = subject.make()
    if not isinstance(env, gym.Env):
        raise ValueError(f"{subject.label} made {env!r}, not a gymnasium.Env")
    try:
        yield env
    finally:
        if subject.fresh:
            env.close()


def _layers(env: gym.Env) -> Iterator[gym.Env]:
    """``env``, then every environment it wraps, down to ``env.unwrapped``."""
    layer: Any = env
    while True:
        yield layer
        if not isinstance(layer, gym.Wrapper):
            return
        layer = layer.env


# -- rollouts -------------------------------------------------------------------


def random_action(space: gym.Space, rng: np.random.Generator) -> Any:
    """A uniform random action drawn from ``rng``: an int for Discrete, an array for a bounded Box.

    Other spaces sample from themselves, seeded from ``rng`` so the draw repeats.
    """
    if isinstance(space, gym.spaces.Discrete):
        return int(space.start + rng.integers(space.n))
    if isinstance(space, gym.spaces.Box) and space.is_bounded():
        return rng.uniform(space.low, space.high).astype(space.dtype)
    space.seed(int(rng.integers(2**31)))
    return space.sample()


def rollout(env: gym.Env, seed: int, n_steps: int, action_seed: int | None = None) -> list[Step]:
    """Random-action rollout of ``n_steps`` across episode ends; returns every transition.

    Only the first reset is seeded, so the rollout is one seeded stream.
    Array actions are recorded as lists, so that transitions compare with ``==``.
    """
    rng = np.random.default_rng(seed if action_seed is None else action_seed)
    obs, _ = env.reset(seed=seed)
    transitions: list[Step] = []
    for _ in range(n_steps):
        action = random_action(env.action_space, rng)
        next_obs, reward, terminated, truncated, info = env.step(action)
        if isinstance(action, np.ndarray):
            action = action.tolist()
        transitions.append((obs, action, reward, terminated, truncated, info, next_obs))
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
    return transitions


def _same(a: Any, b: Any) -> bool:
    """Deep equality that compares arrays element-wise (NaN equal to NaN) and dicts key by key."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            return bool(np.array_equal(a, b, equal_nan=True))
        except TypeError:  # object arrays
            return bool(np.array_equal(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _time_limit(env: gym.Env) -> int | None:
    """The most steps an episode of ``env`` may last: its registered limit or a ProxyEnv's own."""
    limits = []
    if env.spec is not None and env.spec.max_episode_steps is not None:
        limits.append(env.spec.max_episode_steps)
    if isinstance(env.unwrapped, ProxyEnv):
        limits.append(env.unwrapped.max_steps)
    return min(limits) if limits else None


# -- the checks -----------------------------------------------------------------


def check_gymnasium_api(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 0, seed: int = 0
) -> str | None:
    """Gymnasium's env checker on the unwrapped environment (``steps`` and ``seed`` unused).

    Rendering is checked for a ProxyEnv only: a wrapped Gymnasium environment
    renders as the environment it wraps, which may need pygame.
    """
    from gymnasium.utils.env_checker import check_env

    subject = _subject(env, kwargs)
    with _opened(subject) as made:
        base = made.unwrapped
        try:
            check_env(base, skip_render_check=not isinstance(base, ProxyEnv))
        except Exception as error:
            raise ContractError(
                "gymnasium-api", subject.label, f"{type(error).__name__}: {error}"
            ) from error
    return None


def check_sb3_api(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 0, seed: int = 0
) -> str | None:
    """stable-baselines3's env checker on the environment as made (``steps``, ``seed`` unused)."""
    from stable_baselines3.common.env_checker import check_env

    subject = _subject(env, kwargs)
    with _opened(subject) as made:
        try:
            check_env(made, warn=True)
        except Exception as error:
            raise ContractError(
                "sb3-api", subject.label, f"{type(error).__name__}: {error}"
            ) from error
    return None


def check_info_contract(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 1000, seed: int = 0
) -> str | None:
    """Every step of a ``steps``-step random rollout follows :mod:`proxygym.core`'s contract."""
    subject = _subject(env, kwargs)
    with _opened(subject) as made:
        limit = _time_limit(made)
        transitions = rollout(made, seed=seed, n_steps=steps)
        space = made.observation_space
    proxy_sum = true_sum = 0.0
    length = 0
    for index, (_, action, reward, terminated, truncated, info, next_obs) in enumerate(transitions):

        def fail(problem: str, index: int = index, action: Any = action) -> ContractError:
            return ContractError(
                "info-contract", subject.label, f"step {index} (action {action!r}): {problem}"
            )

        missing = [key for key in INFO_KEYS if key not in info]
        if missing:
            raise fail(f"info lacks {missing}; it has {sorted(info)}")
        if not space.contains(next_obs):
            raise fail(f"observation {next_obs!r} is not in {space}")
        if not isinstance(reward, float):
            raise fail(f"reward {reward!r} is a {type(reward).__name__}, not a float")
        if info["proxy_reward"] != reward:
            raise fail(f"info['proxy_reward'] = {info['proxy_reward']!r} but reward = {reward!r}")
        true = info["true_reward"]
        if not isinstance(true, float) or not math.isfinite(true):
            raise fail(f"info['true_reward'] = {true!r} is not a finite float")
        proxy_sum += reward
        true_sum += true
        length += 1
        for key, expected in (
            ("episode_proxy_return", proxy_sum),
            ("episode_true_return", true_sum),
        ):
            if not math.isclose(info[key], expected, rel_tol=1e-9, abs_tol=1e-9):
                raise fail(f"info[{key!r}] = {info[key]!r}, but the episode's sum is {expected!r}")
        if limit is not None and length >= limit and not (terminated or truncated):
            raise fail(f"the episode is still running after {length} steps; the limit is {limit}")
        if terminated or truncated:
            proxy_sum = true_sum = 0.0
            length = 0
    return None


def check_seeding(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 300, seed: int = 0
) -> str | None:
    """Two ``steps``-step rollouts from ``reset(seed=seed)`` with the same actions are identical."""
    subject = _subject(env, kwargs)
    with _opened(subject) as made:
        first = rollout(made, seed=seed, n_steps=steps)
    with _opened(subject) as made:
        second = rollout(made, seed=seed, n_steps=steps)
    fields = (
        "observation",
        "action",
        "reward",
        "terminated",
        "truncated",
        "info",
        "next observation",
    )
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        for name, x, y in zip(fields, a, b, strict=True):
            if not _same(x, y):
                raise ContractError(
                    "seeding",
                    subject.label,
                    f"two rollouts from reset(seed={seed}) differ at step {index} in the "
                    f"{name}: {x!r} vs {y!r}",
                )
    return None


def _copied_columns(observations: np.ndarray, series: np.ndarray) -> list[int]:
    """Indices of observation entries equal to ``series`` on every step."""
    close = np.isclose(observations, series[:, None], rtol=1e-6, atol=1e-9)
    return [int(column) for column in np.flatnonzero(close.all(axis=0))]


def _leaked_copies(subject: _Subject, steps: int, seed: int) -> str | None:
    """A description of an observation entry that copies the true reward or return, if any.

    Only series with at least three distinct values count (a one-hot entry can
    match a 0/1 series by chance), and only where they differ from the proxy's
    (a visible proxy that happens to equal the true objective hides nothing).
    """
    with _opened(subject) as made:
        space = made.observation_space
        transitions = rollout(made, seed=seed, n_steps=steps)
    try:
        observations = np.array(
            [gym.spaces.flatten(space, t[6]) for t in transitions], dtype=np.float64
        )
    except (TypeError, ValueError, NotImplementedError):
        return None  # an observation space flatten cannot handle: nothing to compare
    if observations.ndim != 2:
        return None
    series = {
        "true reward": ([t[5]["true_reward"] for t in transitions], "proxy_reward"),
        "episode true return": (
            [t[5]["episode_true_return"] for t in transitions],
            "episode_proxy_return",
        ),
    }
    for name, (values, proxy_key) in series.items():
        true = np.asarray(values, dtype=np.float64)
        proxy = np.asarray([t[5][proxy_key] for t in transitions], dtype=np.float64)
        if len(np.unique(true)) < 3 or np.allclose(true, proxy):
            continue
        columns = _copied_columns(observations, true)
        if columns:
            return f"observation entries {columns} equal the {name} on every step"
    return None


def _perturbed_observations(subject: _Subject, steps: int, seed: int) -> str | None:
    """For a ProxyEnv: a step whose observation changes when its true rewards are shifted by 1."""
    with _opened(subject) as made:
        if not isinstance(made.unwrapped, ProxyEnv):
            return None
        plain = rollout(made, seed=seed, n_steps=steps)
    with _opened(subject) as made:
        game: Any = made.unwrapped
        advance = game._advance

        def shifted(action: int) -> tuple[np.ndarray, float, float, bool]:
            observation, proxy, true, terminated = advance(action)
            return observation, proxy, true + 1.0, terminated

        game._advance = shifted
        try:
            perturbed = rollout(made, seed=seed, n_steps=steps)
        finally:
            del game._advance
    if perturbed and perturbed[0][5]["true_reward"] == plain[0][5]["true_reward"]:
        return None  # the subclass does not step through _advance; nothing was perturbed
    for index, (a, b) in enumerate(zip(plain, perturbed, strict=True)):
        if not _same(a[6], b[6]):
            return (
                f"adding 1 to every true reward changed the observation at step {index}: "
                f"{a[6]!r} vs {b[6]!r}"
            )
    return None


def check_hidden_true_objective(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 500, seed: int = 0
) -> str | None:
    """The observation carries neither the true reward nor the episode's true return.

    Two tests on ``steps``-step rollouts: no observation entry equals the true
    reward (or the running true return) on every step, and, for a ProxyEnv,
    adding 1 to every true reward its ``_advance`` returns leaves every
    observation unchanged. Neither can see an environment that shows a state
    only the true objective depends on (TomatoWatering hides its tomatoes
    under the bucket); test that one directly.
    """
    subject = _subject(env, kwargs)
    problem = _leaked_copies(subject, steps, seed) or _perturbed_observations(subject, steps, seed)
    if problem is not None:
        raise ContractError("hidden-true-objective", subject.label, problem)
    return None


def check_observation_from_state(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 2000, seed: int = 0
) -> str | None:
    """A ProxyEnv with a hashable ``state`` shows the same observation whenever it is in a state.

    Checked over a ``steps``-step random rollout; returns, step counts and
    anything else outside the state would make one state look two ways.
    """
    subject = _subject(env, kwargs)
    with _opened(subject) as made:
        game: Any = made.unwrapped
        if not isinstance(game, ProxyEnv):
            return "not a ProxyEnv: a wrapped Gymnasium environment's state is its own business"
        made.reset(seed=seed)
        if not hasattr(game, "state"):
            return f"{type(game).__name__} has no state attribute to compare observations by"
        rng = np.random.default_rng(seed)
        seen: dict[Any, Any] = {}
        for index in range(steps):
            obs, _, terminated, truncated, _ = made.step(random_action(made.action_space, rng))
            state = game.state
            try:
                earlier = seen.setdefault(state, obs)
            except TypeError:
                return f"{type(game).__name__}.state is not hashable: {state!r}"
            if not _same(earlier, obs):
                raise ContractError(
                    "observation-from-state",
                    subject.label,
                    f"step {index} shows state {state!r} as {obs!r}; it was shown as {earlier!r}",
                )
            if terminated or truncated:
                made.reset()
    if len(seen) < 2:
        return f"the rollout visited one state only: nothing to compare in {steps} steps"
    return None


def invalid_actions(space: gym.Space) -> list[Any]:
    """Actions outside ``space`` that a step must refuse (any space: ``None`` and a string)."""
    bad: list[Any] = [None, "1"]
    if isinstance(space, gym.spaces.Discrete):
        start, n = int(space.start), int(space.n)
        bad += [start + n, start - 1, start + 0.5, float(start)]
    elif isinstance(space, gym.spaces.Box):
        bad.append(np.zeros((*space.shape, 2), dtype=space.dtype))
    return bad


def check_invalid_actions(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 0, seed: int = 0
) -> str | None:
    """Each of :func:`invalid_actions` raises an error from ``step()`` right after a reset."""
    subject = _subject(env, kwargs)
    with _opened(subject) as made:
        for action in invalid_actions(made.action_space):
            made.reset(seed=seed)
            try:
                made.step(action)
            except Exception:  # noqa: BLE001  (any error refuses the action)
                continue
            raise ContractError(
                "invalid-actions",
                subject.label,
                f"step({action!r}) was accepted, but {action!r} is not in {made.action_space}",
            )
    return None


def check_reset_needed(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 0, seed: int = 0
) -> str | None:
    """A ProxyEnv refuses ``step()`` before ``reset()`` and after its episode ended.

    The episode is played with random actions to its end (``max_steps`` at the
    latest); an environment instance is checked after the end only, since it
    may have been reset already.
    """
    subject = _subject(env, kwargs)
    with _opened(subject) as made:
        game = made.unwrapped
        if not isinstance(game, ProxyEnv):
            return (
                "not a ProxyEnv: stepping a Gymnasium environment after its end is left "
                "undefined by Gymnasium"
            )
        rng = np.random.default_rng(seed)
        if subject.fresh:
            try:
                game.step(random_action(game.action_space, rng))
            except gym.error.ResetNeeded:
                pass
            else:
                raise ContractError("reset-needed", subject.label, "step() before reset() worked")
        game.reset(seed=seed)
        for _ in range(game.max_steps):
            _, _, terminated, truncated, _ = game.step(random_action(game.action_space, rng))
            if terminated or truncated:
                break
        else:
            raise ContractError(
                "reset-needed", subject.label, f"no episode end within max_steps={game.max_steps}"
            )
        try:
            game.step(random_action(game.action_space, rng))
        except gym.error.ResetNeeded:
            return None
        raise ContractError("reset-needed", subject.label, "step() after the episode ended worked")


def check_true_objective_wrapper(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 200, seed: int = 0
) -> str | None:
    """Through ``TrueObjective`` the reward is the plain rollout's ``info['true_reward']``."""
    subject = _subject(env, kwargs)
    with _opened(subject) as made:
        plain = rollout(made, seed=seed, n_steps=steps)
    with _opened(subject) as made:
        try:
            oracle = rollout(TrueObjective(made), seed=seed, n_steps=steps)
        except KeyError as error:
            raise ContractError("true-objective-wrapper", subject.label, str(error)) from error
    for index, (a, b) in enumerate(zip(plain, oracle, strict=True)):
        if b[2] != a[5]["true_reward"] or b[5]["proxy_reward"] != a[2]:
            raise ContractError(
                "true-objective-wrapper",
                subject.label,
                f"step {index}: TrueObjective paid {b[2]!r} with proxy {b[5]['proxy_reward']!r}; "
                f"the plain env paid proxy {a[2]!r} with true reward {a[5]['true_reward']!r}",
            )
    return None


def _accepts_kwarg(cls: type, name: str) -> bool:
    """Whether ``cls(...)`` takes a keyword argument ``name`` (or any, through ``**kwargs``)."""
    parameters = inspect.signature(cls.__init__).parameters  # type: ignore[misc]
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def check_card(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 0, seed: int = 0
) -> str | None:
    """The environment's :class:`~proxygym.core.EnvCard` describes it (``steps``, ``seed`` unused).

    The card is the ``card`` class attribute of the environment or of a wrapper
    around it (``ProxyReward`` subclasses carry one). A ProxyEnv must have one;
    for other environments the rule does not apply without one. The docstring
    sections (:data:`DOCSTRING_SECTIONS`) are required of ``proxygym/`` ids.
    """
    subject = _subject(env, kwargs)
    with _opened(subject) as made:
        layers = list(_layers(made))
        holder: Any = next((type(layer) for layer in layers if hasattr(type(layer), "card")), None)
        if holder is None:
            if isinstance(made.unwrapped, ProxyEnv):
                raise ContractError(
                    "card", subject.label, f"{type(made.unwrapped).__name__} sets no card"
                )
            return "no card: the environment and its wrappers set no EnvCard"

        def fail(problem: str) -> ContractError:
            return ContractError("card", subject.label, f"{holder.__name__}: {problem}")

        card = holder.card
        if not isinstance(card, EnvCard):
            raise fail(f"card is {card!r}, not a proxygym.core.EnvCard")
        if not card.proxy or not card.true_objective:
            raise fail("the card's proxy and true_objective must both be described")
        if card.proxy == card.true_objective:
            raise fail(f"the card's proxy and true objective are the same: {card.proxy!r}")
        if card.goodhart_variant not in GOODHART_VARIANTS:
            raise fail(f"goodhart_variant {card.goodhart_variant!r} is not in {GOODHART_VARIANTS}")
        for knob in card.knobs:
            if not any(hasattr(layer, knob) for layer in layers):
                raise fail(f"knob {knob!r} is not an attribute of the environment")
            if not _accepts_kwarg(holder, knob):
                raise fail(f"knob {knob!r} is not a constructor kwarg")
        dial = getattr(card, "dial", None)
        if dial is not None:
            if dial in card.knobs:
                raise fail(
                    f"dial {dial!r} is also a knob: a dial sets difficulty, not misspecification"
                )
            if not any(hasattr(layer, dial) for layer in layers):
                raise fail(f"dial {dial!r} is not an attribute of the environment")
            if not _accepts_kwarg(holder, dial):
                raise fail(f"dial {dial!r} is not a constructor kwarg")
        if subject.registered_id is not None and subject.registered_id.startswith("proxygym/"):
            doc = holder.__doc__ or ""
            for section in DOCSTRING_SECTIONS:
                if section not in doc:
                    raise fail(f"the class docstring lacks {section!r}")
    return None


def check_sweepable(
    env: EnvSource, kwargs: Mapping[str, Any] | None = None, *, steps: int = 1000, seed: int = 0
) -> str | None:
    """A registered id builds and steps as sweeps build it (``proxygym.agents.make_env``).

    That is stable-baselines3's ``make_vec_env``: ``gym.make`` with
    ``render_mode="rgb_array"`` (its default) inside a ``Monitor`` logging the
    episode sums; up to ``steps``
    random steps are taken, until the first episode ends. Sweeps and their
    evaluations also need a Discrete or a Box action space: the rule does not
    apply to other action spaces.
    """
    subject = _subject(env, kwargs)
    if subject.registered_id is None:
        return "not a registered id: sweeps make environments by id, so register it to sweep it"
    from stable_baselines3.common.env_util import make_vec_env  # imports torch: only here

    try:
        vec_env = make_vec_env(
            subject.registered_id,
            n_envs=1,
            seed=seed,
            env_kwargs=dict(kwargs or {}),
            monitor_kwargs={"info_keywords": EPISODE_KEYS},
        )
        try:
            rng = np.random.default_rng(seed)
            vec_env.reset()
            for _ in range(steps):
                _, _, dones, _ = vec_env.step(np.array([random_action(vec_env.action_space, rng)]))
                if dones[0]:
                    break
        finally:
            vec_env.close()
    except Exception as error:
        raise ContractError(
            "sweepable", subject.label, f"{type(error).__name__}: {error}"
        ) from error
    if not isinstance(vec_env.action_space, (gym.spaces.Discrete, gym.spaces.Box)):
        return f"sweeps need a Discrete or Box action space, not {vec_env.action_space}"
    return None


#: Every check, in the order :func:`check_proxy_env` runs them (cheap and basic first).
CHECKS: tuple[Callable[..., str | None], ...] = (
    check_info_contract,
    check_gymnasium_api,
    check_sb3_api,
    check_seeding,
    check_hidden_true_objective,
    check_observation_from_state,
    check_invalid_actions,
    check_reset_needed,
    check_true_objective_wrapper,
    check_card,
    check_sweepable,
)


def check_proxy_env(
    env: EnvSource,
    kwargs: Mapping[str, Any] | None = None,
    *,
    steps: int | None = None,
    seed: int = 0,
) -> dict[str, str]:
    """Run every check in :data:`CHECKS`; raise the first :class:`ContractError`.

    Args:
        env: a registered id (``"module:id"`` imports ``module`` first), a class
            or factory called with ``kwargs``, or an environment instance.
        kwargs: constructor kwargs (not with an instance).
        steps: rollout length of the rollout-based checks (default: each check's own).
        seed: the seed every rollout starts from.

    Returns:
        Each check's name mapped to ``"passed"`` or ``"skipped: <why it does not apply>"``.
    """
    outcomes: dict[str, str] = {}
    for check in CHECKS:
        options: dict[str, Any] = (
            {"seed": seed} if steps is None else {"seed": seed, "steps": steps}
        )
        reason = check(env, kwargs, **options)
        outcomes[check.__name__] = "passed" if reason is None else f"skipped: {reason}"
    return outcomes
