"""numpy's train_many (the batched reference the devices are tested against) ends
each network exactly where ``fannctl.train.train`` leaves it alone."""

from __future__ import annotations

import numpy as np
import pytest

from fannctl import network
from fannctl.data import TrainingData
from fannctl.params import Algorithm, StopFunction
from fannctl.swarm.many import train_many
from fannctl.train import TrainConfig, train


def nets_and_data(dtype: str, kind: str):
    rng = np.random.default_rng(4)
    extra = {"shortcut": True} if kind == "shortcut" else {}
    base = network.create([4, 5, 2], rng=rng, dtype=dtype, **extra)
    network.set_activation(base, 1, "sigmoid_symmetric", 0.6)
    network.set_activation(base, 2, "sigmoid", 0.8)
    nets = []
    for index, algorithm in enumerate([Algorithm.RPROP, Algorithm.BATCH, Algorithm.QUICKPROP] * 2):
        net = base.copy()
        net.weights = rng.uniform(-0.5, 0.5, base.weights.size).astype(dtype)
        net.steepness = net.steepness * (1 + 0.1 * index)  # per-network steepness
        net.params = net.params.replace(
            training_algorithm=int(algorithm),
            learning_rate=0.4 + 0.1 * index,
            rprop_increase_factor=1.1 + 0.05 * index,
        )
        nets.append(net)
    x = rng.uniform(-1, 1, (30, 4))
    data = TrainingData(x, (x[:, :2] * x[:, 2:] > 0).astype(float)).astype(dtype)
    return nets, data


@pytest.mark.parametrize("kind", ["layer", "shortcut"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("stop", ["mse", "bit"])
def test_batched_equals_one_by_one(dtype, kind, stop):
    nets, data = nets_and_data(dtype, kind)
    desired = 0.05 if stop == "mse" else 6  # some networks stop early, some do not
    for net in nets:
        if stop == "bit":
            net.params.train_stop_function = StopFunction.BIT
    config = TrainConfig(max_epochs=60, desired_error=desired, report_every=0)
    alone = [net.copy() for net in nets]
    want = [train(net, data, config) for net in alone]
    got = train_many(nets, data, config)
    assert got is not None
    assert len({r.epochs for r in want}) > 1  # the stops differ between networks
    for g, w, net, ref in zip(got, want, nets, alone, strict=True):
        assert (g.epochs, g.mse, g.bit_fail, g.reached) == (w.epochs, w.mse, w.bit_fail, w.reached)
        np.testing.assert_array_equal(net.weights, ref.weights)
        if ref.state.prev_steps is not None:
            np.testing.assert_array_equal(net.state.prev_steps, ref.state.prev_steps)


def test_networks_that_cannot_go_together_are_refused():
    nets, data = nets_and_data("float32", "layer")
    config = TrainConfig(max_epochs=3, desired_error=0.0, report_every=0)
    sarprop = [net.copy() for net in nets]
    sarprop[0].params.training_algorithm = int(Algorithm.SARPROP)
    assert train_many(sarprop, data, config) is None
    other = [net.copy() for net in nets]
    network.set_activation(other[1], 2, "linear")
    assert train_many(other, data, config) is None
