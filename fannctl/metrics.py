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
ends of the output function's range.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from fannctl import activations as act
from fannctl.data import TrainingData, check_fits, descale_outputs, scale_inputs, scale_outputs
from fannctl.errors import ParameterError
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


# ---------------------------------------------------------------- task choice


def class_levels(net_or_ident: Network | int, targets: np.ndarray) -> tuple[float, float] | None:
    """The (off, on) values of a class target: the output range's ends.

    For an unbounded output function (linear, ReLU) the targets' own two levels
    serve when they are 0/1 or -1/1. None when no levels apply.
    """
    ident = (
        int(net_or_ident.output_activation()[0])
        if isinstance(net_or_ident, Network)
        else int(net_or_ident)
    )
    low, high = output_range(ident)
    if math.isfinite(low) and math.isfinite(high) and low < high:
        return low, high
    values = set(np.unique(targets).tolist())
    for levels in ((0.0, 1.0), (-1.0, 1.0)):
        if values <= set(levels):
            return levels
    return None


def is_class_target(targets: np.ndarray, levels: tuple[float, float] | None) -> bool:
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


def choose_task(task: str, targets: np.ndarray, levels: tuple[float, float] | None) -> str:
    """Resolve ``auto`` to ``classify`` or ``regress``; check the name."""
    if task not in TASKS:
        raise ParameterError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    if task != "auto":
        return task
    return "classify" if is_class_target(targets, levels) else "regress"


# ---------------------------------------------------------------- the metrics


@dataclass
class ClassMetrics:
    """Accuracy, per-class precision/recall and the confusion matrix (rows: true class)."""

    accuracy: float
    correct: int
    confusion: np.ndarray
    precision: list[float | None] = field(default_factory=list)
    recall: list[float | None] = field(default_factory=list)

    @property
    def support(self) -> list[int]:
        return self.confusion.sum(axis=1).astype(int).tolist()

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


def class_labels(values: np.ndarray, threshold: float) -> np.ndarray:
    """Class per row: argmax over several columns, ``value >= threshold`` for one."""
    if values.shape[1] == 1:
        return (values[:, 0] >= threshold).astype(np.int64)
    return np.argmax(values, axis=1).astype(np.int64)


def classification(
    outputs: np.ndarray, targets: np.ndarray, levels: tuple[float, float] | None
) -> ClassMetrics:
    """Classification metrics of network outputs against class targets (network space)."""
    if targets.shape[1] == 1 and levels is None:
        raise ParameterError(
            "cannot classify with one unbounded output whose targets are not 0/1 or -1/1"
        )
    threshold = 0.0 if levels is None else (levels[0] + levels[1]) / 2.0
    truth = class_labels(targets, threshold)
    predicted = class_labels(outputs, threshold)
    classes = max(2, targets.shape[1])
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    correct = int(np.trace(confusion))
    total = int(confusion.sum())
    diagonal = np.diag(confusion)
    predicted_counts = confusion.sum(axis=0)
    true_counts = confusion.sum(axis=1)
    return ClassMetrics(
        accuracy=correct / total if total else 0.0,
        correct=correct,
        confusion=confusion,
        precision=[_ratio(d, n) for d, n in zip(diagonal, predicted_counts, strict=True)],
        recall=[_ratio(d, n) for d, n in zip(diagonal, true_counts, strict=True)],
    )


def _ratio(part: int, whole: int) -> float | None:
    return float(part) / float(whole) if whole else None


def regression(outputs: np.ndarray, targets: np.ndarray) -> RegressionMetrics:
    """Regression metrics of outputs against targets (both 2-D, patterns x outputs)."""
    y = np.asarray(targets, dtype=np.float64)
    error = np.asarray(outputs, dtype=np.float64) - y
    squared = (error * error).sum(axis=0)
    absolute = np.abs(error).sum(axis=0)
    deviation = y - y.mean(axis=0)
    total = (deviation * deviation).sum(axis=0)
    rows = y.shape[0]
    per_output = []
    for k in range(y.shape[1]):
        mse = float(squared[k] / rows)
        per_output.append(
            {
                "output": k,
                "mean_squared_error": mse,
                "rmse": math.sqrt(mse),
                "mae": float(absolute[k] / rows),
                "r2": _r2(float(squared[k]), float(total[k])),
            }
        )
    mse = float(squared.sum() / error.size)
    return RegressionMetrics(
        mse=mse,
        rmse=math.sqrt(mse),
        mae=float(absolute.sum() / error.size),
        r2=_r2(float(squared.sum()), float(total.sum())),
        per_output=per_output,
    )


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


def evaluate(net: Network, data: TrainingData, *, task: str = "auto", backend=None) -> Evaluation:
    """Run ``net`` on labelled ``data`` once and compute FANN's MSE/bit fail and task metrics."""
    from fannctl.backends.numpy_backend import NumpyBackend, output_errors

    if task not in TASKS:
        raise ParameterError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    check_fits(net, data)
    data = data.astype(net.dtype)
    targets = scale_outputs(net, data.outputs)
    engine = backend if backend is not None else NumpyBackend()
    outputs = np.array(engine.forward(net, scale_inputs(net, data.inputs)))
    _, sse, count, bit_fail = output_errors(net, outputs, targets)
    levels = class_levels(net, targets)
    chosen = choose_task(task, targets, levels)
    evaluation = Evaluation(
        mse=sse / count if count else 0.0,
        bit_fail=bit_fail,
        patterns=data.num_patterns,
        task=chosen,
    )
    if chosen == "classify":
        evaluation.classes = classification(outputs, targets, levels)
    else:
        evaluation.regress = regression(descale_outputs(net, outputs), data.outputs)
    return evaluation


__all__ = [
    "OUTPUT_RANGES",
    "TASKS",
    "ClassMetrics",
    "Evaluation",
    "RegressionMetrics",
    "TargetRangeWarning",
    "choose_task",
    "class_labels",
    "class_levels",
    "classification",
    "evaluate",
    "is_class_target",
    "output_range",
    "regression",
    "targets_outside_range",
    "warn_targets_outside_range",
]
