"""Resolve ``--device`` / ``FANNCTL_DEVICE`` to a backend, in one place."""

from __future__ import annotations

import os

from fannctl.backends.base import Backend
from fannctl.errors import ParameterError

CHOICES = ("auto", "numpy")


def resolve(device: str | None = None) -> Backend:
    """Return the backend for a device name (``auto`` and ``numpy`` today)."""
    name = (device or os.environ.get("FANNCTL_DEVICE") or "auto").strip().lower()
    if name in ("auto", "numpy"):
        from fannctl.backends.numpy_backend import NumpyBackend

        return NumpyBackend()
    raise ParameterError(f"unknown device {name!r}; valid: {', '.join(CHOICES)}")
