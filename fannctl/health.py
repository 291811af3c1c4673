"""``fannctl health``: prove the devices work, as data (the CLI renders it).

``check`` lists every OpenCL platform and device, runs a small known
computation on each (the backend's self-test: forward, gradient and a few
training epochs compared with numpy, in float32 and, where the device has
it, float64), checks the numpy reference against values computed here in
plain Python, reports library versions, builds the kernels, and optionally
checks network files (readable, schema version, finite weights).

Status: ``healthy`` (exit 0) when numpy computes right and at least one
OpenCL device of each kind asked for (``kinds``; by default any kind)
passes; a device that fails is then listed as unusable, with its cause and
remedy in one line, not counted as a fault of the installation. Devices the
user excluded (``FANNCTL_DEVICE_EXCLUDE``, the config file) are listed and
never tested. ``degraded`` (exit 1) when no OpenCL device (of a kind asked
for) works, or the kernels, a library or a network file are missing or bad,
or, with ``strict``, when any device that is not excluded fails.
``broken`` (exit 2) when nothing can compute. Every test refreshes the
device's remembered verdict (``fannctl.devices.verdicts``).
"""

from __future__ import annotations

import math
import platform
import time
from importlib import metadata

import numpy as np

from fannctl.errors import DeviceError, FannctlError

HEALTHY, DEGRADED, BROKEN = "healthy", "degraded", "broken"
EXIT_CODES = {HEALTHY: 0, DEGRADED: 1, BROKEN: 2}
LIBRARIES = ("numpy", "numexpr", "h5py", "pyopencl", "typer", "rich")


def versions() -> dict[str, str | None]:
    """fannctl, Python and the libraries fannctl uses (None: not installed)."""
    from fannctl import __version__

    found: dict[str, str | None] = {"fannctl": __version__, "python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _timed(fn) -> tuple[bool, str, float]:
    started = time.perf_counter()
    try:
        detail = fn() or "ok"
        ok = True
    except (FannctlError, ArithmeticError, ValueError, OSError) as exc:
        ok, detail = False, str(exc).strip()
    return ok, detail, time.perf_counter() - started


def numpy_self_test() -> str:
    """The numpy backend on a 2-2-1 net against values computed with ``math``."""
    from fannctl import network
    from fannctl.backends.numpy_backend import NumpyBackend

    net = network.create([2, 2, 1], dtype="float64")
    network.set_activation(net, 1, "sigmoid_symmetric", 1.0)
    network.set_activation(net, 2, "sigmoid", 0.5)
    weights = [0.5, -0.25, 0.1, -0.3, 0.8, 0.2, 0.7, -0.6, 0.05]
    net.weights[:] = weights
    inputs = np.array([[1.0, -1.0], [0.25, 0.5]])
    got = NumpyBackend().forward(net, inputs)[:, 0]
    for row, value in zip(inputs, got, strict=True):
        h1 = math.tanh(weights[0] * row[0] + weights[1] * row[1] + weights[2])
        h2 = math.tanh(weights[3] * row[0] + weights[4] * row[1] + weights[5])
        t = 0.5 * (weights[6] * h1 + weights[7] * h2 + weights[8])
        want = 1.0 / (1.0 + math.exp(-2.0 * t))
        if not math.isclose(value, want, rel_tol=1e-12):
            raise DeviceError(f"numpy forward gave {value!r}, expected {want!r}")
    return "forward matches the closed form"


def device_self_test(info) -> dict:
    """Build the kernels on one OpenCL device and run its self-test per dtype;
    a failure gets its cause and remedy, and the verdict is remembered."""
    from fannctl import devices
    from fannctl.devices import registry, verdicts

    verdicts.forget(info)  # tested again, not taken from an earlier pass
    backend = devices.registry.backend(info)
    entry = info.describe()
    results, failure = {}, None
    for dtype in ("float32", "float64"):
        if not backend.supports(dtype):
            results[dtype] = "unsupported"
            continue
        try:
            backend.program(np.dtype(dtype))
            results[dtype] = "pass"
        except DeviceError as exc:
            results[dtype] = registry.first_line(exc)
            failure = failure or str(exc)
    entry["self_test"] = results
    if failure is None:
        entry["status"] = "usable"  # the passes are remembered (registry._verify)
    else:
        cause, remedy = verdicts.diagnose(info, failure)
        entry.update(status="unusable", cause=cause, remedy=remedy, log=failure)
        verdicts.store(info, False, cause, remedy)
    return entry


def check_kernels() -> dict:
    """Find ``kernels/`` and say which files are there."""
    from fannctl.backends.opencl import kernels

    try:
        folder = kernels.kernel_dir()
        files = [path.name for path in kernels.kernel_files()]
        missing = [f"{name}.cl" for name in kernels.PROGRAM_FILES if f"{name}.cl" not in files]
    except DeviceError as exc:
        return {"dir": None, "files": [], "ok": False, "detail": str(exc)}
    ok = not missing
    detail = "all present" if ok else f"missing {', '.join(missing)}"
    return {"dir": str(folder), "files": files, "ok": ok, "detail": detail}


def check_network_file(path: str) -> dict:
    """Is a network file readable, of a known schema version, with finite weights?"""
    from fannctl import io

    entry: dict = {"path": path, "ok": False}
    try:
        fmt = io.detect_format(path)
        entry["format"] = fmt
        if fmt == "hdf5":
            import h5py

            with h5py.File(path, "r") as handle:
                version = handle.attrs.get("schema_version")
                entry["schema_version"] = None if version is None else int(version)
        else:
            with open(path, "rb") as handle:
                entry["schema_version"] = handle.readline().decode("ascii", "replace").strip()
        net = io.load_network(path)
    except (FannctlError, OSError) as exc:
        entry["detail"] = str(exc).strip()
        return entry
    finite = bool(np.isfinite(net.weights).all() and np.isfinite(net.steepness).all())
    entry.update(
        layers=list(net.layers),
        connections=int(net.weights.size),
        finite=finite,
        ok=finite,
        detail="ok" if finite else "weights or steepnesses are not all finite",
    )
    return entry


def check(
    network_files: list[str] | tuple[str, ...] = (),
    *,
    kinds: list[str] | tuple[str, ...] = (),
    strict: bool = False,
) -> dict:
    """Run every health check; return the report (see the module docstring).

    ``kinds``: OpenCL device types that must each have a working device
    (``cpu``, ``gpu``, ``accelerator``); empty: any one device will do.
    """
    from fannctl import devices
    from fannctl.devices import registry

    started = time.perf_counter()
    report: dict = {"versions": versions()}
    problems: list[str] = []
    ok, detail, seconds = _timed(numpy_self_test)
    entries = [
        {
            "device": "numpy",
            "name": "numpy reference",
            "type": "cpu",
            "double": True,
            "status": "usable" if ok else "unusable",
            "self_test": {"float32": "pass" if ok else detail, "float64": "pass" if ok else detail},
            "seconds": round(seconds, 4),
        }
    ]
    if not ok:
        problems.append(f"numpy self-test failed: {detail}")
    report["kernels"] = check_kernels()
    if not report["kernels"]["ok"]:
        problems.append(f"kernels: {report['kernels']['detail']}")
    infos = devices.all_devices()
    report["opencl"] = {"available": bool(infos), "detail": registry.why_none() or "ok"}
    if not infos:
        problems.append(f"OpenCL: {report['opencl']['detail']}")
    for info in infos:
        t0 = time.perf_counter()
        if registry.excluded(info):
            entry = info.describe()
            entry.update(status="excluded", self_test={})
        else:
            entry = device_self_test(info)
        entry["seconds"] = round(time.perf_counter() - t0, 4)
        entries.append(entry)
    tested = [e for e in entries[1:] if e["status"] != "excluded"]
    working = [e for e in tested if e["status"] == "usable"]
    unusable = [e for e in tested if e["status"] == "unusable"]
    report["unusable"] = [
        {"device": e["device"], "index": e["index"], "cause": e["cause"], "remedy": e["remedy"]}
        for e in unusable
    ]
    wanted = [kind.strip().lower() for kind in kinds if kind.strip()]
    for kind in wanted:
        if not any(e["type"] == kind for e in working):
            problems.append(f"no working OpenCL {kind} device")
    if not wanted and tested and not working:
        problems.append("no OpenCL device works (see the unusable devices)")
    if strict:
        problems += [f"{e['device']} is unusable: {e['cause']}" for e in unusable]
    report["kernels"]["built_on"] = [e["device"] for e in working]
    report["devices"] = entries
    report["networks"] = [check_network_file(path) for path in network_files]
    for entry in report["networks"]:
        if not entry["ok"]:
            detail = str(entry["detail"])
            # FormatError messages already start with the file name.
            prefix = "" if detail.startswith(str(entry["path"])) else f"{entry['path']}: "
            problems.append(f"{prefix}{detail}")
    for name in ("numpy", "h5py", "pyopencl"):
        if report["versions"].get(name) is None:
            problems.append(f"{name} is not installed")
    computes = ok or bool(working)
    status = BROKEN if not computes else (DEGRADED if problems else HEALTHY)
    report.update(
        status=status,
        exit_code=EXIT_CODES[status],
        problems=problems,
        seconds=round(time.perf_counter() - started, 3),
    )
    return report
