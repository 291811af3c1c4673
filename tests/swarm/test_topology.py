"""Topologies as neighbour lists.

Guards against: one-sided links (a gossip average that is not symmetric),
self-links, wrong degrees, and specs accepted that mean nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from fannctl.errors import ParameterError
from fannctl.swarm.topology import build


def _edges(topology) -> set[tuple[int, int]]:
    return {(a, int(b)) for a in range(topology.agents) for b in topology.of(a)}


@pytest.mark.parametrize("spec", ["star", "ring:1", "ring:3", "grid", "hierarchical:3", "random:2"])
def test_symmetric_without_self_links(spec):
    topology = build(spec, 23, seed=4)
    edges = _edges(topology)
    assert edges and all((b, a) in edges for a, b in edges)
    assert all(a != b for a, b in edges)


def test_shapes():
    """Each topology links whom its name says."""
    assert sorted(build("star", 5).of(0).tolist()) == [1, 2, 3, 4]
    assert build("star", 5).of(3).tolist() == [0]
    assert sorted(build("ring:2", 10).of(0).tolist()) == [1, 2, 8, 9]
    assert (build("ring:2", 10).degree() == 4).all()
    tree = build("hierarchical:2", 7)
    assert sorted(tree.of(0).tolist()) == [1, 2]
    assert sorted(tree.of(1).tolist()) == [0, 3, 4]
    assert sorted(build("grid", 16).of(5).tolist()) == [1, 4, 6, 9]
    mesh = build("mesh", 4)
    assert mesh.offsets is None and mesh.of(2).tolist() == [0, 1, 3]
    random = build("random:3", 50, seed=1)
    assert (random.degree() >= 3).all()
    assert _edges(random) == _edges(build("random:3", 50, seed=1))
    assert _edges(random) != _edges(build("random:3", 50, seed=2))


def test_small_swarms():
    """One or two agents: no crash, no self-links."""
    for spec in ["mesh", "star", "ring:4", "grid", "hierarchical:2", "random:5"]:
        assert build(spec, 1).degree().tolist() == [0]
        assert np.all(build(spec, 2).degree() <= 1)


@pytest.mark.parametrize("spec", ["wheel", "ring:0", "ring:x", "mesh:2", "random:-1", ""])
def test_bad_specs(spec):
    with pytest.raises(ParameterError):
        build(spec, 10)
