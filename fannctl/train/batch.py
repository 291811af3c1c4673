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
    # FANN computes lr / P in C float arithmetic.
    epsilon = weights.dtype.type(
        np.float32(fann_float(params.learning_rate)) / np.float32(num_patterns)
    )
    weights[start:] += slopes[start:] * epsilon
    slopes[start:] = 0
