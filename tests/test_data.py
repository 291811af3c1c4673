"""FANN's stored scaling (fann_set_scaling_params): z-score with +-1 sigma to MIN..MAX."""

from __future__ import annotations

import numpy as np
import pytest

from fannctl.data import (
    TrainingData,
    descale_outputs,
    scale_inputs,
    scale_outputs,
    set_scaling_params,
)
from fannctl.network import create


def test_scaling_is_fanns_zscore_not_minmax() -> None:
    """mean maps to the middle of the range, +-1 population sigma to MIN/MAX."""
    net = create([2, 1], rng=np.random.default_rng(0), dtype="float64")
    x = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 50.0]])
    y = np.array([[1.0], [2.0], [3.0]])
    set_scaling_params(net, TrainingData(x, y), (-1.0, 1.0), (0.0, 1.0))
    sigma = np.std(x, axis=0)  # population sigma, as FANN
    mean = x.mean(axis=0)
    scaled = scale_inputs(net, np.vstack([mean, mean + sigma, mean - sigma]))
    np.testing.assert_allclose(scaled, [[0, 0], [1, 1], [-1, -1]], atol=1e-12)
    # outputs: new_min 0, factor 0.5 -> mean maps to 0.5
    np.testing.assert_allclose(scale_outputs(net, np.array([[2.0]])), [[0.5]])
    np.testing.assert_allclose(descale_outputs(net, scale_outputs(net, y)), y)


def test_constant_column_does_not_divide_by_zero() -> None:
    """FANN 2.2 divides by zero on a constant column (#99); we keep it finite."""
    net = create([2, 1], rng=np.random.default_rng(0), dtype="float64")
    x = np.array([[5.0, 1.0], [5.0, 2.0], [5.0, 3.0]])
    set_scaling_params(net, TrainingData(x, np.ones((3, 1))), (-1.0, 1.0), None)
    scaled = scale_inputs(net, x)
    assert np.all(np.isfinite(scaled))
    assert scaled[:, 0].tolist() == pytest.approx([0.0, 0.0, 0.0])
