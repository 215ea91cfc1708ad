"""Sweep configuration: one TOML file per experiment, validated with errors that name the key.

Example (``experiments/boat_race_timesteps.toml``)::

    env = "proxygym/BoatRace-v0"
    env_kwargs = {}
    algo = "ppo"
    timesteps = 50_000
    seeds = [0, 1, 2]
    eval_episodes = 20

    [pressure]
    axis = "timesteps"
    levels = [0, 10_000, 20_000, 50_000]

Optional keys: ``name`` (defaults to the file's stem), ``baselines`` (true,
the default: also run the oracle, the random policy and the exact optima;
false: none of them; or a list of the ones to run, e.g. ``["random",
"exact"]`` to skip training the oracle where the exact optima suffice),
``eval_temperature`` (temperature of evaluations: 1 samples the trained
policy as it is, 0 acts greedily; on Discrete actions it tempers the
softmax, on Box actions it scales the standard deviation; default 1, and 0
for DQN), and a
``[hyperparameters]`` table overriding ``agents/hyperparams/<algo>.toml``
(its keys are checked against the algorithm's arguments, without importing
SB3: a misspelled one is refused with the nearest valid name),
``modules`` (a list of modules to import first, in the driver and in every
worker: where your own environment registers its id), ``engine`` (``"sb3"``,
the default, or ``"jax"``: :mod:`proxygym.sweeps.jax_engine` trains PPO or
SAC in JAX, all seeds of a run in one compiled call, with the same records), and a
``[mitigation]`` table that holds the agents back from over-optimizing the
proxy (its entries: :data:`proxygym.sweeps.mitigations.MITIGATIONS`)::

    [mitigation]
    kl_penalty = 0.05              # PPO/A2C: reward - 0.05 x KL(pi || pi_init); 0 = off

Mitigations apply to the agents trained on the proxy, never to the oracle.

The algorithm must train on the environment's action space (DQN on Discrete
actions, SAC and TD3 on Box actions, PPO and A2C on both), and so must the
pressure axis, the mitigations and the engine: a mismatch is refused when the
config is loaded, in one line naming the environment and the algorithm. The
action space is read from the environment the check builds anyway (to test
its ``env_kwargs``), so it costs nothing more.

A validated config plans its cells (:func:`plan_cells`), the units the sweep
schedules, resumes and parallelises; :mod:`proxygym.sweeps.training` runs one.
Neither loading nor planning imports torch or stable-baselines3.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

import proxygym  # noqa: F401  (registers the ids)
from proxygym.agents.hyperparameters import (
    ALGORITHM_NAMES,
    action_space_problem,
    load_hyperparameters,
    merge_hyperparameters,
    unknown_hyperparameter,
    without_budget,
)
from proxygym.registry import import_modules
from proxygym.sweeps.axes import PressureAxis, get_axis
from proxygym.sweeps.mitigations import non_negative_number, positive_int, resolve_mitigations

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REQUIRED = ("env", "algo", "timesteps", "seeds", "eval_episodes", "pressure")
OPTIONAL = (
    "name",
    "env_kwargs",
    "baselines",
    "eval_temperature",
    "hyperparameters",
    "mitigation",
    "modules",
    "engine",
)
#: The training engines: stable-baselines3, or JAX (:mod:`proxygym.sweeps.jax_engine`).
ENGINES = ("sb3", "jax")
PRESSURE_KEYS = ("axis", "levels")
#: Algorithm arguments the sweep sets itself, so a config's ``[hyperparameters]`` may not.
SWEEP_SET_ARGUMENTS = ("tensorboard_log",)
#: The references a sweep can record beside its agents (see :func:`plan_cells`).
BASELINE_KINDS = ("oracle", "random", "exact")


class ConfigError(ValueError):
    """A sweep config that cannot be run; the message names the file and key."""


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep. ``hyperparameters`` is resolved: tuned file plus overrides."""

    name: str
    env: str
    env_kwargs: dict[str, Any]
    algo: str
    timesteps: int
    seeds: tuple[int, ...]
    eval_episodes: int
    axis: str
    levels: tuple[Any, ...]
    #: True (every kind of :data:`BASELINE_KINDS`), False (none), or the kinds to run.
    baselines: bool | tuple[str, ...] = True
    eval_temperature: float = 1.0
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    mitigation: dict[str, Any] = field(default_factory=dict)
    #: Modules imported before the environment is made (in the driver and in
    #: every worker): where a user's own environment registers its id.
    modules: tuple[str, ...] = ()
    #: What trains the agents: ``"sb3"`` or ``"jax"`` (the same cells, records and models).
    engine: str = "sb3"

    def __post_init__(self) -> None:
        # The same canonical form as a loaded config's (see ``_baselines``), however built.
        if not isinstance(self.baselines, bool):
            kinds = _baselines(list(self.baselines), _config_error)
            object.__setattr__(self, "baselines", kinds)

    @property
    def pressure(self) -> PressureAxis:
        return get_axis(self.axis, self.env)

    @property
    def baseline_kinds(self) -> tuple[str, ...]:
        """The references this sweep records, in :data:`BASELINE_KINDS` order."""
        if isinstance(self.baselines, bool):
            return BASELINE_KINDS if self.baselines else ()
        return self.baselines

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seeds"] = list(self.seeds)
        data["levels"] = list(self.levels)
        if not isinstance(self.baselines, bool):
            data["baselines"] = list(self.baselines)
        if not self.mitigation:
            # Sweeps written before mitigations existed stay resumable.
            del data["mitigation"]
        if self.modules:
            data["modules"] = list(self.modules)
        else:
            del data["modules"]  # and sweeps written before this key existed too
        if self.engine == "sb3":
            del data["engine"]  # likewise
        return data

    def canonical(self) -> str:
        """A stable text form: two configs run the same cells iff these are equal."""
        return self.canonical_of(self.to_dict())

    @staticmethod
    def canonical_of(data: dict[str, Any]) -> str:
        """The canonical form of a stored (``to_dict``) config."""
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> SweepConfig:
        """The config a sweep directory stored (:meth:`to_dict`), as it ran: not re-resolved.

        Imports its ``modules`` first, so its environment id is registered.
        """
        modules = tuple(data.get("modules", ()))
        import_modules(modules)
        baselines = data.get("baselines", True)
        return cls(
            name=data["name"],
            env=data["env"],
            env_kwargs=dict(data["env_kwargs"]),
            algo=data["algo"],
            timesteps=data["timesteps"],
            seeds=tuple(data["seeds"]),
            eval_episodes=data["eval_episodes"],
            axis=data["axis"],
            levels=tuple(data["levels"]),
            baselines=baselines if isinstance(baselines, bool) else tuple(baselines),
            eval_temperature=data.get("eval_temperature", 1.0),
            hyperparameters=dict(data.get("hyperparameters", {})),
            mitigation=dict(data.get("mitigation", {})),
            modules=modules,
            engine=data.get("engine", "sb3"),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> SweepConfig:
        """Validate ``data`` (a parsed TOML document or a stored resolved config)."""

        def fail(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{source}: key {key!r} {problem}")

        allowed = set(REQUIRED) | set(OPTIONAL)
        for key in data:
            if key not in allowed:
                raise fail(key, f"is not a sweep setting; expected one of {sorted(allowed)}")
        if "pressure" not in data:
            raise fail("pressure", "is missing: add a [pressure] table with 'axis' and 'levels'")
        pressure = data["pressure"]
        if not isinstance(pressure, dict):
            raise fail("pressure", "must be a table with 'axis' and 'levels'")
        for key in pressure:
            if key not in PRESSURE_KEYS:
                raise fail(
                    f"pressure.{key}", f"is not a pressure setting; expected {PRESSURE_KEYS}"
                )
        for key in PRESSURE_KEYS:
            if key not in pressure:
                raise fail(f"pressure.{key}", "is missing")
        axis_name, levels = pressure["axis"], pressure["levels"]
        for key in REQUIRED:
            if key != "pressure" and key not in data:
                raise fail(key, "is missing")

        modules = data.get("modules", [])
        if not isinstance(modules, list) or not all(isinstance(m, str) and m for m in modules):
            raise fail("modules", f"must be a list of module names, got {modules!r}")
        try:
            import_modules(modules)
        except ImportError as error:
            raise fail("modules", f"cannot be imported: {error}") from error
        env = data["env"]
        if not isinstance(env, str):
            raise fail("env", f"must be an environment id string, got {env!r}")
        try:
            gym.spec(env)
        except gym.error.Error as error:
            raise fail("env", f"names no registered environment: {error}") from error
        env_kwargs = data.get("env_kwargs", {})
        if not isinstance(env_kwargs, dict):
            raise fail("env_kwargs", f"must be a table, got {env_kwargs!r}")
        try:
            with gym.make(env, **env_kwargs) as made:
                space_kind = type(made.action_space).__name__
        except (TypeError, ValueError) as error:
            raise fail("env_kwargs", f"is not accepted by {env}: {error}") from error

        algo = data["algo"]
        if not isinstance(algo, str) or algo.lower() not in ALGORITHM_NAMES:
            raise fail("algo", f"must be one of {sorted(ALGORITHM_NAMES)}, got {algo!r}")
        algo = algo.lower()
        problem = action_space_problem(algo, env, space_kind)
        if problem is not None:
            raise fail("algo", problem)
        timesteps = positive_int(data["timesteps"], fail, "timesteps")
        eval_episodes = positive_int(data["eval_episodes"], fail, "eval_episodes")
        seeds = data["seeds"]
        if (
            not isinstance(seeds, list)
            or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
        ):
            raise fail("seeds", f"must be a non-empty list of integers >= 0, got {seeds!r}")
        if len(set(seeds)) != len(seeds):
            raise fail("seeds", f"has repeated seeds: {seeds!r}")

        if not isinstance(axis_name, str):
            raise fail("pressure.axis", f"must be a string, got {axis_name!r}")
        try:
            axis = get_axis(axis_name, env)
        except ValueError as error:
            raise fail("pressure.axis", str(error)) from error
        if space_kind not in axis.action_spaces:
            raise fail(
                "pressure.axis",
                f"{axis_name!r} needs {' or '.join(axis.action_spaces)} actions; {env} has "
                f"{space_kind} actions ({algo.upper()}): choose another axis",
            )
        if not isinstance(levels, list) or not levels:
            raise fail("pressure.levels", f"must be a non-empty list, got {levels!r}")
        if len({json.dumps(level) for level in levels}) != len(levels):
            raise fail("pressure.levels", f"has repeated levels: {levels!r}")
        for level in levels:
            try:
                axis.check_level(level, timesteps)
                if axis.env_kwarg is not None:  # the environment checks its own kwargs
                    gym.make(env, **axis.env_kwargs(env_kwargs, (level,))).close()
            except (TypeError, ValueError) as error:
                raise fail("pressure.levels", f"has an invalid level {level!r}: {error}") from error

        overrides = data.get("hyperparameters", {})
        if not isinstance(overrides, dict):
            raise fail("hyperparameters", f"must be a table, got {overrides!r}")
        # The sweep's own `timesteps` is the budget.
        hyperparameters = without_budget(
            merge_hyperparameters(load_hyperparameters(algo, env), overrides)
        )

        baselines = _baselines(data.get("baselines", True), fail)
        eval_temperature = data.get("eval_temperature", 0.0 if algo == "dqn" else 1.0)
        eval_temperature = non_negative_number(eval_temperature, fail, "eval_temperature")
        mitigation = resolve_mitigations(
            data.get("mitigation", {}), algo, fail, env=env, space_kind=space_kind
        )
        for key in overrides:
            problem = unknown_hyperparameter(algo, key)
            if problem is None and key in SWEEP_SET_ARGUMENTS:
                problem = "is set by the sweep itself (its logs go to the results directory)"
            if problem is not None:
                raise fail(f"hyperparameters.{key}", problem)
        name = data.get("name", Path(source).stem)
        if not isinstance(name, str) or not name:
            raise fail("name", f"must be a non-empty string, got {name!r}")
        engine = data.get("engine", "sb3")
        if engine not in ENGINES:
            raise fail("engine", f"must be one of {list(ENGINES)}, got {engine!r}")
        config = cls(
            name=name,
            env=env,
            env_kwargs=dict(env_kwargs),
            algo=algo,
            timesteps=timesteps,
            seeds=tuple(seeds),
            eval_episodes=eval_episodes,
            axis=axis_name,
            levels=tuple(levels),
            baselines=baselines,
            eval_temperature=eval_temperature,
            hyperparameters=hyperparameters,
            mitigation=mitigation,
            modules=tuple(modules),
            engine=engine,
        )
        if engine == "jax":
            from proxygym.sweeps.jax_engine import unsupported

            problem = unsupported(config, space_kind)
            if problem is not None:
                raise fail("engine", problem)
        return config


def _config_error(key: str, problem: str) -> ConfigError:
    return ConfigError(f"key {key!r} {problem}")


def _baselines(value: Any, fail: Any) -> bool | tuple[str, ...]:
    """``baselines`` as given (true or false), or its list of kinds in canonical order.

    A list naming every kind is the same sweep as ``true`` and an empty list
    the same as ``false``, so both are stored as the boolean: the stored
    config decides whether a rerun may resume a directory.
    """
    if isinstance(value, bool):
        return value
    expected = f"true, false or a list of {list(BASELINE_KINDS)}"
    if not isinstance(value, list):
        raise fail("baselines", f"must be {expected}, got {value!r}")
    for kind in value:
        if kind not in BASELINE_KINDS:
            raise fail("baselines", f"names an unknown baseline {kind!r}; expected {expected}")
    if len(set(value)) != len(value):
        raise fail("baselines", f"names a baseline twice: {value!r}")
    kinds = tuple(kind for kind in BASELINE_KINDS if kind in value)
    if kinds == BASELINE_KINDS or not kinds:
        return bool(kinds)
    return kinds


@dataclass(frozen=True)
class Cell:
    """One schedulable unit of a sweep. ``key`` names its files.

    ``role`` is ``agent`` (trained on the proxy), ``oracle`` (the same
    algorithm and budget trained through
    :class:`~proxygym.wrappers.TrueObjective`), ``random`` (the uniformly
    random policy) or ``exact`` (the exact proxy-optimal and true-optimal
    returns, where the environment has a tabular model). ``levels`` are the
    pressure levels it covers.
    """

    key: str
    role: str
    seed: int | None = None
    levels: tuple[Any, ...] = ()


def plan_cells(config: SweepConfig) -> list[Cell]:
    """Every cell of ``config``, agents first, in a fixed order.

    The pressure axis plans the runs (:meth:`~proxygym.sweeps.axes.PressureAxis.agent_runs`):
    one agent cell per seed for a ``shared_run`` axis, else one per (level,
    seed). The config's ``baselines`` chooses the references: an oracle per
    seed, the random policy and the exact optima, once, or once per level
    where a level changes the environment.
    """
    axis = config.pressure
    cells = [
        Cell(f"agent{tag}-seed{seed}", "agent", seed, levels)
        for seed in config.seeds
        for tag, levels in axis.agent_runs(config.levels)
    ]
    kinds = config.baseline_kinds
    if not kinds:
        return cells
    for tag, levels in axis.reference_runs(config.levels):
        if "oracle" in kinds:
            for seed in config.seeds:
                cells.append(Cell(f"oracle{tag}-seed{seed}", "oracle", seed, levels))
        if "random" in kinds:
            cells.append(Cell(f"random{tag}", "random", None, levels))
        if "exact" in kinds:
            cells.append(Cell(f"exact{tag}", "exact", None, levels))
    return cells


def load_config(path: str | Path, engine: str | None = None) -> SweepConfig:
    """Read and validate a sweep TOML file (``engine``, if given, replaces the file's)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such sweep config file") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    if engine is not None:
        data["engine"] = engine
    return SweepConfig.from_dict(data, source=str(path))
