"""The CLI as a user drives it: CliRunner for the commands, subprocess for pipes.

Each test names what it guards against.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def ok(*args: str, input: str | None = None):
    """A step that must succeed (setup, or output a test reads): checks its exit code."""
    result = invoke(*args, input=input)
    assert result.exit_code == 0, f"fannctl {' '.join(args)}: {result.output}"
    return result


@pytest.fixture
def xor_net(tmp_path: Path) -> str:
    path = str(tmp_path / "xor.h5")
    result = invoke(
        "create",
        path,
        "--layers",
        "2,3,1",
        "--hidden-activation",
        "sigmoid_symmetric",
        "--output-activation",
        "sigmoid_symmetric",
        "--seed",
        "1",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    return path


def test_create_train_run_solves_xor(xor_net: str) -> None:
    """The README's main job: XOR is learned and run gives the right signs."""
    result = invoke(
        "train",
        xor_net,
        XOR,
        "--algorithm",
        "rprop",
        "--desired-error",
        "0.0001",
        "--max-epochs",
        "5000",
        "--json",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["reached"] is True
    assert report["mse"] <= 0.0001
    assert report["history"][0]["epoch"] == 1
    assert report["history"][-1]["epoch"] == report["epochs"]
    out = ok("run", xor_net, XOR)
    assert out.exit_code == 0
    values = [float(line) for line in out.stdout.split()]
    assert np.sign(values).tolist() == [-1.0, 1.0, 1.0, -1.0]
    metrics = json.loads(ok("run", xor_net, XOR, "--metrics", "--json").stdout)
    assert metrics["patterns"] == 4 and metrics["bit_fail"] == 0
    assert metrics["mse"] <= 0.0001


def test_report_every_one_lists_every_epoch(xor_net: str) -> None:
    """--report-every 1 gives one history entry per epoch, numbered 1..N."""
    result = invoke(
        "train",
        xor_net,
        XOR,
        "--max-epochs",
        "7",
        "--desired-error",
        "0",
        "--report-every",
        "1",
        "--json",
        "--quiet",
    )
    history = json.loads(result.stdout)["history"]
    assert [h["epoch"] for h in history] == list(range(1, 8))


def test_report_lines_on_stderr_not_stdout(xor_net: str) -> None:
    """Report lines are FANN's and go to stderr, leaving stdout for data."""
    result = invoke(
        "train", xor_net, XOR, "--max-epochs", "20", "--desired-error", "0", "--report-every", "10"
    )
    assert result.exit_code == 0
    assert result.stdout == ""
    lines = [x for x in result.stderr.splitlines() if x.startswith("Epochs")]
    assert len(lines) == 3  # epochs 1, 10, 20
    assert lines[1].startswith("Epochs       10. Current error: ")
    assert lines[1].endswith(".") and "Bit fail" in lines[1]


def test_quiet_prints_nothing(xor_net: str) -> None:
    result = invoke("train", xor_net, XOR, "--max-epochs", "20", "--quiet")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""


def test_train_twice_equals_once(tmp_path: Path) -> None:
    """Training state lives in the file: N + N epochs == 2N epochs (all batch algorithms)."""
    for algorithm in ("rprop", "quickprop", "sarprop", "batch", "incremental"):
        one, two = str(tmp_path / f"a_{algorithm}.h5"), str(tmp_path / f"b_{algorithm}.h5")
        for path in (one, two):
            ok(
                "create",
                path,
                "--layers",
                "2,4,1",
                "--seed",
                "3",
                "--quiet",
                "--hidden-activation",
                "sigmoid_symmetric",
                "--dtype",
                "float64",
            )
        common = [
            "--algorithm",
            algorithm,
            "--desired-error",
            "0",
            "--quiet",
            "--seed",
            "5",
            "--momentum",
            "0.3",
        ]
        ok("train", one, XOR, "--max-epochs", "30", *common)
        ok("train", two, XOR, "--max-epochs", "15", *common)
        ok("train", two, XOR, "--max-epochs", "15", "--desired-error", "0", "--quiet")
        from fannctl.io import load_network

        a, b = load_network(one), load_network(two)
        np.testing.assert_array_equal(a.weights, b.weights, err_msg=algorithm)
        assert b.history[-1]["epoch"] == 30


def test_output_option_leaves_net_untouched(xor_net: str, tmp_path: Path) -> None:
    before = Path(xor_net).read_bytes()
    out = str(tmp_path / "trained.net")
    result = invoke("train", xor_net, XOR, "--max-epochs", "5", "--output", out, "--quiet")
    assert result.exit_code == 0
    assert Path(xor_net).read_bytes() == before
    assert Path(out).read_text().startswith("FANN_FLO_2.1\n")


def test_stdin_inputs(xor_net: str) -> None:
    """`printf '1 -1\\n' | fannctl run net -` reads patterns from stdin."""
    result = invoke("run", xor_net, "-", input="1 -1\n-1 -1\n")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2


def test_run_text_reads_back_exactly(xor_net: str) -> None:
    """Text output round-trips: parsing the printed numbers gives the computed floats."""
    from fannctl import io
    from fannctl import runner as run_mod

    net = io.load_network(xor_net)
    inputs, _ = io.read_inputs(XOR, 2)
    expected = run_mod.run(net, inputs)
    printed = ok("run", xor_net, XOR, "--format", "csv").stdout
    parsed = np.array([[np.float32(v) for v in line.split(",")] for line in printed.split()])
    np.testing.assert_array_equal(parsed, expected)


def test_convert_round_trip(xor_net: str, tmp_path: Path) -> None:
    net_file = str(tmp_path / "x.net")
    back = str(tmp_path / "x.h5")
    assert invoke("convert", xor_net, net_file).exit_code == 0
    assert invoke("convert", net_file, back).exit_code == 0
    a = ok("run", xor_net, XOR).stdout
    b = ok("run", back, XOR).stdout
    assert a == b


def test_info_json(xor_net: str) -> None:
    ok("train", xor_net, XOR, "--max-epochs", "10", "--quiet", "--device", "numpy")
    data = json.loads(ok("info", xor_net, "--json").stdout)
    assert [layer["neurons"] for layer in data["layers"]] == [2, 3, 1]
    assert data["total_connections"] == 13
    assert data["layers"][1]["activations"][0]["function"] == "sigmoid_symmetric"
    assert data["history"][-1]["epoch"] == 10
    assert data["history"][-1]["algorithm"] == "rprop"
    assert data["provenance"][-1]["data_file"] == "xor.data"
    assert len(data["provenance"][-1]["data_sha256"]) == 64
    # which device trained is recorded (info --json and the history say so)
    assert data["provenance"][-1]["device"] == data["history"][-1]["device"] == "numpy"


def test_scaling_stored_and_applied(tmp_path: Path) -> None:
    """--scale-inputs/--scale-outputs store FANN's scaling; run descales outputs."""
    net = str(tmp_path / "s.h5")
    data = tmp_path / "lin.data"
    xs = np.linspace(100, 200, 21)
    rows = "".join(f"{x} {x * 3}\n{x * 10 + 5}\n" for x in xs)
    data.write_text(f"{xs.size} 2 1\n{rows}")
    ok(
        "create",
        net,
        "--layers",
        "2,1",
        "--output-activation",
        "linear",
        "--quiet",
        "--dtype",
        "float64",
    )
    result = invoke(
        "train",
        net,
        str(data),
        "--scale-inputs",
        "-1,1",
        "--scale-outputs",
        "-1,1",
        "--max-epochs",
        "2000",
        "--desired-error",
        "1e-9",
        "--quiet",
        "--error-function",
        "linear",
    )
    assert result.exit_code == 0, result.output
    out = ok("run", net, "-", input="150 450\n")
    assert float(out.stdout) == pytest.approx(1505, rel=1e-3)


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("4 2 1\n-1 -1\n-1\n-1 1\n1\n1 -1\n", 6),  # short file: ends on line 6
        ("4 2 1\n-1 -1\n-1\n-1 x\n1\n1 -1\n1\n1 1\n-1\n", 4),  # non-numeric
        ("4 2 1\n-1 -1\n-1\n-1 nan\n1\n1 -1\n1\n1 1\n-1\n", 4),  # NaN
    ],
)
def test_bad_data_names_file_and_line(
    xor_net: str, tmp_path: Path, content: str, line: int
) -> None:
    """Malformed .data: one stderr line naming FILE:LINE, exit 2, network untouched."""
    bad = tmp_path / "bad.data"
    bad.write_text(content)
    before = Path(xor_net).read_bytes()
    result = invoke("train", xor_net, str(bad), "--max-epochs", "5")
    assert result.exit_code == 2
    assert f"bad.data:{line}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert Path(xor_net).read_bytes() == before


def test_size_mismatch_names_both_sizes(tmp_path: Path) -> None:
    net = str(tmp_path / "n.h5")
    ok("create", net, "--layers", "3,2,1", "--quiet")
    result = invoke("train", net, XOR)
    assert result.exit_code == 2
    assert "2 inputs" in result.stderr and "3 inputs" in result.stderr


def test_unknown_activation_lists_names(tmp_path: Path) -> None:
    out = tmp_path / "n.h5"
    result = invoke("create", str(out), "--layers", "2,1", "--output-activation", "softplus")
    assert result.exit_code == 2
    assert "sigmoid_symmetric" in result.stderr and "linear_piece_symmetric" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("kind", ["missing", "text", "foreign_h5"])
def test_bad_network_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "net.h5"
    if kind == "text":
        path.write_text("hello\n")
    elif kind == "foreign_h5":
        import h5py

        with h5py.File(path, "w") as f:
            f["x"] = [1, 2, 3]
    before = path.read_bytes() if path.exists() else None
    result = invoke("train", str(path), XOR)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(path.name) in result.stderr
    assert (path.read_bytes() if path.exists() else None) == before


def test_subprocess_pipeline_and_exit_codes(tmp_path: Path) -> None:
    """Real processes: stdin pipe, exit code 2 for a usage error, no traceback."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    net = str(tmp_path / "x.h5")
    cmd = [sys.executable, "-m", "fannctl"]
    subprocess.run(
        [*cmd, "create", net, "--layers", "2,3,1", "--seed", "1", "-q"], check=True, env=env
    )
    run = subprocess.run(
        [*cmd, "run", net, "-"], input="1 -1\n", capture_output=True, text=True, env=env
    )
    assert run.returncode == 0 and len(run.stdout.split()) == 1
    bad = subprocess.run(
        [*cmd, "train", net, str(tmp_path / "nope.data")], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2
    assert "nope.data" in bad.stderr and "Traceback" not in bad.stderr


def test_every_command_has_help_with_example() -> None:
    for command in ("create", "train", "run", "cascade", "convert", "info", "health"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        assert "Example" in result.stdout, command
    readme = (ROOT / "README.md").read_text()
    for command in ("create", "train", "run", "cascade", "convert", "info", "health"):
        assert f"fannctl {command}" in readme


def test_csv_training_with_named_output_column(tmp_path: Path) -> None:
    """CSV with a header: --output-columns picks the output by name, wherever it is."""
    csv = tmp_path / "xor.csv"
    csv.write_text("y,a,b\n-1,-1,-1\n1,-1,1\n1,1,-1\n-1,1,1\n")
    net = str(tmp_path / "c.h5")
    ok(
        "create",
        net,
        "--layers",
        "2,3,1",
        "--hidden-activation",
        "sigmoid_symmetric",
        "--output-activation",
        "sigmoid_symmetric",
        "--seed",
        "2",
        "--quiet",
    )
    result = invoke(
        "train",
        net,
        str(csv),
        "--output-columns",
        "y",
        "--max-epochs",
        "3000",
        "--desired-error",
        "0.001",
        "--json",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reached"] is True
    values = [float(v) for v in ok("run", net, "-", input="-1 1\n1 1\n").stdout.split()]
    assert values[0] > 0.5 and values[1] < -0.5


def test_new_algorithm_starts_from_fresh_arrays(tmp_path: Path) -> None:
    """Resuming with another algorithm must not read the old one's steps (QuickProp
    taking RPROP's step sizes as previous steps jumped the error 20x)."""
    kept, dropped = str(tmp_path / "k.h5"), str(tmp_path / "d.net")
    ok(
        "create",
        kept,
        "--layers",
        "2,3,1",
        "--hidden-activation",
        "sigmoid_symmetric",
        "--output-activation",
        "sigmoid_symmetric",
        "--seed",
        "1",
        "-q",
        "--dtype",
        "float64",
    )
    ok("train", kept, XOR, "-a", "rprop", "--max-epochs", "30", "--desired-error", "0", "-q")
    ok("convert", kept, dropped, "-q")  # a .net carries no training arrays
    args = ["-a", "quickprop", "--max-epochs", "5", "--desired-error", "0", "-q", "--json"]
    a = json.loads(ok("train", kept, XOR, *args, "--dtype", "float64").stdout)
    b = json.loads(ok("train", dropped, XOR, *args, "--dtype", "float64").stdout)
    assert a["mse"] == pytest.approx(b["mse"], rel=1e-9)


def test_empty_data_is_refused(xor_net: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.data"
    empty.write_text("0 2 1\n")
    out = tmp_path / "e.h5"
    result = invoke("train", xor_net, str(empty), "-o", str(out), "-a", "batch")
    assert result.exit_code == 2
    assert "no patterns" in result.stderr
    assert not out.exists()


def test_output_name_checked_before_training(xor_net: str, tmp_path: Path) -> None:
    """A bad --output name fails at once, not after the whole run."""
    result = invoke("train", xor_net, XOR, "-o", str(tmp_path / "out.txt"), "--report-every", "1")
    assert result.exit_code == 2
    assert "Epochs" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("epochs", ["0", "-5"])
def test_max_epochs_must_be_positive(xor_net: str, epochs: str) -> None:
    before = Path(xor_net).read_bytes()
    result = invoke("train", xor_net, XOR, "--max-epochs", epochs)
    assert result.exit_code == 2
    assert Path(xor_net).read_bytes() == before


def test_unreported_epochs_still_count(xor_net: str) -> None:
    """--report-every 0 records nothing per epoch, yet later history continues from it."""
    ok(
        "train",
        xor_net,
        XOR,
        "--max-epochs",
        "20",  # short of where this XOR reaches MSE 0 (which would end training early)
        "--desired-error",
        "0",
        "--report-every",
        "0",
        "-q",
    )
    ok(
        "train",
        xor_net,
        XOR,
        "--max-epochs",
        "5",
        "--desired-error",
        "0",
        "--report-every",
        "5",
        "-q",
    )
    history = json.loads(ok("info", xor_net, "--json").stdout)["history"]
    assert [h["epoch"] for h in history] == [21, 25]


def test_convert_keeps_float64_values(tmp_path: Path) -> None:
    """A float64 network survives .h5 -> .net -> .net -> .h5 without rounding."""
    h5, net1, net2, back = (str(tmp_path / n) for n in ("a.h5", "a.net", "b.net", "b.h5"))
    ok("create", h5, "--layers", "2,3,1", "--seed", "1", "--dtype", "float64", "-q")
    for src, dst in ((h5, net1), (net1, net2), (net2, back)):
        assert invoke("convert", src, dst, "-q").exit_code == 0
    assert Path(net1).read_text() == Path(net2).read_text()
    from fannctl.io import load_network

    a, b = load_network(h5), load_network(back)
    assert b.dtype == np.float64
    np.testing.assert_array_equal(a.weights, b.weights)


@pytest.mark.parametrize(
    ("argv", "built"),
    [
        (["info", XOR], {"info"}),
        (["swarm", "--help"], {"spawn", "run", "export"}),
        (["--threads", "1", "info", XOR], "all"),
        (["inf", XOR], "all"),
    ],
)
def test_main_builds_only_the_command_named_first(argv, built, monkeypatch, capsys):
    """Start-up: typer turns every command's signature into options before parsing
    (a fifth of a one-pattern run); a line starting with a command's name needs only
    that one. Root options and typos get the whole app, and the app is whole after."""
    import typer.main

    from fannctl.cli import main

    names: list[str] = []
    build = typer.main.get_command_from_info

    def spy(*args, **kwargs):
        info = kwargs.get("command_info", args[0] if args else None)
        names.append(info.name or info.callback.__name__)
        return build(*args, **kwargs)

    monkeypatch.setattr(typer.main, "get_command_from_info", spy)
    monkeypatch.setattr(sys, "argv", ["fannctl", *argv])
    with pytest.raises(SystemExit):
        main.main()
    everything = len(app.registered_commands)
    if built == "all":
        assert len(names) > everything
    else:
        assert set(names) == built
    assert len(app.registered_commands) == everything == 9
    assert {g.name for g in app.registered_groups} == {"data", "swarm"}
