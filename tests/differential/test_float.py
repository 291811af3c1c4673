"""Differential tests: fannctl in float32 against FANN's float build (libfloatfann).

FANN's default build computes in C ``float``; fannctl's default dtype is
float32. Both engines start from the same ``.net`` and train epoch by epoch on
the same data. RPROP only looks at the signs of the summed slopes and moves
weights by exact steps, so its weights agree bit for bit; the other rules add
slopes summed in another order (FANN: one pattern at a time; fannctl: BLAS),
so they agree to float rounding. This is also where a float32 detail of FANN's
shows: its tanh error function is evaluated in double (``log((1.0+e)/(1.0-e))``).
"""

from __future__ import annotations

import ctypes
import gzip
from pathlib import Path

import numpy as np
import pytest

from fannctl import network
from fannctl.backends.numpy_backend import NumpyBackend
from fannctl.io import load_data, open_network, save_network
from fannctl.train import train_epoch

pytestmark = pytest.mark.libfann  # libfann-dev brings the float build with the double one

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
INCREMENTAL, BATCH, RPROP, QUICKPROP = 0, 1, 2, 3
SIGMOID_SYMMETRIC = 5
EPOCHS = 30
# relative weight difference allowed after EPOCHS epochs (measured: RPROP 0,
# batch/QuickProp <= 2e-6 on parity8, incremental <= 1.3e-4 on xor and parity8)
WEIGHT_RTOL = {RPROP: 0.0, BATCH: 1e-4, QUICKPROP: 1e-4, INCREMENTAL: 1e-3}


class _Connection(ctypes.Structure):
    _fields_ = [("from_neuron", ctypes.c_uint), ("to_neuron", ctypes.c_uint),
                ("weight", ctypes.c_float)]  # fmt: skip


def _float_fann() -> ctypes.CDLL:
    lib = ctypes.CDLL("libfloatfann.so.2")
    lib.fann_create_from_file.restype = ctypes.c_void_p
    lib.fann_create_from_file.argtypes = [ctypes.c_char_p]
    lib.fann_read_train_from_file.restype = ctypes.c_void_p
    lib.fann_read_train_from_file.argtypes = [ctypes.c_char_p]
    lib.fann_train_epoch.restype = ctypes.c_float
    lib.fann_train_epoch.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.fann_get_total_connections.restype = ctypes.c_uint
    lib.fann_get_total_connections.argtypes = [ctypes.c_void_p]
    lib.fann_get_connection_array.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Connection)]
    for name in ("fann_destroy", "fann_destroy_train"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    return lib


@pytest.mark.parametrize("algorithm", [RPROP, BATCH, QUICKPROP, INCREMENTAL])
@pytest.mark.parametrize(("dataset", "layers"), [("xor.data", [2, 3, 1]),
                                                 ("parity8.train.gz", [8, 6, 1])])  # fmt: skip
def test_float32_training_follows_the_float_build(
    tmp_path: Path, algorithm: int, dataset: str, layers: list[int]
) -> None:
    lib = _float_fann()
    source = DATASETS / dataset
    data_file = tmp_path / "train.data"
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rb") as raw:
        data_file.write_bytes(raw.read())
    net = network.create(layers, dtype="float32", rng=np.random.default_rng(3))
    for layer in range(1, len(layers)):
        network.set_activation(net, layer, SIGMOID_SYMMETRIC)
    net.params.training_algorithm = algorithm
    net_file = tmp_path / "start.net"
    save_network(net, net_file)

    ann = lib.fann_create_from_file(str(net_file).encode())
    train = lib.fann_read_train_from_file(str(data_file).encode())
    assert ann and train
    ours = open_network(net_file)
    assert ours.dtype == np.float32
    data = load_data(data_file).astype(np.float32)
    count = lib.fann_get_total_connections(ann)
    connections = (_Connection * count)()
    try:
        for epoch in range(1, EPOCHS + 1):
            lib_mse = lib.fann_train_epoch(ann, train)
            result = train_epoch(ours, data, backend=NumpyBackend())
            assert result.mse == pytest.approx(lib_mse, rel=1e-5, abs=1e-9), f"epoch {epoch}"
        lib.fann_get_connection_array(ann, connections)
        lib_weights = np.array([c.weight for c in connections], dtype=np.float32)
        if WEIGHT_RTOL[algorithm] == 0.0:
            np.testing.assert_array_equal(ours.weights, lib_weights)
        else:
            np.testing.assert_allclose(
                ours.weights, lib_weights, rtol=WEIGHT_RTOL[algorithm], atol=1e-6
            )
    finally:
        lib.fann_destroy_train(train)
        lib.fann_destroy(ann)
