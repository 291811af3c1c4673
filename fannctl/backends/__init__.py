"""Compute backends behind one small interface (see ``base.Backend``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fannctl.backends.base import Backend


def default_backend() -> Backend:
    """The reference backend (numpy), for library calls that are given none.

    The core (training, cascade, runner) takes its default from here, so it
    depends on the backends package, never on ``fannctl.devices``, which sits
    above the core and may drive the training loop itself.
    """
    from fannctl.backends.numpy_backend import NumpyBackend

    return NumpyBackend()
