"""K-fold cross-validation (``train --cv K``) in one batched computation.

Each fold is an agent of the swarm engine (``swarm.batched``/``swarm.trainer``):
all K start from the network's weights, train together on the whole data set
with per-agent pattern weights that zero out the agent's own test fold (times
the sample weights, if any), then each is scored on its fold with
``metrics.evaluate``. The folds are ``datatools.fold_of_rows`` (seeded,
stratified for class targets). The network file itself is not changed.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np

from fannctl.data import TrainingData, check_fits, scale_data
from fannctl.errors import ParameterError
from fannctl.network import Network
from fannctl.params import Algorithm, TrainingParams

# The per-agent parameters the batched rules read (every float parameter is given).
_HYPER = tuple(
    name
    for name, kind in TrainingParams.__annotations__.items()
    if kind == "float" and not name.startswith("cascade_")
)
SUMMARY_KEYS = ("mse", "bit_fail", "accuracy", "rmse", "mae", "r2")


@dataclass
class CrossValResult:
    """Each fold's test metrics (``metrics.Evaluation.to_dict``) and training MSE."""

    folds: int
    epochs: int
    seconds: float
    fold_metrics: list[dict] = field(default_factory=list)
    train_mse: list[float] = field(default_factory=list)
    weights: np.ndarray | None = None  # (folds, connections): each fold's trained weights

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean, standard deviation (population), min and max of each scalar test metric."""
        out: dict[str, dict[str, float]] = {}
        for key in SUMMARY_KEYS:
            values = [m.get(key) for m in self.fold_metrics]
            if not values or any(not isinstance(v, int | float) for v in values):
                continue
            array = np.asarray(values, dtype=np.float64)
            out[key] = {
                "mean": float(array.mean()),
                "std": float(array.std()),
                "min": float(array.min()),
                "max": float(array.max()),
            }
        return out

    def to_dict(self) -> dict[str, object]:
        """What ``train --cv K --json`` prints."""
        return {
            "folds": self.folds,
            "epochs": self.epochs,
            "seconds": self.seconds,
            "summary": self.summary(),
            "fold_metrics": self.fold_metrics,
            "train_mse": self.train_mse,
        }


def cross_validate(
    net: Network,
    data: TrainingData,
    folds: int,
    *,
    epochs: int,
    seed: int | None = None,
    sample_weights: np.ndarray | None = None,
    task: str = "auto",
) -> CrossValResult:
    """K-fold cross-validation of ``net``'s training (its algorithm and parameters)
    for ``epochs`` epochs per fold, all folds in one batched computation."""
    from fannctl import datatools, metrics
    from fannctl.swarm.batched import Shape
    from fannctl.swarm.trainer import Chunk, clear_state, train_chunk
    from fannctl.train import check_trainable

    check_fits(net, data)
    check_trainable(net)
    if epochs < 1:
        raise ParameterError(f"--max-epochs must be at least 1, got {epochs}")
    if net.params.training_algorithm == Algorithm.INCREMENTAL:
        raise ParameterError("--cv trains the folds batched: batch, rprop, quickprop or sarprop")
    if net.params.rprop_variant != "fann":
        raise ParameterError("--cv trains with FANN's RPROP only (--rprop-variant fann)")
    shape = Shape.of(net)  # refuses what the batched engine cannot compute (softmax)
    fold = datatools.fold_of_rows(data, folds, seed)
    start = time.perf_counter()
    scaled = scale_data(net, data.astype(net.dtype))
    dtype = net.weights.dtype
    pattern_weights = (fold[np.newaxis, :] != np.arange(folds)[:, np.newaxis]).astype(dtype)
    if sample_weights is not None:
        pattern_weights *= np.asarray(sample_weights, dtype=dtype)[np.newaxis, :]
        if np.any(pattern_weights.sum(axis=1) <= 0):
            raise ParameterError("--cv: a fold's training patterns all have sample weight 0")
    agents = np.arange(folds)
    chunk = Chunk(
        agents,
        np.repeat(net.weights[np.newaxis], folds, axis=0),
        np.repeat(net.steepness[np.newaxis], folds, axis=0),
        np.full(folds, int(net.params.training_algorithm)),
        {name: np.full(folds, float(getattr(net.params, name))) for name in _HYPER},
        np.zeros((folds, net.weights.size), dtype=dtype),
        np.zeros((folds, net.weights.size), dtype=dtype),
        np.zeros(folds, dtype=np.int64),
        pattern_weights,
    )
    clear_state(chunk, agents)
    train_mse, _ = train_chunk(
        chunk, shape, scaled.inputs, scaled.outputs, epochs, round_index=0, seed=seed or 0
    )
    result = CrossValResult(folds, epochs, 0.0)
    result.train_mse = [float(x) for x in train_mse]
    result.weights = chunk.weights
    for k in range(folds):
        rows = np.flatnonzero(fold == k)
        member = copy.copy(net)
        member.weights = chunk.weights[k].copy()
        test = TrainingData(data.inputs[rows], data.outputs[rows], f"fold {k + 1}")
        scores = metrics.evaluate(member, test, task=task).to_dict()
        result.fold_metrics.append(scores)
    result.seconds = time.perf_counter() - start
    if any(not math.isfinite(m) for m in result.train_mse):
        raise ParameterError("--cv: training diverged in a fold (try a smaller learning rate)")
    return result
