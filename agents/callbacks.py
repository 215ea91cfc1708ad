"""Training callbacks that log the true objective beside the proxy."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from proxygym.agents.factory import EPISODE_KEYS


class ProxyTrueLogger(BaseCallback):
    """Record every finished episode's proxy and true return.

    Values go to SB3's logger as ``proxy/ep_return`` and ``true/ep_return``
    (means since the last dump; TensorBoard shows them when the agent has a
    ``tensorboard_log``), to ``self.episodes`` in memory, and, with
    ``csv_path``, to a CSV file with one row per episode.
    """

    def __init__(self, csv_path: str | Path | None = None) -> None:
        super().__init__()
        self.csv_path = Path(csv_path) if csv_path is not None else None
        self.episodes: list[dict[str, float]] = []
        self._writer: Any = None
        self._handle: Any = None

    def _on_training_start(self) -> None:
        if self.csv_path is not None:
            self.csv_path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.csv_path.open("w", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["timestep", "proxy_return", "true_return", "length"])

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            episode = info.get("episode")
            if episode is None:
                continue
            if any(key not in episode for key in EPISODE_KEYS):
                raise KeyError(
                    "ProxyTrueLogger needs Monitor(info_keywords=EPISODE_KEYS); "
                    "build environments with proxygym.agents.make_env"
                )
            record = {
                "timestep": float(self.num_timesteps),
                "proxy_return": float(episode["episode_proxy_return"]),
                "true_return": float(episode["episode_true_return"]),
                "length": float(episode["l"]),
            }
            self.episodes.append(record)
            self.logger.record_mean("proxy/ep_return", record["proxy_return"])
            self.logger.record_mean("true/ep_return", record["true_return"])
            if self._writer is not None:
                self._writer.writerow(
                    [
                        self.num_timesteps,
                        record["proxy_return"],
                        record["true_return"],
                        episode["l"],
                    ]
                )
        return True

    def _on_training_end(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = self._writer = None
