"""The JAX engine's PPO configuration, read from a hyperparameter table without importing JAX.

:class:`PPOConfig` is everything that fixes a run of :mod:`proxygym.jax.ppo`
but its seed; :meth:`PPOConfig.from_hyperparameters` reads it from
``agents/hyperparams/ppo.toml`` (plus overrides) and refuses, with an
:class:`EngineError` naming the setting, whatever the engine does not
implement as SB3 does. Keeping this apart from the training code lets a sweep
config be checked when it is loaded (:func:`proxygym.sweeps.jax_engine.unsupported`),
before any work starts and without the ``jax`` extra's start-up cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from proxygym.agents.hyperparameters import (
    load_hyperparameters,
    merge_hyperparameters,
    split_setup,
)

#: PPO arguments the engine takes from a hyperparameter table (with SB3's defaults).
SB3_DEFAULTS: dict[str, Any] = {
    "learning_rate": 3e-4,
    "n_steps": 2048,
    "batch_size": 64,
    "n_epochs": 10,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "ent_coef": 0.0,
    "vf_coef": 0.5,
    "max_grad_norm": 0.5,
}
#: Arguments accepted when they have SB3's default value (anything else is refused).
NEUTRAL: dict[str, Any] = {
    "policy": "MlpPolicy",
    "clip_range_vf": None,
    "normalize_advantage": True,
    "use_sde": False,
    "target_kl": None,
    "verbose": 0,
    "device": "cpu",
    "tensorboard_log": None,
    "stats_window_size": 100,
}
#: Activation functions the engine implements (SB3 ``activation_fn`` names, lower case).
ACTIVATION_NAMES: tuple[str, ...] = ("relu", "tanh")


class EngineError(ValueError):
    """A configuration the JAX engine cannot run as SB3 would (the message names it)."""


def schedule(key: str, value: Any) -> tuple[float, bool]:
    """(start value, decays linearly to 0) of a number or ``"lin_<start>"``."""
    if isinstance(value, str):
        if not value.startswith("lin_"):
            raise EngineError(f"{key} must be a number or 'lin_<start>', got {value!r}")
        return float(value.removeprefix("lin_")), True
    return float(value), False


def _net_arch(policy_kwargs: dict[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """(policy layers, value layers, activation) from SB3 ``policy_kwargs``."""
    unknown = sorted(set(policy_kwargs) - {"net_arch", "activation_fn"})
    if unknown:
        raise EngineError(
            f"the jax engine supports policy_kwargs net_arch and activation_fn, not {unknown}"
        )
    arch = policy_kwargs.get("net_arch", {"pi": [64, 64], "vf": [64, 64]})
    if isinstance(arch, dict):
        pi, vf = tuple(arch.get("pi", ())), tuple(arch.get("vf", ()))
    else:
        pi = vf = tuple(arch)
    return (
        tuple(int(n) for n in pi),
        tuple(int(n) for n in vf),
        activation_name(policy_kwargs, "tanh"),
    )


def activation_name(policy_kwargs: dict[str, Any], default: str) -> str:
    """The engine's name of ``policy_kwargs["activation_fn"]`` (a name or a torch class)."""
    activation = policy_kwargs.get("activation_fn", default)
    if not isinstance(activation, str):
        activation = getattr(activation, "__name__", str(activation)).lower()
    if activation not in ACTIVATION_NAMES:
        raise EngineError(
            f"activation_fn must be one of {sorted(ACTIVATION_NAMES)}, got {activation!r}"
        )
    return activation


@dataclass(frozen=True)
class PPOConfig:
    """Everything that fixes a PPO run but its seed (hashable: one compilation per config)."""

    n_envs: int
    n_steps: int
    batch_size: int
    n_epochs: int
    total_timesteps: int
    learning_rate: float
    lr_linear: bool
    clip_range: float
    clip_linear: bool
    gamma: float
    gae_lambda: float
    ent_coef: float
    vf_coef: float
    max_grad_norm: float
    normalize_reward: bool
    pi_arch: tuple[int, ...] = (64, 64)
    vf_arch: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    @property
    def rollout(self) -> int:
        """Steps per rollout (all environments)."""
        return self.n_envs * self.n_steps

    @property
    def n_minibatches(self) -> int:
        return math.ceil(self.rollout / self.batch_size)

    @property
    def iterations(self) -> int:
        """Rollouts SB3's ``learn(total_timesteps)`` collects: until the total is reached."""
        return math.ceil(self.total_timesteps / self.rollout)

    def iterations_for(self, steps: int) -> int:
        """Rollouts done when SB3 first has at least ``steps`` steps (a checkpoint's position)."""
        return min(math.ceil(steps / self.rollout), self.iterations)

    @classmethod
    def from_hyperparameters(
        cls, env_id: str, total_timesteps: int, overrides: dict[str, Any] | None = None
    ) -> PPOConfig:
        """The tuned PPO table of ``env_id`` (``agents/hyperparams/ppo.toml``) with ``overrides``.

        Raises:
            EngineError: naming a setting the engine does not implement as SB3 does.
        """
        table = merge_hyperparameters(load_hyperparameters("ppo", env_id), overrides or {})
        setup, settings = split_setup(table)
        for key, neutral in NEUTRAL.items():
            value = settings.pop(key, neutral)
            if value != neutral:
                raise EngineError(
                    f"the jax engine runs PPO with {key} = {neutral!r} only, not {value!r} as "
                    f'set for {env_id}; use engine = "sb3"'
                )
        policy_kwargs = settings.pop("policy_kwargs", {}) or {}
        unknown = sorted(set(settings) - set(SB3_DEFAULTS) - {"seed"})
        if unknown:
            raise EngineError(
                f"the jax engine does not implement PPO's {', '.join(unknown)} "
                f'as set for {env_id}; use engine = "sb3"'
            )
        values = {**SB3_DEFAULTS, **settings}
        lr, lr_linear = schedule("learning_rate", values["learning_rate"])
        clip, clip_linear = schedule("clip_range", values["clip_range"])
        pi, vf, activation = _net_arch(policy_kwargs)
        n_envs = int(setup.get("n_envs", 1))
        if (n_envs * int(values["n_steps"])) % int(values["batch_size"]):
            raise EngineError(
                f"n_envs * n_steps ({n_envs} * {values['n_steps']}) must be a multiple of "
                f"batch_size ({values['batch_size']}) on the jax engine"
            )
        return cls(
            n_envs=n_envs,
            n_steps=int(values["n_steps"]),
            batch_size=int(values["batch_size"]),
            n_epochs=int(values["n_epochs"]),
            total_timesteps=int(total_timesteps),
            learning_rate=lr,
            lr_linear=lr_linear,
            clip_range=clip,
            clip_linear=clip_linear,
            gamma=float(values["gamma"]),
            gae_lambda=float(values["gae_lambda"]),
            ent_coef=float(values["ent_coef"]),
            vf_coef=float(values["vf_coef"]),
            max_grad_norm=float(values["max_grad_norm"]),
            normalize_reward=bool(setup.get("normalize_reward", False)),
            pi_arch=pi,
            vf_arch=vf,
            activation=activation,
        )
