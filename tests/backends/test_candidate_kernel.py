"""Cascade's fused candidate kernel (kernels/candidates.cl) on every OpenCL device.

The kernel against FANN's per-candidate, per-pattern loop (the same check the
numpy epoch passes), its pieces against float64 numpy, and cascade runs that
choose it, fall back from a broken or wrong kernel, or lose the device mid-run.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from core.test_cascade_epoch import fann_loop, residual

from fannctl import activations, cascade, devices, network
from fannctl.backends.opencl.cascade import SUPPORTED, CandidateKernel
from fannctl.data import TrainingData
from fannctl.errors import DeviceError, ParameterError

from .conftest import require_opencl
from .test_select import fallback_messages, kernel_copy, one_per_device  # noqa: F401 (fixture)


@pytest.fixture
def engine(cl_backend) -> CandidateKernel:
    return CandidateKernel(cl_backend)


def reference(t, functions, steepness, errors_t, v):
    """float64 numpy: err x d, sum of squared diffs, 2 sum diff a per output."""
    t64 = np.clip(t.astype(np.float64), -150.0, 150.0)
    a, d = np.empty_like(t64), np.empty_like(t64)
    for row, ident in enumerate(functions):
        s = np.float64(steepness[row])
        with np.errstate(all="ignore"):
            activations.value_into(int(ident), t64[row], a[row])
            activations.derivative_at_unscaled_into(int(ident), s, a[row], t64[row], d[row])
    v64 = v.astype(np.float64)
    diff = a[:, None, :] * v64[:, :, None] - errors_t.astype(np.float64)[None]
    err = (diff * v64[:, :, None]).sum(axis=1) * d
    return err, (diff**2).sum(axis=(1, 2)), 2.0 * (diff * a[:, None, :]).sum(axis=2)


def close(got, want, rtol):
    """Agree to ``rtol`` of each value or of the array's scale, whichever is larger."""
    scale = np.max(np.abs(want))
    np.testing.assert_array_less(np.abs(got - want), rtol * (np.abs(want) + 1e-3 * scale) + 1e-30)


@pytest.mark.parametrize(
    "patterns,outputs", [(3600, 3), (194, 1), (5, 2), (13, 9), (21, 16)]
)  # tails of every length, fewer patterns than a vector, up to the 16-output limit
def test_kernel_matches_numpy_in_float64(engine, patterns: int, outputs: int) -> None:
    rng = np.random.default_rng(patterns)
    functions = np.repeat(np.array(sorted(SUPPORTED), dtype=np.int32), 5)
    count = functions.size
    # every function with a zero steepness (derivatives that divide by it give
    # 0) and a negative one
    steepness = np.tile(np.array([0.25, 0.5, 1.0, 0.0, -0.5], dtype=np.float32), count // 5)
    t = (rng.standard_normal((count, patterns)) * 4).astype(np.float32)
    t[:, :3] = [200.0, -200.0, 149.99]  # beyond the clamp on both sides, and just inside
    errors_t = (rng.standard_normal((outputs, patterns)) * 0.3).astype(np.float32)
    v = rng.standard_normal((count, outputs)).astype(np.float32)
    want_err, want_sq, want_out = reference(t, functions, steepness, errors_t, v)
    work = t.copy()
    sq, out = engine(work, functions, steepness, errors_t, v)
    close(work, want_err, 2e-5)
    close(sq, want_sq, 2e-5)
    close(out, want_out, 2e-5)


def test_sine_and_exp_over_the_clamped_range(engine) -> None:
    """The kernel's own exp, sin and cos, through values and derivatives, over +-150."""
    t = np.linspace(-150.0, 150.0, 30001, dtype=np.float32)[None, :].repeat(4, axis=0)
    functions = np.array(
        [
            activations.SIN_SYMMETRIC,
            activations.COS_SYMMETRIC,
            activations.SIGMOID_SYMMETRIC,
            activations.GAUSSIAN,
        ],
        dtype=np.int32,
    )
    steepness = np.ones(4, dtype=np.float32)
    errors_t = np.zeros((1, t.shape[1]), dtype=np.float32)
    v = np.ones((4, 1), dtype=np.float32)
    work = t.copy()
    engine(work, functions, steepness, errors_t, v)  # err x d = a d here
    want_err, _, _ = reference(t, functions, steepness, errors_t, v)
    np.testing.assert_allclose(work, want_err, rtol=0, atol=4e-7)


def test_pool_epoch_with_the_kernel_is_fanns_loop(engine, monkeypatch) -> None:
    """A whole candidate epoch (products, kernel, slopes) against FANN's loop."""
    rng = np.random.default_rng(5)
    net = network.create([4, 2], shortcut=True, dtype="float32", rng=rng)
    net.params.cascade_activation_functions = [3, 10, 3, 0, 18, 19, 7, 8, 15, 17, 11, 14]
    pool = cascade.Candidates(net, rng.random, engine)
    pool.weights = rng.uniform(-1, 1, pool.weights.shape).astype(np.float32)
    pool.weights[:5, : pool.num_in] *= 400.0  # sums reaching the clamp
    patterns = 37
    sources = np.column_stack([rng.uniform(-1, 1, (patterns, 4)), np.ones(patterns)])
    sources = sources.astype(np.float32)
    errors = rng.uniform(-0.5, 0.5, (patterns, 2)).astype(np.float32)
    phase = residual(sources, errors, float((errors**2).sum()))
    seen = {}
    monkeypatch.setattr(
        cascade,
        "update_weights",
        lambda w, state, *a, **k: seen.update(slopes=state.slopes.reshape(pool.weights.shape)),
    )
    want_slopes, want_scores = fann_loop(pool, sources, errors, phase.sse)
    best = pool.epoch(net, phase, 0.1, None)
    np.testing.assert_allclose(seen["slopes"], want_slopes, rtol=2e-4, atol=1e-5)
    np.testing.assert_allclose(pool.scores, want_scores, rtol=2e-4, atol=1e-5)
    assert best == int(np.argmax(want_scores))


def spiral_like(patterns: int = 120) -> TrainingData:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (patterns, 2))
    y = (np.sin(3 * x[:, :1]) * np.cos(2 * x[:, 1:]) > 0).astype(float)
    return TrainingData(x, y)


def grow(device: str | None, neurons: int = 3):
    net = network.create([2, 1], shortcut=True, dtype="float32", rng=np.random.default_rng(1))
    result = cascade.cascade_train(
        net, spiral_like(), cascade.CascadeConfig(neurons, 0.0, 0), seed=3, device=device
    )
    return result, net


def test_cascade_on_the_device_grows_the_same_kind_of_network(cl_index) -> None:
    require_opencl()
    result, net = grow(f"cl:{cl_index}")
    baseline, numpy_net = grow("numpy")
    uid = devices.all_devices()[cl_index].uid  # provenance names the device's stable name
    assert result.device == uid and baseline.device == "numpy"
    assert result.neurons_added == baseline.neurons_added == 3
    assert net.layers == numpy_net.layers
    # float32 rounding in another order: the runs drift apart, not far
    assert result.mse == pytest.approx(baseline.mse, rel=0.25)
    assert result.mse < 0.8 * grow("numpy", neurons=0)[0].mse


def test_auto_keeps_small_pools_on_numpy_without_opencl() -> None:
    """A pool whose numpy epoch is below the threshold (raised here: the
    threshold is a timing) stays on numpy and never imports pyopencl (a fresh
    process shows it)."""
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from fannctl import cascade, network\n"
        "from fannctl import devices\n"
        "devices.auto.CANDIDATE_MIN_EPOCH_SECONDS = 1e9\n"
        "from fannctl.data import TrainingData\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.uniform(-1, 1, (120, 2))\n"
        "data = TrainingData(x, (x[:, :1] * x[:, 1:] > 0).astype(float))\n"
        "net = network.create([2, 1], shortcut=True, dtype='float32')\n"
        "config = cascade.CascadeConfig(1, 0.0, 0)\n"
        "result = cascade.cascade_train(net, data, config, device='auto')\n"
        "print(result.device, 'pyopencl' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["numpy", "False"]


def test_an_unsupported_pool_stays_on_numpy_and_says_why(cl_index) -> None:
    require_opencl()
    net = network.create([2, 1], shortcut=True, dtype="float64", rng=np.random.default_rng(1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cascade.cascade_train(
            net, spiral_like(), cascade.CascadeConfig(1, 0.0, 0), seed=3, device=f"cl:{cl_index}"
        )
    messages = fallback_messages(caught)
    assert result.device == "numpy"
    assert len(messages) == 1 and "float32" in messages[0] and "16 outputs" in messages[0]


def test_a_device_number_that_does_not_exist_is_refused_at_once() -> None:
    require_opencl()
    with pytest.raises(ParameterError, match="no OpenCL device cl:99"):
        devices.CandidateChoice("cl:99")


def equal_runs(a, b) -> None:
    (ra, na), (rb, nb) = a, b
    assert (ra.mse, ra.epochs, ra.neurons_added) == (rb.mse, rb.epochs, rb.neurons_added)
    np.testing.assert_array_equal(na.weights, nb.weights)


BREAKS = {
    "build": ("int c = get_global_id(0);", "int c = oops;"),
    "scores": ("sq += diff * diff;", "sq += diff;"),  # builds, runs, scores off
    "slopes": ("err += diff * v[o];", "err += diff;"),  # scores right, input slopes off
}


@pytest.mark.parametrize("fault", BREAKS)
def test_a_broken_or_wrong_kernel_falls_back_to_numpy(kernel_copy, fault: str) -> None:  # noqa: F811
    require_opencl()
    path = kernel_copy / "candidates.cl"
    source = path.read_text()
    old, new = BREAKS[fault]
    assert old in source
    path.write_text(source.replace(old, new))
    devices.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        broken = grow("cl")
    messages = fallback_messages(caught)
    one_per_device(messages, "failed", "build" if fault == "build" else "differs from numpy")
    assert broken[0].device == "numpy"
    equal_runs(broken, grow("numpy"))  # trial epochs leave the run untouched
    devices.reset()


def test_a_device_lost_mid_run_continues_on_numpy(cl_index, monkeypatch) -> None:
    """The kernel raises DeviceError on its 20th launch (a lost device): the run
    goes on in numpy from the same state and finishes a proper network."""
    require_opencl()
    calls = {"n": 0}
    real = CandidateKernel.__call__

    def failing(self, *args):
        calls["n"] += 1
        if calls["n"] == 20:
            raise DeviceError(f"cl:{cl_index}: device lost (injected)")
        return real(self, *args)

    monkeypatch.setattr(CandidateKernel, "__call__", failing)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result, net = grow(f"cl:{cl_index}")
    messages = fallback_messages(caught)
    assert len(messages) == 1 and "device lost" in messages[0] and "numpy" in messages[0]
    assert result.device == "numpy" and result.neurons_added == 3
    assert np.isfinite(net.weights).all() and result.mse < 0.8 * grow("numpy", neurons=0)[0].mse


def test_the_self_test_comparison_refuses_what_does_not_match() -> None:
    scores, slopes = np.array([1.0, 2.0, np.nan]), np.ones((3, 4))
    assert devices.auto._agree((scores, slopes), (scores.copy(), slopes.copy()))  # NaN == NaN
    assert devices.auto._agree((scores * (1 + 1e-5), slopes), (scores, slopes))  # float32 rounding
    assert not devices.auto._agree((scores[:1], slopes), (scores, slopes))  # would broadcast
    assert not devices.auto._agree((scores, slopes[:, :1]), (scores, slopes))
    assert not devices.auto._agree((scores, None), (scores, None))
    assert not devices.auto._agree((scores, slopes[:2]), (scores, slopes))  # would raise
    assert not devices.auto._agree((scores, slopes * 1.01), (scores, slopes))
