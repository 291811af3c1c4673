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
    source = random_source or _default_source
    step(
        w,
        state.slopes[start:],
        state.prev_slopes[start:],
        state.prev_steps[start:],
        epoch=state.sarprop_epoch,
        error=error,
        temperature=params.sarprop_temperature,
        decay_shift=params.sarprop_weight_decay_shift,
        threshold_factor=params.sarprop_step_error_threshold_factor,
        error_shift=params.sarprop_step_error_shift,
        increase=dt(fann_float(params.rprop_increase_factor)),
        decrease=dt(fann_float(params.rprop_decrease_factor)),
        delta_max=dt(fann_float(params.rprop_delta_max)),
        draw=lambda mask: source(int(mask.sum())),
    )


def step(
    w: np.ndarray,
    slopes: np.ndarray,
    prev_slopes: np.ndarray,
    prev_steps: np.ndarray,
    *,
    epoch,
    error,
    temperature,
    decay_shift,
    threshold_factor,
    error_shift,
    increase,
    decrease,
    delta_max,
    draw: Callable[[np.ndarray], np.ndarray],
) -> None:
    """One SARPROP step in place along the last axis of ``w``.

    Every constant is a number or an array broadcasting against ``w`` (a
    swarm's (agents, 1) columns); ``increase``, ``decrease`` and ``delta_max``
    are in ``w``'s dtype, the others as given (FANN converts them to C floats
    here). ``draw(mask)`` returns one uniform number per True entry of
    ``mask``, in C order.
    """
    dt = w.dtype.type
    f32 = np.float32
    # FANN's SARPROP works in C floats: parameters, the exponents, MSE and RMSE.
    temp = np.asarray(temperature, dtype=f32)
    decay_x = -temp * np.asarray(epoch, dtype=f32) + np.asarray(decay_shift, dtype=f32)
    noise_x = -temp * np.asarray(epoch, dtype=f32) + np.asarray(error_shift, dtype=f32)
    decay = np.exp(_LN2 * decay_x.astype(np.float64)).astype(dt)
    noise_scale = np.exp(_LN2 * noise_x.astype(np.float64)).astype(dt)
    mse = np.asarray(error, dtype=f32)
    rmse = np.sqrt(mse.astype(np.float64)).astype(f32)
    threshold = (np.asarray(threshold_factor, dtype=f32) * mse).astype(dt)
    prev_step = np.maximum(prev_steps, dt(1e-6))
    slope = -slopes - w * decay
    product = slope * prev_slopes
    grow, shrink, flat = product > 0, product < 0, product == 0
    step = np.where(grow, np.minimum(prev_step * increase, delta_max), dt(0))
    small = shrink & (prev_step < threshold)
    large = shrink & ~small
    if small.any():
        draws = np.asarray(draw(small)).astype(f32)
        noise = (draws * np.broadcast_to(rmse, w.shape)[small]).astype(w.dtype)
        noise *= np.broadcast_to(noise_scale, w.shape)[small]
        step[small] = (prev_step * decrease)[small] + noise
    step = np.where(large, np.maximum(prev_step * decrease, dt(1e-6)), step)
    move = np.where(grow, step, np.where(flat, prev_step, dt(0)))
    w -= np.where(slope < 0, -move, move)
    # Where the product is 0, FANN stores whatever step it last assigned to an
    # earlier weight in this update (0 if none): a stale value, kept here.
    index = np.broadcast_to(np.arange(w.shape[-1]), w.shape)
    last = np.maximum.accumulate(np.where(~flat, index, -1), axis=-1)
    stale = np.take_along_axis(step, np.maximum(last, 0), axis=-1)
    step = np.where(flat, np.where(last >= 0, stale, dt(0)), step)
    slope[shrink] = 0
    prev_steps[...] = step
    prev_slopes[...] = slope
    slopes[...] = 0


def _default_source(n: int) -> np.ndarray:
    return np.random.default_rng().random(n)
