"""Registration of every proxygym environment with Gymnasium, and its catalogue.

Adding an environment means adding one line to :data:`ENVIRONMENTS` (or, for a
Gymnasium environment wrapped by ``ProxyReward``, to
:data:`WRAPPED_ENVIRONMENTS`); the test suite iterates over :func:`list_envs`,
so the new id is checked for free.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from proxygym.core import EnvCard

NAMESPACE = "proxygym"

#: (name, entry point, time limit). Ids are ``proxygym/<name>-v0``.
ENVIRONMENTS: tuple[tuple[str, str, int], ...] = (
    ("BoatRace", "proxygym.envs.gridworlds.boat_race:BoatRaceEnv", 100),
    ("TomatoWatering", "proxygym.envs.gridworlds.tomato_watering:TomatoWateringEnv", 100),
    ("AbsentSupervisor", "proxygym.envs.gridworlds.absent_supervisor:AbsentSupervisorEnv", 100),
    ("RocksDiamonds", "proxygym.envs.gridworlds.rocks_diamonds:RocksDiamondsEnv", 100),
    ("IslandNavigation", "proxygym.envs.gridworlds.island_navigation:IslandNavigationEnv", 100),
    ("ConveyorBelt", "proxygym.envs.gridworlds.conveyor_belt:ConveyorBeltEnv", 100),
    (
        "SideEffectsSokoban",
        "proxygym.envs.gridworlds.side_effects_sokoban:SideEffectsSokobanEnv",
        100,
    ),
    ("CobraBounty", "proxygym.envs.goodhart.cobra_bounty:CobraBountyEnv", 100),
    ("LagoonRace", "proxygym.envs.goodhart.lagoon_race:LagoonRaceEnv", 100),
    ("OptionPicking", "proxygym.envs.goodhart.option_picking:OptionPickingEnv", 100),
    ("SpeedTrack", "proxygym.envs.goodhart.speed_track:SpeedTrackEnv", 100),
    ("StatusLamp", "proxygym.envs.goodhart.status_lamp:StatusLampEnv", 100),
    ("TrafficMerge", "proxygym.envs.simulators.traffic_merge:TrafficMergeEnv", 100),
    ("Pandemic", "proxygym.envs.simulators.pandemic:PandemicEnv", 100),
    ("Glucose", "proxygym.envs.simulators.glucose:GlucoseEnv", 100),
    ("LearnedProxy", "proxygym.envs.learned_proxy.env:LearnedProxyEnv", 100),
)

#: Gymnasium's own environments made proxy/true pairs by
#: :class:`proxygym.proxy_reward.ProxyReward` (same format); the MuJoCo one only
#: when ``mujoco`` is installed (``pip install -e '.[mujoco]'``).
WRAPPED_ENVIRONMENTS: tuple[tuple[str, str, int], ...] = (
    ("AcrobotHeight", "proxygym.envs.wrapped.proxy_examples:AcrobotHeightEnv", 100),
    ("PendulumNoTorqueCost", "proxygym.envs.wrapped.proxy_examples:PendulumNoTorqueCostEnv", 100),
) + (
    (("HopperForward", "proxygym.envs.wrapped.proxy_examples:HopperForwardEnv", 100),)
    if importlib.util.find_spec("mujoco") is not None
    else ()
)


@dataclass(frozen=True)
class EnvRecord:
    """One registered environment and what it measures."""

    id: str
    proxy: str
    true_objective: str
    goodhart_variant: str
    knobs: tuple[str, ...]
    max_episode_steps: int
    entry_point: str
    dial: str | None = None


def env_id(name: str) -> str:
    return f"{NAMESPACE}/{name}-v0"


def register_all() -> None:
    """Register every environment with Gymnasium (idempotent)."""
    for name, entry_point, max_steps in (*ENVIRONMENTS, *WRAPPED_ENVIRONMENTS):
        if env_id(name) not in gym.registry:
            gym.register(
                id=env_id(name),
                entry_point=entry_point,
                max_episode_steps=max_steps,
            )


def env_class(env_id: str) -> Any:
    """The class (or factory) registered as ``env_id``'s entry point."""
    entry_point = gym.spec(env_id).entry_point
    if isinstance(entry_point, str):
        return gym.envs.registration.load_env_creator(entry_point)
    return entry_point


def _card(env_id: str) -> EnvCard:
    return env_class(env_id).card


def list_envs() -> list[EnvRecord]:
    """Every registered proxygym id with its proxy, true objective, variant and knobs."""
    records = []
    for name, entry_point, max_steps in (*ENVIRONMENTS, *WRAPPED_ENVIRONMENTS):
        card = _card(env_id(name))
        records.append(
            EnvRecord(
                id=env_id(name),
                proxy=card.proxy,
                true_objective=card.true_objective,
                goodhart_variant=card.goodhart_variant,
                knobs=card.knobs,
                max_episode_steps=max_steps,
                entry_point=entry_point,
                dial=card.dial,
            )
        )
    return records


def import_modules(names: Iterable[str]) -> None:
    """Import each module in ``names`` (a sweep's ``modules``), registering the ids they define.

    Worker processes, reports and the detector call it before making the
    environment: an id registered only in the driver's ``__main__`` does not
    exist in a fresh process. Modules are found on the Python path and in
    the current directory, as ``python -m`` would find them (the ``proxygym``
    console script alone would not look there).
    """
    names = list(names)
    if names and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    for name in names:
        importlib.import_module(name)
