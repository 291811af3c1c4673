"""The in-place activation code against FANN's formulas written plainly.

``fannctl.activations`` evaluates every function as in-place ufunc steps; the
tables below are the same functions as one expression each, in FANN's order of
operations (the differential tests check these formulas against libfann).
The two must agree bit for bit, in float32 and float64, for every function.
"""

from __future__ import annotations

import numpy as np
import pytest

from fannctl import activations as A

F001, F099, F098 = (float(np.float32(x)) for x in (0.01, 0.99, 0.98))


def stepwise(t, knots, levels, low):
    """FANN's nested comparisons (a NaN falls through to the top: 1), the segment
    formula in double, then the array's type."""
    v, r = np.asarray(knots), np.asarray(levels)
    out = np.empty(t.shape)
    for i, x in np.ndenumerate(t.astype(np.float64)):
        if x < v[5]:
            k = next(k for k in range(4, -2, -1) if k < 0 or x >= v[k])
            out[i] = low if k < 0 else ((r[k + 1] - r[k]) * (x - v[k])) / (v[k + 1] - v[k]) + r[k]
        else:
            out[i] = 1.0
    return out.astype(t.dtype)


VALUE = {
    A.LINEAR: lambda t: t,
    A.THRESHOLD: lambda t: np.where(t < 0, 0.0, 1.0).astype(t.dtype),
    A.THRESHOLD_SYMMETRIC: lambda t: np.where(t < 0, -1.0, 1.0).astype(t.dtype),
    A.SIGMOID: lambda t: 1.0 / (1.0 + np.exp(-2.0 * t)),
    A.SIGMOID_STEPWISE: lambda t: stepwise(t, A._KNOTS_SIGMOID, A._LEVELS_SIGMOID, 0.0),
    A.SIGMOID_SYMMETRIC: lambda t: 2.0 / (1.0 + np.exp(-2.0 * t)) - 1.0,
    A.SIGMOID_SYMMETRIC_STEPWISE: lambda t: stepwise(t, A._KNOTS, A._LEVELS_SYMMETRIC, -1.0),
    A.GAUSSIAN: lambda t: np.exp(-t * t),
    A.GAUSSIAN_SYMMETRIC: lambda t: 2.0 * np.exp(-t * t) - 1.0,
    A.GAUSSIAN_STEPWISE: lambda t: np.zeros_like(t),
    A.ELLIOT: lambda t: (t / 2.0) / (1.0 + np.abs(t)) + 0.5,
    A.ELLIOT_SYMMETRIC: lambda t: t / (1.0 + np.abs(t)),
    A.LINEAR_PIECE: lambda t: np.clip(t, 0.0, 1.0),
    A.LINEAR_PIECE_SYMMETRIC: lambda t: np.clip(t, -1.0, 1.0),
    A.SIN_SYMMETRIC: np.sin,
    A.COS_SYMMETRIC: np.cos,
    A.SIN: lambda t: np.sin(t) / 2.0 + 0.5,
    A.COS: lambda t: np.cos(t) / 2.0 + 0.5,
    A.RELU: lambda t: np.maximum(t, 0.0),
    A.LEAKY_RELU: lambda t: np.where(t < 0, 0.01 * t, t),
}


def ones(s, y, t):
    return np.broadcast_to(s, np.broadcast_shapes(np.shape(s), y.shape)) * np.ones_like(y)


def sigmoid_derivative(s, y, t):
    y = np.clip(y, F001, F099)
    return 2.0 * s * y * (1.0 - y)


def symmetric_derivative(s, y, t):
    y = np.clip(y, -F098, F098)
    return s * (1.0 - y * y)


DERIVATIVE = {
    A.LINEAR: ones,
    A.THRESHOLD: lambda s, y, t: np.zeros_like(y),
    A.THRESHOLD_SYMMETRIC: lambda s, y, t: np.zeros_like(y),
    A.SIGMOID: sigmoid_derivative,
    A.SIGMOID_STEPWISE: sigmoid_derivative,
    A.SIGMOID_SYMMETRIC: symmetric_derivative,
    A.SIGMOID_SYMMETRIC_STEPWISE: symmetric_derivative,
    A.GAUSSIAN: lambda s, y, t: -2.0 * t * y * s * s,
    A.GAUSSIAN_SYMMETRIC: lambda s, y, t: -2.0 * t * (y + 1.0) * s * s,
    A.GAUSSIAN_STEPWISE: lambda s, y, t: np.zeros_like(y),
    A.ELLIOT: lambda s, y, t: s * 1.0 / (2.0 * (1.0 + np.abs(t)) * (1.0 + np.abs(t))),
    A.ELLIOT_SYMMETRIC: lambda s, y, t: s * 1.0 / ((1.0 + np.abs(t)) * (1.0 + np.abs(t))),
    A.LINEAR_PIECE: ones,
    A.LINEAR_PIECE_SYMMETRIC: ones,
    A.SIN_SYMMETRIC: lambda s, y, t: s * np.cos(s * t),
    A.COS_SYMMETRIC: lambda s, y, t: -s * np.sin(s * t),
    A.SIN: lambda s, y, t: s * np.cos(s * t) / 2.0,
    A.COS: lambda s, y, t: -s * np.sin(s * t) / 2.0,
    # FANN tests y < 0 for ReLU, never true; fannctl tests t (see activations).
    A.RELU: lambda s, y, t: np.where(t > 0, s, 0.0 * s) * np.ones_like(y),
    A.LEAKY_RELU: lambda s, y, t: np.where(t < 0, 0.01 * s, s) * np.ones_like(y),
}


def sums(dtype, rng, columns=6):
    """Sums over every function's interesting range: both knot sets with their
    float neighbours on either side, zeros of both signs, the clamp limits."""
    t = rng.uniform(-4, 4, (301, columns)).astype(dtype)
    knots = np.asarray(A._KNOTS + A._KNOTS_SIGMOID, dtype=dtype)
    t[:12, 0] = knots
    t[:12, 1] = np.nextafter(knots, np.asarray(np.inf, dtype=dtype))
    t[:12, 2] = np.nextafter(knots, np.asarray(-np.inf, dtype=dtype))
    t[:7, 3] = (-150, -0.0, 0.0, 1e-30, -1e-30, 150, np.nan)
    return t


def same_bits(got, want, what=""):
    """Equal values, NaN where NaN, and the same sign on zeros (a NaN's sign means nothing)."""
    np.testing.assert_array_equal(got, want, err_msg=what)
    signs = ~np.isnan(want)
    np.testing.assert_array_equal(
        np.signbit(got[signs]), np.signbit(want[signs]), err_msg=f"{what} (signs)"
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ident", range(len(A.NAMES)))
def test_in_place_code_is_the_plain_formula(ident: int, dtype) -> None:
    rng = np.random.default_rng(ident)
    t = sums(dtype, rng)
    steep = rng.uniform(0.2, 2, t.shape[1]).astype(dtype)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        want_y = VALUE[ident](t)
        y = A.value(np.full(t.shape[1], ident), t)
        same_bits(y, want_y, "value")
        assert y.dtype == dtype
        # Transposed views, as the backend and cascade pass them.
        same_bits(A.value(np.full(t.shape[1], ident), t.T.copy().T), want_y, "value of a view")
        # The derivative also sees other values than its own function's (cascade does).
        y_any = rng.uniform(-1.2, 1.2, t.shape).astype(dtype)
        full = np.broadcast_to(steep, t.shape).copy()  # one steepness per element
        for s in (steep, dtype(0.7), -steep, full):
            want_d = DERIVATIVE[ident](s, y_any, t)
            d = A.derivative(np.full(t.shape[1], ident), s, y_any, t)
            same_bits(d, want_d, f"derivative, steepness shape {np.shape(s)}")
            assert d.dtype == dtype


def test_out_may_be_an_input() -> None:
    """The in-place steps read t after writing out: the wrappers copy when they overlap."""
    rng = np.random.default_rng(3)
    t = sums(np.float64, rng, columns=20)
    ids = np.arange(20)
    steep = rng.uniform(0.2, 2, 20)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        want_y = A.value(ids, t)
        want_d = A.derivative(ids, steep, want_y, t)
        into_t = t.copy()
        A.value(ids, into_t, out=into_t)
        same_bits(into_t, want_y, "value into t")
        into_y, into_t = want_y.copy(), t.copy()
        A.derivative(ids, steep, into_y, t, out=into_y)
        same_bits(into_y, want_d, "derivative into y")
        A.derivative(ids, steep, want_y, into_t, out=into_t)
        same_bits(into_t, want_d, "derivative into t")


def test_mixed_layers_use_each_columns_function() -> None:
    rng = np.random.default_rng(5)
    ids = np.array([3, 10, 3, 14, 7, 7, 17, 5])  # 3 is split: copied, not sliced
    t = sums(np.float32, rng, columns=ids.size)
    steep = rng.uniform(0.2, 2, ids.size).astype(np.float32)
    y = A.value(ids, t, scratch=np.empty_like(t))
    d = A.derivative(ids, steep, y, t, scratch=np.empty_like(t))
    for col, ident in enumerate(ids):
        with np.errstate(over="ignore"):
            want = VALUE[ident](t[:, col])
        np.testing.assert_array_equal(y[:, col], want)
        want = DERIVATIVE[ident](steep[col], y[:, col], t[:, col])
        np.testing.assert_array_equal(d[:, col], want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_derivative_at_unscaled_sum_from_the_scaled_one(dtype) -> None:
    """Cascade's candidates: FANN's derivative at t/s, computed from t."""
    rng = np.random.default_rng(11)
    t = rng.uniform(-6, 6, (200, 3)).astype(dtype)
    s = np.array([0.25, 0.5, 1.0], dtype=dtype)
    y = rng.uniform(-1.2, 1.2, t.shape).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for ident in range(len(A.NAMES)):
        want = DERIVATIVE[ident](s, y, t / s)
        got = np.empty_like(t)
        A.derivative_at_unscaled_into(ident, s, y, t, got)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=A.NAMES[ident])
        # A zero steepness makes t zero and every derivative zero (FANN's, at any sum).
        zero = np.zeros_like(s)
        A.derivative_at_unscaled_into(ident, zero, y, np.zeros_like(t), got)
        assert np.all(got == 0), A.NAMES[ident]
