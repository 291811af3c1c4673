"""The batched computation: N same-shape networks' forward pass and gradient at once.

Every array carries a leading agent axis: weights (N, connections), activations
(N, neurons, patterns). A layer is one ``np.matmul`` over all agents of a chunk
(a stack of the single network's products, each agent's slice computed exactly
as :mod:`fannctl.backends.numpy_backend` computes it, so a swarm of one agent
gives bit for bit what ``fannctl train`` gives). The update rules that use it
live in :mod:`fannctl.swarm.trainer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fannctl import activations
from fannctl.errors import ParameterError
from fannctl.fann_error import error_function
from fannctl.network import SHORTCUT, Network, layer_counts, layer_views

_MEMORY_BUDGET = 16 * 2**20  # bytes of work arrays per chunk: small chunks stay in cache


@dataclass(frozen=True)
class LayerPlan:
    """One non-input layer: where its sources and connections lie (as the numpy backend)."""

    first: int
    size: int
    src_count: int
    con_start: int
    con_end: int
    in_count: int
    rest: slice | None
    bias_only: bool
    rows: slice
    scatter: tuple[np.ndarray, np.ndarray] | None
    ids: np.ndarray


@dataclass(frozen=True)
class Shape:
    """Everything the agents of a swarm share: layout, activations, error settings."""

    num_input: int
    num_output: int
    hidden_rows: int
    connections: int
    neurons: int
    shortcut: bool
    plans: tuple[LayerPlan, ...]
    bias_rows: tuple[int, ...]
    halve: np.ndarray  # per output: error halved (symmetric activation)
    error_function: int
    bit_fail_limit: float

    @classmethod
    def of(cls, net: Network) -> Shape:
        """The shape of ``net`` (its weights are not looked at)."""
        beyond = sorted({int(a) for a in net.activation if a >= len(activations.NAMES)})
        if beyond:  # e.g. softmax: computed across a layer, not neuron by neuron
            names = ", ".join(_function_name(a) for a in beyond)
            raise ParameterError(f"a swarm computes FANN's activation functions only, not {names}")
        n_in = net.num_input
        plans = []
        for view in layer_views(net):
            in_count = max(0, min(view.src_count, n_in - view.src_start))
            rest_start = view.src_start + in_count
            rest_stop = view.src_start + view.src_count
            rest = slice(rest_start - n_in, rest_stop - n_in) if rest_stop > rest_start else None
            plans.append(
                LayerPlan(
                    first=view.first,
                    size=view.size,
                    src_count=view.src_count,
                    con_start=view.con_start,
                    con_end=view.con_end,
                    in_count=in_count,
                    rest=rest,
                    bias_only=in_count > 0 and rest_start == n_in and rest_stop == n_in + 1,
                    rows=slice(view.first - n_in, view.first - n_in + view.size),
                    scatter=None if view.dense else (view.rows, view.cols),
                    ids=net.activation[view.first : view.first + view.size].copy(),
                )
            )
        bias_rows = [0]
        if net.network_type != SHORTCUT:
            ends = np.cumsum(layer_counts(net.layers, net.network_type))
            bias_rows += [int(end) - 1 - n_in for end in ends[1:]]
        outputs = net.output_activation()
        return cls(
            num_input=n_in,
            num_output=net.num_output,
            hidden_rows=net.total_neurons - n_in,
            connections=net.total_connections,
            neurons=net.total_neurons,
            shortcut=net.network_type == SHORTCUT,
            plans=tuple(plans),
            bias_rows=tuple(bias_rows),
            halve=np.array([activations.is_symmetric(i) for i in outputs]),
            error_function=net.params.train_error_function,
            bit_fail_limit=net.params.bit_fail_limit,
        )

    def agent_bytes(self, patterns: int, itemsize: int) -> int:
        """Work memory one agent needs for ``patterns`` patterns (for chunking)."""
        per_pattern = 3 * self.hidden_rows + 3 * sum(p.size for p in self.plans)
        return itemsize * (patterns * per_pattern + 4 * self.connections) + 64

    def chunk_agents(self, patterns: int, itemsize: int, budget: int = _MEMORY_BUDGET) -> int:
        """How many agents one chunk holds so its work arrays stay within ``budget``."""
        return max(1, budget // self.agent_bytes(patterns, itemsize))


def _function_name(ident: int) -> str:
    try:
        return activations.activation_name(ident)
    except (IndexError, KeyError):
        return f"activation function {ident}"


# -- forward and gradient --------------------------------------------------------


class Workspace:
    """Work arrays reused from epoch to epoch and chunk to chunk (by name, shape and
    dtype): fresh arrays of a chunk's size cost as much in page faults as the
    arithmetic on them. Scratch only: nothing in it outlives a call's use."""

    def __init__(self) -> None:
        self._arrays: dict[tuple, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        key = (name, shape, np.dtype(dtype).str)
        found = self._arrays.get(key)
        if found is None:
            found = np.empty(shape, dtype=dtype)
            self._arrays[key] = found
        return found


def _empty(work: Workspace | None, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    return np.empty(shape, dtype=dtype) if work is None else work.get(name, shape, dtype)


def _blocks(shape: Shape, weights: np.ndarray, plan: LayerPlan) -> np.ndarray:
    """The layer's weights as (N, size, src_count): a view for dense layers."""
    run = weights[:, plan.con_start : plan.con_end]
    if plan.scatter is None:
        return run.reshape(weights.shape[0], plan.size, plan.src_count)
    block = np.zeros((weights.shape[0], plan.size, plan.src_count), dtype=weights.dtype)
    block[:, plan.scatter[0], plan.scatter[1]] = run
    return block


def _single_function(plan: LayerPlan) -> bool:
    """True when every neuron of the layer has the same activation function."""
    return bool((plan.ids == plan.ids[0]).all())


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = a @ b`` over the agent axis; inner size 1 as a broadcast multiply
    (as the numpy backend does, so every agent's numbers are the same)."""
    if a.shape[-1] == 1:
        return np.multiply(a, b, out=out)
    return np.matmul(a, b, out=out)


def _steepness(steepness: np.ndarray, plan: LayerPlan) -> tuple[np.ndarray, np.ndarray]:
    """The layer's steepness as (N, size|1, 1) for sums and (N, 1, size|1) for
    the transposed views the activations take; one number when every neuron of
    every agent shares it (numpy's one-pass clip and scalar loops, as the
    single network's backend takes them)."""
    cols = steepness[:, plan.first : plan.first + plan.size]
    if (cols == cols[:1, :1]).all():
        one = cols[0, 0]
        return one, one
    if (cols == cols[:, :1]).all():
        column = cols[:, :1]
        return column[:, :, None], column[:, None, :]
    return cols[:, :, None], cols[:, None, :]


def forward(
    shape: Shape,
    weights: np.ndarray,
    steepness: np.ndarray,
    inputs: np.ndarray,
    work: Workspace | None = None,
) -> tuple[np.ndarray, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Every agent's activations (N, hidden_rows, P), sums per layer, steepness per layer."""
    n, patterns = weights.shape[0], inputs.shape[0]
    dtype = weights.dtype
    hidden = _empty(work, "hidden", (n, shape.hidden_rows, patterns), dtype)
    hidden[:, list(shape.bias_rows)] = 1.0
    inputs_t = inputs.T
    sums, steeps = [], []
    with np.errstate(over="ignore", under="ignore"):
        for pos, plan in enumerate(shape.plans):
            block = _blocks(shape, weights, plan)
            t = _empty(work, f"t{pos}", (n, plan.size, patterns), dtype)
            k = plan.in_count
            if k:
                _matmul(block[:, :, :k], inputs_t, out=t)
                if plan.bias_only:
                    t += block[:, :, k : k + 1]
                elif plan.rest is not None:
                    scratch = _empty(work, "scratch", t.shape, dtype)
                    _matmul(block[:, :, k:], hidden[:, plan.rest], out=scratch)
                    t += scratch
            else:
                _matmul(block, hidden[:, plan.rest], out=t)
            s_rows, s_cols = _steepness(steepness, plan)
            activations.scale_and_clamp(t, s_rows, out=t)
            if _single_function(plan):  # contiguous rows: no strided loops
                activations.value_into(int(plan.ids[0]), t, hidden[:, plan.rows])
            else:
                activations.value(
                    plan.ids, t.transpose(0, 2, 1), out=hidden[:, plan.rows].transpose(0, 2, 1)
                )
            sums.append(t)
            steeps.append((s_rows, s_cols))
    return hidden, sums, steeps


def outputs(
    shape: Shape, weights: np.ndarray, steepness: np.ndarray, inputs: np.ndarray
) -> np.ndarray:
    """Every agent's outputs (N, P, num_output) for inputs (P, num_input)."""
    hidden, _, _ = forward(shape, weights, steepness, inputs.astype(weights.dtype, copy=False))
    return hidden[:, shape.plans[-1].rows][:, : shape.num_output].transpose(0, 2, 1)


def _output_errors(
    shape: Shape,
    out: np.ndarray,
    targets_t: np.ndarray,
    pattern_weights: np.ndarray | None,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """FANN's ``target - y`` (halved for symmetric outputs), SSE, count and bit fail per
    agent; the SSE goes on from ``start`` (earlier patterns of the same pass)."""
    err = targets_t - out
    if shape.halve.all():
        err /= 2.0
    elif shape.halve.any():
        err[:, shape.halve] /= 2.0
    n = err.shape[0]
    # FANN's MSE_value is a C float: each (pattern, output) term e*e rounded to
    # float and added in pattern-major order (fannctl.fann_error.squared_terms).
    rows = err.transpose(0, 2, 1)  # (agents, patterns, outputs)
    terms = np.multiply(rows, rows).astype(np.float32)
    if pattern_weights is None:
        count = np.full(n, float(err[0].size))
        bit_fail = np.count_nonzero(np.abs(err) >= shape.bit_fail_limit, axis=(1, 2))
    else:
        pw = pattern_weights[:, :, None].astype(np.float32)
        terms *= pw
        count = pattern_weights.sum(axis=1, dtype=np.float64) * shape.num_output
        fails = (np.abs(rows) >= shape.bit_fail_limit) * pw
        bit_fail = fails.sum(axis=(1, 2)).astype(np.int64)
    flat = terms.reshape(n, -1)
    if start is not None:  # as fann_error.accumulate: the first term plus the start
        flat[:, 0] += start.astype(np.float32)
    sse = np.cumsum(flat, axis=1, dtype=np.float32)[:, -1].astype(np.float64)
    return err, sse, count, bit_fail


def mean_square(sse: np.ndarray, count: np.ndarray) -> np.ndarray:
    """FANN's MSE per agent (``fann_get_MSE``): the float SSE over the count, in float."""
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.float32(1) * sse.astype(np.float32) / count.astype(np.float32)
    return np.where(count > 0, quotient, 0.0).astype(np.float64)


def gradient(
    shape: Shape,
    weights: np.ndarray,
    steepness: np.ndarray,
    inputs: np.ndarray,
    targets: np.ndarray,
    slopes: np.ndarray,
    pattern_weights: np.ndarray | None = None,
    work: Workspace | None = None,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add every agent's slopes into ``slopes`` (N, C); return SSE (going on from
    ``start``), count and bit fail."""
    hidden, sums, steeps = forward(shape, weights, steepness, inputs, work)
    plans = shape.plans
    last = len(plans) - 1
    out = hidden[:, plans[last].rows]
    err, sse, count, bit_fail = _output_errors(shape, out, targets.T, pattern_weights, start)
    factor = error_function(err, shape.error_function)
    if pattern_weights is not None:
        factor = factor * pattern_weights[:, None, :]
    n, patterns = weights.shape[0], inputs.shape[0]
    back = _empty(work, "back", hidden.shape, hidden.dtype)
    if shape.shortcut:
        back.fill(0)
    ones = np.ones(patterns, dtype=weights.dtype)
    for pos in range(last, -1, -1):
        plan = plans[pos]
        delta = _empty(work, f"delta{pos}", (n, plan.size, patterns), weights.dtype)
        scratch = _empty(work, "scratch", delta.shape, weights.dtype)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            if _single_function(plan):
                activations.derivative_into(
                    int(plan.ids[0]),
                    steeps[pos][0],
                    hidden[:, plan.rows],
                    sums[pos],
                    delta,
                    scratch,
                )
            else:
                activations.derivative(
                    plan.ids,
                    steeps[pos][1],
                    hidden[:, plan.rows].transpose(0, 2, 1),
                    sums[pos].transpose(0, 2, 1),
                    out=delta.transpose(0, 2, 1),
                    scratch=scratch.transpose(0, 2, 1),
                )
            np.multiply(delta, factor, out=delta)
        grad = _empty(work, f"grad{pos}", (n, plan.size, plan.src_count), weights.dtype)
        _add_slopes(plan, slopes, delta, inputs, hidden, ones, grad)
        if pos == 0:
            break
        block = _blocks(shape, weights, plan)
        below = plans[pos - 1]
        if shape.shortcut:
            lo = shape.num_input + 1
            top = plan.first - shape.num_input
            summed = _empty(work, "summed", (n, plan.first - lo, patterns), weights.dtype)
            _matmul(block[:, :, lo : plan.first].transpose(0, 2, 1), delta, out=summed)
            back[:, lo - shape.num_input : top] += summed
        else:
            _matmul(block[:, :, : below.size].transpose(0, 2, 1), delta, out=back[:, below.rows])
        factor = back[:, below.rows]
    return sse, count, bit_fail


def _add_slopes(
    plan: LayerPlan,
    slopes: np.ndarray,
    delta: np.ndarray,
    inputs: np.ndarray,
    hidden: np.ndarray,
    ones: np.ndarray,
    grad: np.ndarray,
) -> None:
    """slopes[layer] += delta @ sources for every agent (the numpy backend's split)."""
    n = delta.shape[0]
    k = plan.in_count
    if k:
        _matmul(delta, inputs, out=grad[:, :, :k])
        if plan.bias_only:
            np.matmul(delta, ones, out=grad[:, :, k])
        elif plan.rest is not None:
            _matmul(delta, hidden[:, plan.rest].transpose(0, 2, 1), out=grad[:, :, k:])
    else:
        _matmul(delta, hidden[:, plan.rest].transpose(0, 2, 1), out=grad)
    run = slopes[:, plan.con_start : plan.con_end]
    if plan.scatter is None:
        run += grad.reshape(n, -1)
    else:
        run += grad[:, plan.scatter[0], plan.scatter[1]]


def errors(
    shape: Shape,
    weights: np.ndarray,
    steepness: np.ndarray,
    inputs: np.ndarray,
    targets: np.ndarray,
    chunk: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """FANN's MSE and bit fail of every agent on a data set (forward passes only)."""
    inputs = inputs.astype(weights.dtype, copy=False)
    targets_t = targets.astype(weights.dtype, copy=False).T
    n = weights.shape[0]
    step = chunk or shape.chunk_agents(inputs.shape[0], weights.dtype.itemsize)
    mse = np.empty(n)
    bit_fail = np.empty(n, dtype=np.int64)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        hidden, _, _ = forward(shape, weights[lo:hi], steepness[lo:hi], inputs)
        out = hidden[:, shape.plans[-1].rows]
        _, sse, count, fails = _output_errors(shape, out, targets_t, None)
        mse[lo:hi] = mean_square(sse, count)
        bit_fail[lo:hi] = fails
    return mse, bit_fail
