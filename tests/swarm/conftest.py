"""Swarm tests share one process with CLI tests: each starts from library defaults."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fallbacks_as_warnings(monkeypatch):
    """A CLI run in this process sends device fallbacks to stderr (devices.on_fallback);
    the library's default, a warning, is what these tests see."""
    from fannctl import devices

    monkeypatch.setattr(devices.registry, "fallback_handler", None)
