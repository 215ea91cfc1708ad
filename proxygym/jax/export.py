"""A policy trained by the JAX engine as a stable-baselines3 PPO model, and as a logits function.

Every agent proxygym saves is an SB3 model, whatever trained it: :func:`to_sb3`
builds the PPO model :func:`proxygym.agents.make_agent` would build for the
same environment, kwargs, hyperparameters and seed (so its saved
hyperparameters are the table's), and copies the JAX network's weights into
its ``MlpPolicy``. ``PPO.load`` then gives the same action probabilities as
the JAX network (``tests/jax/test_export.py`` checks 1,000 observations to
1e-5), and ``play``, ``render``, ``detect`` and ``eval`` work unchanged.

:func:`numpy_logits` is the same network in numpy for evaluation: a forward
pass per step without torch's per-call overhead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
import torch
from stable_baselines3 import PPO

from proxygym.agents import make_agent
from proxygym.core import LogitsFn
from proxygym.jax.ppo import ACTIVATIONS, Params, PPOConfig

#: The JAX engines' activations in numpy (evaluation runs the networks without JAX or torch).
NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
}
assert set(NUMPY_ACTIVATIONS) == set(ACTIVATIONS)


def numpy_tower(layers: Any, activation: str) -> Callable[[np.ndarray], np.ndarray]:
    """Hidden ``(kernel, bias)`` layers as a float32 numpy function of one observation."""
    act = NUMPY_ACTIVATIONS[activation]
    tower = [(np.asarray(k, np.float32), np.asarray(b, np.float32)) for k, b in layers]

    def forward(observation: np.ndarray) -> np.ndarray:
        x = np.asarray(observation, np.float32).reshape(-1)
        for kernel, bias in tower:
            x = act(x @ kernel + bias)
        return x

    return forward


def numpy_logits(params: Params, activation: str = "tanh") -> LogitsFn:
    """The policy's action logits for one observation, computed in float32 like the JAX network."""
    tower = numpy_tower(params["pi"], activation)
    head = tuple(np.asarray(x, np.float32) for x in params["action"])

    def logits(observation: np.ndarray) -> np.ndarray:
        return (tower(observation) @ head[0] + head[1]).astype(np.float64)

    return logits


def copy_tower(modules: Any, layers: list[tuple[Any, Any]]) -> None:
    """Copy JAX ``(kernel, bias)`` layers into the ``nn.Linear`` modules of ``modules``, in order.

    Raises:
        ValueError: when the numbers of layers or their shapes differ.
    """
    linears = [m for m in modules if isinstance(m, torch.nn.Linear)]
    if len(linears) != len(layers):
        raise ValueError(
            f"the SB3 network has {len(linears)} hidden layers, the JAX one {len(layers)}"
        )
    for linear, (kernel, bias) in zip(linears, layers, strict=True):
        copy_linear(linear, kernel, bias)


def copy_linear(linear: torch.nn.Linear, kernel: Any, bias: Any) -> None:
    """Copy one JAX layer (kernel shaped (inputs, outputs)) into torch's (outputs, inputs)."""
    kernel = torch.as_tensor(np.asarray(kernel, np.float32).T.copy())
    if tuple(linear.weight.shape) != tuple(kernel.shape):
        raise ValueError(
            f"layer shapes differ: SB3 {tuple(linear.weight.shape)}, JAX {tuple(kernel.shape)}"
        )
    with torch.no_grad():
        linear.weight.copy_(kernel)
        linear.bias.copy_(torch.as_tensor(np.array(bias, np.float32)))


def to_sb3(
    params: Params,
    config: PPOConfig,
    env_id: str,
    seed: int,
    env_kwargs: dict[str, Any] | None = None,
    oracle: bool = False,
    num_timesteps: int = 0,
    overrides: dict[str, Any] | None = None,
) -> PPO:
    """The SB3 PPO model holding the JAX network ``params`` (trained ``num_timesteps`` steps).

    ``overrides`` are the hyperparameter overrides the run was trained with
    (network shape included), so the model is built exactly as the SB3 engine
    would have built it.
    """
    settings = dict(overrides or {})
    policy_kwargs = dict(settings.pop("policy_kwargs", {}) or {})
    policy_kwargs.setdefault("net_arch", {"pi": list(config.pi_arch), "vf": list(config.vf_arch)})
    if config.activation != "tanh":
        policy_kwargs["activation_fn"] = {"relu": torch.nn.ReLU}[config.activation]
    model = make_agent(
        "ppo",
        env_id,
        seed,
        env_kwargs=env_kwargs,
        oracle=oracle,
        policy_kwargs=policy_kwargs,
        **settings,
    )
    assert isinstance(model, PPO)
    policy = model.policy
    copy_tower(policy.mlp_extractor.policy_net, params["pi"])
    copy_tower(policy.mlp_extractor.value_net, params["vf"])
    copy_linear(cast(torch.nn.Linear, policy.action_net), *params["action"])
    copy_linear(cast(torch.nn.Linear, policy.value_net), *params["value"])
    model.num_timesteps = int(num_timesteps)
    return model


def from_sb3(model: PPO) -> Params:
    """The JAX network parameters of an SB3 PPO ``MlpPolicy`` (the inverse of :func:`to_sb3`)."""
    policy = model.policy

    def linear(module: torch.nn.Linear) -> tuple[np.ndarray, np.ndarray]:
        return (
            module.weight.detach().numpy().T.astype(np.float32).copy(),
            module.bias.detach().numpy().astype(np.float32).copy(),
        )

    def tower(modules: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        return [linear(m) for m in modules if isinstance(m, torch.nn.Linear)]

    return {
        "pi": tower(policy.mlp_extractor.policy_net),
        "vf": tower(policy.mlp_extractor.value_net),
        "action": linear(cast(torch.nn.Linear, policy.action_net)),
        "value": linear(cast(torch.nn.Linear, policy.value_net)),
    }
