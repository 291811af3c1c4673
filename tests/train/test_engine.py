"""The engine against FANN's own numbers (no libfann needed).

The golden traces are libfann 2.2's, from ``fann_probe/train_traces.txt``:
the probe XOR net (tanh, steepness 1) trained 5 epochs by each algorithm.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from fannctl import activations
from fannctl.backends.numpy_backend import NumpyBackend
from fannctl.data import TrainingData
from fannctl.network import create, layer_views, set_activation
from fannctl.train import train_epoch

FIXTURES = Path(__file__).resolve().parents[1] / "io" / "fixtures"
# The probe net's start weights, as libfann wrote them.
PROBE_WEIGHTS = [
    float(w)
    for w in re.findall(
        r"\(\d+, ([-+0-9.e]+)\)",
        (FIXTURES / "xor_2_3_1.net").read_text().split("connections (connected_to_neuron")[1],
    )
]
# libfann 2.2.0, float build: (MSE, bit fail) per epoch.
TRACES = {
    0: [(0.412698627, 3), (0.542209327, 3), (0.474249244, 2), (0.540139794, 3), (0.524669170, 3)],
    1: [(0.298826814, 3), (0.257377088, 4), (0.253874362, 4), (0.252245545, 4), (0.251367211, 4)],
    2: [(0.298826814, 3), (0.257033408, 4), (0.252349049, 4), (0.253216803, 4), (0.250846714, 4)],
    3: [(0.298826814, 3), (0.257376403, 4), (0.250972152, 4), (0.249983579, 4), (0.249702096, 4)],
    4: [(0.298826814, 3), (0.298826277, 3), (0.298825592, 3), (0.298824787, 3), (0.298823774, 3)],
}
XOR = TrainingData(
    np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], float), np.array([[-1], [1], [1], [-1]], float)
)


def probe_net(dtype: str = "float32"):
    net = create([2, 3, 1], dtype=dtype)
    set_activation(net, 1, "sigmoid_symmetric", 1.0)
    set_activation(net, 2, "sigmoid_symmetric", 1.0)
    net.weights[:] = PROBE_WEIGHTS
    return net


@pytest.mark.parametrize("algorithm", sorted(TRACES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_libfann_traces(algorithm: int, dtype: str) -> None:
    """Each algorithm reproduces libfann's per-epoch MSE and bit fail."""
    net = probe_net(dtype)
    net.params.training_algorithm = algorithm
    for expected_mse, expected_bits in TRACES[algorithm]:
        result = train_epoch(net, XOR)
        assert result.mse == pytest.approx(expected_mse, rel=2e-6)
        assert result.bit_fail == expected_bits


def test_fresh_network_layout_matches_fann() -> None:
    """FANN's 2-2-1: bias neurons (0,0,0), sigmoid_stepwise 0.5, 3 inputs per neuron."""
    net = create([2, 2, 1], rng=np.random.default_rng(0))
    assert net.total_neurons == 8
    assert net.activation.tolist() == [0, 0, 0, 4, 4, 0, 4, 0]
    assert net.num_inputs.tolist() == [0, 0, 0, 3, 3, 0, 3, 0]
    assert np.all(np.abs(net.weights) <= 0.1)


@pytest.mark.parametrize(
    ("layers", "rate", "counts"),
    [([5, 4, 3], 0.6, [4, 4, 4, 4, 3, 3, 4]), ([4, 4, 2], 0.5, [3, 3, 3, 3, 3, 3])],
)
def test_sparse_connection_counts_match_fann(layers, rate, counts) -> None:
    """FANN's sparse split (probe: 10 over 3 neurons gives 3 3 4), bias first."""
    net = create(layers, connection_rate=rate, rng=np.random.default_rng(1))
    per_neuron = net.num_inputs[net.num_inputs > 0].tolist()
    assert per_neuron == counts
    first = net.first_connection()
    for view in layer_views(net):
        bias = view.src_start + view.src_count - 1
        for j in range(view.first, view.first + view.size):
            srcs = net.sources[first[j] : first[j] + net.num_inputs[j]]
            assert srcs[0] == bias
            assert len(set(srcs.tolist())) == srcs.size


def test_shortcut_sources_are_all_earlier_neurons() -> None:
    net = create([2, 2, 1], shortcut=True, rng=np.random.default_rng(0))
    assert net.layers == [2, 2, 1] and net.total_neurons == 6
    assert net.num_inputs.tolist() == [0, 0, 0, 3, 3, 5]
    assert net.sources[-5:].tolist() == [0, 1, 2, 3, 4]


def numeric_gradient(net, data, eps=1e-6):
    """Central differences of FANN's linear-error SSE/2 (slopes are -dE/dw)."""
    backend = NumpyBackend()
    grads = np.zeros(net.weights.size)
    for i in range(net.weights.size):
        old = net.weights[i]
        losses = []
        for sign in (1, -1):
            net.weights[i] = old + sign * eps
            out = backend.forward(net, data.inputs)
            err = data.outputs - out
            losses.append(0.5 * float((err * err).sum()))
        net.weights[i] = old
        grads[i] = -(losses[0] - losses[1]) / (2 * eps)
    return grads


@pytest.mark.parametrize("kind", ["standard", "sparse", "shortcut"])
def test_slopes_are_the_descent_gradient(kind: str) -> None:
    """Backprop slopes equal -dE/dw (smooth activations, linear error): catches a
    wrong layer offset, transposed block or missed shortcut contribution."""
    rng = np.random.default_rng(7)
    net = create(
        [3, 4, 3, 2],
        shortcut=kind == "shortcut",
        connection_rate=0.6 if kind == "sparse" else 1.0,
        rng=rng,
        dtype="float64",
    )
    for index in (1, 2, 3):
        set_activation(net, index, "sigmoid", 0.9)
    net.params.train_error_function = 0
    net.weights[:] = rng.uniform(-1, 1, net.weights.size)
    data = TrainingData(rng.uniform(-1, 1, (6, 3)), rng.uniform(0, 1, (6, 2)))
    slopes = np.zeros_like(net.weights)
    NumpyBackend().gradient(net, data.inputs, data.outputs, slopes)
    expected = numeric_gradient(net, data)
    # FANN clips y in the sigmoid derivative to [0.01, 0.99]; stay inside it.
    np.testing.assert_allclose(slopes, expected, rtol=1e-5, atol=1e-8)


# Where FANN's derivative is the true dy/dt at steepness 1 (the others carry
# FANN's quirks, which the libfann differential tests pin down).
SMOOTH = [0, 3, 5, 7, 8, 10, 11, 13, 14, 16]


@pytest.mark.parametrize("ident", SMOOTH)
def test_derivative_is_dy_dt_at_unit_steepness(ident: int) -> None:
    """FANN's derivative equals dy/dt at steepness 1, inside the sigmoid clips."""
    t = np.linspace(-0.5, 0.5, 11)
    ids = np.array([ident])
    eps = 1e-6
    y = activations.value(ids, t[:, None])
    numeric = activations.value(ids, t[:, None] + eps) - activations.value(ids, t[:, None] - eps)
    numeric /= 2 * eps
    d = activations.derivative(ids, np.array([1.0]), y, t[:, None])
    np.testing.assert_allclose(d, numeric, rtol=1e-5, atol=1e-7)


def test_relu_derivative_is_right() -> None:
    """FANN's ReLU derivative is s everywhere; ours is 0 for negative sums."""
    t = np.array([[-2.0], [3.0]])
    y = activations.value(np.array([18]), t)
    d = activations.derivative(np.array([18]), np.array([0.5]), y, t)
    assert y.ravel().tolist() == [0.0, 3.0]
    assert d.ravel().tolist() == [0.0, 0.5]
    leaky = activations.value(np.array([19]), t).ravel().tolist()
    assert leaky == [-0.02, 3.0]


def test_stepwise_and_clamp_values() -> None:
    """Stepwise sigmoid levels and the +-150/s clamp (FANN's float constants)."""
    t = np.array([[-10.0], [0.0], [0.549306154251098632812], [10.0]])
    y = activations.value(np.array([4]), t).ravel()
    assert y[0] == 0.0 and y[1] == pytest.approx(0.5) and y[2] == 0.75 and y[3] == 1.0
    # t = s * net is clamped to +-150/s: 0.5 * 1000 = 500 becomes 300.
    clamped = activations.scale_and_clamp(np.array([[1000.0, -1000.0]]), np.array([0.5, 0.5]))
    assert clamped[0].tolist() == [300.0, -300.0]


def test_symmetric_set_is_fanns() -> None:
    assert activations.SYMMETRIC == {13, 2, 5, 6, 11, 8, 14, 15}


def test_rprop_sign_flip_moves_weight_forward() -> None:
    """FANN's RPROP twist: after a sign flip the weight still moves +step (0.072)."""
    from fannctl.network import TrainState
    from fannctl.params import TrainingParams
    from fannctl.train import rprop

    w = np.zeros(2)
    state = TrainState(
        slopes=np.array([1.0, -1.0]),
        prev_slopes=np.array([-1.0, -1.0]),
        prev_steps=np.array([0.144, 0.144]),
    )
    rprop.update(w, state, TrainingParams(), 4)
    assert w.tolist() == pytest.approx([0.072, -0.1728])
    w = np.zeros(2)
    state = TrainState(
        slopes=np.array([1.0, -1.0]),
        prev_slopes=np.array([-1.0, -1.0]),
        prev_steps=np.array([0.144, 0.144]),
    )
    rprop.update(w, state, TrainingParams(rprop_variant="irprop-"), 4)
    assert w.tolist() == pytest.approx([0.0, -0.1728])
