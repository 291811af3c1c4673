"""Swarm files, predictions, export and describe.

Guards against: state lost in a save/load round trip, a network file taken
for a swarm (or the reverse), an ensemble that is not the mean of its agents,
an export that is not exactly the agent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fannctl import io, runner
from fannctl.errors import FormatError, ParameterError
from fannctl.network import build
from fannctl.swarm import (
    RunConfig,
    describe,
    export_agent,
    is_swarm_file,
    load_swarm,
    predict,
    run,
    save_swarm,
    spawn,
)
from fannctl.swarm.population import parse_vary

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")


@pytest.fixture
def trained():
    swarm = spawn(
        9,
        layers=[2, 3, 1],
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid_symmetric",
        topology="ring:1",
        vary=[parse_vary("learning_rate=0.2:0.9"), parse_vary("algorithm=rprop,quickprop")],
        seed=5,
    )
    data = io.load_data(XOR)
    run(swarm, data, RunConfig(strategy="evolve", rounds=2, epochs_per_round=30), test_data=data)
    return swarm


def test_round_trip_keeps_everything(tmp_path: Path, trained):
    path = tmp_path / "s.h5"
    save_swarm(trained, path)
    back = load_swarm(path)
    for name in ("weights", "steepness", "algorithm", "prev_steps", "prev_slopes", "errors"):
        np.testing.assert_array_equal(getattr(back, name), getattr(trained, name), err_msg=name)
    for name, values in trained.hyper.items():
        np.testing.assert_array_equal(back.hyper[name], values)
    assert back.history == trained.history and back.round == 2
    assert back.topology.spec == "ring:1"
    np.testing.assert_array_equal(back.topology.neighbours, trained.topology.neighbours)
    assert [v.to_dict() for v in back.vary] == [v.to_dict() for v in trained.vary]
    for key, column in trained.events.columns().items():
        np.testing.assert_array_equal(back.events.columns()[key], column)
    # about the weights plus state, not more (issue: within twice)
    payload = sum(getattr(trained, n).nbytes for n in ("weights", "prev_steps", "prev_slopes"))
    assert path.stat().st_size < 2 * payload + 64 * 1024


def test_swarm_and_network_files_told_apart(tmp_path: Path, trained):
    swarm_path, net_path = tmp_path / "s.h5", tmp_path / "n.h5"
    save_swarm(trained, swarm_path)
    io.save_network(build([2, 3, 1], seed=1), net_path)
    assert is_swarm_file(swarm_path) and not is_swarm_file(net_path)
    assert not is_swarm_file(XOR) and not is_swarm_file(tmp_path / "missing.h5")
    with pytest.raises(FormatError, match="not a fannctl swarm file"):
        load_swarm(net_path)


def test_ensemble_is_mean_of_agents(trained):
    data = io.load_data(XOR)
    single = np.stack([predict(trained, data.inputs, agent=a) for a in range(trained.agents)])
    mean = predict(trained, data.inputs)
    np.testing.assert_allclose(mean, single.mean(axis=0), rtol=1e-6, atol=1e-7)
    votes = predict(trained, data.inputs, vote=True)
    majority = np.where((single[:, :, 0] > 0).sum(axis=0) > trained.agents / 2, 1.0, -1.0)
    np.testing.assert_array_equal(votes[:, 0], majority)
    with pytest.raises(ParameterError):
        predict(trained, data.inputs, agent=0, vote=True)


def test_export_is_exactly_the_agent(trained):
    data = io.load_data(XOR)
    best = trained.best_agent()
    assert trained.errors[best] == np.nanmin(trained.errors)
    net = export_agent(trained, "best")
    np.testing.assert_array_equal(net.weights, trained.weights[best])
    assert net.params.learning_rate == trained.hyper["learning_rate"][best]
    assert net.params.training_algorithm == trained.algorithm[best]
    np.testing.assert_array_equal(
        runner.run(net, data.inputs), predict(trained, data.inputs, agent=best)
    )
    with pytest.raises(ParameterError):
        export_agent(trained, 9)


def test_describe(trained):
    summary = describe(trained, "s.h5")
    assert summary["agents"] == 9 and summary["layers"] == [2, 3, 1]
    assert summary["topology"] == "ring:1" and summary["rounds"] == 2
    assert len(summary["history"]) == 2
    errors = [b["error"] for b in summary["best_agents"]]
    assert errors == sorted(errors) and summary["best_agents"][0]["agent"] == trained.best_agent()
    assert summary["lineage"]["by_kind"]["spawn"] == 9
    assert summary["lineage"]["by_kind"]["copy"] == len(
        np.flatnonzero(trained.events.columns()["kind"] == 1)
    )


def test_spawn_lazy_equals_materialized(tmp_path: Path):
    """The CLI's block-by-block write gives the same file content as the in-memory swarm."""
    lazy = spawn(3000, layers=[4, 5, 2], seed=9, lazy=True)
    eager = spawn(3000, layers=[4, 5, 2], seed=9)
    save_swarm(lazy, tmp_path / "s.h5")
    np.testing.assert_array_equal(load_swarm(tmp_path / "s.h5").weights, eager.weights)
    assert np.abs(eager.weights).max() <= 0.1


def test_spawn_refuses_functions_beyond_fanns():
    """An activation computed across a layer (fannctl's softmax, id 20) would be
    evaluated neuron by neuron by the batched trainer: refused at spawn."""
    net = build([2, 3, 2], seed=1)
    net.activation[net.layer_first()[-1] :] = 20
    with pytest.raises(ParameterError, match="activation functions only"):
        spawn(3, template=net)


def test_damaged_files_fail_with_one_line(tmp_path: Path, trained):
    """Truncated or inconsistent swarm files: FormatError naming the file, never an
    h5py error or an IndexError later in a run."""
    import h5py

    path = tmp_path / "s.h5"
    save_swarm(trained, path)
    raw = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FormatError, match=r"cut\.h5"):
        load_swarm(cut)
    with h5py.File(path, "r+") as root:
        del root["agents/hyper/learning_rate"]
        root["agents/hyper"].create_dataset("learning_rate", data=np.ones(3))
    with pytest.raises(FormatError, match="learning_rate"):
        load_swarm(path)
