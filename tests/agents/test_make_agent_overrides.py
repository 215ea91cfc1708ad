"""make_agent takes verbose, device and any other SB3 constructor argument as an override."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from proxygym.agents import make_agent

ENV = "proxygym/BoatRace-v0"
SMALL = {"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1}


def parameters(model: object) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in model.policy.parameters()]  # type: ignore[attr-defined]


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn"])
def test_verbose_and_device_are_overrides(algo: str) -> None:
    default = make_agent(algo, ENV, seed=0)
    assert default.verbose == 0 and default.device == torch.device("cpu")
    loud = make_agent(algo, ENV, seed=0, verbose=1)
    assert loud.verbose == 1
    assert make_agent(algo, ENV, seed=0, device="cpu").device == torch.device("cpu")
    # "cuda" is accepted; SB3 falls back to the CPU on a machine without a GPU.
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert make_agent(algo, ENV, seed=0, device="cuda").device.type == expected


def test_any_sb3_argument_is_an_override() -> None:
    model = make_agent("ppo", ENV, seed=0, stats_window_size=7, target_kl=0.02, vf_coef=0.25)
    assert model._stats_window_size == 7
    assert model.target_kl == 0.02 and model.vf_coef == 0.25


def test_explicit_defaults_train_bit_identically() -> None:
    """verbose=0 and device="cpu" given or not: the same seeded training, bit for bit."""
    runs = []
    for extra in ({}, {"verbose": 0, "device": "cpu"}, {"verbose": 1}):
        model = make_agent("ppo", ENV, seed=3, **SMALL, **extra)
        model.learn(128)
        runs.append(parameters(model))
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_the_seed_is_still_not_an_override() -> None:
    with pytest.raises(TypeError):
        make_agent("ppo", ENV, 0, **{"seed": 1})  # type: ignore[misc]
