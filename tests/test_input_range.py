"""The second guard rail (issue 15, item 5): train warns once when inputs lie far
outside the range the network's input scaling was computed on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from fannctl import network
from fannctl.data import TrainingData, set_scaling_params
from fannctl.io import open_network, save_network
from fannctl.metrics import inputs_outside_range


def write_data(path: Path, inputs: np.ndarray, outputs: np.ndarray) -> Path:
    lines = [f"{len(inputs)} {inputs.shape[1]} {outputs.shape[1]}"]
    for x, y in zip(inputs, outputs, strict=True):
        lines += [" ".join(map(repr, x.tolist())), " ".join(map(repr, y.tolist()))]
    path.write_text("\n".join(lines) + "\n")
    return path


def make(rng, scale: float):
    x = rng.uniform(-1, 1, (40, 3)) * scale
    return x, (x[:, :1] > 0).astype(float)


def test_the_range_is_stored_and_read_back(tmp_path):
    rng = np.random.default_rng(1)
    x, y = make(rng, 1.0)
    net = network.create([3, 4, 1], rng=rng)
    set_scaling_params(net, TrainingData(x, y), (-1.0, 1.0), None)
    np.testing.assert_array_equal(net.scaling.input_range, [x.min(axis=0), x.max(axis=0)])
    save_network(net, tmp_path / "n.h5")
    again = open_network(tmp_path / "n.h5")
    np.testing.assert_array_equal(again.scaling.input_range, net.scaling.input_range)
    assert inputs_outside_range(again, TrainingData(x, y)) is None
    far = TrainingData(x * 50, y, source="far.data")
    message = inputs_outside_range(again, far)
    assert message.startswith("far.data: input 1 (and 2 more) spans") and "scaled for" in message
    plain = network.create([3, 4, 1], rng=rng)
    assert inputs_outside_range(plain, far) is None  # no stored range, no guess


def test_train_warns_once_on_far_inputs(tmp_path):
    rng = np.random.default_rng(2)
    near = write_data(tmp_path / "near.data", *make(rng, 1.0))
    far = write_data(tmp_path / "far.data", *make(rng, 40.0))
    net = tmp_path / "n.h5"

    def fannctl(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "fannctl", *args]
        return subprocess.run(command, capture_output=True, text=True)

    assert fannctl("create", str(net), "--layers", "3,4,1", "--seed", "1").returncode == 0
    first = fannctl("train", str(net), str(near), "--scale-inputs", "-1,1", "--max-epochs", "5")
    assert first.returncode == 0 and "far outside" not in first.stderr
    again = fannctl("train", str(net), str(near), "--max-epochs", "5", "-q")
    assert again.returncode == 0 and "far outside" not in again.stderr
    moved = fannctl("train", str(net), str(far), "--max-epochs", "5", "-q")
    assert moved.returncode == 0
    warned = [line for line in moved.stderr.splitlines() if "far outside" in line]
    assert len(warned) == 1 and warned[0].startswith("fannctl: warning: ")
    assert "far.data" in warned[0]
