"""The OpenCL backend against the numpy reference, on every OpenCL device present.

Shapes and dtypes are checked first, then values with explicit tolerances:
float32 outputs within rel 1e-5, MSE trajectories within 1e-4 over 20
epochs; float64 much tighter (the kernels and numpy differ only in the order
of float additions).
"""

from __future__ import annotations

import numpy as np
import pytest

from fannctl import activations, network
from fannctl.backends.numpy_backend import NumpyBackend
from fannctl.backends.opencl import run as opencl_run
from fannctl.data import TrainingData
from fannctl.params import algorithm_id
from fannctl.train import TrainConfig, train, train_epoch

KINDS = ("layer", "shortcut", "sparse")
ALGORITHMS = ("incremental", "batch", "rprop", "quickprop", "sarprop")
TRAINABLE = [a for a in range(len(activations.NAMES)) if a != activations.THRESHOLD]
# (hidden, output) activation pairs the training tests cycle through
PAIRS = [
    ("sigmoid_symmetric", "sigmoid"),
    ("sigmoid_stepwise", "sigmoid_symmetric_stepwise"),
    ("gaussian", "elliot"),
    ("elliot_symmetric", "linear"),
    ("sin_symmetric", "cos"),
    ("leaky_relu", "linear_piece_symmetric"),
]
TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}
MSE_TOL = {"float32": 1e-4, "float64": 1e-12}


def mse_rtol(backend, strict: float) -> float:
    """FANN's MSE is a float32 sum of float32-rounded terms, even for float64 nets.
    On a CPU device the kernels' double arithmetic follows numpy's to the bit, so
    the MSE agrees to ``strict``; a GPU's differs in the last bits (fused
    multiply-adds, its own exp), weights then agree to ~1e-12 and an error term
    can round across a float boundary: one float32 ulp (measured on an H200)."""
    return strict if backend.info.kind == "cpu" else max(strict, 2.5e-7)


REFERENCE = NumpyBackend()


def make_net(
    kind: str, dtype: str, hidden="sigmoid_symmetric", output="sigmoid", seed=1, layers=(4, 5, 3, 2)
):
    rng = np.random.default_rng(seed)
    net = network.create(
        list(layers),
        rng=rng,
        dtype=dtype,
        shortcut=kind == "shortcut",
        connection_rate=0.6 if kind == "sparse" else 1.0,
    )
    for index in range(1, len(layers) - 1):
        network.set_activation(net, index, hidden, 0.7 + 0.1 * index)
    network.set_activation(net, len(layers) - 1, output, 0.9)
    net.weights[:] = rng.uniform(-0.5, 0.5, net.weights.size)
    return net


def make_data(n_in=4, n_out=2, patterns=23, seed=2, dtype="float32", low=0.0):
    rng = np.random.default_rng(seed)
    data = TrainingData(
        rng.uniform(-1, 1, (patterns, n_in)), rng.uniform(low, 1, (patterns, n_out))
    )
    return data.astype(dtype)


def assert_close(got, want, dtype):
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ident", range(len(activations.NAMES)), ids=activations.NAMES)
def test_forward_matches_numpy(cl_backend, ident, kind, dtype):
    """Every activation's value in every net kind (catches a wrong formula or source index)."""
    net = make_net(kind, dtype, hidden=ident, output=ident)
    inputs = make_data(dtype=dtype).inputs * 3  # reach the stepwise and clamp regions
    assert_close(cl_backend.forward(net, inputs), REFERENCE.forward(net, inputs), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ident", TRAINABLE, ids=[activations.NAMES[i] for i in TRAINABLE])
def test_gradient_matches_numpy(cl_backend, ident, kind, dtype):
    """Slopes, SSE and bit fail: FANN's derivative of each activation, backprop per kind."""
    net = make_net(kind, dtype, hidden=ident, output=ident)
    data = make_data(dtype=dtype, low=-1.0)
    start = np.linspace(-0.1, 0.1, net.weights.size).astype(dtype)  # slopes add to this
    got = cl_backend.gradient(net, data.inputs, data.outputs, start.copy())
    want = REFERENCE.gradient(net, data.inputs, data.outputs, start.copy())
    scale = max(1.0, float(np.abs(want.slopes).max()))
    assert got.slopes.dtype == want.slopes.dtype
    np.testing.assert_allclose(got.slopes / scale, want.slopes / scale, **TOL[dtype])
    assert got.sse == pytest.approx(want.sse, rel=1e-5 if dtype == "float32" else 1e-12)
    assert (got.count, got.bit_fail) == (want.count, want.bit_fail)


@pytest.mark.parametrize("kind", KINDS)
def test_outputs_only_gradient_touches_output_weights_only(cl_backend, kind):
    """Cascade's output training: slopes only for the output layer's incoming weights."""
    net = make_net(kind, "float64")
    data = make_data(dtype="float64")
    got = cl_backend.gradient(
        net, data.inputs, data.outputs, np.zeros_like(net.weights), outputs_only=True
    )
    want = REFERENCE.gradient(
        net, data.inputs, data.outputs, np.zeros_like(net.weights), outputs_only=True
    )
    first = int(net.first_connection()[net.layer_first()[-1]])
    assert not got.slopes[:first].any()
    assert got.slopes[first:].any()
    np.testing.assert_allclose(got.slopes, want.slopes, **TOL["float64"])


@pytest.mark.parametrize("kind", KINDS)
def test_activate_matches_numpy(cl_backend, kind):
    """The flat activation array and per-layer sums (the sparse incremental path reads them)."""
    net = make_net(kind, "float64")
    inputs = make_data(dtype="float64").inputs
    acts, sums = cl_backend.activate(net, inputs)
    want_acts, want_sums = REFERENCE.activate(net, inputs)
    assert_close(acts, want_acts, "float64")
    assert len(sums) == len(want_sums)
    for got, want in zip(sums, want_sums, strict=True):
        assert_close(got, want, "float64")


def _train_pair(cl_backend, net, data, epochs=20, report_every=1, desired_error=0.0):
    config = TrainConfig(max_epochs=epochs, desired_error=desired_error, report_every=report_every)
    on_device, on_host = net.copy(), net.copy()
    got = train(on_device, data, config, backend=cl_backend)
    want = train(on_host, data, config, backend=REFERENCE)
    return got, want, on_device, on_host


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("path", "algorithm"),
    # incremental training is sequential: it runs only in the fused kernel
    [("fused", a) for a in ALGORITHMS] + [("layered", a) for a in ALGORITHMS[1:]],
)
def test_training_run_matches_numpy(cl_backend, monkeypatch, path, algorithm, kind, dtype):
    """20 epochs of each algorithm on the device: the same MSE and bit-fail trajectory."""
    monkeypatch.setattr(opencl_run, "FUSED_MAX_WORK", 10**9 if path == "fused" else 0)
    hidden, output = PAIRS[(ALGORITHMS.index(algorithm) + KINDS.index(kind)) % len(PAIRS)]
    net = make_net(kind, dtype, hidden, output)
    net.params.training_algorithm = algorithm_id(algorithm)
    net.params.learning_rate = 0.2  # 0.7 makes some of these pairs diverge (chaos, no test)
    if algorithm == "incremental":
        net.params.learning_momentum = 0.3
    net.state.rng_state = np.random.default_rng(5).bit_generator.state
    data = make_data(dtype=dtype)
    got, want, on_device, on_host = _train_pair(cl_backend, net, data)
    assert [r.epoch for r in got.history] == list(range(1, 21))
    assert [r.bit_fail for r in got.history] == [r.bit_fail for r in want.history]
    np.testing.assert_allclose(
        [r.mse for r in got.history],
        [r.mse for r in want.history],
        rtol=mse_rtol(cl_backend, 0.0),
        atol=MSE_TOL[dtype],
    )
    # After training, outputs agree less tightly: QuickProp's secant step divides
    # by a difference of slopes, which magnifies the last-bit differences of sums
    # (about 1e5 times here: 3e-11 in float64, so up to 1e-2 in float32).
    inputs = data.inputs
    tol = dict(rtol=5e-3, atol=1e-4) if dtype == "float32" else dict(rtol=1e-9, atol=1e-10)
    if algorithm == "quickprop" and dtype == "float32":
        tol = dict(rtol=3e-2, atol=1e-3)
    np.testing.assert_allclose(
        REFERENCE.forward(on_device, inputs), REFERENCE.forward(on_host, inputs), **tol
    )
    for name in ("slopes", "prev_slopes", "prev_steps", "prev_weight_deltas"):
        mine, theirs = getattr(on_device.state, name), getattr(on_host.state, name)
        assert (mine is None) == (theirs is None), name
    assert on_device.state.sarprop_epoch == on_host.state.sarprop_epoch


@pytest.mark.parametrize("variant", ["irprop-", "irprop+"])
@pytest.mark.parametrize("path", ["fused", "layered"])
def test_textbook_rprop_variants(cl_backend, monkeypatch, path, variant):
    """iRPROP- and iRPROP+ (which needs the previous epoch's error) match numpy."""
    monkeypatch.setattr(opencl_run, "FUSED_MAX_WORK", 10**9 if path == "fused" else 0)
    net = make_net("layer", "float64")
    net.params.rprop_variant = variant
    got, want, on_device, on_host = _train_pair(cl_backend, net, make_data(dtype="float64"))
    np.testing.assert_allclose(
        [r.mse for r in got.history],
        [r.mse for r in want.history],
        rtol=mse_rtol(cl_backend, 1e-12),
    )
    np.testing.assert_allclose(on_device.weights, on_host.weights, rtol=1e-10, atol=1e-12)
    assert on_device.state.prev_error == pytest.approx(on_host.state.prev_error, rel=1e-12)


def test_sarprop_noise_uses_the_stored_generator(cl_backend):
    """SARPROP's random branch draws the same numbers, in the same order, as numpy."""
    net = make_net("layer", "float64")
    net.params.training_algorithm = algorithm_id("sarprop")
    net.state.rng_state = np.random.default_rng(11).bit_generator.state
    start_state = net.state.rng_state
    got, want, on_device, on_host = _train_pair(
        cl_backend, net, make_data(dtype="float64"), epochs=60, report_every=7
    )
    assert on_host.state.rng_state != start_state  # the noise branch was taken
    assert on_device.state.rng_state == on_host.state.rng_state
    # the noise step scales with sqrt(MSE): a float ulp of MSE moves it by ~1e-7
    rtol = 1e-9 if cl_backend.info.kind == "cpu" else 1e-6
    np.testing.assert_allclose(on_device.weights, on_host.weights, rtol=rtol, atol=1e-12)
    assert [r.epoch for r in got.history] == [r.epoch for r in want.history]


@pytest.mark.parametrize("stop", ["mse", "bit"])
def test_stop_inside_the_kernel_at_the_same_epoch(cl_backend, stop):
    """The fused kernel's stop test ends the run on numpy's epoch, with numpy's report."""
    net = make_net("layer", "float32", "sigmoid_symmetric", "sigmoid_symmetric", layers=(2, 3, 1))
    net.params.train_stop_function = 1 if stop == "bit" else 0
    xor = TrainingData(
        np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], float),
        np.array([[-1], [1], [1], [-1]], float),
    ).astype("float32")
    desired = 0.0 if stop == "bit" else 0.001
    got, want, _, _ = _train_pair(
        cl_backend, net, xor, epochs=3000, report_every=100, desired_error=desired
    )
    assert want.reached and got.reached
    assert got.epochs == want.epochs
    assert [r.epoch for r in got.history] == [r.epoch for r in want.history]
    assert got.bit_fail == want.bit_fail


def test_report_points_and_test_data(cl_backend):
    """Reports at epoch 1, every N-th and the last, with the test set's MSE at each."""
    net = make_net("shortcut", "float64")
    data, test_data = make_data(dtype="float64"), make_data(seed=9, dtype="float64")
    config = TrainConfig(max_epochs=25, desired_error=0.0, report_every=10)
    on_device, on_host = net.copy(), net.copy()
    got = train(on_device, data, config, backend=cl_backend, test_data=test_data)
    want = train(on_host, data, config, backend=REFERENCE, test_data=test_data)
    assert [r.epoch for r in got.history] == [1, 10, 20, 25]
    for mine, theirs in zip(got.history, want.history, strict=True):
        assert mine.test_mse == pytest.approx(theirs.test_mse, rel=1e-10)
        assert mine.test_bit_fail == theirs.test_bit_fail


def test_per_epoch_protocol_path(cl_backend):
    """train_epoch through gradient() (what an on_epoch callback uses) matches numpy."""
    for algorithm in ALGORITHMS:
        net = make_net("sparse", "float64")
        net.params.training_algorithm = algorithm_id(algorithm)
        net.params.learning_rate = 0.2
        on_device, on_host = net.copy(), net.copy()
        data = make_data(patterns=6, dtype="float64")
        for _ in range(3):
            got = train_epoch(on_device, data, backend=cl_backend)
            want = train_epoch(on_host, data, backend=REFERENCE)
            assert got.mse == pytest.approx(want.mse, rel=1e-12), algorithm
        np.testing.assert_allclose(on_device.weights, on_host.weights, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("path", ["fused", "layered"])
def test_many_networks_in_one_launch(cl_backend, monkeypatch, path):
    """N networks of one shape, different weights and algorithms: each as if alone."""
    monkeypatch.setattr(opencl_run, "FUSED_MAX_WORK", 10**9 if path == "fused" else 0)
    algorithms = ["batch", "rprop", "quickprop", "sarprop", "rprop"]
    if path == "fused":
        algorithms[0] = "incremental"
    nets = []
    for seed, algorithm in enumerate(algorithms):
        net = make_net("layer", "float64", seed=seed + 3)
        net.params.training_algorithm = algorithm_id(algorithm)
        net.state.rng_state = np.random.default_rng(seed).bit_generator.state
        nets.append(net)
    nets[4].params.rprop_increase_factor = 1.3  # parameters are per network too
    data = make_data(dtype="float64")
    config = TrainConfig(max_epochs=15, desired_error=0.0, report_every=0)
    expected = []
    for net in nets:
        alone = net.copy()
        expected.append((train(alone, data, config, backend=REFERENCE), alone))
    results = cl_backend.train_many(nets, data, config)
    assert len(results) == len(nets)
    for net, result, (want, alone) in zip(nets, results, expected, strict=True):
        assert result.epochs == want.epochs == 15
        assert result.mse == pytest.approx(want.mse, rel=1e-10)
        np.testing.assert_allclose(net.weights, alone.weights, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("path", ["fused", "layered"])
def test_many_networks_match_numpys_batched_train_many(cl_backend, monkeypatch, path):
    """The device's train_many against numpy's (fannctl.swarm.many: one batched
    computation for all networks, the reference): per-network algorithms and
    parameters, networks stopping at different epochs."""
    from fannctl.swarm.many import train_many as numpy_train_many

    monkeypatch.setattr(opencl_run, "FUSED_MAX_WORK", 10**9 if path == "fused" else 0)
    nets = []
    for seed, algorithm in enumerate(["batch", "rprop", "quickprop", "rprop"]):
        net = make_net("layer", "float64", seed=seed + 7)
        net.params.training_algorithm = algorithm_id(algorithm)
        net.params.learning_rate = 0.3 + 0.1 * seed
        nets.append(net)
    nets[3].params.rprop_increase_factor = 1.3
    data = make_data(dtype="float64")
    config = TrainConfig(max_epochs=25, desired_error=0.08, report_every=0)
    on_host = [net.copy() for net in nets]
    want = numpy_train_many(on_host, data, config)
    assert want is not None
    got = cl_backend.train_many(nets, data, config)
    for g, w, net, ref in zip(got, want, nets, on_host, strict=True):
        assert (g.epochs, g.bit_fail, g.reached) == (w.epochs, w.bit_fail, w.reached)
        assert g.mse == pytest.approx(w.mse, rel=mse_rtol(cl_backend, 1e-10))
        np.testing.assert_allclose(net.weights, ref.weights, rtol=1e-9, atol=1e-12)


def test_large_forward_is_split_into_blocks(cl_backend, monkeypatch):
    """Inputs beyond one launch's block still give every row (no row dropped or repeated)."""
    from fannctl.backends.opencl import backend as opencl_backend

    monkeypatch.setattr(opencl_backend, "PATTERN_BLOCK", 64)
    net = make_net("layer", "float32")
    inputs = make_data(patterns=200, dtype="float32").inputs
    assert_close(cl_backend.forward(net, inputs), REFERENCE.forward(net, inputs), "float32")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("error_function", [0, 1], ids=["linear", "tanh"])
@pytest.mark.parametrize("kind", ["layer", "shortcut"])
def test_dense_epoch_is_numpys_step(cl_backend, monkeypatch, kind, error_function, dtype):
    """One batch epoch on the dense layered path (tiled products, vector output
    deltas with the tanh error function's own log, vector derivatives) moves
    every weight as numpy's epoch does. 37 patterns: the stride pads to 48."""
    monkeypatch.setattr(opencl_run, "FUSED_MAX_WORK", 0)
    net = make_net(kind, dtype, "sigmoid_symmetric", "sigmoid", layers=(9, 13, 7, 3))
    net.params.training_algorithm = algorithm_id("batch")
    net.params.train_error_function = error_function
    # errors from ~1e-4 (where a float ratio (1+e)/(1-e) would lose e) to ~0.9
    data = make_data(n_in=9, n_out=3, patterns=37, dtype=dtype)
    on_device, on_host = net.copy(), net.copy()
    config = TrainConfig(max_epochs=1, desired_error=0.0, report_every=1)
    got = train(on_device, data, config, backend=cl_backend)
    want = train(on_host, data, config, backend=REFERENCE)
    assert got.history[0].bit_fail == want.history[0].bit_fail
    assert got.mse == pytest.approx(
        want.mse, rel=1e-6 if dtype == "float32" else mse_rtol(cl_backend, 1e-12)
    )
    moved, expected = on_device.weights - net.weights, on_host.weights - net.weights
    scale = np.abs(expected).max()
    tol = 2e-5 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(moved, expected, rtol=tol, atol=tol * scale)


@pytest.mark.parametrize("path", ["fused", "layered"])
def test_a_test_set_does_not_disturb_the_run(cl_backend, monkeypatch, path):
    """Report points run the test set through the backend's own forward pass
    between chunks; the training run's buffers must come out of it untouched."""
    monkeypatch.setattr(opencl_run, "FUSED_MAX_WORK", 10**9 if path == "fused" else 0)
    net = make_net("layer", "float32", layers=(9, 13, 7, 3))
    net.params.training_algorithm = algorithm_id("rprop")
    data = make_data(n_in=9, n_out=3, patterns=200)
    test_data = make_data(n_in=9, n_out=3, patterns=57, seed=7)
    config = TrainConfig(max_epochs=10, desired_error=0.0, report_every=2)
    with_test, without = net.copy(), net.copy()
    got = train(with_test, data, config, backend=cl_backend, test_data=test_data)
    want = train(without, data, config, backend=cl_backend)
    np.testing.assert_array_equal(with_test.weights, without.weights)
    assert [r.mse for r in got.history] == [r.mse for r in want.history]
    assert all(r.test_mse is not None for r in got.history)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ident", TRAINABLE, ids=[activations.NAMES[i] for i in TRAINABLE])
def test_dense_epoch_every_function(cl_backend, monkeypatch, ident, dtype):
    """The dense path's vector forms (value8 in the forward pass, the vector
    derivatives in backprop, lane by lane for the rest) for every trainable
    function, hidden and output, against numpy's epoch."""
    monkeypatch.setattr(opencl_run, "FUSED_MAX_WORK", 0)
    name = activations.NAMES[ident]
    net = make_net("shortcut", dtype, name, name, layers=(5, 6, 4))
    net.params.training_algorithm = algorithm_id("batch")
    data = make_data(n_in=5, n_out=4, patterns=29, dtype=dtype)
    on_device, on_host = net.copy(), net.copy()
    config = TrainConfig(max_epochs=1, desired_error=0.0, report_every=1)
    got = train(on_device, data, config, backend=cl_backend)
    want = train(on_host, data, config, backend=REFERENCE)
    assert got.mse == pytest.approx(
        want.mse, rel=1e-5 if dtype == "float32" else mse_rtol(cl_backend, 1e-12)
    )
    moved, expected = on_device.weights - net.weights, on_host.weights - net.weights
    tol = 5e-5 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(moved, expected, rtol=tol, atol=tol * np.abs(expected).max())
