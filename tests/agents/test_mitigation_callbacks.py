"""Mitigation callbacks: off means identical training; on, they do what they claim."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from proxygym.agents import KLPenalty, TrueLabelEarlyStopping, make_agent

BOAT = "proxygym/BoatRace-v0"
SCRIPTED = "proxygym_tests/ScriptedTrueReturn-v0"


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def small_agent(algo: str = "ppo", seed: int = 0, **overrides: Any) -> BaseAlgorithm:
    settings: dict[str, Any] = {"n_envs": 2, "n_steps": 64}
    if algo == "ppo":
        settings.update(batch_size=64, n_epochs=2)
    return make_agent(algo, BOAT, seed=seed, **{**settings, **overrides})


def parameters(model: BaseAlgorithm) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.policy.parameters()]


def assert_identical(a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
    assert len(a) == len(b)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def boat_observations(n: int = 400) -> np.ndarray:
    """Observations of a seeded random walk on BoatRace: the states to measure KL on."""
    env = gym.make(BOAT)
    rng = np.random.default_rng(0)
    observation, _ = env.reset(seed=0)
    observations = []
    for _ in range(n):
        observations.append(observation)
        observation, _, terminated, truncated, _ = env.step(int(rng.integers(4)))
        if terminated or truncated:
            observation, _ = env.reset()
    return np.array(observations)


# -- KLPenalty ----------------------------------------------------------------


@pytest.mark.parametrize("estimator", ["sampled", "exact"])
@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_zero_kl_coefficient_trains_exactly_like_no_callback(algo: str, estimator: str) -> None:
    plain = small_agent(algo)
    plain.learn(384)
    penalised = small_agent(algo)
    callback = KLPenalty(0.0, estimator=estimator)  # type: ignore[arg-type]
    penalised.learn(384, callback=callback)
    assert_identical(parameters(plain), parameters(penalised))
    assert len(callback.rollout_kl) == 3 and callback.rollout_kl[-1] > 0


class _Snapshot(BaseCallback):
    """Copies the rollout buffer's rewards, advantages and returns at rollout end."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshots: list[dict[str, np.ndarray]] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.locals["rollout_buffer"]
        names = ("rewards", "advantages", "returns", "values", "episode_starts")
        snapshot = {name: getattr(buffer, name).copy() for name in names}
        snapshot["dones"] = self.locals["dones"].astype(np.float32)
        self.snapshots.append(snapshot)


def test_penalty_is_subtracted_and_advantages_recomputed() -> None:
    model = small_agent("ppo")
    before, after = _Snapshot(), _Snapshot()
    penalty = KLPenalty(0.5, estimator="exact")
    checked: list[np.ndarray] = []

    class Check(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            buffer = self.locals["rollout_buffer"]
            kl = penalty.kl_from_initial(buffer.observations.reshape(-1, 150))
            checked.append(kl.reshape(buffer.rewards.shape))

    model.learn(384, callback=CallbackList([before, Check(), penalty, after]))
    assert len(before.snapshots) == len(after.snapshots) == len(checked) == 3
    discount = model.gamma * model.gae_lambda  # type: ignore[attr-defined]
    for old, new, kl in zip(before.snapshots, after.snapshots, checked, strict=True):
        penalty_values = np.float32(0.5) * kl
        np.testing.assert_array_equal(new["rewards"], old["rewards"] - penalty_values)
        # Values are unchanged, so GAE moves by the discounted sum of the penalties
        # within each episode.
        continuing = np.concatenate([1.0 - old["episode_starts"][1:], [1.0 - old["dones"]]])
        shift = np.zeros_like(kl)
        running = np.zeros(kl.shape[1])
        for step in reversed(range(kl.shape[0])):
            running = -penalty_values[step] + discount * continuing[step] * running
            shift[step] = running
        np.testing.assert_allclose(new["advantages"] - old["advantages"], shift, atol=1e-5)
        np.testing.assert_allclose(new["returns"], new["advantages"] + new["values"], atol=1e-6)
    assert penalty.rollout_kl[0] == pytest.approx(0.0, abs=1e-6)  # first rollout: initial policy
    assert penalty.rollout_kl[-1] > 0


@pytest.mark.slow
def test_kl_penalty_keeps_the_policy_closer_to_its_initial_self() -> None:
    states = boat_observations()

    def final_kl(coef: float) -> float:
        model = small_agent(
            "ppo", n_envs=4, n_steps=128, batch_size=128, n_epochs=4, learning_rate=2e-3
        )
        callback = KLPenalty(coef)
        model.learn(6144, callback=callback)
        return float(callback.kl_from_initial(states).mean())

    unpenalised, penalised = final_kl(0.0), final_kl(3.0)
    assert unpenalised > 0.2
    assert penalised < 0.5 * unpenalised


def test_kl_penalty_rejects_what_it_cannot_handle() -> None:
    with pytest.raises(ValueError):
        KLPenalty(-1.0)
    with pytest.raises(ValueError):
        KLPenalty(1.0, estimator="guess")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on-policy"):
        make_agent("dqn", BOAT, seed=0, learning_starts=0).learn(10, callback=KLPenalty(1.0))


# -- TrueLabelEarlyStopping ---------------------------------------------------


class ScriptedTrueReturn(gym.Env[np.ndarray, np.int64]):
    """Episodes of ``length`` steps whose true return follows ``script``, whatever the policy.

    Episode ``i`` (counted over the env's life) reports ``script[i // per_check]``,
    so with ``per_check`` episodes per check each check sees one script entry.
    The observation matches BoatRace's so a BoatRace agent can play it.
    """

    def __init__(self, script: list[float], per_check: int, length: int) -> None:
        self.observation_space = gym.spaces.Box(0.0, 1.0, (150,), np.float32)
        self.action_space = gym.spaces.Discrete(4)
        self.script, self.per_check, self.length = script, per_check, length
        self.episodes = -1
        self.t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.episodes += 1
        self.t = 0
        return np.zeros(150, np.float32), {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.t += 1
        index = min(self.episodes // self.per_check, len(self.script) - 1)
        info = {"episode_true_return": self.script[index] if self.t == self.length else 0.0}
        return np.zeros(150, np.float32), 0.0, False, self.t == self.length, info


if SCRIPTED not in gym.registry:
    gym.register(id=SCRIPTED, entry_point=ScriptedTrueReturn)  # type: ignore[arg-type]

SCRIPT = [1.0, 2.0, 3.0, 3.0, 2.5, 1.0, 0.0, 0.0]


def scripted_stopper(**overrides: Any) -> TrueLabelEarlyStopping:
    settings: dict[str, Any] = {
        "check_every": 64,
        "episodes_per_check": 2,
        "patience": 2,
        "env_kwargs": {"script": SCRIPT, "per_check": 2, "length": 3},
    }
    return TrueLabelEarlyStopping(SCRIPTED, **{**settings, **overrides})


def test_stops_after_patience_checks_without_improvement_with_exact_counts() -> None:
    model = small_agent("ppo", n_envs=1)
    stopper = scripted_stopper()
    model.learn(10_000, callback=stopper)
    # Checks at 64..320 see 1, 2, 3, 3, 2.5: the best (3) at 192, then two without improvement.
    assert [check.true_return for check in stopper.checks] == SCRIPT[:5]
    assert [check.improved for check in stopper.checks] == [True, True, True, False, False]
    assert stopper.stop_reason == "patience"
    assert stopper.stopped_at == 320 and model.num_timesteps == 320
    assert stopper.best_true_return == 3.0 and stopper.best_timestep == 192
    assert stopper.episodes_used == 5 * 2
    assert stopper.labels_used == 5 * 2 * 3
    assert [check.labels_used for check in stopper.checks] == [6, 12, 18, 24, 30]


def test_min_delta_counts_small_gains_as_no_improvement() -> None:
    model = small_agent("ppo", n_envs=1)
    stopper = scripted_stopper(min_delta=1.0, patience=1)
    model.learn(10_000, callback=stopper)
    # 2 is not more than 1 + 1: stop at the second check.
    assert stopper.stopped_at == 128 and stopper.best_true_return == 1.0


def test_budget_is_never_exceeded_and_stops_training() -> None:
    model = small_agent("ppo", n_envs=1)
    stopper = scripted_stopper(max_labels=20)
    model.learn(10_000, callback=stopper)
    # Three checks use 18 labels; the fourth runs out after 2 and is abandoned.
    assert stopper.labels_used == 20
    assert stopper.episodes_used == 6
    assert len(stopper.checks) == 3
    assert stopper.stop_reason == "budget" and stopper.stopped_at == 256


def test_restore_best_sets_the_parameters_of_the_best_check() -> None:
    class Record(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.at: dict[int, list[torch.Tensor]] = {}

        def _on_step(self) -> bool:
            if self.num_timesteps % 64 == 0:
                self.at[self.num_timesteps] = parameters(self.model)
            return True

    model = small_agent("ppo", n_envs=1)
    record, stopper = Record(), scripted_stopper(restore_best=True)
    model.learn(10_000, callback=CallbackList([record, stopper]))
    assert stopper.best_timestep == 192
    assert_identical(parameters(model), record.at[192])
    assert not all(torch.equal(x, y) for x, y in zip(record.at[192], record.at[320], strict=True))


def test_watching_only_leaves_training_identical() -> None:
    plain = small_agent("ppo")
    plain.learn(512)
    watched = small_agent("ppo")
    watcher = TrueLabelEarlyStopping(
        BOAT, check_every=128, episodes_per_check=2, patience=None, temperature=1.0, max_labels=700
    )
    watched.learn(512, callback=watcher)
    assert_identical(parameters(plain), parameters(watched))
    # Checks at 128, 256 and 384 use 2 x 100 steps each; the one at 512 runs out at 700.
    assert watcher.labels_used == 700 and watcher.episodes_used == 7
    assert len(watcher.checks) == 3 and watcher.budget_spent
    assert watcher.stopped_at is None and watcher.stop_reason is None


def test_early_stopping_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        TrueLabelEarlyStopping(BOAT, check_every=0)
    with pytest.raises(ValueError):
        TrueLabelEarlyStopping(BOAT, check_every=10, patience=0)
    with pytest.raises(ValueError):
        TrueLabelEarlyStopping(BOAT, check_every=10, patience=None, restore_best=True)
    with pytest.raises(gym.error.Error):
        TrueLabelEarlyStopping("proxygym/NoSuchEnv-v0", check_every=10)
