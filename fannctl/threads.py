"""How many threads fannctl computes with, set before the compute libraries load.

The default is one thread, like libfann: on a shared machine (CI, cron) a
second BLAS thread that has to wait for a busy core stalls every product.
The settings are environment variables, read once by each library when it
loads (OpenBLAS, OpenMP, MKL and numexpr when numpy/numexpr are imported;
PoCL, the OpenCL CPU driver, when pyopencl first lists the platforms), so
``configure`` must run before those imports: the CLI calls it first thing.

PoCL: with one thread, its single-threaded ``basic`` CPU device (a kernel
launch returns in about a microsecond here, where the ``pthread`` device's
hand-off to its worker costs about 45 us, and the worker on the other core
then reads the data through that core's cache); with more, the ``pthread``
device with that many workers. A ``POCL_DEVICES`` or
``POCL_MAX_PTHREAD_COUNT`` already set is left alone (set ``POCL_DEVICES``
yourself to reach a PoCL built with its GPU drivers, cuda or level0, which
``basic`` alone would hide).
"""

from __future__ import annotations

import os

VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def configure(threads: int | None = None) -> None:
    """Set the thread count. None: what the environment's thread variables
    already say (the first of ``VARIABLES`` set), else 1."""
    if threads is None:
        given = [os.environ[name] for name in VARIABLES if name in os.environ]
        if given:
            try:
                _pocl(max(int(given[0]), 1))
            except ValueError:
                pass  # not a number: the libraries will say so
            return
        threads = 1
    threads = max(int(threads), 1)
    for name in VARIABLES:
        os.environ[name] = str(threads)
    _pocl(threads)


def _pocl(threads: int) -> None:
    os.environ.setdefault("POCL_MAX_PTHREAD_COUNT", str(threads))
    if threads == 1:
        os.environ.setdefault("POCL_DEVICES", "basic")


def count() -> int:
    """The thread count ``configure`` set (the first of ``VARIABLES`` in the
    environment), else 1."""
    for name in VARIABLES:
        if name in os.environ:
            try:
                return max(int(os.environ[name]), 1)
            except ValueError:
                return 1
    return 1


_CONTROLLER = None


def blas_limit(threads: int):
    """A context in which BLAS computes with ``threads`` threads: for work that
    runs one product per worker thread (two BLAS thread pools on two cores
    measured slower than one). Needs threadpoolctl (a dependency), which finds
    whichever BLAS numpy loaded."""
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=threads, user_api="blas")
