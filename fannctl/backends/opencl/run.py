"""Training state on an OpenCL device: N networks advanced a chunk of epochs at a time.

``DeviceRun`` holds N networks of one shape (weights and training arrays)
on the device and advances them either with the fused kernel
(``train_epochs``: every epoch of the chunk in one launch, one work-group per
network; incremental training always runs there) or, for large batch-family
networks, with the layered kernels (a few launches per epoch, patterns in
parallel: ``dense.cl`` for fully connected nets, ``layered.cl`` otherwise).
The host reads the state back only at chunk ends (``sync``).

SARPROP's noise comes from each network's stored generator exactly as the
numpy path draws it: the host pre-draws a block, the kernels consume it in
index order, and the generator is moved on by exactly the draws used.
"""

from __future__ import annotations

import numpy as np

from fannctl.backends.opencl.backend import LOCAL, OpenCLBackend
from fannctl.backends.opencl.layout import (
    IS_BIT_FAIL,
    IS_COUNT,
    IS_CURSOR,
    IS_EPOCHS,
    IS_LIMIT,
    IS_SARPROP_EPOCH,
    IS_STATUS,
    MODE_GRADIENT,
    NS_COUNT,
    NS_MSE,
    NS_PREV_ERROR,
    ST_LIMIT,
    ST_NEED_DRAWS,
    ST_REACHED,
    ST_RUNNING,
    hyper_params,
    int_params,
    pack_layout,
    round_up,
)
from fannctl.errors import DeviceError, ParameterError
from fannctl.network import SHORTCUT, Network, layer_views, prepare_state
from fannctl.params import Algorithm

INCREMENTAL, BATCH, RPROP, QUICKPROP, SARPROP = Algorithm  # the kernels' ALG_* ids
FUSED_MAX_WORK = 600_000  # patterns x connections up to which one work-item per net wins
MIN_DRAWS = 1 << 16
DENSE_PAD = 16  # pattern stride multiple on the dense path (two vectors of either width)
DENSE_WIDTH = {4: 8, 8: 4}  # patterns per work-item in kernels/dense.cl (VW) by itemsize
DENSE_GROUP = 16  # work-items per work-group along the patterns (1 on CPU devices)
DENSE_TILE = 6  # sources per work-item in dense_slopes
DENSE_FORWARD_TILE = 6  # neurons per work-item in dense_forward (two pattern vectors each)
LAYERED_CHUNK = 16  # epochs enqueued between reads on the layered path
LAUNCH_SECONDS = 0.25  # aim for fused launches about this long


class DeviceRun:
    """N networks of one shape, their data and their training state on a device."""

    def __init__(
        self,
        backend: OpenCLBackend,
        nets: list[Network],
        inputs: np.ndarray,
        targets: np.ndarray,
        *,
        desired_error: float,
        fused: bool | None = None,
    ) -> None:
        first = nets[0]
        self.backend = backend
        self.nets = nets
        self.dtype = first.dtype
        self.layout, self.lay = backend.layout(first)
        for net in nets[1:]:
            if net.dtype != self.dtype or pack_layout(net).key != self.layout.key:
                raise ParameterError("networks trained together must have one shape and dtype")
        if not backend.supports(self.dtype):
            raise DeviceError(f"{backend.name} has no double precision support")
        self.N = len(nets)
        self.P = int(inputs.shape[0])
        self.W = self.layout.W
        self.T = self.layout.T
        self.algorithms = [net.params.training_algorithm for net in nets]
        self.desired_error = float(desired_error)
        self.acc = backend.acc_dtype()
        if fused is None:
            fused = (
                INCREMENTAL in self.algorithms
                # enough networks to give every compute unit one (never a
                # lone network: on a one-unit device, PoCL's basic, that
                # would send large nets to the scalar kernel)
                or self.N >= max(2, int(backend.info.device.max_compute_units))
                or self.P * self.W <= FUSED_MAX_WORK
            )
        if INCREMENTAL in self.algorithms and not fused:
            raise ParameterError("incremental training runs only in the fused kernel")
        self.fused = fused
        self.program = backend.program(self.dtype)
        for net in nets:
            if net.params.training_algorithm == INCREMENTAL:
                if net.state.prev_weight_deltas is None or (
                    net.state.prev_weight_deltas.size != net.weights.size
                ):
                    net.state.prev_weight_deltas = np.zeros_like(net.weights)
            else:
                prepare_state(net)
        self._upload(inputs, targets)
        self.epochs_done = np.zeros(self.N, dtype=np.int64)
        self._plans: dict[str, tuple] = {}
        self._draw_setup()

    # -- state ------------------------------------------------------------------
    def _stack(self, name: str) -> np.ndarray:
        rows = []
        for net in self.nets:
            arr = getattr(net.state, name)
            rows.append(np.zeros_like(net.weights) if arr is None or arr.size != self.W else arr)
        return np.stack(rows).astype(self.dtype, copy=False)

    def _upload(self, inputs: np.ndarray, targets: np.ndarray) -> None:
        b = self.backend
        dt = self.dtype
        self.act = b.upload("run_act", np.stack([n.activation for n in self.nets]).astype(np.int32))
        self.steep = b.upload("run_steep", np.stack([n.steepness for n in self.nets]).astype(dt))
        self.weights = b.upload("run_weights", np.stack([n.weights for n in self.nets]).astype(dt))
        self.slopes = b.upload("run_slopes", self._stack("slopes"))
        self.prev_slopes = b.upload("run_prev_slopes", self._stack("prev_slopes"))
        self.prev_steps = b.upload("run_prev_steps", self._stack("prev_steps"))
        self.prev_deltas = b.upload("run_prev_deltas", self._stack("prev_weight_deltas"))
        self.hp = b.upload("run_hp", np.stack([hyper_params(n, self.P) for n in self.nets]))
        self.ip_host = np.stack([int_params(n) for n in self.nets])
        self.ip = b.upload("run_ip", self.ip_host)
        nstate = np.zeros((self.N, NS_COUNT), dtype=self.acc)
        for row, net in zip(nstate, self.nets, strict=True):
            row[NS_PREV_ERROR] = np.nan if net.state.prev_error is None else net.state.prev_error
        self.nstate_host = nstate
        self.nstate = b.upload("run_nstate", nstate)
        istate = np.zeros((self.N, IS_COUNT), dtype=np.int32)
        istate[:, IS_SARPROP_EPOCH] = [n.state.sarprop_epoch for n in self.nets]
        istate[:, IS_STATUS] = ST_RUNNING
        self.istate_host = istate
        self.istate = b.upload("run_istate", istate)
        self.inputs = b.upload("run_inputs", inputs.astype(dt, copy=False))
        self.targets = b.upload("run_targets", targets.astype(dt, copy=False))
        self.dense = not self.fused and not self.nets[0].is_sparse
        self.PS = round_up(self.P, DENSE_PAD) if self.dense else self.P
        if self.fused:
            self.scratch = b.buffer("run_scratch", self.N * 3 * self.T * dt.itemsize)
        else:
            size = self.N * self.T * self.PS * dt.itemsize
            # slots of the run's own: the backend's forward passes (the test
            # set's MSE at report points) use "values" etc. between chunks
            self.values = b.buffer("run_values", size)
            self.sums = b.buffer("run_sums", size)
            self.deltas = b.buffer("run_deltas", size)
            # FANN's float e*e per (network, pattern, output), summed in order on the device
            n_out = self.layout.n_out
            self.pattern_sse = b.buffer("run_pattern_terms", self.N * self.P * n_out * 4)
            self.pattern_bits = b.buffer("run_pattern_bits", self.N * self.P * 4)
        if self.dense:
            self.views = layer_views(self.nets[0])
            targets_t = np.zeros((targets.shape[1], self.PS), dtype=dt)  # (outputs, PS)
            targets_t[:, : self.P] = targets.T
            self.targets_t = b.upload("run_targets_t", targets_t)
            b.run_kernel(
                self.program.kernel("dense_init"),
                (round_up(self.PS, LOCAL), self.N),
                (LOCAL, 1),
                np.int32(self.P),
                np.int32(self.PS),
                self.lay,
                self.inputs,
                self.values,
            )

    # -- SARPROP's draws ----------------------------------------------------------
    def _draw_setup(self) -> None:
        self.sarprop = [alg == SARPROP for alg in self.algorithms]
        self.draws_per_net = 0
        self.rngs: list[np.random.Generator | None] = [None] * self.N
        self.saved: list[dict | None] = [None] * self.N
        self.drew = [False] * self.N
        if any(self.sarprop):
            chunk = 1 if self.fused else LAYERED_CHUNK
            self.draws_per_net = max(MIN_DRAWS, 4 * self.W, chunk * self.W)
            self.draws_host = np.zeros((self.N, self.draws_per_net), dtype=np.float32)
            for n, net in enumerate(self.nets):
                if not self.sarprop[n]:
                    continue
                rng = np.random.default_rng()
                if net.state.rng_state is not None:
                    rng.bit_generator.state = net.state.rng_state
                self.rngs[n] = rng
                self.saved[n] = rng.bit_generator.state
                self.draws_host[n] = rng.random(self.draws_per_net).astype(np.float32)
            self.draws = self.backend.upload("run_draws", self.draws_host)
        else:
            self.draws = self.backend.buffer("run_draws", 16)

    def _advance_generator(self, n: int, used: int) -> dict:
        rng = np.random.default_rng()
        rng.bit_generator.state = self.saved[n]
        if used:
            rng.random(used)
        return rng.bit_generator.state

    def _refill(self, n: int) -> None:
        """Move network n's generator past the draws used; fresh draws from there."""
        used = int(self.istate_host[n, IS_CURSOR])
        self.saved[n] = self._advance_generator(n, used)
        self.drew[n] = self.drew[n] or used > 0
        rng = self.rngs[n]
        rng.bit_generator.state = self.saved[n]
        self.draws_host[n] = rng.random(self.draws_per_net).astype(np.float32)
        self.istate_host[n, IS_CURSOR] = 0

    # -- running ------------------------------------------------------------------
    def advance(self, epochs: int, limit: np.ndarray | None = None) -> None:
        """Run up to ``epochs`` more epochs on every network still running."""
        ist = self.istate_host
        running = ist[:, IS_STATUS] != ST_REACHED
        ist[running, IS_STATUS] = ST_RUNNING
        ist[:, IS_LIMIT] = ist[:, IS_EPOCHS] + epochs
        if limit is not None:
            ist[:, IS_LIMIT] = np.minimum(ist[:, IS_LIMIT], limit)
        if self.fused:
            self._advance_fused()
        else:
            self._advance_layered(epochs)

    def _plan(self, name: str, build) -> list:
        """The prepared launches ``build()`` makes, kept while the state buffers
        they read stay the same objects."""
        key = (id(self.istate), id(self.nstate), id(getattr(self, "draws", None)))
        found = self._plans.get(name)
        if found is None or found[0] != key:
            found = self._plans[name] = (key, build())
        return found[1]

    def _dense_gradient(self) -> None:
        self.backend.launch(self._plan("dense", self._dense_launches))

    def _dense_launches(self) -> list:
        """Forward, output deltas, backprop and slopes of one epoch, a layer at a time."""
        b, N, PS, dt = self.backend, self.N, self.PS, self.dtype
        views = self.views
        blocks = PS // DENSE_WIDTH[self.dtype.itemsize]
        i32 = np.int32
        # a CPU device runs a work-group's items in a loop: one item per group
        # lets its code stay the plain vector loop (1.3x on PoCL here)
        cpu = b.info.kind == "cpu"
        group = 1 if cpu else DENSE_GROUP
        launches = []
        for view in views:
            tiles = -(-view.size // DENSE_FORWARD_TILE)
            launches.append(b.prepared(
                dt, "dense_forward", (round_up(blocks // 2, group), tiles, N), (group, 1, 1),
                i32(PS), i32(view.first), i32(view.size), i32(view.src_start),
                i32(view.src_count), i32(view.con_start), self.lay, self.act, self.steep,
                self.weights, self.values, self.sums, self.istate,
            ))  # fmt: skip
        launches.append(b.prepared(
            dt, "dense_output_delta", (round_up(blocks, group), N), (group, 1),
            i32(self.P), i32(PS), self.lay, self.act, self.steep, self.targets_t, self.values,
            self.sums, self.deltas, self.pattern_sse, self.pattern_bits, self.hp, self.ip,
            self.istate,
        ))  # fmt: skip
        shortcut = self.nets[0].network_type == SHORTCUT
        for pos in range(len(views) - 1, 0, -1):
            later, below = views[pos], views[pos - 1]
            k_last = self.T if shortcut else later.first + later.size
            launches.append(b.prepared(
                dt, "dense_backprop", (round_up(blocks, group), below.size, N), (group, 1, 1),
                i32(PS), i32(below.first), i32(below.size), i32(later.first), i32(k_last),
                i32(later.src_start), self.lay, self.act, self.steep, self.weights,
                self.values, self.sums, self.deltas, self.istate,
            ))  # fmt: skip
        slope_group = 1 if cpu else 8
        for view in views:
            tiles = -(-view.src_count // DENSE_TILE)
            launches.append(b.prepared(
                dt, "dense_slopes", (round_up(tiles, slope_group), -(-view.size // 2), N),
                (slope_group, 1, 1),
                i32(PS), i32(view.first), i32(view.size), i32(view.src_start),
                i32(view.src_count), i32(view.con_start), self.lay, self.values, self.deltas,
                self.slopes, self.istate,
            ))  # fmt: skip
        return launches

    def _push_state(self) -> None:
        b = self.backend
        self.istate = b.upload("run_istate", self.istate_host)
        if any(self.sarprop):
            self.draws = b.upload("run_draws", self.draws_host)

    def _pull_state(self) -> None:
        b = self.backend
        b.download(self.istate, self.istate_host)
        b.download(self.nstate, self.nstate_host)

    def _advance_fused(self) -> None:
        b = self.backend
        kernel = self.program.kernel("train_epochs")
        acc = self.acc.type
        while True:
            self._push_state()
            b.run_kernel(
                kernel,
                (self.N,),
                (1,),
                np.int32(self.P),
                acc(self.desired_error),
                np.int32(0),
                np.int32(0),
                self.lay,
                self.act,
                self.steep,
                self.weights,
                self.slopes,
                self.prev_slopes,
                self.prev_steps,
                self.prev_deltas,
                self.inputs,
                self.targets,
                self.scratch,
                self.hp,
                self.ip,
                self.nstate,
                self.istate,
                self.draws,
                np.int32(self.draws_per_net),
            )
            self._pull_state()
            need = np.flatnonzero(self.istate_host[:, IS_STATUS] == ST_NEED_DRAWS)
            if need.size == 0:
                return
            for n in need:
                self._refill(int(n))
                self.istate_host[n, IS_STATUS] = ST_RUNNING

    def _advance_layered(self, epochs: int) -> None:
        N, W = self.N, self.W
        for n in range(N):
            if self.sarprop[n] and self.draws_per_net - self.istate_host[n, IS_CURSOR] < (
                epochs * W
            ):
                self._refill(n)
        self._push_state()
        for _ in range(epochs):
            if self.dense:
                self._dense_gradient()
            else:
                self._pattern_gradient()
            self._finish_and_update()
        self._pull_state()
        if any(self.ip_host[:, 3] != 0):
            # finish_epoch moves the error into prev_error only at the next epoch
            for n in range(N):
                if self.algorithms[n] == RPROP and self.ip_host[n, 3] != 0:
                    self.nstate_host[n, NS_PREV_ERROR] = self.nstate_host[n, NS_MSE]
            self.nstate = self.backend.upload("run_nstate", self.nstate_host)
        self.istate_host[:, IS_STATUS] = np.where(
            self.istate_host[:, IS_STATUS] == ST_LIMIT, ST_RUNNING, self.istate_host[:, IS_STATUS]
        )

    def _pattern_gradient(self) -> None:
        """One work-item per pattern forward and back, then the slopes per connection."""
        b, program, P, N, W = self.backend, self.program, self.P, self.N, self.W
        b.run_kernel(
            program.kernel("pattern_pass"), (round_up(P, LOCAL), N), (LOCAL, 1),
            np.int32(P), np.int32(MODE_GRADIENT), self.lay, self.act, self.steep, self.weights,
            self.inputs, self.targets, self.values, self.sums, self.deltas, self.pattern_sse,
            self.pattern_bits, self.values, self.hp, self.ip, self.istate,
        )  # fmt: skip
        b.run_kernel(
            program.kernel("accumulate_slopes"), (round_up(W, LOCAL), N), (LOCAL, 1),
            np.int32(P), np.int32(0), self.lay, self.values, self.deltas, self.slopes,
            self.istate,
        )  # fmt: skip

    def _finish_and_update(self) -> None:
        self.backend.launch(self._plan("update", self._update_launches))

    def _update_launches(self) -> list:
        """The epoch's MSE and stop test, then each network's weight update."""
        b, N, W, dt = self.backend, self.N, self.W, self.dtype
        launches = [b.prepared(
            dt, "finish_epoch", (N,), None,
            np.int32(self.P), np.int32(self.layout.n_out), self.pattern_sse, self.pattern_bits,
            self.nstate, self.istate, self.ip, self.acc.type(self.desired_error),
        )]  # fmt: skip
        if any(self.sarprop):
            launches.append(b.prepared(
                dt, "update_sarprop", (N,), None,
                np.int32(W), self.weights, self.slopes, self.prev_slopes, self.prev_steps,
                self.hp, self.ip, self.nstate, self.istate, self.draws,
                np.int32(self.draws_per_net),
            ))  # fmt: skip
        if not all(self.sarprop):
            launches.append(b.prepared(
                dt, "update_weights", (round_up(W, LOCAL), N), (LOCAL, 1),
                np.int32(W), self.weights, self.slopes, self.prev_slopes, self.prev_steps,
                self.prev_deltas, self.hp, self.ip, self.nstate, self.istate,
            ))  # fmt: skip
        return launches

    # -- results ------------------------------------------------------------------
    def status(self, n: int) -> tuple[int, float, int, bool]:
        """(epochs run so far, last MSE, last bit fail, reached) of network n."""
        ist = self.istate_host[n]
        return (
            int(ist[IS_EPOCHS]),
            float(self.nstate_host[n, NS_MSE]),
            int(ist[IS_BIT_FAIL]),
            bool(ist[IS_STATUS] == ST_REACHED),
        )

    def sync(self) -> None:
        """Copy weights and training state back into the networks."""
        b = self.backend
        shape = (self.N, self.W)
        weights = b.download(self.weights, np.empty(shape, dtype=self.dtype))
        arrays = {}
        for name, buf in (
            ("slopes", self.slopes),
            ("prev_slopes", self.prev_slopes),
            ("prev_steps", self.prev_steps),
            ("prev_weight_deltas", self.prev_deltas),
        ):
            arrays[name] = b.download(buf, np.empty(shape, dtype=self.dtype))
        for n, net in enumerate(self.nets):
            net.weights[:] = weights[n]
            algorithm = self.algorithms[n]
            state = net.state
            if algorithm == INCREMENTAL:
                state.prev_weight_deltas[:] = arrays["prev_weight_deltas"][n]
                continue
            for name in ("slopes", "prev_slopes", "prev_steps"):
                if getattr(state, name) is not None:
                    getattr(state, name)[:] = arrays[name][n]
            if algorithm == RPROP and net.params.rprop_variant != "fann":
                if state.prev_weight_deltas is None or state.prev_weight_deltas.size != self.W:
                    state.prev_weight_deltas = np.zeros_like(net.weights)
                state.prev_weight_deltas[:] = arrays["prev_weight_deltas"][n]
                prev = float(self.nstate_host[n, NS_PREV_ERROR])
                state.prev_error = None if np.isnan(prev) else prev
            if algorithm == SARPROP:
                state.sarprop_epoch = int(self.istate_host[n, IS_SARPROP_EPOCH])
                used = int(self.istate_host[n, IS_CURSOR])
                if self.drew[n] or used:
                    net.state.rng_state = self._advance_generator(n, used)
