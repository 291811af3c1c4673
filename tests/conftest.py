"""Shared pytest setup: the ``libfann`` marker and fixtures for the differential tests.

Tests marked ``@pytest.mark.libfann`` need the real FANN 2.2 in double precision
(Debian's libfann-dev). Without it they are skipped with the reason, unless the
environment variable ``CI`` is set: then they fail, so CI cannot pass by
silently skipping the proof of FANN-exactness.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# Both of PoCL's CPU devices, before anything lists the OpenCL platforms: the
# threaded one, and the single-threaded 'basic' one the CLI picks by default
# (fannctl.threads); the backend tests run on each device found.
os.environ.setdefault("POCL_DEVICES", "pthread basic")
# Compiled kernels and device verdicts go to a folder of the checkout's own
# (ignored by git), never to the user's ~/.cache; kept between runs so that the
# suite does not compile everything every time. No user config file applies.
_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("FANNCTL_CACHE_DIR", str(_ROOT / ".test-cache"))
os.environ.setdefault("FANNCTL_CONFIG", str(_ROOT / ".test-cache" / "no-config.ini"))

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:  # make ``import libfann`` work however pytest imports us
    sys.path.insert(0, _TESTS)

import libfann  # noqa: E402


def running_in_ci() -> bool:
    """Whether ``CI`` is set to something other than empty, 0 or false."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_libfann() -> None:
    """Skip (or, under CI, fail) the current test when libdoublefann is missing."""
    if libfann.available():
        return
    if running_in_ci():
        pytest.fail(
            f"{libfann.MISSING_REASON}. CI is set, so the libfann differential tests "
            "must run: install libfann-dev (or point FANNCTL_LIBDOUBLEFANN at the library).",
            pytrace=False,
        )
    pytest.skip(f"{libfann.MISSING_REASON} (install libfann-dev to run the differential tests)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("libfann") is not None:
        require_libfann()


@pytest.fixture
def fann_lib() -> object:
    """The ``tests/libfann.py`` wrapper module, once libdoublefann is known to load."""
    require_libfann()
    return libfann


@pytest.fixture
def to_libfann(tmp_path: Path, fann_lib: object) -> Callable[..., libfann.LibFann]:
    """Save a fannctl network as .net with fannctl and load that file into libfann."""
    from fannctl.io import save_network

    counter = iter(range(1_000_000))

    def convert(net: object, name: str | None = None) -> libfann.LibFann:
        path = tmp_path / (name or f"fannctl_{next(counter)}.net")
        save_network(net, path)
        return libfann.LibFann.create_from_file(path)

    return convert


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Each OpenCL device that failed its self-test, once: the device, cause, remedy."""
    import opencl_devices

    screening = opencl_devices._SCREENED
    if screening is None or not screening.failed:
        return
    terminalreporter.section("OpenCL devices left out (failed their self-test)")
    for name, index, cause, remedy in screening.failed:
        terminalreporter.write_line(f"{name} ({index}): {cause}; {remedy}")
    if not screening.passed:
        terminalreporter.write_line("no OpenCL device works: the OpenCL tests were skipped")
