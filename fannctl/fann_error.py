"""FANN's error arithmetic: output errors, the training error function, MSE and bit fail.

Every backend and the core (``cascade``, ``runner``, ``train``) compute the
same quantities the same way, so they live here, below all of them:

- the output error ``target - y``, halved for outputs with a symmetric
  activation (FANN's ``fann_compute_MSE``);
- the sum of squared errors as FANN keeps it (``MSE_value`` is a C ``float``
  even in the double build: each (pattern, output) term ``e*e`` is rounded
  to float and added in pattern-major order), the count of values and the
  bit fail (errors at or above ``bit_fail_limit``); the MSE is that float
  sum over the count, divided in float (``fann_get_MSE``);
- the training error function FANN applies before backpropagation
  (``FANN_ERRORFUNC_LINEAR`` or ``FANN_ERRORFUNC_TANH``);
- FANN's stop test on an epoch's MSE or bit fail.
"""

from __future__ import annotations

import numpy as np

from fannctl import activations
from fannctl.network import Network
from fannctl.params import ErrorFunction, StopFunction

_ALL = slice(None)
_SYMMETRIC_TABLE = np.zeros(256, dtype=bool)  # activation id -> error halved
_SYMMETRIC_TABLE[sorted(activations.SYMMETRIC)] = True


def output_errors(
    net: Network, outputs: np.ndarray, targets: np.ndarray, start: float = 0.0
) -> tuple[np.ndarray, float, int, int]:
    """FANN's output error ``target - y`` (halved for symmetric outputs), SSE, count, bit fail.

    ``outputs`` and ``targets`` are (patterns, outputs); ``start`` is the SSE
    of earlier blocks of the same pass (the returned SSE goes on from it).
    """
    err = targets - outputs
    halve_symmetric(err, net.output_activation(), axis=1)
    return (err, *error_counts(err, net.params.bit_fail_limit, start=start))


def halve_symmetric(err: np.ndarray, ids: np.ndarray, axis: int) -> None:
    """Halve, in place, the error of symmetric outputs; ``axis`` runs over the outputs."""
    halve = _SYMMETRIC_TABLE[ids]
    if halve.all():
        err /= 2.0
    elif halve.any():
        index = (_ALL, halve) if axis == 1 else (halve, _ALL)
        err[index] /= 2.0


def error_counts(
    err: np.ndarray, bit_fail_limit: float, *, outputs_axis: int = 1, start: float = 0.0
) -> tuple[float, int, int]:
    """FANN's sum of squares, count and bit fail of an error array.

    The sum is ``fann_update_MSE``'s (see ``squared_terms`` and ``accumulate``),
    going on from ``start``. ``outputs_axis``: the axis of ``err`` that runs
    over the outputs (0 for neuron-major arrays).
    """
    sse = accumulate(squared_terms(err, outputs_axis), start)
    bit_fail = int(np.count_nonzero(np.abs(err) >= bit_fail_limit))
    return sse, err.size, bit_fail


def squared_terms(err: np.ndarray, outputs_axis: int = 1) -> np.ndarray:
    """Each (pattern, output) term ``e*e`` as FANN adds it: computed in the error's
    own precision (fann_type), rounded to float32, patterns in order and, within
    a pattern, outputs in order (a flat float32 array)."""
    rows = err.T if outputs_axis == 0 else err  # (patterns, outputs)
    return np.multiply(rows, rows).astype(np.float32).ravel()


def accumulate(terms: np.ndarray, start: float = 0.0) -> float:
    """``start`` plus the terms, added one at a time in float32 (``MSE_value`` is a
    C float); ``np.cumsum`` accumulates sequentially, as FANN's loop does."""
    if not terms.size:
        return float(np.float32(start))
    terms = terms.copy()
    terms[0] += np.float32(start)
    return float(np.cumsum(terms, dtype=np.float32)[-1])


def error_function(err: np.ndarray, which: int) -> np.ndarray:
    """FANN's training error function applied to the output error.

    ``ErrorFunction.LINEAR``: ``e`` itself. ``ErrorFunction.TANH``:
    ``log((1.0 + e) / (1.0 - e))``, which FANN evaluates in double (1.0 is a
    double) before storing it as fann_type, clipped to ±17 near ±1.
    """
    if which == ErrorFunction.LINEAR:
        return err
    wide = err.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.add(1.0, wide)
        out /= np.subtract(1.0, wide, out=wide)
        np.log(out, out=out)
    np.copyto(out, -17.0, where=err < -0.9999999)
    np.copyto(out, 17.0, where=err > 0.9999999)
    return out.astype(err.dtype, copy=False)


def training_factor(err: np.ndarray, ids: np.ndarray, which: int) -> np.ndarray:
    """What backpropagation starts from at the outputs: FANN's error function of the
    output error, or, for softmax outputs (cross-entropy, fannctl's own), the
    output error ``target - y`` itself (see ``activations``)."""
    if ids.size and ids[0] == activations.SOFTMAX:  # softmax is all outputs or none
        return err
    return error_function(err, which)


def weighted_counts(
    err: np.ndarray, weights: np.ndarray, bit_fail_limit: float, *, outputs_axis: int = 1
) -> tuple[np.ndarray, float, float, int]:
    """Per-pattern sample weights (fannctl's own): each (pattern, output) term
    ``w_p e*e`` (rounded to float32), their float32 sum in FANN's order, the
    count ``sum(w) * outputs`` (so the MSE is the weighted mean) and the bit fail
    among patterns of weight above 0."""
    rows = err.T if outputs_axis == 0 else err  # (patterns, outputs)
    terms = (np.multiply(rows, rows) * weights[:, np.newaxis]).astype(np.float32).ravel()
    count = float(np.sum(weights, dtype=np.float64)) * rows.shape[1]
    failing = (np.abs(rows) >= bit_fail_limit) & (weights > 0)[:, np.newaxis]
    return terms, accumulate(terms), count, int(np.count_nonzero(failing))


def mse(sse: float, count: int) -> float:
    """FANN's mean square error (``fann_get_MSE``): the float SSE over the number of
    output values, divided in float32 (0 for none)."""
    return float(np.float32(sse) / np.float32(count)) if count else 0.0


def reached(net: Network, mse_value: float, bit_fail: int, desired_error: float) -> bool:
    """FANN's stop test: MSE (or bit fail, with the bit stop function) at or below target."""
    if net.params.train_stop_function == StopFunction.BIT:
        return bit_fail <= int(desired_error)
    return mse_value <= desired_error
