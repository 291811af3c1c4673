"""``train_many`` on numpy: N same-shape networks trained in one batched computation.

The compute contract (``backends.base.DeviceBackend.train_many``) trains N
networks of one shape until each stops; an OpenCL device does it in one
launch per chunk of epochs. This is numpy's version, through the swarm's
batched trainer (one ``np.matmul`` per layer for all N networks, each
network's constants as an (N, 1) column): every epoch advances the networks
that have not yet reached their desired error, and each ends exactly as
``fannctl.train.train`` leaves it alone (tested bit for bit). It is the
reference the devices' ``train_many`` is tested against.

Networks it cannot take together (different activations, error or stop
function, bit-fail limit, a textbook RPROP variant, SARPROP, whose noise
draws from each network's own generator, or a function beyond FANN's) give
None: the caller then trains them one by one.
"""

from __future__ import annotations

import numpy as np

from fannctl.backends.base import Chunk
from fannctl.errors import ParameterError
from fannctl.network import Network, prepare_state
from fannctl.params import Algorithm, StopFunction
from fannctl.swarm import batched, trainer
from fannctl.swarm.population import HYPERPARAMETERS

BATCHED = (Algorithm.BATCH, Algorithm.RPROP, Algorithm.QUICKPROP)


def _together(nets: list[Network]) -> bool:
    first = nets[0]
    for net in nets:
        p, q = net.params, first.params
        same = (
            net.dtype == first.dtype
            and list(net.layers) == list(first.layers)
            and net.network_type == first.network_type
            and net.weights.size == first.weights.size
            and np.array_equal(net.activation, first.activation)
            and np.array_equal(net.sources, first.sources)
            and (p.train_error_function, p.train_stop_function, p.bit_fail_limit)
            == (q.train_error_function, q.train_stop_function, q.bit_fail_limit)
            and p.rprop_variant == "fann"
            and p.training_algorithm in BATCHED
        )
        if not same:
            return False
    return True


def train_many(nets: list[Network], data, config) -> list[Chunk] | None:
    """Train ``nets`` together until each reaches ``config.desired_error`` or
    ``config.max_epochs``; one ``Chunk`` (epochs, MSE, bit fail, reached) per
    network, or None when they cannot be trained together. ``data`` is used
    as given (already in the networks' scaled space)."""
    if not nets or not _together(nets):
        return None
    try:
        shape = batched.Shape.of(nets[0])
    except ParameterError:
        return None
    for net in nets:
        prepare_state(net)
    n = len(nets)
    chunk = trainer.Chunk(
        agents=np.arange(n),
        weights=np.stack([net.weights for net in nets]),
        steepness=np.stack([net.steepness for net in nets]),
        algorithm=np.array([int(net.params.training_algorithm) for net in nets]),
        hyper={
            name: np.array([float(getattr(net.params, name)) for net in nets])
            for name in HYPERPARAMETERS
        },
        prev_steps=np.stack([_kept(net, "prev_steps") for net in nets]),
        prev_slopes=np.stack([_kept(net, "prev_slopes") for net in nets]),
        sarprop_epoch=np.zeros(n, dtype=np.int64),
    )
    inputs = data.inputs.astype(chunk.weights.dtype, copy=False)
    targets = data.outputs.astype(chunk.weights.dtype, copy=False)
    by_bits = nets[0].params.train_stop_function == StopFunction.BIT
    epochs = np.zeros(n, dtype=np.int64)
    mse, bits = np.zeros(n), np.zeros(n, dtype=np.int64)
    reached = np.zeros(n, dtype=bool)
    work = batched.Workspace()
    for _ in range(config.max_epochs):
        rows = np.flatnonzero(~reached)
        if rows.size == 0:
            break
        group = chunk if rows.size == n else trainer._take(chunk, rows)
        group_mse, group_bits = trainer.train_chunk(
            group, shape, inputs, targets, 1, round_index=0, seed=0, work=work
        )
        if rows.size != n:
            trainer._put(chunk, rows, group)
        epochs[rows] += 1
        mse[rows], bits[rows] = group_mse, group_bits
        if by_bits:
            reached[rows] = group_bits <= int(config.desired_error)
        else:
            reached[rows] = group_mse <= config.desired_error
    for index, net in enumerate(nets):
        net.weights[:] = chunk.weights[index]
        if net.params.training_algorithm != Algorithm.BATCH:  # batch keeps no such arrays
            net.state.prev_steps = chunk.prev_steps[index].copy()
            net.state.prev_slopes = chunk.prev_slopes[index].copy()
        net.state.slopes = np.zeros_like(net.weights)
    return [Chunk(int(epochs[i]), float(mse[i]), int(bits[i]), bool(reached[i])) for i in range(n)]


def _kept(net: Network, name: str) -> np.ndarray:
    """A training array the network keeps, or zeros where its algorithm keeps none."""
    found = getattr(net.state, name)
    return (
        found
        if found is not None and found.size == net.weights.size
        else np.zeros_like(net.weights)
    )
