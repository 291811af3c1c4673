"""Swarms: populations of same-shape networks trained together in one batched computation.

``spawn`` makes a population, ``run`` trains it in rounds with a strategy
(independent, average, evolve, pso) over a topology, ``predict`` and
``export_agent`` use it, ``describe`` summarises it, and ``load_swarm`` /
``save_swarm`` keep it in an HDF5 file.
"""

from fannctl.swarm.inference import describe, export_agent, predict, resolve_agent, score
from fannctl.swarm.io import is_swarm_file, load_swarm, save_swarm
from fannctl.swarm.population import Swarm, Vary, parse_vary, spawn
from fannctl.swarm.rounds import RoundRecord, RunConfig, run

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
    "resolve_agent",
    "run",
    "save_swarm",
    "score",
    "spawn",
]
