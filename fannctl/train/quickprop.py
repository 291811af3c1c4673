"""FANN's QuickProp (Fahlman): a secant step on each weight's slope, with decay."""

from __future__ import annotations

import numpy as np

from fannctl.network import TrainState
from fannctl.params import TrainingParams, fann_float
from fannctl.train.batch import learning_step

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
    mu_f = fann_float(params.quickprop_mu)
    step(
        w,
        state.slopes[start:],
        state.prev_slopes[start:],
        state.prev_steps[start:],
        epsilon=learning_step(params.learning_rate, num_patterns, w.dtype),
        mu=dt(mu_f),
        shrink=dt(fann_float(mu_f / (1.0 + mu_f))),
        decay=dt(fann_float(params.quickprop_decay)),
    )


def step(
    w: np.ndarray,
    slopes: np.ndarray,
    prev_slopes: np.ndarray,
    prev_steps: np.ndarray,
    *,
    epsilon: np.ndarray | np.generic,
    mu: np.ndarray | np.generic,
    shrink: np.ndarray | np.generic,
    decay: np.ndarray | np.generic,
) -> None:
    """One QuickProp step in place; the constants are numbers in ``w``'s dtype or
    arrays broadcasting against ``w`` (a swarm's (agents, 1) columns)."""
    dt = w.dtype.type
    slope = np.multiply(w, decay)
    slope += slopes  # S = slope + decay * w
    prev_slope = prev_slopes
    prev_step = prev_steps
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
        new_step = np.where(np.where(pos, slope > 0, slope < 0), plain, dt(0))
        new_step += np.where(np.where(pos, slope > threshold, slope < threshold), grow, secant)
        np.copyto(new_step, plain, where=~(pos | neg))
    prev_steps[...] = new_step
    w += new_step
    np.clip(w, dt(-WEIGHT_LIMIT), dt(WEIGHT_LIMIT), out=w)
    prev_slopes[...] = slope
    slopes[...] = 0
