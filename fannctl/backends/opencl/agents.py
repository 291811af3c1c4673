"""Many agents of one shape, each its own parameters, trained on a device for some epochs.

``train_agents`` is the device side of a swarm chunk (``fannctl.swarm.device``
hands it plain arrays; this package never imports the swarm): weights and
training state (agents, connections), steepness (agents, neurons), a FANN
parameter per agent as (agents,) arrays named as ``TrainingParams`` names
them, optional pattern weights (agents, patterns) and a weight decay per
agent. One launch of ``kernels/swarm.cl``'s ``train_agents`` runs every
epoch of every agent (one work-item per agent); the arrays are updated in
place and each agent's last-epoch MSE and bit fail come back.

Agents are sent in groups of at most ``max_agents`` so the device memory
stays bounded whatever the chunk's size. SARPROP's noise comes from
``draw(agent_row, count)`` (each agent's own stream, consumed in order, as
the numpy path consumes it); the kernel stops an agent that runs short and
the host tops its block up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from fannctl.backends.opencl import kernels
from fannctl.backends.opencl.backend import OpenCLBackend
from fannctl.backends.opencl.layout import (
    HP_BIT_FAIL_LIMIT,
    HP_COUNT,
    HP_EPSILON,
    HP_LR,
    HP_MOMENTUM,
    HP_QP_DECAY,
    HP_QP_MU,
    HP_QP_SHRINK,
    HP_RPROP_DEC,
    HP_RPROP_DMAX,
    HP_RPROP_DMIN,
    HP_RPROP_INC,
    HP_SP_SES,
    HP_SP_TEMPERATURE,
    HP_SP_THRESHOLD,
    HP_SP_WDS,
    IP_ALGORITHM,
    IP_COUNT,
    IP_ERROR_FUNCTION,
    IS_BIT_FAIL,
    IS_COUNT,
    IS_CURSOR,
    IS_LIMIT,
    IS_SARPROP_EPOCH,
    IS_STATUS,
    NS_COUNT,
    NS_MSE,
    ST_NEED_DRAWS,
    ST_RUNNING,
)
from fannctl.errors import DeviceError, DeviceUnusable
from fannctl.network import Network

SWARM_FILES = ("common", "activations", "pattern", "update", "fused", "swarm")
SWARM_KERNELS = ("train_agents",)
SARPROP = 4
DEVICE_BYTES = 64 * 2**20  # device memory one group of agents may use
MIN_DRAWS = 256  # SARPROP noise draws kept per agent (at least W more are topped up)

Draw = Callable[[int, int], np.ndarray]


@dataclass
class Agents:
    """Some agents' arrays, as a swarm chunk holds them (views: trained in place).

    ``weights``, ``prev_steps``, ``prev_slopes``: (agents, connections);
    ``steepness``: (agents, neurons); ``algorithm`` and ``sarprop_epoch``: (agents,);
    ``hyper``: a FANN parameter's (agents,) values under its ``TrainingParams`` name;
    ``pattern_weights``: None (every pattern once) or (agents, patterns).
    """

    weights: np.ndarray
    steepness: np.ndarray
    algorithm: np.ndarray
    hyper: dict[str, np.ndarray]
    prev_steps: np.ndarray
    prev_slopes: np.ndarray
    sarprop_epoch: np.ndarray
    pattern_weights: np.ndarray | None = None

    def rows(self, rows: slice) -> Agents:
        """Some of these agents, as views."""
        return Agents(
            self.weights[rows],
            self.steepness[rows],
            self.algorithm[rows],
            {k: v[rows] for k, v in self.hyper.items()},
            self.prev_steps[rows],
            self.prev_slopes[rows],
            self.sarprop_epoch[rows],
            None if self.pattern_weights is None else self.pattern_weights[rows],
        )


def swarm_program(backend: OpenCLBackend, dtype: np.dtype) -> kernels.Program:
    """The swarm kernels for ``dtype`` on this device, after the device's self-test."""
    dtype = np.dtype(dtype)
    backend.program(dtype)  # the main program: built and self-tested (verify) first
    real = "float" if dtype == np.float32 else "double"
    options = f"-DREAL={real}" + (" -DHAVE_DOUBLE" if backend.info.double else "")
    if real == "double":
        options += " -DREAL_IS_DOUBLE"
    source = kernels.load(*SWARM_FILES)
    try:
        return kernels.build(
            backend.context, backend.info.device, source, options, names=SWARM_KERNELS
        )
    except DeviceError as exc:
        raise DeviceUnusable(f"{backend.name}: {exc}") from None


def agent_hyper_params(
    hyper: dict[str, np.ndarray],
    patterns: np.ndarray,
    bit_fail_limit: float,
    dtype: np.dtype,
) -> np.ndarray:
    """(agents, HP_COUNT): ``layout.hyper_params`` per agent, rounded as
    ``fannctl.swarm.trainer`` rounds them (C floats, then the weights' dtype)."""
    dt = np.dtype(dtype)
    f32 = np.float32

    def real(name: str) -> np.ndarray:
        return hyper[name].astype(f32).astype(dt)

    n = patterns.size
    hp = np.zeros((n, HP_COUNT), dtype=dt)
    hp[:, HP_LR] = real("learning_rate")
    hp[:, HP_MOMENTUM] = real("learning_momentum")
    hp[:, HP_BIT_FAIL_LIMIT] = dt.type(bit_fail_limit)
    hp[:, HP_EPSILON] = (hyper["learning_rate"].astype(f32) / patterns.astype(f32)).astype(dt)
    hp[:, HP_RPROP_INC] = real("rprop_increase_factor")
    hp[:, HP_RPROP_DEC] = real("rprop_decrease_factor")
    hp[:, HP_RPROP_DMIN] = real("rprop_delta_min")
    hp[:, HP_RPROP_DMAX] = real("rprop_delta_max")
    hp[:, HP_QP_DECAY] = real("quickprop_decay")
    mu = hyper["quickprop_mu"].astype(f32).astype(np.float64)
    hp[:, HP_QP_MU] = mu.astype(dt)
    hp[:, HP_QP_SHRINK] = (mu / (1.0 + mu)).astype(f32).astype(dt)
    hp[:, HP_SP_WDS] = hyper["sarprop_weight_decay_shift"].astype(f32)
    hp[:, HP_SP_SES] = hyper["sarprop_step_error_shift"].astype(f32)
    hp[:, HP_SP_THRESHOLD] = hyper["sarprop_step_error_threshold_factor"].astype(f32)
    hp[:, HP_SP_TEMPERATURE] = hyper["sarprop_temperature"].astype(f32)
    return hp


def group_size(template: Network, patterns: int, weighted: bool, sarprop: bool) -> int:
    """Agents per launch so that one group's buffers stay within DEVICE_BYTES."""
    item = template.dtype.itemsize
    W, T = template.weights.size, template.total_neurons
    per_agent = item * (4 * W + 4 * T + HP_COUNT + (patterns if weighted else 0))
    per_agent += 4 * (IP_COUNT + IS_COUNT) + 8 * NS_COUNT
    if sarprop:
        per_agent += 4 * max(MIN_DRAWS, 2 * W)
    return max(1, DEVICE_BYTES // per_agent)


def train_agents(
    backend: OpenCLBackend,
    template: Network,
    agents: Agents,
    inputs: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    draw: Draw,
) -> tuple[np.ndarray, np.ndarray]:
    """``epochs`` epochs of every agent on the device; the arrays change in place.
    Returns the last epoch's MSE and bit fail per agent."""
    n = agents.weights.shape[0]
    sarprop = bool((agents.algorithm == SARPROP).any())
    weighted = agents.pattern_weights is not None
    step = group_size(template, inputs.shape[0], weighted, sarprop)
    mse = np.zeros(n)
    bit_fail = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, step):
        rows = slice(lo, min(n, lo + step))
        group = _Group(
            backend,
            template,
            agents.rows(rows),
            inputs,
            targets,
            lambda row, count, lo=lo: draw(lo + row, count),
        )
        mse[rows], bit_fail[rows] = group.train(epochs)
    return mse, bit_fail


class _Group:
    """One launch's agents: their buffers on the device and the SARPROP draws."""

    def __init__(
        self,
        backend: OpenCLBackend,
        template: Network,
        agents: Agents,
        inputs: np.ndarray,
        targets: np.ndarray,
        draw: Draw,
    ) -> None:
        weights, steepness, algorithm = agents.weights, agents.steepness, agents.algorithm
        prev_steps, prev_slopes = agents.prev_steps, agents.prev_slopes
        sarprop_epoch, pattern_weights = agents.sarprop_epoch, agents.pattern_weights
        b = backend
        dt = weights.dtype
        if not b.supports(dt):
            raise DeviceError(f"{b.name} has no double precision support")
        self.backend = b
        self.program = swarm_program(b, dt)
        self.layout, self.lay = b.layout(template)
        self.out = (weights, prev_steps, prev_slopes, sarprop_epoch)
        self.n = n = weights.shape[0]
        self.P = P = int(inputs.shape[0])
        self.W, T = self.layout.W, self.layout.T
        self.dtype = dt
        self.draw = draw
        self.sarprop = np.flatnonzero(algorithm == SARPROP)
        if pattern_weights is None:
            patterns = np.full(n, float(P))
        else:
            patterns = pattern_weights.sum(axis=1, dtype=np.float64)
        hp = agent_hyper_params(agents.hyper, patterns, template.params.bit_fail_limit, dt)
        decay = (agents.hyper["weight_decay"] * patterns).astype(dt)
        ip = np.zeros((n, IP_COUNT), dtype=np.int32)
        ip[:, IP_ALGORITHM] = algorithm
        ip[:, IP_ERROR_FUNCTION] = template.params.train_error_function
        self.istate_host = np.zeros((n, IS_COUNT), dtype=np.int32)
        self.istate_host[:, IS_SARPROP_EPOCH] = sarprop_epoch
        self.nstate_host = np.zeros((n, NS_COUNT), dtype=b.acc_dtype())
        self.args = [
            np.int32(P),
            np.int32(pattern_weights is not None),
            self.lay,
            b.upload("swarm_act", template.activation.astype(np.int32)),
            b.upload("swarm_steep", steepness.astype(dt)),
            b.upload("swarm_weights", weights),
            b.upload("swarm_slopes", np.zeros_like(weights)),
            b.upload("swarm_prev_slopes", prev_slopes),
            b.upload("swarm_prev_steps", prev_steps),
            b.upload("swarm_inputs", inputs.astype(dt, copy=False)),
            b.upload("swarm_targets", targets.astype(dt, copy=False)),
            b.upload(
                "swarm_pattern_weights",
                np.zeros(1, dt) if pattern_weights is None else pattern_weights.astype(dt),
            ),
            b.upload("swarm_decay", decay),
            b.buffer("swarm_scratch", n * 3 * T * dt.itemsize),
            b.upload("swarm_hp", hp),
            b.upload("swarm_ip", ip),
            b.upload("swarm_nstate", self.nstate_host),
        ]
        self.draws_per_agent = max(MIN_DRAWS, 2 * self.W) if self.sarprop.size else 1
        self.draws_host = np.zeros((n, self.draws_per_agent), dtype=np.float32)
        for row in self.sarprop:
            self.draws_host[row] = draw(int(row), self.draws_per_agent)

    def train(self, epochs: int) -> tuple[np.ndarray, np.ndarray]:
        b = self.backend
        ist = self.istate_host
        ist[:, IS_STATUS] = ST_RUNNING
        ist[:, IS_LIMIT] = epochs
        kernel = self.program.kernel("train_agents")
        nstate = self.args[-1]
        while True:
            istate = b.upload("swarm_istate", ist)
            draws = b.upload("swarm_draws", self.draws_host)
            b.run_kernel(
                kernel, (self.n,), None, *self.args, istate, draws, np.int32(self.draws_per_agent)
            )
            b.download(istate, ist)
            need = np.flatnonzero(ist[:, IS_STATUS] == ST_NEED_DRAWS)
            if need.size == 0:
                break
            for row in need:  # keep the unused draws, append the stream's next ones
                used = int(ist[row, IS_CURSOR])
                block = self.draws_host[row]
                block[: block.size - used] = block[used:].copy()
                block[block.size - used :] = self.draw(int(row), used)
                ist[row, IS_CURSOR] = 0
                ist[row, IS_STATUS] = ST_RUNNING
        b.download(nstate, self.nstate_host)
        weights, prev_steps, prev_slopes, sarprop_epoch = self.out
        shape = (self.n, self.W)
        weights[...] = b.download(self.args[5], np.empty(shape, self.dtype))
        prev_slopes[...] = b.download(self.args[7], np.empty(shape, self.dtype))
        prev_steps[...] = b.download(self.args[8], np.empty(shape, self.dtype))
        sarprop_epoch[...] = ist[:, IS_SARPROP_EPOCH]
        return self.nstate_host[:, NS_MSE].astype(np.float64), ist[:, IS_BIT_FAIL].astype(np.int64)


# -- agents innermost (kernels/swarm_tiny.cl, kernels/swarm_wide.cl) ---------------
#
# Both kernels train VWIDTH agents per work-item, one per vector lane, with every
# array [slot][agent]: swarm_tiny.cl keeps a 3-layer net's whole state in
# registers, swarm_wide.cl keeps larger layered nets' state in device memory and
# computes PATTERN_BLOCK patterns per weight load. Both give train_agents' bits.

TINY_FILES = ("common", "activations", "swarm_lanes", "swarm_tiny")
TINY_KERNELS = ("train_tiny",)
WIDE_FILES = ("common", "activations", "swarm_lanes", "swarm_wide")
WIDE_KERNELS = ("train_wide",)
TINY_MAX_WEIGHTS = 64  # connections up to which a network's state stays in registers
# neurons (biases counted) up to which swarm_wide's per-work-item values and
# deltas (2 x PATTERN_BLOCK x VWIDTH floats each) stay small enough for a CPU stack
WIDE_MAX_NEURONS = 128
TINY_ACTIVATIONS = (0, 3, 5)  # linear, sigmoid, sigmoid_symmetric
TINY_ALGORITHMS = (1, 2)  # batch, rprop
VWIDTH = 16  # agents per work-item (vector lanes)
PATTERN_BLOCK = 4  # patterns a work-item computes side by side


@dataclass(frozen=True)
class LaneShape:
    """A layered fully connected float network as the lane kernels see it: neurons
    per layer (biases not counted) and each non-input layer's activation id."""

    sizes: tuple[int, ...]
    acts: tuple[int, ...]

    @property
    def firsts(self) -> tuple[int, ...]:
        """Each layer's first neuron, every layer's bias neuron counted."""
        return tuple(int(v) for v in np.cumsum([0, *(n + 1 for n in self.sizes[:-1])]))

    @property
    def cons(self) -> tuple[int, ...]:
        """Each layer's first connection (0 for the input layer)."""
        runs = [n * (m + 1) for m, n in pairwise(self.sizes)]
        return (0, *(int(v) for v in np.cumsum([0, *runs[:-1]])))

    @property
    def neurons(self) -> int:
        return sum(self.sizes) + len(self.sizes)

    @property
    def weights(self) -> int:
        return sum(n * (m + 1) for m, n in pairwise(self.sizes))

    @property
    def tiny(self) -> bool:
        """swarm_tiny.cl's case: three layers, state small enough for registers."""
        return len(self.sizes) == 3 and self.weights <= TINY_MAX_WEIGHTS


def lane_shape(template: Network) -> LaneShape | None:
    """The template's LaneShape when a lane kernel can train it (a layered, fully
    connected float32 network whose non-input layers each use one function of
    TINY_ACTIVATIONS, small enough for one of the two kernels), else None."""
    sizes = tuple(int(n) for n in template.layers)
    if (
        len(sizes) < 3
        or template.dtype != np.float32
        or template.is_sparse
        or template.network_type != 0
    ):
        return None
    acts = [0]
    first = sizes[0] + 1
    for size in sizes[1:]:
        ids = template.activation[first : first + size]
        if ids.size != size or ids.min() != ids.max() or int(ids[0]) not in TINY_ACTIVATIONS:
            return None
        acts.append(int(ids[0]))
        first += size + 1
    shape = LaneShape(sizes, tuple(acts))
    if template.weights.size != shape.weights:
        return None
    if not shape.tiny and shape.neurons > WIDE_MAX_NEURONS:
        return None
    return shape


def old_pocl(platform_version: str) -> bool:
    """PoCL before 3.1: the wheel's 3.0-rc2 (LLVM 14) aborts the process compiling
    train_tiny ("LLVM ERROR: Cannot emit physreg copy instruction"), so it is
    never asked to build a lane kernel."""
    found = re.search(r"PoCL (\d+)\.(\d+)", platform_version)
    return found is not None and (int(found[1]), int(found[2])) < (3, 1)


def _build(backend: OpenCLBackend, files: tuple[str, ...], options: str, names: tuple[str, ...]):
    backend.program(np.float32)  # built and self-tested first
    options = f"-DREAL=float{' -DHAVE_DOUBLE' if backend.info.double else ''} " + options
    try:
        return kernels.build(
            backend.context, backend.info.device, kernels.load(*files), options, names=names
        )
    except DeviceError as exc:
        raise DeviceUnusable(f"{backend.name}: {exc}") from None


def tiny_program(backend: OpenCLBackend, shape: LaneShape, algorithm: int, error_function: int):
    """train_tiny built for one (tiny) shape, algorithm and error function."""
    n_in, n_hidden, n_out = shape.sizes
    options = (
        f"-DNI={n_in} -DNH={n_hidden} -DNO={n_out} -DACT_H={shape.acts[1]} "
        f"-DACT_O={shape.acts[2]} "
        f"-DALG={algorithm} -DERRFN={error_function} -DVWIDTH={VWIDTH} -DPB={PATTERN_BLOCK}"
    )
    return _build(backend, TINY_FILES, options, TINY_KERNELS)


def wide_program(backend: OpenCLBackend, shape: LaneShape, algorithm: int, error_function: int):
    """train_wide built for one shape, algorithm and error function."""

    def listed(values) -> str:
        return "{" + ",".join(str(v) for v in values) + "}"

    options = (
        f"-DNL={len(shape.sizes)} -DLAYER_SIZE={listed(shape.sizes)} "
        f"-DLAYER_FIRST={listed(shape.firsts)} -DLAYER_CON={listed(shape.cons)} "
        f"-DLAYER_ACT={listed(shape.acts)} -DNI={shape.sizes[0]} -DNO={shape.sizes[-1]} "
        f"-DNEURONS={shape.neurons} -DWEIGHTS={shape.weights} -DALG={algorithm} "
        f"-DERRFN={error_function} -DVWIDTH={VWIDTH} -DPB={PATTERN_BLOCK}"
    )
    return _build(backend, WIDE_FILES, options, WIDE_KERNELS)


def lanes_apply(backend: OpenCLBackend, template: Network, agents: Agents) -> bool:
    """Whether a lane kernel computes this chunk: a lane_shape, one algorithm of
    TINY_ALGORITHMS, no pattern weights or weight decay, one steepness per layer
    per agent, and a device with doubles (for exp) that is not an old PoCL (and
    a CPU for swarm_wide.cl)."""
    shape = lane_shape(template)
    if shape is None or agents.pattern_weights is not None or not backend.info.double:
        return False
    if old_pocl(backend.info.platform_version):
        return False
    if not shape.tiny and backend.info.kind != "cpu":
        return False  # swarm_wide.cl is laid out for a CPU's vector lanes; measured only there
    algorithm = agents.algorithm  # (not np.unique: it loads numpy.ma, 8 ms of a run)
    if algorithm.min() != algorithm.max() or int(algorithm[0]) not in TINY_ALGORITHMS:
        return False
    if agents.hyper["weight_decay"].any():
        return False
    steepness = agents.steepness
    for first, size in zip(shape.firsts[1:], shape.sizes[1:], strict=True):
        layer = steepness[:, first : first + size]
        if not (layer == layer[:, :1]).all():
            return False
    return True


def tiny_applies(backend: OpenCLBackend, template: Network, agents: Agents) -> bool:
    """Whether train_tiny (not train_wide) computes this chunk."""
    return lanes_apply(backend, template, agents) and lane_shape(template).tiny


def train_lanes(
    backend: OpenCLBackend,
    template: Network,
    agents: Agents,
    inputs: np.ndarray,
    targets: np.ndarray,
    epochs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """train_agents for a chunk lanes_apply to: agents innermost, VWIDTH per
    work-item, by train_tiny or train_wide as the shape says."""
    weights, steepness, algorithm = agents.weights, agents.steepness, agents.algorithm
    prev_steps, prev_slopes, hyper = agents.prev_steps, agents.prev_slopes, agents.hyper
    shape = lane_shape(template)
    n = weights.shape[0]
    P = int(inputs.shape[0])
    error_function = template.params.train_error_function
    program, name = (tiny_program, "train_tiny") if shape.tiny else (wide_program, "train_wide")
    kernel = program(backend, shape, int(algorithm[0]), error_function).kernel(name)
    if shape.tiny:
        per_agent = 3 * weights.shape[1] + HP_COUNT + 4
    else:
        # its rows (weights, slopes, steps) and their four lane-order scratch copies
        per_agent = 7 * weights.shape[1] + HP_COUNT + len(shape.sizes) + 2
    step = max(VWIDTH, DEVICE_BYTES // (4 * per_agent))
    step -= step % VWIDTH
    mse = np.zeros(n)
    bit_fail = np.zeros(n, dtype=np.int64)
    b = backend
    x = b.upload("tiny_inputs", inputs.astype(np.float32))
    y = b.upload("tiny_targets", targets.astype(np.float32))
    hp_all = agent_hyper_params(
        hyper, np.full(n, float(P)), template.params.bit_fail_limit, np.float32
    )
    # on a CPU, one work-item per work-group: PoCL hands whole work-groups to its
    # threads, and left to choose it made all 625 work-items of 10,000 agents one
    # group (one thread busy under --threads 2), compiled anew for each swarm size
    local = (1,) if backend.info.kind == "cpu" else None

    def lanes(rows: np.ndarray, width: int) -> np.ndarray:
        """(agents, k) -> (k, width): agents innermost, padded with agent lo's values."""
        out = np.empty((rows.shape[1], width), dtype=rows.dtype)
        out[:, : rows.shape[0]] = rows.T
        out[:, rows.shape[0] :] = rows[:1].T
        return out

    state_arrays = (weights, prev_slopes, prev_steps)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        count = hi - lo
        width = -(-count // VWIDTH) * VWIDTH
        rows = slice(lo, hi)
        hp = b.upload("tiny_hp", lanes(hp_all[rows], width))
        out_mse = b.buffer("tiny_mse", 4 * width)
        out_bits = b.buffer("tiny_bits", 4 * width)
        steep = steepness[rows][:, list(shape.firsts[1:])]  # one per layer (lanes_apply)
        if shape.tiny:
            w, pg, ps = (
                b.upload(f"tiny_{name}", lanes(array[rows], width))
                for name, array in zip(("w", "pg", "ps"), state_arrays, strict=True)
            )
            sh = b.upload("tiny_steep_h", lanes(steep[:, :1], width))
            so = b.upload("tiny_steep_o", lanes(steep[:, 1:], width))
            args = (np.int32(width), x, y, sh, so, w, pg, ps)
        else:  # the kernel moves the agents' rows into lane order itself
            w, pg, ps = (
                b.upload(f"wide_{name}", array[rows])
                for name, array in zip(("w", "pg", "ps"), state_arrays, strict=True)
            )
            st = b.upload("wide_steeps", lanes(steep, width))
            scratch = [b.buffer(f"wide_lanes_{i}", 4 * width * weights.shape[1]) for i in range(4)]
            args = (np.int32(width), np.int32(count), x, y, st, w, pg, ps, *scratch)
        b.run_kernel(
            kernel, (width // VWIDTH,), local,
            np.int32(P), np.int32(epochs), *args, hp, out_mse, out_bits,
        )  # fmt: skip
        for array, buf in zip(state_arrays, (w, pg, ps), strict=True):
            if shape.tiny:
                got = b.download(buf, np.empty((array.shape[1], width), np.float32))
                array[rows] = got[:, :count].T
            elif array[rows].flags.c_contiguous:
                b.download(buf, array[rows])  # straight into the chunk's rows
            else:
                array[rows] = b.download(buf, np.empty((count, array.shape[1]), np.float32))
        mse[rows] = b.download(out_mse, np.empty(width, np.float32))[:count]
        bit_fail[rows] = b.download(out_bits, np.empty(width, np.int32))[:count]
    return mse, bit_fail
