"""Run one cell of a sweep: train, evaluate on both objectives, return the records.

A cell (:class:`~proxygym.sweeps.config.Cell`, planned by
:func:`~proxygym.sweeps.config.plan_cells`) is the unit of work the sweep
schedules, resumes and parallelises. It is a pure function of the config and
its own seed (torch uses one thread, every generator is seeded), so it gives
the same records in any process, in any order, on any backend.

An agent cell asks the config's pressure axis
(:class:`~proxygym.sweeps.axes.PressureAxis`) how to apply its levels: the
environment kwargs, hyperparameter overrides, checkpoints along training,
evaluation temperatures, and candidates to select among. The config's
``[mitigation]`` table adds the callbacks of
:data:`~proxygym.sweeps.mitigations.MITIGATIONS` to the agents trained on the
proxy (never to the oracle). Every record carries ``true_labels``, the
true-objective labels the mitigations had read when the evaluated policy was
fixed (0 without them): the price of the mitigation.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from proxygym.agents import ProxyTrueLogger, make_agent, merge_hyperparameters
from proxygym.agents.evaluation import (
    EvalResult,
    agent_distribution,
    evaluate_policy,
    random_distribution,
    scripted_distribution,
    snapshot_policy,
)
from proxygym.planning.tabular import model_of, optimal_returns
from proxygym.registry import import_modules
from proxygym.sweeps.config import Cell, SweepConfig
from proxygym.sweeps.mitigations import (
    AppliedMitigations,
    TrainingRun,
)
from proxygym.sweeps.results import CellResult

#: Reset seeds of evaluation episodes start here (plus 1000 x the run's seed);
#: best-of-n selection uses a disjoint held-out range (and early stopping another,
#: :data:`~proxygym.sweeps.mitigations.EARLY_STOPPING_SEED_BASE`).
EVAL_SEED_BASE = 1_000_000
HELD_OUT_SEED_BASE = 5_000_000


def eval_seed(seed: int | None) -> int:
    """First evaluation episode's seed for training seed ``seed``: both engines evaluate alike."""
    return EVAL_SEED_BASE + 1000 * (seed or 0)


def _candidate_seed(seed: int, index: int) -> int:
    """Seed of the ``index``-th candidate of a selecting axis: the run's own seed first."""
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] % 2**31)


class _Checkpoints(BaseCallback):
    """Evaluates the policy once training has used each checkpoint level's steps.

    A level is evaluated at the first rollout start at or after it, that is
    after the update that learned from its last step (``step`` in the record
    is the steps used then, rounded up to a whole rollout). Evaluating
    mid-rollout instead would score the policy before that update: the last
    checkpoint would miss the final update and differ from the saved model.
    Levels still pending when training ends are the caller's to evaluate.
    """

    def __init__(self, levels: list[int], evaluate_now: Callable[[int, int], None]) -> None:
        super().__init__()
        self.pending = sorted(levels)
        self.evaluate_now = evaluate_now

    def _on_training_start(self) -> None:
        self._flush()

    def _on_rollout_start(self) -> None:
        self._flush()

    def _on_step(self) -> bool:
        return True

    def _flush(self) -> None:
        while self.pending and self.num_timesteps >= self.pending[0]:
            self.evaluate_now(self.pending.pop(0), self.num_timesteps)


#: What a cell's training reports its progress to: (steps trained so far, steps in all).
StepReport = Callable[[int, int], None]


class StepReporter(BaseCallback):
    """Reports the steps trained so far to ``report(done, total)``, at most every ``interval`` s.

    It reads ``num_timesteps`` and the clock only (no generator, no change to
    training), so a cell trains bit-identically with or without it. ``base``
    counts steps of the cell's earlier runs (candidates), ``total`` all of them.
    It reports when training starts and ends too.
    """

    def __init__(self, report: StepReport, total: int, base: int = 0, interval: float = 0.2):
        super().__init__()
        self.report, self.total, self.base, self.interval = report, total, base, interval
        self.last = 0.0

    def _on_training_start(self) -> None:
        self._send()

    def _on_step(self) -> bool:
        if time.monotonic() - self.last >= self.interval:
            self._send()
        return True

    def _on_training_end(self) -> None:
        self._send()

    def _send(self) -> None:
        self.last = time.monotonic()
        self.report(self.base + self.num_timesteps, self.total)


class CellRunner:
    """Executes one cell of one config (the JAX engine uses it to record and keep its agents)."""

    def __init__(
        self,
        config: SweepConfig,
        cell: Cell,
        progress: bool,
        tensorboard_log: str | None,
        report: StepReport | None = None,
    ):
        self.config = config
        self.report = report
        #: Steps trained by the cell's finished runs, and by all its runs once done.
        self.trained = 0
        self.total_steps = config.timesteps
        self.axis = config.pressure
        self.cell = cell
        self.progress = progress
        self.tensorboard_log = tensorboard_log
        self.env_kwargs = self.axis.env_kwargs(config.env_kwargs, cell.levels)
        self.started = time.perf_counter()
        #: The fraction of the time since ``started`` that is this cell's own: 1, or
        #: 1 / n for the n cells the JAX engine trains together, so that the cells'
        #: ``wall_time`` sums to the compute used.
        self.time_share = 1.0
        self.result = CellResult(cell.key)
        self.applied = AppliedMitigations(config.mitigation)

    # -- records --------------------------------------------------------------
    def record(
        self, level: Any, policy: str, step: int, evaluation: EvalResult, seed: int | None = None
    ) -> None:
        self.result.records.append(
            {
                "env": self.config.env,
                "env_kwargs": json.dumps(self.env_kwargs, sort_keys=True),
                "algo": self.config.algo,
                "axis": self.config.axis,
                "level": level,
                "seed": self.cell.seed if seed is None else seed,
                "policy": policy,
                "cell": self.cell.key,
                "step": step,
                **evaluation.as_dict(),
                "true_labels": self.applied.true_labels(),
                "wall_time": (time.perf_counter() - self.started) * self.time_share,
            }
        )

    # -- training -------------------------------------------------------------
    def new_agent(self, seed: int, oracle: bool = False, **overrides: Any) -> BaseAlgorithm:
        settings = merge_hyperparameters(self.config.hyperparameters, overrides)
        return make_agent(
            self.config.algo,
            self.config.env,
            seed,
            env_kwargs=self.env_kwargs,
            oracle=oracle,
            tensorboard_log=self.tensorboard_log,
            **settings,
        )

    def mitigations(self, seed: int) -> list[BaseCallback]:
        """Callbacks of the config's ``[mitigation]`` table for a run (none when it is empty)."""
        run = TrainingRun(
            self.config.env,
            self.env_kwargs,
            self.config.algo,
            seed,
            self.config.eval_temperature,
        )
        return self.applied.callbacks(run)

    def train(
        self,
        model: BaseAlgorithm,
        extra: BaseCallback | None = None,
        mitigations: list[BaseCallback] | None = None,
    ) -> None:
        logger = ProxyTrueLogger()
        reporter = []
        if self.report is not None:
            reporter = [StepReporter(self.report, self.total_steps, self.trained)]
        callbacks = CallbackList(
            [logger] + ([extra] if extra is not None else []) + (mitigations or []) + reporter
        )
        model.learn(
            total_timesteps=self.config.timesteps,
            callback=callbacks,
            progress_bar=self.progress,
            tb_log_name=self.cell.key,
        )
        self.trained += model.num_timesteps
        self.result.episodes.extend(logger.episodes)

    def evaluate(
        self,
        model: BaseAlgorithm,
        initial: Any,
        temperature: float | None = None,
        seed_base: int | None = None,
    ) -> EvalResult:
        return evaluate_policy(
            agent_distribution(model),
            self.config.env,
            self.env_kwargs,
            self.config.eval_episodes,
            seed=eval_seed(self.cell.seed) if seed_base is None else seed_base,
            temperature=self.config.eval_temperature if temperature is None else temperature,
            initial_logits=agent_distribution(model, initial),
        )

    def keep_model(self, model: BaseAlgorithm) -> None:
        buffer = io.BytesIO()
        model.save(buffer)
        self.result.model = buffer.getvalue()

    # -- roles ----------------------------------------------------------------
    def run(self) -> CellResult:
        torch.set_num_threads(1)
        import_modules(self.config.modules)  # a fresh worker knows only proxygym's own ids
        role = self.cell.role
        if role == "agent":
            self.run_agent()
        elif role == "oracle":
            self.run_oracle()
        elif role == "random":
            self.run_random()
        elif role == "exact":
            self.run_exact()
        else:
            raise ValueError(f"unknown cell role {role!r}")
        return self.result

    def run_agent(self) -> None:
        """Train the cell's run (or candidates) and record every level, as its axis applies it.

        Checkpoint levels are recorded during training. With candidates, each
        is scored on held-out episodes and the axis selects one per level.
        """
        axis, seed, levels = self.axis, self.cell.seed, self.cell.levels
        assert seed is not None
        overrides = axis.training_overrides(levels, self.config.algo)
        checkpoint_levels = axis.checkpoints(levels)
        n_candidates = axis.candidates(levels)
        runs: list[tuple[BaseAlgorithm, Any]] = []
        scores: list[float] = []
        self.total_steps = self.config.timesteps * (n_candidates or 1)
        for index in range(1 if n_candidates is None else n_candidates):
            run_seed = _candidate_seed(seed, index)
            model = self.new_agent(run_seed, **overrides)
            initial = snapshot_policy(model.policy)
            self.train_run(model, initial, run_seed, checkpoint_levels)
            if n_candidates is not None:
                held_out = self.evaluate(model, initial, seed_base=HELD_OUT_SEED_BASE + 1000 * seed)
                scores.append(held_out.proxy_return)
            runs.append((model, initial))
        evaluations: dict[tuple[int, float | None], EvalResult] = {}
        for level in levels:
            if level in checkpoint_levels:
                continue
            index = axis.select(level, scores)
            temperature = axis.eval_temperature(level)
            model, initial = runs[index]
            if (index, temperature) not in evaluations:
                evaluations[index, temperature] = self.evaluate(model, initial, temperature)
            self.record(level, "agent", model.num_timesteps, evaluations[index, temperature])
        self.keep_model(runs[axis.keep(scores)][0])

    def train_run(
        self, model: BaseAlgorithm, initial: Any, seed: int, checkpoint_levels: list[int]
    ) -> None:
        """Train ``model`` with the mitigations, recording any checkpoint levels on the way."""
        if not checkpoint_levels:
            self.train(model, mitigations=self.mitigations(seed))
            return

        def checkpoint(level: int, step: int) -> None:
            temperature = self.axis.eval_temperature(level)
            self.record(level, "agent", step, self.evaluate(model, initial, temperature))

        checkpoints = _Checkpoints(checkpoint_levels, checkpoint)
        self.train(model, checkpoints, self.mitigations(seed))
        # The last checkpoint (after the final update), and after early
        # stopping every later one: the policy training ended with.
        for level in checkpoints.pending:
            checkpoint(level, model.num_timesteps)

    def run_oracle(self) -> None:
        assert self.cell.seed is not None
        model = self.new_agent(self.cell.seed, oracle=True)
        initial = snapshot_policy(model.policy)
        self.train(model)
        level = self.cell.levels[0] if self.cell.levels else None
        self.record(level, "oracle", model.num_timesteps, self.evaluate(model, initial))
        self.keep_model(model)

    def run_random(self) -> None:
        """The uniformly random policy; and the environment's scripted reference, if it states one.

        Both play the evaluation episodes the agents play (same reset seeds).
        The random policy is uniform over the actions (over the Box, for
        continuous actions); the scripted policy is recorded as policy ``"scripted"``.
        """
        with gym.make(self.config.env, **self.env_kwargs) as env:
            space = env.action_space
            scripted = getattr(env.unwrapped, "scripted_reference", None)
        level = self.cell.levels[0] if self.cell.levels else None
        evaluation = evaluate_policy(
            random_distribution(space),
            self.config.env,
            self.env_kwargs,
            self.config.eval_episodes,
            seed=eval_seed(None),
            temperature=1.0,
        )
        self.record(level, "random", 0, evaluation)
        if scripted is not None:
            evaluation = evaluate_policy(
                scripted_distribution(scripted.act, space),
                self.config.env,
                self.env_kwargs,
                self.config.eval_episodes,
                seed=eval_seed(None),
            )
            self.record(level, "scripted", 0, evaluation)

    def run_exact(self) -> None:
        with gym.make(self.config.env, **self.env_kwargs) as env:
            model = model_of(env)
        if model is None:
            return  # no exact references for this environment: an empty, finished cell
        level = self.cell.levels[0] if self.cell.levels else None
        for objective, returns in optimal_returns(model).items():
            evaluation = EvalResult(returns.proxy_return, returns.true_return, 0.0, 0.0, 0, None)
            self.record(level, f"{objective}_optimal", 0, evaluation)


def run_cell(
    config: SweepConfig,
    cell: Cell,
    progress: bool = False,
    tensorboard_log: str | None = None,
    report: StepReport | None = None,
) -> CellResult:
    """Run ``cell`` of ``config`` and return its records, episode log and model.

    ``report``, if given, is called with (steps trained, steps in all) while
    the cell trains (:class:`StepReporter`); it does not change the training.
    """
    return CellRunner(config, cell, progress, tensorboard_log, report).run()
