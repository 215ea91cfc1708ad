"""The sweep cells of one config trained by the JAX engine: all seeds of a run in one compiled call.

A sweep with ``engine = "jax"`` plans the same cells as with SB3
(:func:`proxygym.sweeps.config.plan_cells`). The runner hands this module a
group of cells that differ only in their seed (:func:`batch_key`): the agent
cells of one level set, or the oracle cells. They are trained together
(:func:`proxygym.jax.ppo.train` or :func:`proxygym.jax.sac.train`,
``jax.vmap`` over seeds), then each is evaluated on the Gymnasium environment
exactly as the SB3 engine evaluates (same episodes, seeds, temperatures and
``kl_from_init``), recorded with the same fields, and its final policy kept as
an SB3 PPO or SAC model (:mod:`proxygym.jax.export`,
:mod:`proxygym.jax.export_sac`). Random and exact cells do not train and run
as they do on the SB3 engine.

What the engine does not run is refused when the config is loaded
(:func:`unsupported`): algorithms other than PPO (discrete actions, on
environments with an exact model or a port) and SAC (on environments with a
continuous-action twin), mitigations, selecting axes (best-of-n) and
hyperparameters it does not implement as SB3 does.

A cell's training log (``episodes/<cell>.csv``) is empty on this engine: the
episodes are played inside the compiled call and only the checkpoints come out.
Compiled programs are kept on disk (:mod:`proxygym.jax.cache`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from proxygym.sweeps.config import Cell, SweepConfig

#: Axes the JAX engine runs (and any axis of an environment's own kwargs).
SUPPORTED_AXES: tuple[str, ...] = ("timesteps", "width", "depth", "temperature")
#: Cell roles trained by the JAX engine (the others run as on the SB3 engine).
TRAINED_ROLES: tuple[str, ...] = ("agent", "oracle")


def unsupported(config: SweepConfig, space_kind: str | None = None) -> str | None:
    """Why the JAX engine cannot run ``config`` (one sentence naming what), or None.

    ``space_kind``, the environment's action space class name where the
    caller knows it, refuses PPO on continuous actions before anything else is
    built. Imports neither JAX nor torch: it is called when a config is loaded.
    """
    from proxygym.jax.support import SAC_PORTED, env_reason
    from proxygym.sweeps.axes import env_axes

    if config.algo not in ("ppo", "sac"):
        return f'the jax engine trains PPO and SAC only, not {config.algo!r}; use engine = "sb3"'
    if config.algo == "sac" and config.env not in SAC_PORTED:
        return (
            f"the jax engine trains SAC on environments with a JAX twin ({', '.join(SAC_PORTED)}); "
            f'{config.env} has none: use engine = "sb3"'
        )
    if config.algo == "ppo" and space_kind is not None and space_kind != "Discrete":
        other = 'algo = "sac" or ' if config.env in SAC_PORTED else ""
        return (
            f"the jax engine trains PPO on discrete actions only; {config.env} has {space_kind} "
            f'actions (PPO): use {other}engine = "sb3"'
        )
    if config.axis not in SUPPORTED_AXES and config.axis not in env_axes(config.env):
        return (
            f"the jax engine does not run the {config.axis!r} axis (it runs "
            f'{", ".join(SUPPORTED_AXES)} and environment axes); use engine = "sb3"'
        )
    if config.mitigation:
        names = ", ".join(sorted(config.mitigation))
        return f'the jax engine runs no mitigations ({names}); use engine = "sb3"'
    problem = _settings_reason(config)
    if problem is not None:
        return problem
    return None if config.algo == "sac" else env_reason(config.env, config.env_kwargs)


def _settings_reason(config: SweepConfig) -> str | None:
    """Why the engine cannot train the hyperparameters of some run of ``config``, or None.

    Each run's settings (the table, the sweep's ``[hyperparameters]``, the
    axis' overrides at each level; the oracle's without the axis') are read
    as training would read them, so what it would refuse is refused at load.
    """
    from proxygym.agents.hyperparameters import merge_hyperparameters
    from proxygym.jax.ppo_config import EngineError, PPOConfig
    from proxygym.jax.sac_config import SACConfig

    build = (
        SACConfig.from_hyperparameters if config.algo == "sac" else PPOConfig.from_hyperparameters
    )
    runs = [config.hyperparameters] + [
        merge_hyperparameters(
            config.hyperparameters, config.pressure.training_overrides([level], config.algo)
        )
        for level in config.levels
    ]
    try:
        for settings in runs:
            build(config.env, config.timesteps, settings)
    except EngineError as error:
        return str(error)
    return None


def batch_key(cell: Cell) -> tuple[str, tuple[Any, ...]] | None:
    """Cells with equal keys train together (None: the cell runs alone)."""
    if cell.role not in TRAINED_ROLES:
        return None
    return cell.role, tuple(cell.levels)


def batches(cells: Sequence[Cell]) -> list[Cell | tuple[Cell, ...]]:
    """``cells`` as units of work: those with one :func:`batch_key` together (a tuple), in order."""
    order: list[Cell | tuple[str, tuple[Any, ...]]] = []  # cells, and batch keys where first seen
    groups: dict[tuple[str, tuple[Any, ...]], list[Cell]] = {}
    for cell in cells:
        key = batch_key(cell)
        if key is None:
            order.append(cell)
        elif key in groups:
            groups[key].append(cell)
        else:
            groups[key] = [cell]
            order.append(key)
    return [unit if isinstance(unit, Cell) else tuple(groups[unit]) for unit in order]


@dataclass(frozen=True)
class _Trained:
    """What one batch's training gives the evaluation and export, whatever the algorithm."""

    initial: list[Any]  # networks before training, per seed
    trained: list[tuple[int, list[Any]]]  # (steps, networks per seed) at each checkpoint
    steps_at: Callable[[int], int]  # the step count at which a checkpoint level is reached
    policy: Callable[[Any], Any]  # networks -> the evaluation's policy function
    engine_config: Any  # the PPOConfig or SACConfig trained
    to_sb3: Callable[..., Any]  # to_sb3 or to_sb3_sac: networks and engine_config -> SB3 model


def _train_ppo(
    config: SweepConfig,
    env_kwargs: dict[str, Any],
    settings: dict[str, Any],
    seeds: list[int],
    checkpoint_levels: list[int],
    oracle: bool,
    report: Callable[[int, int], None] | None,
) -> _Trained:
    """PPO on the environment's port or tabular model (:mod:`proxygym.jax.ppo`)."""
    from proxygym.jax import envs as jax_envs
    from proxygym.jax.export import numpy_logits, to_sb3
    from proxygym.jax.ppo import PPOConfig, Trainer, train

    ppo = PPOConfig.from_hyperparameters(config.env, config.timesteps, settings)
    env, env_params = jax_envs.make(config.env, env_kwargs)
    total = ppo.iterations * ppo.rollout
    initial, trained = train(
        Trainer(env, env_params, ppo),
        env_params,
        seeds,
        checkpoint_levels,
        on_progress=None if report is None else (lambda steps: report(steps, total)),
        chunk=max(1, ppo.iterations // 20),
        oracle=oracle,
    )
    return _Trained(
        initial=initial,
        trained=trained,
        steps_at=lambda level: ppo.iterations_for(level) * ppo.rollout,
        policy=lambda params: numpy_logits(params, ppo.activation),
        engine_config=ppo,
        to_sb3=to_sb3,
    )


def _train_sac(
    config: SweepConfig,
    env_kwargs: dict[str, Any],
    settings: dict[str, Any],
    seeds: list[int],
    checkpoint_levels: list[int],
    oracle: bool,
    report: Callable[[int, int], None] | None,
) -> _Trained:
    """SAC on the environment's continuous-action twin (:mod:`proxygym.jax.sac`).

    SAC trains after every step, so a checkpoint level is reached exactly.
    """
    import gymnasium as gym

    from proxygym.jax.export_sac import numpy_distribution, to_sb3_sac
    from proxygym.jax.sac import SACConfig, make_env, train

    sac = SACConfig.from_hyperparameters(config.env, config.timesteps, settings)
    with gym.make(config.env, **env_kwargs) as made:
        space = made.action_space
    assert isinstance(space, gym.spaces.Box)  # SAC_PORTED environments act in a Box
    total = sac.total_timesteps
    initial, trained = train(
        make_env(config.env, env_kwargs),
        sac,
        seeds,
        checkpoints=checkpoint_levels,
        on_progress=None if report is None else (lambda steps: report(steps, total)),
        chunk=max(1, total // 20),
        oracle=oracle,
    )
    return _Trained(
        initial=initial,
        trained=trained,
        steps_at=lambda level: min(int(level), total),
        policy=lambda params: numpy_distribution(params, sac.activation, space.low, space.high),
        engine_config=sac,
        to_sb3=to_sb3_sac,
    )


def run_cells(
    config: SweepConfig,
    cells: Sequence[Cell],
    report: Callable[[int, int], None] | None = None,
) -> list[Any]:
    """Train ``cells`` (one :func:`batch_key`, different seeds) together; their results in order.

    ``report(steps, total)`` is called as training goes (steps per seed).
    """
    import torch

    from proxygym.agents.evaluation import evaluate_policy
    from proxygym.agents.hyperparameters import merge_hyperparameters
    from proxygym.jax.cache import use_compilation_cache
    from proxygym.registry import import_modules
    from proxygym.sweeps.training import CellRunner, eval_seed

    torch.set_num_threads(1)
    use_compilation_cache()
    import_modules(config.modules)
    keys = {batch_key(cell) for cell in cells}
    if len(keys) != 1 or None in keys:
        raise ValueError(
            f"cells of one batch must share a role and levels, got {sorted(map(str, keys))}"
        )
    role, levels = cells[0].role, list(cells[0].levels)
    axis = config.pressure
    runners = [CellRunner(config, cell, False, None) for cell in cells]
    env_kwargs = runners[0].env_kwargs
    overrides = axis.training_overrides(levels, config.algo) if role == "agent" else {}
    settings = merge_hyperparameters(config.hyperparameters, overrides)
    checkpoint_levels = axis.checkpoints(levels) if role == "agent" else []
    seeds = [int(cell.seed) for cell in cells]  # type: ignore[arg-type]
    started = time.perf_counter()
    engine = _train_sac if config.algo == "sac" else _train_ppo
    run = engine(config, env_kwargs, settings, seeds, checkpoint_levels, role == "oracle", report)
    at_position = {steps: per_seed for steps, per_seed in run.trained}
    final_steps, final = run.trained[-1]

    def evaluate(params: Any, initial_params: Any, seed: int, temperature: float | None) -> Any:
        return evaluate_policy(
            run.policy(params),
            config.env,
            env_kwargs,
            config.eval_episodes,
            seed=eval_seed(seed),
            temperature=config.eval_temperature if temperature is None else temperature,
            initial_logits=run.policy(initial_params),
        )

    outcomes = []
    for index, runner in enumerate(runners):
        runner.started, runner.time_share = started, 1 / len(runners)
        seed = seeds[index]
        if role == "oracle":
            level = levels[0] if levels else None
            runner.record(
                level, "oracle", final_steps, evaluate(final[index], run.initial[index], seed, None)
            )
        else:
            for level in sorted(checkpoint_levels):
                steps = run.steps_at(int(level))
                params = at_position[steps][index]
                evaluation = evaluate(
                    params, run.initial[index], seed, axis.eval_temperature(level)
                )
                runner.record(level, "agent", steps, evaluation)
            for level in levels:
                if level in checkpoint_levels:
                    continue
                evaluation = evaluate(
                    final[index], run.initial[index], seed, axis.eval_temperature(level)
                )
                runner.record(level, "agent", final_steps, evaluation)
        model = run.to_sb3(
            final[index],
            run.engine_config,
            config.env,
            seed,
            env_kwargs=env_kwargs,
            oracle=role == "oracle",
            num_timesteps=final_steps,
            overrides=settings,
        )
        runner.keep_model(model)
        outcomes.append(runner.result)
    return outcomes
