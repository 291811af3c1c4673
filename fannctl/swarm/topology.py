"""Who talks to whom in a swarm: neighbour lists for every agent.

A topology is stored as neighbour lists in CSR form: agent ``i``'s neighbours
are ``neighbours[offsets[i]:offsets[i + 1]]`` (never ``i`` itself). ``mesh``
(everyone) is kept implicit: its lists would hold N² entries.

Specs: ``mesh``, ``star`` (agent 0 is the hub), ``ring:K`` (K neighbours on
each side), ``grid`` (a near-square torus, four neighbours), ``hierarchical:B``
(a B-ary tree: parent and children), ``random:K`` (K random out-neighbours per
agent, made symmetric; drawn from the swarm's seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fannctl.errors import FormatError, ParameterError

KINDS = ("mesh", "star", "ring", "grid", "hierarchical", "random")
_DEFAULT_ARGUMENT = {"ring": 1, "hierarchical": 2, "random": 3}


@dataclass
class Topology:
    """A parsed topology spec and its neighbour lists (``offsets``, ``neighbours``)."""

    spec: str
    kind: str
    agents: int
    offsets: np.ndarray | None  # None for mesh
    neighbours: np.ndarray | None

    @property
    def is_global(self) -> bool:
        """True when every agent's neighbourhood (with its own) spans everyone."""
        return self.kind == "mesh" or (self.kind == "star" and self.agents <= 2)

    def of(self, agent: int) -> np.ndarray:
        """The neighbours of one agent."""
        if self.offsets is None:
            others = np.arange(self.agents)
            return others[others != agent]
        return self.neighbours[self.offsets[agent] : self.offsets[agent + 1]]

    def degree(self) -> np.ndarray:
        """Neighbour count per agent."""
        if self.offsets is None:
            return np.full(self.agents, self.agents - 1)
        return np.diff(self.offsets)


def parse_spec(spec: str) -> tuple[str, int | None]:
    """Split ``ring:2`` into ("ring", 2); ParameterError for anything unknown."""
    text = str(spec).strip().lower()
    kind, _, arg = text.partition(":")
    if kind not in KINDS:
        raise ParameterError(
            f"unknown topology {spec!r}; valid: mesh, star, ring:K, grid, hierarchical:B, random:K"
        )
    if kind in ("mesh", "star", "grid"):
        if arg:
            raise ParameterError(f"topology {kind} takes no argument, got {spec!r}")
        return kind, None
    if not arg:
        return kind, _DEFAULT_ARGUMENT[kind]
    try:
        value = int(arg)
    except ValueError:
        raise ParameterError(f"topology {spec!r}: {arg!r} is not a whole number") from None
    if value < 1:
        raise ParameterError(f"topology {spec!r}: the number must be at least 1")
    return kind, value


def build(spec: str, agents: int, seed: int = 0) -> Topology:
    """Neighbour lists for ``agents`` agents under ``spec``."""
    kind, arg = parse_spec(spec)
    canonical = kind if arg is None else f"{kind}:{arg}"
    if kind == "mesh":
        return Topology(canonical, kind, agents, None, None)
    if kind == "star":
        pairs = [(np.zeros(agents - 1, np.int64), np.arange(1, agents))]
    elif kind == "ring":
        pairs = _ring(agents, arg)
    elif kind == "grid":
        pairs = _grid(agents)
    elif kind == "hierarchical":
        children = np.arange(1, agents)
        pairs = [((children - 1) // arg, children)]
    else:
        pairs = _random(agents, arg, seed)
    offsets, neighbours = _csr(agents, pairs)
    return Topology(canonical, kind, agents, offsets, neighbours)


def from_arrays(
    spec: str, agents: int, offsets: np.ndarray | None, neighbours: np.ndarray | None
) -> Topology:
    """A topology read back from a file (lists as stored)."""
    kind, _ = parse_spec(spec)
    if kind == "mesh":
        return Topology(spec, kind, agents, None, None)
    if offsets is None or neighbours is None or offsets.shape != (agents + 1,):
        raise FormatError(f"topology {spec!r}: neighbour lists missing or of the wrong size")
    return Topology(spec, kind, agents, offsets.astype(np.int64), neighbours.astype(np.int64))


def _ring(agents: int, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    agent = np.arange(agents)
    return [(agent, (agent + d) % agents) for d in range(1, min(k, agents - 1) + 1)]


def _grid(agents: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A torus of ``rows`` x ``cols`` >= agents; cells past the last agent are skipped."""
    cols = int(np.ceil(np.sqrt(agents)))
    rows = int(np.ceil(agents / cols))
    agent = np.arange(agents)
    r, c = agent // cols, agent % cols
    right = r * cols + (c + 1) % cols
    down = ((r + 1) % rows) * cols + c
    return [(agent, np.where(right < agents, right, r * cols)), (agent, down % agents)]


def _random(agents: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K distinct random partners per agent, made symmetric; drawn per fixed block of
    1024 agents (one generator per agent would cost ~15 us each)."""
    k = min(k, agents - 1)
    if k == 0:
        return []
    sources, targets = [], []
    for block, lo in enumerate(range(0, agents, 1024)):
        rows = np.arange(lo, min(agents, lo + 1024))
        rng = np.random.Generator(np.random.PCG64([seed, 9, block]))
        if 2 * k > agents - 1:  # many partners: distinct draws row by row
            picks = np.array([rng.choice(agents - 1, k, replace=False) for _ in rows])
        else:
            picks = rng.integers(0, agents - 1, size=(rows.size, k))
        while True:  # redraw rows that picked someone twice (rare when k << agents)
            ordered = np.sort(picks, axis=1)
            twice = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
            if twice.size == 0:
                break
            picks[twice] = rng.integers(0, agents - 1, size=(twice.size, k))
        picks = picks + (picks >= rows[:, None])  # skip the agent itself
        sources.append(np.repeat(rows, k))
        targets.append(picks.ravel())
    return [(np.concatenate(sources), np.concatenate(targets))]


def _csr(agents: int, pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric, duplicate-free, self-free neighbour lists from (a, b) edge arrays."""
    if pairs:
        a = np.concatenate([p[0] for p in pairs]).astype(np.int64)
        b = np.concatenate([p[1] for p in pairs]).astype(np.int64)
    else:
        a = b = np.zeros(0, np.int64)
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    keep = src != dst
    key = np.unique(src[keep] * agents + dst[keep])
    src, dst = key // agents, key % agents
    offsets = np.zeros(agents + 1, np.int64)
    np.add.at(offsets, src + 1, 1)
    return np.cumsum(offsets), dst
