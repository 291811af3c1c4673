"""The batched trainer (swarm.batched + swarm.trainer) against N separate
single-network runs, bit for bit.

Guards against: an agent's slice of a stacked product or update differing from
the single network's (a transposed operand, another BLAS path, a parameter
rounded differently), one agent's hyperparameters leaking into another's, and
results that depend on how agents are chunked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fannctl import io, train
from fannctl.network import build
from fannctl.params import algorithm_id
from fannctl.swarm import batched, trainer
from fannctl.swarm.population import HYPERPARAMETERS

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
THYROID = str(ROOT / "datasets" / "thyroid.train.gz")


def _nets(layers, algorithms, dtype, **create):
    """Networks that differ in weights, steepness and every parameter the rule reads."""
    nets = []
    for i, algorithm in enumerate(algorithms):
        net = build(
            layers,
            hidden_activation="sigmoid_symmetric",
            output_activation="sigmoid",
            hidden_steepness=0.4 + 0.15 * i,
            seed=10,  # one layout (a sparse net's connections come from the seed)
            dtype=dtype,
            **create,
        )
        rng = np.random.default_rng(i)
        net.weights[:] = rng.uniform(-0.1, 0.1, net.weights.size)
        net.params = net.params.replace(
            training_algorithm=algorithm,
            learning_rate=0.2 + 0.3 * i,
            rprop_increase_factor=1.1 + 0.1 * i,
            rprop_decrease_factor=0.4 + 0.05 * i,
            rprop_delta_max=20.0 + 10 * i,
            rprop_delta_zero=0.05 + 0.05 * i,
            quickprop_mu=1.5 + 0.2 * i,
            quickprop_decay=-0.0001 * (i + 1),
            sarprop_temperature=0.01 + 0.01 * i,
        )
        nets.append(net)
    return nets


def _chunk(nets):
    n = len(nets)
    weights = np.stack([net.weights for net in nets])
    chunk = trainer.Chunk(
        agents=np.arange(n),
        weights=weights,
        steepness=np.stack([net.steepness for net in nets]),
        algorithm=np.array([net.params.training_algorithm for net in nets], dtype=np.int8),
        hyper={
            k: np.array([float(getattr(net.params, k)) for net in nets]) for k in HYPERPARAMETERS
        },
        prev_steps=np.zeros_like(weights),
        prev_slopes=np.zeros_like(weights),
        sarprop_epoch=np.zeros(n, dtype=np.int64),
    )
    trainer.clear_state(chunk, np.arange(n))
    return chunk


def _single_runs(nets, data, epochs, seed):
    results = []
    for agent, net in enumerate(nets):
        rng = trainer.agent_generator(seed, agent, 0, trainer.PURPOSE_SARPROP)
        config = train.TrainConfig(max_epochs=epochs, desired_error=0.0, report_every=0)
        results.append(train.train(net, data, config, random_source=rng.random))
    return results


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("algorithm", ["batch", "rprop", "quickprop", "sarprop"])
def test_agents_equal_separate_runs(dtype, algorithm):
    """Three agents with different hyperparameters = three `train` runs, bit for bit."""
    data = io.load_data(THYROID)
    data.inputs, data.outputs = data.inputs[:300], data.outputs[:300]
    nets = _nets([21, 6, 4, 3], [algorithm] * 3, dtype)
    chunk = _chunk(nets)
    shape = batched.Shape.of(nets[0])
    mse, bit_fail = trainer.train_chunk(
        chunk, shape, data.inputs, data.outputs, 25, round_index=0, seed=3
    )
    singles = _single_runs(nets, data, 25, 3)
    for agent, (net, result) in enumerate(zip(nets, singles, strict=True)):
        assert chunk.weights.dtype == net.weights.dtype
        np.testing.assert_array_equal(chunk.weights[agent], net.weights)
        if algorithm != "batch":  # the step sizes carried to the next run, too
            np.testing.assert_array_equal(chunk.prev_steps[agent], net.state.prev_steps)
        assert mse[agent] == result.mse
        assert bit_fail[agent] == result.bit_fail
    assert not np.array_equal(chunk.weights[0], chunk.weights[1])


@pytest.mark.parametrize(
    "create", [{"shortcut": True}, {"connection_rate": 0.6}], ids=["shortcut", "sparse"]
)
def test_shortcut_and_sparse_layouts(create):
    """The other two layouts FANN creates train exactly as well (mixed algorithms in one chunk)."""
    data = io.load_data(XOR)
    algorithms = ["rprop", "quickprop", "batch", "sarprop"]
    nets = _nets([2, 4, 3, 1], algorithms, "float32", **create)
    chunk = _chunk(nets)
    trainer.train_chunk(
        chunk, batched.Shape.of(nets[0]), data.inputs, data.outputs, 40, round_index=0, seed=1
    )
    _single_runs(nets, data, 40, 1)
    for agent, net in enumerate(nets):
        np.testing.assert_array_equal(chunk.weights[agent], net.weights)


def test_pattern_weights_equal_repeated_patterns():
    """Bootstrap counts inside the gradient = training on the data with patterns repeated."""
    data = io.load_data(XOR)
    counts = np.array([2, 0, 1, 1])
    nets = _nets([2, 3, 1], ["batch"], "float64")
    chunk = _chunk(nets)
    chunk.pattern_weights = counts[None, :].astype(np.float64)
    trainer.train_chunk(
        chunk, batched.Shape.of(nets[0]), data.inputs, data.outputs, 5, round_index=0, seed=0
    )
    repeated = io.load_data(XOR)
    rows = np.repeat(np.arange(4), counts)
    repeated.inputs, repeated.outputs = repeated.inputs[rows], repeated.outputs[rows]
    _single_runs(nets, repeated, 5, 0)
    np.testing.assert_allclose(chunk.weights[0], nets[0].weights, rtol=1e-12, atol=1e-14)


def test_errors_match_forward_pass():
    """errors() (forward only, chunked) = the MSE of `fannctl run --metrics`."""
    from fannctl.runner import test as fann_test

    data = io.load_data(XOR)
    nets = _nets([2, 3, 1], ["rprop"] * 5, "float32")
    chunk = _chunk(nets)
    mse, bit_fail = batched.errors(
        batched.Shape.of(nets[0]), chunk.weights, chunk.steepness, data.inputs, data.outputs, 2
    )
    for agent, net in enumerate(nets):
        single_mse, single_fail = fann_test(net, data)
        assert mse[agent] == pytest.approx(single_mse, rel=1e-6)
        assert bit_fail[agent] == single_fail


def test_algorithm_ids_are_fanns():
    """The trainer's constants are FANN's algorithm numbers."""
    assert (trainer.BATCH, trainer.RPROP, trainer.QUICKPROP, trainer.SARPROP) == tuple(
        algorithm_id(a) for a in ("batch", "rprop", "quickprop", "sarprop")
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_incremental_agents_equal_separate_runs(dtype):
    """FANN's incremental rule, a pattern at a time for all agents at once: weights,
    previous changes (momentum) and MSE as N separate `train` runs."""
    data = io.load_data(THYROID)
    data.inputs, data.outputs = data.inputs[:40], data.outputs[:40]
    nets = _nets([21, 5, 3], ["incremental"] * 3, dtype)
    for i, net in enumerate(nets):
        net.params.learning_momentum = 0.3 * i
    chunk = _chunk(nets)
    mse, bit_fail = trainer.train_chunk(
        chunk, batched.Shape.of(nets[0]), data.inputs, data.outputs, 8, round_index=0, seed=0
    )
    singles = _single_runs(nets, data, 8, 0)
    for agent, (net, result) in enumerate(zip(nets, singles, strict=True)):
        np.testing.assert_array_equal(chunk.weights[agent], net.weights)
        np.testing.assert_array_equal(chunk.prev_steps[agent], net.state.prev_weight_deltas)
        assert mse[agent] == result.mse and bit_fail[agent] == result.bit_fail


@pytest.mark.parametrize("algorithm", ["batch", "rprop", "quickprop", "sarprop"])
def test_weight_decay_per_agent(algorithm):
    """fannctl's L2 weight decay, a different strength per agent (one without): the
    same slopes change as train.apply_weight_decay makes, bit for bit."""
    data = io.load_data(XOR)
    nets = _nets([2, 4, 1], [algorithm] * 3, "float32")
    for net, decay in zip(nets, [0.0, 0.001, 0.05], strict=True):
        net.params.weight_decay = decay
    chunk = _chunk(nets)
    trainer.train_chunk(
        chunk, batched.Shape.of(nets[0]), data.inputs, data.outputs, 30, round_index=0, seed=2
    )
    _single_runs(nets, data, 30, 2)
    for agent, net in enumerate(nets):
        np.testing.assert_array_equal(chunk.weights[agent], net.weights)
