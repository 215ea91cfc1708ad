"""Networks trained by the JAX engine's SAC as a stable-baselines3 SAC model, and back.

Every agent proxygym saves is an SB3 model, whatever trained it (see
:mod:`proxygym.jax.export`): :func:`to_sb3_sac` builds the SAC model
:func:`proxygym.agents.make_agent` would build for the same environment,
kwargs, hyperparameters and seed, and copies the JAX actor, critics, target
critics and entropy coefficient into it. ``predict(obs, deterministic=True)``
then gives the JAX actor's ``tanh(mu)`` in the action space's bounds
(``tests/jax/test_sac.py`` checks random observations to 1e-5).
:func:`from_sb3_sac` is the inverse. :func:`numpy_distribution` is the actor
in numpy for evaluation (the squashed Gaussian evaluation takes from an SB3
SAC policy, without torch's per-call overhead). The optimisers' states are not copied:
an exported model resumes training with fresh Adam moments.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3 import SAC

from proxygym.agents import make_agent
from proxygym.agents.distributions import DistributionFn, SquashedDiagGaussian
from proxygym.jax.export import copy_linear, copy_tower, numpy_tower
from proxygym.jax.sac import LOG_STD_MAX, LOG_STD_MIN, Params, SACConfig

_TORCH_ACTIVATIONS: dict[str, type[torch.nn.Module]] = {
    "relu": torch.nn.ReLU,
    "tanh": torch.nn.Tanh,
}


def policy_kwargs_of(config: SACConfig) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` building the networks of ``config``."""
    kwargs: dict[str, Any] = {"net_arch": {"pi": list(config.pi_arch), "qf": list(config.qf_arch)}}
    if config.activation != "relu":
        kwargs["activation_fn"] = _TORCH_ACTIVATIONS[config.activation]
    if config.n_critics != 2:
        kwargs["n_critics"] = config.n_critics
    return kwargs


def _heads(actor: Any) -> tuple[torch.nn.Linear, torch.nn.Linear]:
    """The actor's ``mu`` and ``log_std`` layers (a gSDE actor's log_std is not one: refused)."""
    mu, log_std = actor.mu, actor.log_std
    if not isinstance(mu, torch.nn.Linear) or not isinstance(log_std, torch.nn.Linear):
        raise TypeError("JAX SAC exports only actors without gSDE (mu and log_std both Linear)")
    return mu, log_std


def _critic_layers(critic: Any, index: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Critic ``index``'s layers, unstacked from the JAX critics' leading axis."""
    return [(np.asarray(k)[index], np.asarray(b)[index]) for k, b in critic]


def to_sb3_sac(
    params: Params,
    config: SACConfig,
    env_id: str,
    seed: int,
    env_kwargs: dict[str, Any] | None = None,
    oracle: bool = False,
    num_timesteps: int = 0,
    overrides: dict[str, Any] | None = None,
) -> SAC:
    """The SB3 SAC model holding the JAX networks ``params`` (trained ``num_timesteps`` steps).

    ``overrides`` are the hyperparameter overrides the run was trained with
    (network shape included), so the model is built as the SB3 engine would build it.
    """
    settings = dict(overrides or {})
    policy_kwargs = {**policy_kwargs_of(config), **(settings.pop("policy_kwargs", {}) or {})}
    model = make_agent(
        "sac",
        env_id,
        seed,
        env_kwargs=env_kwargs,
        oracle=oracle,
        policy_kwargs=policy_kwargs,
        **settings,
    )
    assert isinstance(model, SAC)
    actor = model.policy.actor
    mu, log_std = _heads(actor)
    copy_tower(actor.latent_pi, params["actor"]["pi"])
    copy_linear(mu, *params["actor"]["mu"])
    copy_linear(log_std, *params["actor"]["log_std"])
    for name in ("critic", "target"):
        module = model.policy.critic if name == "critic" else model.policy.critic_target
        if len(module.q_networks) != config.n_critics:
            raise ValueError(
                f"the SB3 model has {len(module.q_networks)} critics, "
                f"the JAX one {config.n_critics}"
            )
        for index, q_net in enumerate(module.q_networks):
            copy_tower(q_net, _critic_layers(params[name], index))
    log_ent = np.array(params["log_ent_coef"], np.float32).reshape(1)
    with torch.no_grad():
        if model.log_ent_coef is not None:
            model.log_ent_coef.copy_(torch.as_tensor(log_ent))
        else:
            model.ent_coef_tensor = torch.as_tensor(float(np.exp(log_ent[0])))
    model.num_timesteps = int(num_timesteps)
    return model


def numpy_distribution(
    params: Params, activation: str, low: np.ndarray, high: np.ndarray
) -> DistributionFn:
    """The actor's squashed Gaussian at one observation, in float32 like the JAX network.

    The same distribution :func:`proxygym.agents.evaluation.policy_distribution`
    reads from the exported SB3 policy: the pre-``tanh`` mean and standard
    deviation (log std clipped to [-20, 2]), rescaled to ``[low, high]``.
    """
    actor = params["actor"]
    tower = numpy_tower(actor["pi"], activation)
    mu = tuple(np.asarray(x, np.float32) for x in actor["mu"])
    log_std = tuple(np.asarray(x, np.float32) for x in actor["log_std"])
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)

    def distribution(observation: np.ndarray) -> SquashedDiagGaussian:
        x = tower(observation)
        mean = x @ mu[0] + mu[1]
        std = np.exp(np.clip(x @ log_std[0] + log_std[1], LOG_STD_MIN, LOG_STD_MAX))
        return SquashedDiagGaussian(mean.astype(np.float64), std.astype(np.float64), low, high)

    return distribution


def _linear(module: torch.nn.Linear) -> tuple[np.ndarray, np.ndarray]:
    return (
        module.weight.detach().numpy().T.astype(np.float32).copy(),
        module.bias.detach().numpy().astype(np.float32).copy(),
    )


def _tower(modules: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    return [_linear(m) for m in modules if isinstance(m, torch.nn.Linear)]


def _stacked_critics(module: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    towers = [_tower(q_net) for q_net in module.q_networks]
    return [
        (np.stack([t[i][0] for t in towers]), np.stack([t[i][1] for t in towers]))
        for i in range(len(towers[0]))
    ]


def from_sb3_sac(model: SAC) -> Params:
    """The JAX networks of an SB3 SAC ``MlpPolicy`` (the inverse of :func:`to_sb3_sac`)."""
    actor = model.policy.actor
    mu, log_std = _heads(actor)
    if model.log_ent_coef is not None:
        log_ent = model.log_ent_coef.detach().numpy().astype(np.float32).reshape(1).copy()
    else:
        log_ent = np.log(np.float32(model.ent_coef_tensor.item())).reshape(1)
    return {
        "actor": {
            "pi": _tower(actor.latent_pi),
            "mu": _linear(mu),
            "log_std": _linear(log_std),
        },
        "critic": _stacked_critics(model.policy.critic),
        "target": _stacked_critics(model.policy.critic_target),
        "log_ent_coef": log_ent,
    }


__all__ = ["from_sb3_sac", "numpy_distribution", "policy_kwargs_of", "to_sb3_sac"]
