"""Backend tests run on every OpenCL device present.

``cl_device`` is parametrized over the OpenCL devices found (narrowed by
``FANNCTL_TEST_DEVICES=cl:0,cl:2``). With no pyopencl or no platform the tests
are skipped with the reason, unless ``CI`` is set: then they fail, since CI
has PoCL's CPU device and these tests must run there.
"""

from __future__ import annotations

import os
import warnings

import pytest

from fannctl import devices
from fannctl.errors import DeviceError


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _devices() -> tuple[list, str | None]:
    from fannctl.backends.opencl.backend import list_devices

    try:
        found = list_devices()
    except DeviceError as exc:
        return [], str(exc)
    if not found:
        return [], "no OpenCL platform or device found"
    wanted = os.environ.get("FANNCTL_TEST_DEVICES")
    if wanted:
        names = {name.strip() for name in wanted.split(",") if name.strip()}
        found = [info for info in found if f"cl:{info.index}" in names]
        if not found:
            return [], f"FANNCTL_TEST_DEVICES={wanted} matches no device"
    return found, None


DEVICES, WHY_NONE = _devices()


def require_opencl() -> None:
    """Skip (or under CI fail) when there is no OpenCL device to test."""
    if DEVICES:
        return
    if running_in_ci():
        pytest.fail(
            f"{WHY_NONE}; CI is set, so the OpenCL tests must run (pip install 'pyopencl[pocl]')",
            pytrace=False,
        )
    pytest.skip(f"{WHY_NONE} (pip install 'pyopencl[pocl]' for PoCL's CPU device)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cl_index" in metafunc.fixturenames:
        params = [info.index for info in DEVICES] or [None]
        ids = [f"cl:{i}" if i is not None else "no-opencl" for i in params]
        metafunc.parametrize("cl_index", params, ids=ids)


@pytest.fixture
def cl_backend(cl_index):
    """The OpenCL backend of one device (opened once per process)."""
    require_opencl()
    return devices.opencl_backend(cl_index)


@pytest.fixture(autouse=True)
def _fresh_selection(monkeypatch):
    """Each test starts with no remembered failures or warnings, and no stray env."""
    monkeypatch.delenv("FANNCTL_DEVICE", raising=False)
    monkeypatch.delenv("FANNCTL_KERNEL_DIR", raising=False)
    devices._WARNED.clear()
    devices._FAILED.clear()
    devices._CANDIDATE_FAILED.clear()
    devices._AUTO_CHOICES.clear()
    with warnings.catch_warnings():
        yield
    devices._WARNED.clear()
    devices._FAILED.clear()
    devices._CANDIDATE_FAILED.clear()
