"""Backend tests run on every OpenCL device that passes its self-test.

``cl_index`` is parametrized over those devices (``opencl_devices.screen``:
narrowed by ``FANNCTL_TEST_DEVICES=cl:0,pocl-3.1/basic-...``); a device that
fails is reported once in the test summary and left out. With no working
device the tests are skipped with the reason, unless ``CI`` is set: then they
fail, since CI installs a PoCL that must compile the kernels.
"""

from __future__ import annotations

import os
import warnings

import pytest
from opencl_devices import screened

from fannctl import devices


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


SCREENING = screened()
DEVICES = SCREENING.passed
WHY_NONE = SCREENING.why_none


def first_device() -> int:
    """The ``cl:N`` number of the first device that passed (after ``require_opencl``)."""
    require_opencl()
    return DEVICES[0].index


def require_opencl() -> None:
    """Skip (or under CI fail) when there is no working OpenCL device to test."""
    if DEVICES:
        return
    if running_in_ci():
        pytest.fail(
            f"{WHY_NONE}; CI is set, so the OpenCL tests must run "
            "(make deps installs Debian's pocl-opencl-icd)",
            pytrace=False,
        )
    pytest.skip(f"{WHY_NONE} (see 'fannctl health'; make deps installs a working PoCL)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cl_index" in metafunc.fixturenames:
        params = [info.index for info in DEVICES] or [None]
        ids = [info.uid for info in DEVICES] or ["no-opencl"]
        metafunc.parametrize("cl_index", params, ids=ids)


@pytest.fixture
def cl_backend(cl_index):
    """The OpenCL backend of one device (opened once per process)."""
    require_opencl()
    return devices.device_backend(cl_index)


def _clear() -> None:
    devices.registry._WARNED.clear()
    devices.registry._FAILED.clear()
    devices.auto._CANDIDATE_FAILED.clear()
    devices.auto._AUTO_CHOICES.clear()


@pytest.fixture(autouse=True)
def _fresh_selection(monkeypatch):
    """Each test starts with no remembered failures or warnings, and no stray env."""
    monkeypatch.delenv("FANNCTL_DEVICE", raising=False)
    monkeypatch.delenv("FANNCTL_KERNEL_DIR", raising=False)
    monkeypatch.delenv("FANNCTL_DEVICE_EXCLUDE", raising=False)
    # a CLI test in this process may have sent fallbacks to stderr: back to warnings
    monkeypatch.setattr(devices.registry, "fallback_handler", None)
    _clear()
    with warnings.catch_warnings():
        yield
    _clear()
