"""FANN's SARPROP: RPROP with weight decay and simulated-annealing noise.

The noise term is drawn, one uniform number per weight in index order, only
where FANN draws it (a sign change on a small step); ``random_source`` supplies
those numbers, from the seeded generator by default.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fannctl.network import TrainState
from fannctl.params import TrainingParams, fann_float

RandomSource = Callable[[int], np.ndarray]
_LN2 = 0.6931471805599453


def update(
    weights: np.ndarray,
    state: TrainState,
    params: TrainingParams,
    num_patterns: int,
    start: int = 0,
    error: float = 0.0,
    random_source: RandomSource | None = None,
) -> None:
    """One SARPROP step for every weight from ``start``; slopes reset to 0."""
    w = weights[start:]
    dt = w.dtype.type
    epoch = state.sarprop_epoch
    f32 = np.float32
    # FANN's SARPROP works in C floats: parameters, the exponents, MSE and RMSE.
    temperature = f32(params.sarprop_temperature)
    decay_x = f32(-temperature * f32(epoch) + f32(params.sarprop_weight_decay_shift))
    noise_x = f32(-temperature * f32(epoch) + f32(params.sarprop_step_error_shift))
    decay = dt(np.exp(_LN2 * float(decay_x)))
    noise_scale = dt(np.exp(_LN2 * float(noise_x)))
    mse = f32(error)
    rmse = f32(np.sqrt(float(mse)))
    threshold = dt(f32(params.sarprop_step_error_threshold_factor) * mse)
    prev_step = np.maximum(state.prev_steps[start:], dt(1e-6))
    slope = -state.slopes[start:] - w * decay
    prev_slope = state.prev_slopes[start:]
    product = slope * prev_slope
    grow, shrink, flat = product > 0, product < 0, product == 0
    step = np.zeros_like(w)
    step[grow] = np.minimum(
        prev_step[grow] * dt(fann_float(params.rprop_increase_factor)),
        dt(fann_float(params.rprop_delta_max)),
    )
    small = shrink & (prev_step < threshold)
    large = shrink & ~small
    if small.any():
        draws = (random_source or _default_source)(int(small.sum())).astype(f32)
        noise = (draws * rmse).astype(w.dtype) * noise_scale
        step[small] = prev_step[small] * dt(fann_float(params.rprop_decrease_factor)) + noise
    step[large] = np.maximum(
        prev_step[large] * dt(fann_float(params.rprop_decrease_factor)), dt(1e-6)
    )
    move = np.where(grow, step, np.where(flat, prev_step, dt(0)))
    w -= np.where(slope < 0, -move, move)
    # Where the product is 0, FANN stores whatever step it last assigned to an
    # earlier weight in this update (0 if none): a stale value, kept here.
    assigned = ~flat
    last = np.maximum.accumulate(np.where(assigned, np.arange(w.size), -1))
    stale = np.where(last >= 0, step[np.maximum(last, 0)], dt(0))
    step = np.where(flat, stale, step)
    slope[shrink] = 0
    state.prev_steps[start:] = step
    state.prev_slopes[start:] = slope
    state.slopes[start:] = 0


def _default_source(n: int) -> np.ndarray:
    return np.random.default_rng().random(n)
