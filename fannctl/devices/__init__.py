"""Where computation runs: ``--device`` / ``FANNCTL_DEVICE`` resolve here, once.

Values: ``numpy``; ``cl`` (OpenCL: the first usable GPU, else the best CPU
device); ``cl:N`` (the N-th OpenCL device as ``fannctl health`` lists it) or
a device's stable name (``pocl-3.1/basic-amd-epyc``: same name every day);
``auto`` (the default: numpy, unless a measurement shows an OpenCL device
runs the training faster).

One module per job: ``names`` (stable names, the ``--device`` grammar,
``FANNCTL_DEVICE_EXCLUDE`` and the config file), ``registry`` (the devices of
this process, opened once, failures reported once; ``reset`` for tests),
``verdicts`` (a failing device remembered across processes, with cause and
remedy), ``fallback`` (the chain down to numpy), ``auto`` (measuring), and
``selftest`` (a device's result against numpy's). This package sits above
the backends: it may drive the training loop; the backends never do.
"""

from __future__ import annotations

import os

from fannctl.backends.base import Backend
from fannctl.devices import names, registry
from fannctl.devices.auto import AutoBackend, CandidateChoice
from fannctl.devices.fallback import FallbackBackend, chain, numpy_backend
from fannctl.devices.names import parse
from fannctl.devices.registry import DeviceFallbackWarning, all_devices, reset, usable

CHOICES = ("auto", "numpy", "cl", "cl:N", "PLATFORM/DEVICE")
ENV = names.ENV_DEVICE

__all__ = [
    "CHOICES",
    "ENV",
    "AutoBackend",
    "CandidateChoice",
    "DeviceFallbackWarning",
    "FallbackBackend",
    "all_devices",
    "chain",
    "device_backend",
    "on_compile",
    "on_fallback",
    "parse",
    "reset",
    "resolve",
    "usable",
]


def resolve(device: str | None = None) -> Backend:
    """The backend for a device name; None reads ``FANNCTL_DEVICE``, then ``auto``."""
    kind, selector = parse(device or os.environ.get(ENV) or "auto")
    if kind == "numpy":
        return numpy_backend()
    if kind == "auto":
        return AutoBackend()
    return FallbackBackend(chain(selector))


def on_fallback(handler) -> None:
    """Send fallback messages to ``handler(message)`` instead of ``warnings``."""
    registry.fallback_handler = handler


def on_compile(handler) -> None:
    """Call ``handler(device_name)`` before kernels are compiled from source
    (not when they come from the disk cache): it takes seconds."""
    from fannctl.backends.opencl import kernels

    kernels.on_compile = handler


def device_backend(selector: int | str):
    """The backend of one device (``cl:N``'s N or a stable name), opened once per process."""
    return registry.backend(registry.find(selector))
