"""Training data (inputs and desired outputs) and FANN's stored scaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fannctl.errors import FormatError, ShapeError
from fannctl.network import Network, Scaling


@dataclass
class TrainingData:
    """Patterns as two 2-D arrays: ``inputs`` (P, n_in) and ``outputs`` (P, n_out)."""

    inputs: np.ndarray
    outputs: np.ndarray
    source: str | None = None

    @property
    def num_patterns(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def num_input(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def num_output(self) -> int:
        return int(self.outputs.shape[1])

    def astype(self, dtype: np.dtype | type) -> TrainingData:
        return TrainingData(
            self.inputs.astype(dtype, copy=False),
            self.outputs.astype(dtype, copy=False),
            self.source,
        )


def check_fits(net: Network, data: TrainingData, what: str = "data") -> None:
    """Raise ShapeError naming both sizes when ``data`` does not fit ``net``."""
    name = data.source or what
    if data.num_patterns == 0:
        raise FormatError(f"{name}: no patterns")
    if data.num_input != net.num_input or data.num_output != net.num_output:
        raise ShapeError(
            f"{name}: has {data.num_input} inputs and {data.num_output} outputs, "
            f"but the network has {net.num_input} inputs and {net.num_output} outputs"
        )


def _column_params(block: np.ndarray, new_min: float, new_max: float) -> tuple[np.ndarray, ...]:
    """Mean, population deviation, new_min and factor per column (FANN's rule)."""
    n = block.shape[1]
    if block.shape[0] == 0:
        return np.zeros(n), np.ones(n), np.full(n, -1.0), np.ones(n)
    mean = block.astype(np.float64).mean(axis=0)
    dev = block.astype(np.float64).std(axis=0)
    # FANN 2.2 divides by zero on a constant column; we keep such a column fixed.
    dev = np.where(dev == 0, 1.0, dev)
    return mean, dev, np.full(n, float(new_min)), np.full(n, (new_max - new_min) / 2.0)


def set_scaling_params(
    net: Network,
    data: TrainingData,
    inputs: tuple[float, float] | None,
    outputs: tuple[float, float] | None,
) -> None:
    """Store FANN's per-column z-score scaling (``fann_set_scaling_params``) in ``net``."""
    ident_in = _column_params(np.zeros((0, net.num_input)), -1, 1)
    ident_out = _column_params(np.zeros((0, net.num_output)), -1, 1)
    cin = _column_params(data.inputs, *inputs) if inputs else ident_in
    cout = _column_params(data.outputs, *outputs) if outputs else ident_out
    net.scaling = Scaling(*cin, *cout)
    if inputs and data.num_patterns:
        net.scaling.input_range = np.stack([data.inputs.min(axis=0), data.inputs.max(axis=0)])


def scale_inputs(net: Network, x: np.ndarray) -> np.ndarray:
    """Map raw inputs into the network's scaled space (identity without scaling)."""
    s = net.scaling
    if s is None:
        return x
    return (((x - s.mean_in) / s.deviation_in + 1.0) * s.factor_in + s.new_min_in).astype(x.dtype)


def scale_outputs(net: Network, y: np.ndarray) -> np.ndarray:
    """Map raw desired outputs into the network's scaled space."""
    s = net.scaling
    if s is None:
        return y
    return (((y - s.mean_out) / s.deviation_out + 1.0) * s.factor_out + s.new_min_out).astype(
        y.dtype
    )


def descale_outputs(net: Network, y: np.ndarray) -> np.ndarray:
    """Map network outputs back to the raw output space."""
    s = net.scaling
    if s is None:
        return y
    return (((y - s.new_min_out) / s.factor_out - 1.0) * s.deviation_out + s.mean_out).astype(
        y.dtype
    )


def scale_data(net: Network, data: TrainingData) -> TrainingData:
    """Apply the network's stored scaling to a data set (FANN's ``fann_scale_train``)."""
    if net.scaling is None:
        return data
    return TrainingData(
        scale_inputs(net, data.inputs), scale_outputs(net, data.outputs), data.source
    )
