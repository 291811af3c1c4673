"""Training: FANN's epoch for each algorithm, and the train-until-done loop.

``train_epoch`` is ``fann_train_epoch``: one pass with the network's algorithm,
returning the MSE collected during that pass. ``train`` is
``fann_train_on_data``: epochs until the desired error or the epoch limit,
with FANN's report points (epoch 1, every N-th, the last). The training state
(slopes, steps, SARPROP's epoch and generator) lives in ``net.state``, so
training can stop and resume exactly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fannctl import activations, backends, fann_error
from fannctl.backends.base import Advance, Backend, Chunk
from fannctl.checkpoint import CheckpointEvery
from fannctl.data import TrainingData, check_fits, scale_data
from fannctl.errors import DeviceError, ParameterError
from fannctl.network import Network, TrainState, prepare_state
from fannctl.params import RPROP_VARIANTS, Algorithm, TrainingParams, check_params, check_seed
from fannctl.train import batch, incremental, quickprop, rprop, sarprop


@dataclass
class EpochResult:
    """FANN's MSE and bit fail collected during one epoch."""

    mse: float
    bit_fail: int


@dataclass
class Report:
    """One report point of a training run."""

    epoch: int
    mse: float
    bit_fail: int
    seconds: float
    test_mse: float | None = None
    test_bit_fail: int | None = None

    def to_dict(self) -> dict:
        out = {
            "epoch": self.epoch,
            "mse": self.mse,
            "bit_fail": self.bit_fail,
            "seconds": self.seconds,
        }
        if self.test_mse is not None:
            out["test_mse"] = self.test_mse
            out["test_bit_fail"] = self.test_bit_fail
        return out


@dataclass
class TrainConfig:
    """When to stop and when to report (FANN's train_on_data arguments).

    fannctl's own: ``start_epoch`` (epochs a resumed run has already done; they
    count toward ``max_epochs``), ``checkpoint_every`` (when ``train`` calls its
    ``on_checkpoint``) and ``allow_nan`` (do not stop when the error or the
    weights stop being finite). With a test set: ``patience`` (stop when the
    test MSE has not improved for this many report points; 0: never) and
    ``keep_best`` (end with the weights of the report point with the lowest
    test MSE).
    """

    max_epochs: int = 1000
    desired_error: float = 0.0001
    report_every: int = 100
    start_epoch: int = 0
    checkpoint_every: CheckpointEvery = field(default_factory=CheckpointEvery)
    allow_nan: bool = False
    patience: int = 0
    keep_best: bool = False


@dataclass
class TrainResult:
    """How a training run ended.

    ``stopped``: a stop was requested (a signal) and the run ended after an epoch;
    ``diverged``: why the run stopped on a non-finite error or weights (the
    network then holds the weights of the last finite epoch). With a test set:
    ``best_epoch`` and ``best_test_mse`` (the report point with the lowest test
    MSE), ``early_stopped`` (``patience`` ended the run) and ``kept_epoch`` (the
    epoch whose weights the network holds: ``best_epoch`` under ``keep_best``).
    """

    epochs: int
    mse: float
    bit_fail: int
    reached: bool
    seconds: float
    history: list[Report] = field(default_factory=list)
    stopped: bool = False
    diverged: str | None = None
    best_epoch: int | None = None
    best_test_mse: float | None = None
    early_stopped: bool = False
    kept_epoch: int | None = None


def default_backend() -> Backend:
    """The library's default backend (numpy; ``backends.default_backend``)."""
    return backends.default_backend()


def check_trainable(net: Network) -> None:
    """Refuse what FANN cannot train: THRESHOLD neurons, unknown RPROP variants,
    parameters that cannot work (NaN or negative rates, see ``check_params``)."""
    check_params(net.params)
    hidden_and_output = net.activation[net.num_inputs > 0]
    if np.any(hidden_and_output == activations.THRESHOLD):
        raise ParameterError(
            "cannot train through 'threshold' neurons (no derivative); "
            "use sigmoid_stepwise or threshold only after training"
        )
    if net.params.rprop_variant not in RPROP_VARIANTS:
        raise ParameterError(
            f"unknown RPROP variant {net.params.rprop_variant!r}; "
            f"valid: {', '.join(RPROP_VARIANTS)}"
        )


def start_fresh_if_changed(net: Network, previous: TrainingParams) -> None:
    """Drop the kept training arrays when the algorithm or RPROP variant changed.

    FANN, within one process, lets a new algorithm read the old one's arrays
    (QuickProp would take RPROP's step sizes for its previous steps); across
    files it has no arrays at all. A network file resumed with a different
    algorithm therefore starts that algorithm afresh.
    """
    before = (previous.training_algorithm, previous.rprop_variant)
    if before != (net.params.training_algorithm, net.params.rprop_variant):
        net.state = TrainState(rng_state=net.state.rng_state)


def train_epoch(
    net: Network,
    data: TrainingData,
    *,
    backend: Backend | None = None,
    random_source: sarprop.RandomSource | None = None,
    sample_weights: np.ndarray | None = None,
) -> EpochResult:
    """One epoch of the network's algorithm (``fann_train_epoch``).

    fannctl's own, for the batch-family rules: ``sample_weights`` (one per
    pattern, see ``NumpyBackend.gradient``) and the network's
    ``params.weight_decay`` (``apply_weight_decay``).
    """
    check_fits(net, data)
    backend = backend or default_backend()
    algorithm = net.params.training_algorithm
    if algorithm == Algorithm.INCREMENTAL:
        check_beyond_fann(net, sample_weights)
        sse, count, bit_fail = incremental.epoch(net, data, backend)
        return EpochResult(_mse(sse, count), bit_fail)
    prepare_state(net)
    inputs = data.inputs.astype(net.dtype, copy=False)
    targets = data.outputs.astype(net.dtype, copy=False)
    patterns: float = data.num_patterns
    if sample_weights is None:
        grad = backend.gradient(net, inputs, targets, net.state.slopes)
    else:
        grad = backend.gradient(  # type: ignore[call-arg]  (numpy's; runs are host-only)
            net, inputs, targets, net.state.slopes, pattern_weights=sample_weights
        )
        patterns = float(np.sum(sample_weights, dtype=np.float64))
    mse = _mse(grad.sse, grad.count)
    apply_weight_decay(net.state.slopes, net.weights, net.params.weight_decay, patterns)
    source = random_source
    if algorithm == Algorithm.SARPROP and source is None:
        source = _stored_generator(net)
    update_weights(net.weights, net.state, net.params, patterns, mse=mse, random_source=source)
    if algorithm == Algorithm.SARPROP:
        net.state.sarprop_epoch += 1
    return EpochResult(mse, grad.bit_fail)


def apply_weight_decay(
    slopes: np.ndarray, weights: np.ndarray, decay: float, patterns: float
) -> None:
    """L2 weight decay (fannctl's own): ``slopes -= decay * patterns * weights``.

    FANN's slopes are minus the gradient of the summed pattern error, so this
    makes them minus the gradient of ``sum_p E_p + patterns * decay/2 * |w|^2``:
    the rule then descends the mean pattern error plus ``decay/2`` times the
    sum of all squared weights (biases included). ``patterns`` is the pattern
    count, or the sum of the sample weights; batch's step ``learning_rate /
    patterns * slope`` becomes ``learning_rate * (mean slope - decay * w)``.
    Applied after the gradient pass and before the update rule, every epoch.
    """
    if decay:
        slopes -= weights.dtype.type(decay * patterns) * weights


def uses_beyond_fann(net: Network, sample_weights: np.ndarray | None = None) -> bool:
    """Whether a run needs fannctl's own math (softmax outputs, weight decay, sample
    weights), which only the numpy backend computes: such runs stay on the host."""
    return (
        sample_weights is not None
        or bool(net.params.weight_decay)
        or bool(np.any(net.activation == activations.SOFTMAX))
    )


def check_beyond_fann(net: Network, sample_weights: np.ndarray | None = None) -> None:
    """Weight decay and sample weights are for the batch-family rules only."""
    if net.params.training_algorithm != Algorithm.INCREMENTAL:
        return
    if net.params.weight_decay:
        raise ParameterError("--weight-decay needs a batch-family algorithm, not incremental")
    if sample_weights is not None:
        raise ParameterError("sample weights need a batch-family algorithm, not incremental")


def update_weights(
    weights: np.ndarray,
    state: TrainState,
    params: TrainingParams,
    patterns: int,
    start: int = 0,
    *,
    mse: float = 0.0,
    random_source: sarprop.RandomSource | None = None,
) -> None:
    """One step of the batch-family rule ``params`` names, on ``weights[start:]``."""
    algorithm = params.training_algorithm
    if algorithm == Algorithm.BATCH:
        batch.update(weights, state, params, patterns, start)
    elif algorithm == Algorithm.RPROP:
        rprop.update(weights, state, params, patterns, start, error=mse)
    elif algorithm == Algorithm.QUICKPROP:
        quickprop.update(weights, state, params, patterns, start)
    elif algorithm == Algorithm.SARPROP:
        sarprop.update(
            weights, state, params, patterns, start, error=mse, random_source=random_source
        )
    else:
        raise ParameterError(f"unknown training algorithm {algorithm}")


def _mse(sse: float, count: int) -> float:
    return fann_error.mse(sse, count)


def _stored_generator(net: Network) -> sarprop.RandomSource:
    """SARPROP's draws from a generator whose state is kept in the network."""
    rng = np.random.default_rng()
    if net.state.rng_state is not None:
        rng.bit_generator.state = net.state.rng_state

    def draw(n: int) -> np.ndarray:
        values = rng.random(n)
        net.state.rng_state = rng.bit_generator.state
        return values

    return draw


def seed_generator(net: Network, seed: int | None) -> None:
    """Seed the generator SARPROP's random term draws from."""
    check_seed(seed)
    if seed is not None:
        net.state.rng_state = np.random.default_rng(seed).bit_generator.state


def is_report_point(step: int, every: int, last: int, done: bool) -> bool:
    """FANN's report points: the first step, every N-th, the last, and the stop."""
    return bool(every) and (step % every == 0 or step == last or step == 1 or done)


def reached(net: Network, result: EpochResult, desired_error: float) -> bool:
    """FANN's stop test: MSE (or bit fail, with the bit stop function) at or below target."""
    return fann_error.reached(net, result.mse, result.bit_fail, desired_error)


class HostAdvance:
    """The host's side of the loop: one epoch per call, through ``train_epoch``.

    A device backend's ``start_run`` gives the loop an advance of its own that
    runs chunks of epochs on the device; the loop is the same either way.
    """

    def __init__(
        self, net: Network, data: TrainingData, config: TrainConfig, backend, source, weights=None
    ):
        self.net, self.data, self.config = net, data, config
        self.backend, self.source, self.weights = backend, source, weights

    def __call__(self, epochs: int) -> Chunk:
        result = train_epoch(
            self.net,
            self.data,
            backend=self.backend,
            random_source=self.source,
            sample_weights=self.weights,
        )
        done = reached(self.net, result, self.config.desired_error)
        return Chunk(1, result.mse, result.bit_fail, done)

    def cap(self) -> int:
        return 1


def train(
    net: Network,
    data: TrainingData,
    config: TrainConfig,
    *,
    backend: Backend | None = None,
    on_report: Callable[[Report], None] | None = None,
    on_epoch: Callable[[int, EpochResult], None] | None = None,
    test_data: TrainingData | None = None,
    random_source: sarprop.RandomSource | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_checkpoint: Callable[[int, list[Report]], None] | None = None,
    sample_weights: np.ndarray | None = None,
) -> TrainResult:
    """Train until the desired error or ``max_epochs`` (``fann_train_on_data``).

    Between epochs: ``should_stop()`` ends the run early (``result.stopped``),
    ``on_checkpoint(epochs_done, reports_so_far)`` is called as
    ``config.checkpoint_every`` says, and (unless ``config.allow_nan``) a
    non-finite error or weight ends the run with the last finite weights.
    ``sample_weights``: one weight per pattern (``train_epoch``); a run with
    them, weight decay or softmax outputs runs on the host, in numpy.
    """
    check_fits(net, data)
    check_trainable(net)
    check_config(config)
    if test_data is not None:
        check_fits(net, test_data, "test data")
    elif config.patience or config.keep_best:
        raise ParameterError("--patience and --keep-best need a test set (--test or a split)")
    if sample_weights is not None:
        sample_weights = check_sample_weights(sample_weights, data)
    check_beyond_fann(net, sample_weights)
    backend = backend or default_backend()
    host_only = uses_beyond_fann(net, sample_weights)
    if host_only and getattr(backend, "name", "") != "numpy":
        backend = backends.default_backend()  # numpy: the devices compute FANN's math only
    data = scale_data(net, data.astype(net.dtype))
    host = HostAdvance(net, data, config, backend, random_source, sample_weights)
    advance: Advance = host
    start_run = None if host_only else getattr(backend, "start_run", None)
    hooks = on_checkpoint is not None or config.start_epoch > 0
    if start_run is not None and on_epoch is None and random_source is None and not hooks:
        # A device backend keeps the run on the device, in chunks (None: it declines).
        advance = start_run(net, data, config) or host
    recover = getattr(backend, "recover", None)
    start = time.perf_counter()
    history: list[Report] = []
    result = EpochResult(0.0, 0)
    done = stopped = False
    diverged = None
    epoch = config.start_epoch
    every = config.report_every
    last_good = None if config.allow_nan else net.weights.copy()
    last_checkpoint = start
    best = _Best(config) if test_data is not None else None
    while epoch < config.max_epochs and not done:
        # the next report point bounds the chunk (epoch 1, every N-th, the last)
        target = config.max_epochs
        if every:
            target = 1 if epoch == 0 else min(target, (epoch // every + 1) * every)
        if last_good is not None:
            np.copyto(last_good, net.weights)
        try:
            chunk = advance(max(1, min(target - epoch, advance.cap())))
        except DeviceError as exc:
            if recover is None:
                raise
            # the device failed: go on from the network's state at the last chunk end
            advance = recover(exc, net, data, config) or host
            continue
        result = EpochResult(chunk.mse, chunk.bit_fail)
        if last_good is not None and not _finite(result, net.weights):
            diverged = _divergence(epoch + chunk.epochs, result, net.weights)
            keep_last_finite(net, last_good)
            break
        epoch += chunk.epochs
        done = chunk.reached
        if on_epoch is not None:
            on_epoch(epoch, result)
        if is_report_point(epoch, every, config.max_epochs, done):
            report = Report(epoch, result.mse, result.bit_fail, time.perf_counter() - start)
            if test_data is not None:
                from fannctl.runner import test

                report.test_mse, report.test_bit_fail = test(net, test_data, backend=backend)
            history.append(report)
            if on_report is not None:
                on_report(report)
            if best is not None and best.update(report, net.weights):
                break  # patience: no better test error for that many report points
        if done:
            break
        if should_stop is not None and epoch < config.max_epochs and should_stop():
            stopped = True
            break
        if on_checkpoint is not None and epoch < config.max_epochs:
            now = time.perf_counter()
            if config.checkpoint_every.due(epoch, now - last_checkpoint):
                on_checkpoint(epoch, list(history))
                last_checkpoint = time.perf_counter()
    seconds = time.perf_counter() - start
    outcome = TrainResult(
        epoch, result.mse, result.bit_fail, done, seconds, history, stopped, diverged
    )
    outcome.kept_epoch = epoch  # a diverged run keeps its last finite chunk end
    if best is not None and best.epoch is not None:
        outcome.best_epoch, outcome.best_test_mse = best.epoch, best.mse
        outcome.early_stopped = best.exhausted
        keep = best.weights is not None and not stopped and not diverged
        if keep and best.epoch != outcome.kept_epoch:
            keep_last_finite(net, best.weights)  # the best weights; training arrays restart
            outcome.kept_epoch = best.epoch
    return outcome


class _Best:
    """The report point with the lowest test MSE so far, for patience and keep-best.

    ``update`` returns True when the test MSE has not improved for
    ``config.patience`` report points (an improvement is a strictly lower MSE).
    """

    def __init__(self, config: TrainConfig) -> None:
        self.patience, self.keep = config.patience, config.keep_best
        self.epoch: int | None = None
        self.mse = math.inf
        self.weights: np.ndarray | None = None
        self.waited = 0
        self.exhausted = False

    def update(self, report: Report, weights: np.ndarray) -> bool:
        mse = report.test_mse
        if mse is None or not math.isfinite(mse):
            self.waited += 1
        elif self.epoch is None or mse < self.mse:
            self.epoch, self.mse, self.waited = report.epoch, mse, 0
            if self.keep:  # at a report point the host arrays hold the chunk's weights
                if self.weights is None:
                    self.weights = weights.copy()
                else:
                    np.copyto(self.weights, weights)
            return False
        else:
            self.waited += 1
        self.exhausted = bool(self.patience) and self.waited >= self.patience
        return self.exhausted


def check_sample_weights(weights: np.ndarray, data: TrainingData) -> np.ndarray:
    """Sample weights as the data's dtype-independent float64 column, checked: one
    per pattern, finite, not negative, not all zero."""
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    name = data.source or "data"
    if weights.size != data.num_patterns:
        raise ParameterError(
            f"sample weights: {weights.size} given for {name}'s {data.num_patterns} patterns"
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ParameterError("sample weights must be finite and not negative")
    if not np.any(weights > 0):
        raise ParameterError("sample weights are all zero")
    return weights


def check_config(config: TrainConfig) -> None:
    """ParameterError naming the option for a limit or target that cannot work."""
    if config.max_epochs < 1:
        raise ParameterError(f"--max-epochs must be at least 1, got {config.max_epochs}")
    if config.report_every < 0:
        raise ParameterError(f"--report-every must be at least 0, got {config.report_every}")
    if not math.isfinite(config.desired_error):
        # a negative target is FANN's "never stop early"; NaN would never compare
        raise ParameterError(f"--desired-error must be a finite number, got {config.desired_error}")
    if config.patience < 0:
        raise ParameterError(f"--patience must be at least 0, got {config.patience}")
    if config.patience and not config.report_every:
        raise ParameterError("--patience counts report points: it needs --report-every above 0")
    if not 0 <= config.start_epoch <= config.max_epochs:
        raise ParameterError(
            f"cannot resume at epoch {config.start_epoch} of a run of {config.max_epochs} epochs"
        )


def _finite(result: EpochResult, weights: np.ndarray) -> bool:
    """Whether an epoch's error and the weights after it are all finite (one sum)."""
    return math.isfinite(result.mse) and math.isfinite(float(np.sum(weights, dtype=np.float64)))


def _divergence(epoch: int, result: EpochResult, weights: np.ndarray) -> str:
    if not math.isfinite(result.mse):
        what = f"the error became {result.mse}"
    else:
        bad = int(np.count_nonzero(~np.isfinite(weights)))
        what = f"{bad} weight(s) became NaN or infinite"
    return (
        f"training diverged in epoch {epoch}: {what}; kept the weights of epoch {epoch - 1} "
        "(try a smaller learning rate; --allow-nan keeps going)"
    )


def keep_last_finite(net: Network, last_good: np.ndarray) -> None:
    """Put back the last finite weights and restart the training arrays from them."""
    np.copyto(net.weights, last_good)
    net.state = TrainState(rng_state=net.state.rng_state, sarprop_epoch=net.state.sarprop_epoch)
