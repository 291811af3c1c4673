"""The reference backend: numpy matrix products over all patterns at once.

Activations are kept neuron-major: one array ``hidden`` of shape
(total_neurons - num_inputs, patterns) holds every non-input neuron in FANN's
flat order, one row per neuron, bias rows set to 1; the inputs are read in
place from the caller's (patterns, num_inputs) array, never copied. Each layer
reads a contiguous block of sources (the previous layer and its bias, or every
earlier neuron in a shortcut network), so a layer is one matrix product: the
part of the block that lies in the inputs is multiplied straight from the
input array, a lone input bias becomes a broadcast add of its weights, and the
rest is a contiguous slab of ``hidden`` rows. Fully connected layers use their
run of the flat weight array reshaped in place (no copy); sparse layers scatter
into a dense block with zeros.

Speed (see bench/NOTES.md): neuron-major rows make every per-neuron constant
(bias, clamp limit) a per-row scalar and a layer's steepness one number when
it is uniform (the usual case), so each elementwise pass is one contiguous
SIMD loop; a layer's slab is written in place with ``out=``.

A pattern's outputs do not depend on the batch it comes in: ``forward``
pads the batch with zero rows to a multiple of ``FORWARD_BLOCK`` (256)
patterns and computes every product as a stack of FORWARD_BLOCK-row
products (one ``np.matmul`` over the stack), so BLAS sees one shape whatever
the batch and sums every pattern the same way. Padding alone was not enough:
BLAS picks its kernels by the whole product's size (OpenBLAS's SkylakeX
kernel sums a 125-32 mushroom layer differently at 576 rows than at 1,024 or
more, in about half the rows' last bit). The stack costs ~6% against
4,096-row products here. The training passes use every pattern of the data
set at once and need neither.
The layer plans and the work arrays for a given number of patterns are built
once per network layout and reused, looked up by network identity, so a fresh
``NumpyBackend()`` per epoch costs nothing. numexpr is not used: its ``exp``
(no VML) is ten times slower than numpy's, and the remaining chains are short.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from fannctl import activations
from fannctl.backends.base import Gradient
from fannctl.fann_error import (
    accumulate,
    halve_symmetric,
    squared_terms,
    training_factor,
    weighted_counts,
)
from fannctl.fann_error import output_errors as output_errors  # moved; old import path kept
from fannctl.network import SHORTCUT, LayerView, Network, layer_counts, layer_views

_MAX_LAYOUTS = 8  # networks whose layout and work arrays are kept
FORWARD_BLOCK = 256  # forward's products are stacks of this many patterns (see above)
# A large batch runs forward in chunks of this many patterns (a multiple of
# FORWARD_BLOCK, so the same bits): a chunk's work arrays stay in the core's cache
# through the activation's dozen elementwise passes (FANN's stepwise sigmoid: 2x on
# the activation, 1.4x on a whole mushroom run; bench/NOTES.md).
FORWARD_CHUNK = 4096
_MAX_BUFFER_SETS = 8  # work-array sets (pattern counts, forward's threads) kept per network


@dataclass
class _LayerPlan:
    """How one non-input layer reads its sources and where it writes."""

    view: LayerView
    in_count: int  # leading source columns that are network inputs
    rest: slice | None  # the remaining sources, as rows of ``hidden``
    bias_only: bool  # the rest is a single bias (always 1): a broadcast add
    rows: slice  # this layer's own rows in ``hidden``
    scatter: tuple[np.ndarray, np.ndarray] | None  # sparse: (rows, cols) in the block


@dataclass
class _Buffers:
    """Work arrays for one (patterns, dtype), reused every epoch."""

    hidden: np.ndarray
    sums: list[np.ndarray]
    deltas: list[np.ndarray]
    scratch: list[np.ndarray]
    grads: list[np.ndarray]
    back: np.ndarray
    summed: np.ndarray | None  # shortcut nets: one layer's contribution to ``back``
    ones: np.ndarray


@dataclass
class _Layout:
    """Everything about a network that depends only on its layout."""

    net: weakref.ReferenceType
    key: tuple
    sources: np.ndarray | None
    views: list[LayerView]
    plans: list[_LayerPlan]
    bias_rows: list[int]
    output_first: int
    buffers: OrderedDict = field(default_factory=OrderedDict)


_LAYOUTS: OrderedDict[int, _Layout] = OrderedDict()


def _layout_key(net: Network) -> tuple:
    return (
        tuple(net.layers),
        net.network_type,
        net.connection_rate,
        net.weights.size,
        # by content: an in-place edit or a reused address must not hit a stale layout
        hash(net.num_inputs.tobytes()),
    )


def _layout(net: Network) -> _Layout:
    """The cached layout of ``net``, rebuilt when the network or its layout changed."""
    key = _layout_key(net)
    entry = _LAYOUTS.get(id(net))
    if (
        entry is not None
        and entry.net() is net
        and entry.key == key
        and (entry.sources is None or np.array_equal(entry.sources, net.sources))
    ):
        return entry
    entry = _build_layout(net, key)
    _LAYOUTS[id(net)] = entry
    while len(_LAYOUTS) > _MAX_LAYOUTS:
        _LAYOUTS.popitem(last=False)
    return entry


def _forget(ref: weakref.ReferenceType) -> None:
    """Drop a dead network's layout and work arrays."""
    for key, entry in list(_LAYOUTS.items()):
        if entry.net is ref:
            del _LAYOUTS[key]


def _build_layout(net: Network, key: tuple) -> _Layout:
    views = layer_views(net)
    n_in = net.num_input
    plans = []
    for view in views:
        in_count = max(0, min(view.src_count, n_in - view.src_start))
        rest_start = view.src_start + in_count
        rest_stop = view.src_start + view.src_count
        rest = slice(rest_start - n_in, rest_stop - n_in) if rest_stop > rest_start else None
        bias_only = in_count > 0 and rest_start == n_in and rest_stop == n_in + 1
        rows = slice(view.first - n_in, view.first - n_in + view.size)
        scatter = None if view.dense else (view.rows, view.cols)
        plans.append(_LayerPlan(view, in_count, rest, bias_only, rows, scatter))
    bias_rows = [0]  # the input layer's bias comes right after the inputs
    if net.network_type != SHORTCUT:
        ends = np.cumsum(layer_counts(net.layers, net.network_type))
        bias_rows += [int(end) - 1 - n_in for end in ends[1:]]
    sources = net.sources.copy() if net.is_sparse else None
    return _Layout(
        weakref.ref(net, _forget), key, sources, views, plans, bias_rows, views[-1].first
    )


def _buffers(layout: _Layout, net: Network, patterns: int) -> _Buffers:
    """The work arrays for ``patterns`` patterns in the network's dtype."""
    dtype = net.dtype
    key = (patterns, dtype)
    found = layout.buffers.get(key)
    if found is not None:
        return found
    hidden = np.empty((net.total_neurons - net.num_input, patterns), dtype=dtype)
    hidden[layout.bias_rows] = 1.0
    sums, deltas, scratch, grads = [], [], [], []
    for plan in layout.plans:
        size = plan.view.size
        sums.append(np.empty((size, patterns), dtype=dtype))
        deltas.append(np.empty((size, patterns), dtype=dtype))
        scratch.append(np.empty((size, patterns), dtype=dtype))
        grads.append(np.empty((size, plan.view.src_count), dtype=dtype))
    back = np.empty_like(hidden)
    summed = np.empty_like(hidden) if net.network_type == SHORTCUT else None
    ones = np.ones(patterns, dtype=dtype)
    found = _Buffers(hidden, sums, deltas, scratch, grads, back, summed, ones)
    layout.buffers[key] = found
    while len(layout.buffers) > _MAX_BUFFER_SETS:
        layout.buffers.popitem(last=False)
    return found


def _block(net: Network, plan: _LayerPlan) -> np.ndarray:
    """The layer's weights as a (size, src_count) matrix (a view when dense)."""
    view = plan.view
    run = net.weights[view.con_start : view.con_end]
    if plan.scatter is None:
        return run.reshape(view.size, view.src_count)
    block = np.zeros((view.size, view.src_count), dtype=net.dtype)
    block[plan.scatter] = run
    return block


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = a @ b``; an outer product (inner size 1) as a broadcast multiply,
    which is exact and ten times faster than numpy's matmul of that shape."""
    if a.shape[1] == 1:
        return np.multiply(a, b, out=out)
    return np.matmul(a, b, out=out)


def _per_neuron(values: np.ndarray) -> np.ndarray | np.generic:
    """A layer's per-neuron constants: one scalar when all equal, else a column."""
    first = values[0]
    if (values == first).all():
        return first
    return values[:, np.newaxis]


def _forward(net: Network, layout: _Layout, bufs: _Buffers, inputs: np.ndarray) -> None:
    """Fill ``bufs.hidden`` (values) and ``bufs.sums`` (FANN's t) for every layer."""
    hidden = bufs.hidden
    for pos, plan in enumerate(layout.plans):
        view = plan.view
        block = _block(net, plan)
        t = bufs.sums[pos]
        k = plan.in_count
        if k:
            _matmul(block[:, :k], inputs.T, out=t)
            if plan.bias_only:
                t += block[:, k : k + 1]
            elif plan.rest is not None:
                _matmul(block[:, k:], hidden[plan.rest], out=bufs.scratch[pos])
                t += bufs.scratch[pos]
        else:
            _matmul(block, hidden[plan.rest], out=t)
        cols = slice(view.first, view.first + view.size)
        activations.scale_and_clamp(t, _per_neuron(net.steepness[cols]), out=t)
        _value(net.activation[cols], t, hidden[plan.rows])


@dataclass
class _RowBuffers:
    """``forward``'s work arrays for one (patterns, dtype): pattern-major (rows are
    patterns), the transpose of ``_Buffers``' ``hidden`` and ``sums``."""

    hidden: np.ndarray
    sums: list[np.ndarray]
    values: list[np.ndarray]
    scratch: list[np.ndarray]


def _row_buffers(layout: _Layout, net: Network, patterns: int) -> _RowBuffers:
    """``forward``'s work arrays, one set per thread: ``forward`` may run in
    several threads at once (``concurrent_forward``)."""
    key = ("rows", patterns, net.dtype, threading.get_ident())
    found = layout.buffers.get(key)
    if found is None:
        dtype = net.dtype
        hidden = np.empty((patterns, net.total_neurons - net.num_input), dtype=dtype)
        hidden[:, layout.bias_rows] = 1.0
        sums = [np.empty((patterns, plan.view.size), dtype=dtype) for plan in layout.plans]
        values = [np.empty_like(t) for t in sums]
        scratch = [np.empty_like(t) for t in sums] if net.network_type == SHORTCUT else []
        found = layout.buffers[key] = _RowBuffers(hidden, sums, values, scratch)
        while len(layout.buffers) > _MAX_BUFFER_SETS:
            layout.buffers.popitem(last=False)
    return found


def _matmul_rows(x: np.ndarray, block: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = x @ block.T`` for ``forward`` (rows: patterns, a multiple of
    FORWARD_BLOCK), as a stack of FORWARD_BLOCK-row products: pattern-major,
    1.2-1.5x faster here than the training pass's neuron-major product, and
    the same bits for a row whatever its batch (not always the training
    pass's bits: BLAS sums other shapes its own way)."""
    if x.shape[1] == 1:
        return np.multiply(x, block.T, out=out)
    stack = (-1, FORWARD_BLOCK)  # one shape for BLAS whatever the batch (see above)
    np.matmul(x.reshape(*stack, x.shape[1]), block.T, out=out.reshape(*stack, out.shape[1]))
    return out


def _forward_rows(net: Network, layout: _Layout, bufs: _RowBuffers, inputs: np.ndarray) -> None:
    """``_forward`` with patterns as rows: for ``forward``, whose inputs and outputs
    are pattern-major, so nothing is transposed."""
    hidden = bufs.hidden
    for pos, plan in enumerate(layout.plans):
        view = plan.view
        block = _block(net, plan)
        t = bufs.sums[pos]
        k = plan.in_count
        if k:
            _matmul_rows(inputs, block[:, :k], out=t)
            if plan.bias_only:
                t += block[:, k]
            elif plan.rest is not None:
                _matmul_rows(hidden[:, plan.rest], block[:, k:], out=bufs.scratch[pos])
                t += bufs.scratch[pos]
        else:
            _matmul_rows(hidden[:, plan.rest], block, out=t)
        cols = slice(view.first, view.first + view.size)
        steepness = _per_neuron(net.steepness[cols])
        if np.ndim(steepness):
            steepness = steepness.T  # one per column here
        activations.scale_and_clamp(t, steepness, out=t)
        # into a contiguous array first: the activation's passes over rows of a
        # layer's width inside ``hidden`` (a strided view) ran 4x slower
        values = bufs.values[pos]
        activations.value(net.activation[cols], t, out=values)
        hidden[:, plan.rows] = values


def _value(ids: np.ndarray, t: np.ndarray, out: np.ndarray) -> None:
    """Each neuron's (row's) activation of ``t`` into ``out``."""
    activations.value(ids, t.T, out=out.T)


def _delta(
    ids: np.ndarray,
    steepness: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    factor: np.ndarray,
    out: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """``out = derivative(s, y, t) * factor``: FANN's delta, one neuron per row."""
    if (steepness == steepness[0]).all():
        steepness = steepness[0]  # one number: numpy's fast loops (a column runs at half speed)
    activations.derivative(ids, steepness, y.T, t.T, out=out.T, scratch=scratch.T)
    np.multiply(out, factor, out=out)


class NumpyBackend:
    """Vectorised forward and gradient in numpy, with per-layout caches."""

    name = "numpy"
    concurrent_forward = True  # forward may run in several threads at once

    # -- layout -------------------------------------------------------------
    # -- forward ------------------------------------------------------------
    @staticmethod
    def _run(net: Network, inputs: np.ndarray) -> tuple[_Layout, _Buffers]:
        """The forward pass into the cached work arrays (``inputs`` already in net.dtype)."""
        layout = _layout(net)
        bufs = _buffers(layout, net, inputs.shape[0])
        with np.errstate(over="ignore", under="ignore"):
            _forward(net, layout, bufs, inputs)
        return layout, bufs

    def activate(self, net: Network, inputs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Run the net; return a fresh flat activation array A (P, neurons) and each
        layer's sums t (P, size)."""
        inputs = np.asarray(inputs, dtype=net.dtype)
        _, bufs = self._run(net, inputs)
        acts = np.empty((inputs.shape[0], net.total_neurons), dtype=net.dtype)
        acts[:, : net.num_input] = inputs
        acts[:, net.num_input :] = bufs.hidden.T
        return acts, [t.T.copy() for t in bufs.sums]

    def forward(self, net: Network, inputs: np.ndarray) -> np.ndarray:
        """Outputs (P, n_out) for inputs (P, n_in), FANN's ``fann_run`` per row; a
        row's outputs are the same whatever other rows share its batch."""
        inputs = inputs.astype(net.dtype, copy=False)
        count = inputs.shape[0]
        bulk = count - count % FORWARD_BLOCK  # full blocks straight from the caller's array
        result = np.empty((count, net.num_output), dtype=net.dtype)
        for lo in range(0, bulk, FORWARD_CHUNK):
            hi = min(lo + FORWARD_CHUNK, bulk)
            result[lo:hi] = self._outputs(net, inputs[lo:hi])
        if count > bulk:  # the rest in one zero-padded block
            tail = np.zeros((FORWARD_BLOCK, inputs.shape[1]), dtype=net.dtype)
            tail[: count - bulk] = inputs[bulk:]
            result[bulk:] = self._outputs(net, tail)[: count - bulk]
        return result

    def _outputs(self, net: Network, inputs: np.ndarray) -> np.ndarray:
        layout = _layout(net)
        bufs = _row_buffers(layout, net, inputs.shape[0])
        with np.errstate(over="ignore", under="ignore"):
            _forward_rows(net, layout, bufs, inputs)
        return bufs.hidden[:, layout.plans[-1].rows][:, : net.num_output]

    # -- gradient -----------------------------------------------------------
    def gradient(
        self,
        net: Network,
        inputs: np.ndarray,
        targets: np.ndarray,
        slopes: np.ndarray,
        *,
        outputs_only: bool = False,
        pattern_weights: np.ndarray | None = None,
    ) -> Gradient:
        """Add the batch's slopes into ``slopes``; return them with the error counts.

        ``pattern_weights`` (fannctl's own, one per pattern): each pattern's slope
        contribution and squared errors are multiplied by its weight, and the
        count is ``sum(weights) * outputs`` (``fann_error.weighted_counts``).
        """
        inputs = inputs.astype(net.dtype, copy=False)
        layout, bufs = self._run(net, inputs)
        hidden = bufs.hidden
        plans = layout.plans
        last = len(plans) - 1
        first = layout.output_first
        err = targets.T - hidden[plans[last].rows]
        output_ids = net.activation[first : first + net.num_output]
        halve_symmetric(err, output_ids, axis=0)
        limit = net.params.bit_fail_limit
        if pattern_weights is None:
            terms = squared_terms(err, outputs_axis=0)
            sse, count = accumulate(terms), err.size
            bit_fail = int(np.count_nonzero(np.abs(err) >= limit))
        else:
            weighted = weighted_counts(err, pattern_weights, limit, outputs_axis=0)
            terms, sse, count, bit_fail = weighted
        factor = training_factor(err, output_ids, net.params.train_error_function)
        if pattern_weights is not None:
            factor = factor * pattern_weights.astype(factor.dtype, copy=False)
        shortcut = net.network_type == SHORTCUT
        back = bufs.back
        if shortcut:
            back.fill(0)
        for pos in range(last, -1, -1):
            plan = plans[pos]
            view = plan.view
            cols = slice(view.first, view.first + view.size)
            delta = bufs.deltas[pos]
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                _delta(
                    net.activation[cols],
                    net.steepness[cols],
                    hidden[plan.rows],
                    bufs.sums[pos],
                    factor,
                    delta,
                    bufs.scratch[pos],
                )
            _add_slopes(plan, slopes, delta, inputs, hidden, bufs.grads[pos], bufs.ones)
            if outputs_only or pos == 0:
                break
            block = _block(net, plan)
            below = plans[pos - 1]
            if shortcut:
                lo = net.num_input + 1
                summed = bufs.summed[: view.first - lo]
                _matmul(block[:, lo : view.first].T, delta, out=summed)
                back[lo - net.num_input : view.first - net.num_input] += summed
            else:
                _matmul(block[:, : below.view.size].T, delta, out=back[below.rows])
            factor = back[below.rows]
        return Gradient(slopes, sse, count, bit_fail, terms)


def _add_slopes(
    plan: _LayerPlan,
    slopes: np.ndarray,
    delta: np.ndarray,
    inputs: np.ndarray,
    hidden: np.ndarray,
    grad: np.ndarray,
    ones: np.ndarray,
) -> None:
    """slopes[layer] += delta @ sources, the sources split as in the forward pass."""
    view = plan.view
    k = plan.in_count
    if k:
        _matmul(delta, inputs, out=grad[:, :k])
        if plan.bias_only:
            np.matmul(delta, ones, out=grad[:, k])
        elif plan.rest is not None:
            _matmul(delta, hidden[plan.rest].T, out=grad[:, k:])
    else:
        _matmul(delta, hidden[plan.rest].T, out=grad)
    run = slopes[view.con_start : view.con_end]
    if plan.scatter is None:
        run += grad.reshape(-1)
    else:
        run += grad[plan.scatter]
