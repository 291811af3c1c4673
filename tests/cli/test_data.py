"""fannctl data: each subcommand as a user types it; bad input leaves no file behind."""

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
THYROID = str(ROOT / "datasets" / "thyroid.train.gz")
runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def _sorted_rows(path: Path | str, **kwargs) -> np.ndarray:
    data = io.load_data(path, **kwargs)
    block = np.hstack([data.inputs, data.outputs])
    return block[np.lexsort(block.T[::-1])]


def _bad(result, name: str) -> None:
    """One 'fannctl: error:' line naming ``name`` on stderr, exit 2, nothing on stdout."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fannctl: error:"), result.stderr
    assert name in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_split_then_merge_restores_thyroid(tmp_path: Path) -> None:
    """The README workflow's first step: no pattern lost or doubled; classes kept."""
    train, test, merged = tmp_path / "tr.data", tmp_path / "te.data", tmp_path / "all.csv"
    result = invoke("data", "split", THYROID, train, test, "--fraction", "0.2", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "wrote 2880 patterns" in result.stderr and "wrote 720 patterns" in result.stderr
    whole = io.load_data(THYROID).outputs.sum(axis=0)
    part = io.load_data(test).outputs.sum(axis=0)
    assert np.all(np.abs(part - 0.2 * whole) < 1)
    result = invoke("data", "merge", train, test, "-o", merged, "-q")
    assert result.exit_code == 0 and result.stderr == ""
    np.testing.assert_array_equal(
        _sorted_rows(merged, num_outputs=3), _sorted_rows(THYROID, num_outputs=3)
    )


def test_split_is_repeatable_with_a_seed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        args = (tmp_path / f"{name}1.data", tmp_path / f"{name}2.data", "--seed", "5", "-q")
        assert invoke("data", "split", THYROID, *args, "--fraction", "0.1").exit_code == 0
    assert (tmp_path / "a2.data").read_bytes() == (tmp_path / "b2.data").read_bytes()


def test_info_json(tmp_path: Path) -> None:
    result = invoke("data", "info", THYROID, "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["patterns"] == 3600 and report["task"] == "classify"
    assert [c["patterns"] for c in report["class_balance"]] == [89, 192, 3319]


def test_info_text_names_constant_columns(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("a,b,y\n1,5,0.5\n2,5,0.25\n3,5,1\n")
    result = invoke("data", "info", table)
    assert result.exit_code == 0
    assert "constant columns: x1" in result.stdout and "task: regress" in result.stdout


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".npy", ".npz", ".h5", ".data.gz"])
def test_convert_round_trips_every_format(tmp_path: Path, ext: str) -> None:
    """xor.data -> each format -> .data gives the same numbers."""
    middle, back = tmp_path / f"xor{ext}", tmp_path / "back.data"
    assert invoke("data", "convert", XOR, middle, "-q").exit_code == 0
    result = invoke("data", "convert", middle, back, "--outputs", "1", "-q")
    assert result.exit_code == 0, result.output
    original, again = io.load_data(XOR), io.load_data(back)
    np.testing.assert_array_equal(again.inputs, original.inputs)
    np.testing.assert_array_equal(again.outputs, original.outputs)


def test_convert_to_stdout_is_fann_data() -> None:
    result = invoke("data", "convert", XOR, "-")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "4 2 1"


def test_shuffle_and_subset(tmp_path: Path) -> None:
    shuffled, first = tmp_path / "s.data", tmp_path / "f.data"
    assert invoke("data", "shuffle", THYROID, shuffled, "--seed", "3", "-q").exit_code == 0
    np.testing.assert_array_equal(
        _sorted_rows(shuffled, num_outputs=3), _sorted_rows(THYROID, num_outputs=3)
    )
    assert invoke("data", "subset", THYROID, first, "--start", "10", "--count", "5").exit_code == 0
    np.testing.assert_array_equal(io.load_data(first).inputs, io.load_data(THYROID).inputs[10:15])


def test_scale_with_a_networks_stored_scaling(tmp_path: Path) -> None:
    """train --scale-inputs stores the parameters; data scale --network applies them."""
    net = tmp_path / "n.h5"
    assert invoke("create", net, "--layers", "2,2,1", "--seed", "1", "-q").exit_code == 0
    args = ("--max-epochs", "1", "--scale-inputs", "0,1", "-q")
    assert invoke("train", net, XOR, *args).exit_code == 0
    out = tmp_path / "scaled.data"
    assert invoke("data", "scale", XOR, out, "--network", net, "-q").exit_code == 0
    raw = io.load_data(XOR)
    scaled = io.load_data(out)  # XOR's inputs are -1/1: mean 0, deviation 1
    np.testing.assert_allclose(scaled.inputs, (raw.inputs + 1) / 2, atol=1e-6)
    np.testing.assert_array_equal(scaled.outputs, raw.outputs)  # outputs not scaled
    own = tmp_path / "own.data"
    result = invoke("data", "scale", XOR, own, "--scale-inputs", "-2,2", "-q")
    assert result.exit_code == 0
    np.testing.assert_allclose(io.load_data(own).inputs, raw.inputs * 2, atol=1e-12)


def test_missing_file(tmp_path: Path) -> None:
    """One line naming the file, exit 2, and no output written."""
    missing, a, b = tmp_path / "nope.data", tmp_path / "a.data", tmp_path / "b.data"
    _bad(invoke("data", "split", missing, a, b), "nope.data")
    assert not a.exists() and not b.exists()


def test_bad_fraction_writes_nothing(tmp_path: Path) -> None:
    a, b = tmp_path / "a.data", tmp_path / "b.data"
    _bad(invoke("data", "split", XOR, a, b, "--fraction", "1.5"), "--fraction")
    _bad(invoke("data", "split", XOR, a, b, "--fraction", "0.01"), "xor.data")
    assert list(tmp_path.iterdir()) == []


def test_incompatible_merge_names_the_file_and_leaves_output_alone(tmp_path: Path) -> None:
    other = tmp_path / "other.data"
    other.write_text("1 3 1\n1 2 3\n1\n")
    out = tmp_path / "out.data"
    out.write_text("keep me\n")
    _bad(invoke("data", "merge", XOR, other, "-o", out), "other.data")
    assert out.read_text() == "keep me\n"


def test_malformed_input_names_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.data"
    broken.write_text("2 2 1\n0 0\n0\n1 x\n1\n")
    out = tmp_path / "o.csv"
    _bad(invoke("data", "convert", broken, out), "broken.data:4")
    assert not out.exists()


def test_output_into_a_missing_directory(tmp_path: Path) -> None:
    """Checked before writing either part of a split."""
    a = tmp_path / "a.data"
    _bad(invoke("data", "split", XOR, a, tmp_path / "no" / "b.data"), "no such directory")
    assert not a.exists()


def test_subset_out_of_range(tmp_path: Path) -> None:
    out = tmp_path / "o.data"
    _bad(invoke("data", "subset", XOR, out, "--start", "3", "--count", "2"), "xor.data")
    assert not out.exists()


def test_the_help_example_learns_xor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fannctl --help`'s example, run as printed, must learn XOR (it once ended at MSE
    0.81: sigmoid_stepwise outputs cannot reach XOR's -1 targets)."""
    import shlex

    monkeypatch.chdir(ROOT)
    text = " ".join(invoke("--help").stdout.split())
    example = text.split("Example: ", 1)[1].split(" Options:", 1)[0]
    commands = [shlex.split(part) for part in example.split(" && ")]
    assert [c[:2] for c in commands] == [["fannctl", "create"], ["fannctl", "train"]]
    net = str(tmp_path / "xor.h5")
    for command in commands:
        args = [net if a == "xor.h5" else a for a in command[1:]]
        result = invoke(*args, "-q")
        assert result.exit_code == 0, result.output
    result = invoke("run", net, XOR, "--metrics", "--json")
    assert json.loads(result.stdout)["mse"] < 0.001


def test_library_warnings_become_one_stderr_line(capsys: pytest.CaptureFixture) -> None:
    """The guard rail's TargetRangeWarning reads as 'fannctl: warning: ...', not as
    Python's two-line 'file:line: Category: message' form; others keep Python's form."""
    import warnings

    from fannctl.cli.data import render_library_warnings
    from fannctl.metrics import TargetRangeWarning

    with pytest.warns(UserWarning, match="not ours") as caught:  # handed on, not printed
        warnings.simplefilter("always")
        render_library_warnings()
        render_library_warnings()  # twice: still one line per warning
        warnings.warn("xor.data: 2 of 4 targets lie outside", TargetRangeWarning, stacklevel=1)
        warnings.warn("not ours", UserWarning, stacklevel=1)
    assert capsys.readouterr().err == "fannctl: warning: xor.data: 2 of 4 targets lie outside\n"
    assert [w.category for w in caught] == [UserWarning]


def test_train_warns_once_when_targets_are_out_of_reach(tmp_path: Path) -> None:
    """The old --help example's trap (sigmoid_stepwise, 0..1, against XOR's -1 targets)
    is named once on stderr before training; reachable targets give no warning."""
    stepwise, symmetric = tmp_path / "step.h5", tmp_path / "sym.h5"
    assert invoke("create", stepwise, "--layers", "2,3,1", "--seed", "1", "-q").exit_code == 0
    args = ("--layers", "2,3,1", "--output-activation", "sigmoid_symmetric", "-q")
    assert invoke("create", symmetric, *args).exit_code == 0
    result = invoke("train", stepwise, XOR, "--max-epochs", "20", "--report-every", "10")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fannctl: warning: ") and "xor.data: 2 of 4 targets" in lines[0]
    assert "sigmoid_stepwise: 0..1" in lines[0]
    assert result.stderr.index("warning") < result.stderr.index("Epochs")  # before training
    quiet = invoke("train", symmetric, XOR, "--max-epochs", "20", "-q")
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr
