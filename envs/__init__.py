"""proxygym environments, one module per family.

Importing this package does not register anything; ``import proxygym`` does.
"""

from proxygym.envs.goodhart.cobra_bounty import CobraBountyEnv
from proxygym.envs.goodhart.lagoon_race import LagoonRaceEnv
from proxygym.envs.goodhart.option_picking import OptionPickingEnv
from proxygym.envs.goodhart.speed_track import SpeedTrackEnv
from proxygym.envs.goodhart.status_lamp import StatusLampEnv
from proxygym.envs.gridworlds.absent_supervisor import AbsentSupervisorEnv
from proxygym.envs.gridworlds.boat_race import BoatRaceEnv
from proxygym.envs.gridworlds.conveyor_belt import ConveyorBeltEnv
from proxygym.envs.gridworlds.island_navigation import IslandNavigationEnv
from proxygym.envs.gridworlds.rocks_diamonds import RocksDiamondsEnv
from proxygym.envs.gridworlds.side_effects_sokoban import SideEffectsSokobanEnv
from proxygym.envs.gridworlds.tomato_watering import TomatoWateringEnv
from proxygym.envs.simulators.glucose import GlucoseEnv
from proxygym.envs.simulators.pandemic import PandemicEnv
from proxygym.envs.simulators.traffic_merge import TrafficMergeEnv
from proxygym.envs.wrapped.proxy_examples import (
    AcrobotHeightEnv,
    HopperForwardEnv,
    PendulumNoTorqueCostEnv,
)

__all__ = [
    "AbsentSupervisorEnv",
    "AcrobotHeightEnv",
    "BoatRaceEnv",
    "CobraBountyEnv",
    "ConveyorBeltEnv",
    "GlucoseEnv",
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
