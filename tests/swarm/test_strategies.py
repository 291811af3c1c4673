"""The exchanges between rounds, checked against their definitions.

Guards against: averages that are not data-weighted or leak across
non-neighbours, PBT copying the wrong state (or from outside the best
quantile), perturbations outside x0.8/x1.2, PSO velocities past the clamp.
"""

from __future__ import annotations

import numpy as np

from fannctl.swarm import spawn
from fannctl.swarm.population import parse_vary
from fannctl.swarm.strategies import (
    EvolveConfig,
    PsoConfig,
    average,
    evolve,
    neighbourhood_best,
    pso_step,
)


def _swarm(agents=8, topology="mesh", **kwargs):
    swarm = spawn(agents, layers=[2, 3, 1], topology=topology, seed=11, dtype="float64", **kwargs)
    swarm.ensure_state()
    swarm.prev_steps[:] = np.arange(agents)[:, None]  # marks each agent's state
    return swarm


def test_mesh_average_is_data_weighted_mean():
    swarm = _swarm()
    before = swarm.weights.copy()
    counts = np.arange(1, 9, dtype=float)
    average(swarm, counts, 0)
    expected = (counts[:, None] * before).sum(axis=0) / counts.sum()
    for row in swarm.weights:
        np.testing.assert_allclose(row, expected, rtol=1e-12)


def test_ring_gossip_uses_only_neighbours():
    swarm = _swarm(topology="ring:1")
    before = swarm.weights.copy()
    average(swarm, np.ones(8), 0)
    np.testing.assert_allclose(swarm.weights[0], before[[7, 0, 1]].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(swarm.weights[4], before[[3, 4, 5]].mean(axis=0), rtol=1e-12)
    assert len(swarm.events) == 8 + 8  # spawn + one average per agent


def test_evolve_worst_quarter_copies_best_quarter():
    swarm = _swarm(vary=[parse_vary("learning_rate=0.1:1.0")])
    swarm.vary[0] = parse_vary("learning_rate=0.1:1.0")
    errors = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.4, 0.6])
    before_w = swarm.weights.copy()
    before_lr = swarm.hyper["learning_rate"].copy()
    evolve(swarm, errors.copy(), 0, EvolveConfig(0.25, (0.8, 1.2), 0.0))
    # worst two (1: 0.9, 3: 0.8) copy from the best two (0: 0.1, 2: 0.2)
    for loser in (1, 3):
        source = [s for s in (0, 2) if np.array_equal(swarm.weights[loser], before_w[s])]
        assert len(source) == 1
        assert swarm.prev_steps[loser, 0] == source[0]  # the state came along
        ratio = swarm.hyper["learning_rate"][loser] / before_lr[source[0]]
        assert np.isclose(ratio, 0.8) or np.isclose(ratio, 1.2)
    untouched = [0, 2, 4, 5, 6, 7]
    np.testing.assert_array_equal(swarm.weights[untouched], before_w[untouched])
    columns = swarm.events.columns()
    assert sorted(columns["agent"][columns["kind"] == 1].tolist()) == [1, 3]


def test_evolve_redraws_inside_range():
    swarm = _swarm(agents=40, vary=[parse_vary("learning_rate=0.1:0.2")])
    errors = np.linspace(0, 1, 40)
    evolve(swarm, errors.copy(), 0, EvolveConfig(0.25, (0.8, 1.2), 1.0))
    redrawn = swarm.hyper["learning_rate"][30:]
    assert ((redrawn >= 0.1) & (redrawn <= 0.2)).all()


def test_pso_moves_toward_bests_within_clamp():
    swarm = _swarm(topology="ring:1")
    errors = np.linspace(1.0, 0.1, 8)
    before = swarm.weights.copy()
    config = PsoConfig(max_velocity=0.01)
    pso_step(swarm, errors, 0, 0, config)
    assert swarm.best_error.tolist() == errors.tolist()
    np.testing.assert_array_equal(swarm.best_weights, before)
    assert np.abs(swarm.velocity).max() <= 0.01
    assert np.abs(swarm.weights - before).max() > 0
    social = neighbourhood_best(swarm, errors)
    assert social[0] == 7 and social[7] == 7 and social[3] == 4  # ring: 0 sees 7 and 1


def test_pso_global_best_on_mesh():
    swarm = _swarm()
    errors = np.array([0.5, 0.2, 0.9, 0.1, 0.3, 0.4, 0.6, 0.7])
    assert (neighbourhood_best(swarm, errors) == 3).all()


def test_evolve_small_neighbourhoods_still_exchange():
    """ring:1 (three to a neighbourhood): the worst of each copies the best of it;
    a quarter of three rounded down to none made evolve a no-op there."""
    swarm = _swarm(agents=6, topology="ring:1")
    errors = np.array([0.1, 0.5, 0.9, 0.2, 0.6, 0.8])
    before = swarm.weights.copy()
    evolve(swarm, errors.copy(), 0, EvolveConfig())
    # agent 2's neighbourhood {1, 2, 3}: worst 2, best 3
    np.testing.assert_array_equal(swarm.weights[2], before[3])
    # agent 0's neighbourhood {5, 0, 1}: 0 is the best, kept
    np.testing.assert_array_equal(swarm.weights[0], before[0])
