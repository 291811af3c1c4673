"""The small interface every compute backend implements.

A backend computes, for a whole batch of patterns at once, the two things the
trainers need: the forward pass, and the error gradient (FANN's slopes) with
the MSE and bit-fail counts collected on the way. Weight updates are
elementwise rules over the flat connection array and live in ``fannctl.train``.
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
