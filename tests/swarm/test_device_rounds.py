"""`swarm run --device`: whole runs on an OpenCL device against numpy, agent by agent,
for every strategy that trains and every topology.

Tolerance as in test_device.py (float64, rtol 1e-9: the kernels add in another
order than numpy's products, nothing else differs); the exchanges between rounds
are the same numpy code on both sides, so an agent that trained differently,
or an exchange that saw other errors (evolve ranks by them), shows.

Guards against: RunConfig.device not reaching the in-process chunks, a round's
chunks trained on the device with the wrong round or seed (SARPROP's streams),
the CLI option not parsed or a bad device name changing the swarm file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl import io
from fannctl.cli.main import app
from fannctl.swarm import RunConfig, load_swarm, run, spawn
from fannctl.swarm.population import parse_vary

from .test_device import DEVICES, backend  # noqa: F401 (the device fixture)

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
THYROID = str(ROOT / "datasets" / "thyroid.train.gz")
TOPOLOGIES = ("mesh", "star", "ring:2", "grid", "hierarchical:3", "random:2")


def _swarm(topology: str):
    vary = [parse_vary(v) for v in ("learning_rate=0.3:0.9", "algorithm=rprop,quickprop,sarprop")]
    return spawn(
        9,
        layers=[21, 4, 3],
        topology=topology,
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid_symmetric",
        dtype="float64",
        vary=vary,
        seed=6,
    )


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize(
    "strategy,split",
    [("independent", "bootstrap"), ("average", "shard"), ("evolve", "full"), ("pso", "full")],
)
def test_run_on_a_device_matches_numpy(backend, strategy, split, topology):  # noqa: F811
    """Three rounds of five epochs: every agent's weights as numpy's, on every
    strategy and topology (pso trains no gradients: the device is not used, same bits)."""
    data = io.load_data(THYROID)
    data.inputs, data.outputs = data.inputs[:45], data.outputs[:45]
    on_numpy, on_device = _swarm(topology), _swarm(topology)
    config = dict(strategy=strategy, rounds=3, epochs_per_round=5, data_split=split)
    want = run(on_numpy, data, RunConfig(**config))
    got = run(on_device, data, RunConfig(**config, device=backend.name))
    np.testing.assert_allclose(on_device.weights, on_numpy.weights, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose([r.best_error for r in got], [r.best_error for r in want], rtol=1e-9)
    for name, column in on_numpy.events.columns().items():  # the same copies and averages
        np.testing.assert_array_equal(on_device.events.columns()[name], column, err_msg=name)


def test_cli_device_option(tmp_path: Path, backend):  # noqa: F811
    """`swarm run --device NAME` trains there (agents as numpy's to rounding); a bad
    name is one line, exit 2, and the swarm file is untouched."""
    runner = CliRunner()
    swarm_file = tmp_path / "s.h5"
    spawned = runner.invoke(
        app, ["swarm", "spawn", str(swarm_file), "--agents", "20", "--layers", "2,3,1",
              "--seed", "2", "--dtype", "float64", "--hidden-activation", "sigmoid_symmetric"],
    )  # fmt: skip
    assert spawned.exit_code == 0, spawned.output
    numpy_file = tmp_path / "n.h5"
    numpy_file.write_bytes(swarm_file.read_bytes())
    before = hashlib.sha256(swarm_file.read_bytes()).hexdigest()
    bad = runner.invoke(app, ["swarm", "run", str(swarm_file), XOR, "--device", "cl:x"])
    assert bad.exit_code == 2
    assert "unknown device 'cl:x'" in bad.output and "Traceback" not in bad.output
    assert hashlib.sha256(swarm_file.read_bytes()).hexdigest() == before
    # few epochs: the default stepwise output saturates, and RPROP's sign tests on
    # slopes near 0 then amplify the sum order's last bits into whole steps
    args = ["--epochs-per-round", "5", "--rounds", "2", "--quiet"]
    done = runner.invoke(
        app, ["swarm", "run", str(swarm_file), XOR, *args, "--device", backend.name]
    )
    assert done.exit_code == 0, done.output
    plain = runner.invoke(app, ["swarm", "run", str(numpy_file), XOR, *args])
    assert plain.exit_code == 0, plain.output
    device_swarm, numpy_swarm = load_swarm(str(swarm_file)), load_swarm(str(numpy_file))
    assert not np.array_equal(device_swarm.weights, _fresh_weights(tmp_path))
    np.testing.assert_allclose(device_swarm.weights, numpy_swarm.weights, rtol=1e-9, atol=1e-12)


def _fresh_weights(tmp_path: Path) -> np.ndarray:
    fresh = tmp_path / "fresh.h5"
    CliRunner().invoke(
        app, ["swarm", "spawn", str(fresh), "--agents", "20", "--layers", "2,3,1",
              "--seed", "2", "--dtype", "float64", "--hidden-activation", "sigmoid_symmetric"],
    )  # fmt: skip
    return load_swarm(str(fresh)).weights
