"""Differential tests: fannctl's training epochs against the real libfann 2.2 (float64).

For every algorithm (incremental, batch, RPROP, QuickProp, SARPROP) on every
layout (standard, sparse, shortcut) and two data sets, fannctl builds the net,
saves it as .net, libdoublefann loads that file (so the training parameters
reach libfann through the file, not through setters) and both train 25 epochs
on data read from the same .data file. Every epoch's MSE and bit fail and the
weights after every epoch must agree. These catch any deviation from FANN's
error halving, error function, deltas, slopes, update rules and their quirks
(RPROP's move after a sign flip, QuickProp's cases, SARPROP's stale step and
random term, incremental momentum and the sparse source quirk).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import libfann as lf
import numpy as np
import pytest

pytestmark = pytest.mark.libfann

EPOCHS = 25
MSE_RTOL = 1e-6  # libfann sums the squared errors in a C float
WEIGHT_RTOL, WEIGHT_ATOL = 1e-6, 1e-9
XOR = Path(__file__).resolve().parents[2] / "datasets" / "xor.data"
INCREMENTAL, BATCH, RPROP, QUICKPROP, SARPROP = range(5)
ALGORITHMS = {
    "incremental": INCREMENTAL,
    "batch": BATCH,
    "rprop": RPROP,
    "quickprop": QUICKPROP,
    "sarprop": SARPROP,
}
KINDS = ("standard", "sparse", "shortcut")
DATASETS = ("xor", "gen4x2")
SIGMOID, SIGMOID_SYMMETRIC, ELLIOT, ELLIOT_SYMMETRIC, LINEAR = 3, 5, 10, 11, 0
SIGMOID_SYMMETRIC_STEPWISE = 6

# Non-default parameters per algorithm; all written to the .net file by fannctl.
PARAMS = {
    INCREMENTAL: {"learning_rate": 0.35, "learning_momentum": 0.4},
    BATCH: {"learning_rate": 0.35},
    RPROP: {
        "rprop_increase_factor": 1.25,
        "rprop_decrease_factor": 0.45,
        "rprop_delta_zero": 0.05,
        "rprop_delta_max": 20.0,
    },
    QUICKPROP: {"learning_rate": 0.35, "quickprop_decay": -0.0002, "quickprop_mu": 1.6},
    SARPROP: {},
}
FILE_INT_PARAMS = ("training_algorithm", "train_error_function", "train_stop_function")


@dataclass
class Trace:
    mse: list[float]
    bit_fail: list[int]
    weights: list[np.ndarray]


def generated_data(path: Path) -> None:
    """12 patterns, 4 inputs, 2 outputs at full precision, written with save_data(exact=True)."""
    from fannctl.data import TrainingData
    from fannctl.io import save_data

    rng = np.random.default_rng(20240611)
    x = rng.uniform(-1.0, 1.0, (12, 4))
    y = np.column_stack(
        [
            np.tanh(x[:, 0] - 0.5 * x[:, 1] + 0.3 * x[:, 2] * x[:, 3]) * 0.8,
            np.sin(x[:, 1] + x[:, 3]) * 0.7,
        ]
    )
    save_data(TrainingData(x, y), path, exact=True)


def make_training_net(kind: str, dataset: str, algorithm: int, weight_range: float):
    """A float64 net whose units all train, with mixed activations and non-default params."""
    from fannctl import network

    n_in, n_out = (2, 1) if dataset == "xor" else (4, 2)
    if kind == "shortcut":
        layers = [n_in, 3, n_out]
    else:
        layers = [n_in, 4, 3, n_out]
    options = {"standard": {}, "sparse": {"connection_rate": 0.5}, "shortcut": {"shortcut": True}}
    rng = np.random.default_rng(7 + algorithm + 10 * KINDS.index(kind))
    net = network.create(layers, rng=rng, dtype="float64", **options[kind])
    net.weights[:] = rng.uniform(-weight_range, weight_range, net.weights.size)
    network.set_activation(net, 1, SIGMOID_SYMMETRIC, 0.75)
    first = net.layer_first()
    if len(layers) == 4:  # second hidden layer: one of each, per neuron
        for i, ident in enumerate((SIGMOID, ELLIOT, SIGMOID_SYMMETRIC_STEPWISE)):
            net.activation[first[2] + i] = ident
            net.steepness[first[2] + i] = 1.0 if i else 0.6
    out = first[-1]
    if dataset == "xor":
        network.set_activation(net, len(layers) - 1, SIGMOID_SYMMETRIC, 1.0)
    else:
        network.set_activation(net, len(layers) - 1, ELLIOT_SYMMETRIC, 0.9)
        net.activation[out] = LINEAR
        net.steepness[out] = 0.5
    net.params.training_algorithm = algorithm
    # both error functions: tanh on xor, linear on the generated set
    net.params.train_error_function = 1 if dataset == "xor" else 0
    net.params.train_stop_function = 1  # unused by an epoch; proves the key is read
    net.params.bit_fail_limit = 0.35 if dataset == "xor" else 0.2
    for name, value in PARAMS[algorithm].items():
        setattr(net.params, name, value)
    return net


def load_both(tmp_path: Path, dataset: str):
    """The data set as libfann and fannctl read it from one .data file (must agree exactly)."""
    from fannctl.io import load_data

    if dataset == "xor":
        path = XOR
    else:
        path = tmp_path / "gen4x2.data"
        generated_data(path)
    theirs = lf.TrainData.read(path)
    ours = load_data(path)
    lib_in, lib_out = theirs.arrays()
    np.testing.assert_array_equal(np.asarray(ours.inputs, dtype=np.float64), lib_in)
    np.testing.assert_array_equal(np.asarray(ours.outputs, dtype=np.float64), lib_out)
    return theirs, ours


def check_params_came_from_file(ann: lf.LibFann, net) -> None:
    """libfann must have read every parameter we set from the .net file."""
    assert ann.get_training_algorithm() == net.params.training_algorithm
    assert ann.get_train_error_function() == net.params.train_error_function
    assert ann.get_train_stop_function() == net.params.train_stop_function
    assert ann.get_bit_fail_limit() == pytest.approx(net.params.bit_fail_limit, rel=1e-15)
    for name in (
        "learning_rate",
        "learning_momentum",
        "quickprop_decay",
        "quickprop_mu",
        "rprop_increase_factor",
        "rprop_decrease_factor",
        "rprop_delta_min",
        "rprop_delta_max",
        "rprop_delta_zero",
    ):
        expected = float(np.float32(getattr(net.params, name)))
        assert ann.get_param(name) == expected, f"{name} not read from the .net file"


def run_libfann(ann: lf.LibFann, data: lf.TrainData, seed: int) -> tuple[Trace, int]:
    lf.libc_srand(seed)
    trace = Trace([], [], [])
    for _ in range(EPOCHS):
        trace.mse.append(ann.train_epoch(data))
        trace.bit_fail.append(ann.get_bit_fail())
        trace.weights.append(ann.get_weights())
    return trace, lf.draws_since_seed(seed)


def run_fannctl(net, data, seed: int) -> tuple[Trace, int]:
    from fannctl.train import train_epoch

    counts: list[int] = []
    source = lf.fann_random_source(counts)
    lf.libc_srand(seed)
    trace = Trace([], [], [])
    for _ in range(EPOCHS):
        result = train_epoch(net, data, random_source=source)
        trace.mse.append(float(result.mse))
        trace.bit_fail.append(int(result.bit_fail))
        trace.weights.append(np.array(net.weights, dtype=np.float64))
    return trace, sum(counts)


def compare(ours: Trace, theirs: Trace, what: str) -> None:
    """Fail at the first epoch where MSE, bit fail or any weight differs."""
    for e in range(EPOCHS):
        epoch = e + 1
        if not np.isclose(ours.mse[e], theirs.mse[e], rtol=MSE_RTOL, atol=0):
            pytest.fail(
                f"{what} epoch {epoch}: MSE fannctl {ours.mse[e]!r} vs libfann {theirs.mse[e]!r}"
            )
        if ours.bit_fail[e] != theirs.bit_fail[e]:
            pytest.fail(
                f"{what} epoch {epoch}: bit fail fannctl {ours.bit_fail[e]} "
                f"vs libfann {theirs.bit_fail[e]}"
            )
        bad = ~np.isclose(ours.weights[e], theirs.weights[e], rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            pytest.fail(
                f"{what} epoch {epoch}: {int(bad.sum())} of {bad.size} weights differ; "
                f"first is connection {i}: fannctl {ours.weights[e][i]!r} "
                f"vs libfann {theirs.weights[e][i]!r}"
            )


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("algorithm", list(ALGORITHMS), ids=list(ALGORITHMS))
def test_training_matches_libfann(
    tmp_path: Path, to_libfann, algorithm: str, kind: str, dataset: str
) -> None:
    alg = ALGORITHMS[algorithm]
    weight_range = 1.0 if alg == SARPROP else 0.5
    net = make_training_net(kind, dataset, alg, weight_range)
    lib_data, data = load_both(tmp_path, dataset)
    start = net.weights.copy()
    seed = 4242 + alg
    with to_libfann(net) as ann:
        check_params_came_from_file(ann, net)
        np.testing.assert_array_equal(ann.get_weights(), start)
        np.testing.assert_array_equal(ann.get_sources(), net.sources)
        theirs, lib_draws = run_libfann(ann, lib_data, seed)
    ours, our_draws = run_fannctl(net, data, seed)
    what = f"{algorithm} {kind} {dataset}"
    compare(ours, theirs, what)
    assert our_draws == lib_draws, f"{what}: fannctl drew {our_draws} uniforms, libfann {lib_draws}"
    # the run must actually train, or matching proves little
    moved = float(np.abs(theirs.weights[-1] - start).max())
    assert moved > (1e-5 if alg == SARPROP else 1e-2), f"{what}: weights barely moved ({moved})"
    if alg != SARPROP:
        assert theirs.mse[-1] != theirs.mse[0]


# (kind, data set, weight range) where libfann takes SARPROP's random branch often
SARPROP_RANDOM_CASES = [("standard", "xor", 0.3), ("sparse", "xor", 3.0)]


@pytest.mark.parametrize(("kind", "dataset", "weight_range"), SARPROP_RANDOM_CASES)
def test_sarprop_random_term_matches_libfann(
    tmp_path: Path, to_libfann, kind: str, dataset: str, weight_range: float
) -> None:
    """SARPROP's random step (rand() per weight on a small-step sign flip) replays exactly."""
    net = make_training_net(kind, dataset, SARPROP, weight_range)
    lib_data, data = load_both(tmp_path, dataset)
    seed = 99
    with to_libfann(net) as ann:
        theirs, lib_draws = run_libfann(ann, lib_data, seed)
    ours, our_draws = run_fannctl(net, data, seed)
    assert lib_draws >= 3, f"only {lib_draws} random steps: no longer exercises the branch"
    assert our_draws == lib_draws, f"fannctl drew {our_draws} uniforms, libfann {lib_draws}"
    compare(ours, theirs, f"sarprop random branch {kind} {dataset}")


def test_training_state_survives_between_epochs(tmp_path: Path, to_libfann) -> None:
    """Switching QUICKPROP to RPROP keeps QUICKPROP's steps, in libfann and in fannctl."""
    from fannctl.train import train_epoch

    net = make_training_net("standard", "gen4x2", QUICKPROP, 0.5)
    lib_data, data = load_both(tmp_path, "gen4x2")
    with to_libfann(net) as ann:
        for _ in range(3):
            ann.train_epoch(lib_data)
        ann.set_training_algorithm(RPROP)
        theirs = [ann.train_epoch(lib_data) for _ in range(5)]
        lib_weights = ann.get_weights()
    for _ in range(3):
        train_epoch(net, data)
    net.params.training_algorithm = RPROP
    ours = [float(train_epoch(net, data).mse) for _ in range(5)]
    np.testing.assert_allclose(ours, theirs, rtol=MSE_RTOL)
    np.testing.assert_allclose(net.weights, lib_weights, rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)
