"""Swarm chunks on an OpenCL device: ``train_chunk``'s contract, computed by the kernels.

``train_chunk_on(backend, template, chunk, ...)`` takes what
:func:`fannctl.swarm.trainer.train_chunk` takes (plus the swarm's template
network, whose layout the kernels read), updates the same arrays in place
and returns the same per-agent MSE and bit fail, computed by
``fannctl.backends.opencl.agents`` (one launch runs every epoch of every
agent, in groups of bounded device memory). FANN's float arithmetic on the
device differs from numpy's only in the order of additions (a neuron's sum,
a slope's sum over patterns), so agents agree with the numpy path to
rounding, not bit for bit.

``chunk_trainer(device, template)`` is what ``swarm run --device`` uses: a
function with ``train_chunk``'s signature that trains on the first device of
the fallback chain that works and, when a device fails, says so once and
goes on with the next (numpy last: ``train_chunk`` itself).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fannctl.backends.opencl import agents
from fannctl.backends.opencl.train import OpenCLDevice
from fannctl.errors import DeviceError
from fannctl.network import Network
from fannctl.swarm import trainer
from fannctl.swarm.batched import Shape, Workspace

ChunkTrainer = Callable[..., tuple[np.ndarray, np.ndarray]]


def train_chunk_on(
    backend: OpenCLDevice,
    template: Network,
    chunk: trainer.Chunk,
    shape: Shape,
    inputs: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    *,
    round_index: int,
    seed: int,
    tiny: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``trainer.train_chunk`` on an OpenCL device (DeviceError when it cannot).
    ``tiny``: use an agents-innermost lane kernel (swarm_tiny.cl, swarm_wide.cl)
    where one applies (same bits as train_agents)."""
    dtype = chunk.weights.dtype
    generators: dict[int, np.random.Generator] = {}

    def draw(row: int, count: int) -> np.ndarray:
        agent = int(chunk.agents[row])
        if agent not in generators:
            generators[agent] = trainer.agent_generator(
                seed, agent, round_index, trainer.PURPOSE_SARPROP
            )
        return generators[agent].random(count).astype(np.float32)

    if template.dtype != dtype:
        template = template.copy()
        template.weights = template.weights.astype(dtype)
    template.params = template.params.replace(
        train_error_function=shape.error_function, bit_fail_limit=shape.bit_fail_limit
    )
    inputs = inputs.astype(dtype, copy=False)
    targets = targets.astype(dtype, copy=False)
    arrays = agents.Agents(
        chunk.weights,
        chunk.steepness,
        chunk.algorithm.astype(np.int32),
        chunk.hyper,
        chunk.prev_steps,
        chunk.prev_slopes,
        chunk.sarprop_epoch,
        chunk.pattern_weights,
    )
    if tiny and agents.lanes_apply(backend, template, arrays):
        return agents.train_lanes(backend, template, arrays, inputs, targets, epochs)
    return agents.train_agents(backend, template, arrays, inputs, targets, epochs, draw)


def prepare_device(device: str | None) -> None:
    """List and open the devices ``device`` names, as ``chunk_trainer`` will (each
    is listed and opened once per process): ``swarm run --device`` does this
    while its swarm file is read in a forked child, so the two overlap."""
    from fannctl import devices

    if device is None or devices.parse(device)[0] == "numpy":
        return
    kind, selector = devices.parse(device)
    devices.chain(None if kind == "auto" else selector)


def chunk_trainer(device: str | None, template: Network) -> ChunkTrainer:
    """A ``train_chunk`` for ``device`` (None or ``numpy``: numpy's own)."""
    from fannctl import devices
    from fannctl.devices import registry

    if device is None or devices.parse(device)[0] == "numpy":
        return trainer.train_chunk
    kind, selector = devices.parse(device)
    chain = devices.chain(None if kind == "auto" else selector)
    position = 0

    def train_chunk(
        chunk: trainer.Chunk,
        shape: Shape,
        inputs: np.ndarray,
        targets: np.ndarray,
        epochs: int,
        *,
        round_index: int,
        seed: int,
        work: Workspace | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        nonlocal position
        while isinstance(chain[position], OpenCLDevice):
            backend = chain[position]
            saved = _state(chunk)
            try:
                return train_chunk_on(
                    backend,
                    template,
                    chunk,
                    shape,
                    inputs,
                    targets,
                    epochs,
                    round_index=round_index,
                    seed=seed,
                )
            except DeviceError as exc:
                _restore(chunk, saved)  # the next device starts from the same state
                position += 1
                registry.failed(backend.name, exc, f"continuing on {chain[position].name}")
        return trainer.train_in_pieces(  # a device's chunk may exceed numpy's budget
            chunk,
            shape,
            inputs,
            targets,
            epochs,
            round_index=round_index,
            seed=seed,
            work=work,
        )

    return train_chunk


DEVICE_CHUNK_BYTES = 64 * 2**20  # an in-process chunk's wide arrays on a device


def chunk_agents(device: str | None, row_bytes: int, numpy_agents: int) -> int:
    """Agents per in-process chunk for ``device``: numpy's (``numpy_agents``, sized
    so its work arrays stay in cache) for numpy, else as many as keep the
    chunk's wide arrays (``row_bytes`` an agent) within DEVICE_CHUNK_BYTES, a
    multiple of the lane kernels' VWIDTH: each chunk is one or a few launches,
    and a launch's last work-item pads its lanes."""
    from fannctl import devices

    if device is None or devices.parse(device)[0] == "numpy":
        return numpy_agents
    fit = DEVICE_CHUNK_BYTES // max(1, row_bytes)
    return max(numpy_agents, fit - fit % agents.VWIDTH)


def _arrays(chunk: trainer.Chunk) -> tuple[np.ndarray, ...]:
    """The arrays training changes."""
    return (chunk.weights, chunk.prev_steps, chunk.prev_slopes, chunk.sarprop_epoch)


def _state(chunk: trainer.Chunk) -> tuple[np.ndarray, ...]:
    return tuple(array.copy() for array in _arrays(chunk))


def _restore(chunk: trainer.Chunk, saved: tuple[np.ndarray, ...]) -> None:
    for array, copy in zip(_arrays(chunk), saved, strict=True):
        array[...] = copy
