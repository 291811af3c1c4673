"""``fannctl cascade`` as a user drives it (typer's CliRunner).

Each test names what it guards against. The data set is small (40 patterns, 4
inputs) and the phases are short, so growing a few neurons takes well under a
second; the algorithm itself is checked against libfann in
tests/differential/test_cascade.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
runner = CliRunner()

SHORT = [
    "--max-out-epochs", "40", "--min-out-epochs", "10",
    "--max-cand-epochs", "40", "--min-cand-epochs", "10",
]  # fmt: skip
# FANN's printf formats (fann_cascade.c), turned into patterns
MAX_LINE = re.compile(r"^Max neurons +\d+\. Desired error: \d+\.\d{6}$")
NEURON_LINE = re.compile(
    r"^Neurons     (?P<neurons>[ \d]{3,})\. Current error: (?P<mse>\d+\.\d{6})\. "
    r"Total error:(?P<sse>[ \d]{3,}\.\d{4})\. Epochs (?P<epochs>[ \d]{5,})\. "
    r"Bit fail (?P<bit_fail>[ \d]{3,})"
    r"(?:\. candidate steepness (?P<steepness>\d+\.\d\d)\. function (?P<function>FANN_[A-Z_]+))?$"
)
FINAL_LINE = re.compile(r"^Train outputs    Current error: \d+\.\d{6}\. Epochs [ \d]{6,}$")
JSON_KEYS = {"neurons_added", "mse", "bit_fail", "reached", "seconds", "history"}
HISTORY_KEYS = {"neurons", "mse", "bit_fail", "epochs", "activation", "steepness"}


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


@pytest.fixture
def small_data(tmp_path: Path) -> str:
    """40 patterns, 4 inputs, 1 output: needs hidden neurons, grows in milliseconds."""
    rng = np.random.default_rng(20240611)
    x = rng.uniform(-1.0, 1.0, (40, 4))
    y = np.tanh(3 * x[:, 0] * x[:, 1] - 0.5 * x[:, 1] + 0.3 * x[:, 2] * x[:, 3]) * 0.8
    path = tmp_path / "small.data"
    rows = "".join(
        " ".join(f"{v:.9g}" for v in row) + f"\n{t:.9g}\n" for row, t in zip(x, y, strict=True)
    )
    path.write_text(f"40 4 1\n{rows}")
    return str(path)


def create_shortcut(path: Path, layers: str = "4,1", *extra: str) -> str:
    result = invoke(
        "create", str(path), "--shortcut", "--layers", layers,
        "--output-activation", "linear", "--seed", "1", "--quiet", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return str(path)


def test_user_flow_json(tmp_path: Path, small_data: str) -> None:
    """The issue's flow: create --shortcut, cascade --json, one JSON document on stdout.

    Catches: missing or renamed keys, history not one entry per report, the grown
    net not written to --output, the input net modified when --output is given.
    """
    net = create_shortcut(tmp_path / "net.h5")
    before = Path(net).read_bytes()
    grown = str(tmp_path / "grown.h5")
    result = invoke(
        "cascade", net, small_data, "--output", grown, "--max-neurons", "3",
        "--desired-error", "0", "--seed", "7", "--json", "--quiet", *SHORT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert JSON_KEYS <= set(report)
    assert report["neurons_added"] == 3
    assert report["reached"] is False  # desired error 0 is never reached
    assert 0 < report["mse"] < 0.2 and report["seconds"] > 0
    history = report["history"]
    assert [h["neurons"] for h in history] == [0, 1, 2]  # reports before each install
    for h in history:
        assert set(h) == HISTORY_KEYS
    assert history[0]["activation"] is None and history[0]["steepness"] is None
    assert all(isinstance(h["activation"], str) for h in history[1:])
    assert all(h["steepness"] in (0.25, 0.5, 0.75, 1.0) for h in history[1:])
    assert [h["epochs"] for h in history] == sorted(h["epochs"] for h in history)
    assert history[0]["mse"] > report["mse"]
    assert Path(net).read_bytes() == before
    info = json.loads(invoke("info", grown, "--json").stdout)
    assert [layer["neurons"] for layer in info["layers"]] == [4, 1, 1, 1, 1]


def test_same_seed_same_network(tmp_path: Path, small_data: str) -> None:
    """--seed makes a cascade run reproducible (candidate draws come from it)."""
    outs = []
    for name in ("a", "b"):
        net = create_shortcut(tmp_path / f"{name}.net")
        result = invoke(
            "cascade", net, small_data, "--max-neurons", "2", "--desired-error", "0",
            "--seed", "11", "--quiet", *SHORT,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outs.append(invoke("run", net, small_data).stdout)
    assert outs[0] == outs[1] and outs[0]


def test_report_lines_on_stderr_in_fann_format(tmp_path: Path, small_data: str) -> None:
    """FANN's report lines, on stderr; stdout stays empty without --json.

    Catches: reports on stdout, a different printf layout than fann_cascade.c's,
    the neuron count not being the hidden neurons so far, the candidate part on the
    first line (no hidden layer yet) or missing afterwards.
    """
    net = create_shortcut(tmp_path / "net.h5")
    result = invoke(
        "cascade", net, small_data, "--max-neurons", "3", "--desired-error", "0",
        "--seed", "7", "--json", *SHORT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    lines = result.stderr.splitlines()
    assert lines[0] == "Max neurons   3. Desired error: 0.000000"
    assert MAX_LINE.match(lines[0])
    neuron_lines = [NEURON_LINE.match(line) for line in lines[1:4]]
    assert all(neuron_lines), lines
    assert FINAL_LINE.match(lines[4]), lines[4]
    for match, entry in zip(neuron_lines, report["history"], strict=True):
        assert int(match["neurons"]) == entry["neurons"]
        assert float(match["mse"]) == pytest.approx(entry["mse"], abs=5e-7)
        assert int(match["epochs"]) == entry["epochs"]
        assert int(match["bit_fail"]) == entry["bit_fail"]
        if entry["activation"] is None:
            assert match["function"] is None
        else:
            assert match["function"] == "FANN_" + entry["activation"].upper()
            assert float(match["steepness"]) == entry["steepness"]
    assert lines[1].startswith("Neurons       0. Current error: ")
    assert f"Epochs {report['epochs']:6d}" in lines[4]


def test_neurons_between_reports(tmp_path: Path, small_data: str) -> None:
    """--neurons-between-reports 2 reports i=1, every second and the last (FANN's rule)."""
    net = create_shortcut(tmp_path / "net.h5")
    result = invoke(
        "cascade", net, small_data, "--max-neurons", "4", "--desired-error", "0",
        "--seed", "7", "--neurons-between-reports", "2", "--json", "--quiet", *SHORT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # FANN reports at i = 1, i % 2 == 0 and i == max, printing i - 1
    assert [h["neurons"] for h in json.loads(result.stdout)["history"]] == [0, 1, 3]


def test_quiet_prints_nothing(tmp_path: Path, small_data: str) -> None:
    net = create_shortcut(tmp_path / "net.h5")
    result = invoke(
        "cascade", net, small_data, "--max-neurons", "1", "--quiet", "--seed", "1", *SHORT
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""


def test_info_json_history_names_each_neuron(tmp_path: Path, small_data: str) -> None:
    """info --json keeps each installed neuron's function and steepness, as installed.

    Catches: history entries that do not match the neurons in the file.
    """
    net = create_shortcut(tmp_path / "net.h5")
    result = invoke(
        "cascade", net, small_data, "--max-neurons", "3", "--desired-error", "0",
        "--seed", "5", "--quiet", *SHORT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    info = json.loads(invoke("info", net, "--json").stdout)
    grown = [h for h in info["history"] if "neurons" in h]
    assert [h["neurons"] for h in grown] == [0, 1, 2]
    assert all(h["algorithm"] == "cascade-rprop" for h in grown)
    hidden = [layer["activations"][0] for layer in info["layers"][1:-1]]
    assert len(hidden) == 3
    # the report after neuron k names neuron k; the last neuron is named by none
    for entry, neuron in zip(grown[1:], hidden, strict=False):
        assert entry["activation"] == neuron["function"]
        assert entry["steepness"] == neuron["steepness"]


def test_stops_when_desired_error_reached(tmp_path: Path) -> None:
    """XOR with a reachable target stops early and says so (reached, fewer neurons)."""
    net = create_shortcut(tmp_path / "xor.h5", "2,1")
    result = invoke(
        "cascade", net, XOR, "--max-neurons", "10", "--desired-error", "0.001",
        "--seed", "3", "--json", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["reached"] is True
    assert report["mse"] <= 0.001
    assert 1 <= report["neurons_added"] < 10
    values = [float(v) for v in invoke("run", net, XOR).stdout.split()]
    np.testing.assert_allclose(values, [-1, 1, 1, -1], atol=0.1)


def test_bit_stop_function(tmp_path: Path, small_data: str) -> None:
    """--stop-function bit --bit-fail-limit: reached means bit fail <= desired error."""
    net = create_shortcut(tmp_path / "net.h5")
    result = invoke(
        "cascade", net, small_data, "--max-neurons", "8", "--desired-error", "2",
        "--stop-function", "bit", "--bit-fail-limit", "0.2", "--seed", "2",
        "--json", "--quiet", *SHORT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["reached"] is True and report["bit_fail"] <= 2
    assert report["history"][-1]["bit_fail"] <= 2
    assert all(h["bit_fail"] > 2 for h in report["history"][:-1])


def test_non_shortcut_net_is_refused(tmp_path: Path, small_data: str) -> None:
    """A layered net: one clear line, exit 2, the file byte for byte unchanged."""
    net = tmp_path / "layered.h5"
    assert invoke("create", str(net), "--layers", "4,3,1", "--quiet").exit_code == 0
    before = net.read_bytes()
    result = invoke("cascade", str(net), small_data, "--max-neurons", "2")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert "shortcut" in result.stderr
    assert net.read_bytes() == before


@pytest.mark.parametrize("algorithm", ["batch", "incremental"])
def test_batch_and_incremental_are_refused(tmp_path: Path, small_data: str, algorithm: str) -> None:
    """FANN cascades only with rprop/quickprop/sarprop: exit 2 naming the algorithm."""
    net = create_shortcut(tmp_path / "net.h5")
    before = Path(net).read_bytes()
    result = invoke("cascade", net, small_data, "--algorithm", algorithm)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert algorithm in result.stderr and "rprop" in result.stderr
    assert Path(net).read_bytes() == before


def test_size_mismatch_is_refused(tmp_path: Path) -> None:
    """Data with other sizes than the net: exit 2, nothing written."""
    net = create_shortcut(tmp_path / "net.h5", "3,1")
    before = Path(net).read_bytes()
    result = invoke("cascade", net, XOR)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert Path(net).read_bytes() == before


@pytest.mark.parametrize("algorithm", ["quickprop", "sarprop"])
def test_other_algorithms_grow(tmp_path: Path, small_data: str, algorithm: str) -> None:
    """--algorithm quickprop/sarprop are accepted and grow the requested neurons."""
    net = create_shortcut(tmp_path / "net.h5")
    result = invoke(
        "cascade", net, small_data, "--algorithm", algorithm, "--max-neurons", "2",
        "--desired-error", "0", "--seed", "1", "--json", "--quiet", *SHORT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["neurons_added"] == 2
    assert np.isfinite(report["mse"])


def test_candidate_options_reach_the_network(tmp_path: Path, small_data: str) -> None:
    """--activation-functions/--activation-steepnesses restrict the candidates.

    Catches: options parsed but not passed to the pool; the values not stored in
    the network file.
    """
    net = create_shortcut(tmp_path / "net.net")
    result = invoke(
        "cascade", net, small_data, "--max-neurons", "2", "--desired-error", "0",
        "--activation-functions", "elliot_symmetric", "--activation-steepnesses", "0.75",
        "--num-candidate-groups", "3", "--weight-multiplier", "0.25", "--seed", "1",
        "--quiet", *SHORT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = Path(net).read_text()
    assert "cascade_activation_functions=11 \n" in text
    assert "cascade_num_candidate_groups=3\n" in text
    assert "cascade_max_cand_epochs=40\n" in text
    info = json.loads(invoke("info", net, "--json").stdout)
    for layer in info["layers"][1:-1]:
        assert layer["activations"][0]["function"] == "elliot_symmetric"
        assert layer["activations"][0]["steepness"] == 0.75


def test_grown_net_trains_further_and_converts(tmp_path: Path, small_data: str) -> None:
    """The grown net is an ordinary net: train improves it, convert to .net and back
    runs identically.
    """
    net = create_shortcut(tmp_path / "net.h5", "4,1", "--dtype", "float64")
    result = invoke(
        "cascade", net, small_data, "--max-neurons", "3", "--desired-error", "0",
        "--seed", "4", "--json", "--quiet", *SHORT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    before = json.loads(invoke("run", net, small_data, "--metrics", "--json").stdout)
    trained = invoke(
        "train", net, small_data, "--max-epochs", "200", "--desired-error", "0",
        "--json", "--quiet",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    after = json.loads(invoke("run", net, small_data, "--metrics", "--json").stdout)
    assert after["mse"] < before["mse"]
    net_file = str(tmp_path / "grown.net")
    assert invoke("convert", net, net_file).exit_code == 0
    assert "network_type=1\n" in Path(net_file).read_text()
    assert "layer_sizes=5 1 1 1 1 \n" in Path(net_file).read_text()
    via_net = invoke("run", net_file, small_data, "--dtype", "float64").stdout
    assert via_net == invoke("run", net, small_data).stdout


def test_test_option_reports_test_error(tmp_path: Path, small_data: str) -> None:
    """--test FILE adds the test set's MSE and bit fail to the JSON."""
    net = create_shortcut(tmp_path / "net.h5")
    result = invoke(
        "cascade", net, small_data, "--max-neurons", "1", "--test", small_data,
        "--seed", "1", "--json", "--quiet", *SHORT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    metrics = json.loads(invoke("run", net, small_data, "--metrics", "--json").stdout)
    assert report["test_mse"] == pytest.approx(metrics["mse"], rel=1e-6)
    assert report["test_bit_fail"] == metrics["bit_fail"]


def test_help_has_example() -> None:
    result = invoke("cascade", "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout and "--shortcut" in result.stdout


def test_bad_steepness_list_is_one_line(tmp_path) -> None:
    """A non-number in --activation-steepnesses is a usage error, not a traceback."""
    from typer.testing import CliRunner

    from fannctl.cli.main import app

    net = str(tmp_path / "s.h5")
    runner = CliRunner()
    runner.invoke(app, ["create", net, "--shortcut", "--layers", "2,1", "-q"])
    result = runner.invoke(app, ["cascade", net, XOR, "--activation-steepnesses", "0.5,abc"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "--activation-steepnesses" in result.stderr
