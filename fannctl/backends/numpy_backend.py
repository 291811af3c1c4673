"""The reference backend: numpy matrix products over all patterns at once.

The activations of a whole batch live in one array ``A`` of shape
(patterns, total_neurons) in FANN's flat neuron order, bias columns set to 1.
Each layer reads a contiguous column block of ``A`` (the previous layer and
its bias, or every earlier neuron in a shortcut network) and writes its own
block, so a layer is one matrix product. Fully connected layers use their run
of the flat weight array reshaped in place (no copy); sparse layers scatter
into a dense block with zeros.
"""

from __future__ import annotations

import numpy as np

from fannctl import activations
from fannctl.backends.base import Gradient
from fannctl.network import SHORTCUT, LayerView, Network, layer_views

_NUMEXPR_MIN = 1 << 15


def _numexpr():
    try:
        import numexpr
    except ImportError:  # pragma: no cover - numexpr is a dependency
        return None
    return numexpr


def output_errors(
    net: Network, outputs: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, float, int, int]:
    """FANN's output error ``target - y`` (halved for symmetric outputs), SSE, count, bit fail."""
    err = targets - outputs
    ids = net.output_activation()
    halve = np.array([activations.is_symmetric(i) for i in ids])
    if halve.any():
        err[:, halve] /= 2.0
    sse = float(np.einsum("ij,ij->", err, err, dtype=np.float64))
    bit_fail = int(np.count_nonzero(np.abs(err) >= net.params.bit_fail_limit))
    return err, sse, err.size, bit_fail


def error_function(err: np.ndarray, which: int) -> np.ndarray:
    """FANN's training error function: 0 linear (e), 1 tanh (atanh-like log)."""
    if which == 0:
        return err
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log((1.0 + err) / (1.0 - err))
    out = np.where(err < -0.9999999, -17.0, out)
    out = np.where(err > 0.9999999, 17.0, out)
    return out.astype(err.dtype, copy=False)


class NumpyBackend:
    """Vectorised forward and gradient in numpy (numexpr for big elementwise work)."""

    name = "numpy"

    def __init__(self) -> None:
        self._views_key: tuple | None = None
        self._views: list[LayerView] = []

    # -- layout -------------------------------------------------------------
    def views(self, net: Network) -> list[LayerView]:
        key = (id(net), tuple(net.layers), net.network_type, net.weights.size)
        if key != self._views_key:
            self._views = layer_views(net)
            self._views_key = key
        return self._views

    @staticmethod
    def weight_block(net: Network, view: LayerView) -> np.ndarray:
        """The layer's weights as a (size, src_count) matrix (a view when dense)."""
        run = net.weights[view.con_start : view.con_end]
        if view.dense:
            return run.reshape(view.size, view.src_count)
        block = np.zeros((view.size, view.src_count), dtype=net.dtype)
        block[view.rows, view.cols] = run
        return block

    # -- forward ------------------------------------------------------------
    def activate(self, net: Network, inputs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Run the net; return the activation array A and each layer's sums t."""
        views = self.views(net)
        patterns = inputs.shape[0]
        acts = np.empty((patterns, net.total_neurons), dtype=net.dtype)
        n_in = net.num_input
        acts[:, :n_in] = inputs
        firsts = net.layer_first()
        counts_end = [*firsts[1:], net.total_neurons]
        for index in range(len(net.layers)):
            bias_col = counts_end[index] - 1
            has_bias = index == 0 or net.network_type != SHORTCUT
            if has_bias:
                acts[:, bias_col] = 1.0
        sums = []
        for view in views:
            src = acts[:, view.src_start : view.src_start + view.src_count]
            block = self.weight_block(net, view)
            net_in = src @ block.T
            cols = slice(view.first, view.first + view.size)
            t = activations.scale_and_clamp(net_in, net.steepness[cols])
            acts[:, cols] = self._value(net.activation[cols], t)
            sums.append(t)
        return acts, sums

    def _value(self, ids: np.ndarray, t: np.ndarray) -> np.ndarray:
        ne = _numexpr()
        if ne is not None and t.size >= _NUMEXPR_MIN and np.all(ids == ids[0]):
            expr = {
                activations.SIGMOID: "one / (one + exp(-two * t))",
                activations.SIGMOID_SYMMETRIC: "two / (one + exp(-two * t)) - one",
            }.get(int(ids[0]))
            if expr is not None:
                consts = {"one": t.dtype.type(1), "two": t.dtype.type(2)}
                return ne.evaluate(expr, local_dict={"t": t, **consts})
        return activations.value(ids, t)

    def forward(self, net: Network, inputs: np.ndarray) -> np.ndarray:
        acts, _ = self.activate(net, inputs.astype(net.dtype, copy=False))
        first = net.layer_first()[-1]
        return acts[:, first : first + net.num_output].copy()

    # -- gradient -----------------------------------------------------------
    def gradient(
        self,
        net: Network,
        inputs: np.ndarray,
        targets: np.ndarray,
        slopes: np.ndarray,
        *,
        outputs_only: bool = False,
    ) -> Gradient:
        views = self.views(net)
        acts, sums = self.activate(net, inputs)
        last = views[-1]
        out_cols = slice(last.first, last.first + last.size)
        err, sse, count, bit_fail = output_errors(net, acts[:, out_cols], targets)
        err = error_function(err, net.params.train_error_function)
        delta = self._derivative(net, last, acts, sums[-1]) * err
        back = None
        if net.network_type == SHORTCUT and len(views) > 1:
            back = np.zeros((acts.shape[0], net.total_neurons), dtype=net.dtype)
        for pos in range(len(views) - 1, -1, -1):
            view = views[pos]
            src = acts[:, view.src_start : view.src_start + view.src_count]
            self._add_slopes(slopes, view, delta, src)
            if outputs_only or pos == 0:
                break
            block = self.weight_block(net, view)
            below = views[pos - 1]
            if back is None:
                summed = delta @ block[:, : below.size]
            else:
                lo = net.num_input + 1
                back[:, lo : view.first] += delta @ block[:, lo : view.first]
                summed = back[:, below.first : below.first + below.size]
            delta = self._derivative(net, below, acts, sums[pos - 1]) * summed
        return Gradient(slopes, sse, count, bit_fail)

    @staticmethod
    def _derivative(net: Network, view: LayerView, acts: np.ndarray, t: np.ndarray) -> np.ndarray:
        cols = slice(view.first, view.first + view.size)
        return activations.derivative(net.activation[cols], net.steepness[cols], acts[:, cols], t)

    @staticmethod
    def _add_slopes(slopes: np.ndarray, view: LayerView, delta: np.ndarray, src: np.ndarray) -> None:
        grad = delta.T @ src
        run = slopes[view.con_start : view.con_end]
        if view.dense:
            run += grad.reshape(-1)
        else:
            run += grad[view.rows, view.cols]
