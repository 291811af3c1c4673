"""FANN's MSE to the last bit, on a data set where float summation shows.

``MSE_value`` is a C ``float`` in both of FANN's builds: every (pattern, output)
term ``e*e`` is rounded to float and added one at a time, and ``fann_get_MSE``
divides in float. On soybean (342 patterns x 19 outputs) a float64 sum differs
from libfann's in the 6th-7th digit (0.26202402 against 0.26202440 at epoch 1).
fannctl sums as FANN does, so every epoch's MSE agrees at rel 1e-7 (RPROP moves
weights identically in both engines, so the MSE is in fact the same float) for
batch-family and incremental training and ``fann_test_data`` in float64 against
libdoublefann; against libfloatfann in float32, epoch 1 at rel 1e-7 and later
epochs at rel 2e-6 (the float forward sums differ from FANN's in order).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from fannctl import network
from fannctl.backends.numpy_backend import NumpyBackend
from fannctl.io import load_data, open_network, save_network
from fannctl.runner import test as fann_test
from fannctl.train import train_epoch

from .test_float import _float_fann

pytestmark = pytest.mark.libfann

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
SIGMOID_SYMMETRIC, SIGMOID = 5, 3
RPROP, INCREMENTAL = 2, 0
MSE_RTOL = 1e-7
FLOAT_RTOL = 2e-6  # float build, after epoch 1 (see its test)


@pytest.fixture
def soybean(tmp_path: Path) -> Path:
    path = tmp_path / "soybean.data"
    with gzip.open(DATASETS / "soybean.train.gz", "rb") as raw:
        path.write_bytes(raw.read())
    return path


def start_net(tmp_path: Path, dtype: str, algorithm: int, output: int) -> Path:
    net = network.create([82, 12, 19], dtype=dtype, rng=np.random.default_rng(11))
    network.set_activation(net, 1, SIGMOID_SYMMETRIC)
    network.set_activation(net, 2, output)
    net.params.training_algorithm = algorithm
    path = tmp_path / f"start-{dtype}.net"
    save_network(net, path)
    return path


@pytest.mark.parametrize(
    ("algorithm", "output"),
    [(RPROP, SIGMOID_SYMMETRIC), (RPROP, SIGMOID), (INCREMENTAL, SIGMOID_SYMMETRIC)],
    ids=["rprop-symmetric", "rprop-sigmoid", "incremental-symmetric"],
)
def test_every_epochs_mse_is_libdoublefanns(tmp_path, soybean, to_libfann, fann_lib, algorithm,
                                            output):  # fmt: skip
    path = start_net(tmp_path, "float64", algorithm, output)
    ours = open_network(path)
    ann = fann_lib.LibFann.create_from_file(path)
    train = fann_lib.LibFann.read_train(soybean)
    data = load_data(soybean)
    for epoch in range(1, 8):
        theirs = ann.train_epoch(train)
        mine = train_epoch(ours, data, backend=NumpyBackend()).mse
        assert mine == pytest.approx(theirs, rel=MSE_RTOL, abs=0), f"epoch {epoch}"
    theirs, _ = ann.test_data(train)
    mine, _ = fann_test(ours, data, backend=NumpyBackend())
    assert mine == pytest.approx(theirs, rel=MSE_RTOL, abs=0)


def test_every_epochs_mse_is_libfloatfanns(tmp_path, soybean, fann_lib):
    """In float32 the forward sums differ from FANN's by their order (BLAS against
    FANN's loop), a few ulps per output: epoch 1 (same weights) at rel 1e-7, and
    the weights then drift apart by those ulps (measured: rel <= FLOAT_RTOL)."""
    lib = _float_fann()
    path = start_net(tmp_path, "float32", RPROP, SIGMOID_SYMMETRIC)
    ann = lib.fann_create_from_file(str(path).encode())
    train = lib.fann_read_train_from_file(str(soybean).encode())
    ours = open_network(path)
    data = load_data(soybean).astype(np.float32)
    try:
        for epoch in range(1, 8):
            theirs = lib.fann_train_epoch(ann, train)
            mine = train_epoch(ours, data, backend=NumpyBackend()).mse
            rtol = MSE_RTOL if epoch == 1 else FLOAT_RTOL
            assert mine == pytest.approx(theirs, rel=rtol, abs=0), f"epoch {epoch}"
    finally:
        lib.fann_destroy_train(train)
        lib.fann_destroy(ann)


def test_a_float64_sum_would_not_match(tmp_path, soybean, fann_lib):
    """The test can fail: summing the same errors in float64 misses libfann's MSE."""
    path = start_net(tmp_path, "float64", RPROP, SIGMOID_SYMMETRIC)
    ours = open_network(path)
    ann = fann_lib.LibFann.create_from_file(path)
    train = fann_lib.LibFann.read_train(soybean)
    data = load_data(soybean)
    theirs = ann.train_epoch(train)
    err = data.outputs - NumpyBackend().forward(ours, data.inputs)
    err /= 2.0  # symmetric outputs
    wide = float(np.sum(err * err)) / err.size
    assert wide != pytest.approx(theirs, rel=MSE_RTOL, abs=0)
