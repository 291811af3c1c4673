"""fannctl health: devices, self-tests, versions, kernels, network files, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from backends.conftest import DEVICES, require_opencl
from typer.testing import CliRunner

from fannctl import devices, network
from fannctl.backends.opencl import kernels
from fannctl.cli.main import app
from fannctl.io import save_network

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def opencl_present() -> bool:
    return bool(devices.all_devices())


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
    for name in ("numpy", "h5py", "pyopencl"):  # numexpr is an optional extra
        assert report["versions"][name]
    assert report["networks"][0]["ok"] and report["networks"][0]["schema_version"] == 1
    assert report["kernels"]["dir"] == str(kernels.kernel_dir())
    listed = report["devices"][1:]
    assert [d["index"] for d in listed] == [f"cl:{i}" for i in range(len(listed))]
    assert [d["device"] for d in listed] == [i.uid for i in devices.all_devices()]
    working = [d for d in listed if d["status"] == "usable"]
    for entry in working:
        assert entry["self_test"]["float32"] == "pass"
        assert entry["self_test"]["float64"] in ("pass", "unsupported")
        assert entry["memory_bytes"] > 0 and entry["type"] in ("cpu", "gpu", "accelerator")
    for entry in listed:
        if entry["status"] == "unusable":  # e.g. a PoCL that does not know this CPU
            assert entry["cause"] and "FANNCTL_DEVICE_EXCLUDE" in entry["remedy"]
    assert report["kernels"]["built_on"] == [d["device"] for d in working]
    if working:
        assert report["status"] == "healthy" and result.exit_code == 0
    else:
        assert report["status"] == "degraded" and result.exit_code == 1


def test_table_output_names_devices_and_verdicts(good_net):
    result = health(good_net)
    assert "numpy" in result.stdout and "PASS" in result.stdout
    assert "status: " in result.stdout and "network: " in result.stdout
    if opencl_present():
        assert "cl:0" in result.stdout and devices.all_devices()[0].uid in result.stdout


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
    log = report["devices"][1]["log"]  # the build log is in the JSON (NVIDIA names no file)
    assert "pattern.cl" in log or "broken" in log
    assert report["kernels"]["built_on"] == []
    assert any("no OpenCL device works" in p for p in report["problems"])
    assert len(report["unusable"]) == len(report["devices"]) - 1


def _break_one(monkeypatch) -> str:
    """The first PoCL device fails to build as PoCL 3.0 does on a CPU it does not know."""
    from fannctl.backends.opencl.backend import OpenCLBackend
    from fannctl.errors import DeviceUnusable

    pocls = [i.uid for i in devices.all_devices() if i.uid.startswith("pocl-")]
    if not pocls:
        pytest.skip("the diagnosis under test is PoCL's; no PoCL device here")
    broken = pocls[0]
    real = OpenCLBackend.program

    def program(self, dtype):
        if self.name == broken:
            raise DeviceUnusable(
                f"{broken}: OpenCL build failed: error: unknown target CPU 'generic'"
            )
        return real(self, dtype)

    monkeypatch.setattr(OpenCLBackend, "program", program)
    return broken


def test_one_failing_device_is_listed_as_unusable_not_a_fault(monkeypatch, tmp_path):
    """With another device working, a broken one is one line of cause and remedy and
    exit 0; --strict (monitoring) makes it exit 1; excluding it silences even that."""
    require_opencl()
    if len(devices.all_devices()) < 2:
        pytest.skip("needs two OpenCL devices (POCL_DEVICES='pthread basic' gives two)")
    monkeypatch.setenv("FANNCTL_CACHE_DIR", str(tmp_path))
    broken = _break_one(monkeypatch)
    report = json.loads(health("--json").stdout)
    working = [d for d in report["devices"][1:] if d["status"] == "usable"]
    if not working:
        pytest.skip("no other device works here")
    assert report["exit_code"] == 0 and report["status"] == "healthy"
    (entry,) = [u for u in report["unusable"] if u["device"] == broken]
    assert "cannot compile for this CPU" in entry["cause"]
    assert (
        "pocl" in entry["remedy"].lower()
        and f"FANNCTL_DEVICE_EXCLUDE='{broken}'" in entry["remedy"]
    )
    text = health()
    assert text.exit_code == 0
    lines = [line for line in text.stdout.splitlines() if line.startswith("unusable:")]
    assert len(lines) == 1 and broken in lines[0] and "FANNCTL_DEVICE_EXCLUDE" in lines[0]
    assert health("--strict", "--json").exit_code == 1
    monkeypatch.setenv("FANNCTL_DEVICE_EXCLUDE", broken)
    strict = health("--strict", "--json")
    assert strict.exit_code == 0, strict.stdout
    assert [d["status"] for d in json.loads(strict.stdout)["devices"] if d["device"] == broken] == [
        "excluded"
    ]


def test_a_kind_asked_for_must_work():
    """--kind gpu on a machine without a working GPU: degraded, and it says which kind."""
    report = json.loads(health("--json", "--kind", "gpu").stdout)
    has_gpu = any(d["type"] == "gpu" and d["status"] == "usable" for d in report["devices"])
    if has_gpu:
        assert report["exit_code"] == 0
    else:
        assert report["exit_code"] == 1 and "no working OpenCL gpu device" in report["problems"]


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


def test_health_json_in_a_fresh_process_writes_only_json():
    """stdout is one JSON document whose exit code is the process's (build logs go
    into the JSON; a cron line's stderr stays for real trouble)."""
    command = [sys.executable, "-m", "fannctl", "health", "--json"]
    done = subprocess.run(command, capture_output=True, text=True)
    assert json.loads(done.stdout)["exit_code"] == done.returncode


def test_train_json_says_which_device_ran(tmp_path, good_net):
    data = str(ROOT / "datasets" / "xor.data")
    out = runner.invoke(
        app, ["train", good_net, data, "--json", "--max-epochs", "5", "--device", "numpy", "-q"]
    )
    assert json.loads(out.stdout)["device"] == "numpy"
    if DEVICES:
        info = DEVICES[0]
        out = runner.invoke(
            app,
            [
                "train",
                good_net,
                data,
                "--json",
                "--max-epochs",
                "5",
                "--device",
                f"cl:{info.index}",
            ],
        )
        assert out.exit_code == 0, out.stdout
        assert json.loads(out.stdout)["device"] == info.uid  # the stable name


def test_health_help_has_an_example_and_exit_codes():
    result = runner.invoke(app, ["health", "--help"])
    assert result.exit_code == 0
    assert "Example: fannctl health" in result.stdout
    assert "2 nothing can compute" in result.stdout


def test_first_use_of_a_device_says_kernels_are_compiling(tmp_path):
    """A first build (empty cache) is announced on stderr, once; not with --quiet,
    and not again when the kernels come from the cache."""
    if not DEVICES:
        require_opencl()
    net = tmp_path / "n.h5"
    save_network(network.create([2, 3, 1], rng=np.random.default_rng(1)), net)
    env = dict(os.environ, FANNCTL_CACHE_DIR=str(tmp_path / "cache"))
    data = str(ROOT / "datasets" / "xor.data")
    device = DEVICES[0].uid

    def train(*extra: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "fannctl", "train", str(net), data, "--max-epochs", "3"]
        return subprocess.run(
            [*command, "--device", device, *extra], capture_output=True, text=True, env=env
        )

    quiet = train("--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert "compiling" not in quiet.stderr
    env["FANNCTL_CACHE_DIR"] = str(tmp_path / "cache2")
    first, again = train(), train()
    assert first.stderr.count("compiling the OpenCL kernels") == 1, first.stderr
    assert "compiling" not in again.stderr
