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
    decay = dt(fann_float(params.quickprop_decay))
    slope = np.multiply(w, decay)
    slope += state.slopes[start:]  # S = slope + decay * w
    prev_slope = state.prev_slopes[start:]
    prev_step = state.prev_steps[start:]
    # Both branches are computed for every weight and np.where picks one, so the
    # secant may overflow or divide by zero where it is not used: no warnings.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        secant = np.multiply(prev_step, slope)
        secant /= prev_slope - slope
        plain = epsilon * slope
        grow = mu * prev_step
        threshold = shrink * prev_slope
        pos, neg = prev_step > dt(0.001), prev_step < dt(-0.001)
        # Moving up (pos): (S > 0 ? eps*S : 0) + (S > shrink*Sp ? mu*dp : secant);
        # moving down (neg) the same with < . Otherwise just eps*S.
        step = np.where(np.where(pos, slope > 0, slope < 0), plain, dt(0))
        step += np.where(np.where(pos, slope > threshold, slope < threshold), grow, secant)
        np.copyto(step, plain, where=~(pos | neg))
    state.prev_steps[start:] = step
    w += step
    np.clip(w, dt(-WEIGHT_LIMIT), dt(WEIGHT_LIMIT), out=w)
    state.prev_slopes[start:] = slope
    state.slopes[start:] = 0
