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

from collections.abc import Callable

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
    *,
    weights: np.ndarray,
    steepness: np.ndarray,
    algorithm: np.ndarray,
    hyper: dict[str, np.ndarray],
    prev_steps: np.ndarray,
    prev_slopes: np.ndarray,
    sarprop_epoch: np.ndarray,
    pattern_weights: np.ndarray | None,
    inputs: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    draw: Draw,
) -> tuple[np.ndarray, np.ndarray]:
    """``epochs`` epochs of every agent on the device; the arrays change in place.
    Returns the last epoch's MSE and bit fail per agent."""
    n = weights.shape[0]
    sarprop = bool((algorithm == SARPROP).any())
    step = group_size(template, inputs.shape[0], pattern_weights is not None, sarprop)
    mse = np.zeros(n)
    bit_fail = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        rows = slice(lo, hi)
        group = _Group(
            backend,
            template,
            weights[rows],
            steepness[rows],
            algorithm[rows],
            {k: v[rows] for k, v in hyper.items()},
            prev_steps[rows],
            prev_slopes[rows],
            sarprop_epoch[rows],
            None if pattern_weights is None else pattern_weights[rows],
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
        weights: np.ndarray,
        steepness: np.ndarray,
        algorithm: np.ndarray,
        hyper: dict[str, np.ndarray],
        prev_steps: np.ndarray,
        prev_slopes: np.ndarray,
        sarprop_epoch: np.ndarray,
        pattern_weights: np.ndarray | None,
        inputs: np.ndarray,
        targets: np.ndarray,
        draw: Draw,
    ) -> None:
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
        hp = agent_hyper_params(hyper, patterns, template.params.bit_fail_limit, dt)
        decay = (hyper["weight_decay"] * patterns).astype(dt)
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
