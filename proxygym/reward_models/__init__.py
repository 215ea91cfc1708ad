"""Learned reward-model proxies (after Christiano et al. 2017 and Gao et al. 2022).

The pipeline, one module each:

- :mod:`~proxygym.reward_models.segments`: seeded rollouts of a behaviour
  policy as per-step features (observation + one-hot action), cut into
  segments or kept as whole trajectories;
- :mod:`~proxygym.reward_models.labels`: Bradley-Terry preference labels on
  pairs of segments from their true returns, with optional label noise;
- :mod:`~proxygym.reward_models.model`: an MLP reward model fit to the labels
  (torch), and bootstrapped ensembles of them;
- :mod:`~proxygym.reward_models.ensemble`: fitted models as numpy arrays,
  aggregated by mean, min or a lower confidence bound;
- :mod:`~proxygym.reward_models.wrapper`: ``LearnedRewardProxy``, a wrapper
  paying the model's prediction as the proxy;
- :mod:`~proxygym.reward_models.env`: ``proxygym/LearnedProxy-v0``, the
  whole pipeline behind one registered id;
- :mod:`~proxygym.reward_models.best_of_n`: exact best-of-n over a pool of
  trajectories scored by the model.

Only fitting needs torch: the names from :mod:`~proxygym.reward_models.model`
are imported on first use, so environments built on a fitted model (and
``proxygym.list_envs()``) do not pay for importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proxygym.reward_models.best_of_n import (
    BestOfNPoint,
    best_of_n_curve,
    best_of_n_probabilities,
    best_of_n_sample,
    kl_best_of_n,
    quantilized_best_of_n_probabilities,
    trajectory_scores,
)
from proxygym.reward_models.ensemble import AGGREGATES, MLPWeights, RewardEnsemble
from proxygym.reward_models.labels import (
    Comparisons,
    draw_labels,
    label_pairs,
    preference_probability,
)
from proxygym.reward_models.segments import (
    Segments,
    Trajectories,
    collect_segments,
    collect_trajectories,
    step_features,
)
from proxygym.reward_models.wrapper import LearnedRewardProxy

if TYPE_CHECKING:
    from proxygym.reward_models.model import RewardModel, fit_ensemble, fit_reward_model

_TORCH_NAMES = ("RewardModel", "fit_ensemble", "fit_reward_model")

__all__ = [
    "AGGREGATES",
    "BestOfNPoint",
    "Comparisons",
    "LearnedRewardProxy",
    "MLPWeights",
    "RewardEnsemble",
    "RewardModel",
    "Segments",
    "Trajectories",
    "best_of_n_curve",
    "best_of_n_probabilities",
    "best_of_n_sample",
    "collect_segments",
    "collect_trajectories",
    "draw_labels",
    "fit_ensemble",
    "fit_reward_model",
    "kl_best_of_n",
    "label_pairs",
    "preference_probability",
    "quantilized_best_of_n_probabilities",
    "step_features",
    "trajectory_scores",
]


def __getattr__(name: str) -> Any:
    """Import the torch-backed names of :mod:`~proxygym.reward_models.model` on first use."""
    if name in _TORCH_NAMES:
        from proxygym.reward_models import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
