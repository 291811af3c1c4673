"""Cascade2 cascade-correlation, as FANN 2.2's ``fann_cascadetrain_on_data``.

Starting from a shortcut network, each round trains the output weights until
they stagnate, then trains a pool of candidate neurons (activation functions x
steepnesses x groups) to correlate with the remaining error, and installs the
best one as a new one-neuron layer just before the outputs. All candidates and
all patterns of a candidate epoch are one array computation.

FANN quirk kept by default: when installing, output ``k`` receives the output
weight the candidate trained against output ``O-1-k`` (FANN reverses the order).
``fix_quirks=True`` gives each output its own weight.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fannctl import activations, devices, fann_error
from fannctl.checkpoint import CheckpointEvery
from fannctl.data import TrainingData, check_fits, scale_data
from fannctl.errors import DeviceError, ParameterError
from fannctl.fann_error import error_function, output_errors
from fannctl.network import SHORTCUT, Network, TrainState, clear_train_arrays
from fannctl.params import Algorithm, check_params, check_seed, fann_float
from fannctl.train import (
    EpochResult,
    default_backend,
    is_report_point,
    reached,
    sarprop,
    update_weights,
)

CASCADE_ALGORITHMS = {
    algorithm: algorithm.name.lower()
    for algorithm in (Algorithm.RPROP, Algorithm.QUICKPROP, Algorithm.SARPROP)
}


@dataclass
class CascadeConfig:
    """When to stop growing and when to report (FANN's cascadetrain arguments)."""

    max_neurons: int = 30
    desired_error: float = 0.0001
    neurons_between_reports: int = 1
    fix_quirks: bool = False


@dataclass
class CascadeReport:
    """The state after one round's output training (FANN's report point)."""

    neurons: int
    mse: float
    sse: float
    bit_fail: int
    epochs: int
    seconds: float
    activation: str | None = None
    steepness: float | None = None
    test_mse: float | None = None  # with a test set (jobs.cascade_file fills them in)
    test_bit_fail: int | None = None

    def to_dict(self) -> dict:
        out = {
            "neurons": self.neurons,
            "mse": self.mse,
            "bit_fail": self.bit_fail,
            "epochs": self.epochs,
            "activation": self.activation,
            "steepness": self.steepness,
        }
        if self.test_mse is not None:
            out["test_mse"], out["test_bit_fail"] = self.test_mse, self.test_bit_fail
        return out


@dataclass
class CascadeResult:
    """How a cascade run ended; ``mse``/``bit_fail`` after the final output training."""

    neurons_added: int
    mse: float
    bit_fail: int
    reached: bool
    epochs: int
    seconds: float
    history: list[CascadeReport] = field(default_factory=list)
    device: str = "numpy"  # where the candidate epochs ran (the last engine used)
    stopped: bool = False  # a stop request ended the growth after a neuron's install
    progress: CascadeProgress | None = None  # where a stopped run stands (to checkpoint)


@dataclass
class CascadeProgress:
    """Where a cascade run stands right after installing a neuron: what resuming needs.

    ``neurons``: neurons installed by the run so far (toward ``max_neurons``);
    ``epochs``: its epochs so far; ``rng_state``: the generator that draws the
    candidates' weights and SARPROP's noise; ``history``: the report points not
    yet saved.
    """

    neurons: int
    epochs: int
    rng_state: dict
    history: list[CascadeReport] = field(default_factory=list)


def check_cascadable(net: Network) -> None:
    """Refuse what FANN's cascade cannot train, with the reason."""
    if net.network_type != SHORTCUT:
        raise ParameterError(
            "cascade needs a shortcut network (create it with --shortcut, e.g. "
            "fannctl create NET --shortcut --layers 2,1)"
        )
    if net.params.training_algorithm not in CASCADE_ALGORITHMS:
        raise ParameterError(
            f"cascade trains with rprop, quickprop or sarprop, not "
            f"{net.params.algorithm_name} (FANN refuses it too); use --algorithm"
        )
    if not net.params.cascade_activation_functions or not net.params.cascade_activation_steepnesses:
        raise ParameterError("cascade needs at least one candidate function and steepness")
    if net.params.cascade_num_candidate_groups < 1:
        raise ParameterError("cascade needs at least one candidate group")
    if np.any(net.activation == activations.SOFTMAX):
        raise ParameterError(
            "cascade grows FANN's networks: softmax outputs (fannctl's own) are "
            "trained with train only"
        )
    if np.any(np.asarray(net.params.cascade_activation_functions) == activations.SOFTMAX):
        raise ParameterError("cascade cannot use softmax as a candidate function (layer-wide)")
    if net.params.weight_decay:
        raise ParameterError(
            f"cascade does not apply weight decay (fannctl's own); the network stores "
            f"{net.params.weight_decay:g}: train it with --weight-decay 0 first"
        )
    check_params(net.params)


def check_cascade_config(config: CascadeConfig) -> None:
    """ParameterError naming the option for a neuron limit or target that cannot work."""
    if config.max_neurons < 0:
        raise ParameterError(f"--max-neurons must be at least 0, got {config.max_neurons}")
    if config.neurons_between_reports < 0:
        raise ParameterError(
            f"--neurons-between-reports must be at least 0, got {config.neurons_between_reports}"
        )
    if not math.isfinite(config.desired_error):
        raise ParameterError(f"--desired-error must be a finite number, got {config.desired_error}")


class _Outputs:
    """Output training with the hidden activations fixed (computed once per phase).

    The output layer's arrays are kept (outputs, patterns), so every per-neuron
    constant broadcasts along a contiguous row.
    """

    def __init__(self, net: Network, data: TrainingData) -> None:
        self.net = net
        acts, _ = default_backend().activate(net, data.inputs)
        self.first_out = net.layer_first()[-1]
        self.sources = np.ascontiguousarray(acts[:, : self.first_out])
        self.sources_t = np.ascontiguousarray(self.sources.T)  # (K, P): 6x faster products
        self.con_start = int(net.first_connection()[self.first_out])
        out = slice(self.first_out, self.first_out + net.num_output)
        self.ids = net.activation[out].copy()
        self.steepness = net.steepness[out].copy()
        self.targets = np.ascontiguousarray(data.outputs.T)
        self.t = np.empty(self.targets.shape, dtype=net.dtype)
        self.y = np.empty_like(self.t)
        self.sse = 0.0
        self.mse = 0.0
        self.bit_fail = 0

    def forward(self) -> tuple[np.ndarray, np.ndarray]:
        """The output layer's sums ``t`` and values ``y`` (patterns, outputs) with
        the current weights."""
        net = self.net
        block = net.weights[self.con_start :].reshape(net.num_output, self.first_out)
        t = np.matmul(block, self.sources_t, out=self.t)
        activations.scale_and_clamp(t, self.steepness[:, None], out=t)  # FANN's stored sum
        activations.value(self.ids, t.T, out=self.y.T)
        return t.T, self.y.T

    def epoch(self, random_source=None) -> float:
        """One output epoch: slopes for the output weights, then the update."""
        net = self.net
        t, y = self.forward()
        err, sse, count, bit_fail = output_errors(net, y, self.targets.T)
        delta = activations.derivative(self.ids, self.steepness, y, t)
        delta *= error_function(err, net.params.train_error_function)
        net.state.slopes[self.con_start :] += (self.sources_t @ delta).T.ravel()
        self.sse, self.bit_fail = sse, bit_fail
        self.mse = fann_error.mse(sse, count)
        update_weights(
            net.weights,
            net.state,
            net.params,
            self.sources.shape[0],
            self.con_start,
            mse=self.mse,
            random_source=random_source,
        )
        if net.params.training_algorithm == Algorithm.SARPROP:
            net.state.sarprop_epoch += 1
        return self.mse


def _reached(net: Network, outputs: _Outputs, desired_error: float) -> bool:
    return reached(net, EpochResult(outputs.mse, outputs.bit_fail), desired_error)


def train_outputs(
    net: Network, data: TrainingData, desired_error: float, random_source=None
) -> tuple[int, _Outputs]:
    """FANN's ``fann_train_outputs``: output epochs until the target or stagnation."""
    p = net.params
    clear_train_arrays(net)
    outputs = _Outputs(net, data)
    initial = outputs.epoch(random_source)
    if _reached(net, outputs, desired_error):
        return 1, outputs
    change = fann_float(p.cascade_output_change_fraction)
    target, backslide, stagnation = 0.0, -1.0e20, p.cascade_max_out_epochs
    for i in range(1, p.cascade_max_out_epochs):
        error = outputs.epoch(random_source)
        if _reached(net, outputs, desired_error):
            return i + 1, outputs
        improvement = initial - error
        if (target >= 0 and (improvement > target or improvement < backslide)) or (
            target < 0 and (improvement < target or improvement > backslide)
        ):
            target = improvement * (1.0 + change)
            backslide = improvement * (1.0 - change)
            stagnation = i + p.cascade_output_stagnation_epochs
        if i >= stagnation and i >= p.cascade_min_out_epochs:
            return i + 1, outputs
    return p.cascade_max_out_epochs, outputs


class Candidates:
    """The candidate pool: one row of [input weights | output weights] each."""

    def __init__(
        self, net: Network, uniform: Callable[[tuple[int, int]], np.ndarray], engine=None
    ) -> None:
        p = net.params
        funcs = [int(f) for f in p.cascade_activation_functions]
        steeps = [float(net.dtype.type(s)) for s in p.cascade_activation_steepnesses]
        groups = int(p.cascade_num_candidate_groups)
        # Ordered function -> steepness -> group, as FANN lays them out.
        self.functions = np.repeat(np.array(funcs, dtype=np.int32), len(steeps) * groups)
        self.steepness = np.tile(np.repeat(np.array(steeps), groups), len(funcs)).astype(net.dtype)
        count = self.functions.size
        self.num_in = net.layer_first()[-1]  # every non-output neuron
        n_out = net.num_output
        hidden_plus_one = net.total_neurons - net.num_input - net.num_output
        scale = float(
            np.float32(
                2.0
                * np.power(
                    float(np.float32(0.7) * hidden_plus_one),
                    float(np.float32(1.0) / np.float32(net.num_input)),
                )
            )
        )
        scale = min(max(scale, 0.5), 8.0)
        # fann_rand(lo, hi) in C float arithmetic: lo + (hi - lo) * u.
        f32 = np.float32
        draws = np.asarray(uniform((count, self.num_in + n_out)), dtype=f32)
        weights = f32(scale) * draws
        bias = net.num_input
        weights[:, bias] = f32(-scale) + f32(2.0 * scale) * draws[:, bias]
        self.weights = weights.astype(net.dtype)
        zero_step = (
            fann_float(p.rprop_delta_zero) if p.training_algorithm == Algorithm.RPROP else 0.0
        )
        size = self.weights.size
        self.state = TrainState(
            slopes=np.zeros(size, dtype=net.dtype),
            prev_slopes=np.zeros(size, dtype=net.dtype),
            prev_steps=np.full(size, zero_step, dtype=net.dtype),
            sarprop_epoch=net.state.sarprop_epoch,
        )
        self.scores = np.zeros(count)
        self._buffers: dict[str, np.ndarray] = {}
        self.engine = engine  # the fused device kernel, or None (numpy)
        self.keep_slopes = False
        self.last_slopes: np.ndarray | None = None

    def _work(self, patterns: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        """(candidates, patterns) work arrays, allocated once per pool, and each
        candidate's steepness repeated along its row (numpy's loops over a
        broadcast column run at half speed)."""
        if not self._buffers or self._buffers["t"].shape[1] != patterns:
            shape = (self.functions.size, patterns)
            work = {k: np.empty(shape, dtype=dtype) for k in ("t", "a", "d", "ev")}
            work["s"] = np.repeat(self.steepness[:, None], patterns, axis=1)
            self._buffers = work
            # each run of candidates with one function: its block of every array,
            # sliced once per pool
            edges = [0, *np.flatnonzero(np.diff(self.functions)) + 1, self.functions.size]
            self._blocks = [
                (int(self.functions[lo]), *(work[k][lo:hi] for k in ("s", "t", "a", "d", "ev")))
                for lo, hi in itertools.pairwise(edges)
            ]
        return self._buffers

    def copy(self) -> Candidates:
        """A pool in the same state, sharing nothing that an epoch changes (trials)."""
        twin = object.__new__(Candidates)
        twin.__dict__.update(self.__dict__)
        twin.weights = self.weights.copy()
        twin.state = copy.deepcopy(self.state)
        twin.scores = self.scores.copy()
        return twin  # the work arrays are scratch: shared

    def epoch(self, net: Network, phase: _Residual, mse: float, random_source) -> int:
        """One candidate epoch over all patterns; returns the best candidate's index.

        Arrays are (candidates, patterns), so each activation function's
        candidates are one contiguous block of rows. The work arrays are kept
        between epochs: allocating ~1 MB arrays afresh each epoch costs more in
        page faults than the arithmetic on them. With an ``engine`` (the fused
        OpenCL kernel) everything between the two products is one launch; its
        DeviceError leaves the pool unchanged (the caller goes on in numpy).
        """
        win = self.weights[:, : self.num_in]
        v = self.weights[:, self.num_in :]
        work = self._work(phase.sources.shape[0], net.dtype)
        # t = s x sum in one product, steepness folded into the weights.
        scaled = win * self.steepness[:, None]
        t = np.matmul(scaled, phase.sources_t, out=work["t"])
        if self.engine is not None:  # a DeviceError leaves the pool as it was
            sq, out_terms = self.engine(t, self.functions, self.steepness, phase.errors_t, v)
            self.scores = phase.sse - sq.astype(np.float64)
            in_slopes = t @ phase.sources  # t now holds err x d
        else:
            in_slopes, out_terms = self._numpy_terms(scaled, t, v, work, phase)
        slopes = self.state.slopes.reshape(self.weights.shape)
        slopes[:, : self.num_in] -= in_slopes[:, : self.num_in]
        slopes[:, self.num_in :] -= out_terms
        if self.keep_slopes:  # a trial's copy: the slopes before the update clears them
            self.last_slopes = slopes.copy()
        update_weights(
            self.weights.reshape(-1),
            self.state,
            net.params,
            phase.sources.shape[0],
            mse=mse,
            random_source=random_source,
        )
        return int(np.argmax(self.scores))

    def _numpy_terms(self, scaled, t, v, work, phase) -> tuple[np.ndarray, np.ndarray]:
        """The epoch between the two products, in numpy: sets the scores and
        returns the input-slope terms (C, K') and output-slope terms (C, O)."""
        # FANN clamps the sum to +-150/s before scaling, i.e. t to +-150 (for
        # s > 0; the same up to rounding); rows whose sums cannot get there are
        # skipped.
        over = np.flatnonzero(~(np.abs(scaled) @ phase.source_bound < 148.5))
        if over.size > 8:
            np.clip(t, -150.0, 150.0, out=t)
        for c in over if over.size <= 8 else ():
            np.clip(t[c], -150.0, 150.0, out=t[c])
        a, d, scratch = work["a"], work["d"], work["ev"]
        with np.errstate(over="ignore", under="ignore"):
            for ident, s_b, t_b, a_b, d_b, w_b in self._blocks:
                activations.value_into(ident, t_b, a_b, w_b)
                # FANN's derivative sees the unscaled sum
                activations.derivative_at_unscaled_into(ident, s_b, a_b, t_b, d_b, w_b)
        ae = a @ phase.errors  # sum_p a e_o
        v2 = np.vecdot(v, v)
        a2 = np.vecdot(a, a)
        # sum_p sum_o (a v_o - e_o)^2, expanded so no (C, P, O) array is built
        self.scores = phase.sse - (a2 * v2 - 2.0 * np.vecdot(v, ae) + phase.e2)
        # FANN's error value per pattern is (a v2 - ev) d with ev = sum_o e_o v_o;
        # computed as (a - ev/v2) d with v2 applied to the input slopes, which
        # saves a pass (numpy scales rows at half speed). Rows whose v2 is too
        # small to divide by (output weights all ~0) take FANN's form instead.
        tiny = ~(v2 > np.finfo(v2.dtype).tiny)
        scale = np.where(tiny, 1.0, v2)
        ev = np.matmul(v / scale[:, None], phase.errors_t, out=scratch)
        err = np.subtract(a, ev, out=t)  # t is no longer needed
        err *= d
        in_slopes = err @ phase.sources
        in_slopes *= v2[:, None]
        for c in np.flatnonzero(tiny):  # here ev is the plain sum_o e_o v_o
            in_slopes[c] = ((a[c] * v2[c] - ev[c]) * d[c]) @ phase.sources
        return in_slopes, 2.0 * (v * a2[:, None] - ae)


@dataclass
class _Residual:
    """What the candidates correlate with, fixed for one candidate phase."""

    sources: np.ndarray  # (P, K') every non-output neuron's value, zero columns past K
    sources_t: np.ndarray  # the K real columns, (K, P)
    errors: np.ndarray  # (P, O) plain (halved) output errors, no error function
    errors_t: np.ndarray  # the same, (O, P)
    sse: float
    e2: float  # sum of squared errors in the array's own precision
    source_bound: np.ndarray  # (K,) largest |value| of each source

    @classmethod
    def of(cls, net: Network, data: TrainingData, outputs: _Outputs) -> _Residual:
        errors = output_errors(net, outputs.forward()[1], data.outputs)[0]
        sources = outputs.sources
        # The input slopes' (C x P) @ (P x K) product runs up to 1.4x faster
        # with K a multiple of 8 (OpenBLAS's SkylakeX sgemm, bench/NOTES.md):
        # zero columns pad it and their slopes are dropped.
        patterns, count = sources.shape
        padded = np.zeros((patterns, -(-count // 8) * 8), dtype=sources.dtype)
        padded[:, :count] = sources
        return cls(
            padded,
            outputs.sources_t,
            errors,
            np.ascontiguousarray(errors.T),
            outputs.sse,
            float(np.einsum("po,po->", errors, errors)),
            np.abs(sources).max(axis=0),
        )


def train_candidates(
    net: Network,
    data: TrainingData,
    outputs: _Outputs,
    pool: Candidates,
    random_source,
    choice: devices.CandidateChoice | None = None,
) -> tuple[int, int]:
    """FANN's ``fann_train_candidates``: epochs until the best score stagnates.

    ``choice`` picks the engine of the candidate epochs (numpy, or a device's
    fused kernel) at the first pool, by trial epochs on copies of it.
    """
    p = net.params
    phase = _Residual.of(net, data, outputs)
    if choice is not None:
        pool.engine = choice.choose(
            (net.dtype, pool.functions, net.num_output),
            lambda engine: _trial(net, phase, outputs.mse, pool, engine),
        )
    sse = phase.sse
    change = fann_float(p.cascade_candidate_change_fraction)
    target, backslide, stagnation = 0.0, -1.0e20, p.cascade_max_cand_epochs
    best = 0
    for i in range(p.cascade_max_cand_epochs):
        try:
            best = pool.epoch(net, phase, outputs.mse, random_source)
        except DeviceError as exc:  # only an engine raises it
            if choice is not None:
                choice.failed(exc)
            pool.engine = None
            best = pool.epoch(net, phase, outputs.mse, random_source)
        score = float(pool.scores[best])
        if sse and score / sse > p.cascade_candidate_limit:
            return i + 1, best
        if score > target or score < backslide:
            target = score * (1.0 + change)
            backslide = score * (1.0 - change)
            stagnation = i + p.cascade_candidate_stagnation_epochs
        if i >= stagnation and i >= p.cascade_min_cand_epochs:
            return i + 1, best
    return p.cascade_max_cand_epochs, best


def _trial(net: Network, phase: _Residual, mse: float, pool: Candidates, engine):
    """One epoch on a copy of ``pool`` with ``engine`` (None: numpy): (seconds,
    (scores, slopes)), the slopes as the update received them.

    The pool's work arrays are made first, so every copy shares them: a trial
    on fresh arrays would time their page faults (2-4 ms against ~1 ms)."""
    pool._work(phase.sources.shape[0], net.dtype)
    twin = pool.copy()
    twin.engine = engine
    twin.keep_slopes = True
    noise = np.random.default_rng(0).random  # SARPROP's draws: not the run's stream
    started = time.perf_counter()
    twin.epoch(net, phase, mse, noise)
    return time.perf_counter() - started, (twin.scores, twin.last_slopes)


def install_candidate(net: Network, pool: Candidates, best: int, fix_quirks: bool) -> None:
    """Add the best candidate as a one-neuron layer just before the outputs."""
    first_out = net.layer_first()[-1]
    con_start = int(net.first_connection()[first_out])
    n_out = net.num_output
    multiplier = net.dtype.type(net.params.cascade_weight_multiplier)
    in_weights = pool.weights[best, : pool.num_in]
    out_weights = pool.weights[best, pool.num_in :] * multiplier
    if not fix_quirks:
        out_weights = out_weights[::-1]
    old_out = net.weights[con_start:].reshape(n_out, first_out)
    new_out = np.concatenate([old_out, out_weights[:, None]], axis=1)
    net.weights = np.concatenate([net.weights[:con_start], in_weights, new_out.ravel()]).astype(
        net.dtype
    )
    sources_out = np.tile(np.arange(first_out + 1), n_out)
    net.sources = np.concatenate(
        [net.sources[:con_start], np.arange(first_out), sources_out]
    ).astype(np.int64)
    net.activation = np.insert(net.activation, first_out, pool.functions[best])
    net.steepness = np.insert(net.steepness, first_out, pool.steepness[best]).astype(net.dtype)
    num_inputs = np.insert(net.num_inputs, first_out, first_out)
    num_inputs[first_out + 1 :] = first_out + 1
    net.num_inputs = num_inputs
    net.layers = [*net.layers[:-1], 1, net.layers[-1]]
    net.state = TrainState(sarprop_epoch=net.state.sarprop_epoch, rng_state=net.state.rng_state)


def cascade_train(
    net: Network,
    data: TrainingData,
    config: CascadeConfig,
    *,
    seed: int | None = None,
    on_report: Callable[[CascadeReport], None] | None = None,
    random_source: sarprop.RandomSource | None = None,
    uniform: Callable[[tuple[int, int]], np.ndarray] | None = None,
    device: str | None = "numpy",
    should_stop: Callable[[], bool] | None = None,
    on_checkpoint: Callable[[CascadeProgress], None] | None = None,
    checkpoint_every: CheckpointEvery | None = None,
    resume: CascadeProgress | None = None,
) -> CascadeResult:
    """Grow and train ``net`` on ``data`` (``fann_cascadetrain_on_data``).

    Candidate weights draw from ``uniform(shape)`` (numbers in [0, 1), row by
    row), by default a generator seeded with ``seed``. ``device`` (as
    ``--device``; None reads ``FANNCTL_DEVICE``, then ``auto``, as the CLI
    does) says where the candidate epochs' elementwise work runs
    (``devices.CandidateChoice``); the library's default, numpy, repeats
    exactly. ``should_stop()``, read after each neuron's install, ends the
    growth there with ``result.progress``; ``on_checkpoint(progress)`` is called
    there as ``checkpoint_every`` (neurons, or seconds) says; ``resume`` (a saved
    progress, with ``net`` as it was then) continues such a run: with the
    default generator, the same network grows as without the interruption.
    """
    choice = devices.CandidateChoice(device)
    check_fits(net, data)
    check_cascadable(net)
    check_cascade_config(config)
    data = scale_data(net, data.astype(net.dtype))
    check_seed(seed)
    rng = np.random.default_rng(seed)
    if resume is not None:
        rng.bit_generator.state = resume.rng_state
    if random_source is None:
        random_source = rng.random  # SARPROP's noise, from the same seeded stream
    start = time.perf_counter()
    history: list[CascadeReport] = []
    total_epochs = resume.epochs if resume else 0
    done = stopped = False
    added = resume.neurons if resume else 0
    progress = None
    last_checkpoint = start
    for i in range(added + 1, config.max_neurons + 1):
        epochs, outputs = train_outputs(net, data, config.desired_error, random_source)
        total_epochs += epochs
        done = _reached(net, outputs, config.desired_error)
        if is_report_point(i, config.neurons_between_reports, config.max_neurons, done):
            report = _report(net, i - 1, outputs, total_epochs, start)
            history.append(report)
            if on_report is not None:
                on_report(report)
        if done:
            break
        pool = Candidates(net, uniform or rng.random)
        epochs, best = train_candidates(net, data, outputs, pool, random_source, choice)
        total_epochs += epochs
        install_candidate(net, pool, best, config.fix_quirks)
        added += 1
        if i == config.max_neurons:
            continue
        if should_stop is not None and should_stop():
            stopped = True
            progress = CascadeProgress(added, total_epochs, rng.bit_generator.state, list(history))
            break
        now = time.perf_counter()
        if (
            on_checkpoint is not None
            and checkpoint_every
            and checkpoint_every.due(added, now - last_checkpoint)
        ):
            on_checkpoint(
                CascadeProgress(added, total_epochs, rng.bit_generator.state, list(history))
            )
            last_checkpoint = time.perf_counter()
    if stopped:
        return CascadeResult(
            added,
            float("nan"),
            0,
            False,
            total_epochs,
            time.perf_counter() - start,
            history,
            choice.name,
            stopped,
            progress,
        )
    epochs, outputs = train_outputs(net, data, 0.0, random_source)
    total_epochs += epochs
    final = _reached(net, outputs, config.desired_error)
    return CascadeResult(
        added,
        outputs.mse,
        outputs.bit_fail,
        done or final,
        total_epochs,
        time.perf_counter() - start,
        history,
        choice.name,
    )


def _report(
    net: Network, neurons: int, outputs: _Outputs, epochs: int, start: float
) -> CascadeReport:
    report = CascadeReport(
        neurons, outputs.mse, outputs.sse, outputs.bit_fail, epochs, time.perf_counter() - start
    )
    if len(net.layers) > 2:
        last_hidden = net.layer_first()[-2]
        report.activation = activations.activation_name(net.activation[last_hidden])
        report.steepness = float(net.steepness[last_hidden])
    return report
