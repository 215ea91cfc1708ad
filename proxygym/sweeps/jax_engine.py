"""The sweep cells of one config trained by the JAX engine: all seeds of a run in one compiled call.

A sweep with ``engine = "jax"`` plans the same cells as with SB3
(:func:`proxygym.sweeps.config.plan_cells`). The runner hands this module a
group of cells that differ only in their seed (:func:`batch_key`): the agent
cells of one level set, or the oracle cells. They are trained together
(:func:`proxygym.jax.ppo.train`, ``jax.vmap`` over seeds), then each is
evaluated on the Gymnasium environment exactly as the SB3 engine evaluates
(same episodes, seeds, temperatures and ``kl_from_init``), recorded with the
same fields, and its final policy kept as an SB3 PPO model
(:mod:`proxygym.jax.export`). Random and exact cells do not train and run as
they do on the SB3 engine.

What the engine does not run is refused when the config is loaded
(:func:`unsupported`): algorithms other than PPO, mitigations, selecting axes
(best-of-n) and environments without an exact model or a port.

A cell's training log (``episodes/<cell>.csv``) is empty on this engine: the
episodes are played inside the compiled call and only the checkpoints come out.
Compiled programs are kept on disk (:mod:`proxygym.jax.cache`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from proxygym.sweeps.config import Cell, SweepConfig

#: Axes the JAX engine runs (and any axis of an environment's own kwargs).
SUPPORTED_AXES: tuple[str, ...] = ("timesteps", "width", "depth", "temperature")
#: Cell roles trained by the JAX engine (the others run as on the SB3 engine).
TRAINED_ROLES: tuple[str, ...] = ("agent", "oracle")


def unsupported(config: SweepConfig, space_kind: str | None = None) -> str | None:
    """Why the JAX engine cannot run ``config`` (one sentence naming what), or None.

    ``space_kind``, the environment's action space class name where the
    caller knows it, refuses continuous actions before anything else is
    built. Imports neither JAX nor torch: it is called when a config is loaded.
    """
    from proxygym.jax.support import env_reason
    from proxygym.sweeps.axes import env_axes

    if space_kind is not None and space_kind != "Discrete":
        return (
            f"the jax engine trains discrete actions only; {config.env} has {space_kind} "
            f'actions ({config.algo.upper()}): use engine = "sb3"'
        )
    if config.algo != "ppo":
        return f'the jax engine trains PPO only, not {config.algo!r}; use engine = "sb3"'
    if config.axis not in SUPPORTED_AXES and config.axis not in env_axes(config.env):
        return (
            f"the jax engine does not run the {config.axis!r} axis (it runs "
            f'{", ".join(SUPPORTED_AXES)} and environment axes); use engine = "sb3"'
        )
    if config.mitigation:
        names = ", ".join(sorted(config.mitigation))
        return f'the jax engine runs no mitigations ({names}); use engine = "sb3"'
    return env_reason(config.env, config.env_kwargs)


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
    from proxygym.jax import envs as jax_envs
    from proxygym.jax.cache import use_compilation_cache
    from proxygym.jax.export import numpy_logits, to_sb3
    from proxygym.jax.ppo import PPOConfig, Trainer, train
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
    overrides = axis.training_overrides(levels, "ppo") if role == "agent" else {}
    settings = merge_hyperparameters(config.hyperparameters, overrides)
    ppo = PPOConfig.from_hyperparameters(config.env, config.timesteps, settings)
    env, env_params = jax_envs.make(config.env, env_kwargs)
    trainer = Trainer(env, env_params, ppo)
    checkpoint_levels = axis.checkpoints(levels) if role == "agent" else []
    total = ppo.iterations * ppo.rollout
    seeds = [int(cell.seed) for cell in cells]  # type: ignore[arg-type]
    started = time.perf_counter()
    initial, trained = train(
        trainer,
        env_params,
        seeds,
        checkpoint_levels,
        on_progress=None if report is None else (lambda steps: report(steps, total)),
        chunk=max(1, ppo.iterations // 20),
        oracle=role == "oracle",
    )
    at_position = {steps: per_seed for steps, per_seed in trained}
    final_steps, final = trained[-1]

    def evaluate(params: Any, initial_params: Any, seed: int, temperature: float | None) -> Any:
        return evaluate_policy(
            numpy_logits(params, ppo.activation),
            config.env,
            env_kwargs,
            config.eval_episodes,
            seed=eval_seed(seed),
            temperature=config.eval_temperature if temperature is None else temperature,
            initial_logits=numpy_logits(initial_params, ppo.activation),
        )

    outcomes = []
    for index, runner in enumerate(runners):
        runner.started = started
        seed = seeds[index]
        if role == "oracle":
            level = levels[0] if levels else None
            runner.record(
                level, "oracle", final_steps, evaluate(final[index], initial[index], seed, None)
            )
        else:
            for level in sorted(checkpoint_levels):
                steps = ppo.iterations_for(int(level)) * ppo.rollout
                params = at_position[steps][index]
                evaluation = evaluate(params, initial[index], seed, axis.eval_temperature(level))
                runner.record(level, "agent", steps, evaluation)
            for level in levels:
                if level in checkpoint_levels:
                    continue
                evaluation = evaluate(
                    final[index], initial[index], seed, axis.eval_temperature(level)
                )
                runner.record(level, "agent", final_steps, evaluation)
        model = to_sb3(
            final[index],
            ppo,
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
