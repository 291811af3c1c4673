"""A device's verdict, remembered across processes, and what to do about it.

A device whose kernels do not build, or which computes wrong results, fails
the same way in every process, and one that passed its self-test passes it
again. The verdict is written beside the kernel cache (``verdicts/`` in
``kernels.cache_dir()``), keyed by the device's stable name, its driver,
fannctl's version and the kernels' source digest, so ``train``, ``cascade``
and ``auto`` skip a failed device without building again (and say so only
when the verdict is first written), and a passed one without its ~30 ms
self-test (``passed``, ``store_pass``). A new driver or a new fannctl starts
afresh; ``fannctl health`` tests every device again and rewrites its
verdict. ``diagnose`` turns a failure into one line of cause and remedy.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path

from fannctl.devices import names

UNKNOWN_CPU_SIGNS = ("unknown target cpu", "invalid build option", "not a recognized processor")


def _folder() -> Path | None:
    from fannctl.backends.opencl import kernels

    base = kernels.cache_dir()
    return None if base is None else base / "verdicts"


def _key(info) -> str:
    from fannctl import __version__
    from fannctl.backends.opencl import kernels

    # a build flag given to PoCL changes what compiles (and the tests use one to
    # simulate a CPU that PoCL does not know)
    flags = os.environ.get("POCL_EXTRA_BUILD_FLAGS", "")
    parts = (info.uid, info.driver, info.platform_version, __version__, kernels.source_digest())
    text = "\0".join((*parts, flags))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load(info) -> dict | None:
    """The remembered verdict of a device (None: none, or unreadable)."""
    folder = _folder()
    if folder is None:
        return None
    try:
        found = json.loads((folder / f"{_key(info)}.json").read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("device") == info.uid else None


def passed(info, dtype: str) -> bool:
    """Whether the device passed its self-test in ``dtype`` with these kernels."""
    found = load(info)
    return found is not None and found.get("ok") is True and dtype in found.get("passed", [])


def store_pass(info, dtype: str) -> None:
    """Remember that the device passed its self-test in ``dtype``."""
    found = load(info)
    done = found.get("passed", []) if found is not None and found.get("ok") is True else []
    store(info, True, passed=sorted({*done, dtype}))


def store(
    info, ok: bool, reason: str = "", remedy: str = "", passed: list[str] | None = None
) -> None:
    """Remember a device's verdict (atomically; a cache that cannot be written is skipped)."""
    folder = _folder()
    if folder is None:
        return
    entry = {
        "device": info.uid,
        "driver": info.driver,
        "platform": info.platform_version,
        "ok": ok,
        "reason": reason,
        "remedy": remedy,
        "passed": passed or [],
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(entry, handle)
        os.replace(tmp, folder / f"{_key(info)}.json")
    except OSError:
        return


def forget(info) -> None:
    """Drop a device's verdict (it passed again)."""
    folder = _folder()
    if folder is not None:
        try:
            (folder / f"{_key(info)}.json").unlink()
        except OSError:
            pass


def cpu_model() -> str:
    """The CPU's model name and family, as /proc/cpuinfo gives them."""
    model, family = platform.processor() or platform.machine(), None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and model in (platform.processor(), platform.machine()):
                model = value.strip()
            elif key == "cpu family" and family is None:
                family = value.strip()
            if key == "" and family is not None:
                break
    except OSError:
        pass
    return f"{model}, family {family}" if family else model


def diagnose(info, message: str) -> tuple[str, str]:
    """(cause, remedy) for a device that failed with ``message``: one line each."""
    text = message.lower()
    exclude = f"or leave it out: {names.ENV_EXCLUDE}='{info.uid}'"
    pocl = names.pocl_version(info.platform_version)
    if pocl is not None and any(sign in text for sign in UNKNOWN_CPU_SIGNS):
        llvm = names.llvm_version(info.platform_version) or "unknown"
        cause = f"PoCL {pocl} (LLVM {llvm}) cannot compile for this CPU ({cpu_model()})"
        if pocl.startswith(("1.", "2.", "3.0")):
            newer = "install Debian's pocl-opencl-icd (PoCL 3.1, LLVM 15; 'make deps' does)"
        else:
            newer = f"install a PoCL newer than {pocl} that knows this CPU"
        remedy = f"{newer}, {exclude}"
        return cause, remedy
    first = next((line.strip() for line in message.splitlines() if line.strip()), message)
    if "self-test" in text:
        return f"computes wrong results ({first})", f"update the OpenCL driver, {exclude}"
    if "build failed" in text:
        detail = _first_error(message) or first
        cause = f"the kernels' build failed ({detail})"
        return cause, f"update the OpenCL driver, {exclude}"
    return first, f"check the OpenCL driver, {exclude}"


def _first_error(message: str) -> str | None:
    """The first 'error' line of a build log."""
    for line in message.splitlines():
        if "error" in line.lower() and "build failed" not in line.lower():
            return line.strip()
    return None
