"""Cascade's vectorised candidate epoch against FANN's per-candidate, per-pattern loop."""

from __future__ import annotations

import numpy as np
import pytest

from fannctl import activations, cascade, network


def fann_loop(pool: cascade.Candidates, sources, errors, sse):
    """Slopes and scores of one candidate epoch as fann_update_candidate_slopes makes them."""
    n_in = pool.num_in
    slopes = np.zeros_like(pool.weights)
    scores = np.full(pool.functions.size, sse)
    for c, (ident, s) in enumerate(zip(pool.functions, pool.steepness, strict=True)):
        w, v = pool.weights[c, :n_in], pool.weights[c, n_in:]
        for x, e in zip(sources, errors, strict=True):
            raw = float(np.clip(x @ w, -150 / s, 150 / s))  # clamped before scaling
            a = activations.value(np.array([ident]), np.array([raw * s]))[0]
            d = activations.derivative(np.array([ident]), s, np.array([a]), np.array([raw]))[0]
            err = 0.0
            for o in range(v.size):
                diff = a * v[o] - e[o]
                slopes[c, n_in + o] -= 2.0 * diff * a
                err += diff * v[o]
                scores[c] -= diff * diff
            slopes[c, :n_in] -= err * d * x
    return slopes, scores


def residual(sources, errors, sse) -> cascade._Residual:
    """A candidate phase over these (patterns, K) sources and (patterns, O) errors."""
    return cascade._Residual(
        sources,
        np.ascontiguousarray(sources.T),
        errors,
        np.ascontiguousarray(errors.T),
        sse,
        sse,
        np.abs(sources).max(axis=0),
    )


TOLERANCE = {"float64": (1e-9, 1e-12), "float32": (2e-4, 1e-5)}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("huge", [0, 3, 20])  # candidates whose sums reach the clamp
def test_candidate_epoch_is_fanns_loop(monkeypatch, huge: int, dtype: str) -> None:
    rng = np.random.default_rng(huge)
    net = network.create([4, 2], shortcut=True, dtype=dtype, rng=rng)
    if huge == 3:  # a list with a function twice, and every kind of derivative
        net.params.cascade_activation_functions = [3, 10, 3, 0, 4, 18, 19, 7, 8, 15, 17, 11]
    pool = cascade.Candidates(net, rng.random)
    assert pool.functions.size == 8 * len(net.params.cascade_activation_functions)
    pool.weights = rng.uniform(-1, 1, pool.weights.shape).astype(dtype)
    clamped = rng.choice(pool.functions.size, huge, replace=False)
    pool.weights[clamped, : pool.num_in] *= 400.0
    pool.weights[7, pool.num_in :] = 0.0  # no output weights: no input slopes
    # output weights whose squares underflow to 0: FANN's slopes still carry
    # sum_o e_o v_o
    small = np.sqrt(np.finfo(dtype).smallest_subnormal) / 8
    pool.weights[9, pool.num_in :] = small
    assert (pool.weights[9, pool.num_in :] ** 2).sum() == 0
    patterns = 11
    sources = np.column_stack([rng.uniform(-1, 1, (patterns, 4)), np.ones(patterns)]).astype(
        dtype
    )  # inputs and their bias
    errors = rng.uniform(-0.5, 0.5, (patterns, 2)).astype(dtype)
    sse = float((errors**2).sum())
    phase = residual(sources, errors, sse)
    seen = {}

    def keep_slopes(weights, state, *args, **kwargs):
        seen["slopes"] = state.slopes.reshape(pool.weights.shape).copy()

    monkeypatch.setattr(cascade, "update_weights", keep_slopes)
    want_slopes, want_scores = fann_loop(pool, sources, errors, sse)
    best = pool.epoch(net, phase, 0.1, None)
    rtol, atol = TOLERANCE[dtype]
    assert seen["slopes"].dtype == pool.weights.dtype == np.dtype(dtype)
    np.testing.assert_allclose(seen["slopes"], want_slopes, rtol=rtol, atol=atol)
    # the underflow row, on its own scale
    np.testing.assert_allclose(seen["slopes"][9] / small, want_slopes[9] / small, rtol=rtol)
    np.testing.assert_allclose(pool.scores, want_scores, rtol=rtol, atol=atol)
    assert best == int(np.argmax(want_scores))
