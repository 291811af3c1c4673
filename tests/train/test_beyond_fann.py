"""Beyond FANN, opt-in: softmax with cross-entropy, L2 weight decay, sample weights.

The softmax gradient is held to finite differences and to a forward and
backward pass written here independently in numpy on the same weights (no
PyTorch or scikit-learn in the environment). Each test names its bug.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fannctl import activations, io, jobs
from fannctl.backends.numpy_backend import NumpyBackend
from fannctl.data import TrainingData
from fannctl.errors import FormatError, ParameterError
from fannctl.network import build, validate
from fannctl.train import TrainConfig, train, train_epoch
from fannctl.train.batch import learning_step

BACKEND = NumpyBackend()


def _softmax_net(steepness: float = 0.5, dtype: str = "float64"):
    net = build(
        [4, 5, 3],
        hidden_activation="sigmoid_symmetric",
        output_activation="softmax",
        output_steepness=steepness,
        seed=2,
        dtype=dtype,
    )
    return net


def _problem(patterns: int = 9, seed: int = 0):
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(patterns, 4))
    targets = np.eye(3)[rng.integers(0, 3, patterns)]
    return inputs, targets


def _reference(net, inputs, targets, weights):
    """Forward pass and minus the gradient of sum_p w_p CE_p, by hand, from the
    flat arrays of a fully connected 4-5-3 layer network (bias last per neuron)."""
    w1 = net.weights[: 5 * 5].reshape(5, 5)  # 5 hidden x (4 inputs + bias)
    w2 = net.weights[5 * 5 :].reshape(3, 6)  # 3 outputs x (5 hidden + bias)
    hidden_first, output_first = net.layer_first()[1:]
    s_h, s_o = float(net.steepness[hidden_first]), float(net.steepness[output_first])
    x1 = np.hstack([inputs, np.ones((len(inputs), 1))])
    h = np.tanh(s_h * x1 @ w1.T)  # sigmoid_symmetric is tanh of the scaled sum
    x2 = np.hstack([h, np.ones((len(h), 1))])
    z = s_o * x2 @ w2.T
    y = np.exp(z - z.max(axis=1, keepdims=True))
    y /= y.sum(axis=1, keepdims=True)
    d_out = weights[:, None] * s_o * (targets - y)  # minus dCE/d(sum), weighted
    d_hid = (d_out @ w2[:, :5]) * s_h * (1 - h * h)
    slopes = np.concatenate([(d_hid.T @ x1).ravel(), (d_out.T @ x2).ravel()])
    return y, slopes


def test_softmax_outputs_match_an_independent_forward_pass() -> None:
    """Catches a softmax over the wrong axis, without the steepness, or unstable for
    large sums (exp overflow: the max is subtracted first)."""
    net = _softmax_net()
    inputs, targets = _problem()
    y, _ = _reference(net, inputs, targets, np.ones(len(inputs)))
    got = BACKEND.forward(net, inputs)
    np.testing.assert_allclose(got, y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)
    big = activations.value(np.full(3, activations.SOFTMAX), np.array([[1000.0, 999.0, 0.0]]))
    np.testing.assert_allclose(big, [[1 / (1 + np.exp(-1)), 1 / (1 + np.e), 0.0]], atol=1e-12)


@pytest.mark.parametrize("error_function", ["tanh", "linear"])
def test_softmax_gradient_is_exact_cross_entropy(error_function: str) -> None:
    """Catches FANN's tanh error function or the symmetric halving applied to a softmax
    output (its slope is then no gradient of anything), and sample weights left out
    of the slopes: checked against finite differences and the hand-written reference."""
    net = _softmax_net()
    net.params = net.params.replace(train_error_function=error_function)
    inputs, targets = _problem()
    weights = np.random.default_rng(1).uniform(0, 2, len(inputs))
    slopes = np.zeros_like(net.weights)
    BACKEND.gradient(net, inputs, targets, slopes, pattern_weights=weights)

    def cross_entropy(w: np.ndarray) -> float:
        saved = net.weights.copy()
        net.weights[:] = w
        y = BACKEND.forward(net, inputs)
        net.weights[:] = saved
        return float(-np.sum(weights[:, None] * targets * np.log(y)))

    numeric = np.empty_like(slopes)
    for i in range(slopes.size):
        step = np.zeros_like(slopes)
        step[i] = 1e-6
        numeric[i] = -(cross_entropy(net.weights + step) - cross_entropy(net.weights - step)) / 2e-6
    np.testing.assert_allclose(slopes, numeric, rtol=1e-6, atol=1e-8)
    _, reference = _reference(net, inputs, targets, weights)
    np.testing.assert_allclose(slopes, reference, rtol=1e-10, atol=1e-13)


def test_softmax_only_on_the_outputs() -> None:
    """Catches softmax accepted on hidden neurons (it is a layer-wide function)."""
    with pytest.raises(FormatError, match="softmax"):
        validate(build([2, 3, 1], hidden_activation="softmax"))
    assert activations.activation_id("softmax") == activations.SOFTMAX
    assert activations.activation_name(activations.SOFTMAX) == "softmax"
    assert "softmax" not in activations.NAMES  # FANN's own list (the kernels') unchanged


def test_softmax_trains_a_classifier() -> None:
    """Catches a softmax run that does not learn (sign error in its slope)."""
    net = _softmax_net(dtype="float32")
    inputs, _ = _problem(60, 4)
    targets = np.eye(3)[np.argmax(inputs[:, :3], axis=1)]  # learnable: the largest input
    data = TrainingData(inputs, targets, "blobs")
    before = train_epoch(net, data).mse
    result = train(net, data, TrainConfig(max_epochs=300, desired_error=0.0, report_every=0))
    assert result.mse < before / 4
    assert np.mean(np.argmax(BACKEND.forward(net, inputs), 1) == targets.argmax(1)) > 0.9


def test_weight_decay_enters_the_slopes_as_documented() -> None:
    """Catches decay applied with the wrong scale or sign, or not at all: one batch
    epoch with decay L moves each weight by -learning_rate * L * w more."""
    inputs, targets = _problem()
    data = TrainingData(inputs, targets[:, :1], "d")
    plain = build([4, 5, 1], seed=2, dtype="float64")
    plain.params = plain.params.replace(training_algorithm="batch", learning_rate=0.7)
    decayed = build([4, 5, 1], seed=2, dtype="float64")
    decayed.params = plain.params.replace(weight_decay=0.01)
    start = plain.weights.copy()
    train_epoch(plain, data)
    train_epoch(decayed, data)
    step = learning_step(0.7, 9, np.dtype(np.float64))  # FANN's learning_rate / patterns
    np.testing.assert_allclose(decayed.weights, plain.weights - step * 0.01 * 9 * start, rtol=1e-12)


def test_weight_decay_shrinks_weights_under_rprop() -> None:
    """Catches decay that only the batch rule sees."""
    inputs, targets = _problem(40)
    data = TrainingData(inputs, targets[:, :1], "d")
    norms = []
    for decay in (0.0, 0.05):
        net = build([4, 8, 1], seed=5, dtype="float64")
        net.params = net.params.replace(weight_decay=decay)
        train(net, data, TrainConfig(max_epochs=200, desired_error=0.0, report_every=0))
        norms.append(float(np.linalg.norm(net.weights)))
    assert norms[1] < 0.7 * norms[0]


def test_integer_sample_weights_equal_repeated_patterns() -> None:
    """Catches weights applied to the MSE but not the slopes (or the other way), and a
    step divided by the pattern count instead of the weights' sum: weight 2 is the
    pattern twice, weight 0 is the pattern left out."""
    inputs, targets = _problem(8)
    targets = targets[:, :2]
    weights = np.array([2, 1, 0, 1, 3, 1, 1, 0], dtype=float)
    rows = np.repeat(np.arange(8), weights.astype(int))
    for algorithm in ("batch", "rprop", "quickprop"):
        a = build([4, 5, 2], seed=1, dtype="float64")
        a.params = a.params.replace(training_algorithm=algorithm)
        b = build([4, 5, 2], seed=1, dtype="float64")
        b.params = a.params
        for _ in range(3):
            ra = train_epoch(a, TrainingData(inputs, targets, "w"), sample_weights=weights)
            rb = train_epoch(b, TrainingData(inputs[rows], targets[rows], "r"))
            assert ra.mse == pytest.approx(rb.mse, rel=1e-6)
            assert ra.bit_fail <= rb.bit_fail
        np.testing.assert_allclose(a.weights, b.weights, rtol=1e-9, atol=1e-12)


def test_unit_sample_weights_change_nothing() -> None:
    """Catches a weighted path that is not FANN's when every weight is 1 (float32, the
    MSE to the last bit)."""
    inputs, targets = _problem(30)
    data = TrainingData(inputs, targets, "d")
    a, b = build([4, 5, 3], seed=1), build([4, 5, 3], seed=1)
    for _ in range(5):
        ra = train_epoch(a, data, sample_weights=np.ones(30))
        rb = train_epoch(b, data)
        assert (ra.mse, ra.bit_fail) == (rb.mse, rb.bit_fail)
    np.testing.assert_array_equal(a.weights, b.weights)


def test_bad_sample_weights_and_incremental_are_refused() -> None:
    """Catches negative, NaN, all-zero or miscounted weights trained on, and the
    batch-family options accepted by incremental training."""
    inputs, targets = _problem(6)
    data = TrainingData(inputs, targets, "d")
    config = TrainConfig(max_epochs=2, report_every=0)
    for bad, message in (
        (np.ones(5), "5 given"),
        (np.array([1, 1, -1, 1, 1, 1.0]), "not negative"),
        (np.array([1, 1, np.nan, 1, 1, 1]), "finite"),
        (np.zeros(6), "all zero"),
    ):
        with pytest.raises(ParameterError, match=message):
            train(build([4, 2, 3], seed=1), data, config, sample_weights=bad)
    net = build([4, 2, 3], seed=1)
    net.params = net.params.replace(training_algorithm="incremental", weight_decay=0.1)
    with pytest.raises(ParameterError, match="incremental"):
        train(net, data, config)


class _RefusingDevice:
    """A device backend that must not be asked for fannctl's own math."""

    name = "fake-device"

    def gradient(self, *args, **kwargs):
        raise AssertionError("the device was asked for a softmax gradient")

    forward = gradient

    def start_run(self, *args, **kwargs):
        raise AssertionError("the device was asked to run a softmax network")


def test_runs_with_fannctl_math_stay_on_the_host() -> None:
    """Catches softmax, decay or weights sent to a backend that computes FANN's math only."""
    inputs, targets = _problem(12)
    data = TrainingData(inputs, targets, "d")
    net = _softmax_net(dtype="float32")
    result = train(net, data, TrainConfig(max_epochs=5, report_every=0), backend=_RefusingDevice())
    assert result.epochs == 5


def test_net_export_is_refused(tmp_path: Path) -> None:
    """Catches a .net file written without the softmax or the decay (FANN would load a
    different network): convert and train --output x.net exit 2, no file."""
    net = _softmax_net(dtype="float32")
    io.save_network(net, tmp_path / "soft.h5")
    with pytest.raises(ParameterError, match="cannot express"):
        jobs.convert_file(jobs.ConvertRequest(tmp_path / "soft.h5", tmp_path / "soft.net"))
    assert not (tmp_path / "soft.net").exists()
    plain = build([2, 3, 1], seed=1)
    io.save_network(plain, tmp_path / "plain.h5")
    data = tmp_path / "xor.data"
    data.write_text("4 2 1\n-1 -1\n-1\n-1 1\n1\n1 -1\n1\n1 1\n-1\n")
    request = jobs.TrainRequest(
        tmp_path / "plain.h5",
        data,
        output=tmp_path / "out.net",
        overrides=jobs.ParamOverrides(weight_decay=0.001),
        max_epochs=3,
    )
    with pytest.raises(ParameterError, match="weight decay"):
        jobs.train_file(request)
    assert not (tmp_path / "out.net").exists()
    request.overrides = jobs.ParamOverrides()
    jobs.train_file(request)  # without the decay a .net is fine
    assert (tmp_path / "out.net").exists()


def test_weight_decay_is_kept_in_hdf5(tmp_path: Path) -> None:
    """Catches the decay lost on save (a resumed run would train without it)."""
    net = build([2, 3, 1], seed=1)
    net.params = net.params.replace(weight_decay=0.003)
    io.save_network(net, tmp_path / "n.h5")
    assert io.open_network(tmp_path / "n.h5").params.weight_decay == 0.003
