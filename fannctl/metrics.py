"""Task metrics for a trained network: classification or regression, beside FANN's MSE.

Classification: accuracy, per-class precision and recall, the confusion matrix.
With several outputs a pattern's class is the index of its largest value
(argmax); with one output it is 1 when the value reaches the midpoint of the
output function's range (0.5 for sigmoid, 0 for sigmoid_symmetric), else 0.
These are computed in the network's own (scaled) space, where that range holds.

Regression: MSE, RMSE, MAE and R² per output and overall, in the data's own
units (outputs descaled as ``run`` prints them). Overall R² is
1 - ΣSS_res / ΣSS_tot over all outputs (each about its own mean).

FANN's MSE (error halved for symmetric outputs, ``fann_test_data``) and bit
fail are always reported beside these. ``task="auto"`` picks classification
when the targets are one-hot (several outputs) or binary (one output) at the
ends of the output function's range (at 0/1 or -1/1 for an unbounded one,
such as linear). Everything is summed block by block, so ``run`` can stream.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from fannctl import activations as act
from fannctl.data import TrainingData, check_fits, descale_outputs, scale_inputs, scale_outputs
from fannctl.errors import FormatError, ParameterError
from fannctl.network import Network

TASKS = ("auto", "classify", "regress")
INF = math.inf

_UNIT = (0.0, 1.0)
_SYMMETRIC_UNIT = (-1.0, 1.0)
OUTPUT_RANGES: dict[int, tuple[float, float]] = {
    act.LINEAR: (-INF, INF),
    act.THRESHOLD: _UNIT,
    act.THRESHOLD_SYMMETRIC: _SYMMETRIC_UNIT,
    act.SIGMOID: _UNIT,
    act.SIGMOID_STEPWISE: _UNIT,
    act.SIGMOID_SYMMETRIC: _SYMMETRIC_UNIT,
    act.SIGMOID_SYMMETRIC_STEPWISE: _SYMMETRIC_UNIT,
    act.GAUSSIAN: _UNIT,
    act.GAUSSIAN_SYMMETRIC: _SYMMETRIC_UNIT,
    act.GAUSSIAN_STEPWISE: (0.0, 0.0),  # FANN never implemented it: always 0
    act.ELLIOT: _UNIT,
    act.ELLIOT_SYMMETRIC: _SYMMETRIC_UNIT,
    act.LINEAR_PIECE: _UNIT,
    act.LINEAR_PIECE_SYMMETRIC: _SYMMETRIC_UNIT,
    act.SIN_SYMMETRIC: _SYMMETRIC_UNIT,
    act.COS_SYMMETRIC: _SYMMETRIC_UNIT,
    act.SIN: _UNIT,
    act.COS: _UNIT,
    act.RELU: (0.0, INF),
    act.LEAKY_RELU: (-INF, INF),
    act.SOFTMAX: _UNIT,
}
"""The closed range of values each activation function can output (FANN id -> low, high)."""


def output_range(ident: int) -> tuple[float, float]:
    """The (low, high) an activation function's values lie in; ±inf where unbounded."""
    return OUTPUT_RANGES[int(ident)]


# ---------------------------------------------------------------- guard rail


def targets_outside_range(net: Network, data: TrainingData) -> str | None:
    """A one-line warning when desired outputs lie outside what the output functions reach.

    Targets are compared in the network's space (after its stored output
    scaling), as training sees them. Returns None when every target is reachable.
    """
    targets = scale_outputs(net, np.asarray(data.outputs, dtype=np.float64))
    if targets.size == 0:
        return None
    name = data.source or "the data"
    for index, ident in enumerate(net.output_activation()):
        low, high = output_range(int(ident))
        column = targets[:, index]
        below = column < low
        above = column > high
        if not (below.any() or above.any()):
            continue
        count = int(np.count_nonzero(below | above))
        worst = float(column.min()) if below.any() else float(column.max())
        where = f"output {index + 1} " if net.num_output > 1 else ""
        return (
            f"{name}: {count} of {column.size} {where}targets lie outside the output "
            f"function's range ({act.activation_name(int(ident))}: {_range_text(low, high)}; "
            f"one is {worst:g}); the network cannot learn them (pick an output activation "
            "that reaches them, e.g. --output-activation sigmoid_symmetric for -1..1, "
            "or linear)"
        )
    return None


class TargetRangeWarning(UserWarning):
    """Desired outputs lie outside what the network's output functions can produce."""


def inputs_outside_range(net: Network, data: TrainingData) -> str | None:
    """A one-line warning when inputs lie far outside the range the network's input
    scaling was computed on (stored as ``scaling.input_range`` when ``--scale-inputs``
    set it): beyond either end by more than that range's own width. None otherwise,
    and for networks without a stored range."""
    scaling = net.scaling
    if scaling is None or scaling.input_range is None or data.num_patterns == 0:
        return None
    low, high = scaling.input_range
    width = np.where(high > low, high - low, np.maximum(np.abs(high), 1.0))
    seen_low, seen_high = data.inputs.min(axis=0), data.inputs.max(axis=0)
    far = np.flatnonzero((seen_low < low - width) | (seen_high > high + width))
    if far.size == 0:
        return None
    first = int(far[0])
    more = f" (and {far.size - 1} more)" if far.size > 1 else ""
    return (
        f"{data.source or 'the data'}: input {first + 1}{more} spans "
        f"{_range_text(float(seen_low[first]), float(seen_high[first]))}, far outside the "
        f"{_range_text(float(low[first]), float(high[first]))} the network was scaled for; "
        "its outputs there are extrapolation (rescale with --scale-inputs on data like this)"
    )


def warn_inputs_outside_range(net: Network, data: TrainingData) -> str | None:
    """Issue :func:`inputs_outside_range`'s message (if any) through ``warnings``."""
    message = inputs_outside_range(net, data)
    if message is not None:
        warnings.warn(message, TargetRangeWarning, stacklevel=2)
    return message


def warn_targets_outside_range(net: Network, data: TrainingData) -> str | None:
    """Issue :func:`targets_outside_range`'s message (if any) through ``warnings``, once.

    Training calls this before it starts; the CLI renders it as one stderr line.
    """
    message = targets_outside_range(net, data)
    if message is not None:
        warnings.warn(message, TargetRangeWarning, stacklevel=2)
    return message


def _range_text(low: float, high: float) -> str:
    return f"{low:g}..{high:g}"


# ---------------------------------------------------------------- the metrics

Levels = tuple[float, float]
TARGET_LEVELS: tuple[Levels, ...] = ((0.0, 1.0), (-1.0, 1.0))


def is_class_target(targets: np.ndarray, levels: Levels | None) -> bool:
    """Whether targets are one-hot (several outputs) or binary (one output) at ``levels``."""
    if levels is None or targets.size == 0:
        return False
    off, on = levels
    at_on = targets == on
    if not (at_on | (targets == off)).all():
        return False
    if targets.shape[1] == 1:
        return True
    return bool((at_on.sum(axis=1) == 1).all())


def class_labels(values: np.ndarray, threshold: float) -> np.ndarray:
    """Class per row: argmax over several columns, ``value >= threshold`` for one."""
    if values.shape[1] == 1:
        return (values[:, 0] >= threshold).astype(np.int64)
    return np.argmax(values, axis=1).astype(np.int64)


@dataclass
class ClassMetrics:
    """Accuracy, per-class precision/recall and the confusion matrix (rows: true class)."""

    confusion: np.ndarray

    @property
    def correct(self) -> int:
        return int(np.trace(self.confusion))

    @property
    def accuracy(self) -> float:
        total = int(self.confusion.sum())
        return self.correct / total if total else 0.0

    @property
    def support(self) -> list[int]:
        return self.confusion.sum(axis=1).astype(int).tolist()

    @property
    def precision(self) -> list[float | None]:
        return _ratios(np.diag(self.confusion), self.confusion.sum(axis=0))

    @property
    def recall(self) -> list[float | None]:
        return _ratios(np.diag(self.confusion), self.confusion.sum(axis=1))

    def to_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "correct": self.correct,
            "confusion_matrix": self.confusion.astype(int).tolist(),
            "classes": [
                {"class": k, "support": s, "precision": p, "recall": r}
                for k, (s, p, r) in enumerate(
                    zip(self.support, self.precision, self.recall, strict=True)
                )
            ],
        }


def _ratios(parts: np.ndarray, wholes: np.ndarray) -> list[float | None]:
    return [float(p) / float(w) if w else None for p, w in zip(parts, wholes, strict=True)]


class _ClassCounts:
    """The confusion matrix for one choice of class levels, block by block."""

    def __init__(self, levels: Levels, width: int) -> None:
        self.levels = levels
        self.threshold = (levels[0] + levels[1]) / 2.0
        self.matches = True  # every target so far is a class target at these levels
        classes = max(2, width)
        self.confusion = np.zeros((classes, classes), dtype=np.int64)

    def add(self, outputs: np.ndarray, targets: np.ndarray) -> None:
        self.matches = self.matches and is_class_target(targets, self.levels)
        classes = self.confusion.shape[0]
        cells = class_labels(targets, self.threshold) * classes
        cells += class_labels(outputs, self.threshold)
        self.confusion += np.bincount(cells, minlength=classes * classes).reshape(classes, -1)


def classification(outputs: np.ndarray, targets: np.ndarray, levels: Levels) -> ClassMetrics:
    """Classification metrics of outputs against class targets at ``levels`` (off, on)."""
    counts = _ClassCounts(levels, targets.shape[1])
    counts.add(outputs, targets)
    return ClassMetrics(counts.confusion)


@dataclass
class RegressionMetrics:
    """MSE, RMSE, MAE and R² overall and per output (R² None where a target is constant)."""

    mse: float
    rmse: float
    mae: float
    r2: float | None
    per_output: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "mean_squared_error": self.mse,
            "rmse": self.rmse,
            "mae": self.mae,
            "r2": self.r2,
            "outputs": self.per_output,
        }


class _RegressionSums:
    """Sums for MSE, MAE and R², block by block (targets shifted by their first row,
    so that SS_tot = Σd² - (Σd)²/n keeps its digits)."""

    def __init__(self, width: int) -> None:
        self.rows = 0
        self.squared = np.zeros(width)
        self.absolute = np.zeros(width)
        self.shift: np.ndarray | None = None
        self.sum = np.zeros(width)
        self.sum_squares = np.zeros(width)

    def add(self, outputs: np.ndarray, targets: np.ndarray) -> None:
        y = np.asarray(targets, dtype=np.float64)
        if y.shape[0] == 0:
            return
        error = np.asarray(outputs, dtype=np.float64) - y
        self.squared += (error * error).sum(axis=0)
        self.absolute += np.abs(error).sum(axis=0)
        if self.shift is None:
            self.shift = y[0].copy()
        d = y - self.shift
        self.sum += d.sum(axis=0)
        self.sum_squares += (d * d).sum(axis=0)
        self.rows += y.shape[0]

    def metrics(self) -> RegressionMetrics:
        rows = max(self.rows, 1)
        total = np.maximum(self.sum_squares - self.sum * self.sum / rows, 0.0)
        per_output = []
        for k in range(self.squared.size):
            mse = float(self.squared[k] / rows)
            per_output.append(
                {
                    "output": k,
                    "mean_squared_error": mse,
                    "rmse": math.sqrt(mse),
                    "mae": float(self.absolute[k] / rows),
                    "r2": _r2(float(self.squared[k]), float(total[k])),
                }
            )
        values = rows * self.squared.size
        mse = float(self.squared.sum() / values)
        return RegressionMetrics(
            mse=mse,
            rmse=math.sqrt(mse),
            mae=float(self.absolute.sum() / values),
            r2=_r2(float(self.squared.sum()), float(total.sum())),
            per_output=per_output,
        )


def regression(outputs: np.ndarray, targets: np.ndarray) -> RegressionMetrics:
    """Regression metrics of outputs against targets (both 2-D, patterns x outputs)."""
    sums = _RegressionSums(targets.shape[1])
    sums.add(outputs, targets)
    return sums.metrics()


def _r2(residual: float, total: float) -> float | None:
    return 1.0 - residual / total if total > 0 else None


@dataclass
class Evaluation:
    """What ``run --metrics`` reports: FANN's MSE and bit fail, and the task's metrics."""

    mse: float
    bit_fail: int
    patterns: int
    task: str
    classes: ClassMetrics | None = None
    regress: RegressionMetrics | None = None

    def to_dict(self) -> dict:
        result: dict = {
            "mse": self.mse,
            "bit_fail": self.bit_fail,
            "patterns": self.patterns,
            "task": self.task,
        }
        if self.classes is not None:
            result.update(self.classes.to_dict())
        if self.regress is not None:
            result.update(self.regress.to_dict())
        return result


class TaskMetrics:
    """FANN's MSE and bit fail and the task metrics of a network, fed a block at a time.

    ``add`` takes the network's outputs (its own, scaled space) and the raw
    desired outputs of one block of patterns; ``result`` picks the task
    (``auto``: classify when every target was one-hot or binary at the ends of
    the output function's range, or at 0/1 or -1/1 for an unbounded one) and
    returns the :class:`Evaluation`. Memory does not grow with the patterns.
    """

    def __init__(self, net: Network, task: str = "auto") -> None:
        if task not in TASKS:
            raise ParameterError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
        self.net = net
        self.task = task
        low, high = output_range(int(net.output_activation()[0]))
        bounded = math.isfinite(low) and math.isfinite(high) and low < high
        self.range_levels: Levels | None = (low, high) if bounded else None
        candidates = [self.range_levels] if bounded else []
        candidates += [levels for levels in TARGET_LEVELS if levels not in candidates]
        self._classes = [_ClassCounts(levels, net.num_output) for levels in candidates]
        self._regression = _RegressionSums(net.num_output)
        self.sse, self.count, self.bit_fail, self.patterns = 0.0, 0, 0, 0

    def add(self, outputs: np.ndarray, raw_targets: np.ndarray) -> None:
        """Count one block: ``outputs`` as the network computed them, targets unscaled."""
        from fannctl.fann_error import output_errors

        targets = scale_outputs(self.net, np.asarray(raw_targets, dtype=self.net.dtype))
        # FANN's sum goes on from the earlier blocks' (it rounds as the whole pass would)
        _, self.sse, count, bit_fail = output_errors(self.net, outputs, targets, start=self.sse)
        self.count += count
        self.bit_fail += bit_fail
        self.patterns += int(outputs.shape[0])
        for counts in self._classes:
            counts.add(outputs, targets)
        self._regression.add(descale_outputs(self.net, outputs), raw_targets)

    def _class_counts(self) -> _ClassCounts | None:
        """The class levels that fit the targets (the range's ends first), if any."""
        matching = [c for c in self._classes if c.matches]
        if self.task == "auto":
            if self.range_levels is not None:
                return self._classes[0] if self._classes[0].matches else None
            return matching[0] if matching else None
        if matching:
            return matching[0]
        if self.net.num_output > 1 or self.range_levels is not None:
            return self._classes[0]  # argmax, or the range's midpoint
        raise ParameterError(
            "cannot classify with one unbounded output whose targets are not 0/1 or -1/1"
        )

    def result(self) -> Evaluation:
        """FANN's MSE and bit fail, the chosen task and its metrics."""
        from fannctl.fann_error import mse

        counts = None if self.task == "regress" else self._class_counts()
        evaluation = Evaluation(
            mse=mse(self.sse, self.count),
            bit_fail=self.bit_fail,
            patterns=self.patterns,
            task="classify" if counts is not None else "regress",
        )
        if counts is not None:
            evaluation.classes = ClassMetrics(counts.confusion)
        else:
            evaluation.regress = self._regression.metrics()
        return evaluation


def evaluate_blocks(
    net: Network, blocks: Iterable, name: str, *, task: str = "auto", backend=None
) -> Evaluation:
    """``run --metrics`` over streamed blocks (objects with ``inputs`` and ``targets``)."""
    from fannctl.backends import default_backend

    engine = backend if backend is not None else default_backend()
    metrics = TaskMetrics(net, task)
    for block in blocks:
        if block.targets is None:
            raise ParameterError(f"{name}: test metrics need desired outputs in the input")
        inputs = scale_inputs(net, np.asarray(block.inputs, dtype=net.dtype))
        metrics.add(np.array(engine.forward(net, inputs)), block.targets)
    if not metrics.patterns:
        raise FormatError(f"{name}: no patterns")
    return metrics.result()


def evaluate(net: Network, data: TrainingData, *, task: str = "auto", backend=None) -> Evaluation:
    """Run ``net`` on labelled ``data`` and compute FANN's MSE/bit fail and task metrics."""
    check_fits(net, data)
    return evaluate_blocks(
        net, [data_block(data)], data.source or "data", task=task, backend=backend
    )


@dataclass
class _Block:
    inputs: np.ndarray
    targets: np.ndarray


def data_block(data: TrainingData) -> _Block:
    """A whole data set as one block for :func:`evaluate_blocks`."""
    return _Block(data.inputs, data.outputs)


__all__ = [
    "OUTPUT_RANGES",
    "TASKS",
    "ClassMetrics",
    "Evaluation",
    "RegressionMetrics",
    "TargetRangeWarning",
    "TaskMetrics",
    "class_labels",
    "classification",
    "data_block",
    "evaluate",
    "evaluate_blocks",
    "is_class_target",
    "output_range",
    "regression",
    "targets_outside_range",
    "warn_targets_outside_range",
]
