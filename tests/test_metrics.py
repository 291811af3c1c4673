"""Task metrics (fannctl.metrics): hand-computed cases, numpy formulas, the guard rail."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fannctl import activations, io, metrics, runner
from fannctl.data import TrainingData, set_scaling_params
from fannctl.errors import ParameterError
from fannctl.network import build

XOR = Path(__file__).resolve().parents[1] / "datasets" / "xor.data"


def test_every_activation_has_a_range_its_values_stay_in() -> None:
    """A missing or wrong range would misplace the class threshold and the guard rail."""
    t = np.linspace(-20.0, 20.0, 4001)
    for ident, name in enumerate(activations.NAMES):
        low, high = metrics.output_range(ident)
        out = np.empty_like(t)
        activations.value_into(ident, t, out)
        assert out.min() >= low and out.max() <= high, name
        # each finite end is reached, not just a bound
        assert not math.isfinite(low) or out.min() < low + 0.05, name
        assert not math.isfinite(high) or out.max() > high - 0.05, name
    for ident in activations.EXTRA_NAMES:  # fannctl's own (softmax): a probability
        assert metrics.output_range(ident) == (0.0, 1.0)


def test_classification_by_hand_three_classes() -> None:
    """Argmax classes, confusion matrix rows = truth, precision/recall per class."""
    targets = np.eye(3)[[0, 0, 1, 1, 2, 2]]
    outputs = np.array(
        [
            [0.9, 0.1, 0.0],  # 0 -> 0
            [0.2, 0.7, 0.1],  # 0 -> 1
            [0.1, 0.8, 0.3],  # 1 -> 1
            [0.1, 0.6, 0.2],  # 1 -> 1
            [0.5, 0.1, 0.4],  # 2 -> 0
            [0.0, 0.1, 0.9],  # 2 -> 2
        ]
    )
    result = metrics.classification(outputs, targets, (0.0, 1.0))
    assert result.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert result.correct == 4
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.precision == pytest.approx([1 / 2, 2 / 3, 1.0])
    assert result.recall == pytest.approx([1 / 2, 1.0, 1 / 2])
    assert result.support == [2, 2, 2]


def test_one_output_threshold_is_the_range_midpoint() -> None:
    """sigmoid splits at 0.5, sigmoid_symmetric at 0: 0.3 is class 0 for one, 1 for the other."""
    outputs = np.array([[0.3], [0.6], [-0.2]])
    unit = metrics.classification(outputs, np.array([[1.0], [1.0], [0.0]]), (0.0, 1.0))
    assert unit.confusion.tolist() == [[1, 0], [1, 1]]
    symmetric = metrics.classification(outputs, np.array([[1.0], [1.0], [-1.0]]), (-1.0, 1.0))
    assert symmetric.confusion.tolist() == [[1, 0], [0, 2]]
    assert symmetric.accuracy == 1.0


def test_precision_of_a_class_never_predicted_is_none() -> None:
    """0/0 is not a precision: JSON gets null, not NaN (invalid JSON) or a made-up 0."""
    result = metrics.classification(np.array([[0.1], [0.2]]), np.array([[0.0], [1.0]]), (0, 1))
    assert result.precision == [0.5, None]
    assert result.recall == [1.0, 0.0]


def test_regression_by_hand() -> None:
    """errors 0, 1, 2 on targets 1, 2, 3: MSE 5/3, MAE 1, R² = 1 - 5/2."""
    result = metrics.regression(np.array([[1.0], [3.0], [5.0]]), np.array([[1.0], [2.0], [3.0]]))
    assert result.mse == pytest.approx(5 / 3)
    assert result.rmse == pytest.approx(math.sqrt(5 / 3))
    assert result.mae == pytest.approx(1.0)
    assert result.r2 == pytest.approx(-1.5)


def test_regression_against_numpy_formulas_on_random_data() -> None:
    """Per output and overall, against the textbook formulas written out here."""
    rng = np.random.default_rng(7)
    targets = rng.normal(size=(50, 3)) * [1.0, 10.0, 0.1]
    outputs = targets + rng.normal(size=(50, 3)) * 0.3
    result = metrics.regression(outputs, targets)
    residual = ((targets - outputs) ** 2).sum(axis=0)
    total = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
    for k, row in enumerate(result.per_output):
        assert row["mean_squared_error"] == pytest.approx(np.mean((outputs - targets)[:, k] ** 2))
        assert row["rmse"] == pytest.approx(np.sqrt(residual[k] / 50))
        assert row["mae"] == pytest.approx(np.mean(np.abs(outputs - targets)[:, k]))
        assert row["r2"] == pytest.approx(1 - residual[k] / total[k])
    assert result.mse == pytest.approx(np.mean((outputs - targets) ** 2))
    assert result.r2 == pytest.approx(1 - residual.sum() / total.sum())


def test_r2_of_a_constant_target_is_none() -> None:
    """SS_tot = 0 would divide by zero; R² is undefined there."""
    result = metrics.regression(np.array([[1.0], [2.0]]), np.array([[1.5], [1.5]]))
    assert result.r2 is None and result.mae == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("targets", "ident", "expected"),
    [
        (np.eye(3)[[0, 1, 2, 1]], activations.SIGMOID, "classify"),
        (np.eye(3)[[0, 1, 2, 1]] * 2 - 1, activations.SIGMOID_SYMMETRIC, "classify"),
        (np.eye(3)[[0, 1, 2, 1]], activations.SIGMOID_SYMMETRIC, "regress"),  # 0 is no end
        (np.array([[1.0, 1.0, 0.0]]), activations.SIGMOID, "regress"),  # two classes on
        (np.array([[0.0], [1.0], [1.0]]), activations.SIGMOID_STEPWISE, "classify"),
        (np.array([[0.0], [0.5], [1.0]]), activations.SIGMOID, "regress"),
        (np.array([[-1.0], [1.0]]), activations.LINEAR, "classify"),
        (np.array([[0.0], [1.0]]), activations.RELU, "classify"),
        (np.array([[3.0], [1.0]]), activations.LINEAR, "regress"),
    ],
)
def test_auto_task(targets: np.ndarray, ident: int, expected: str) -> None:
    """auto picks classify only for one-hot/binary targets at the output range's ends."""
    width = targets.shape[1]
    net = build([2, width], output_activation=ident, seed=1, dtype="float64")
    data = TrainingData(np.zeros((targets.shape[0], 2)), targets, "t")
    assert metrics.evaluate(net, data).task == expected


def test_unknown_task_is_refused() -> None:
    with pytest.raises(ParameterError, match="--task"):
        metrics.TaskMetrics(build([2, 1]), "cluster")


def test_classify_one_unbounded_output_needs_binary_targets() -> None:
    data = TrainingData(np.zeros((2, 2)), np.array([[3.0], [1.0]]), "t")
    with pytest.raises(ParameterError, match="cannot classify"):
        metrics.evaluate(build([2, 1], output_activation="linear"), data, task="classify")


def test_blocks_add_up_to_the_whole() -> None:
    """Streamed block by block, every figure equals the one-pass figure."""
    rng = np.random.default_rng(5)
    net = build([4, 5, 3], output_activation="sigmoid", seed=3, dtype="float64")
    data = TrainingData(rng.normal(size=(60, 4)), np.eye(3)[rng.integers(0, 3, 60)], "d")
    for task in ("classify", "regress"):
        whole = metrics.evaluate(net, data, task=task).to_dict()
        blocks = [
            metrics.data_block(TrainingData(data.inputs[a:b], data.outputs[a:b]))
            for a, b in ((0, 7), (7, 40), (40, 60))
        ]
        parts = metrics.evaluate_blocks(net, blocks, "d", task=task).to_dict()
        assert parts.keys() == whole.keys()
        for key, value in whole.items():
            if isinstance(value, float):
                assert parts[key] == pytest.approx(value, rel=1e-12), key
            elif key == "outputs":
                for got, expected in zip(parts[key], value, strict=True):
                    assert got == pytest.approx(expected, rel=1e-12)
            else:
                assert parts[key] == value, key


def _trained_xor(output: str = "sigmoid_symmetric"):
    from fannctl import train

    net = build([2, 3, 1], hidden_activation="sigmoid_symmetric", output_activation=output, seed=1)
    data = io.load_data(XOR)
    train.train(net, data, train.TrainConfig(5000, 0.0001, 0))
    return net, data


def test_evaluate_keeps_fanns_mse_and_classifies_xor() -> None:
    """FANN's MSE and bit fail equal runner.test's; the trained XOR is 4 of 4 correct."""
    net, data = _trained_xor()
    result = metrics.evaluate(net, data)
    mse, bit_fail = runner.test(net, data)
    assert result.mse == pytest.approx(mse, rel=1e-12) and result.bit_fail == bit_fail
    assert result.task == "classify"
    assert result.classes is not None and result.classes.accuracy == 1.0
    assert result.classes.confusion.tolist() == [[2, 0], [0, 2]]
    as_json = result.to_dict()
    assert {"mse", "bit_fail", "patterns", "accuracy", "confusion_matrix"} <= set(as_json)


def test_evaluate_regress_in_the_datas_units() -> None:
    """Forced regression on XOR: the metrics match the run outputs' own errors."""
    net, data = _trained_xor()
    result = metrics.evaluate(net, data, task="regress")
    outputs = runner.run(net, data.inputs).astype(np.float64)
    assert result.regress is not None
    assert result.regress.mae == pytest.approx(np.mean(np.abs(outputs - data.outputs)), rel=1e-6)
    assert "r2" in result.to_dict() and "accuracy" not in result.to_dict()


def test_evaluate_regression_undoes_output_scaling() -> None:
    """With stored output scaling, RMSE is in the data's units, not the network's."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(40, 2))
    y = 1000.0 + 300.0 * x[:, :1]
    data = TrainingData(x, y, "lin")
    net = build([2, 1], output_activation="linear", seed=2, dtype="float64")
    set_scaling_params(net, data, None, (-1.0, 1.0))
    result = metrics.evaluate(net, data)
    outputs = runner.run(net, x)
    assert result.task == "regress" and result.regress is not None
    assert result.regress.rmse == pytest.approx(np.sqrt(np.mean((outputs - y) ** 2)))
    assert result.regress.rmse > 10  # the untrained net is far off in dollars, not in ±1


def test_guard_rail_names_the_file_and_the_range() -> None:
    """The --help example's trap: sigmoid_stepwise (0..1) against XOR's -1 targets."""
    data = io.load_data(XOR)
    net = build([2, 3, 1], seed=1)
    message = metrics.targets_outside_range(net, data)
    assert message is not None
    assert str(XOR) in message and "sigmoid_stepwise" in message and "0..1" in message
    assert "2 of 4" in message


def test_guard_rail_silent_when_reachable() -> None:
    """Symmetric outputs reach ±1, linear reaches anything; scaled targets are checked scaled."""
    data = io.load_data(XOR)
    assert metrics.targets_outside_range(build([2, 3, 1], output_activation=5), data) is None
    assert metrics.targets_outside_range(build([2, 3, 1], output_activation=0), data) is None
    net = build([2, 3, 1], seed=1)
    set_scaling_params(net, data, None, (0.0, 1.0))  # -1/1 mapped to 0..1 (mean ± one deviation)
    assert metrics.targets_outside_range(net, data) is None


def test_guard_rail_warns_through_warnings() -> None:
    """The library never prints: the message goes out as a TargetRangeWarning."""
    data = io.load_data(XOR)
    with pytest.warns(metrics.TargetRangeWarning, match="sigmoid_stepwise"):
        assert metrics.warn_targets_outside_range(build([2, 3, 1], seed=1), data) is not None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = build([2, 3, 1], output_activation="sigmoid_symmetric")
        assert metrics.warn_targets_outside_range(net, data) is None


def test_softmax_outputs_classify_one_hot_targets() -> None:
    """fannctl's softmax (0..1, summing to 1) with one-hot targets: auto classifies by argmax."""
    rng = np.random.default_rng(2)
    net = build([3, 4, 3], output_activation="softmax", seed=1, dtype="float64")
    data = TrainingData(rng.normal(size=(30, 3)), np.eye(3)[rng.integers(0, 3, 30)], "d")
    result = metrics.evaluate(net, data)
    outputs = runner.run(net, data.inputs)
    assert np.allclose(outputs.sum(axis=1), 1.0)
    assert result.task == "classify" and result.classes is not None
    predicted = outputs.argmax(axis=1)
    assert result.classes.correct == int(np.sum(predicted == data.outputs.argmax(axis=1)))


def test_training_job_issues_the_guard_rail(tmp_path: Path) -> None:
    """jobs.train_file (what `fannctl train` calls) warns once before it trains."""
    from fannctl import jobs

    path = tmp_path / "x.h5"
    io.save_network(build([2, 3, 1], seed=1), path)
    request = jobs.TrainRequest(path, XOR, max_epochs=5, report_every=0)
    with pytest.warns(metrics.TargetRangeWarning, match="xor.data: 2 of 4") as caught:
        jobs.train_file(request)
    assert len([w for w in caught if w.category is metrics.TargetRangeWarning]) == 1
