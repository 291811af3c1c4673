"""Device names, leaving devices out, remembered verdicts, and the suite's own screening."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from opencl_devices import _wanted as wanted_devices
from opencl_devices import screen

from fannctl import devices, health
from fannctl.devices import names, registry, verdicts
from fannctl.errors import DeviceUnusable

from .conftest import DEVICES, SCREENING, require_opencl, running_in_ci
from .test_opencl_backend import make_data, make_net
from .test_select import kernel_copy  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]


# -- names ------------------------------------------------------------------------------


def test_stable_names_say_platform_version_and_variant():
    listed = [
        (
            "Portable Computing Language",
            "OpenCL 3.0 PoCL 3.0-rc2  Linux, LLVM 14.0.6",
            "basic-AMD EPYC",
        ),
        (
            "Portable Computing Language",
            "OpenCL 3.0 PoCL 3.1+debian  Linux, LLVM 15",
            "basic-AMD EPYC",
        ),
        ("Portable Computing Language", "OpenCL 3.0 PoCL 3.1+debian  Linux", "pthread-AMD EPYC"),
        ("NVIDIA CUDA", "OpenCL 3.0 CUDA 13.0.97", "NVIDIA H200"),
        ("NVIDIA CUDA", "OpenCL 3.0 CUDA 13.0.97", "NVIDIA H200"),
    ]
    assert names.stable_names(listed) == [
        "pocl-3.0-rc2/basic-amd-epyc",
        "pocl-3.1/basic-amd-epyc",
        "pocl-3.1/pthread-amd-epyc",
        "nvidia-cuda/nvidia-h200",
        "nvidia-cuda/nvidia-h200-#2",
    ]


def test_listed_devices_have_unique_stable_names():
    require_opencl()
    uids = [info.uid for info in devices.all_devices()]
    assert len(set(uids)) == len(uids) and all("/" in uid for uid in uids)


def test_names_do_not_depend_on_which_variant_is_listed():
    """The numbering changes with POCL_DEVICES; the names of the devices do not."""
    require_opencl()
    code = (
        "from fannctl import devices\n"
        "print(' '.join(sorted(i.uid for i in devices.all_devices())))\n"
    )
    seen = {}
    for variants in ("basic", "pthread basic"):
        env = dict(os.environ, POCL_DEVICES=variants)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        seen[variants] = set(done.stdout.split())
    # each name listed either way is the same device's (PoCL 5 has no variants)
    assert seen["basic"] <= seen["pthread basic"]


def test_a_device_is_chosen_by_its_stable_name():
    require_opencl()
    info = DEVICES[-1]
    assert devices.resolve(info.uid).name == info.uid
    assert devices.resolve(f"cl:{info.index}").name == info.uid


# -- leaving devices out ----------------------------------------------------------------


def test_exclusion_by_environment_and_config(tmp_path, monkeypatch):
    assert names.is_excluded("pocl-3.0-rc2/basic-amd-epyc", ["pocl-3.0*"])
    assert not names.is_excluded("pocl-3.1/basic-amd-epyc", ["pocl-3.0*"])
    monkeypatch.setenv("FANNCTL_DEVICE_EXCLUDE", "pocl-3.0*, NVIDIA-CUDA/*")
    config = tmp_path / "config.ini"
    config.write_text("[devices]\nexclude = intel*/*\n    amd*/gfx90a\n")
    monkeypatch.setenv("FANNCTL_CONFIG", str(config))
    assert names.exclude_patterns() == ["pocl-3.0*", "nvidia-cuda/*", "intel*/*", "amd*/gfx90a"]


def test_excluded_device_is_never_used_and_health_does_not_count_it(monkeypatch):
    require_opencl()
    info = DEVICES[0]
    monkeypatch.setenv("FANNCTL_DEVICE_EXCLUDE", info.uid)
    assert info.uid not in [i.uid for i in devices.usable()]
    assert info.uid not in [b.name for b in devices.chain(None)]
    report = health.check(strict=True)
    entry = next(e for e in report["devices"] if e["device"] == info.uid)
    assert entry["status"] == "excluded" and entry["self_test"] == {}
    assert not any(info.uid in problem for problem in report["problems"])


# -- a device that cannot build: reported, remembered, skipped ---------------------------


def test_a_device_failing_its_build_is_reported_and_skipped(kernel_copy, tmp_path, monkeypatch):  # noqa: F811
    """The suite's own screening (and health) report a device whose kernels do not
    build, with cause and remedy; its verdict is remembered, so the next process
    skips it without building and without a warning."""
    require_opencl()
    monkeypatch.setenv("FANNCTL_CACHE_DIR", str(tmp_path / "cache"))
    (kernel_copy / "common.cl").write_text("this is not OpenCL C;\n")
    devices.reset()
    result = screen()
    assert result.passed == []
    screened = {info.uid for info in wanted_devices(devices.all_devices())[0]}
    assert {name for name, *_ in result.failed} == screened
    for _, index, cause, remedy in result.failed:
        assert index.startswith("cl:") and "build" in cause and "FANNCTL_DEVICE_EXCLUDE" in remedy
    # remembered: a new process's registry leaves them out, silently
    devices.reset()
    assert devices.usable() == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backend = devices.resolve("cl")
        out = backend.forward(make_net("layer", "float32"), make_data().inputs)
    assert backend.name == "numpy" and out.shape[0] == make_data().inputs.shape[0]
    assert caught == []  # said when the verdicts were written (and by health), not again


def test_a_build_failure_mid_process_is_remembered_once(kernel_copy, tmp_path, monkeypatch):  # noqa: F811
    """A device found broken while computing: one warning with cause and remedy,
    a verdict on disk; a new process (registry reset) says nothing and skips it."""
    require_opencl()
    monkeypatch.setenv("FANNCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FANNCTL_TEST_DEVICES", DEVICES[0].uid)
    monkeypatch.setenv("FANNCTL_DEVICE_EXCLUDE", ",".join(i.uid for i in DEVICES[1:]))
    (kernel_copy / "common.cl").write_text("this is not OpenCL C;\n")
    devices.reset()
    net, data = make_net("layer", "float32"), make_data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        devices.resolve(DEVICES[0].uid).forward(net, data.inputs)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "unusable" in messages[0] and "leave it out" in messages[0]
    assert registry.remembered_failure(devices.all_devices()[DEVICES[0].index]) is not None
    devices.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        devices.resolve("auto").forward(net, data.inputs)
    assert caught == []


def test_verdicts_are_per_driver_and_kernel_sources(tmp_path, monkeypatch):
    require_opencl()
    monkeypatch.setenv("FANNCTL_CACHE_DIR", str(tmp_path))
    info = devices.all_devices()[DEVICES[0].index]
    verdicts.store(info, False, "cause", "remedy")
    assert verdicts.load(info)["reason"] == "cause"
    import dataclasses

    assert verdicts.load(dataclasses.replace(info, driver="another")) is None
    monkeypatch.setenv("POCL_EXTRA_BUILD_FLAGS", "-O0")
    assert verdicts.load(info) is None
    monkeypatch.delenv("POCL_EXTRA_BUILD_FLAGS")
    verdicts.forget(info)
    assert verdicts.load(info) is None


def test_a_passed_self_test_is_remembered_and_health_tests_again(tmp_path, monkeypatch):
    """A device that passed its self-test with these kernels passes it again: a new
    process (registry reset) builds from the cache without the ~30 ms check, while
    health forgets the pass and runs the check itself."""
    require_opencl()
    from fannctl.devices import selftest

    monkeypatch.setenv("FANNCTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FANNCTL_TEST_DEVICES", DEVICES[0].uid)
    info = devices.all_devices()[DEVICES[0].index]
    calls: list[str] = []
    check = selftest.check

    def counted(backend, dtype):
        calls.append(np.dtype(dtype).name)
        check(backend, dtype)

    monkeypatch.setattr(selftest, "check", counted)
    net = make_net("layer", "float32")
    devices.reset()
    devices.device_backend(info.uid).forward(net, make_data().inputs)
    assert calls == ["float32"] and verdicts.passed(info, "float32")
    assert not verdicts.passed(info, "float64")
    devices.reset()  # a new process
    devices.device_backend(info.uid).forward(net, make_data().inputs)
    assert calls == ["float32"]
    devices.reset()
    entry = health.device_self_test(info)
    assert entry["status"] == "usable"
    assert calls.count("float32") == 2  # health ran it again
    monkeypatch.setenv("POCL_EXTRA_BUILD_FLAGS", "-O0")  # another build: not taken as passed
    assert not verdicts.passed(info, "float32")


def test_diagnosis_of_a_pocl_too_old_for_the_cpu():
    from fannctl.backends.opencl.backend import DeviceInfo

    info = DeviceInfo(
        0,
        "basic-AMD EPYC",
        "cpu",
        "Portable Computing Language",
        0,
        True,
        "3.0",
        None,
        "OpenCL 3.0 PoCL 3.0-rc2  Linux, LLVM 14.0.6",
        "pocl-3.0-rc2/basic-amd-epyc",
    )
    cause, remedy = verdicts.diagnose(
        info, "OpenCL build failed: error: unknown target CPU 'generic'"
    )
    assert "PoCL 3.0-rc2 (LLVM 14.0.6) cannot compile for this CPU" in cause
    assert (
        "pocl-opencl-icd" in remedy
        and "FANNCTL_DEVICE_EXCLUDE='pocl-3.0-rc2/basic-amd-epyc'" in remedy
    )
    assert isinstance(DeviceUnusable("x"), Exception)


# -- the suite's own guarantee ------------------------------------------------------------


def test_ci_has_a_working_opencl_cpu_device():
    """Under CI at least one OpenCL CPU device passes its self-test, so the
    kernels are tested there; elsewhere a machine without one is told why."""
    cpus = [info for info in DEVICES if info.kind == "cpu"]
    if not cpus and not running_in_ci():
        pytest.skip(f"no working OpenCL CPU device: {SCREENING.why_none or SCREENING.failed}")
    assert cpus, f"CI needs a working OpenCL CPU device; failed: {SCREENING.failed}"
    backend = devices.device_backend(cpus[0].index)
    net = make_net("layer", "float32")
    got = backend.forward(net, make_data().inputs)
    assert np.isfinite(got).all()
