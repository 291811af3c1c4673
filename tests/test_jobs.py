"""fannctl.jobs as a Python user drives it: one call per command, typed in and out.

Each test names what it guards against; bad requests must raise the right
FannctlError and leave files as they were.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl import io, jobs, runner
from fannctl.cli.main import app
from fannctl.errors import FormatError, ParameterError, ShapeError
from fannctl.params import Algorithm, ParamOverrides, TrainingParams

ROOT = Path(__file__).resolve().parents[1]
XOR = ROOT / "datasets" / "xor.data"
SYMMETRIC = "sigmoid_symmetric"


def make_xor(path: Path, *, shortcut: bool = False, layers=(2, 3, 1)) -> jobs.CreateOutcome:
    return jobs.create_network(
        jobs.CreateRequest(
            path,
            list(layers),
            shortcut=shortcut,
            hidden_activation=SYMMETRIC,
            output_activation=SYMMETRIC,
            seed=1,
        )
    )


def test_create_network_writes_what_it_returns(tmp_path: Path) -> None:
    # Guards: the outcome describing another network than the file holds.
    outcome = make_xor(tmp_path / "xor.h5")
    assert outcome.to_dict() == {
        "path": str(tmp_path / "xor.h5"),
        "layers": [2, 3, 1],
        "network_type": "layer",
        "connection_rate": 1.0,
        "connections": 13,  # (2 inputs + bias) x 3 + (3 hidden + bias) x 1
        "dtype": "float32",
    }
    saved = io.load_network(tmp_path / "xor.h5")
    np.testing.assert_array_equal(saved.weights, outcome.network.weights)
    assert saved.provenance[-1]["command"] == "fannctl.jobs.create_network"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shortcut": True, "connection_rate": 0.5}, "cannot be combined"),
        ({"init": "xavier"}, "--init must be uniform or widrow"),
        ({"init": "widrow"}, "needs --init-data"),
    ],
)
def test_create_network_refuses_a_bad_request(tmp_path: Path, changes, message) -> None:
    # Guards: a contradictory request writing a network anyway.
    request = jobs.CreateRequest(tmp_path / "bad.h5", [2, 3, 1], **changes)
    with pytest.raises(ParameterError, match=message):
        jobs.create_network(request)
    assert not (tmp_path / "bad.h5").exists()


def test_train_file_matches_the_cli_bit_for_bit(tmp_path: Path) -> None:
    # Guards: the library and the command drifting apart (the CLI must be a thin wrapper).
    lib, cli = tmp_path / "lib.h5", tmp_path / "cli.h5"
    make_xor(lib)
    shutil.copy(lib, cli)
    reports = []
    outcome = jobs.train_file(
        jobs.TrainRequest(
            lib,
            XOR,
            overrides=ParamOverrides(training_algorithm="quickprop", learning_rate=0.5),
            max_epochs=60,
            desired_error=0.0,
            report_every=20,
        ),
        on_report=reports.append,
    )
    args = ["train", str(cli), str(XOR), "-a", "quickprop", "--learning-rate", "0.5"]
    args += ["--max-epochs", "60", "--desired-error", "0", "--report-every", "20", "-q"]
    result = CliRunner().invoke(app, [*args, "--device", "numpy"])
    assert result.exit_code == 0, result.output
    assert (outcome.epochs, outcome.reached, outcome.device) == (60, False, "numpy")
    assert [r.epoch for r in reports] == [1, 20, 40, 60]
    assert outcome.history == reports
    saved, from_cli = io.load_network(lib), io.load_network(cli)
    np.testing.assert_array_equal(saved.weights, outcome.network.weights)
    np.testing.assert_array_equal(saved.weights, from_cli.weights)
    assert saved.params.algorithm is Algorithm.QUICKPROP
    assert saved.params.learning_rate == pytest.approx(0.5)
    assert saved.params.learning_momentum == TrainingParams().learning_momentum  # kept
    assert [h["epoch"] for h in saved.history] == [1, 20, 40, 60]
    assert saved.provenance[-1]["command"] == "fannctl.jobs.train_file"
    assert saved.provenance[-1]["epochs_total"] == 60


def test_train_file_writes_output_and_keeps_the_source(tmp_path: Path) -> None:
    # Guards: --output semantics lost in the library (the source replaced anyway).
    source = tmp_path / "xor.h5"
    make_xor(source)
    before = source.read_bytes()
    outcome = jobs.train_file(
        jobs.TrainRequest(source, XOR, output=tmp_path / "out.net", max_epochs=5)
    )
    assert source.read_bytes() == before
    assert outcome.path == str(tmp_path / "out.net")
    np.testing.assert_array_equal(io.load_network(outcome.path).weights, outcome.network.weights)


def test_train_file_refuses_data_that_does_not_fit(tmp_path: Path) -> None:
    # Guards: a shape mismatch discovered after the file was touched.
    net = tmp_path / "three.h5"
    make_xor(net, layers=(3, 2, 1))
    before = net.read_bytes()
    with pytest.raises(ShapeError, match=r"xor\.data"):
        jobs.train_file(jobs.TrainRequest(net, XOR, max_epochs=5))
    assert net.read_bytes() == before


def test_train_file_refuses_an_unknown_algorithm(tmp_path: Path) -> None:
    make_xor(tmp_path / "xor.h5")
    overrides = ParamOverrides(training_algorithm="adam")
    with pytest.raises(ParameterError, match="unknown training algorithm 'adam'"):
        jobs.train_file(jobs.TrainRequest(tmp_path / "xor.h5", XOR, overrides=overrides))


def test_param_overrides_cover_every_training_parameter() -> None:
    # Guards: a parameter added to TrainingParams that no request can set.
    names = [f.name for f in dataclasses.fields(ParamOverrides)]
    assert sorted(names) == sorted(f.name for f in dataclasses.fields(TrainingParams))
    assert ParamOverrides().apply(TrainingParams()) == TrainingParams()
    changed = ParamOverrides(
        train_stop_function="bit", cascade_activation_functions=["linear", 3]
    ).apply(TrainingParams())
    assert changed.train_stop_function == 1 and type(changed.train_stop_function) is int
    assert changed.cascade_activation_functions == [0, 3]


def test_cascade_file_grows_and_tests(tmp_path: Path) -> None:
    # Guards: cascade's test-set figures computed on another network than the saved one.
    net = tmp_path / "grow.h5"
    make_xor(net, shortcut=True, layers=(2, 1))
    outcome = jobs.cascade_file(
        jobs.CascadeRequest(net, XOR, max_neurons=1, desired_error=0.0, test_data=XOR, seed=3)
    )
    saved = io.load_network(net)
    assert outcome.neurons_added == 1
    assert saved.layers == [2, 1, 1]
    assert [r.neurons for r in outcome.history] == [0]  # the report before growing
    assert outcome.to_dict()["test_mse"] == outcome.test_mse
    assert (outcome.test_mse, outcome.test_bit_fail) == runner.test(saved, io.load_data(XOR))


def test_cascade_file_refuses_a_layered_network(tmp_path: Path) -> None:
    make_xor(tmp_path / "layered.h5")
    with pytest.raises(ParameterError, match="shortcut network"):
        jobs.cascade_file(jobs.CascadeRequest(tmp_path / "layered.h5", XOR))


def test_run_file_outputs_and_metrics(tmp_path: Path) -> None:
    # Guards: run's outputs or metrics not being fann_run / fann_test_data's.
    make_xor(tmp_path / "xor.h5")
    net = io.load_network(tmp_path / "xor.h5")
    data = io.load_data(XOR)
    outcome = jobs.run_file(jobs.RunRequest(tmp_path / "xor.h5", XOR))
    assert outcome.patterns == 4 and outcome.device == "numpy"
    np.testing.assert_array_equal(outcome.outputs, runner.run(net, data.inputs))
    scored = jobs.run_file(jobs.RunRequest(tmp_path / "xor.h5", XOR, metrics=True))
    mse, bit_fail = runner.test(net, data)
    assert scored.metrics() == {"mse": mse, "bit_fail": bit_fail, "patterns": 4}
    assert scored.outputs is None


def test_run_file_metrics_need_labels(tmp_path: Path) -> None:
    make_xor(tmp_path / "xor.h5")
    rows = tmp_path / "rows.txt"
    rows.write_text("1 1\n-1 1\n")
    with pytest.raises(ParameterError, match="needs labelled data"):
        jobs.run_file(jobs.RunRequest(tmp_path / "xor.h5", rows, metrics=True))


def test_stream_blocks_match_the_whole_file(tmp_path: Path) -> None:
    # Guards: a streaming run (block by block) answering differently from a whole-file run.
    make_xor(tmp_path / "xor.h5")
    data = io.load_data(XOR)
    request = jobs.RunRequest(tmp_path / "xor.h5")
    blocks = [data.inputs[:1], data.inputs[1:3], data.inputs[3:]]
    streamed = np.concatenate(list(jobs.run_blocks(request, iter(blocks))))
    whole = jobs.run_file(jobs.RunRequest(tmp_path / "xor.h5", XOR)).outputs
    np.testing.assert_array_equal(streamed, whole)
    pairs = [(data.inputs[:3], data.outputs[:3]), (data.inputs[3:], data.outputs[3:])]
    scored = jobs.metrics_blocks(request, pairs)
    expected = jobs.run_file(jobs.RunRequest(tmp_path / "xor.h5", XOR, metrics=True))
    assert scored.patterns == 4 and scored.bit_fail == expected.bit_fail
    assert scored.mse == pytest.approx(expected.mse, rel=1e-12)
    with pytest.raises(FormatError, match="no patterns"):
        jobs.metrics_blocks(request, [])


def test_open_run_serves_a_reader_that_needs_the_network_first(tmp_path: Path) -> None:
    # Guards: a streaming front end having to open the network twice (or differently)
    # to learn its sizes before it can parse the blocks.
    make_xor(tmp_path / "xor.h5")
    data = io.load_data(XOR)
    session = jobs.open_run(jobs.RunRequest(tmp_path / "xor.h5", "-", dtype="float64"))
    assert (session.network.num_input, session.network.num_output) == (2, 1)
    assert session.network.dtype == np.float64 and session.backend.name == "numpy"
    rows = iter([data.inputs[:2], data.inputs[2:]])
    streamed = np.concatenate(list(session.outputs(rows)))
    np.testing.assert_array_equal(streamed, runner.run(session.network, data.inputs))
    scored = session.metrics([(data.inputs, data.outputs)])
    assert (scored.patterns, scored.bit_fail) == (4, runner.test(session.network, data)[1])


def test_convert_file_round_trips(tmp_path: Path) -> None:
    make_xor(tmp_path / "xor.h5")
    outcome = jobs.convert_file(jobs.ConvertRequest(tmp_path / "xor.h5", tmp_path / "xor.net"))
    back = io.load_network(tmp_path / "xor.net")
    np.testing.assert_array_equal(back.weights, outcome.network.weights)
    with pytest.raises(ParameterError, match="cannot tell the network format"):
        jobs.convert_file(jobs.ConvertRequest(tmp_path / "xor.h5", tmp_path / "xor.txt"))
    assert not (tmp_path / "xor.txt").exists()


def test_describe_file(tmp_path: Path) -> None:
    make_xor(tmp_path / "xor.h5")
    summary = jobs.describe_file(jobs.DescribeRequest(tmp_path / "xor.h5")).summary
    assert (summary["format"], summary["total_connections"]) == ("hdf5", 13)
    assert [layer["neurons"] for layer in summary["layers"]] == [2, 3, 1]
    (tmp_path / "junk.h5").write_text("not a network\n")
    with pytest.raises(FormatError, match=r"junk\.h5"):
        jobs.describe_file(jobs.DescribeRequest(tmp_path / "junk.h5"))
