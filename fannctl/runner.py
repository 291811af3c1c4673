"""Running a trained network: outputs for inputs, and FANN's test metrics."""

from __future__ import annotations

import numpy as np

from fannctl.backends import default_backend
from fannctl.backends.base import Backend
from fannctl.data import TrainingData, check_fits, descale_outputs, scale_data, scale_inputs
from fannctl.errors import ShapeError
from fannctl.fann_error import mse, output_errors
from fannctl.network import Network


def _backend(backend: Backend | None) -> Backend:
    if backend is not None:
        return backend
    return default_backend()


def run(net: Network, inputs: np.ndarray, *, backend: Backend | None = None) -> np.ndarray:
    """Outputs for each row of ``inputs``, with the network's stored scaling applied."""
    inputs = np.atleast_2d(np.asarray(inputs, dtype=net.dtype))
    if inputs.shape[1] != net.num_input:
        raise ShapeError(
            f"inputs have {inputs.shape[1]} values per pattern, "
            f"but the network has {net.num_input} inputs"
        )
    outputs = _backend(backend).forward(net, scale_inputs(net, inputs))
    return descale_outputs(net, outputs)


def test(net: Network, data: TrainingData, *, backend: Backend | None = None) -> tuple[float, int]:
    """FANN's ``fann_test_data``: MSE and bit fail over a labelled set (scaled space)."""
    check_fits(net, data)
    scaled = scale_data(net, data.astype(net.dtype))
    outputs = _backend(backend).forward(net, scaled.inputs)
    _, sse, count, bit_fail = output_errors(net, outputs, scaled.outputs)
    return mse(sse, count), bit_fail
