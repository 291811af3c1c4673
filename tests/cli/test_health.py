"""fannctl health: devices, self-tests, versions, kernels, network files, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from backends.conftest import require_opencl
from typer.testing import CliRunner

from fannctl import devices, network
from fannctl.backends.opencl import kernels
from fannctl.cli.main import app
from fannctl.io import save_network

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def opencl_present() -> bool:
    return bool(devices.opencl_devices())


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.delenv("FANNCTL_KERNEL_DIR", raising=False)
    devices.reset()
    yield
    devices.reset()


@pytest.fixture
def good_net(tmp_path) -> str:
    path = tmp_path / "good.h5"
    save_network(network.create([2, 3, 1], rng=np.random.default_rng(1)), path)
    return str(path)


def health(*args: str):
    return runner.invoke(app, ["health", *args])


def test_json_report_lists_every_device_with_a_passing_self_test(good_net):
    """The contract: status, exit code, devices (numpy first), versions, kernels, files."""
    result = health("--json", good_net)
    report = json.loads(result.stdout)
    assert set(report) >= {
        "status",
        "exit_code",
        "devices",
        "versions",
        "kernels",
        "opencl",
        "networks",
        "problems",
        "seconds",
    }
    assert report["devices"][0]["device"] == "numpy"
    assert report["devices"][0]["self_test"]["float64"] == "pass"
    for name in ("numpy", "numexpr", "h5py", "pyopencl"):
        assert report["versions"][name]
    assert report["networks"][0]["ok"] and report["networks"][0]["schema_version"] == 1
    assert report["kernels"]["dir"] == str(kernels.kernel_dir())
    if opencl_present():
        assert report["status"] == "healthy" and result.exit_code == 0
        devices = report["devices"][1:]
        assert [d["device"] for d in devices] == [f"cl:{i}" for i in range(len(devices))]
        for entry in devices:
            assert entry["self_test"]["float32"] == "pass"
            assert entry["self_test"]["float64"] in ("pass", "unsupported")
            assert entry["memory_bytes"] > 0 and entry["type"] in ("cpu", "gpu", "accelerator")
        assert report["kernels"]["built_on"] == [d["device"] for d in devices]
    else:
        assert report["status"] == "degraded" and result.exit_code == 1


def test_table_output_names_devices_and_verdicts(good_net):
    result = health(good_net)
    assert "numpy" in result.stdout and "PASS" in result.stdout
    assert "status: " in result.stdout and "network files" in result.stdout
    if opencl_present():
        assert "cl:0" in result.stdout
        assert result.exit_code == 0, result.stdout + result.stderr


def test_bad_network_files_degrade(tmp_path, good_net):
    """Unreadable files and NaN weights fail their row and make the exit status 1."""
    nan_path = tmp_path / "nan.h5"
    net = network.create([2, 3, 1], rng=np.random.default_rng(2))
    net.weights[3] = np.nan
    save_network(net, nan_path)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not a network at all")
    result = health("--json", good_net, str(nan_path), str(junk))
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["status"] == "degraded"
    good, nan, bad = report["networks"]
    assert good["ok"] and not nan["ok"] and not bad["ok"]
    assert nan["finite"] is False and "finite" in nan["detail"]
    assert "not a network file" in bad["detail"]


def test_broken_kernels_fail_the_device_but_numpy_still_computes(tmp_path, monkeypatch):
    """A kernel that does not build: that device FAILs, status degraded (exit 1)."""
    require_opencl()  # skipped without a device, failed under CI
    folder = tmp_path / "kernels"
    shutil.copytree(kernels.kernel_dir(), folder)
    (folder / "pattern.cl").write_text("kernel void broken( {")
    monkeypatch.setenv("FANNCTL_KERNEL_DIR", str(folder))
    result = health("--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["status"] == "degraded"
    assert "build failed" in report["devices"][1]["self_test"]["float32"]
    assert report["kernels"]["built_on"] == []
    assert any("cl:0 self-test failed" in p for p in report["problems"])


def test_nothing_computes_is_exit_2(tmp_path, monkeypatch):
    """numpy wrong and every device failing: broken, exit 2."""
    from fannctl import health as health_mod
    from fannctl.errors import DeviceError

    def wrong() -> str:
        raise DeviceError("numpy forward gave 0.5, expected 0.25")

    monkeypatch.setattr(health_mod, "numpy_self_test", wrong)
    folder = tmp_path / "kernels"
    folder.mkdir()
    (folder / "common.cl").write_text("kernel void broken( {")
    monkeypatch.setenv("FANNCTL_KERNEL_DIR", str(folder))
    result = health("--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 2 and report["status"] == "broken"
    assert "numpy self-test failed" in report["problems"][0]
    assert not report["kernels"]["ok"]


def test_health_is_fast_with_kernels_cached():
    """Under 5 s for the whole command in a fresh process (kernels cached by then)."""
    command = [sys.executable, "-m", "fannctl", "health", "--json"]
    subprocess.run(command, capture_output=True)  # warms the binary cache
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    assert json.loads(done.stdout)["exit_code"] == done.returncode
    assert elapsed < 5.0


def test_train_json_says_which_device_ran(tmp_path, good_net):
    data = str(ROOT / "datasets" / "xor.data")
    out = runner.invoke(
        app, ["train", good_net, data, "--json", "--max-epochs", "5", "--device", "numpy", "-q"]
    )
    assert json.loads(out.stdout)["device"] == "numpy"
    if opencl_present():
        out = runner.invoke(
            app, ["train", good_net, data, "--json", "--max-epochs", "5", "--device", "cl:0", "-q"]
        )
        assert out.exit_code == 0, out.stdout
        assert json.loads(out.stdout)["device"] == "cl:0"


def test_health_help_has_an_example_and_exit_codes():
    result = runner.invoke(app, ["health", "--help"])
    assert result.exit_code == 0
    assert "Example: fannctl health" in result.stdout
    assert "2 nothing can compute" in result.stdout
