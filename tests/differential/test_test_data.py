"""Differential tests: fannctl.runner.test against libfann 2.2's fann_test_data (float64).

Both read the same .data file (written by fannctl with exact=True) and the same
.net file (written by fannctl). The MSE and the bit fail must agree: this
catches a wrong halving of the error for symmetric outputs, a missing or extra
1/2 factor, a wrong mean (per pattern instead of per output) and a bit-fail
test on the wrong error or with the wrong limit.
"""

from __future__ import annotations

from pathlib import Path

import libfann as lf
import numpy as np
import pytest

pytestmark = pytest.mark.libfann

KINDS = ("standard", "sparse", "shortcut")
# (first output, second output): symmetric and plain activations side by side
OUTPUT_PAIRS = ((5, 3), (11, 0), (13, 10), (8, 17), (6, 4))
MSE_RTOL = 1e-6  # fann_test_data sums squared errors in a C float


def write_data(path: Path, seed: int) -> None:
    from fannctl.data import TrainingData
    from fannctl.io import save_data

    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, (40, 4))
    y = np.column_stack([np.sin(x[:, 0] * x[:, 1]), rng.uniform(0.0, 1.0, 40)])
    save_data(TrainingData(x, y), path, exact=True)


@pytest.mark.parametrize("outputs", OUTPUT_PAIRS, ids=lambda p: f"out{p[0]}-{p[1]}")
@pytest.mark.parametrize("kind", KINDS)
def test_test_data_matches_libfann(
    tmp_path: Path, to_libfann, kind: str, outputs: tuple[int, int]
) -> None:
    from fannctl import network, runner
    from fannctl.io import load_data

    options = {"standard": {}, "sparse": {"connection_rate": 0.5}, "shortcut": {"shortcut": True}}
    layers = [4, 5, 2] if kind == "shortcut" else [4, 5, 3, 2]
    rng = np.random.default_rng(sum(outputs) + 7 * KINDS.index(kind))
    net = network.create(layers, rng=rng, dtype="float64", **options[kind])
    net.weights[:] = rng.uniform(-1.2, 1.2, net.weights.size)
    for layer in range(1, len(layers) - 1):
        network.set_activation(net, layer, 5, 0.8)
    network.set_activation(net, len(layers) - 1, outputs[1], 0.7)
    out = net.layer_first()[-1]
    net.activation[out] = outputs[0]
    net.steepness[out] = 1.1
    net.params.bit_fail_limit = 0.3  # must reach libfann through the file
    path = tmp_path / "test.data"
    write_data(path, 11)
    data = load_data(path)
    with to_libfann(net) as ann, lf.TrainData.read(path) as lib_data:
        assert ann.get_bit_fail_limit() == 0.3
        lib_mse, lib_bit_fail = ann.test_data(lib_data)
        lib_mse_again = ann.get_MSE()
    mse, bit_fail = runner.test(net, data)
    what = f"{kind} outputs {outputs}"
    assert mse == pytest.approx(lib_mse, rel=MSE_RTOL), f"{what}: MSE {mse} vs libfann {lib_mse}"
    assert lib_mse_again == lib_mse
    assert bit_fail == lib_bit_fail, f"{what}: bit fail {bit_fail} vs libfann {lib_bit_fail}"
    total = data.num_patterns * data.num_output
    assert 0 < lib_bit_fail < total, f"{what}: bit fail {lib_bit_fail} of {total} tests nothing"
