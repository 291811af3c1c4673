"""One library call per command: what ``fannctl create/train/cascade/run/convert/info`` do.

Each function takes a typed request and returns a typed outcome; the CLI only
parses options into the request, calls the function and renders the outcome,
and a Python program does the same in a few lines::

    from fannctl import jobs

    jobs.create_network(jobs.CreateRequest("xor.h5", [2, 3, 1], seed=1,
                                           hidden_activation="sigmoid_symmetric",
                                           output_activation="sigmoid_symmetric"))
    outcome = jobs.train_file(jobs.TrainRequest("xor.h5", "datasets/xor.data",
                                                max_epochs=500))
    print(outcome.epochs, outcome.mse)
    print(jobs.run_file(jobs.RunRequest("xor.h5", "datasets/xor.data")).outputs)

Bad input raises a ``fannctl.errors.FannctlError`` (``FormatError``,
``ShapeError``, ``ParameterError``, ...) before any file is written; network
files are replaced atomically. Progress comes through optional callbacks
(``on_report``), never printed. ``device`` defaults to ``"numpy"`` in the
library (runs repeat exactly); ``None`` reads ``FANNCTL_DEVICE``, then
``auto``, as the CLI does.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fannctl.activations import SOFTMAX
from fannctl.data import TrainingData
from fannctl.errors import FormatError, ParameterError
from fannctl.network import Network
from fannctl.params import ParamOverrides, TrainingParams

if TYPE_CHECKING:
    from fannctl.backends.base import Backend
    from fannctl.cascade import CascadeReport
    from fannctl.crossval import CrossValResult
    from fannctl.train import Report

__all__ = [
    "CascadeOutcome",
    "CascadeRequest",
    "ConvertOutcome",
    "ConvertRequest",
    "CreateOutcome",
    "CreateRequest",
    "DescribeOutcome",
    "DescribeRequest",
    "ParamOverrides",
    "RunOutcome",
    "RunRequest",
    "RunSession",
    "TrainOutcome",
    "TrainRequest",
    "cascade_file",
    "convert_file",
    "create_network",
    "crossval_file",
    "describe_file",
    "metrics_blocks",
    "open_run",
    "run_blocks",
    "run_file",
    "train_file",
]

PathLike = str | os.PathLike[str]
INITS = ("uniform", "widrow")


def _command(name: str) -> str:
    """The provenance entry's command when the caller gives none (a library call)."""
    return f"fannctl.jobs.{name}"


# -- create --------------------------------------------------------------------------


@dataclass
class CreateRequest:
    """A new network (``fann_create_standard/sparse/shortcut``) written to ``output``."""

    output: PathLike
    layers: Sequence[int]
    shortcut: bool = False
    connection_rate: float = 1.0
    hidden_activation: str | int | None = None
    output_activation: str | int | None = None
    hidden_steepness: float | None = None
    output_steepness: float | None = None
    init: str = "uniform"  # "uniform" (±0.1, FANN's default) or "widrow"
    init_data: PathLike | None = None  # data whose input range Widrow-Nguyen uses
    seed: int | None = None
    dtype: str | None = None  # None: float32, FANN's float build
    command: str | None = None  # recorded in the provenance (the CLI gives its command line)
    force: bool = False  # replace an existing file (without it, refuse)


@dataclass
class CreateOutcome:
    """The network written and what it is."""

    path: str
    network: Network

    def to_dict(self) -> dict[str, object]:
        """The summary ``fannctl create --json`` prints."""
        net = self.network
        return {
            "path": self.path,
            "layers": net.layers,
            "network_type": "shortcut" if net.network_type else "layer",
            "connection_rate": net.connection_rate,
            "connections": net.total_connections,
            "dtype": str(net.dtype),
        }


def create_network(request: CreateRequest) -> CreateOutcome:
    """Create a network as ``fannctl create`` does and save it (atomically)."""
    from fannctl import io, lock, provenance
    from fannctl.network import build

    io.check_network_target(request.output)
    if not request.force and os.path.exists(request.output):
        raise ParameterError(
            f"{os.fspath(request.output)}: exists (a trained network, perhaps); "
            "use --force to replace it"
        )
    if request.shortcut and request.connection_rate < 1:
        raise ParameterError("--shortcut and --connection-rate cannot be combined")
    if request.init not in INITS:
        raise ParameterError(f"--init must be uniform or widrow, got {request.init!r}")
    widrow = None
    if request.init == "widrow":
        if request.init_data is None:
            raise ParameterError("--init widrow needs --init-data FILE")
        data = io.load_data(request.init_data)
        widrow = (float(data.inputs.min()), float(data.inputs.max()))
    elif request.init_data is not None:
        raise ParameterError("--init-data is only used with --init widrow")
    net = build(
        list(request.layers),
        shortcut=request.shortcut,
        connection_rate=request.connection_rate,
        hidden_activation=request.hidden_activation,
        output_activation=request.output_activation,
        hidden_steepness=request.hidden_steepness,
        output_steepness=request.output_steepness,
        seed=request.seed,
        dtype=request.dtype or "float32",
        widrow_input_range=widrow,
    )
    init_data = None if request.init_data is None else os.fspath(request.init_data)
    command = request.command or _command("create_network")
    provenance.record(net, command, init_data, seed=request.seed)
    with lock.writer_lock(request.output, command):
        io.save_network(net, request.output)
    return CreateOutcome(os.fspath(request.output), net)


# -- the steps train and cascade share -----------------------------------------------


def _open_for_training(
    network: PathLike, output: PathLike | None, dtype: str | None, overrides: ParamOverrides
) -> tuple[Network, TrainingParams]:
    """Check the target, open the network, apply the overrides; also the old parameters."""
    from fannctl import io

    io.check_network_target(output or network)
    net = io.open_network(network, dtype)
    previous = net.params
    net.params = overrides.apply(net.params)
    return net, previous


def _load_sets(
    net: Network,
    data_path: PathLike,
    test_path: PathLike | None,
    output_columns: Sequence[str | int] | None,
) -> tuple[TrainingData, TrainingData | None]:
    """The training set and the optional test set, each checked against the network."""
    from fannctl import io
    from fannctl.data import check_fits

    columns = None if output_columns is None else list(output_columns)
    data = io.load_data(data_path, output_columns=columns, num_outputs=net.num_output)
    check_fits(net, data)
    test_data = None
    if test_path is not None:
        test_data = io.load_data(test_path, output_columns=columns, num_outputs=net.num_output)
        check_fits(net, test_data, "test data")
    return data, test_data


def _record_and_save(
    net: Network,
    command: str,
    data_path: PathLike,
    target: PathLike,
    seed: int | None,
    **extra: object,
) -> None:
    """Append the provenance entry and replace the network file atomically."""
    from fannctl import io, provenance

    provenance.record(net, command, os.fspath(data_path), seed=seed, **extra)
    io.save_network(net, target)


# -- train ---------------------------------------------------------------------------


@dataclass
class TrainRequest:
    """Train ``network`` on ``data`` (``fann_train_on_data``) and save it.

    The result replaces ``network`` unless ``output`` names another file.
    """

    network: PathLike
    data: PathLike
    output: PathLike | None = None
    overrides: ParamOverrides = field(default_factory=ParamOverrides)
    max_epochs: int = 1000
    desired_error: float = 0.0001
    report_every: int = 100  # 0: no report points
    test_data: PathLike | None = None  # also report MSE and bit fail on this set
    scale_inputs: tuple[float, float] | None = None  # store FANN's input scaling to (MIN, MAX)
    scale_outputs: tuple[float, float] | None = None  # and the output scaling
    output_columns: Sequence[str | int] | None = None  # tables: the outputs' columns
    seed: int | None = None
    dtype: str | None = None  # None: the file's own
    device: str | None = "numpy"
    command: str | None = None
    checkpoint_every: str | None = None  # save as it goes: N epochs or a time (30s, 5m)
    resume: bool = False  # continue the interrupted run the target file holds
    allow_nan: bool = False  # keep training (and save) when weights become NaN or Inf
    validation_split: float | None = None  # hold out this fraction of data as the test set
    patience: int = 0  # stop when the test MSE has not improved for N report points
    keep_best: bool | None = None  # save the best test epoch's weights (None: if patience)
    sample_weights: PathLike | None = None  # one weight per pattern (batch-family rules)
    sample_weight_column: str | None = None  # or this column of a CSV/TSV file
    output_activation: str | None = None  # set every output's function (e.g. "softmax")
    cv: int | None = None  # K-fold cross-validation instead (crossval_file; NET unchanged)


@dataclass
class TrainOutcome:
    """How the training ended and where the network was saved."""

    path: str
    network: Network
    epochs: int
    mse: float
    bit_fail: int
    reached: bool
    seconds: float
    device: str
    history: list[Report] = field(default_factory=list)  # one per report point
    stopped: bool = False  # a stop request ended the run; the file holds a checkpoint
    diverged: str | None = None  # why a run stopped on NaN/Inf (last finite weights saved)
    lock_note: str | None = None  # a stale lock of a dead run was taken over
    kept_epoch: int | None = None  # the epoch whose weights were saved
    best_epoch: int | None = None  # with a test set: the report point of lowest test MSE
    best_test_mse: float | None = None
    early_stopped: bool = False  # --patience ended the run
    test_mse: float | None = None  # the test set's figures at the last report point
    test_bit_fail: int | None = None
    host_only: bool = False  # fannctl's own math (softmax, decay, weights): numpy only

    def to_dict(self) -> dict[str, object]:
        """The document ``fannctl train --json`` prints."""
        out: dict[str, object] = {
            "epochs": self.epochs,
            "mse": self.mse,
            "bit_fail": self.bit_fail,
            "reached": self.reached,
            "seconds": self.seconds,
            "device": self.device,
            "history": [report.to_dict() for report in self.history],
        }
        if self.kept_epoch is not None:
            out["kept_epoch"] = self.kept_epoch
        if self.best_epoch is not None:
            out["test_mse"], out["test_bit_fail"] = self.test_mse, self.test_bit_fail
            out["best_test_mse"], out["best_epoch"] = self.best_test_mse, self.best_epoch
            out["early_stopped"] = self.early_stopped
        return out


def train_file(
    request: TrainRequest,
    *,
    on_report: Callable[[Report], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainOutcome:
    """Train a network file as ``fannctl train`` does; ``on_report`` gets each report point.

    The target file is locked for the whole run (``fannctl.lock``). When
    ``should_stop()`` turns true (a signal, see ``checkpoint.stop_on_signals``)
    the run ends after its epoch and the target holds a checkpoint that
    ``resume=True`` continues (``outcome.stopped``).
    """
    from fannctl import checkpoint, lock

    target = request.output or request.network
    command = request.command or _command("train_file")
    every = checkpoint.parse_every(request.checkpoint_every)
    if (every or request.resume) and _network_format(target) != "hdf5":
        raise ParameterError(
            f"{os.fspath(target)}: --checkpoint-every and --resume need an HDF5 file "
            "(.h5): a .net file keeps no training state"
        )
    with lock.writer_lock(target, command) as held:
        outcome = _train_locked(request, target, command, every, on_report, should_stop)
    outcome.lock_note = held.taken_over
    return outcome


def _network_format(path: PathLike) -> str:
    from fannctl import io

    return io.network_format(path)


def _train_locked(request, target, command, every, on_report, should_stop) -> TrainOutcome:
    from fannctl import checkpoint, devices, metrics, provenance
    from fannctl import data as data_mod
    from fannctl import train as train_mod
    from fannctl.params import ALGORITHMS

    record = None
    if request.resume:
        net, previous = _open_for_training(target, None, request.dtype, request.overrides)
        record = checkpoint.resume_from(net, os.fspath(target), request.max_epochs)
    else:
        net, previous = _open_for_training(
            request.network, request.output, request.dtype, request.overrides
        )
    train_mod.start_fresh_if_changed(net, previous)
    if request.output_activation is not None:
        _set_output_activation(net, request.output_activation)
    _check_expressible(net, target)
    data, test_data = _load_sets(net, request.data, request.test_data, request.output_columns)
    data, test_data, weights = _workflow_sets(request, data, test_data)
    if record is None:
        if request.scale_inputs or request.scale_outputs:
            data_mod.set_scaling_params(net, data, request.scale_inputs, request.scale_outputs)
        train_mod.seed_generator(net, request.seed)
    train_mod.check_trainable(net)
    config = train_mod.TrainConfig(
        request.max_epochs,
        request.desired_error,
        request.report_every,
        start_epoch=record.epochs_done if record else 0,
        checkpoint_every=every,
        allow_nan=request.allow_nan,
        patience=request.patience,
        keep_best=bool(request.patience) if request.keep_best is None else request.keep_best,
    )
    train_mod.check_config(config)
    train_mod.check_beyond_fann(net, weights)
    offset = record.offset if record else provenance.total_epochs(net)
    host_only = train_mod.uses_beyond_fann(net, weights)
    backend = devices.resolve("numpy" if host_only else request.device)
    algorithm = ALGORITHMS[net.params.training_algorithm]
    saver = checkpoint.Checkpointer(
        net,
        target,
        max_epochs=request.max_epochs,
        offset=offset,
        command=command,
        algorithm=algorithm,
        device=backend.name,
    )
    if every:
        saver(config.start_epoch, [])  # the run's start: --resume works from here on
    metrics.warn_targets_outside_range(net, data)  # the guard rails, after every check
    metrics.warn_inputs_outside_range(net, data)
    result = train_mod.train(
        net,
        data,
        config,
        backend=backend,
        on_report=on_report,
        test_data=test_data,
        should_stop=should_stop,
        on_checkpoint=saver if every else None,
        sample_weights=weights,
    )
    if result.stopped and _network_format(target) == "hdf5":
        saver(result.epochs, result.history, reason="interrupted")
    else:
        net.state.run = None
        provenance.add_history(net, result.history, algorithm, offset, backend.name)
        _record_and_save(
            net,
            command,
            request.data,
            target,
            request.seed,
            epochs=result.epochs - config.start_epoch,
            epochs_total=offset + result.epochs,
            device=backend.name,
            **_workflow_record(request, result),
        )
    tested = [report for report in result.history if report.test_mse is not None]
    return TrainOutcome(
        os.fspath(target),
        net,
        result.epochs,
        result.mse,
        result.bit_fail,
        result.reached,
        result.seconds,
        backend.name,
        result.history,
        stopped=result.stopped,
        diverged=result.diverged,
        kept_epoch=result.kept_epoch,
        best_epoch=result.best_epoch,
        best_test_mse=result.best_test_mse,
        early_stopped=result.early_stopped,
        test_mse=tested[-1].test_mse if tested else None,
        test_bit_fail=tested[-1].test_bit_fail if tested else None,
        host_only=host_only,
    )


def _workflow_record(request: TrainRequest, result) -> dict[str, object]:
    """Provenance extras of a run with a test set, split or sample weights."""
    extra: dict[str, object] = {}
    if request.validation_split is not None:
        extra["validation_split"] = request.validation_split
    if request.sample_weights is not None:
        extra["sample_weights"] = os.path.basename(os.fspath(request.sample_weights))
    if result.best_epoch is not None:
        extra["best_epoch"], extra["best_test_mse"] = result.best_epoch, result.best_test_mse
        extra["kept_epoch"] = result.kept_epoch
    return extra


def crossval_file(request: TrainRequest) -> CrossValResult:
    """K-fold cross-validation of a training run (``train --cv K``): the folds train
    in one batched computation (``fannctl.crossval``); the network file is not changed."""
    from fannctl import crossval, io
    from fannctl import data as data_mod

    if request.cv is None:
        raise ParameterError("crossval_file needs cv (the number of folds)")
    if request.test_data is not None or request.validation_split is not None:
        raise ParameterError("--cv makes its own test folds: drop --test/--validation-split")
    if request.patience or request.keep_best or request.resume or request.checkpoint_every:
        raise ParameterError(
            "--cv runs every fold for --max-epochs: no --patience, --keep-best, "
            "--resume or --checkpoint-every"
        )
    net = io.open_network(request.network, request.dtype)
    net.params = request.overrides.apply(net.params)
    if request.output_activation is not None:
        _set_output_activation(net, request.output_activation)
    data, _ = _load_sets(net, request.data, None, request.output_columns)
    data, _, weights = _workflow_sets(request, data, None)
    if request.scale_inputs or request.scale_outputs:
        data_mod.set_scaling_params(net, data, request.scale_inputs, request.scale_outputs)
    return crossval.cross_validate(
        net, data, request.cv, epochs=request.max_epochs, seed=request.seed, sample_weights=weights
    )


def _set_output_activation(net: Network, name: str) -> None:
    """Give every output neuron the function ``name`` (``train --output-activation``)."""
    from fannctl.activations import activation_id
    from fannctl.network import validate

    first = int(net.layer_first()[-1])
    net.activation[first : first + net.num_output] = activation_id(name)
    validate(net)


def _check_expressible(net: Network, target: PathLike) -> None:
    """Refuse, before any work, a .net target for a network FANN's format cannot hold."""
    from fannctl.io import fann_net

    if _network_format(target) == "fann":
        fann_net.check_expressible(net, os.fspath(target))


def _workflow_sets(
    request: TrainRequest, data: TrainingData, test_data: TrainingData | None
) -> tuple[TrainingData, TrainingData | None, np.ndarray | None]:
    """The sample weights and the validation split (``fannctl.workflow``)."""
    from fannctl import workflow

    weights = None
    if request.sample_weights is not None:
        weights = workflow.load_sample_weights(request.sample_weights, request.sample_weight_column)
        if weights.size != data.num_patterns:
            raise ParameterError(
                f"{os.fspath(request.sample_weights)}: {weights.size} sample weights for "
                f"{data.num_patterns} patterns in {os.fspath(request.data)}"
            )
    elif request.sample_weight_column is not None:
        raise ParameterError("--sample-weight-column needs --sample-weights FILE")
    if request.validation_split is not None:
        if test_data is not None:
            raise ParameterError("--test and --validation-split cannot be combined")
        data, test_data, weights = workflow.validation_split(
            data, request.validation_split, request.seed, weights
        )
    return data, test_data, weights


# -- cascade -------------------------------------------------------------------------


@dataclass
class CascadeRequest:
    """Grow a shortcut network with Cascade2 (``fann_cascadetrain_on_data``) and save it."""

    network: PathLike
    data: PathLike
    output: PathLike | None = None
    overrides: ParamOverrides = field(default_factory=ParamOverrides)
    max_neurons: int = 30
    desired_error: float = 0.0001
    neurons_between_reports: int = 1  # 0: no report points
    fix_quirks: bool = False  # each output its own candidate weight (FANN 2.2 reverses them)
    test_data: PathLike | None = None  # MSE and bit fail on this set at the end
    seed: int | None = None
    dtype: str | None = None
    device: str | None = "numpy"  # where the candidate epochs' elementwise work runs
    command: str | None = None
    checkpoint_every: str | None = None  # save as it grows: every N neurons, or a time (30s)
    resume: bool = False  # continue the interrupted growth the target file holds
    validation_split: float | None = None  # hold out this fraction of data as the test set
    patience: int = 0  # stop when the test MSE has not improved for N report points
    keep_best: bool | None = None  # end with the best report point's network (None: if patience)


@dataclass
class CascadeOutcome:
    """How the growth ended, and the test set's figures when one was given."""

    path: str
    network: Network
    neurons_added: int
    mse: float
    bit_fail: int
    reached: bool
    epochs: int
    seconds: float
    device: str
    history: list[CascadeReport] = field(default_factory=list)  # one per report point
    test_mse: float | None = None
    test_bit_fail: int | None = None
    stopped: bool = False  # a stop request ended the growth; the neurons so far are saved
    lock_note: str | None = None  # a stale lock of a dead run was taken over
    best_neurons: int | None = None  # with a test set: the report point of lowest test MSE
    best_test_mse: float | None = None
    early_stopped: bool = False  # --patience ended the growth
    kept_neurons: int | None = None  # neurons (of this run) in the saved network

    def to_dict(self) -> dict[str, object]:
        """The document ``fannctl cascade --json`` prints."""
        out: dict[str, object] = {
            "neurons_added": self.neurons_added,
            "mse": self.mse,
            "bit_fail": self.bit_fail,
            "reached": self.reached,
            "epochs": self.epochs,
            "seconds": self.seconds,
            "device": self.device,
            "history": [report.to_dict() for report in self.history],
        }
        if self.test_mse is not None:
            out["test_mse"], out["test_bit_fail"] = self.test_mse, self.test_bit_fail
        if self.best_neurons is not None:
            out["best_test_mse"], out["best_neurons"] = self.best_test_mse, self.best_neurons
            out["kept_neurons"], out["early_stopped"] = self.kept_neurons, self.early_stopped
        return out


class _EarlyStop(Exception):
    """Raised from the report callback when cascade's patience runs out."""


class _CascadeWatch:
    """Cascade's report points against a test set: the test error on each (the
    network is then as the report describes it), patience, and the best network."""

    def __init__(self, net: Network, test_data: TrainingData, patience: int, keep: bool):
        from fannctl.train import TrainConfig, _Best

        self.net, self.test_data = net, test_data
        self.best = _Best(TrainConfig(patience=patience, keep_best=False))
        self.keep = keep
        self.best_net: Network | None = None
        self.seen: list[CascadeReport] = []

    def wrap(self, on_report):
        from fannctl import runner
        from fannctl.train import Report

        def report(item: CascadeReport) -> None:
            item.test_mse, item.test_bit_fail = runner.test(self.net, self.test_data)
            self.seen.append(item)
            if on_report is not None:
                on_report(item)
            before = self.best.epoch
            point = Report(item.neurons, item.mse, item.bit_fail, 0.0, item.test_mse, 0)
            exhausted = self.best.update(point, self.net.weights)
            if self.keep and self.best.epoch != before:
                self.best_net = copy.deepcopy(self.net)
            if exhausted:
                raise _EarlyStop

        return report

    def restore(self) -> bool:
        """Put the best report point's network back (keep-best); whether it changed."""
        if self.best_net is None or not self.seen or self.best.epoch == self.seen[-1].neurons:
            return False
        for name in [f.name for f in dataclasses.fields(Network)]:
            if name not in ("history", "provenance"):
                setattr(self.net, name, getattr(self.best_net, name))
        return True


def cascade_file(
    request: CascadeRequest,
    *,
    on_report: Callable[[CascadeReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CascadeOutcome:
    """Grow a network file as ``fannctl cascade`` does; ``on_report`` gets each report point.

    The target is locked for the run (``fannctl.lock``); when ``should_stop()``
    turns true the growth ends once the neuron in progress is installed, and
    the target holds a checkpoint that ``resume=True`` continues
    (``outcome.stopped``).
    """
    from fannctl import checkpoint, lock

    command = request.command or _command("cascade_file")
    target = request.output or request.network
    if (request.checkpoint_every or request.resume) and _network_format(target) != "hdf5":
        raise ParameterError(
            f"{os.fspath(target)}: --checkpoint-every and --resume need an HDF5 file "
            "(.h5): a .net file keeps no run record"
        )
    checkpoint.parse_every(request.checkpoint_every, "--checkpoint-every")
    with lock.writer_lock(request.output or request.network, command) as held:
        outcome = _cascade_locked(request, command, on_report, should_stop)
    outcome.lock_note = held.taken_over
    return outcome


def _cascade_locked(request, command, on_report, should_stop) -> CascadeOutcome:
    from fannctl import checkpoint, provenance, runner
    from fannctl.cascade import (
        CascadeConfig,
        CascadeProgress,
        CascadeResult,
        cascade_train,
        check_cascadable,
        check_cascade_config,
    )

    target = request.output or request.network
    record = resume = None
    if request.resume:
        net, _ = _open_for_training(target, None, request.dtype, request.overrides)
        record = checkpoint.resume_from(net, os.fspath(target), request.max_neurons, "cascade")
        try:
            resume = CascadeProgress(
                record.epochs_done, int(record.state["epochs"]), dict(record.state["rng_state"])
            )
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{os.fspath(target)}: broken cascade run record") from None
    else:
        net, _ = _open_for_training(
            request.network, request.output, request.dtype, request.overrides
        )
    check_cascadable(net)
    data, test_data = _load_sets(net, request.data, request.test_data, None)
    if request.validation_split is not None:
        if test_data is not None:
            raise ParameterError("--test and --validation-split cannot be combined")
        from fannctl import workflow

        data, test_data, _ = workflow.validation_split(data, request.validation_split, request.seed)
    keep = bool(request.patience) if request.keep_best is None else request.keep_best
    if request.patience < 0:
        raise ParameterError(f"--patience must be at least 0, got {request.patience}")
    if (request.patience or keep) and test_data is None:
        raise ParameterError("--patience and --keep-best need a test set (--test or a split)")
    if request.patience and not request.neurons_between_reports:
        raise ParameterError("--patience counts report points: --neurons-between-reports 0")
    watch = None if test_data is None else _CascadeWatch(net, test_data, request.patience, keep)
    config = CascadeConfig(
        request.max_neurons,
        request.desired_error,
        request.neurons_between_reports,
        request.fix_quirks,
    )
    check_cascade_config(config)
    offset = record.offset if record else provenance.total_epochs(net)
    algorithm = net.params.algorithm_name

    def save(progress: CascadeProgress, reason: str = "checkpoint") -> None:
        state = {"epochs": progress.epochs, "rng_state": progress.rng_state}
        run = checkpoint.RunRecord(
            progress.neurons,
            request.max_neurons,
            offset,
            command,
            checkpoint.now(),
            reason,
            "cascade",
            state,
        )
        checkpoint.save_checkpoint(net, target, run, progress.history, algorithm=algorithm)

    every = checkpoint.parse_every(request.checkpoint_every)
    if every and resume is None:
        save(CascadeProgress(0, 0, np.random.default_rng(request.seed).bit_generator.state))
    try:
        result = cascade_train(
            net,
            data,
            config,
            seed=request.seed,
            on_report=on_report if watch is None else watch.wrap(on_report),
            device=request.device,
            should_stop=should_stop,
            on_checkpoint=save if every else None,
            checkpoint_every=every,
            resume=resume,
        )
    except _EarlyStop:
        assert watch is not None
        last = watch.seen[-1]
        result = CascadeResult(
            last.neurons,
            last.mse,
            last.bit_fail,
            False,
            last.epochs,
            last.seconds,
            list(watch.seen),
            str(request.device or "auto"),  # where the candidates ran: not told here
        )
    kept = None
    if watch is not None and not result.stopped:
        kept = result.neurons_added
        if keep and watch.restore():
            kept = watch.best.epoch
            best = next(r for r in watch.seen if r.neurons == kept)
            result.mse, result.bit_fail = best.mse, best.bit_fail
            result.reached, result.neurons_added = False, kept
    if result.stopped and result.progress is not None:
        save(result.progress, "interrupted")
        return CascadeOutcome(
            os.fspath(target),
            net,
            result.neurons_added,
            result.mse,
            result.bit_fail,
            False,
            result.epochs,
            result.seconds,
            result.device,
            result.history,
            stopped=True,
        )
    net.state.run = None
    provenance.add_cascade_history(net, result.history, algorithm, offset)
    _record_and_save(
        net,
        command,
        request.data,
        target,
        request.seed,
        neurons_added=result.neurons_added,
        epochs_total=offset + result.epochs,
        device=result.device,
    )
    outcome = CascadeOutcome(
        os.fspath(target),
        net,
        result.neurons_added,
        result.mse,
        result.bit_fail,
        result.reached,
        result.epochs,
        result.seconds,
        result.device,
        result.history,
    )
    if test_data is not None:
        outcome.test_mse, outcome.test_bit_fail = runner.test(net, test_data)
    if watch is not None and watch.best.epoch is not None:
        outcome.best_neurons, outcome.best_test_mse = watch.best.epoch, watch.best.mse
        outcome.early_stopped, outcome.kept_neurons = watch.best.exhausted, kept
    return outcome


# -- run -----------------------------------------------------------------------------


@dataclass
class RunRequest:
    """Run ``network`` on the patterns of ``inputs`` (a file, or ``-`` for stdin).

    With ``metrics`` the input must be labelled (a FANN ``.data`` file) and
    the outcome holds FANN's test MSE and bit fail (``fann_test_data``)
    instead of the outputs.
    """

    network: PathLike
    inputs: PathLike = "-"
    metrics: bool = False
    dtype: str | None = None
    device: str | None = "numpy"


@dataclass
class RunOutcome:
    """Outputs (patterns, outputs) with the network's scaling undone, or test metrics."""

    patterns: int
    device: str
    outputs: np.ndarray | None = None
    mse: float | None = None
    bit_fail: int | None = None

    def metrics(self) -> dict[str, object]:
        """What ``fannctl run --metrics --json`` prints."""
        return {"mse": self.mse, "bit_fail": self.bit_fail, "patterns": self.patterns}


@dataclass
class RunSession:
    """An opened network and its backend, answering a stream block by block.

    For a streaming front end that reads its own blocks (it needs the
    network's input and output counts to parse them): ``open_run`` once, then
    ``outputs`` or ``metrics`` over the blocks.
    """

    request: RunRequest
    network: Network
    backend: Backend

    def outputs(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Each block's outputs, yielded before the next block is taken."""
        return run_blocks(self.request, blocks, session=self)

    def block_outputs(self, blocks: Iterable) -> Iterator[np.ndarray]:
        """Each block's outputs, in order, for ``stream.read_blocks(...,
        defer_checks=True)``: text blocks (a file, a pipe) one at a time, each
        answered before the next is read; a stored array's blocks checked and run
        by ``threads.count()`` threads at once where the backend allows it."""
        return run_stored_blocks(self, blocks)

    def metrics(self, blocks: Iterable[tuple[np.ndarray, np.ndarray]]) -> RunOutcome:
        """FANN's test MSE and bit fail over (inputs, desired outputs) blocks."""
        return metrics_blocks(self.request, blocks, session=self)


def open_run(request: RunRequest) -> RunSession:
    """Open the network (in ``request.dtype``) and resolve ``request.device``, once."""
    from fannctl import devices, io

    net = io.open_network(request.network, request.dtype)
    softmax = bool(np.any(net.activation == SOFTMAX))  # fannctl's own: numpy computes it
    return RunSession(request, net, devices.resolve("numpy" if softmax else request.device))


def _open_for_running(request: RunRequest) -> tuple[Network, Backend]:
    session = open_run(request)
    return session.network, session.backend


def run_file(request: RunRequest) -> RunOutcome:
    """Outputs for every pattern of the input (or its test metrics), all read at once."""
    from fannctl import io, runner

    net, backend = _open_for_running(request)
    inputs, outputs = io.read_inputs(request.inputs, net.num_input)
    if request.metrics:
        if outputs is None:
            raise ParameterError(
                f"{request.inputs}: --metrics needs labelled data (a FANN .data file)"
            )
        data = TrainingData(inputs, outputs, os.fspath(request.inputs))
        mse, bit_fail = runner.test(net, data, backend=backend)
        return RunOutcome(data.num_patterns, backend.name, mse=mse, bit_fail=bit_fail)
    values = runner.run(net, inputs, backend=backend)
    return RunOutcome(values.shape[0], backend.name, outputs=values)


def run_blocks(
    request: RunRequest, blocks: Iterable[np.ndarray], *, session: RunSession | None = None
) -> Iterator[np.ndarray]:
    """Outputs for each block of input rows as it comes (a stream): the network opens
    once (or comes opened in ``session``), ``request.inputs`` is not read, and each
    block's outputs are yielded before the next block is taken."""
    from fannctl import runner

    session = session or open_run(request)
    net, backend = session.network, session.backend
    for block in blocks:
        yield runner.run(net, block, backend=backend)


# Blocks of a stored array in flight per worker thread: enough that a worker
# never waits for the next block's hand-off, few enough to stay in cache.
_BLOCKS_AHEAD = 2


def run_stored_blocks(session: RunSession, blocks: Iterable) -> Iterator[np.ndarray]:
    """``RunSession.block_outputs``: blocks with a ``take()`` (``stream.Block``,
    ``stream.StoredBlock``); outputs in the blocks' order.

    A stored array's blocks go to a pool of ``threads.count()`` threads, each
    checking its block (the first pass over its rows from memory) and running
    it with BLAS on one thread: on two cores, two whole blocks at a time beat
    one block whose products use two BLAS threads (bench/NOTES.md). The pool is
    used only for ``StoredBlock``, whose ``take()`` never waits for input, so a
    pipe's lines are still answered as they come.
    """
    import collections
    from concurrent.futures import ThreadPoolExecutor

    from fannctl import runner, stream, threads

    net, backend = session.network, session.backend

    def compute(block) -> np.ndarray:
        return runner.run(net, block.take().inputs, backend=backend)

    blocks = iter(blocks)
    first = next(blocks, None)
    if first is None:
        return
    workers = threads.count()
    if (
        workers < 2
        or not isinstance(first, stream.StoredBlock)
        or not getattr(backend, "concurrent_forward", False)
    ):
        yield compute(first)
        for block in blocks:
            yield compute(block)
        return
    pending: collections.deque = collections.deque()
    with ThreadPoolExecutor(workers) as pool, threads.blas_limit(1):
        try:
            pending.append(pool.submit(compute, first))
            for block in blocks:
                pending.append(pool.submit(compute, block))
                if len(pending) >= workers * _BLOCKS_AHEAD:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # an error or a closed consumer: stop what has not begun
                future.cancel()


def metrics_blocks(
    request: RunRequest,
    blocks: Iterable[tuple[np.ndarray, np.ndarray]],
    *,
    session: RunSession | None = None,
) -> RunOutcome:
    """FANN's test MSE and bit fail over a stream of (inputs, desired outputs) blocks.

    The squared errors are summed over the blocks, so the MSE equals
    ``run_file``'s up to the order of that sum.
    """
    from fannctl.data import check_fits, scale_data
    from fannctl.fann_error import mse, output_errors

    session = session or open_run(request)
    net, backend = session.network, session.backend
    source = os.fspath(request.inputs)
    sse, count, bit_fail, patterns = 0.0, 0, 0, 0
    for inputs, targets in blocks:
        data = TrainingData(np.asarray(inputs), np.asarray(targets), source)
        if data.num_patterns == 0:
            continue
        check_fits(net, data)
        scaled = scale_data(net, data.astype(net.dtype))
        outputs = backend.forward(net, scaled.inputs)
        _, sse, block_count, block_fail = output_errors(net, outputs, scaled.outputs, start=sse)
        count += block_count  # FANN's one float sum goes on across blocks (start=sse)
        bit_fail += block_fail
        patterns += data.num_patterns
    if not patterns:
        raise FormatError(f"{source}: no patterns")
    return RunOutcome(patterns, backend.name, mse=mse(sse, count), bit_fail=bit_fail)


# -- convert and info ----------------------------------------------------------------


@dataclass
class ConvertRequest:
    """Write ``source`` in the format ``target``'s extension names (.h5/.hdf5 or .net)."""

    source: PathLike
    target: PathLike
    dtype: str | None = None


@dataclass
class ConvertOutcome:
    path: str
    network: Network


def convert_file(request: ConvertRequest) -> ConvertOutcome:
    """Convert a network file as ``fannctl convert`` does (a .net keeps no training state)."""
    from fannctl import io, lock

    io.check_network_target(request.target)
    net = io.open_network(request.source, request.dtype)
    _check_expressible(net, request.target)
    with lock.writer_lock(request.target, _command("convert_file")):
        io.save_network(net, request.target)
    return ConvertOutcome(os.fspath(request.target), net)


@dataclass
class DescribeRequest:
    """Describe the network file ``network`` (``fannctl info``)."""

    network: PathLike


@dataclass
class DescribeOutcome:
    """A plain-data description (``summary.describe``): what ``info --json`` prints."""

    summary: dict
    network: Network


def describe_file(request: DescribeRequest) -> DescribeOutcome:
    """Layers, connections, activations, parameters, scaling, history and provenance."""
    from fannctl import io
    from fannctl.summary import describe

    net = io.open_network(request.network)
    path = os.fspath(request.network)
    return DescribeOutcome(describe(net, path, io.detect_format(request.network)), net)
