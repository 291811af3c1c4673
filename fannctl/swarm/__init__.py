"""Swarms: populations of same-shape networks trained together in one batched computation.

``spawn`` makes a population, ``run`` trains it in rounds with a strategy
(independent, average, evolve, pso) over a topology, ``predict`` and
``export_agent`` use it, ``describe`` summarises it, and ``load_swarm`` /
``save_swarm`` keep it in an HDF5 file.
"""

from __future__ import annotations

import importlib

# Where each public name lives; a module is imported on first use (PEP 562), so
# ``fannctl run net.h5`` asking whether a file is a swarm (fannctl.swarm.io) does
# not load the rounds, strategies and trainer (~30 ms of a one-pattern run).
_WHERE = {
    "describe": "inference",
    "export_agent": "inference",
    "predict": "inference",
    "prepare_device": "device",
    "resolve_agent": "inference",
    "score": "inference",
    "is_swarm_file": "io",
    "load_swarm": "io",
    "save_swarm": "io",
    "Swarm": "population",
    "Vary": "population",
    "parse_vary": "population",
    "spawn": "population",
    "RoundRecord": "rounds",
    "RunConfig": "rounds",
    "run": "rounds",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'fannctl.swarm' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fannctl.swarm.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "RoundRecord",
    "RunConfig",
    "Swarm",
    "Vary",
    "describe",
    "export_agent",
    "is_swarm_file",
    "load_swarm",
    "parse_vary",
    "predict",
    "prepare_device",
    "resolve_agent",
    "run",
    "save_swarm",
    "score",
    "spawn",
]
