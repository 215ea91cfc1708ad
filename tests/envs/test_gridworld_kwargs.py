"""Bad keyword arguments of ConveyorBelt, SideEffectsSokoban and IslandNavigation name the problem.

The same check for BoatRace, TomatoWatering, AbsentSupervisor and
RocksDiamonds (and the kwargs every gridworld takes) is in test_contract.py,
under the same test name.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import pytest

import proxygym  # noqa: F401  (registers the ids)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "message"),
    [
        ("proxygym/ConveyorBelt-v0", {"variant": "sushi_goal2"}, "variant"),
        ("proxygym/ConveyorBelt-v0", {"variant": "Vase"}, "variant"),
        ("proxygym/ConveyorBelt-v0", {"variant": 0}, "variant"),
        ("proxygym/SideEffectsSokoban-v0", {"level": 1}, "level"),
        ("proxygym/SideEffectsSokoban-v0", {"level": True}, "level"),
        ("proxygym/SideEffectsSokoban-v0", {"level": "0"}, "level"),
        ("proxygym/IslandNavigation-v0", {"level": 0}, "level"),
    ],
)
def test_bad_kwargs_name_the_problem(env_id: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        gym.make(env_id, **kwargs)
