"""What neighbours exchange between rounds: average, evolve (PBT) and PSO.

Each exchange reads a snapshot of the population and writes the new one, so
the result never depends on the order agents are visited in. Every random
choice comes from the agent's own stream for the round
(``agent_generator(seed, agent, round, purpose)``), or for PSO's per-weight
factors from a stream per fixed block of AGENT_BLOCK agents, move and round.

The wide per-agent arrays may live on disk (:mod:`fannctl.swarm.store`), so
every exchange reads and writes them a chunk of agents at a time: a global
mean adds fixed blocks of ``store.REDUCE_ROWS`` agents in agent order, a
neighbourhood's rows are fetched by index for the chunk that needs them,
evolve ranks on the per-agent errors (scalars, in memory) and copies rows a
chunk of losers at a time. In memory the same code computes the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fannctl.swarm import store
from fannctl.swarm.population import AGENT_BLOCK, Swarm, get_values, set_values
from fannctl.swarm.topology import Topology
from fannctl.swarm.trainer import agent_generator

STRATEGIES = ("independent", "average", "evolve", "pso")
PURPOSE_EVOLVE, PURPOSE_PSO = 5, 6
_GLOBAL_AVERAGE = ("mesh", "star", "hierarchical")


@dataclass
class EvolveConfig:
    """Population-based training: who is replaced, and how hyperparameters move."""

    quantile: float = 0.25
    factors: tuple[float, float] = (0.8, 1.2)
    resample_probability: float = 0.25


@dataclass
class PsoConfig:
    """Particle swarm constants (Clerc's constriction by default) and the velocity clamp."""

    inertia: float = 0.7298
    cognitive: float = 1.49618
    social: float = 1.49618
    max_velocity: float = 0.5


def hoods(topology: Topology) -> tuple[np.ndarray, np.ndarray]:
    """Each agent's neighbourhood, itself first: CSR (offsets, members)."""
    n = topology.agents
    degree = topology.degree()
    offsets = np.concatenate([[0], np.cumsum(degree + 1)])
    members = np.empty(int(offsets[-1]), dtype=np.int64)
    members[offsets[:-1]] = np.arange(n)
    if topology.offsets is None:  # mesh: never materialised for large swarms
        raise ValueError("mesh neighbourhoods are global")
    for_self = np.zeros(members.size, dtype=bool)
    for_self[offsets[:-1]] = True
    members[~for_self] = topology.neighbours
    return offsets, members


def average(swarm: Swarm, counts: np.ndarray, round_index: int) -> None:
    """Each agent takes the data-weighted mean of its own and its neighbours' weights.

    mesh, star and hierarchical give every agent the mean of all (federated
    averaging; the hub, or the tree, gathers and broadcasts); ring, grid and
    random are gossip: the mean over the neighbourhood.
    """
    counts = np.asarray(counts, dtype=np.float64)
    w = swarm.weights
    if swarm.topology.kind in _GLOBAL_AVERAGE or swarm.agents == 1:
        total = np.zeros(w.shape[1])
        block = store.REDUCE_ROWS  # fixed blocks, in order: the bits never depend on chunks
        for lo in range(0, swarm.agents, block):
            total += counts[lo : lo + block] @ np.asarray(w[lo : lo + block], dtype=np.float64)
        w[...] = (total / counts.sum()).astype(w.dtype)
        swarm.events.add(round_index, "average", np.arange(swarm.agents), value=swarm.agents)
        return
    offsets, members = hoods(swarm.topology)
    old = store.copy(w)  # the snapshot every neighbourhood reads
    largest = int(np.diff(offsets).max())
    step = max(1, store.rows_per_chunk(w.shape[1] * 8) // largest)  # float64 rows gathered
    for lo in range(0, swarm.agents, step):
        hi = min(swarm.agents, lo + step)
        span = members[offsets[lo] : offsets[hi]]
        weighted = np.asarray(old[span], dtype=np.float64) * counts[span, None]
        sums = np.add.reduceat(weighted, offsets[lo:hi] - offsets[lo], axis=0)
        norm = np.add.reduceat(counts[span], offsets[lo:hi] - offsets[lo])
        w[lo:hi] = (sums / norm[:, None]).astype(w.dtype)
    if store.on_disk(old):
        old.close()
    swarm.events.add(round_index, "average", np.arange(swarm.agents), value=np.diff(offsets))


def evolve(swarm: Swarm, errors: np.ndarray, round_index: int, config: EvolveConfig) -> None:
    """PBT: in each neighbourhood the worst quantile copy one of the best quantile,
    then perturb (x factor) or, with the resample probability, redraw varied values."""
    n = swarm.agents
    err = np.where(np.isfinite(errors), errors, np.inf)
    rank_key = np.lexsort((np.arange(n), err))  # by error, ties by agent number
    rank = np.empty(n, dtype=np.int64)
    rank[rank_key] = np.arange(n)
    if swarm.topology.is_global or swarm.topology.kind == "mesh":
        q = _quantile_count(n, config.quantile)
        losers = np.sort(rank_key[n - q :])
        ordered, starts, counts = rank_key, np.zeros(q, np.int64), np.full(q, q)
    else:
        # Every neighbourhood sorted by rank at once: segment by segment (CSR).
        offsets, members = hoods(swarm.topology)
        sizes = np.diff(offsets)
        segment = np.repeat(np.arange(n), sizes)
        ordered = members[np.lexsort((rank[members], segment))]
        position = np.arange(members.size) - offsets[segment]
        own = np.empty(n, dtype=np.int64)
        is_self = ordered == segment
        own[segment[is_self]] = position[is_self]
        q = np.minimum(np.maximum(1, (sizes * config.quantile).astype(np.int64)), sizes // 2)
        losers = np.flatnonzero((q > 0) & (own >= sizes - q))
        starts, counts = offsets[losers], q[losers]
    if losers.size == 0:
        return
    rngs = [agent_generator(swarm.seed, int(a), round_index, PURPOSE_EVOLVE) for a in losers]
    picks = np.array([rng.integers(count) for rng, count in zip(rngs, counts, strict=True)])
    sources = ordered[starts + picks]
    _copy_agents(swarm, losers, sources)
    if swarm.errors is not None:
        swarm.errors[losers] = swarm.errors[sources]
    errors[losers] = errors[sources]
    swarm.events.add(round_index, "copy", losers, source=sources)
    from fannctl.swarm.population import VARIABLE

    for spec in swarm.vary:
        draws = np.array([rng.random(3) for rng in rngs])  # resample?, factor, value
        redraw = draws[:, 0] < config.resample_probability
        current = get_values(swarm, spec.name)[losers]
        if spec.choices:
            new = np.where(redraw, spec.draw(draws[:, 2]), current)
        else:
            factor = np.where(draws[:, 1] < 0.5, config.factors[0], config.factors[1])
            new = np.where(redraw, spec.draw(draws[:, 2]), current * factor)
        set_values(swarm, spec.name, losers, new)
        param = VARIABLE.index(spec.name)
        swarm.events.add(round_index, "redraw", losers[redraw], param=param, value=new[redraw])
        if not spec.choices:
            kept = ~redraw
            swarm.events.add(round_index, "perturb", losers[kept], param=param, value=new[kept])


def _quantile_count(size: int, quantile: float) -> int:
    """Agents in a neighbourhood's best (and worst) quantile: at least one where there
    are two to compare, never so many that best and worst overlap."""
    if size < 2:
        return 0
    return min(max(1, int(size * quantile)), size // 2)


def _copy_agents(swarm: Swarm, targets: np.ndarray, sources: np.ndarray) -> None:
    """Targets take the sources' weights, steepness, hyperparameters and state."""
    for name in (
        "weights",
        "steepness",
        "algorithm",
        "prev_steps",
        "prev_slopes",
        "state_algorithm",
        "sarprop_epoch",
        "velocity",
        "best_weights",
        "best_error",
    ):
        array = getattr(swarm, name)
        if array is not None:
            store.copy_rows(array, targets, sources)
    for array in swarm.hyper.values():
        array[targets] = array[sources]


def neighbourhood_best(swarm: Swarm, best_error: np.ndarray) -> np.ndarray:
    """For each agent, the agent with the lowest personal best in its neighbourhood."""
    n = swarm.agents
    if swarm.topology.is_global or swarm.topology.kind == "mesh":
        return np.full(n, int(np.argmin(best_error)))
    offsets, members = hoods(swarm.topology)
    segment = np.repeat(np.arange(n), np.diff(offsets))
    order = np.lexsort((members, best_error[members], segment))
    return members[order][offsets[:-1]]


def pso_step(
    swarm: Swarm, errors: np.ndarray, round_index: int, iteration: int, config: PsoConfig
) -> None:
    """One PSO move: update personal bests from ``errors``, then velocities and positions."""
    n, c = swarm.weights.shape
    if swarm.velocity is None:
        swarm.velocity = store.zeros_like(swarm.weights)
        swarm.best_weights = store.copy(swarm.weights)
        swarm.best_error = np.full(n, np.inf)
    better = errors < swarm.best_error
    swarm.best_error[better] = errors[better]
    store.copy_where(swarm.best_weights, swarm.weights, better)
    social = neighbourhood_best(swarm, swarm.best_error)
    dt = swarm.weights.dtype
    for block, lo in enumerate(range(0, n, AGENT_BLOCK)):
        hi = min(n, lo + AGENT_BLOCK)
        # one stream per fixed block of agents, move and round (not per compute chunk)
        key = [swarm.seed, PURPOSE_PSO, round_index, iteration, block]
        r = np.random.Generator(np.random.PCG64(key)).random((hi - lo, 2, c), dtype=dt)
        x = swarm.weights[lo:hi]  # views in memory, chunks read from disk
        v = swarm.velocity[lo:hi]
        v *= dt.type(config.inertia)
        v += dt.type(config.cognitive) * r[:, 0] * (swarm.best_weights[lo:hi] - x)
        v += dt.type(config.social) * r[:, 1] * (swarm.best_weights[social[lo:hi]] - x)
        np.clip(v, -config.max_velocity, config.max_velocity, out=v)
        x += v
        store.write_rows(swarm.velocity, lo, v)
        store.write_rows(swarm.weights, lo, x)
