"""proxygym environments, one module per family.

Importing this package does not register anything; ``import proxygym`` does.
"""

from proxygym.envs.absent_supervisor import AbsentSupervisorEnv
from proxygym.envs.boat_race import BoatRaceEnv
from proxygym.envs.cobra_bounty import CobraBountyEnv
from proxygym.envs.conveyor_belt import ConveyorBeltEnv
from proxygym.envs.island_navigation import IslandNavigationEnv
from proxygym.envs.lagoon_race import LagoonRaceEnv
from proxygym.envs.option_picking import OptionPickingEnv
from proxygym.envs.pandemic import PandemicEnv
from proxygym.envs.proxy_examples import (
    AcrobotHeightEnv,
    HopperForwardEnv,
    PendulumNoTorqueCostEnv,
)
from proxygym.envs.rocks_diamonds import RocksDiamondsEnv
from proxygym.envs.side_effects_sokoban import SideEffectsSokobanEnv
from proxygym.envs.speed_track import SpeedTrackEnv
from proxygym.envs.status_lamp import StatusLampEnv
from proxygym.envs.tomato_watering import TomatoWateringEnv
from proxygym.envs.traffic_merge import TrafficMergeEnv

__all__ = [
    "AbsentSupervisorEnv",
    "AcrobotHeightEnv",
    "BoatRaceEnv",
    "CobraBountyEnv",
    "ConveyorBeltEnv",
    "HopperForwardEnv",
    "IslandNavigationEnv",
    "LagoonRaceEnv",
    "OptionPickingEnv",
    "PandemicEnv",
    "PendulumNoTorqueCostEnv",
    "RocksDiamondsEnv",
    "SideEffectsSokobanEnv",
    "SpeedTrackEnv",
    "StatusLampEnv",
    "TomatoWateringEnv",
    "TrafficMergeEnv",
]
