"""The JAX engine's SAC configuration, read from a hyperparameter table without importing JAX.

:class:`SACConfig` is everything that fixes a run of :mod:`proxygym.jax.sac`
but its seed; :meth:`SACConfig.from_hyperparameters` reads it from
``agents/hyperparams/sac.toml`` (plus overrides) and refuses, naming them,
the settings the engine does not implement as SB3 does, so that a sweep
config is checked when it is loaded (as :mod:`proxygym.jax.ppo_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proxygym.agents.hyperparameters import (
    load_hyperparameters,
    merge_hyperparameters,
    split_setup,
)
from proxygym.jax.ppo_config import EngineError, activation_name, schedule

#: SAC arguments the engine takes from a hyperparameter table (with SB3's defaults).
SB3_DEFAULTS: dict[str, Any] = {
    "learning_rate": 3e-4,
    "buffer_size": 1_000_000,
    "learning_starts": 100,
    "batch_size": 256,
    "tau": 0.005,
    "gamma": 0.99,
    "ent_coef": "auto",
    "target_entropy": "auto",
    "target_update_interval": 1,
}
#: Arguments accepted when they have SB3's default value (anything else is refused).
NEUTRAL: dict[str, Any] = {
    "policy": "MlpPolicy",
    "gradient_steps": 1,
    "action_noise": None,
    "replay_buffer_class": None,
    "replay_buffer_kwargs": None,
    "optimize_memory_usage": False,
    "n_steps": 1,
    "use_sde": False,
    "sde_sample_freq": -1,
    "use_sde_at_warmup": False,
    "verbose": 0,
    "device": "cpu",
    "tensorboard_log": None,
    "stats_window_size": 100,
}
#: Setup keys (``split_setup``) accepted with these values only (``normalize_reward``
#: is implemented: :attr:`SACConfig.normalize_reward`).
NEUTRAL_SETUP: dict[str, Any] = {"n_envs": 1}


def _train_freq_is_one(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value == 1
    return isinstance(value, (list, tuple)) and list(value) == [1, "step"]


def _net_arch(policy_kwargs: dict[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...], str, int]:
    """(actor layers, critic layers, activation, n_critics) from SB3 ``policy_kwargs``."""
    unknown = sorted(set(policy_kwargs) - {"net_arch", "activation_fn", "n_critics"})
    if unknown:
        raise EngineError(
            "the jax engine's SAC supports policy_kwargs net_arch, activation_fn and "
            f"n_critics, not {unknown}"
        )
    arch = policy_kwargs.get("net_arch", [256, 256])
    if isinstance(arch, dict):
        pi, qf = tuple(arch.get("pi", ())), tuple(arch.get("qf", ()))
    else:
        pi = qf = tuple(arch)
    activation = activation_name(policy_kwargs, "relu")
    n_critics = policy_kwargs.get("n_critics", 2)
    if isinstance(n_critics, bool) or not isinstance(n_critics, int) or n_critics < 1:
        raise EngineError(f"n_critics must be a positive integer, got {n_critics!r}")
    return tuple(int(n) for n in pi), tuple(int(n) for n in qf), activation, n_critics


def _ent_coef(value: Any) -> tuple[float, bool]:
    """(initial value, learned) of SB3's ``ent_coef``: a number, ``"auto"`` or ``"auto_<x>"``."""
    if isinstance(value, str):
        if value == "auto":
            return 1.0, True
        try:
            if not value.startswith("auto_"):
                raise ValueError
            init = float(value.removeprefix("auto_"))
        except ValueError:
            raise EngineError(
                f"ent_coef must be a number, 'auto' or 'auto_<x>', got {value!r}"
            ) from None
        if init <= 0:
            raise EngineError(f"the initial ent_coef must be > 0, got {value!r}")
        return init, True
    return float(value), False


@dataclass(frozen=True)
class SACConfig:
    """Everything that fixes a SAC run but its seed (hashable: one compilation per config)."""

    total_timesteps: int
    learning_rate: float = 3e-4
    lr_linear: bool = False
    buffer_size: int = 1_000_000
    learning_starts: int = 100
    batch_size: int = 256
    tau: float = 0.005
    gamma: float = 0.99
    ent_coef: float = 1.0
    ent_coef_auto: bool = True
    target_entropy: float | None = None  # None: SB3's "auto", -dim(A)
    pi_arch: tuple[int, ...] = (256, 256)
    qf_arch: tuple[int, ...] = (256, 256)
    activation: str = "relu"
    n_critics: int = 2
    normalize_reward: bool = False
    """SB3's ``VecNormalize(norm_obs=False, norm_reward=True, gamma)`` as an off-policy
    algorithm uses it: the buffer keeps the environment's rewards, and each sampled
    batch is scaled with the statistics of the moment (SB3's ``ReplayBuffer.sample``)."""

    @property
    def capacity(self) -> int:
        """Rows of the replay buffer: SB3's ``buffer_size``, less what the budget never fills."""
        return max(1, min(self.buffer_size, self.total_timesteps))

    @classmethod
    def from_hyperparameters(
        cls, env_id: str, total_timesteps: int, overrides: dict[str, Any] | None = None
    ) -> SACConfig:
        """The SAC table of ``env_id`` (``agents/hyperparams/sac.toml``) with ``overrides``.

        Raises:
            EngineError: naming the settings the engine does not implement as SB3 does.
        """
        table = merge_hyperparameters(load_hyperparameters("sac", env_id), overrides or {})
        setup, settings = split_setup(table)
        given = {**setup, **settings}
        refused = [
            key
            for key, neutral in {**NEUTRAL, **NEUTRAL_SETUP}.items()
            if key in given and given[key] != neutral
        ]
        refused += sorted(set(setup) - set(NEUTRAL_SETUP) - {"n_timesteps", "normalize_reward"})
        if "train_freq" in settings and not _train_freq_is_one(settings["train_freq"]):
            refused.append("train_freq")
        policy_kwargs = settings.pop("policy_kwargs", {}) or {}
        known = set(SB3_DEFAULTS) | set(NEUTRAL) | {"seed", "train_freq"}
        refused += sorted(set(settings) - known)
        if refused:
            raise EngineError(
                f"the jax engine does not implement SAC's {', '.join(refused)} as set "
                f'for {env_id}; use engine = "sb3"'
            )
        values = {**SB3_DEFAULTS, **settings}
        normalize = setup.get("normalize_reward", False)
        if not isinstance(normalize, bool):
            raise EngineError(f"normalize_reward must be true or false, got {normalize!r}")
        for key, least in (("batch_size", 1), ("buffer_size", 1), ("learning_starts", 0)):
            if int(values[key]) < least:
                raise EngineError(f"SAC's {key} must be at least {least}, got {values[key]!r}")
        lr, lr_linear = schedule("learning_rate", values["learning_rate"])
        ent_coef, auto = _ent_coef(values["ent_coef"])
        target = values["target_entropy"]
        pi, qf, activation, n_critics = _net_arch(policy_kwargs)
        return cls(
            total_timesteps=int(total_timesteps),
            learning_rate=lr,
            lr_linear=lr_linear,
            buffer_size=int(values["buffer_size"]),
            learning_starts=int(values["learning_starts"]),
            batch_size=int(values["batch_size"]),
            tau=float(values["tau"]),
            gamma=float(values["gamma"]),
            ent_coef=ent_coef,
            ent_coef_auto=auto,
            target_entropy=None if target == "auto" else float(target),
            pi_arch=pi,
            qf_arch=qf,
            activation=activation,
            n_critics=n_critics,
            normalize_reward=normalize,
        )
