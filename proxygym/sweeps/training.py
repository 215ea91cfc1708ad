"""Run one cell of a sweep: train, evaluate on both objectives, return the records.

A cell is the unit of work the sweep schedules, resumes and parallelises. It
is a pure function of the config and its own seed (torch uses one thread,
every generator is seeded), so it gives the same records in any process, in
any order, on any backend.

Cells of a sweep (see :func:`plan_cells`):

- ``agent``: trained on the proxy. For a ``shared_run`` axis one cell per
  seed evaluates every level; otherwise one cell per (level, seed).
- ``oracle``: the same algorithm and budget trained through
  :class:`~proxygym.wrappers.TrueObjective`, one per seed (and per level for
  environment axes, whose levels change the environment).
- ``random``: the uniformly random policy.
- ``exact``: the exact proxy-optimal and true-optimal returns, where the
  environment has a tabular model.

The config's ``baselines`` chooses which of the last three a sweep runs (all by default).

The config's ``[mitigation]`` table adds callbacks to the agents trained on the
proxy (never to the oracle): :class:`~proxygym.agents.KLPenalty` and
:class:`~proxygym.agents.TrueLabelEarlyStopping`. Every record carries
``true_labels``, the true-objective labels early stopping had read when the
evaluated policy was fixed (0 without it): the price of the mitigation.
"""

from __future__ import annotations

import copy
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from proxygym.agents import (
    KLPenalty,
    ProxyTrueLogger,
    TrueLabelEarlyStopping,
    make_agent,
    merge_hyperparameters,
)
from proxygym.agents.evaluation import EvalResult, evaluate_policy, policy_logits, uniform_logits
from proxygym.planning.tabular import model_of, optimal_returns
from proxygym.registry import import_modules
from proxygym.sweeps.axes import DEFAULT_DEPTH, DEFAULT_WIDTH, net_arch
from proxygym.sweeps.config import SweepConfig

#: Reset seeds of evaluation episodes start here (plus 1000 x the run's seed);
#: best-of-n selection uses a disjoint held-out range.
EVAL_SEED_BASE = 1_000_000
HELD_OUT_SEED_BASE = 5_000_000
#: Reset seeds of early stopping's true-labelled checks: disjoint from both.
EARLY_STOPPING_SEED_BASE = 9_000_000


@dataclass(frozen=True)
class Cell:
    """One schedulable unit of a sweep. ``key`` names its files."""

    key: str
    role: str
    seed: int | None = None
    levels: tuple[Any, ...] = ()


@dataclass
class CellResult:
    """What a finished cell hands back to the sweep for writing."""

    key: str
    records: list[dict[str, Any]] = field(default_factory=list)
    episodes: list[dict[str, float]] = field(default_factory=list)
    model: bytes | None = None


def _level_tag(level: Any) -> str:
    return json.dumps(level).replace('"', "").replace(" ", "")


def plan_cells(config: SweepConfig) -> list[Cell]:
    """Every cell of ``config``, agents first, in a fixed order."""
    axis = config.pressure
    cells: list[Cell] = []
    for seed in config.seeds:
        if axis.shared_run:
            cells.append(Cell(f"agent-seed{seed}", "agent", seed, config.levels))
        else:
            for level in config.levels:
                cells.append(
                    Cell(
                        f"agent-{config.axis}{_level_tag(level)}-seed{seed}",
                        "agent",
                        seed,
                        (level,),
                    )
                )
    kinds = config.baseline_kinds
    if not kinds:
        return cells
    # Environment axes change the environment, so each level needs its own references.
    env_levels: list[tuple[str, tuple[Any, ...]]] = (
        [(f"-{config.axis}{_level_tag(level)}", (level,)) for level in config.levels]
        if axis.env_kwarg is not None
        else [("", ())]
    )
    for tag, levels in env_levels:
        if "oracle" in kinds:
            for seed in config.seeds:
                cells.append(Cell(f"oracle{tag}-seed{seed}", "oracle", seed, levels))
        if "random" in kinds:
            cells.append(Cell(f"random{tag}", "random", None, levels))
        if "exact" in kinds:
            cells.append(Cell(f"exact{tag}", "exact", None, levels))
    return cells


def _env_kwargs(config: SweepConfig, levels: tuple[Any, ...]) -> dict[str, Any]:
    axis = config.pressure
    if axis.env_kwarg is None or not levels:
        return dict(config.env_kwargs)
    return {**config.env_kwargs, axis.env_kwarg: levels[0]}


def _eval_seed(seed: int | None) -> int:
    return EVAL_SEED_BASE + 1000 * (seed or 0)


def _candidate_seed(seed: int, index: int) -> int:
    """Seed of the ``index``-th best-of-n candidate: the run's own seed first."""
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


class _CellRunner:
    """Executes one cell of one config."""

    def __init__(
        self, config: SweepConfig, cell: Cell, progress: bool, tensorboard_log: str | None
    ):
        self.config = config
        self.cell = cell
        self.progress = progress
        self.tensorboard_log = tensorboard_log
        self.env_kwargs = _env_kwargs(config, cell.levels)
        self.started = time.perf_counter()
        self.result = CellResult(cell.key)
        self.stoppers: list[TrueLabelEarlyStopping] = []

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
                "true_labels": sum(stopper.labels_used for stopper in self.stoppers),
                "wall_time": time.perf_counter() - self.started,
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
        """Callbacks for the config's ``[mitigation]`` table (none when it is empty)."""
        settings = self.config.mitigation
        callbacks: list[BaseCallback] = []
        if "kl_penalty" in settings:
            callbacks.append(KLPenalty(settings["kl_penalty"]))
        if "early_stopping" in settings:
            stopper = TrueLabelEarlyStopping(
                self.config.env,
                env_kwargs=self.env_kwargs,
                temperature=self.config.eval_temperature,
                seed=EARLY_STOPPING_SEED_BASE + 1000 * seed,
                **settings["early_stopping"],
            )
            self.stoppers.append(stopper)
            callbacks.append(stopper)
        return callbacks

    def train(
        self,
        model: BaseAlgorithm,
        extra: BaseCallback | None = None,
        mitigations: list[BaseCallback] | None = None,
    ) -> None:
        logger = ProxyTrueLogger()
        callbacks = CallbackList(
            [logger] + ([extra] if extra is not None else []) + (mitigations or [])
        )
        model.learn(
            total_timesteps=self.config.timesteps,
            callback=callbacks,
            progress_bar=self.progress,
            tb_log_name=self.cell.key,
        )
        self.result.episodes.extend(logger.episodes)

    def evaluate(
        self,
        model: BaseAlgorithm,
        initial: Any,
        temperature: float | None = None,
        seed_base: int | None = None,
    ) -> EvalResult:
        return evaluate_policy(
            policy_logits(model.policy),
            self.config.env,
            self.env_kwargs,
            self.config.eval_episodes,
            seed=_eval_seed(self.cell.seed) if seed_base is None else seed_base,
            temperature=self.config.eval_temperature if temperature is None else temperature,
            initial_logits=policy_logits(initial),
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
        axis, seed = self.config.axis, self.cell.seed
        assert seed is not None
        if axis == "best_of_n":
            self.run_best_of_n(seed)
            return
        overrides: dict[str, Any] = {}
        if axis in ("width", "depth"):
            level = self.cell.levels[0]
            width = level if axis == "width" else DEFAULT_WIDTH
            depth = level if axis == "depth" else DEFAULT_DEPTH
            overrides["policy_kwargs"] = {"net_arch": net_arch(self.config.algo, width, depth)}
        model = self.new_agent(seed, **overrides)
        initial = copy.deepcopy(model.policy)
        if axis == "timesteps":

            def checkpoint(level: int, step: int) -> None:
                self.record(level, "agent", step, self.evaluate(model, initial))

            checkpoints = _Checkpoints(list(self.cell.levels), checkpoint)
            self.train(model, checkpoints, self.mitigations(seed))
            # The last checkpoint (after the final update), and after early
            # stopping every later one: the policy training ended with.
            for level in checkpoints.pending:
                checkpoint(level, model.num_timesteps)
        else:
            self.train(model, mitigations=self.mitigations(seed))
            for level in self.cell.levels:
                temperature = float(level) if axis == "temperature" else None
                self.record(
                    level, "agent", model.num_timesteps, self.evaluate(model, initial, temperature)
                )
        self.keep_model(model)

    def run_best_of_n(self, seed: int) -> None:
        """Train max(n) candidates; for each n pick the best of the first n on held-out episodes."""
        candidates = []
        for index in range(max(self.cell.levels)):
            model = self.new_agent(_candidate_seed(seed, index))
            initial = copy.deepcopy(model.policy)
            self.train(model, mitigations=self.mitigations(_candidate_seed(seed, index)))
            held_out = self.evaluate(model, initial, seed_base=HELD_OUT_SEED_BASE + 1000 * seed)
            candidates.append((model, initial, held_out.proxy_return))
        evaluations: dict[int, EvalResult] = {}
        for n in self.cell.levels:
            best = max(range(n), key=lambda i: (candidates[i][2], -i))
            if best not in evaluations:
                evaluations[best] = self.evaluate(candidates[best][0], candidates[best][1])
            self.record(n, "agent", candidates[best][0].num_timesteps, evaluations[best])
        winner = max(range(max(self.cell.levels)), key=lambda i: (candidates[i][2], -i))
        self.keep_model(candidates[winner][0])

    def run_oracle(self) -> None:
        assert self.cell.seed is not None
        model = self.new_agent(self.cell.seed, oracle=True)
        initial = copy.deepcopy(model.policy)
        self.train(model)
        level = self.cell.levels[0] if self.cell.levels else None
        self.record(level, "oracle", model.num_timesteps, self.evaluate(model, initial))
        self.keep_model(model)

    def run_random(self) -> None:
        with gym.make(self.config.env, **self.env_kwargs) as env:
            n_actions = int(env.action_space.n)  # type: ignore[attr-defined]
        evaluation = evaluate_policy(
            uniform_logits(n_actions),
            self.config.env,
            self.env_kwargs,
            self.config.eval_episodes,
            seed=_eval_seed(None),
            temperature=1.0,
        )
        level = self.cell.levels[0] if self.cell.levels else None
        self.record(level, "random", 0, evaluation)

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
    config: SweepConfig, cell: Cell, progress: bool = False, tensorboard_log: str | None = None
) -> CellResult:
    """Run ``cell`` of ``config`` and return its records, episode log and model."""
    return _CellRunner(config, cell, progress, tensorboard_log).run()
