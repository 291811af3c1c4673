"""Differential tests: fannctl's forward pass against the real libfann 2.2 (float64).

Each network is built by fannctl in float64, saved as a .net file, loaded by
libdoublefann, and both run the same inputs. They catch any activation whose
value, steepness handling or +-150/s clamp differs from FANN's, wrong source
neurons in sparse or shortcut layouts, and .net files libfann reads differently
from how fannctl meant them.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.libfann

ACTIVATIONS = list(range(18))  # FANN 2.2's ids; 9 (GAUSSIAN_STEPWISE) outputs 0
STEEPNESSES = (0.5, 1.0, 1.7)
KINDS = ("standard", "sparse", "shortcut")
LINEAR, THRESHOLD, GAUSSIAN_STEPWISE = 0, 1, 9
RTOL, ATOL = 1e-9, 1e-12


def make_net(kind: str, layers: list[int], seed: int, weight_range: float = 1.5):
    """A float64 fannctl net of the given kind with weights uniform in +-weight_range."""
    from fannctl import network

    options = {"standard": {}, "sparse": {"connection_rate": 0.5}, "shortcut": {"shortcut": True}}
    rng = np.random.default_rng(seed)
    net = network.create(layers, rng=rng, dtype="float64", **options[kind])
    net.weights[:] = rng.uniform(-weight_range, weight_range, net.weights.size)
    return net


def layers_for(kind: str) -> list[int]:
    return [4, 3, 2] if kind == "shortcut" else [4, 6, 3, 2]


def sample_inputs(seed: int, n_in: int) -> np.ndarray:
    """Ordinary inputs plus rows large enough to hit the +-150/s clamp."""
    rng = np.random.default_rng(seed)
    small = rng.normal(0.0, 1.5, (24, n_in))
    large = rng.choice([-1.0, 1.0], (8, n_in)) * rng.uniform(50.0, 5e4, (8, n_in))
    return np.vstack([small, large, np.zeros((1, n_in))])


def assert_outputs_match(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs libfann {theirs.shape}"
    assert ours.dtype == np.float64, f"{what}: fannctl returned {ours.dtype}"
    bad = ~np.isclose(ours, theirs, rtol=RTOL, atol=ATOL)
    if bad.any():
        idx = np.argwhere(bad)[0]
        pytest.fail(
            f"{what}: {int(bad.sum())} of {bad.size} outputs differ; first at (pattern, output)="
            f"{tuple(int(i) for i in idx)}: fannctl {ours[tuple(idx)]!r} "
            f"vs libfann {theirs[tuple(idx)]!r}"
        )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ident", ACTIVATIONS)
def test_every_activation_matches_libfann(to_libfann, kind: str, ident: int) -> None:
    """One activation on all hidden and output layers, each steepness, all layouts."""
    from fannctl import network, runner

    for k, steepness in enumerate(STEEPNESSES):
        net = make_net(kind, layers_for(kind), seed=100 * ident + k)
        for layer in range(1, len(net.layers)):
            network.set_activation(net, layer, ident, steepness)
        inputs = sample_inputs(ident + 31 * k, net.num_input)
        with to_libfann(net) as ann:
            theirs = ann.run(inputs)
            if kind == "sparse":
                assert ann.get_connection_rate() == 0.5
                assert ann.get_total_connections() == net.weights.size
                np.testing.assert_array_equal(ann.get_sources(), net.sources)
        ours = runner.run(net, inputs)
        assert_outputs_match(ours, theirs, f"activation {ident} steepness {steepness} {kind}")
        if ident == GAUSSIAN_STEPWISE:
            assert np.all(theirs == 0.0)  # libfann 2.2 never implemented it


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("steepness", STEEPNESSES)
def test_sum_clamp_matches_libfann(to_libfann, kind: str, steepness: float) -> None:
    """LINEAR outputs show the +-150/s clamp directly: libfann and fannctl clamp alike."""
    from fannctl import network, runner

    net = make_net(kind, [5, 3] if kind != "shortcut" else [5, 1, 3], seed=9)
    for layer in range(1, len(net.layers)):
        network.set_activation(net, layer, LINEAR, steepness)
    inputs = sample_inputs(9, net.num_input) * 100.0
    with to_libfann(net) as ann:
        theirs = ann.run(inputs)
    limit = 150.0 / steepness
    # the large rows must really reach the clamp, or this test proves nothing about it
    assert np.any(np.abs(theirs) == limit), f"no output reached the clamp {limit}"
    assert_outputs_match(runner.run(net, inputs), theirs, f"clamp {kind} steepness {steepness}")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mixed_per_neuron_activations_match_libfann(to_libfann, kind: str, seed: int) -> None:
    """Every neuron its own activation and steepness (set in net.activation/steepness)."""
    from fannctl import runner

    net = make_net(kind, layers_for(kind), seed=seed)
    rng = np.random.default_rng(1000 + seed)
    neurons = np.flatnonzero(net.num_inputs > 0)
    net.activation[neurons] = rng.choice(ACTIVATIONS, neurons.size)
    net.steepness[neurons] = rng.choice([0.25, 0.5, 0.9, 1.0, 1.7], neurons.size)
    inputs = sample_inputs(seed, net.num_input)
    with to_libfann(net) as ann:
        theirs = ann.run(inputs)
    assert_outputs_match(runner.run(net, inputs), theirs, f"mixed activations {kind} seed {seed}")


@pytest.mark.parametrize("kind", KINDS)
def test_default_network_matches_libfann(to_libfann, kind: str) -> None:
    """A net straight from create(): default SIGMOID_STEPWISE, steepness 0.5, +-0.1 weights."""
    from fannctl import network, runner

    net = network.create(
        layers_for(kind),
        rng=np.random.default_rng(5),
        dtype="float64",
        **{"standard": {}, "sparse": {"connection_rate": 0.5}, "shortcut": {"shortcut": True}}[
            kind
        ],
    )
    inputs = sample_inputs(5, net.num_input)
    with to_libfann(net) as ann:
        theirs = ann.run(inputs)
        assert ann.get_total_connections() == net.weights.size
        np.testing.assert_array_equal(ann.get_weights(), net.weights)
    assert_outputs_match(runner.run(net, inputs), theirs, f"default {kind} net")
