"""Device choice and automatic fallback, with each fault injected for real.

Faults: no OpenCL platform (an ICD loader pointed at nothing), a kernel that
does not build, a kernel that builds but computes wrong (the self-test must
catch it), out of resources and a lost device in the middle of a run (the
enqueue raises pyopencl's own errors). Each test checks the numbers that come
out, the single warning, and which device finished the job.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from fannctl import devices
from fannctl.backends.numpy_backend import NumpyBackend
from fannctl.backends.opencl import kernels
from fannctl.data import TrainingData
from fannctl.errors import DeviceError, ParameterError
from fannctl.params import algorithm_id
from fannctl.train import TrainConfig, train

from .conftest import DEVICES, first_device, require_opencl
from .test_opencl_backend import make_data, make_net

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_devices():
    """Devices reopened (and programs rebuilt) for this test, and again after it."""
    require_opencl()
    devices.reset()
    yield
    devices.reset()


@pytest.fixture
def kernel_copy(tmp_path, monkeypatch):
    """A copy of kernels/ the test may break; FANNCTL_KERNEL_DIR points at it."""
    folder = tmp_path / "kernels"
    shutil.copytree(kernels.kernel_dir(), folder)
    # a file no program includes: the copy's device verdicts get keys of their own
    # (a broken kernel remembered from an earlier run must not hide this run's fault)
    (folder / "marker.cl").write_text(f"// {tmp_path}\n")
    monkeypatch.setenv("FANNCTL_KERNEL_DIR", str(folder))
    return folder


def numpy_run(net, data, config):
    alone = net.copy()
    return train(alone, data, config, backend=NumpyBackend()), alone


def fallback_messages(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, devices.DeviceFallbackWarning)]


def one_per_device(messages: list[str], *needles: str) -> None:
    """A fault that hits every device (a kernel file, the enqueue call): one
    warning per usable device, each saying why, the last handing the work to numpy."""
    assert len(messages) == len(DEVICES)
    assert all(needle.upper() in m.upper() for m in messages for needle in needles)
    assert "numpy" in messages[-1]


# -- names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("numpy", ("numpy", None)),
        ("AUTO", ("auto", None)),
        ("cl", ("cl", None)),
        ("cl:0", ("cl", 0)),
        (" cl:12 ", ("cl", 12)),
        ("pocl-3.1/basic-amd-epyc", ("cl", "pocl-3.1/basic-amd-epyc")),
        ("NVIDIA-CUDA/NVIDIA-H200", ("cl", "nvidia-cuda/nvidia-h200")),
    ],
)
def test_parse_device_names(name, expected):
    assert devices.parse(name) == expected


@pytest.mark.parametrize("name", ["gpu", "cl:", "cl:-1", "cl:x", "opencl", "numpy:0", "/x", "x/"])
def test_unknown_device_names_are_usage_errors(name):
    """A typo is exit 2 with the valid names, not a silent numpy run."""
    with pytest.raises(ParameterError, match="valid: auto, numpy, cl, cl:N"):
        devices.resolve(name)


def test_environment_variable_picks_the_device(monkeypatch):
    monkeypatch.setenv("FANNCTL_DEVICE", "numpy")
    assert devices.resolve().name == "numpy"
    assert devices.resolve(None).name == "numpy"


def test_invalid_device_index_names_the_devices_present():
    """cl:N past the last device is a usage error that lists what exists."""
    require_opencl()
    count = len(devices.all_devices())
    with pytest.raises(ParameterError, match=r"no OpenCL device cl:\d+; this machine has: cl:0 "):
        devices.resolve(f"cl:{count}")
    with pytest.raises(ParameterError, match=r"no OpenCL device nosuch/device; this machine"):
        devices.resolve("nosuch/device")


def test_cl_picks_a_gpu_first_then_the_newest_pocl():
    require_opencl()
    backend = devices.resolve("cl")
    infos = devices.usable()
    assert backend.name == devices.fallback.preferred_order(infos)[0].uid
    assert [b.name for b in backend._chain[:-1]] == [
        info.uid for info in devices.fallback.preferred_order(infos)
    ]
    assert backend._chain[-1].name == "numpy"


def test_preferred_order_ranks_gpus_then_newer_pocl():
    """GPUs first; among PoCLs the newer (Debian's 3.1 knows CPUs the wheel's 3.0 does not)."""
    from fannctl.backends.opencl.backend import DeviceInfo

    def info(index, kind, version, uid):
        return DeviceInfo(
            index, uid, kind, "Portable Computing Language", 0, True, "x", None, version, uid
        )

    old = info(0, "cpu", "OpenCL 3.0 PoCL 3.0-rc2  Linux, LLVM 14.0.6", "pocl-3.0-rc2/basic-cpu")
    new = info(1, "cpu", "OpenCL 3.0 PoCL 3.1+debian  Linux, LLVM 15.0.6", "pocl-3.1/basic-cpu")
    gpu = info(2, "gpu", "OpenCL 3.0 CUDA 13.0", "nvidia-cuda/h200")
    assert devices.fallback.preferred_order([old, new, gpu]) == [gpu, new, old]


# -- auto -----------------------------------------------------------------------------


def test_auto_keeps_short_runs_on_numpy(monkeypatch):
    """A run numpy is predicted to finish within the threshold never opens a
    device (the threshold raised: the prediction is a timing)."""
    monkeypatch.setattr(devices.auto, "AUTO_MIN_SECONDS", 1e9)
    backend = devices.resolve("auto")
    net = make_net("layer", "float32")
    result = train(net, make_data(), TrainConfig(20, 0.0, 0), backend=backend)
    assert backend.name == "numpy"
    assert result.epochs == 20


def test_auto_measures_and_picks_the_faster_device():
    """A long XOR run: auto times both engines and runs on the one it measured faster."""
    require_opencl()
    backend = devices.resolve("auto")
    net = make_net("layer", "float32", "sigmoid_symmetric", "sigmoid_symmetric", layers=(2, 3, 1))
    xor = TrainingData(
        np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], float),
        np.array([[-1], [1], [1], [-1]], float),
    ).astype("float32")
    config = TrainConfig(max_epochs=30000, desired_error=-1.0, report_every=0)
    result = train(net, xor, config, backend=backend)
    # which one is faster is a timing (fannctl bench --device cl measures it); the
    # choice must follow the measurements either way
    measured = backend.measurements
    faster_on_device = measured["device_epoch_seconds"] < measured["numpy_epoch_seconds"]
    assert (backend.name != "numpy") == faster_on_device
    assert result.epochs == 30000


# -- faults ---------------------------------------------------------------------------


def test_no_platform_falls_back_to_numpy_with_one_warning(tmp_path):
    """An ICD loader that finds no platform: --device cl warns once and computes with numpy."""
    net_path = tmp_path / "xor.h5"
    env_cmd = [sys.executable, "-m", "fannctl"]
    subprocess.run(
        [*env_cmd, "create", str(net_path), "--layers", "2,3,1", "--seed", "1", "-q"], check=True
    )
    reference = tmp_path / "ref.h5"
    shutil.copy(net_path, reference)
    data = str(ROOT / "datasets" / "xor.data")
    env = {
        "OCL_ICD_VENDORS": str(tmp_path / "no-vendors"),
        "OCL_ICD_FILENAMES": "",
        "PATH": "/usr/bin:/bin",
    }
    got = subprocess.run(
        [*env_cmd, "train", str(net_path), data, "--device", "cl", "--json", "--max-epochs", "50"],
        capture_output=True,
        text=True,
        env=env,
    )
    want = subprocess.run(
        [
            *env_cmd,
            "train",
            str(reference),
            data,
            "--device",
            "numpy",
            "--json",
            "--max-epochs",
            "50",
        ],
        capture_output=True,
        text=True,
    )
    assert got.returncode == 0, got.stderr
    assert got.stderr.count("OpenCL unavailable") == 1
    assert "Traceback" not in got.stderr
    import json

    mine, theirs = json.loads(got.stdout), json.loads(want.stdout)
    assert mine["device"] == "numpy"
    assert mine["mse"] == theirs["mse"] and mine["epochs"] == theirs["epochs"]


def test_build_failure_falls_back_and_says_why(fresh_devices, kernel_copy):
    """A kernel that does not compile: DeviceError with the build log, then numpy, same result."""
    path = kernel_copy / "update.cl"
    path.write_text(path.read_text().replace("batch_step(int i", "batch_step(int i int j"))
    backend = devices.device_backend(first_device())
    with pytest.raises(DeviceError, match="build failed") as failure:
        backend.program(np.float32)
    # the log locates the fault: PoCL by file (update.cl), NVIDIA (which takes
    # no file names from #line) by the broken line
    message = str(failure.value)
    assert "build log" in message and ("update.cl" in message or "batch_step" in message)

    devices.reset()
    net, data = make_net("layer", "float32"), make_data()
    config = TrainConfig(max_epochs=12, desired_error=0.0, report_every=4)
    chosen = devices.resolve("cl")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(net, data, config, backend=chosen)
        train(net.copy(), data, config, backend=devices.resolve("cl"))  # no second warning
    want, alone = numpy_run(make_net("layer", "float32"), data, config)
    messages = fallback_messages(caught)
    one_per_device(messages, "build failed")
    assert chosen.name == "numpy"
    assert result.mse == want.mse
    np.testing.assert_array_equal(net.weights, alone.weights)


def test_wrong_result_fails_the_self_test(fresh_devices, kernel_copy):
    """A kernel that builds but computes a wrong derivative never computes anything."""
    path = kernel_copy / "activations.cl"
    text = path.read_text()
    broken = text.replace("return s * ((REAL)1 - c * c);", "return s * ((REAL)1.5 - c * c);")
    assert broken != text
    path.write_text(broken)
    net, data = make_net("layer", "float32", "sigmoid_symmetric"), make_data()
    chosen = devices.resolve("cl")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = chosen.forward(net, data.inputs)
    messages = fallback_messages(caught)
    one_per_device(messages, "self-test")
    assert chosen.name == "numpy"
    np.testing.assert_array_equal(outputs, NumpyBackend().forward(net, data.inputs))


class _FailingEnqueue:
    """pyopencl.enqueue_nd_range_kernel that raises a real pyopencl error on call N."""

    def __init__(self, real, error, after: int) -> None:
        self.real, self.error, self.after, self.calls = real, error, after, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls > self.after:
            raise self.error
        return self.real(*args, **kwargs)


def _cl_error(kind: str):
    import pyopencl as cl

    if kind == "out of resources":
        return cl.MemoryError(
            cl._cl._ErrorRecord(
                msg="clEnqueueNDRangeKernel failed: OUT_OF_RESOURCES",
                code=-5,
                routine="clEnqueueNDRangeKernel",
            )
        )
    return cl.RuntimeError(
        cl._cl._ErrorRecord(
            msg="clEnqueueNDRangeKernel failed: DEVICE_NOT_AVAILABLE",
            code=-2,
            routine="clEnqueueNDRangeKernel",
        )
    )


@pytest.mark.parametrize("kind", ["out of resources", "lost device"])
@pytest.mark.parametrize("algorithm", ["rprop", "sarprop", "incremental"])
def test_device_failing_mid_run_finishes_on_numpy(fresh_devices, monkeypatch, kind, algorithm):
    """The run continues from its last chunk end on numpy: numpy's numbers, one warning."""
    import pyopencl as cl

    net = make_net("layer", "float64")
    net.params.training_algorithm = algorithm_id(algorithm)
    net.params.learning_rate = 0.2
    net.state.rng_state = np.random.default_rng(3).bit_generator.state
    data = make_data(dtype="float64")
    config = TrainConfig(max_epochs=30, desired_error=0.0, report_every=5)
    want, alone = numpy_run(net, data, config)
    chosen = devices.resolve("cl")
    chosen.current.program(np.float64)  # built and self-tested before the fault
    failing = _FailingEnqueue(cl.enqueue_nd_range_kernel, _cl_error(kind), after=3)
    monkeypatch.setattr(cl, "enqueue_nd_range_kernel", failing)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(net, data, config, backend=chosen)
    messages = fallback_messages(caught)
    assert failing.calls > 3  # the device did run part of it
    one_per_device(messages, kind.split()[-1])
    assert chosen.name == "numpy"
    assert [r.epoch for r in result.history] == [r.epoch for r in want.history]
    np.testing.assert_allclose(
        [r.mse for r in result.history], [r.mse for r in want.history], rtol=1e-10
    )
    np.testing.assert_allclose(net.weights, alone.weights, rtol=1e-9, atol=1e-12)
    if algorithm == "sarprop":
        assert net.state.rng_state == alone.state.rng_state


def test_gradient_fault_repeats_the_call_on_numpy(fresh_devices, monkeypatch):
    """A failed gradient() leaves the slopes untouched and numpy computes them instead."""
    import pyopencl as cl

    net, data = make_net("shortcut", "float64"), make_data(dtype="float64")
    chosen = devices.resolve("cl")
    chosen.current.program(np.float64)
    monkeypatch.setattr(
        cl,
        "enqueue_nd_range_kernel",
        _FailingEnqueue(cl.enqueue_nd_range_kernel, _cl_error("lost"), 0),
    )
    start = np.full(net.weights.size, 0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = chosen.gradient(net, data.inputs, data.outputs, start.copy())
    want = NumpyBackend().gradient(net, data.inputs, data.outputs, start.copy())
    one_per_device(fallback_messages(caught))
    np.testing.assert_array_equal(got.slopes, want.slopes)
    assert got.sse == want.sse


def test_fallback_handler_replaces_warnings(fresh_devices, kernel_copy, monkeypatch):
    """The CLI's hook receives the message; nothing goes through warnings then."""
    (kernel_copy / "fused.cl").write_text("this is not OpenCL C")
    seen: list[str] = []
    monkeypatch.setattr(devices.registry, "fallback_handler", seen.append)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        devices.resolve("cl").forward(make_net("layer", "float32"), make_data().inputs)
    one_per_device(seen, "build failed")
    assert fallback_messages(caught) == []


def test_double_precision_missing_falls_back(fresh_devices, monkeypatch):
    """A device without fp64 hands float64 work to numpy (float32 stays on the device)."""
    backend = devices.device_backend(first_device())
    monkeypatch.setattr(backend, "supports", lambda dtype: np.dtype(dtype) == np.float32)
    monkeypatch.setattr(backend, "_programs", {})
    chosen = devices.FallbackBackend([backend, NumpyBackend()])
    net = make_net("layer", "float64")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = chosen.forward(net, make_data(dtype="float64").inputs)
    assert "double precision" in fallback_messages(caught)[0]
    np.testing.assert_array_equal(
        out, NumpyBackend().forward(net, make_data(dtype="float64").inputs)
    )


def test_auto_trains_many_networks_like_numpy_one_by_one(monkeypatch):
    """The swarm's entry point under auto: a run numpy is predicted to finish
    within the threshold never opens a device, and each network ends as numpy
    trains it alone. (The threshold is raised so that the prediction, a
    timing, cannot decide otherwise: on a 16-core machine numpy's threads made
    these ten epochs slow enough to try the GPU.)"""
    monkeypatch.setattr(devices.auto, "AUTO_MIN_SECONDS", 1e9)
    nets = [make_net("layer", "float64", seed=seed) for seed in range(3)]
    data = make_data(dtype="float64")
    config = TrainConfig(max_epochs=10, desired_error=0.0, report_every=0)
    expected = [numpy_run(net, data, config) for net in nets]
    backend = devices.resolve("auto")
    results = backend.train_many(nets, data, config)
    assert backend.name == "numpy"
    for net, result, (want, alone) in zip(nets, results, expected, strict=True):
        assert result.epochs == want.epochs == 10
        np.testing.assert_array_equal(net.weights, alone.weights)


def test_auto_short_run_never_imports_pyopencl():
    """Lazy imports: a short auto run (the default) stays free of pyopencl."""
    code = (
        "import sys, numpy as np\n"
        "from fannctl import network\n"
        "from fannctl import devices\n"
        "from fannctl.data import TrainingData\n"
        "from fannctl.train import TrainConfig, train\n"
        "net = network.create([2, 3, 1], rng=np.random.default_rng(1))\n"
        "data = TrainingData(np.zeros((4, 2)), np.zeros((4, 1)))\n"
        "train(net, data, TrainConfig(50, 0.0, 0), backend=devices.resolve('auto'))\n"
        "print('pyopencl' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
