"""FANN's incremental (online) backpropagation: update after every pattern.

Sequential by definition: each pattern sees the weights the previous one left.
Momentum keeps each connection's previous change (FANN's prev_weights_deltas).
"""

from __future__ import annotations

import numpy as np

from fannctl.backends.base import Backend
from fannctl.data import TrainingData
from fannctl.fann_error import accumulate
from fannctl.network import Network
from fannctl.params import fann_float


def epoch(net: Network, data: TrainingData, backend: Backend) -> tuple[float, int, int]:
    """One pass over the patterns in order; return (sse, count, bit_fail)."""
    state = net.state
    if state.prev_weight_deltas is None or state.prev_weight_deltas.size != net.weights.size:
        state.prev_weight_deltas = np.zeros_like(net.weights)
    dt = net.dtype.type
    rate = dt(fann_float(net.params.learning_rate))
    momentum = dt(fann_float(net.params.learning_momentum))
    quirk = _Quirk(net) if net.is_sparse else None
    slopes = np.zeros_like(net.weights)
    sse, count, bit_fail = 0.0, 0, 0
    inputs = data.inputs.astype(net.dtype, copy=False)
    targets = data.outputs.astype(net.dtype, copy=False)
    for row in range(data.num_patterns):
        slopes[:] = 0
        x, y = inputs[row : row + 1], targets[row : row + 1]
        if quirk is None:
            grad = backend.gradient(net, x, y, slopes)
            change = slopes * rate
        else:
            grad, deltas, acts = _sparse_pattern(net, backend, x, y, slopes, quirk)
            # FANN reads connection i's input from flat neuron i, not its source.
            change = deltas[quirk.neuron] * rate * acts[quirk.position]
        change += momentum * state.prev_weight_deltas
        net.weights += change
        state.prev_weight_deltas[:] = change
        # FANN's MSE_value: one float sum over every (pattern, output) in order
        sse = accumulate(grad.terms, sse) if grad.terms is not None else sse + grad.sse
        count += grad.count
        bit_fail += grad.bit_fail
    return sse, count, bit_fail


class _Quirk:
    """Index arrays for FANN's sparse incremental quirk."""

    def __init__(self, net: Network) -> None:
        self.neuron = np.repeat(np.arange(net.total_neurons), net.num_inputs)
        first = net.first_connection()
        self.position = np.arange(net.weights.size) - first[self.neuron]
        owners = np.flatnonzero(net.num_inputs > 0)
        self.owners = owners
        # A sparse neuron's connection 0 comes from the bias (value 1), so its
        # slope for one pattern is the neuron's delta itself.
        self.first_con = first[owners]
        self.first_src = net.sources[self.first_con]


def _sparse_pattern(net, backend, x, y, slopes, quirk):
    """Gradient for one pattern of a sparse net, plus each neuron's delta and value."""
    grad = backend.gradient(net, x, y, slopes)
    acts, _ = backend.activate(net, x)
    deltas = np.zeros(net.total_neurons, dtype=net.dtype)
    deltas[quirk.owners] = slopes[quirk.first_con] / acts[0, quirk.first_src]
    return grad, deltas, acts[0]
