"""What the benchmarks run on: CPU, cores, numpy and its BLAS kernel, OPENBLAS_CORETYPE."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import sys

import numpy as np


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_info() -> list[dict]:
    """BLAS/OpenMP pools numpy (and numexpr) loaded, via threadpoolctl when installed."""
    try:
        import threadpoolctl
    except ImportError:
        return []
    import numexpr  # noqa: F401  (load it so its pools show up too)

    keys = ("internal_api", "version", "architecture", "num_threads", "threading_layer", "prefix")
    return [{k: pool.get(k) for k in keys} for pool in threadpoolctl.threadpool_info()]


def blas_summary() -> str:
    """One line naming numpy's BLAS and the kernel it picked."""
    pools = [p for p in blas_info() if p.get("internal_api") in ("openblas", "mkl", "blis")]
    if pools:
        p = pools[0]
        return (
            f"{p['internal_api']} {p['version']} ({p['prefix']}), kernel {p['architecture']}, "
            f"{p['num_threads']} threads ({p['threading_layer']})"
        )
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        np.show_config()
    lines = [x.strip() for x in buffer.getvalue().splitlines() if "blas" in x.lower()]
    return "threadpoolctl not installed; numpy.show_config: " + "; ".join(lines[:4])


def environment() -> dict:
    """Everything worth recording next to a timing."""
    import numexpr

    return {
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numexpr": numexpr.__version__,
        "numexpr_threads": numexpr.get_num_threads(),
        "blas": blas_summary(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "opencl": opencl_summary(),
    }


def opencl_summary() -> str:
    """The OpenCL devices as fannctl numbers them (PoCL's choice made by set_threads)."""
    try:
        from fannctl import devices

        found = devices.all_devices()
    except Exception as exc:  # a benchmark header must not fail on a broken driver
        return f"unavailable ({exc})"
    if not found:
        return f"none ({devices.registry.why_none()})"
    return "; ".join(f"cl:{d.index} {d.name} ({d.platform})" for d in found)


def describe() -> str:
    """The environment as a few printable lines."""
    env = environment()
    return "\n".join(f"# {k}: {v}" for k, v in env.items())


def set_threads(threads: int | None):
    """Limit BLAS and numexpr threads (0 or None leaves the environment's choice),
    and choose PoCL's device as the CLI does (``fannctl.threads``; before
    pyopencl is first used).

    Returns the threadpoolctl limiter to keep alive, or None.
    """
    if not threads:
        return None
    import numexpr

    from fannctl import threads as fannctl_threads

    fannctl_threads.configure(threads)

    numexpr.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("# threadpoolctl not installed: BLAS threads not limited", file=sys.stderr)
        return None
    return threadpool_limits(limits=threads)
