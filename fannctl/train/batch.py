"""FANN's batch backpropagation: one step along the summed slopes per epoch."""

from __future__ import annotations

import numpy as np

from fannctl.network import TrainState
from fannctl.params import TrainingParams


def update(
    weights: np.ndarray,
    state: TrainState,
    params: TrainingParams,
    num_patterns: int,
    start: int = 0,
) -> None:
    """``w += slope * lr / P`` for every weight from ``start``; slopes reset to 0."""
    slopes = state.slopes
    epsilon = weights.dtype.type(params.learning_rate / num_patterns)
    weights[start:] += slopes[start:] * epsilon
    slopes[start:] = 0
