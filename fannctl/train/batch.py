"""FANN's batch backpropagation: one step along the summed slopes per epoch."""

from __future__ import annotations

import numpy as np

from fannctl.network import TrainState
from fannctl.params import TrainingParams, fann_float


def update(
    weights: np.ndarray,
    state: TrainState,
    params: TrainingParams,
    num_patterns: int,
    start: int = 0,
) -> None:
    """``w += slope * lr / P`` for every weight from ``start``; slopes reset to 0."""
    slopes = state.slopes
    epsilon = learning_step(params.learning_rate, num_patterns, weights.dtype)
    weights[start:] += slopes[start:] * epsilon
    slopes[start:] = 0


def learning_step(learning_rate, num_patterns, dtype: np.dtype):
    """FANN's ``lr / P`` in C float arithmetic, as a number (or array) of ``dtype``.

    ``learning_rate`` and ``num_patterns`` may be arrays (one per network of a swarm).
    """
    if np.ndim(learning_rate) == 0 and np.ndim(num_patterns) == 0:
        return np.dtype(dtype).type(
            np.float32(fann_float(learning_rate)) / np.float32(num_patterns)
        )
    rate = np.asarray(learning_rate, dtype=np.float32)
    return (rate / np.asarray(num_patterns, dtype=np.float32)).astype(dtype)
