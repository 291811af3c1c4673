"""train --cv K: folds trained as agents of the batched engine.

Each test names the bug it guards against.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl import crossval, datatools, io, runner
from fannctl.cli.main import app
from fannctl.data import TrainingData
from fannctl.errors import ParameterError
from fannctl.network import build
from fannctl.train import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]


def _data(patterns: int = 45) -> TrainingData:
    rng = np.random.default_rng(2)
    inputs = rng.uniform(-1, 1, (patterns, 3))
    targets = np.eye(2)[(inputs[:, 0] * inputs[:, 1] > 0).astype(int)]
    return TrainingData(inputs, targets, "d")


def _net(algorithm: str = "rprop"):
    net = build(
        [3, 5, 2],
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid",
        seed=4,
        dtype="float64",
    )
    net.params = net.params.replace(training_algorithm=algorithm)
    return net


@pytest.mark.parametrize("algorithm", ["batch", "rprop", "quickprop"])
def test_each_fold_trains_as_train_with_its_fold_weighted_out(algorithm: str) -> None:
    """Catches a fold that trains on its own test patterns, folds that share state, or
    batched training that is not the training loop's: fold k's weights equal a plain
    run whose sample weights zero out fold k."""
    data = _data()
    result = crossval.cross_validate(_net(algorithm), data, 3, epochs=15, seed=5)
    fold = datatools.fold_of_rows(data, 3, 5)
    assert result.weights is not None
    for k in range(3):
        single = _net(algorithm)
        mask = (fold != k).astype(float)
        train(single, data, TrainConfig(max_epochs=15, report_every=0), sample_weights=mask)
        np.testing.assert_allclose(result.weights[k], single.weights, rtol=1e-9, atol=1e-12)
        single.weights[:] = result.weights[k]
        test = TrainingData(data.inputs[fold == k], data.outputs[fold == k], "fold")
        mse, bit_fail = runner.test(single, test)
        assert result.fold_metrics[k]["mse"] == pytest.approx(mse, rel=1e-9)
        assert result.fold_metrics[k]["bit_fail"] == bit_fail
    summary = result.summary()
    mses = [m["mse"] for m in result.fold_metrics]
    assert summary["mse"]["mean"] == pytest.approx(np.mean(mses))
    assert summary["mse"]["std"] == pytest.approx(np.std(mses))
    assert "accuracy" in summary  # one-hot targets: classification metrics too


def test_refusals() -> None:
    """Catches --cv taking what the batched engine cannot train."""
    data = _data()
    with pytest.raises(ParameterError, match="batch, rprop"):
        crossval.cross_validate(_net("incremental"), data, 3, epochs=2)
    soft = build([3, 4, 2], output_activation="softmax", seed=1)
    with pytest.raises(ParameterError):
        crossval.cross_validate(soft, data, 3, epochs=2)
    with pytest.raises(ParameterError, match="folds"):
        crossval.cross_validate(_net(), data, 1, epochs=2)


def test_cli_cv_json_and_net_unchanged(tmp_path: Path) -> None:
    """Catches --cv that saves over NET, or a summary that is not the folds'."""
    net = tmp_path / "t.h5"
    io.save_network(_net().astype("float32"), net)
    io.save_data(_data(), tmp_path / "d.data", exact=True)
    before = net.read_bytes()
    result = CliRunner().invoke(
        app,
        ["train", str(net), str(tmp_path / "d.data"), "--cv", "3", "--seed", "1",
         "--max-epochs", "20", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["folds"] == 3 and len(doc["fold_metrics"]) == 3
    accuracy = [m["accuracy"] for m in doc["fold_metrics"]]
    assert doc["summary"]["accuracy"]["mean"] == pytest.approx(np.mean(accuracy))
    assert "3-fold cross-validation" in result.stderr
    assert net.read_bytes() == before
    bad = CliRunner().invoke(
        app, ["train", str(net), str(tmp_path / "d.data"), "--cv", "3", "--patience", "2"]
    )
    assert bad.exit_code == 2 and "--cv" in bad.stderr
