"""Reward models fit to preference comparisons by Bradley-Terry maximum likelihood.

A :class:`RewardModel` is a small MLP ``r(features)`` giving one reward per
step; a segment's predicted return is the sum over its steps. Fitting
minimises the cross-entropy between ``sigmoid(R_hat(a) - R_hat(b))`` and the
labels (Christiano et al. 2017), full-batch with AdamW and early stopping on
held-out comparisons: the distinct segments of the comparisons go through
the network once per epoch, which keeps m = 1000 pairs of 20-step segments
to about a second on one thread.

Two choices make the fitted function well defined:

- features are standardised with the mean and standard deviation of every
  step of the training segments, stored in the model; features that do not
  vary there (standard deviation below 1e-6) are dropped, i.e. weighted 0,
  which also avoids dividing by zero;
- comparisons only fix returns up to a constant per step (all segments have
  the same length), so after fitting the model is shifted to a mean
  per-step reward of 0 over the training steps. Without this the offset would
  be an accident of initialisation and weight decay, yet it changes what an
  RL agent prefers wherever episode lengths can differ.

Fitting is deterministic: same data and seed give bit-identical parameters on
CPU (torch's global generator is left untouched). It runs on one torch
thread, restoring the previous thread count afterwards.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from proxygym.core import check_knob
from proxygym.envs.learned_proxy._checks import check_int, check_positive, check_probability
from proxygym.envs.learned_proxy.ensemble import Aggregate, MLPWeights, RewardEnsemble
from proxygym.envs.learned_proxy.labels import Comparisons
from proxygym.envs.learned_proxy.segments import Segments
from proxygym.threads import one_torch_thread

#: Features whose standard deviation over the training steps is below this are dropped.
_MIN_STD = 1e-6


class RewardModel(nn.Module):
    """Per-step reward ``r(x) = MLP((x[active] - mean) / scale)``: ``depth`` hidden ReLU layers.

    ``active`` are the features that vary over the training steps; the others
    are dropped, i.e. weighted 0, since comparisons say nothing about them
    (and dropping them makes fitting several times faster on one-hot grids).
    ``depth = 0`` is a linear model (``width`` unused).
    """

    def __init__(
        self,
        n_features: int,
        width: int,
        depth: int,
        active: np.ndarray,
        feature_mean: np.ndarray,
        feature_scale: np.ndarray,
    ) -> None:
        super().__init__()
        self.n_features = n_features
        layers: list[nn.Module] = []
        inputs = int(active.size)
        for _ in range(depth):
            layers += [nn.Linear(inputs, width), nn.ReLU()]
            inputs = width
        layers.append(nn.Linear(inputs, 1))
        self.net = nn.Sequential(*layers)
        self.active: torch.Tensor
        self.feature_mean: torch.Tensor
        self.feature_scale: torch.Tensor
        self.register_buffer("active", torch.as_tensor(active, dtype=torch.int64))
        self.register_buffer("feature_mean", torch.as_tensor(feature_mean, dtype=torch.float32))
        self.register_buffer("feature_scale", torch.as_tensor(feature_scale, dtype=torch.float32))

    def standardise(self, features: torch.Tensor) -> torch.Tensor:
        """The network's input for ``(..., F)`` raw features: active ones, standardised."""
        return (features[..., self.active] - self.feature_mean) / self.feature_scale

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Per-step rewards for ``(..., F)`` raw features: ``(...)``."""
        return self.net(self.standardise(features)).squeeze(-1)

    def to_numpy(self) -> MLPWeights:
        """The model as float64 arrays on all ``F`` features (inactive ones weighted 0).

        The standardisation is folded into the first layer:
        ``(x - mean) / scale @ W + b == x @ (W / scale) + (b - (mean / scale) @ W)``.
        """
        linear = [layer for layer in self.net if isinstance(layer, nn.Linear)]
        weights = [layer.weight.detach().double().numpy().T.copy() for layer in linear]
        biases = [layer.bias.detach().double().numpy().copy() for layer in linear]
        mean = self.feature_mean.double().numpy()
        scale = self.feature_scale.double().numpy()
        biases[0] = biases[0] - (mean / scale) @ weights[0]
        first = np.zeros((self.n_features, weights[0].shape[1]))
        first[self.active.numpy()] = weights[0] / scale[:, None]
        weights[0] = first
        return MLPWeights(tuple(weights), tuple(biases))


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the features of ``(..., F)`` that vary over all steps, with their mean and std.

    A feature varies when its standard deviation is at least 1e-6.
    """
    flat = features.reshape(-1, features.shape[-1])
    mean = flat.mean(axis=0, dtype=np.float64)
    std = flat.std(axis=0, dtype=np.float64)
    active = np.flatnonzero(std >= _MIN_STD)
    return active, mean[active], std[active]


def fit_reward_model(
    segments: Segments,
    comparisons: Comparisons,
    width: int = 32,
    depth: int = 1,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 1e-3,
    validation_fraction: float = 0.2,
    patience: int = 20,
    seed: int = 0,
) -> RewardModel:
    """Fit a :class:`RewardModel` to ``comparisons`` of ``segments`` (see the module docstring).

    A seeded ``validation_fraction`` of the comparisons is held out; the
    parameters with the lowest validation loss are kept, and fitting stops
    ``patience`` epochs after the last improvement. Full-batch steps overfit
    noisy labels within tens of epochs (on TomatoWatering, 1000 comparisons
    then gave a worse model than 300), which this early stopping prevents.
    When the held-out share rounds to no comparison (fewer than
    ``1 / validation_fraction``), all ``epochs`` run on all comparisons.

    Args:
        width: units per hidden layer (>= 1 when ``depth >= 1``).
        depth: hidden layers (0: linear).
        epochs: the most full-batch AdamW steps.
        lr: AdamW learning rate.
        weight_decay: AdamW's decoupled weight decay.
        validation_fraction: share of comparisons held out for early stopping, in [0, 1).
        patience: epochs without a better validation loss before stopping.
        seed: seeds the initial weights and the validation split.

    Raises:
        ValueError: naming the argument when it is out of range, when a
            comparison indexes a segment that ``segments`` does not hold, or
            when every feature is constant over the segments.
    """
    depth = check_int("depth", depth, 0)
    width = check_int("width", width, 1) if depth else 1
    check_int("epochs", epochs, 1)
    check_positive("lr", lr)
    check_knob("weight_decay", weight_decay)
    if check_probability("validation_fraction", validation_fraction) == 1:
        raise ValueError("validation_fraction must be below 1: some comparisons must be fitted")
    check_int("patience", patience, 1)
    check_int("seed", seed, 0)
    m = len(comparisons)
    if not m:
        raise ValueError("comparisons must hold at least one labelled pair")
    n_segments, _, n_features = segments.features.shape
    pairs = np.concatenate([comparisons.index_a, comparisons.index_b])
    if pairs.min() < 0 or pairs.max() >= n_segments:
        raise ValueError(f"comparisons index segments outside 0..{n_segments - 1}")
    active, mean, scale = feature_statistics(segments.features)
    if not active.size:
        raise ValueError("every feature is constant over the segments: there is nothing to fit")
    # Each segment in a comparison goes through the network once per epoch.
    used, inverse = np.unique(pairs, return_inverse=True)
    selected = segments.features[used][..., active]
    inputs = torch.from_numpy(((selected - mean) / scale).astype(np.float32))
    index_a, index_b = torch.from_numpy(inverse[:m]), torch.from_numpy(inverse[m:])
    labels = torch.from_numpy(comparisons.label.astype(np.float32))
    order = torch.from_numpy(np.random.default_rng(seed).permutation(m))
    held_out, fitted = order[: int(validation_fraction * m)], order[int(validation_fraction * m) :]
    with one_torch_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RewardModel(n_features, width, depth, active, mean, scale)
        optimizer = torch.optim.AdamW(model.net.parameters(), lr=lr, weight_decay=weight_decay)
        best_loss, best_state, since_best = math.inf, None, 0
        for _ in range(epochs):
            returns = model.net(inputs).squeeze(-1).sum(dim=1)
            logits = returns[index_a] - returns[index_b]
            if held_out.numel():
                validation_loss = float(_bt_loss(logits[held_out].detach(), labels[held_out]))
                if validation_loss < best_loss:
                    best_loss, since_best = validation_loss, 0
                    best_state = {k: v.clone() for k, v in model.state_dict().items()}
                else:
                    since_best += 1
                    if since_best >= patience:
                        break
            optimizer.zero_grad()
            _bt_loss(logits[fitted], labels[fitted]).backward()
            optimizer.step()
        if best_state is not None:
            model.load_state_dict(best_state)
        _centre(model, segments.features)
    return model


def _bt_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Bradley-Terry cross-entropy of ``sigmoid(logits)`` against the 0/1 ``labels``."""
    return nn.functional.binary_cross_entropy_with_logits(logits, labels)


def _centre(model: RewardModel, features: np.ndarray) -> None:
    """Shift the last bias so the mean per-step reward over ``features`` is 0."""
    with torch.no_grad():
        offset = model(torch.from_numpy(features.astype(np.float32))).double().mean()
        last = model.net[-1]
        assert isinstance(last, nn.Linear)
        last.bias.sub_(offset.float())


def fit_ensemble(
    segments: Segments,
    comparisons: Comparisons,
    members: int = 1,
    seed: int = 0,
    aggregate: Aggregate = "mean",
    lcb_lambda: float = 1.0,
    **fit_kwargs: Any,
) -> RewardEnsemble:
    """Fit ``members`` reward models and return them as a :class:`RewardEnsemble`.

    ``fit_kwargs`` (``width``, ``depth``, ``epochs``, ...) go to
    :func:`fit_reward_model`. With ``members > 1``, member ``i`` is fit on a
    bootstrap resample (``m`` comparisons drawn with replacement), its
    resample, split and initial weights seeded from ``(seed, i)``, so members
    differ in data and initialisation (a comparison drawn twice can land on
    both sides of the validation split, which makes early stopping a little
    late). With ``members == 1`` the single member is the plain fit,
    ``fit_reward_model(..., seed=seed)`` on all comparisons: a one-member
    ensemble is exactly the model it holds.
    """
    check_int("members", members, 1)
    check_int("seed", seed, 0)
    if members == 1:
        model = fit_reward_model(segments, comparisons, seed=seed, **fit_kwargs)
        return RewardEnsemble([model.to_numpy()], aggregate, lcb_lambda)
    fitted = []
    for member in range(members):
        stream = np.random.SeedSequence([seed, member])
        resample = np.random.default_rng(stream).integers(len(comparisons), size=len(comparisons))
        member_seed = int(stream.generate_state(1)[0])
        model = fit_reward_model(
            segments, comparisons.subset(resample), seed=member_seed, **fit_kwargs
        )
        fitted.append(model.to_numpy())
    return RewardEnsemble(fitted, aggregate, lcb_lambda)
