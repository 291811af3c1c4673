"""Batched inference on a device (``kernels/infer.cl``): the fast path for fully
connected LAYER networks, against numpy and against itself in other batches.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from fannctl import network
from fannctl.backends.numpy_backend import NumpyBackend
from fannctl.backends.opencl import backend as opencl_backend
from fannctl.backends.opencl import kernels

TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}


def test_infer_constants_match_the_kernel():
    """The layer table's slots and the rows per item are one number on both sides."""
    text = (kernels.kernel_dir() / "infer.cl").read_text()
    pattern = r"^#define\s+(IL_[A-Z_]+|INFER_ROWS)\s+(\d+)\b"  # INFER_TILE is the kernel's own
    found = dict(re.findall(pattern, text, flags=re.M))
    want = {name: getattr(opencl_backend, name) for name in found}
    assert {name: int(value) for name, value in found.items()} == want
    assert {"IL_COUNT", "IL_SOURCES", "IL_WIDTH", "INFER_ROWS"} <= set(found)


def wide_net(dtype: str, mixed: bool = False):
    """45 hidden neurons (a tile of four vectors and single vectors after it),
    then 20 and 3: every tail of infer.cl's loops."""
    rng = np.random.default_rng(5)
    net = network.create([11, 45, 20, 3], rng=rng, dtype=dtype)
    network.set_activation(net, 1, "sigmoid_symmetric", 0.6)
    network.set_activation(net, 2, "sigmoid", 0.9)
    network.set_activation(net, 3, "linear", 1.0)
    if mixed:  # vectors of neurons with two functions, or steepnesses of their own
        # (a negative steepness is left out: FANN's clamp then differs from numpy's,
        # on every device path alike)
        first = net.layer_first()[1]
        net.activation[first + 3] = network_id("elliot")
        net.activation[first + 9] = network_id("sigmoid_stepwise")
        net.steepness[first + 17] = 1.3
    net.weights[:] = rng.uniform(-0.7, 0.7, net.weights.size)
    inputs = rng.uniform(-2, 2, (301, 11)).astype(dtype)
    return net, inputs


def network_id(name: str) -> int:
    from fannctl import activations

    return activations.NAMES.index(name)


@pytest.mark.parametrize("mixed", [False, True], ids=["uniform", "mixed"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_infer_matches_numpy(cl_backend, dtype, mixed):
    """Catches a wrong transposed weight, bias, padding lane or vector/lane choice."""
    net, inputs = wide_net(dtype, mixed)
    if not cl_backend.supports(np.dtype(dtype)):
        pytest.skip("no double precision on this device")
    got = cl_backend.forward(net, inputs)
    want = NumpyBackend().forward(net, inputs)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, **TOL[dtype])


def test_infer_rows_do_not_depend_on_blocks_or_items(cl_backend, monkeypatch):
    """Launch blocks (INFER_BYTES) and work-item runs cut the batch anywhere; each
    row keeps its bits (the tails repeat a row and must store nothing for it)."""
    net, inputs = wide_net("float32", mixed=True)
    whole = cl_backend.forward(net, inputs)
    monkeypatch.setattr(opencl_backend, "INFER_BYTES", 7 * 11 * 4)  # launches of 48 rows
    np.testing.assert_array_equal(cl_backend.forward(net, inputs), whole)
    for size in (1, 2, 4, 47, 49):
        parts = [cl_backend.forward(net, inputs[i : i + size]) for i in range(0, 301, size)]
        np.testing.assert_array_equal(np.concatenate(parts), whole, err_msg=f"batches of {size}")


def test_layer_nets_take_the_infer_kernel(cl_backend, monkeypatch):
    """A fully connected LAYER net never reaches the per-pattern kernel; a
    shortcut net still does (and gets numpy's numbers)."""
    net, inputs = wide_net("float32")

    def refuse(*args, **kwargs):
        raise AssertionError("pattern_pass used for a LAYER net")

    monkeypatch.setattr(cl_backend, "_pass", refuse)
    cl_backend.forward(net, inputs)
    monkeypatch.undo()
    shortcut = network.create([4, 5, 2], rng=np.random.default_rng(1), shortcut=True)
    x = np.random.default_rng(2).uniform(-1, 1, (9, 4)).astype(np.float32)
    calls = []
    original = cl_backend._pass
    monkeypatch.setattr(cl_backend, "_pass", lambda *a: calls.append(1) or original(*a))
    np.testing.assert_allclose(
        cl_backend.forward(shortcut, x), NumpyBackend().forward(shortcut, x), **TOL["float32"]
    )
    assert calls


def test_changed_weights_are_seen(cl_backend):
    """The device copy of a network is kept between calls: new weights must not be
    answered with the old ones (training evaluates its test set between epochs)."""
    net, inputs = wide_net("float32")
    before = cl_backend.forward(net, inputs)
    net.weights[::7] *= -1
    after = cl_backend.forward(net, inputs)
    np.testing.assert_allclose(after, NumpyBackend().forward(net, inputs), **TOL["float32"])
    assert not np.array_equal(before, after)
