"""Validation and early stopping: test error at report points, --patience, keep-best.

Each test names the bug it guards against.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fannctl import datatools, io, jobs, runner, workflow
from fannctl.data import TrainingData
from fannctl.errors import ParameterError
from fannctl.network import build
from fannctl.train import Report, TrainConfig, _Best, train

ROOT = Path(__file__).resolve().parents[2]
THYROID_TRAIN = ROOT / "datasets" / "thyroid.train.gz"
THYROID_TEST = ROOT / "datasets" / "thyroid.test.gz"


def _xor_like(seed: int = 0) -> tuple[TrainingData, TrainingData]:
    """A training set and a test set whose targets are the opposite: the better the
    network learns the first, the worse it does on the second."""
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-1, 1, size=(40, 2))
    outputs = np.sign(inputs[:, :1] * inputs[:, 1:2])
    return TrainingData(inputs, outputs, "train"), TrainingData(inputs, -outputs, "test")


def _net():
    return build(
        [2, 4, 1],
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid_symmetric",
        seed=3,
        dtype="float64",
    )


def test_patience_stops_and_keeps_the_best_epochs_weights() -> None:
    """Catches patience counted in epochs instead of report points, and a kept network
    whose weights are the last epoch's rather than the best test epoch's."""
    data, test = _xor_like()
    net = _net()
    config = TrainConfig(max_epochs=500, desired_error=0.0, report_every=5, patience=3)
    config.keep_best = True
    result = train(net, data, config, test_data=test)
    tested = [(r.epoch, r.test_mse) for r in result.history]
    best_epoch, best_mse = min(tested, key=lambda item: item[1])
    assert result.best_epoch == best_epoch and result.best_test_mse == best_mse
    assert result.early_stopped
    # stopped exactly 3 report points after the last improvement
    later = [epoch for epoch, _ in tested if epoch > best_epoch]
    assert len(later) == 3 and result.epochs == later[-1] < 500
    assert result.kept_epoch == best_epoch
    # the saved weights are those of the best epoch: a fresh run to it gives them
    again = _net()
    short = TrainConfig(max_epochs=best_epoch, desired_error=0.0, report_every=5)
    train(again, data, short)
    np.testing.assert_array_equal(net.weights, again.weights)
    assert runner.test(net, test)[0] == pytest.approx(best_mse, rel=1e-12)


def test_keep_best_without_patience_runs_to_the_end() -> None:
    """Catches keep-best that also stops early, or patience on by default."""
    data, test = _xor_like()
    net = _net()
    result = train(
        net,
        data,
        TrainConfig(max_epochs=60, desired_error=0.0, report_every=10, keep_best=True),
        test_data=test,
    )
    assert result.epochs == 60 and not result.early_stopped
    assert result.kept_epoch == result.best_epoch
    assert runner.test(net, test)[0] == pytest.approx(result.best_test_mse, rel=1e-12)


def test_without_keep_best_the_last_weights_stay() -> None:
    """Catches weights restored when nobody asked for it (FANN's behaviour is the last)."""
    data, test = _xor_like()
    net, plain = _net(), _net()
    result = train(
        net, data, TrainConfig(max_epochs=30, desired_error=0.0, report_every=10), test_data=test
    )
    train(plain, data, TrainConfig(max_epochs=30, desired_error=0.0, report_every=10))
    assert result.kept_epoch == 30 and result.best_epoch is not None
    np.testing.assert_array_equal(net.weights, plain.weights)


def test_an_improvement_resets_the_wait() -> None:
    """Catches a wait that keeps counting after a better test error."""
    best = _Best(TrainConfig(patience=2))
    weights = np.zeros(3)
    stops = [
        best.update(Report(e, 0.0, 0, 0.0, m, 0), weights)
        for e, m in enumerate([5, 4, 4.5, 3, 3.5, 3.6], 1)
    ]
    assert stops == [False, False, False, False, False, True]
    assert best.epoch == 4 and best.mse == 3
    equal = _Best(TrainConfig(patience=1))
    assert not equal.update(Report(1, 0, 0, 0, 2.0, 0), weights)
    assert equal.update(Report(2, 0, 0, 0, 2.0, 0), weights)  # equal is not better


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (TrainConfig(patience=3), "need a test set"),
        (TrainConfig(keep_best=True), "need a test set"),
    ],
)
def test_patience_and_keep_best_need_a_test_set(config, message) -> None:
    """Catches patience silently ignored when there is nothing to measure."""
    data, _ = _xor_like()
    with pytest.raises(ParameterError, match=message):
        train(_net(), data, config)


def test_patience_needs_report_points() -> None:
    """Catches --patience with --report-every 0 (never checked: never stops)."""
    data, test = _xor_like()
    with pytest.raises(ParameterError, match="report-every"):
        train(_net(), data, TrainConfig(report_every=0, patience=2), test_data=test)
    with pytest.raises(ParameterError, match="patience"):
        train(_net(), data, TrainConfig(patience=-1), test_data=test)


def test_validation_split_matches_data_split() -> None:
    """Catches a split that differs from `fannctl data split` for the same seed, or
    weights that no longer line up with their patterns."""
    data = io.load_data(THYROID_TRAIN)
    weights = np.arange(data.num_patterns, dtype=np.float64)
    train_part, test_part, kept = workflow.validation_split(data, 0.25, 7, weights)
    want_train, want_test = datatools.split(data, 0.25, 7)
    np.testing.assert_array_equal(train_part.inputs, want_train.inputs)
    np.testing.assert_array_equal(test_part.outputs, want_test.outputs)
    assert test_part.num_patterns == round(0.25 * data.num_patterns)
    assert kept is not None
    np.testing.assert_array_equal(data.inputs[kept.astype(int)], train_part.inputs)
    with pytest.raises(ParameterError, match="--validation-split"):
        workflow.validation_split(data, 1.0, 7)


def test_history_in_the_file_holds_the_test_error(tmp_path: Path) -> None:
    """Catches the test error kept in --json but not in the HDF5 history (info could not
    show it), and top-level figures that disagree with the history."""
    net_path = tmp_path / "thyroid.h5"
    jobs.create_network(
        jobs.CreateRequest(
            net_path,
            [21, 6, 3],
            seed=1,
            hidden_activation="sigmoid_symmetric",
            output_activation="sigmoid",
        )
    )
    outcome = jobs.train_file(
        jobs.TrainRequest(
            net_path,
            THYROID_TRAIN,
            test_data=THYROID_TEST,
            max_epochs=300,
            report_every=20,
            patience=3,
        )
    )
    saved = io.open_network(net_path)
    assert [h["test_mse"] for h in saved.history] == [r.test_mse for r in outcome.history]
    assert [h["test_bit_fail"] for h in saved.history] == [r.test_bit_fail for r in outcome.history]
    doc = outcome.to_dict()
    assert doc["best_test_mse"] == min(r.test_mse for r in outcome.history)
    assert doc["test_mse"] == outcome.history[-1].test_mse
    assert doc["kept_epoch"] == doc["best_epoch"]
    # what was saved is the best epoch's network
    test = io.load_data(THYROID_TEST)
    assert runner.test(saved, test)[0] == pytest.approx(doc["best_test_mse"], rel=1e-6)
    assert saved.provenance[-1]["kept_epoch"] == doc["best_epoch"]


def test_old_history_records_still_load(tmp_path: Path) -> None:
    """Catches a schema change that makes files without test columns unreadable."""
    net = _net()
    net.history = [{"epoch": 1, "mse": 0.5, "bit_fail": 2, "seconds": 0.1, "algorithm": "rprop"}]
    path = tmp_path / "old.h5"
    io.save_network(net, path)
    assert io.open_network(path).history == net.history


def _first_device() -> str:
    """The first OpenCL device that passes its self-test (skip, with the reason, if none)."""
    from opencl_devices import screened

    screening = screened()
    if not screening.passed:
        pytest.skip(screening.why_none or "no OpenCL device passed its self-test")
    return f"cl:{screening.passed[0].index}"


def test_device_runs_keep_the_best_weights(tmp_path: Path) -> None:
    """Catches keep-best on a device run copying stale host weights (the device runs
    chunks of epochs between report points): the saved network's test MSE is the
    best one reported."""
    data, test = _xor_like(5)
    io.save_network(_net().astype("float32"), tmp_path / "net.h5")
    io.save_data(data, tmp_path / "train.data", exact=True)
    io.save_data(test, tmp_path / "test.data", exact=True)
    outcome = jobs.train_file(
        jobs.TrainRequest(
            tmp_path / "net.h5",
            tmp_path / "train.data",
            test_data=tmp_path / "test.data",
            max_epochs=400,
            desired_error=0.0,
            report_every=7,
            patience=4,
            device=_first_device(),
        )
    )
    assert outcome.device != "numpy"
    assert outcome.early_stopped and outcome.kept_epoch == outcome.best_epoch
    assert outcome.kept_epoch < outcome.epochs
    saved = io.open_network(tmp_path / "net.h5")
    assert runner.test(saved, test)[0] == pytest.approx(outcome.best_test_mse, rel=1e-5)
    assert not math.isnan(outcome.best_test_mse)
    assert outcome.history[-1].epoch == outcome.epochs
