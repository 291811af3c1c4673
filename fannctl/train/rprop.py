"""RPROP: FANN's own variant by default, textbook iRPROP- and iRPROP+ on request.

FANN's rule (2.2): after a sign change the step shrinks and the slope is
forgotten, yet the weight still moves by +step; textbook iRPROP- leaves that
weight where it is, and iRPROP+ also takes back the previous step when the
error grew.
"""

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
    error: float | None = None,
) -> None:
    """One RPROP step for every weight from ``start``; slopes reset to 0."""
    variant = params.rprop_variant
    if variant == "fann":
        _fann(weights[start:], state, params, start)
    else:
        _textbook(weights[start:], state, params, start, variant == "irprop+", error)
    state.slopes[start:] = 0


def _fann(w: np.ndarray, state: TrainState, params: TrainingParams, start: int) -> None:
    dt = w.dtype.type
    fann_step(
        w,
        state.slopes[start:],
        state.prev_slopes[start:],
        state.prev_steps[start:],
        increase=dt(fann_float(params.rprop_increase_factor)),
        decrease=dt(fann_float(params.rprop_decrease_factor)),
        delta_max=dt(fann_float(params.rprop_delta_max)),
        delta_min=dt(fann_float(params.rprop_delta_min)),
    )


def fann_step(
    w: np.ndarray,
    slope: np.ndarray,
    prev_slope: np.ndarray,
    prev_steps: np.ndarray,
    *,
    increase: np.ndarray | np.generic,
    decrease: np.ndarray | np.generic,
    delta_max: np.ndarray | np.generic,
    delta_min: np.ndarray | np.generic,
) -> None:
    """FANN's RPROP step in place on ``w``, ``prev_slope`` and ``prev_steps``.

    The factors are numbers in ``w``'s dtype, or arrays that broadcast against
    ``w`` (a swarm's (agents, 1) columns: one value per network).
    """
    dt = w.dtype.type
    # Whole-array passes with np.where (no boolean fancy indexing, no masked
    # copyto: with random signs it runs at half np.where's speed): the same
    # float operations per weight as FANN's loop, a few times faster in numpy.
    prev_step = np.maximum(prev_steps, dt(0.0001))
    same = np.multiply(slope, prev_slope) >= 0
    grown = np.multiply(prev_step, increase)
    np.minimum(grown, delta_max, out=grown)
    np.multiply(prev_step, decrease, out=prev_step)
    np.maximum(prev_step, delta_min, out=prev_step)
    step = np.where(same, grown, prev_step)
    # After a sign change the slope is forgotten, and the weight moves +step.
    down = slope < 0
    down &= same
    lowered = np.subtract(w, step)
    np.maximum(lowered, dt(-WEIGHT_LIMIT), out=lowered)
    np.add(w, step, out=w)
    np.minimum(w, dt(WEIGHT_LIMIT), out=w)
    w[...] = np.where(down, lowered, w)
    prev_steps[...] = step
    prev_slope[...] = np.where(same, slope, dt(0.0))


def _textbook(
    w: np.ndarray,
    state: TrainState,
    params: TrainingParams,
    start: int,
    plus: bool,
    error: float | None,
) -> None:
    dt = w.dtype.type
    slope = state.slopes[start:].copy()
    prev_slope = state.prev_slopes[start:]
    prev_step = state.prev_steps[start:]
    if state.prev_weight_deltas is None or state.prev_weight_deltas.size != state.slopes.size:
        state.prev_weight_deltas = np.zeros_like(state.slopes)
    prev_delta = state.prev_weight_deltas[start:]
    product = slope * prev_slope
    grow, shrink = product > 0, product < 0
    step = prev_step.copy()
    step[grow] = np.minimum(
        prev_step[grow] * dt(fann_float(params.rprop_increase_factor)),
        dt(fann_float(params.rprop_delta_max)),
    )
    step[shrink] = np.maximum(
        prev_step[shrink] * dt(fann_float(params.rprop_decrease_factor)),
        dt(fann_float(params.rprop_delta_min)),
    )
    delta = np.sign(slope) * step
    if plus:
        worse = error is not None and state.prev_error is not None and error > state.prev_error
        delta[shrink] = -prev_delta[shrink] if worse else 0
    else:
        delta[shrink] = 0
    slope[shrink] = 0
    w += delta
    np.clip(w, dt(-WEIGHT_LIMIT), dt(WEIGHT_LIMIT), out=w)
    state.prev_steps[start:] = step
    state.prev_slopes[start:] = slope
    prev_delta[:] = delta
    state.prev_error = error
