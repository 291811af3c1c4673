"""What a benchmark ran on: CPU, cores, BLAS, OpenCL devices, versions, commit,
and this machine's float32 matrix-multiply peak, measured in the run."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (or the platform's guess)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def blas() -> dict:
    """numpy's BLAS: library, version, kernel and threads (threadpoolctl when
    installed, else ``numpy.show_config`` and OpenBLAS's own ``get_corename``)."""
    try:
        import threadpoolctl
    except ImportError:
        return _blas_without_threadpoolctl()
    for pool in threadpoolctl.threadpool_info():
        if pool.get("user_api") == "blas":
            return _blas_record(
                "threadpoolctl",
                pool.get("internal_api"),
                pool.get("version"),
                pool.get("architecture"),
                pool.get("num_threads"),
            )
    return {"source": "threadpoolctl", "summary": "no BLAS found"}


def _blas_record(source, library, version, kernel, threads) -> dict:
    return {
        "source": source,
        "library": library,
        "version": version,
        "kernel": kernel,
        "threads": threads,
        "summary": f"{library} {version}, kernel {kernel}",
    }


def _blas_without_threadpoolctl() -> dict:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "install pyyaml for better output"
        try:
            config = np.show_config(mode="dicts")
            info = config["Build Dependencies"]["blas"]
        except (TypeError, KeyError):
            info = {}
    kernel, threads = _openblas_kernel()
    return _blas_record(
        "numpy.show_config", info.get("name", "?"), info.get("version", "?"), kernel, threads
    )


def _openblas_kernel() -> tuple[str | None, int | None]:
    """OpenBLAS's kernel and thread count, asked through ctypes (None: not OpenBLAS)."""
    import ctypes

    try:
        with open("/proc/self/maps") as handle:
            paths = {line.split()[-1] for line in handle if "openblas" in line.lower()}
    except OSError:
        return None, None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("", ""), ("scipy_", "64_"), ("scipy_", "")):
            corename = getattr(lib, f"{prefix}openblas_get_corename{suffix}", None)
            count = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
            if corename is not None:
                corename.restype = ctypes.c_char_p
                threads = int(count()) if count is not None else None
                return corename().decode(errors="replace"), threads
    return None, None


def opencl_devices() -> list[dict] | str:
    """The OpenCL devices as ``fannctl health`` numbers them, with stable names
    (a line saying why there are none, or why they could not be listed)."""
    try:
        from fannctl import devices

        found = devices.all_devices()
    except Exception as exc:  # a broken driver must not stop a benchmark
        return f"unavailable: {exc}"
    return [
        {"index": f"cl:{d.index}", "name": d.name, "stable_name": d.uid, "kind": d.kind}
        for d in found
    ]


def versions() -> dict:
    """fannctl, Python and the libraries that compute."""
    import fannctl

    out = {"fannctl": fannctl.__version__, "python": platform.python_version()}
    for name in ("numpy", "h5py", "pyopencl", "numexpr", "threadpoolctl"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        out[name] = getattr(module, "__version__", getattr(module, "VERSION_TEXT", "?"))
    return out


def git_commit() -> str | None:
    """The commit of the source checkout fannctl runs from (None when not one),
    with ``+changes`` when the tracked files differ from it."""
    if not (ROOT / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--", "fannctl"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+changes" if dirty.returncode == 1 else "")


def matmul_peak(size: int = 1024, repeats: int = 5) -> float:
    """float32 GFLOP/s of a square ``np.matmul`` (BLAS), the best of a few."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)  # warm-up: BLAS threads, pages
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best / 1e9


def describe(peak_size: int = 1024) -> dict:
    """Everything worth recording next to a timing (the peak measured now)."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": _threads(),
        "blas": blas(),
        "opencl": opencl_devices(),
        "platform": platform.platform(),
        "commit": git_commit(),
        "matmul_gflops": round(matmul_peak(peak_size), 2),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _threads() -> int | None:
    value = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    return int(value) if value and value.isdigit() else None


def same_machine(a: dict, b: dict) -> list[str]:
    """What differs between two machine records (empty: the same machine)."""
    differ = []
    for key in ("cpu", "cores", "threads"):
        if a.get(key) != b.get(key):
            differ.append(f"{key} {b.get(key)!r} -> {a.get(key)!r}")
    kernel_a = (a.get("blas") or {}).get("summary")
    kernel_b = (b.get("blas") or {}).get("summary")
    if kernel_a != kernel_b:
        differ.append(f"BLAS {kernel_b!r} -> {kernel_a!r}")
    return differ
