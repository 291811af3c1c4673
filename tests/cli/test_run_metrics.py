"""fannctl run --metrics: task metrics beside FANN's MSE; --task and --output-columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl import io, runner
from fannctl.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
THYROID_TEST = str(ROOT / "datasets" / "thyroid.test.gz")
THYROID = str(ROOT / "datasets" / "thyroid.train.gz")
cli = CliRunner()


def invoke(*args: str):
    return cli.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def xor_net(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("xor") / "xor.h5")
    symmetric = ("--hidden-activation", "sigmoid_symmetric")
    symmetric += ("--output-activation", "sigmoid_symmetric")
    assert invoke("create", path, "--layers", "2,3,1", *symmetric).exit_code == 0
    assert invoke("train", path, XOR, "--max-epochs", "5000", "-q").exit_code == 0
    return path


@pytest.fixture(scope="module")
def thyroid_net(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("thyroid") / "thyroid.h5")
    layers = ("--layers", "21,8,3", "--output-activation", "sigmoid", "--seed", "1")
    assert invoke("create", path, *layers).exit_code == 0
    assert invoke("train", path, THYROID, "--max-epochs", "100", "-q").exit_code == 0
    return path


def test_xor_metrics_json_keeps_the_old_keys(xor_net: str) -> None:
    """mse, bit_fail, patterns as before; classify picked for -1/1 targets on symmetric outputs."""
    result = invoke("run", xor_net, XOR, "--metrics", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    mse, bit_fail = runner.test(io.open_network(xor_net), io.load_data(XOR))
    assert report["mse"] == pytest.approx(mse) and report["bit_fail"] == bit_fail
    assert report["patterns"] == 4 and report["task"] == "classify"
    assert report["accuracy"] == 1.0 and report["confusion_matrix"] == [[2, 0], [0, 2]]


def test_thyroid_accuracy_matches_argmax_of_run_outputs(thyroid_net: str) -> None:
    """The accuracy and confusion matrix agree with argmax over what run prints."""
    result = invoke("run", thyroid_net, THYROID_TEST, "--metrics", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    outputs = np.loadtxt(invoke("run", thyroid_net, THYROID_TEST).stdout.splitlines())
    truth = io.load_data(THYROID_TEST).outputs.argmax(axis=1)
    predicted = outputs.argmax(axis=1)
    assert report["accuracy"] == pytest.approx(np.mean(truth == predicted))
    confusion = np.zeros((3, 3), dtype=int)
    np.add.at(confusion, (truth, predicted), 1)
    assert report["confusion_matrix"] == confusion.tolist()
    assert [c["support"] for c in report["classes"]] == np.bincount(truth).tolist()


def test_task_regress_reports_errors_in_data_units(xor_net: str) -> None:
    result = invoke("run", xor_net, XOR, "--metrics", "--task", "regress", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    outputs = np.loadtxt(invoke("run", xor_net, XOR).stdout.splitlines())
    targets = io.load_data(XOR).outputs[:, 0]
    assert report["task"] == "regress" and "accuracy" not in report
    assert report["mae"] == pytest.approx(np.mean(np.abs(outputs - targets)), rel=1e-5)
    assert report["rmse"] == pytest.approx(np.sqrt(np.mean((outputs - targets) ** 2)), rel=1e-5)
    residual = np.sum((outputs - targets) ** 2)
    assert report["r2"] == pytest.approx(1 - residual / np.sum(targets**2), rel=1e-5)


def test_text_report(xor_net: str) -> None:
    result = invoke("run", xor_net, XOR, "--metrics")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1] == "bit_fail: 0" and lines[2] == "patterns: 4"
    assert "accuracy: 1 (4 of 4)" in lines and "task: classify" in lines
    assert "confusion matrix (rows: true class, columns: predicted):" in lines


def test_output_columns_evaluate_a_labelled_csv(tmp_path: Path, xor_net: str) -> None:
    """A CSV train accepts (output first, by name) gives the same metrics as the .data."""
    table = tmp_path / "xor.csv"
    table.write_text("y,a,b\n-1,-1,-1\n1,-1,1\n1,1,-1\n-1,1,1\n")
    from_csv = invoke("run", xor_net, table, "--output-columns", "y", "--metrics", "--json")
    assert from_csv.exit_code == 0, from_csv.output
    from_data = invoke("run", xor_net, XOR, "--metrics", "--json")
    assert json.loads(from_csv.stdout) == json.loads(from_data.stdout)
    rows = invoke("run", xor_net, table, "--output-columns", "0")
    assert rows.exit_code == 0
    assert rows.stdout == invoke("run", xor_net, XOR).stdout


def test_bad_task_is_one_line_exit_2(xor_net: str) -> None:
    result = invoke("run", xor_net, XOR, "--metrics", "--task", "cluster")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().startswith("fannctl: error:") and "--task" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
