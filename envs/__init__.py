"""proxygym environments, one module per family.

Importing this package does not register anything; ``import proxygym`` does.
"""

from proxygym.envs.absent_supervisor import AbsentSupervisorEnv
from proxygym.envs.boat_race import BoatRaceEnv
from proxygym.envs.rocks_diamonds import RocksDiamondsEnv
from proxygym.envs.tomato_watering import TomatoWateringEnv

__all__ = ["AbsentSupervisorEnv", "BoatRaceEnv", "RocksDiamondsEnv", "TomatoWateringEnv"]
