"""Which OpenCL devices the tests run on: every device that passes its self-test.

Screened once per test process, before any test: each device (narrowed by
``FANNCTL_TEST_DEVICES``, a comma-separated list of ``cl:N`` numbers or
stable names) builds the kernels and runs ``fannctl health``'s self-test.
A device that fails is reported once in the test summary (the device, the
cause, the remedy) and the device-parametrised tests run on the others: a
machine whose OpenCL cannot compile (say, a PoCL too old for its CPU) still
passes ``make test``. Under ``CI`` at least one CPU device must pass
(``tests/backends/test_devices.py``), so the kernels are always tested there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Screening:
    passed: list = field(default_factory=list)  # DeviceInfo of the devices that work
    failed: list = field(default_factory=list)  # (stable name, cl:N, cause, remedy)
    why_none: str | None = None


def _wanted(infos: list) -> tuple[list, str | None]:
    given = os.environ.get("FANNCTL_TEST_DEVICES", "")
    keys = {part.strip().lower() for part in given.split(",") if part.strip()}
    if not keys:
        return infos, None
    chosen = [i for i in infos if f"cl:{i.index}" in keys or i.uid in keys]
    return chosen, None if chosen else f"FANNCTL_TEST_DEVICES={given} matches no device"


def screen() -> Screening:
    """Self-test every device the tests may use (health's own check)."""
    from fannctl import devices, health
    from fannctl.devices import registry

    result = Screening()
    infos = devices.all_devices()
    if not infos:
        result.why_none = registry.why_none()
        return result
    infos, result.why_none = _wanted(infos)
    for info in infos:
        entry = health.device_self_test(info)
        if entry["status"] == "usable":
            result.passed.append(info)
        else:
            result.failed.append((info.uid, f"cl:{info.index}", entry["cause"], entry["remedy"]))
    if not result.passed and result.why_none is None:
        result.why_none = "no OpenCL device passed its self-test"
    return result


_SCREENED: Screening | None = None


def screened() -> Screening:
    """The screening of this test process (done on first use)."""
    global _SCREENED
    if _SCREENED is None:
        _SCREENED = screen()
        from fannctl import devices

        devices.reset()  # tests start from a fresh registry; the verdicts stay on disk
    return _SCREENED
