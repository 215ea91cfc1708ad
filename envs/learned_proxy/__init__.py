"""Learned reward-model proxies (after Christiano et al. 2017 and Gao et al. 2022).

The pipeline, one module each:

- :mod:`~proxygym.envs.learned_proxy.segments`: seeded rollouts of a behaviour
  policy as per-step features (observation + one-hot action), cut into
  segments or kept as whole trajectories;
- :mod:`~proxygym.envs.learned_proxy.labels`: Bradley-Terry preference labels on
  pairs of segments from their true returns, with optional label noise;
- :mod:`~proxygym.envs.learned_proxy.model`: an MLP reward model fit to the labels
  (torch), and bootstrapped ensembles of them;
- :mod:`~proxygym.envs.learned_proxy.ensemble`: fitted models as numpy arrays,
  aggregated by mean, min or a lower confidence bound;
- :mod:`~proxygym.envs.learned_proxy.wrapper`: ``LearnedRewardProxy``, a wrapper
  paying the model's prediction as the proxy;
- :mod:`~proxygym.envs.learned_proxy.env`: ``proxygym/LearnedProxy-v0``, the
  whole pipeline behind one registered id.

Best-of-n selection against a fitted model is planning, one layer up:
:mod:`proxygym.planning.best_of_n`.

Only fitting needs torch: the names from :mod:`~proxygym.envs.learned_proxy.model`
are imported on first use, so environments built on a fitted model (and
``proxygym.list_envs()``) do not pay for importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proxygym.envs.learned_proxy.ensemble import AGGREGATES, MLPWeights, RewardEnsemble
from proxygym.envs.learned_proxy.labels import (
    Comparisons,
    draw_labels,
    label_pairs,
    preference_probability,
)
from proxygym.envs.learned_proxy.segments import (
    Segments,
    Trajectories,
    collect_segments,
    collect_trajectories,
    step_features,
)
from proxygym.envs.learned_proxy.wrapper import LearnedRewardProxy

if TYPE_CHECKING:
    from proxygym.envs.learned_proxy.model import RewardModel, fit_ensemble, fit_reward_model

_TORCH_NAMES = ("RewardModel", "fit_ensemble", "fit_reward_model")

__all__ = [
    "AGGREGATES",
    "Comparisons",
    "LearnedRewardProxy",
    "MLPWeights",
    "RewardEnsemble",
    "RewardModel",
    "Segments",
    "Trajectories",
    "collect_segments",
    "collect_trajectories",
    "draw_labels",
    "fit_ensemble",
    "fit_reward_model",
    "label_pairs",
    "preference_probability",
    "step_features",
]


def __getattr__(name: str) -> Any:
    """Import the torch-backed names of :mod:`~proxygym.envs.learned_proxy.model` on first use."""
    if name in _TORCH_NAMES:
        from proxygym.envs.learned_proxy import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
