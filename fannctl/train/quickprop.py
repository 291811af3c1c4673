"""FANN's QuickProp (Fahlman): a secant step on each weight's slope, with decay."""

from __future__ import annotations

import numpy as np

from fannctl.network import TrainState
from fannctl.params import TrainingParams, fann_float

WEIGHT_LIMIT = 1500.0


def update(
    weights: np.ndarray,
    state: TrainState,
    params: TrainingParams,
    num_patterns: int,
    start: int = 0,
) -> None:
    """One QuickProp step for every weight from ``start``; slopes reset to 0."""
    w = weights[start:]
    dt = w.dtype.type
    # FANN keeps these in C floats: lr / P, decay, mu and the shrink factor.
    epsilon = dt(np.float32(fann_float(params.learning_rate)) / np.float32(num_patterns))
    mu_f = fann_float(params.quickprop_mu)
    mu = dt(mu_f)
    shrink = dt(fann_float(mu_f / (1.0 + mu_f)))
    slope = state.slopes[start:] + dt(fann_float(params.quickprop_decay)) * w
    prev_slope = state.prev_slopes[start:]
    prev_step = state.prev_steps[start:]
    with np.errstate(divide="ignore", invalid="ignore"):
        secant = (prev_step * slope) / (prev_slope - slope)
    pos, neg = prev_step > dt(0.001), prev_step < dt(-0.001)
    plain = epsilon * slope
    zero = dt(0)
    up = np.where(slope > 0, plain, zero) + np.where(slope > shrink * prev_slope, mu * prev_step,
                                                     secant)
    down = np.where(slope < 0, plain, zero) + np.where(slope < shrink * prev_slope,
                                                       mu * prev_step, secant)
    step = np.where(pos, up, np.where(neg, down, plain))
    state.prev_steps[start:] = step
    w += step
    np.clip(w, dt(-WEIGHT_LIMIT), dt(WEIGHT_LIMIT), out=w)
    state.prev_slopes[start:] = slope
    state.slopes[start:] = 0
