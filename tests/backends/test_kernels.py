"""Kernel files: found in a checkout and in an install, built once, cached on disk."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fannctl import devices
from fannctl.backends.opencl import kernels
from fannctl.errors import DeviceError

from .conftest import first_device, require_opencl

ROOT = Path(__file__).resolve().parents[2]


def test_kernel_dir_is_the_top_level_folder_in_a_checkout():
    """The editable install reads kernels/ straight from the source tree."""
    assert kernels.kernel_dir() == ROOT / "kernels"
    names = {path.stem for path in kernels.kernel_files()}
    assert set(kernels.PROGRAM_FILES) <= names


def test_kernel_dir_inside_an_installed_package(tmp_path, monkeypatch):
    """A wheel carries them as fannctl/kernels/, next to the modules; that copy wins."""
    package = tmp_path / "fannctl"
    (package / "backends" / "opencl").mkdir(parents=True)
    (package / "kernels").mkdir()
    (package / "kernels" / "common.cl").write_text("/* */")
    monkeypatch.setattr(kernels, "__file__", str(package / "backends" / "opencl" / "kernels.py"))
    assert kernels.kernel_dir() == package / "kernels"


def test_wheel_maps_kernels_into_the_package():
    """pyproject ships kernels/*.cl as fannctl.kernels and lists every package.

    The package list is explicit (for the mapping), so a new subpackage must be
    added there or it would silently be left out of the wheel.
    """
    toml = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    config = toml.loads((ROOT / "pyproject.toml").read_text())
    tool = config["tool"]["setuptools"]
    assert tool["package-dir"]["fannctl.kernels"] == "kernels"
    assert "*.cl" in tool["package-data"]["fannctl.kernels"]
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "fannctl").rglob("__init__.py")
    }
    assert found | {"fannctl.kernels"} == set(tool["packages"])
    assert any(dep.startswith("pyopencl[pocl]") for dep in config["project"]["dependencies"])


def test_load_concatenates_by_name_and_missing_file_is_a_device_error():
    source = kernels.load("common", "activations")
    assert '#line 1 "common.cl"' in source and "activation_value" in source
    with pytest.raises(DeviceError, match=r"nosuch\.cl"):
        kernels.load("nosuch")


def test_binaries_are_cached_on_disk_and_reused(tmp_path, monkeypatch):
    """The second build in a fresh process state loads the stored binary."""
    require_opencl()
    monkeypatch.setenv("FANNCTL_CACHE_DIR", str(tmp_path / "fannctl"))
    monkeypatch.delenv("FANNCTL_NO_CACHE", raising=False)
    devices.reset()
    try:
        backend = devices.device_backend(first_device())
        first = backend.program(np.float32)
        stored = list((tmp_path / "fannctl").glob("*.bin"))
        assert len(stored) == 1 and stored[0].stat().st_size > 0
        assert not first.from_cache
        devices.reset()
        again = devices.device_backend(first_device()).program(np.float32)
        assert again.from_cache
        # built once per (context, source, options): the same object comes back
        assert devices.device_backend(first_device()).program(np.float32) is again
    finally:
        devices.reset()


def test_no_cache_switch_writes_nothing(tmp_path, monkeypatch):
    require_opencl()
    monkeypatch.setenv("FANNCTL_CACHE_DIR", str(tmp_path / "fannctl"))
    monkeypatch.setenv("FANNCTL_NO_CACHE", "1")
    devices.reset()
    try:
        program = devices.device_backend(first_device()).program(np.float32)
        assert not program.from_cache
        assert not (tmp_path / "fannctl").exists()
    finally:
        devices.reset()


def test_stale_cache_file_is_rebuilt(tmp_path, monkeypatch):
    """A corrupt binary in the cache is ignored, not fatal."""
    require_opencl()
    monkeypatch.setenv("FANNCTL_CACHE_DIR", str(tmp_path / "fannctl"))
    devices.reset()
    try:
        devices.device_backend(first_device()).program(np.float32)
        (stored,) = (tmp_path / "fannctl").glob("*.bin")
        stored.write_bytes(b"garbage")
        devices.reset()
        program = devices.device_backend(first_device()).program(np.float32)
        assert not program.from_cache
        assert program.kernel("train_epochs").function_name == "train_epochs"
    finally:
        devices.reset()


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    """FANNCTL_CACHE_DIR first (the tests use it), then XDG_CACHE_HOME/fannctl."""
    monkeypatch.delenv("FANNCTL_NO_CACHE", raising=False)
    monkeypatch.setenv("FANNCTL_CACHE_DIR", str(tmp_path / "given"))
    assert kernels.cache_dir() == tmp_path / "given"
    monkeypatch.delenv("FANNCTL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kernels.cache_dir() == tmp_path / "xdg" / "fannctl"
    monkeypatch.setenv("FANNCTL_NO_CACHE", "1")
    assert kernels.cache_dir() is None
