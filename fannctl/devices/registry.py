"""The OpenCL devices of this process: listed once, named, filtered, opened once.

``all_devices`` is every device the drivers list (``cl:N`` is its index
there), each with its stable name (``DeviceInfo.uid``, see ``names``).
``usable`` leaves out the devices the user excluded, those with a
remembered failure (``verdicts``) and those that failed earlier in this
process. Failures are reported once per process through ``warn_once``
(the CLI's handler, else ``warnings``), and a device that fails the same
way every time (``DeviceUnusable``) only when its verdict is first written.
``reset`` forgets everything (tests; after a driver change).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

import numpy as np

from fannctl.devices import names, verdicts
from fannctl.errors import DeviceError, DeviceUnusable, ParameterError


class DeviceFallbackWarning(UserWarning):
    """A device failed and the computation continued on the next one."""


fallback_handler: Callable[[str], None] | None = None
"""Where fallback messages go instead of ``warnings`` (the CLI sets it)."""

_WARNED: set[str] = set()
_FAILED: dict[str, str] = {}  # stable name -> why it failed in this process
_OPENED: dict[str, object] = {}  # stable name -> OpenCLBackend
_LISTED: list | None = None
_LIST_ERROR: str | None = None


def warn_once(message: str) -> None:
    """Report a fallback once per process (handler, else ``warnings``)."""
    if message in _WARNED:
        return
    _WARNED.add(message)
    if fallback_handler is not None:
        fallback_handler(message)
    else:
        warnings.warn(message, DeviceFallbackWarning, stacklevel=3)


def reset() -> None:
    """Forget listed and opened devices, failures and warnings (not the verdicts on disk)."""
    global _LISTED, _LIST_ERROR
    _WARNED.clear()
    _FAILED.clear()
    _OPENED.clear()
    _LISTED, _LIST_ERROR = None, None
    from fannctl.backends.opencl import kernels

    kernels.forget()


def all_devices() -> list:
    """Every OpenCL device (``DeviceInfo`` with ``uid``), listed once per process."""
    global _LISTED, _LIST_ERROR
    if _LISTED is None:
        from fannctl.backends.opencl.backend import list_devices

        try:
            found = list_devices()
        except DeviceError as exc:
            found, _LIST_ERROR = [], str(exc)
        uids = names.stable_names([(i.platform, i.platform_version, i.name) for i in found])
        _LISTED = [dataclasses.replace(i, uid=u) for i, u in zip(found, uids, strict=True)]
        if not _LISTED and _LIST_ERROR is None:
            _LIST_ERROR = "no OpenCL platform or device found"
    return _LISTED


def why_none() -> str | None:
    """Why no OpenCL device is listed (None when there is one)."""
    all_devices()
    return _LIST_ERROR if not _LISTED else None


def excluded(info) -> bool:
    """Whether the user left this device out (environment or config file)."""
    return names.is_excluded(info.uid, names.exclude_patterns())


def remembered_failure(info) -> dict | None:
    """The device's remembered failed verdict, if any."""
    found = verdicts.load(info)
    return found if found is not None and not found.get("ok", True) else None


def usable() -> list:
    """Devices to compute on: not excluded, not known to fail, not failed in this process."""
    patterns = names.exclude_patterns()
    return [
        info
        for info in all_devices()
        if not names.is_excluded(info.uid, patterns)
        and info.uid not in _FAILED
        and remembered_failure(info) is None
    ]


def find(selector: int | str) -> object:
    """The device a ``cl:N`` index or a stable name selects; ParameterError if none."""
    infos = all_devices()
    if isinstance(selector, int):
        if selector < len(infos):
            return infos[selector]
    else:
        for info in infos:
            if info.uid == selector:
                return info
    listed = ", ".join(f"cl:{i.index} {i.uid}" for i in infos) or "none"
    shown = f"cl:{selector}" if isinstance(selector, int) else selector
    raise ParameterError(f"no OpenCL device {shown}; this machine has: {listed}")


def backend(info):
    """The backend of a device (opened once per process), self-tested on first build."""
    found = _OPENED.get(info.uid)
    if found is None:
        from fannctl.backends.opencl.train import OpenCLDevice

        found = _OPENED[info.uid] = OpenCLDevice(info, verify=_verify)
    return found


def _verify(backend, dtype) -> None:
    """The device self-test, once per device, driver, kernel sources and fannctl version:
    a pass is remembered on disk like a failure (``verdicts``), so later processes
    skip its ~30 ms; ``health`` forgets it first and tests again."""
    from fannctl.devices import selftest

    name = np.dtype(dtype).name
    if verdicts.passed(backend.info, name):
        return
    selftest.check(backend, dtype)
    verdicts.store_pass(backend.info, name)


def failed(name: str, exc: DeviceError, then: str) -> None:
    """Record that a device failed; say so once (``then``: what happens instead).

    A ``DeviceUnusable`` failure is remembered on disk: later processes skip
    the device silently (``health`` still lists it, with cause and remedy).
    """
    reason = first_line(exc)
    _FAILED[name] = reason
    info = next((i for i in all_devices() if i.uid == name), None)
    if info is not None and isinstance(exc, DeviceUnusable):
        cause, remedy = verdicts.diagnose(info, str(exc))
        if remembered_failure(info) is None:
            verdicts.store(info, False, cause, remedy)
        warn_once(f"device {name} is unusable: {cause}; {then} ({remedy})")
        return
    warn_once(f"device {name} failed: {reason}; {then}")


def first_line(exc: BaseException) -> str:
    """An error's first line (build logs follow on the next lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
