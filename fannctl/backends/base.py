"""The compute contract: what every backend offers, and what a device may add.

A backend computes, for a whole batch of patterns at once, the things the
trainers need: the forward pass, the activations (cascade), and the error
gradient (FANN's slopes) with the MSE and bit-fail counts collected on the
way (``Backend``). Weight updates are elementwise rules over the flat
connection array and live in ``fannctl.train``.

A device backend may also keep whole runs on the device
(``DeviceBackend``): ``start_run`` returns an ``advance`` callable that the
one training loop (``fannctl.train.train``) drives in chunks of epochs, each
returning a ``Chunk``, and ``train_many`` trains N networks of one shape in
one computation. The loop calls these; backends never call the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from fannctl.network import Network


@dataclass
class Gradient:
    """What one pass over a batch of patterns yields.

    ``slopes`` is FANN's per-connection slope (the descent direction, summed
    over the patterns), ``sse`` the sum of squared (FANN-halved) output errors,
    ``count`` the number of (pattern, output) pairs and ``bit_fail`` how many of
    them missed by at least the bit-fail limit.
    """

    slopes: np.ndarray
    sse: float
    count: int
    bit_fail: int
    terms: np.ndarray | None = None  # FANN's float32 e*e terms in order, where known


@dataclass
class Chunk:
    """What a run of epochs yields: how many ran, and the last one's MSE,
    bit fail and whether it reached the desired error (FANN's stop test)."""

    epochs: int
    mse: float
    bit_fail: int
    reached: bool


class Advance(Protocol):
    """A training run in progress on a device: ``advance(n)`` runs up to n
    epochs (fewer when it stops); ``cap()`` bounds a chunk."""

    def __call__(self, epochs: int) -> Chunk: ...

    def cap(self) -> int: ...


class Backend(Protocol):
    """Forward pass and gradient for a network on a batch of patterns."""

    name: str

    def forward(self, net: Network, inputs: np.ndarray) -> np.ndarray:
        """Outputs (P, n_out) for inputs (P, n_in), FANN's ``fann_run`` per row."""
        ...

    def gradient(
        self,
        net: Network,
        inputs: np.ndarray,
        targets: np.ndarray,
        slopes: np.ndarray,
        *,
        outputs_only: bool = False,
    ) -> Gradient:
        """Add the batch's slopes into ``slopes`` (flat, per connection) and
        return them with the error counts. ``outputs_only`` limits the slopes to
        the output layer's incoming weights (cascade's output training)."""
        ...

    def activate(self, net: Network, inputs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The flat activations (P, neurons) and each layer's weighted sums."""
        ...


class DeviceBackend(Backend, Protocol):
    """A backend that can also keep training runs on its device."""

    def start_run(self, net: Network, data, config) -> Advance:
        """A run of ``net`` on ``data`` (already scaled) under ``config``'s stop rule."""
        ...

    def train_many(self, nets: list[Network], data, config) -> list[Chunk]:
        """N networks of one shape trained together until each stops."""
        ...
