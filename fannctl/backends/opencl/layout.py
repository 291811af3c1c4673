"""The network as the OpenCL kernels see it: the packed layout and parameter slots.

The slot numbers here and the ``#define``s in ``kernels/common.cl`` describe
the same arrays: ``tests/backends/test_layout_constants.py`` reads every
integer ``#define`` of ``kernels/*.cl`` and fails when one differs from its
Python counterpart here, in ``fannctl.params`` (algorithms) or in
``fannctl.activations`` (function ids).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from fannctl.network import Network, layer_counts, layer_views
from fannctl.params import RPROP_VARIANTS, fann_float

# Slots of the per-network parameter arrays (kernels/common.cl has the same).
HP_LR, HP_MOMENTUM, HP_BIT_FAIL_LIMIT, HP_EPSILON = 0, 1, 2, 3
HP_RPROP_INC, HP_RPROP_DEC, HP_RPROP_DMIN, HP_RPROP_DMAX = 4, 5, 6, 7
HP_QP_DECAY, HP_QP_MU, HP_QP_SHRINK = 8, 9, 10
HP_SP_WDS, HP_SP_SES, HP_SP_THRESHOLD, HP_SP_TEMPERATURE = 11, 12, 13, 14
HP_COUNT = 16
IP_ALGORITHM, IP_ERROR_FUNCTION, IP_STOP_FUNCTION, IP_RPROP_VARIANT = 0, 1, 2, 3
IP_COUNT = 4
NS_MSE, NS_PREV_ERROR, NS_SSE = 0, 1, 2
NS_COUNT = 4
IS_SARPROP_EPOCH, IS_BIT_FAIL, IS_EPOCHS, IS_STATUS, IS_CURSOR, IS_UPDATE, IS_LIMIT = range(7)
IS_COUNT = 8
ST_RUNNING, ST_REACHED, ST_LIMIT, ST_NEED_DRAWS = 0, 1, 2, 3
MODE_FORWARD, MODE_GRADIENT, MODE_OUTPUTS_ONLY = 0, 1, 2
LAYOUT_HEADER = 16
# The layout header: counts first, then where each per-neuron/connection array starts.
L_T, L_W, L_NIN, L_NOUT, L_OUT_FIRST, L_NLAYERS, L_FIRST_HIDDEN = range(7)
L_OFF_LAYER, L_OFF_FIRST_CON, L_OFF_NUM_CON, L_OFF_SRC, L_OFF_UPD_SRC = range(8, 13)
L_OFF_OWNER, L_OFF_SRC_FIRST, L_OFF_UPD_FIRST = range(13, 16)


@dataclass
class Layout:
    """A network shape packed into the int buffer kernels/common.cl describes."""

    packed: np.ndarray
    T: int
    W: int
    n_in: int
    n_out: int
    out_first: int
    output_con: int  # first connection of the output layer
    layer_ends: list[int]  # first neuron of each layer and the total

    @property
    def key(self) -> str:
        return hashlib.sha1(self.packed.tobytes()).hexdigest()


_PACKED: dict[tuple, Layout] = {}


def pack_layout(net: Network) -> Layout:
    """``_pack_layout`` of ``net``, kept per shape (the per-pattern paths call it often)."""
    key = (
        tuple(net.layers),
        net.network_type,
        net.connection_rate,
        net.weights.size,
        hashlib.sha1(net.num_inputs.tobytes()).hexdigest(),
        hashlib.sha1(net.sources.tobytes()).hexdigest() if net.is_sparse else None,
    )
    found = _PACKED.get(key)
    if found is None:
        if len(_PACKED) > 64:
            _PACKED.clear()
        found = _PACKED[key] = _pack_layout(net)
    return found


def _pack_layout(net: Network) -> Layout:
    """FANN's flat arrays as the kernels read them: every source explicit.

    Fully connected layers read their sources positionally (FANN ignores the
    stored indices there); sparse layers use the stored ones. The incremental
    update of a sparse net reads flat neuron i for connection i (FANN's quirk).
    """
    total = net.total_neurons
    first_con = net.first_connection().astype(np.int64)
    num_con = net.num_inputs.astype(np.int64)
    src = np.empty(net.weights.size, dtype=np.int64)
    owner = np.repeat(np.arange(total), num_con)
    position = np.arange(net.weights.size) - first_con[owner]
    for view in layer_views(net):
        run = slice(view.con_start, view.con_end)
        if view.dense:
            src[run] = view.src_start + position[run]
        else:
            src[run] = net.sources[run]
    upd_src = position if net.is_sparse else src
    counts = layer_counts(net.layers, net.network_type)
    ends = [0, *np.cumsum(counts).tolist()]
    n_layers = len(net.layers)
    out_first = int(ends[-2])
    header = np.zeros(LAYOUT_HEADER, dtype=np.int64)
    header[L_T], header[L_W] = total, net.weights.size
    header[L_NIN], header[L_NOUT] = net.num_input, net.num_output
    header[L_OUT_FIRST], header[L_NLAYERS] = out_first, n_layers
    header[L_FIRST_HIDDEN] = net.num_input + 1
    parts = [
        np.asarray(ends, dtype=np.int64),
        first_con,
        num_con,
        src,
        upd_src,
        owner,
        _consecutive(src, first_con, num_con),
        _consecutive(upd_src, first_con, num_con),
    ]
    offset = LAYOUT_HEADER
    for slot, part in zip(range(L_OFF_LAYER, L_OFF_UPD_FIRST + 1), parts, strict=True):
        header[slot] = offset
        offset += part.size
    packed = np.concatenate([header, *parts]).astype(np.int32)
    output_con = int(first_con[out_first]) if out_first < total else net.weights.size
    return Layout(
        packed,
        total,
        net.weights.size,
        net.num_input,
        net.num_output,
        out_first,
        output_con,
        [int(e) for e in ends],
    )


def _consecutive(sources: np.ndarray, first_con: np.ndarray, num_con: np.ndarray) -> np.ndarray:
    """Per neuron, its first source when its sources are first, first+1, ...; else -1."""
    out = np.full(first_con.size, -1, dtype=np.int64)
    for neuron in np.flatnonzero(num_con):
        run = sources[first_con[neuron] : first_con[neuron] + num_con[neuron]]
        if np.array_equal(run, np.arange(run[0], run[0] + run.size)):
            out[neuron] = run[0]
    return out


def hyper_params(net: Network, patterns: int) -> np.ndarray:
    """The per-network REAL parameters, rounded exactly as fannctl/train/*.py rounds them."""
    p = net.params
    dt = net.dtype.type
    f32 = np.float32
    hp = np.zeros(HP_COUNT, dtype=net.dtype)
    hp[HP_LR] = dt(fann_float(p.learning_rate))
    hp[HP_MOMENTUM] = dt(fann_float(p.learning_momentum))
    hp[HP_BIT_FAIL_LIMIT] = dt(p.bit_fail_limit)
    hp[HP_EPSILON] = dt(f32(fann_float(p.learning_rate)) / f32(max(patterns, 1)))
    hp[HP_RPROP_INC] = dt(fann_float(p.rprop_increase_factor))
    hp[HP_RPROP_DEC] = dt(fann_float(p.rprop_decrease_factor))
    hp[HP_RPROP_DMIN] = dt(fann_float(p.rprop_delta_min))
    hp[HP_RPROP_DMAX] = dt(fann_float(p.rprop_delta_max))
    hp[HP_QP_DECAY] = dt(fann_float(p.quickprop_decay))
    mu = fann_float(p.quickprop_mu)
    hp[HP_QP_MU] = dt(mu)
    hp[HP_QP_SHRINK] = dt(fann_float(mu / (1.0 + mu)))
    hp[HP_SP_WDS] = f32(p.sarprop_weight_decay_shift)
    hp[HP_SP_SES] = f32(p.sarprop_step_error_shift)
    hp[HP_SP_THRESHOLD] = f32(p.sarprop_step_error_threshold_factor)
    hp[HP_SP_TEMPERATURE] = f32(p.sarprop_temperature)
    return hp


def int_params(net: Network) -> np.ndarray:
    """The per-network int parameters: algorithm, error and stop function, RPROP variant."""
    p = net.params
    return np.array(
        [
            p.training_algorithm,
            p.train_error_function,
            p.train_stop_function,
            RPROP_VARIANTS.index(p.rprop_variant),
        ],
        dtype=np.int32,
    )


def round_up(value: int, multiple: int) -> int:
    return max(multiple, -(-value // multiple) * multiple)
