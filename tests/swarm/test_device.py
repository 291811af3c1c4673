"""Swarm chunks on OpenCL (swarm.device, backends/opencl/agents.py, kernels/swarm.cl)
against the numpy trainer, agent by agent, on every device that passes its self-test.

Tolerance: the kernels compute FANN's float arithmetic as numpy does and
differ only in the order of additions (a neuron's weighted sum in FANN's
unrolled order vs BLAS, a slope summed pattern by pattern vs a product), so
the comparisons are in float64, where those orderings differ by ~1e-16 per
sum and 20-30 epochs grow them to at most ~1e-13 (QuickProp's secant step
magnifies most): weights agree to rtol 1e-9, MSE to 1e-9 (QuickProp's
steps, a secant through two slopes, to 1e-6). A wrongly rounded
parameter (a float32 learning rate, epsilon or SARPROP constant), a pattern
weight applied in the wrong place or one agent's parameter read for another
moves them by 1e-7 or more. In float32 RPROP's sign tests turn last-bit
differences into whole steps after a few epochs (chaos, not error), so
float32 is held to the MSE of the first epochs and, for one agent, to
`fannctl train --device` bit for bit (same kernels' arithmetic); the tiny
kernel (agents innermost) to the general one bit for bit.

Guards against: per-agent parameters, pattern weights or weight decay
ignored or misplaced on the device; SARPROP noise not drawn from each
agent's own stream; results depending on how agents are grouped per launch;
a failing device leaving the chunk half trained instead of numpy's result.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from opencl_devices import screened

from fannctl import devices, io, train
from fannctl.backends.opencl import agents as cl_agents
from fannctl.errors import DeviceError
from fannctl.params import algorithm_id
from fannctl.swarm import batched, device, trainer
from fannctl.swarm.rounds import split_weights

from .test_trainer import _chunk, _nets

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
THYROID = str(ROOT / "datasets" / "thyroid.train.gz")
ALGORITHMS = ("incremental", "batch", "rprop", "quickprop", "sarprop")
TIGHT = dict(rtol=1e-9, atol=1e-12)

DEVICES = screened().passed


def _device_params():
    if DEVICES:
        return [pytest.param(info.index, id=info.uid) for info in DEVICES]
    return [pytest.param(None, id="no-opencl")]


@pytest.fixture(params=_device_params())
def backend(request):
    if request.param is None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{screened().why_none}; CI is set, so the OpenCL tests must run")
        pytest.skip(f"{screened().why_none} (see 'fannctl health')")
    return devices.device_backend(request.param)


def _tiny_params():
    fit = [info for info in DEVICES if not cl_agents.old_pocl(info.platform_version)]
    if fit:
        return [pytest.param(info.index, id=info.uid) for info in fit]
    return [pytest.param(None, id="no-device-for-the-tiny-kernel")]


@pytest.fixture(params=_tiny_params())
def tiny_backend(request):
    """The devices that build kernels/swarm_tiny.cl (not PoCL before 3.1, whose LLVM
    aborts the process compiling it)."""
    return _lane_device(request.param)


@pytest.fixture(params=_tiny_params())
def wide_backend(request):
    """The devices that build kernels/swarm_wide.cl: tiny_backend's CPUs (the wide
    kernel is laid out for a CPU's vector lanes and not used elsewhere)."""
    backend = _lane_device(request.param)
    if backend.info.kind != "cpu":
        pytest.skip(f"{backend.name}: swarm_wide.cl runs on CPU devices only")
    return backend


def _lane_device(index):
    if index is None:
        if DEVICES and os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("CI is set and no OpenCL device here builds the tiny kernel")
        pytest.skip("no OpenCL device here builds the tiny kernel (PoCL 3.1 or later does)")
    return devices.device_backend(index)


def _thyroid(patterns=60):
    data = io.load_data(THYROID)
    data.inputs, data.outputs = data.inputs[:patterns], data.outputs[:patterns]
    return data


def _pair(nets, split, data, seed=4):
    """Two identical chunks of ``nets``, with ``split``'s pattern weights."""
    chunks = [_chunk(nets), _chunk(nets)]
    for chunk in chunks:
        chunk.agents = chunk.agents + 3  # not 0..n-1: SARPROP's streams are keyed by agent
        chunk.pattern_weights = split_weights(
            seed, 8, chunk.agents, data.num_patterns, split, chunk.weights.dtype
        )
    return chunks


def _both(backend, nets, chunks, data, epochs, seed=4, round_index=2):
    shape = batched.Shape.of(nets[0])
    want = trainer.train_chunk(
        chunks[0], shape, data.inputs, data.outputs, epochs, round_index=round_index, seed=seed
    )
    got = device.train_chunk_on(
        backend,
        nets[0],
        chunks[1],
        shape,
        data.inputs,
        data.outputs,
        epochs,
        round_index=round_index,
        seed=seed,
    )
    return want, got


def _assert_agents_match(chunks, want, got, state_rtol=1e-9, weights_rtol=1e-9):
    numpy_chunk, device_chunk = chunks
    np.testing.assert_allclose(
        device_chunk.weights, numpy_chunk.weights, rtol=weights_rtol, atol=1e-12
    )
    for name in ("prev_steps", "prev_slopes"):
        mine, theirs = getattr(device_chunk, name), getattr(numpy_chunk, name)
        np.testing.assert_allclose(mine, theirs, rtol=state_rtol, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(device_chunk.sarprop_epoch, numpy_chunk.sarprop_epoch)
    np.testing.assert_allclose(got[0], want[0], **TIGHT)
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize(
    ("algorithm", "split"),
    [
        (algorithm, split)
        for algorithm in ALGORITHMS
        for split in ("full", "bootstrap", "shard")
        # incremental training presents every pattern (--data-split full only)
        if algorithm != "incremental" or split == "full"
    ],
)
def test_agents_match_numpy(backend, algorithm, split):
    """Three agents, every parameter different, 25 epochs: numpy's weights, state,
    MSE and bit fail agent by agent (float64, rtol 1e-9)."""
    data = _thyroid()
    nets = _nets([21, 6, 3], [algorithm] * 3, "float64")
    for i, net in enumerate(nets):
        net.params.learning_momentum = 0.2 * i
        if algorithm != "incremental":
            net.params.weight_decay = [0.0, 0.001, 0.01][i]
    chunks = _pair(nets, split, data)
    want, got = _both(backend, nets, chunks, data, 25)
    # QuickProp's secant step divides by a difference of slopes: its steps carry
    # the magnified sum-order differences (2e-8 measured), the weights do not
    _assert_agents_match(chunks, want, got, 1e-6 if algorithm == "quickprop" else 1e-9)
    assert not np.allclose(chunks[1].weights[0], chunks[1].weights[1])  # agents differ
    if algorithm == "sarprop":  # the noise branch ran (draws from each agent's stream)
        assert chunks[1].sarprop_epoch.tolist() == [25, 25, 25]


@pytest.mark.parametrize(
    "create",
    [{}, {"shortcut": True}, {"connection_rate": 0.6}],
    ids=["layer", "shortcut", "sparse"],
)
@pytest.mark.parametrize("split", ["full", "bootstrap"])
def test_mixed_algorithms_every_layout(backend, create, split):
    """One chunk of four algorithms on each of FANN's layouts matches numpy's split
    by algorithm (the kernel reads each agent's algorithm)."""
    data = io.load_data(XOR)
    nets = _nets([2, 4, 3, 1], ["rprop", "quickprop", "batch", "sarprop"], "float64", **create)
    chunks = _pair(nets, split, data)
    # 20 epochs: on the sparse net an RPROP slope near 0 (~1e-18) takes opposite
    # signs in the two summation orders at epoch 21, and the weight moves by a
    # whole step the other way (measured; the float32 MSE does not change)
    want, got = _both(backend, nets, chunks, data, 20)
    # the QuickProp agent's secant steps run its weights up to ~70 here, carrying
    # the magnified sum-order differences (1.2e-8 measured) into them too
    _assert_agents_match(chunks, want, got, 1e-6, 1e-7)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_float32_first_epochs(backend, algorithm):
    """float32 (FANN's float build): the first epochs' MSE agree to 1e-5 before
    RPROP's sign tests can amplify last-bit differences."""
    data = _thyroid()
    nets = _nets([21, 6, 3], [algorithm] * 3, "float32")
    chunks = _pair(nets, "full", data)
    want, got = _both(backend, nets, chunks, data, 3)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
    np.testing.assert_allclose(chunks[1].weights, chunks[0].weights, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_one_agent_equals_train_on_the_device(backend, algorithm):
    """A one-agent chunk on a device = `fannctl train --device` (the fused kernel) for
    the same epochs, bit for bit: same kernels, same order of operations."""
    data = io.load_data(XOR)
    nets = _nets([2, 3, 1], [algorithm], "float32")
    net = nets[0]
    net.params.learning_momentum = 0.4
    chunk = _chunk(nets)
    chunk.agents = np.array([5])
    mse, bit_fail = device.train_chunk_on(
        backend,
        net,
        chunk,
        batched.Shape.of(net),
        data.inputs,
        data.outputs,
        40,
        round_index=1,
        seed=9,
    )
    single = net.copy()
    stream = trainer.agent_generator(9, 5, 1, trainer.PURPOSE_SARPROP)
    single.state.rng_state = stream.bit_generator.state
    config = train.TrainConfig(max_epochs=40, desired_error=0.0, report_every=0)
    result = train.train(single, data, config, backend=backend)
    np.testing.assert_array_equal(chunk.weights[0], single.weights)
    assert mse[0] == result.mse
    assert bit_fail[0] == result.bit_fail


def test_groups_do_not_change_results(backend, monkeypatch):
    """Agents sent in many small launches (bounded device memory) = one launch."""
    data = io.load_data(XOR)
    nets = _nets([2, 3, 1], ["rprop", "sarprop", "quickprop", "batch", "rprop"], "float32")
    whole, grouped = _chunk(nets), _chunk(nets)
    shape = batched.Shape.of(nets[0])
    args = (shape, data.inputs, data.outputs, 50)
    one = device.train_chunk_on(backend, nets[0], whole, *args, round_index=0, seed=1)
    monkeypatch.setattr(cl_agents, "DEVICE_BYTES", 1)  # one agent per launch
    many = device.train_chunk_on(backend, nets[0], grouped, *args, round_index=0, seed=1)
    np.testing.assert_array_equal(grouped.weights, whole.weights)
    np.testing.assert_array_equal(many[0], one[0])


def test_sarprop_refills_draws_in_stream_order(backend, monkeypatch):
    """With a block of only W draws per agent the kernel stops for more many times;
    the weights are those of one large block (the stream consumed in order)."""
    data = _thyroid(30)
    nets = _nets([21, 6, 3], ["sarprop"] * 2, "float64")
    chunks = _pair(nets, "full", data)
    monkeypatch.setattr(cl_agents, "MIN_DRAWS", 1)
    want, got = _both(backend, nets, chunks, data, 40)
    _assert_agents_match(chunks, want, got)


def test_a_failing_device_falls_back_to_numpy_once(monkeypatch):
    """The device raises: one warning, and the chunk trained by numpy exactly."""
    calls = []

    def broken(backend, *args, **kwargs):
        calls.append(backend.name)
        raise DeviceError("kernel train_agents failed: out of resources")

    monkeypatch.setattr(device, "train_chunk_on", broken)
    fake = type("Fake", (device.OpenCLDevice,), {"__init__": lambda self: None})()
    fake.name = "fake/device"
    monkeypatch.setattr(devices, "chain", lambda selector: [fake, devices.numpy_backend()])
    devices.registry.reset()
    data = io.load_data(XOR)
    nets = _nets([2, 3, 1], ["rprop", "batch"], "float32")
    want_chunk, got_chunk = _chunk(nets), _chunk(nets)
    shape = batched.Shape.of(nets[0])
    args = (shape, data.inputs, data.outputs, 10)
    want = trainer.train_chunk(want_chunk, *args, round_index=0, seed=0)
    train_chunk = device.chunk_trainer("cl", nets[0])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = train_chunk(got_chunk, *args, round_index=0, seed=0)
        again = train_chunk(_chunk(nets), *args, round_index=0, seed=0)
    assert calls == ["fake/device"]  # not tried again for the second chunk
    assert [str(w.message) for w in seen] == [
        "device fake/device failed: kernel train_agents failed: out of resources; "
        "continuing on numpy"
    ]
    np.testing.assert_array_equal(got_chunk.weights, want_chunk.weights)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(again[0], want[0])
    devices.registry.reset()


def test_a_device_sized_chunk_falls_back_to_numpy_in_pieces(monkeypatch):
    """A chunk sized for a device (more agents than numpy's memory budget holds)
    that falls back to numpy trains in numpy-sized pieces, to the same bits as
    one numpy chunk (agents train independently)."""
    monkeypatch.setattr(device, "train_chunk_on", _raises_device_error)
    fake = type("Fake", (device.OpenCLDevice,), {"__init__": lambda self: None})()
    fake.name = "fake/device"
    monkeypatch.setattr(devices, "chain", lambda selector: [fake, devices.numpy_backend()])
    devices.registry.reset()
    rng = np.random.default_rng(5)
    inputs = rng.uniform(-1, 1, (1200, 10)).astype(np.float32)
    targets = rng.uniform(0, 1, (1200, 5)).astype(np.float32)
    nets = _nets([10, 20, 15, 10, 5], ["rprop", "batch"] * 20, "float32")
    shape = batched.Shape.of(nets[0])
    assert shape.chunk_agents(1200, 4) < len(nets) / 2, "at least three pieces"
    pieces = []
    real = trainer.train_chunk
    monkeypatch.setattr(
        trainer,
        "train_chunk",
        lambda chunk, *a, **k: pieces.append(len(chunk.agents)) or real(chunk, *a, **k),
    )
    want_chunk, got_chunk = _chunk(nets), _chunk(nets)
    args = (shape, inputs, targets, 2)
    want = real(want_chunk, *args, round_index=0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = device.chunk_trainer("cl", nets[0])(got_chunk, *args, round_index=0, seed=0)
    assert len(pieces) >= 3 and sum(pieces) == len(nets)
    np.testing.assert_array_equal(got_chunk.weights, want_chunk.weights)
    np.testing.assert_array_equal(got_chunk.prev_steps, want_chunk.prev_steps)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    devices.registry.reset()


def _raises_device_error(backend, *args, **kwargs):
    raise DeviceError("out of resources")


def test_device_chunks_are_larger_and_whole_vectors():
    """In-process chunks on a device hold as many agents as DEVICE_CHUNK_BYTES
    of wide arrays (a multiple of the lane kernels' VWIDTH), never fewer than
    numpy's; numpy and --chunk-agents keep their own."""
    row = 9_260  # 10-20-15-10-5's weights, state and steepness in float32
    assert device.chunk_agents(None, row, 13) == 13
    assert device.chunk_agents("numpy", row, 13) == 13
    got = device.chunk_agents("cl", row, 13)
    assert got % cl_agents.VWIDTH == 0
    assert got * row <= device.DEVICE_CHUNK_BYTES < (got + cl_agents.VWIDTH) * row
    assert device.chunk_agents("auto", 10**9, 13) == 13  # huge agents: numpy's count


def test_numpy_is_numpys_own_trainer():
    """--device numpy (and no device) keep the numpy trainer itself: same bits as before."""
    net = _nets([2, 3, 1], ["rprop"], "float32")[0]
    assert device.chunk_trainer(None, net) is trainer.train_chunk
    assert device.chunk_trainer("numpy", net) is trainer.train_chunk


def test_algorithm_ids():
    """The kernels' algorithm numbers are FANN's."""
    assert cl_agents.SARPROP == algorithm_id("sarprop")


@pytest.mark.parametrize("error_function", [0, 1])
@pytest.mark.parametrize("output", ["linear", "sigmoid", "sigmoid_symmetric"])
@pytest.mark.parametrize("algorithm", ["batch", "rprop"])
def test_tiny_kernel_equals_the_general_one(
    tiny_backend, monkeypatch, algorithm, output, error_function
):
    """kernels/swarm_tiny.cl (agents innermost, VWIDTH agents per work-item) gives
    train_agents' bits for every agent, padding lanes and several launches included."""
    _tiny_against_general(tiny_backend, monkeypatch, algorithm, output, error_function, 4)


@pytest.mark.parametrize("patterns", [1, 6, 7])
def test_tiny_kernel_pattern_blocks(tiny_backend, monkeypatch, patterns):
    """The tiny kernel computes PATTERN_BLOCK patterns side by side: a pattern count
    that is not a multiple of it (the last block part empty) still adds each
    pattern once, in order (a tail pattern added twice, or sums in block order
    instead of pattern order, changes the bits)."""
    _tiny_against_general(tiny_backend, monkeypatch, "rprop", "sigmoid_symmetric", 1, patterns)


@pytest.mark.parametrize("error_function", [0, 1])
@pytest.mark.parametrize("output", ["linear", "sigmoid", "sigmoid_symmetric"])
@pytest.mark.parametrize("algorithm", ["batch", "rprop"])
def test_wide_kernel_equals_the_general_one(
    wide_backend, monkeypatch, algorithm, output, error_function
):
    """kernels/swarm_wide.cl (agents innermost, state in device memory, layers of
    any number and size) gives train_agents' bits for every agent: four layers,
    each with its own activation function and steepness."""
    _tiny_against_general(
        wide_backend, monkeypatch, algorithm, output, error_function, 4, [3, 9, 6, 2]
    )


@pytest.mark.parametrize("patterns", [1, 6, 7])
def test_wide_kernel_pattern_blocks(wide_backend, monkeypatch, patterns):
    """The wide kernel's last block of patterns part empty: each pattern added once."""
    _tiny_against_general(
        wide_backend, monkeypatch, "rprop", "sigmoid_symmetric", 1, patterns, [3, 5, 4, 3, 2]
    )


def test_which_lane_kernel():
    """swarm_tiny.cl for small 3-layer nets, swarm_wide.cl for larger layered ones,
    neither for shortcut, sparse, float64 or too large nets or other functions."""
    from fannctl.network import build

    def shape(layers, **create):
        create.setdefault("hidden_activation", "sigmoid_symmetric")
        create.setdefault("output_activation", "linear")
        return cl_agents.lane_shape(build(layers, seed=1, **create))

    assert shape([2, 3, 1]).tiny
    assert not shape([10, 20, 15, 10, 5]).tiny
    assert shape([10, 20, 15, 10, 5]).cons == (0, 0, 220, 535, 695)
    assert shape([10, 20, 15, 10, 5]).firsts == (0, 11, 32, 48, 59)
    assert shape([2, 3, 1], shortcut=True) is None
    assert shape([20, 10, 5], connection_rate=0.5) is None
    assert shape([2, 3, 1], dtype="float64") is None
    assert shape([2, 3, 1], hidden_activation="elliot") is None
    assert shape([2, 3, 1], output_activation="sigmoid_stepwise") is None  # FANN's default
    assert shape([100, 40, 2]) is None  # 145 neurons: too many for a work-item's stack


@pytest.mark.parametrize(("kind", "layers", "takes"), [
    ("cpu", [2, 3, 1], True), ("gpu", [2, 3, 1], True),
    ("cpu", [10, 20, 15, 10, 5], True), ("gpu", [10, 20, 15, 10, 5], False),
])  # fmt: skip
def test_the_wide_kernel_only_on_cpus(kind, layers, takes):
    """swarm_wide.cl is laid out for a CPU's vector lanes: a GPU keeps train_agents
    for wide shapes (swarm_tiny.cl stays on every device that builds it)."""
    from types import SimpleNamespace

    nets = _nets(layers, ["rprop"] * 3, "float32")
    chunk = _chunk(nets)
    arrays = cl_agents.Agents(
        chunk.weights, chunk.steepness, chunk.algorithm, chunk.hyper,
        chunk.prev_steps, chunk.prev_slopes, chunk.sarprop_epoch,
    )  # fmt: skip
    info = SimpleNamespace(double=True, platform_version="OpenCL 3.0 PoCL 3.1", kind=kind)
    backend = SimpleNamespace(info=info)
    assert cl_agents.lanes_apply(backend, nets[0], arrays) is takes


def _tiny_against_general(
    backend, monkeypatch, algorithm, output, error_function, patterns, layers=(3, 4, 2)
):
    """The lane kernel a shape gets (tiny for the default 3-4-2) against train_agents."""
    from fannctl import network

    rng = np.random.default_rng(3)
    data = io.load_data(XOR)
    data.inputs = np.column_stack([data.inputs, rng.uniform(-1, 1, 4)])
    data.outputs = np.column_stack([data.outputs, -data.outputs * 0.5])
    if patterns != 4:  # XOR's rows repeated, moved apart
        rows = np.arange(patterns) % 4
        data.inputs = data.inputs[rows] + rng.uniform(-0.1, 0.1, (patterns, 3))
        data.outputs = data.outputs[rows]
    nets = _nets(list(layers), [algorithm] * 21, "float32")
    last = len(layers) - 1
    for i, net in enumerate(nets):
        network.set_activation(net, last, output, 0.6)
        for layer in range(2, last):  # middle layers: their own function and steepness
            network.set_activation(net, layer, "sigmoid", 0.3 + 0.02 * i)
        net.params.train_error_function = error_function
    if last > 2:  # agent 1 at the ends of exp's range: sums up to +-150/s = +-30,000
        network.set_activation(nets[1], 2, "sigmoid", 0.005)
        nets[1].weights *= 2000
    shape = batched.Shape.of(nets[0])
    general, lanes = _chunk(nets), _chunk(nets)
    args = (shape, data.inputs, data.outputs, 60)
    arrays = cl_agents.Agents(
        lanes.weights, lanes.steepness, lanes.algorithm, lanes.hyper,
        lanes.prev_steps, lanes.prev_slopes, lanes.sarprop_epoch,
    )  # fmt: skip
    assert cl_agents.lanes_apply(backend, nets[0], arrays), "a case a lane kernel takes"
    assert cl_agents.tiny_applies(backend, nets[0], arrays) == (len(layers) == 3)
    want = device.train_chunk_on(
        backend, nets[0], general, *args, round_index=0, seed=0, tiny=False
    )
    monkeypatch.setattr(cl_agents, "DEVICE_BYTES", 4000 if len(layers) == 3 else 12000)
    got = device.train_chunk_on(backend, nets[0], lanes, *args, round_index=0, seed=0)
    np.testing.assert_array_equal(lanes.weights, general.weights)
    np.testing.assert_array_equal(lanes.prev_steps, general.prev_steps)
    np.testing.assert_array_equal(lanes.prev_slopes, general.prev_slopes)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
