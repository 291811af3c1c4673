"""Per-agent arrays on disk (swarm/store.py) and swarms that keep them there.

Guards against: an AgentArray that indexes differently from numpy (a row off by
one, a mask read as indices, repeats, ``[rows, columns]``), evolve's copies
reading a row another copy already overwrote, a load or save that changes a
bit, and a swarm on disk whose run differs from the same swarm in memory (or
whose run in two halves differs from one run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl import io
from fannctl.cli.main import app
from fannctl.swarm import RunConfig, load_swarm, parse_vary, run, save_swarm, spawn, store
from fannctl.swarm.topology import build as build_topology

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
WIDE = ("weights", "steepness", "prev_steps", "prev_slopes", "velocity", "best_weights")


@pytest.fixture
def small_budget(monkeypatch):
    """Everything past a few KiB goes to disk, read a few rows at a time."""
    monkeypatch.setattr(store, "MEMORY_BUDGET", 1024)
    monkeypatch.setattr(store, "CHUNK_BYTES", 256)
    monkeypatch.setattr(store, "REDUCE_ROWS", 8)


def _pair(rows=37, cols=5, dtype=np.float32, tmp_path=None):
    values = np.random.default_rng(3).standard_normal((rows, cols)).astype(dtype)
    disk = store.AgentArray(values.shape, dtype, str(tmp_path) if tmp_path else None)
    disk[:] = values
    return values, disk


def test_agent_array_reads_as_numpy_indexes(small_budget, tmp_path):
    values, disk = _pair(tmp_path=tmp_path)
    assert list(tmp_path.iterdir()) == []  # the scratch file is unlinked at once
    mask = np.arange(37) % 3 == 1
    for key in (
        4,
        -1,
        slice(None),
        slice(5, 30),
        slice(30, 5),
        slice(1, 30, 4),
        np.array([3, 3, 0, 36, 2, 3]),
        mask,
        (slice(None), 2),
        (np.array([7, 1, 7]), slice(1, 3)),
        (9, 4),
    ):
        np.testing.assert_array_equal(disk[key], values[key], err_msg=str(key))
    np.testing.assert_array_equal(np.asarray(disk), values)
    with pytest.raises(IndexError):
        disk[37]


def test_agent_array_writes_as_numpy_assigns(small_budget):
    values, disk = _pair()
    rng = np.random.default_rng(4)
    for key, value in (
        (slice(3, 20), rng.standard_normal((17, 5))),
        (Ellipsis, rng.standard_normal(5)),  # one row for every agent
        (np.array([30, 2, 11]), rng.standard_normal((3, 5))),
        (np.arange(37) % 4 == 0, 1.5),
        ((np.array([5, 6, 20]), slice(1, 4)), rng.standard_normal((3, 1))),
        (8, rng.standard_normal(5)),
    ):
        values[key] = value
        disk[key] = value
        np.testing.assert_array_equal(np.asarray(disk), values, err_msg=str(key))


def test_copy_rows_reads_every_source_before_writing(small_budget):
    """Ring neighbourhoods make a loser the source of another loser: the copy must
    take the row as it was, as numpy's fancy assignment does."""
    values, disk = _pair(rows=40)
    targets = np.array([1, 2, 3, 20, 21, 39])
    sources = np.array([2, 3, 4, 1, 39, 21])  # chains and a swap
    store.copy_rows(disk, targets, sources)
    values[targets] = values[sources]
    np.testing.assert_array_equal(np.asarray(disk), values)
    np.testing.assert_array_equal(store.row_sum(disk), values.sum(axis=0, dtype=np.float64))


def _swarm():
    return spawn(
        30,
        layers=[2, 5, 1],
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid_symmetric",
        topology="ring:2",
        vary=[
            parse_vary("learning_rate=0.2:0.9"),
            parse_vary("hidden_steepness=0.3:0.9"),
            parse_vary("algorithm=rprop,quickprop,sarprop,batch"),
        ],
        seed=5,
    )


def _assert_same(a, b, label):
    for name in (*WIDE, "algorithm", "sarprop_epoch", "best_error", "errors"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), (label, name)
        if x is not None:
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=f"{label}: {name}")
    for name, values in a.hyper.items():
        np.testing.assert_array_equal(values, b.hyper[name], err_msg=f"{label}: {name}")
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in a.history]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in b.history], label
    assert a.events.columns().keys() == b.events.columns().keys()
    for name, column in a.events.columns().items():
        np.testing.assert_array_equal(column, b.events.columns()[name], err_msg=name)


@pytest.mark.parametrize(
    ("strategy", "topology"),
    [("average", "ring:2"), ("average", "mesh"), ("evolve", "ring:2"), ("pso", "grid")],
)
def test_a_swarm_on_disk_runs_to_the_bits_of_the_swarm_in_memory(
    small_budget, tmp_path, strategy, topology
):
    data = io.load_data(XOR)
    config = RunConfig(strategy=strategy, rounds=3, epochs_per_round=4)
    memory = _swarm()
    memory.topology = build_topology(topology, 30, 5)
    path = tmp_path / "s.h5"
    save_swarm(memory, path)
    disk = load_swarm(path)
    assert isinstance(disk.weights, store.AgentArray)
    assert isinstance(disk.steepness, store.AgentArray)
    run(memory, data, config, test_data=data)
    run(disk, data, config, test_data=data)
    trained = disk.velocity if strategy == "pso" else disk.prev_steps
    assert isinstance(trained, store.AgentArray)  # made where the weights live
    _assert_same(memory, disk, f"{strategy} on {topology}")
    assert not np.array_equal(memory.weights, _swarm().weights)  # it moved
    save_swarm(disk, path)  # written a chunk at a time, read back the same
    _assert_same(memory, load_swarm(path), "saved from disk")


def test_cli_run_on_disk_equals_in_memory_and_two_halves_equal_one_run(tmp_path, monkeypatch):
    runner = CliRunner()
    paths = {name: tmp_path / f"{name}.h5" for name in ("memory", "disk", "halves")}
    for path in paths.values():
        save_swarm(_swarm(), path)
    common = [XOR, "--strategy", "evolve", "--epochs-per-round", "3", "--quiet"]
    done = runner.invoke(app, ["swarm", "run", str(paths["memory"]), *common, "--rounds", "4"])
    assert done.exit_code == 0, done.output
    monkeypatch.setattr(store, "MEMORY_BUDGET", 1024)
    monkeypatch.setattr(store, "CHUNK_BYTES", 256)
    done = runner.invoke(app, ["swarm", "run", str(paths["disk"]), *common, "--rounds", "4"])
    assert done.exit_code == 0, done.output
    for _ in range(2):
        done = runner.invoke(app, ["swarm", "run", str(paths["halves"]), *common, "--rounds", "2"])
        assert done.exit_code == 0, done.output
    monkeypatch.undo()
    memory = load_swarm(paths["memory"])
    assert isinstance(memory.weights, np.ndarray) and memory.round == 4
    _assert_same(memory, load_swarm(paths["disk"]), "CLI, on disk")
    _assert_same(memory, load_swarm(paths["halves"]), "CLI, two halves on disk")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fannctl-swarm-")]


def test_the_ensemble_mean_does_not_depend_on_the_chunks():
    """The ensemble's outputs are summed agent after agent: a chunk's own sum added to
    the total gave other float64 bits for other chunk sizes (the history's ensemble
    error of a float64 swarm on disk differed from the one in memory)."""
    from fannctl.swarm import batched
    from fannctl.swarm.rounds import ensemble_outputs

    swarm = spawn(
        200, layers=[3, 5, 2], dtype="float64", seed=4,
        output_activation="linear", hidden_activation="sigmoid_symmetric",
    )  # fmt: skip
    swarm.weights[:] = swarm.weights * np.random.default_rng(3).lognormal(0, 3, (200, 1))
    shape = batched.Shape.of(swarm.template)
    inputs = np.random.default_rng(2).uniform(-1, 1, (30, 3))
    whole = ensemble_outputs(swarm, shape, inputs, chunk=200)
    for chunk in (1, 3, 7, 64):
        np.testing.assert_array_equal(ensemble_outputs(swarm, shape, inputs, chunk), whole)


def test_agent_array_refuses_or_broadcasts_as_numpy_does(small_budget):
    """A slice given more or fewer rows than it names: numpy raises or broadcasts; the
    disk array wrote them past the slice, or only the first row."""
    values, disk = _pair()
    with pytest.raises(ValueError):
        values[0:3] = np.ones((5, 5))
    with pytest.raises(ValueError):
        disk[0:3] = np.ones((5, 5))
    values[4:9] = np.arange(5.0)[None]
    disk[4:9] = np.arange(5.0)[None]
    np.testing.assert_array_equal(np.asarray(disk), values)
