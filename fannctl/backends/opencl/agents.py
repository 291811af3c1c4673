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


# -- tiny networks: agents innermost (kernels/swarm_tiny.cl) ------------------------

TINY_FILES = ("common", "activations", "swarm_tiny")
TINY_KERNELS = ("train_tiny",)
TINY_MAX_WEIGHTS = 64  # connections up to which a network's state stays in registers
TINY_ACTIVATIONS = (0, 3, 5)  # linear, sigmoid, sigmoid_symmetric
TINY_ALGORITHMS = (1, 2)  # batch, rprop
VWIDTH = 16  # agents per work-item (vector lanes)
PATTERN_BLOCK = 4  # patterns a work-item computes side by side


def tiny_shape(template: Network) -> tuple[int, int, int, int, int] | None:
    """(inputs, hidden, outputs, hidden function, output function) when the
    template is a tiny 3-layer fully connected float network, else None."""
    layers = list(template.layers)
    if (
        len(layers) != 3
        or template.dtype != np.float32
        or template.is_sparse
        or template.network_type != 0
        or template.weights.size > TINY_MAX_WEIGHTS
    ):
        return None
    n_in, n_hidden, n_out = layers
    act = template.activation
    hidden = act[n_in + 1 : n_in + 1 + n_hidden]
    output = act[n_in + n_hidden + 2 : n_in + n_hidden + 2 + n_out]
    if hidden.size != n_hidden or output.size != n_out:
        return None
    if len(set(hidden.tolist())) != 1 or len(set(output.tolist())) != 1:
        return None
    if int(hidden[0]) not in TINY_ACTIVATIONS or int(output[0]) not in TINY_ACTIVATIONS:
        return None
    return n_in, n_hidden, n_out, int(hidden[0]), int(output[0])


def old_pocl(platform_version: str) -> bool:
    """PoCL before 3.1: the wheel's 3.0-rc2 (LLVM 14) aborts the process compiling
    train_tiny ("LLVM ERROR: Cannot emit physreg copy instruction"), so it is
    never asked to."""
    found = re.search(r"PoCL (\d+)\.(\d+)", platform_version)
    return found is not None and (int(found[1]), int(found[2])) < (3, 1)


def tiny_program(backend: OpenCLBackend, shape: tuple, algorithm: int, error_function: int):
    """train_tiny built for one shape, algorithm and error function."""
    backend.program(np.float32)  # built and self-tested first
    n_in, n_hidden, n_out, act_h, act_o = shape
    options = (
        f"-DREAL=float{' -DHAVE_DOUBLE' if backend.info.double else ''} -DNI={n_in} "
        f"-DNH={n_hidden} -DNO={n_out} -DACT_H={act_h} -DACT_O={act_o} -DALG={algorithm} "
        f"-DERRFN={error_function} -DVWIDTH={VWIDTH} -DPB={PATTERN_BLOCK}"
    )
    try:
        return kernels.build(
            backend.context,
            backend.info.device,
            kernels.load(*TINY_FILES),
            options,
            names=TINY_KERNELS,
        )
    except DeviceError as exc:
        raise DeviceUnusable(f"{backend.name}: {exc}") from None


def tiny_applies(backend: OpenCLBackend, template: Network, agents: Agents) -> bool:
    """Whether train_tiny computes this chunk: a tiny shape (tiny_shape), one
    algorithm of TINY_ALGORITHMS, no pattern weights or weight decay, one
    steepness per layer per agent, and a device with doubles (for exp)."""
    shape = tiny_shape(template)
    if shape is None or agents.pattern_weights is not None or not backend.info.double:
        return False
    if old_pocl(backend.info.platform_version):
        return False
    algorithm = agents.algorithm  # (not np.unique: it loads numpy.ma, 8 ms of a run)
    if algorithm.min() != algorithm.max() or int(algorithm[0]) not in TINY_ALGORITHMS:
        return False
    if agents.hyper["weight_decay"].any():
        return False
    steepness = agents.steepness
    n_in, n_hidden, n_out = shape[:3]
    hidden = steepness[:, n_in + 1 : n_in + 1 + n_hidden]
    output = steepness[:, n_in + n_hidden + 2 : n_in + n_hidden + 2 + n_out]
    return bool((hidden == hidden[:, :1]).all() and (output == output[:, :1]).all())


def train_tiny(
    backend: OpenCLBackend,
    template: Network,
    agents: Agents,
    inputs: np.ndarray,
    targets: np.ndarray,
    epochs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """train_agents for a chunk tiny_applies to: agents innermost, VWIDTH per work-item."""
    weights, steepness, algorithm = agents.weights, agents.steepness, agents.algorithm
    prev_steps, prev_slopes, hyper = agents.prev_steps, agents.prev_slopes, agents.hyper
    shape = tiny_shape(template)
    n_in, n_hidden = shape[0], shape[1]
    n = weights.shape[0]
    P = int(inputs.shape[0])
    step = max(VWIDTH, (DEVICE_BYTES // (4 * (3 * weights.shape[1] + HP_COUNT + 4))))
    step -= step % VWIDTH
    program = tiny_program(backend, shape, int(algorithm[0]), template.params.train_error_function)
    kernel = program.kernel("train_tiny")
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

    for lo in range(0, n, step):
        hi = min(n, lo + step)
        width = -(-(hi - lo) // VWIDTH) * VWIDTH
        rows = slice(lo, hi)
        w = b.upload("tiny_weights", lanes(weights[rows], width))
        pg = b.upload("tiny_prev_slopes", lanes(prev_slopes[rows], width))
        ps = b.upload("tiny_prev_steps", lanes(prev_steps[rows], width))
        steep = steepness[rows]
        sh = b.upload("tiny_steep_h", lanes(steep[:, n_in + 1 : n_in + 2], width))
        so = b.upload("tiny_steep_o", lanes(steep[:, n_in + n_hidden + 2 :][:, :1], width))
        hp = b.upload("tiny_hp", lanes(hp_all[rows], width))
        out_mse = b.buffer("tiny_mse", 4 * width)
        out_bits = b.buffer("tiny_bits", 4 * width)
        b.run_kernel(
            kernel, (width // VWIDTH,), local,
            np.int32(P), np.int32(epochs), np.int32(width), x, y, sh, so, w, pg, ps, hp,
            out_mse, out_bits,
        )  # fmt: skip
        count = hi - lo
        for array, buf in ((weights, w), (prev_slopes, pg), (prev_steps, ps)):
            got = b.download(buf, np.empty((array.shape[1], width), np.float32))
            array[rows] = got[:, :count].T
        mse[rows] = b.download(out_mse, np.empty(width, np.float32))[:count]
        bit_fail[rows] = b.download(out_bits, np.empty(width, np.int32))[:count]
    return mse, bit_fail
