"""The modelling workflow from the command line: --test/--validation-split, --patience,
--keep-best, the summary line, softmax, --weight-decay and --sample-weights.

Each test names what it guards against.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl import io
from fannctl.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
THYROID_TRAIN = str(ROOT / "datasets" / "thyroid.train.gz")
THYROID_TEST = str(ROOT / "datasets" / "thyroid.test.gz")
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def ok(*args: str):
    result = invoke(*args)
    assert result.exit_code == 0, f"fannctl {' '.join(args)}: {result.output}"
    return result


def one_error_line(result, *words: str) -> None:
    """Exit 2, one line on stderr naming what is wrong, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fannctl: error: ")
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def thyroid_net(tmp_path: Path) -> str:
    path = str(tmp_path / "thyroid.h5")
    ok(
        "create", path, "--layers", "21,6,3", "--seed", "1",
        "--hidden-activation", "sigmoid_symmetric", "--output-activation", "sigmoid", "-q",
    )  # fmt: skip
    return path


@pytest.fixture
def xor_net(tmp_path: Path) -> str:
    path = str(tmp_path / "xor.h5")
    ok(
        "create", path, "--layers", "2,3,1", "--seed", "1",
        "--hidden-activation", "sigmoid_symmetric",
        "--output-activation", "sigmoid_symmetric", "-q",
    )  # fmt: skip
    return path


def test_patience_json_and_summary(thyroid_net: str) -> None:
    """Catches the test figures missing from --json's top level, a summary line that
    does not say which epoch's weights were saved, and a run that does not stop."""
    result = ok(
        "train", thyroid_net, THYROID_TRAIN, "--test", THYROID_TEST, "--max-epochs", "2000",
        "--report-every", "25", "--patience", "3", "--json",
    )  # fmt: skip
    doc = json.loads(result.stdout)
    tested = [h["test_mse"] for h in doc["history"]]
    assert doc["best_test_mse"] == min(tested)
    assert doc["best_epoch"] == doc["history"][tested.index(min(tested))]["epoch"]
    assert doc["test_mse"] == tested[-1]
    assert doc["early_stopped"] and doc["epochs"] == doc["best_epoch"] + 3 * 25
    assert doc["kept_epoch"] == doc["best_epoch"]
    summary = result.stderr.strip().splitlines()[-1]
    assert f"{doc['epochs']} epochs in" in summary
    assert f"best test MSE {doc['best_test_mse']:.6g} at epoch {doc['best_epoch']}" in summary
    assert f"saved the weights of epoch {doc['best_epoch']} (best test)" in summary
    assert "did not reach 0.0001" in summary and "stopped early" in summary
    info = ok("info", thyroid_net)
    assert "test mse" in info.stdout


def test_summary_in_text_mode_and_not_with_quiet(xor_net: str, tmp_path: Path) -> None:
    """Catches a summary only in one mode, or one that --quiet does not silence."""
    text = ok("train", xor_net, XOR, "--max-epochs", "500", "--report-every", "0")
    lines = text.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fannctl: ")
    assert "reached 0.0001" in lines[0] and "saved the weights of epoch" in lines[0]
    quiet = ok("train", xor_net, XOR, "--max-epochs", "5", "-q")
    assert quiet.stderr == ""


def test_validation_split_records_the_split(xor_net: str, tmp_path: Path) -> None:
    """Catches --validation-split that trains on all the data (the held-out patterns
    must not be trained on) or that is not recorded."""
    data = tmp_path / "d.data"
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (50, 2))
    y = np.sign(x[:, :1] * x[:, 1:])
    lines = ["50 2 1"] + [f"{a} {b}\n{c}" for (a, b), (c,) in zip(x, y, strict=True)]
    data.write_text("\n".join(lines) + "\n")
    result = ok(
        "train", xor_net, str(data), "--validation-split", "0.2", "--seed", "3",
        "--max-epochs", "40", "--report-every", "10", "--json", "-q",
    )  # fmt: skip
    doc = json.loads(result.stdout)
    assert all("test_mse" in h for h in doc["history"])
    net = io.open_network(xor_net)
    assert net.provenance[-1]["validation_split"] == 0.2
    assert [h["test_mse"] for h in net.history] == [h["test_mse"] for h in doc["history"]]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--test", XOR, "--validation-split", "0.5"], ["--validation-split"]),
        (["--patience", "3"], ["--patience", "test set"]),
        (["--keep-best"], ["--keep-best"]),
        (["--validation-split", "1.5"], ["--validation-split"]),
        (["--weight-decay", "-1"], ["--weight-decay"]),
        (["--output-activation", "softmax", "--algorithm", "incremental",
          "--weight-decay", "0.1"], ["incremental"]),
    ],
)  # fmt: skip
def test_bad_workflow_options(xor_net: str, extra: list[str], words: list[str]) -> None:
    """Catches options that cannot work taken silently, or the network changed anyway."""
    before = Path(xor_net).read_bytes()
    one_error_line(invoke("train", xor_net, XOR, "--max-epochs", "5", *extra), *words)
    assert Path(xor_net).read_bytes() == before


def test_softmax_and_decay_cannot_become_net(tmp_path: Path, xor_net: str) -> None:
    """Catches a .net written without the softmax or the weight decay."""
    soft = str(tmp_path / "soft.h5")
    ok("create", soft, "--layers", "21,4,3", "--output-activation", "softmax", "--seed", "1", "-q")
    ok("train", soft, THYROID_TRAIN, "--max-epochs", "20", "--report-every", "0", "-q")
    one_error_line(invoke("convert", soft, str(tmp_path / "soft.net")), "softmax", ".net")
    assert not (tmp_path / "soft.net").exists()
    out = str(tmp_path / "out.net")
    result = invoke("train", xor_net, XOR, "--weight-decay", "0.001", "--output", out)
    one_error_line(result, "weight decay", "out.net")
    assert not Path(out).exists()


def test_softmax_on_train_runs_on_numpy(xor_net: str, tmp_path: Path) -> None:
    """Catches a softmax run handed to an OpenCL device (its kernels know FANN's
    functions only) and --output-activation on train not applied."""
    data = tmp_path / "two.data"
    data.write_text("4 2 2\n-1 -1\n1 0\n-1 1\n0 1\n1 -1\n0 1\n1 1\n1 0\n")
    net = str(tmp_path / "two.h5")
    ok("create", net, "--layers", "2,4,2", "--seed", "2", "-q")
    result = ok(
        "train", net, str(data), "--output-activation", "softmax", "--device", "auto",
        "--max-epochs", "300", "--json", "-q",
    )  # fmt: skip
    doc = json.loads(result.stdout)
    assert doc["device"] == "numpy"
    saved = io.open_network(net)
    assert list(saved.output_activation()) == [20, 20]
    lines = ok("run", net, str(data), "--format", "jsonl").stdout.splitlines()
    rows = np.asarray([json.loads(line) for line in lines])
    assert rows.shape == (4, 2)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, rtol=1e-5)


def test_sample_weights_file_and_column(xor_net: str, tmp_path: Path) -> None:
    """Catches a weights file with the wrong count or a bad value trained on, an
    error that does not name FILE:LINE, and a CSV column read from the wrong place."""
    good = tmp_path / "w.txt"
    good.write_text("# weights\n1\n2\n\n1\n0.5\n")
    result = ok(
        "train", xor_net, XOR, "--sample-weights", str(good), "--max-epochs", "10",
        "--json", "-q",
    )  # fmt: skip
    by_file = json.loads(result.stdout)["mse"]
    short = tmp_path / "short.txt"
    short.write_text("1\n2\n")
    one_error_line(
        invoke("train", xor_net, XOR, "--sample-weights", str(short)), "short.txt", "2 sample"
    )
    bad = tmp_path / "bad.txt"
    bad.write_text("1\n2\nheavy\n1\n")
    one_error_line(invoke("train", xor_net, XOR, "--sample-weights", str(bad)), "bad.txt:3")
    table = tmp_path / "w.csv"
    table.write_text("id,weight\n0,1\n1,2\n2,1\n3,0.5\n")
    fresh = str(tmp_path / "fresh.h5")
    ok(
        "create", fresh, "--layers", "2,3,1", "--seed", "1",
        "--hidden-activation", "sigmoid_symmetric",
        "--output-activation", "sigmoid_symmetric", "-q",
    )  # fmt: skip
    by_column = ok(
        "train", fresh, XOR, "--sample-weights", str(table), "--sample-weight-column",
        "weight", "--max-epochs", "10", "--json", "-q",
    )  # fmt: skip
    assert json.loads(by_column.stdout)["mse"] == by_file
    one_error_line(
        invoke("train", fresh, XOR, "--sample-weights", str(table), "--sample-weight-column", "w"),
        "w.csv:1",
        "no column",
    )


def test_cascade_validation_patience_and_keep_best(tmp_path: Path) -> None:
    """Catches cascade's test error only at the end (not per report point, not in the
    file's history), patience ignored, and a saved network with the neurons grown
    after the best report point."""
    net = str(tmp_path / "c.h5")
    ok("create", net, "--layers", "21,3", "--shortcut", "--seed", "1", "-q")
    result = ok(
        "cascade", net, THYROID_TRAIN, "--validation-split", "0.2", "--seed", "1",
        "--max-neurons", "8", "--patience", "2", "--json",
    )  # fmt: skip
    doc = json.loads(result.stdout)
    tested = [h["test_mse"] for h in doc["history"]]
    assert len(tested) == len(doc["history"]) >= 2
    best = min(tested)
    assert doc["best_test_mse"] == best
    assert doc["best_neurons"] == doc["history"][tested.index(best)]["neurons"]
    if doc["early_stopped"]:
        assert len(tested) == tested.index(best) + 3  # two report points after the best
    assert doc["kept_neurons"] == doc["best_neurons"] == doc["neurons_added"]
    assert doc["test_mse"] == pytest.approx(best, rel=1e-6)  # the saved network is the best
    saved = io.open_network(net)
    assert len(saved.layers) == 2 + doc["best_neurons"]
    assert [h["test_mse"] for h in saved.history] == tested
    summary = result.stderr.strip().splitlines()[-1]
    assert f"saved the network with {doc['best_neurons']} new neurons" in summary
    one_error_line(invoke("cascade", net, THYROID_TRAIN, "--patience", "2"), "test set")


def test_cascade_refuses_fannctl_only_math(tmp_path: Path) -> None:
    """Catches cascade growing a softmax network with FANN's output rule (not the
    cross-entropy gradient) or silently dropping a stored weight decay."""
    soft = str(tmp_path / "soft.h5")
    ok("create", soft, "--layers", "2,2", "--shortcut", "--output-activation", "softmax", "-q")
    data = tmp_path / "two.data"
    data.write_text("2 2 2\n-1 -1\n1 0\n1 1\n0 1\n")
    one_error_line(invoke("cascade", soft, str(data)), "softmax")
    decayed = str(tmp_path / "decay.h5")
    ok("create", decayed, "--layers", "2,2", "--shortcut", "-q")
    ok("train", decayed, str(data), "--weight-decay", "0.01", "--max-epochs", "2", "-q")
    assert "weight_decay=0.01" in ok("info", decayed).stdout  # info shows it when in use
    before = Path(decayed).read_bytes()
    one_error_line(invoke("cascade", decayed, str(data)), "weight decay", "--weight-decay 0")
    assert Path(decayed).read_bytes() == before
