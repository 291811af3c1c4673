"""Device-side training runs: chunks of epochs for one network, or N networks at once.

``OpenCLDevice`` is the OpenCL backend with the ``DeviceBackend`` entries
(``start_run``, ``train_many``); ``fannctl.devices`` opens devices as these.

``DeviceAdvance`` is the ``advance`` object ``fannctl.train.train``'s loop
drives for a run kept on the device (``run.DeviceRun``): each call runs up
to n epochs in as few launches as it can and returns a ``Chunk``.
``train_many`` runs N networks of one shape until each stops. Neither knows
the training loop: they report epochs run, MSE, bit fail and whether the
desired error was reached, and the core makes results of them.
"""

from __future__ import annotations

import time

import numpy as np

from fannctl.backends.base import Chunk
from fannctl.backends.opencl.backend import OpenCLBackend
from fannctl.backends.opencl.layout import IS_EPOCHS, IS_STATUS, ST_REACHED
from fannctl.backends.opencl.run import LAUNCH_SECONDS, LAYERED_CHUNK, DeviceRun
from fannctl.network import Network


class DeviceAdvance:
    """Chunks of epochs of one network on a device; the host copy synced after each."""

    def __init__(self, backend: OpenCLBackend, net: Network, data, config) -> None:
        self.run = DeviceRun(
            backend, [net], data.inputs, data.outputs, desired_error=config.desired_error
        )
        self.per_epoch = 0.0

    def __call__(self, epochs: int) -> Chunk:
        run = self.run
        before = run.status(0)[0]
        started = time.perf_counter()
        run.advance(epochs)
        run.sync()
        done, mse, bits, reached = run.status(0)
        ran = done - before
        if ran:
            self.per_epoch = (time.perf_counter() - started) / ran
        return Chunk(ran, mse, bits, reached)

    def cap(self) -> int:
        """Epochs per launch: about LAUNCH_SECONDS of work (fused), LAYERED_CHUNK otherwise."""
        if not self.run.fused:
            return LAYERED_CHUNK
        if self.per_epoch <= 0:
            return 64
        return max(1, int(LAUNCH_SECONDS / self.per_epoch))


def train_many(backend: OpenCLBackend, nets: list[Network], data, config) -> list[Chunk]:
    """Train N networks of one shape together until each stops; one ``Chunk`` per
    network (its epochs, MSE, bit fail, reached). ``data`` is used as given
    (already in the networks' scaled space); the caller checks trainability."""
    run = DeviceRun(backend, nets, data.inputs, data.outputs, desired_error=config.desired_error)
    limit = np.full(len(nets), config.max_epochs)
    while True:
        epochs = run.istate_host[:, IS_EPOCHS]
        active = (run.istate_host[:, IS_STATUS] != ST_REACHED) & (epochs < limit)
        if not active.any():
            break
        step = LAYERED_CHUNK if not run.fused else int(config.max_epochs)
        run.advance(min(step, int((limit - epochs)[active].max())), limit=limit)
    run.sync()
    return [Chunk(*run.status(n)) for n in range(len(nets))]


class OpenCLDevice(OpenCLBackend):
    """An OpenCL backend that also keeps training runs on its device."""

    def start_run(self, net: Network, data, config) -> DeviceAdvance:
        """A training run kept on this device: an ``advance(n)`` over chunks of epochs."""
        return DeviceAdvance(self, net, data, config)

    def train_many(self, nets: list[Network], data, config) -> list[Chunk]:
        """Train N networks of one shape together (one launch computes all of them)."""
        return train_many(self, nets, data, config)
