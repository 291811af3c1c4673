"""The exceptions fannctl raises for problems a user can fix.

The library never prints or exits; the CLI turns these into one line on stderr
and an exit code (``exit_code``).
"""

from __future__ import annotations


class FannctlError(Exception):
    """Base class: a problem with the user's input or environment."""

    exit_code = 2


class FormatError(FannctlError):
    """A file's content is malformed (the message names FILE:LINE where known)."""


class ShapeError(FannctlError):
    """A network and a data set (or two arrays) do not fit together."""


class ParameterError(FannctlError):
    """An option or parameter value is not valid."""


class DeviceError(FannctlError):
    """A compute device failed (build, run or self-test)."""

    exit_code = 1


class DeviceUnusable(DeviceError):
    """A device that fails the same way every time (its kernels do not build,
    or it computes wrong results): remembered across processes, not retried."""
