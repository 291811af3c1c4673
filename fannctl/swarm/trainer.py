"""The numpy batched trainer: every agent's update rule over stacked arrays.

The update rules of :mod:`fannctl.train` run on (N, connections) arrays with
each agent's constants as an (N, 1) column, after the batched gradient of
:mod:`fannctl.swarm.batched`; agents of one algorithm train as one group.

:func:`train_chunk` is a pure function of its arguments (a :class:`Chunk` of
agents, the data, the round and the seed): the chunk's arrays change in place
and nothing else is read or written, so a chunk can be computed anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fannctl.swarm.batched import Shape, Workspace, gradient, mean_square
from fannctl.train import quickprop, rprop, sarprop
from fannctl.train.batch import learning_step

INCREMENTAL, BATCH, RPROP, QUICKPROP, SARPROP = 0, 1, 2, 3, 4
PURPOSE_SARPROP = 4  # the per-agent stream SARPROP's noise draws from


@dataclass
class Chunk:
    """Some agents' arrays (views into the swarm, or copies shipped elsewhere).

    ``hyper`` maps a training parameter's name to an (n,) array; ``pattern_weights``
    is None (every pattern once) or (n, patterns): bootstrap counts or shard masks.
    """

    agents: np.ndarray
    weights: np.ndarray
    steepness: np.ndarray
    algorithm: np.ndarray
    hyper: dict[str, np.ndarray]
    prev_steps: np.ndarray
    prev_slopes: np.ndarray
    sarprop_epoch: np.ndarray
    pattern_weights: np.ndarray | None = None


# -- training --------------------------------------------------------------------


def clear_state(chunk: Chunk, rows: np.ndarray) -> None:
    """FANN's ``clear_train_arrays`` for some agents: steps to delta_zero (RPROP) or 0."""
    dt = chunk.weights.dtype
    zero = np.where(
        chunk.algorithm[rows] == RPROP,
        np.float32(chunk.hyper["rprop_delta_zero"][rows]),
        0.0,
    ).astype(dt)
    chunk.prev_steps[rows] = zero[:, None]
    chunk.prev_slopes[rows] = 0


def train_chunk(
    chunk: Chunk,
    shape: Shape,
    inputs: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    *,
    round_index: int,
    seed: int,
    work: Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``epochs`` epochs of every agent's algorithm; returns the last epoch's MSE and
    bit fail per agent (FANN's: collected during the pass, before the update).
    ``work``: scratch arrays to reuse (any Workspace; results do not depend on it)."""
    n = chunk.weights.shape[0]
    mse = np.zeros(n)
    bit_fail = np.zeros(n, dtype=np.int64)
    inputs = inputs.astype(chunk.weights.dtype, copy=False)
    targets = targets.astype(chunk.weights.dtype, copy=False)
    kinds = sorted(set(chunk.algorithm.tolist()))  # np.unique would load numpy.ma (8 ms)
    for kind in kinds:
        if len(kinds) == 1:
            rows, group = slice(None), chunk
        else:
            rows = np.flatnonzero(chunk.algorithm == kind)
            group = _take(chunk, rows)
        group_mse, group_fail = _train_group(
            group, shape, inputs, targets, epochs, int(kind), round_index, seed, work
        )
        if len(kinds) > 1:
            _put(chunk, rows, group)
        mse[rows], bit_fail[rows] = group_mse, group_fail
    return mse, bit_fail


def train_in_pieces(
    chunk: Chunk,
    shape: Shape,
    inputs: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    *,
    round_index: int,
    seed: int,
    work: Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``train_chunk`` on pieces of the chunk within numpy's memory budget
    (``Shape.chunk_agents``): for a chunk sized for a device that fell back to
    numpy. Agents train independently, so the pieces give the same bits."""
    n = chunk.weights.shape[0]
    step = shape.chunk_agents(inputs.shape[0], chunk.weights.dtype.itemsize)
    mse = np.zeros(n)
    bit_fail = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, step):
        rows = slice(lo, min(n, lo + step))
        mse[rows], bit_fail[rows] = train_chunk(
            _take(chunk, rows),  # views: trained in place
            shape,
            inputs,
            targets,
            epochs,
            round_index=round_index,
            seed=seed,
            work=work,
        )
    return mse, bit_fail


def _take(chunk: Chunk, rows: np.ndarray) -> Chunk:
    return Chunk(
        chunk.agents[rows],
        chunk.weights[rows],
        chunk.steepness[rows],
        chunk.algorithm[rows],
        {k: v[rows] for k, v in chunk.hyper.items()},
        chunk.prev_steps[rows],
        chunk.prev_slopes[rows],
        chunk.sarprop_epoch[rows],
        None if chunk.pattern_weights is None else chunk.pattern_weights[rows],
    )


def _put(chunk: Chunk, rows: np.ndarray, group: Chunk) -> None:
    chunk.weights[rows] = group.weights
    chunk.prev_steps[rows] = group.prev_steps
    chunk.prev_slopes[rows] = group.prev_slopes
    chunk.sarprop_epoch[rows] = group.sarprop_epoch


def _column(chunk: Chunk, name: str) -> np.ndarray:
    """An agent parameter as an (n, 1) column of C floats in the weights' dtype."""
    return chunk.hyper[name].astype(np.float32).astype(chunk.weights.dtype)[:, None]


def _train_group(
    group: Chunk,
    shape: Shape,
    inputs: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    algorithm: int,
    round_index: int,
    seed: int,
    work: Workspace | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Epochs for agents that share one algorithm."""
    if algorithm == INCREMENTAL:
        return _train_incremental(group, shape, inputs, targets, epochs, work)
    w = group.weights
    dt = w.dtype
    if group.pattern_weights is None:
        patterns = np.full((w.shape[0], 1), inputs.shape[0])
    else:
        patterns = group.pattern_weights.sum(axis=1)[:, None]
    lr = group.hyper["learning_rate"][:, None]
    epsilon = learning_step(lr, patterns, dt)
    update = _updater(group, algorithm, epsilon, round_index, seed)
    decay = group.hyper["weight_decay"]
    decaying = np.flatnonzero(decay)
    # train.apply_weight_decay per agent: slopes -= dtype(decay * patterns) * w,
    # only where an agent has decay (a zero would still flip the sign of -0 slopes)
    decay_factor = (decay[decaying] * patterns[decaying, 0]).astype(dt)[:, None]
    slopes = np.zeros_like(w)
    mse = np.zeros(w.shape[0])
    bit_fail = np.zeros(w.shape[0], dtype=np.int64)
    for _ in range(epochs):
        sse, count, bit_fail = gradient(
            shape, w, group.steepness, inputs, targets, slopes, group.pattern_weights, work
        )
        mse = mean_square(sse, count)
        if decaying.size:
            slopes[decaying] -= decay_factor * w[decaying]
        update(slopes, mse)
    return mse, bit_fail


def _train_incremental(
    group: Chunk,
    shape: Shape,
    inputs: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    work: Workspace | None,
) -> tuple[np.ndarray, np.ndarray]:
    """FANN's incremental training for every agent at once: a pattern at a time,
    each agent's weights moved by ``rate * slope + momentum * previous change``
    (``prev_steps`` holds the previous changes, FANN's prev_weights_deltas)."""
    w = group.weights
    rate = _column(group, "learning_rate")
    momentum = _column(group, "learning_momentum")
    previous = group.prev_steps
    slopes = np.zeros_like(w)
    n = w.shape[0]
    mse, bit_fail = np.zeros(n), np.zeros(n, dtype=np.int64)
    for _ in range(epochs):
        sse, count, bit_fail = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
        for row in range(inputs.shape[0]):
            slopes[...] = 0
            sse, pattern_count, pattern_fail = gradient(
                shape,
                w,
                group.steepness,
                inputs[row : row + 1],
                targets[row : row + 1],
                slopes,
                None,
                work,
                start=sse,
            )
            change = slopes * rate
            change += momentum * previous
            w += change
            previous[...] = change
            count += pattern_count
            bit_fail += pattern_fail
        mse = mean_square(sse, count)
    return mse, bit_fail


def _updater(
    group: Chunk, algorithm: int, epsilon: np.ndarray, round_index: int, seed: int
) -> Callable[[np.ndarray, np.ndarray], None]:
    """The algorithm's update step for this group, its constants bound as columns."""
    w = group.weights
    if algorithm == BATCH:

        def batch(slopes: np.ndarray, mse: np.ndarray) -> None:
            w[...] += slopes * epsilon
            slopes[...] = 0

        return batch
    if algorithm == RPROP:
        constants = {
            "increase": _column(group, "rprop_increase_factor"),
            "decrease": _column(group, "rprop_decrease_factor"),
            "delta_max": _column(group, "rprop_delta_max"),
            "delta_min": _column(group, "rprop_delta_min"),
        }

        def rprop_update(slopes: np.ndarray, mse: np.ndarray) -> None:
            rprop.fann_step(w, slopes, group.prev_slopes, group.prev_steps, **constants)
            slopes[...] = 0

        return rprop_update
    if algorithm == QUICKPROP:
        mu_f = group.hyper["quickprop_mu"].astype(np.float32).astype(np.float64)
        constants = {
            "epsilon": epsilon,
            "mu": _column(group, "quickprop_mu"),
            "shrink": (mu_f / (1.0 + mu_f)).astype(np.float32).astype(w.dtype)[:, None],
            "decay": _column(group, "quickprop_decay"),
        }

        def quickprop_update(slopes: np.ndarray, mse: np.ndarray) -> None:
            quickprop.step(w, slopes, group.prev_slopes, group.prev_steps, **constants)

        return quickprop_update
    if algorithm == SARPROP:
        generators: dict[int, np.random.Generator] = {}

        def draw(mask: np.ndarray) -> np.ndarray:
            parts = []
            for row in np.flatnonzero(mask.any(axis=1)):
                agent = int(group.agents[row])
                if agent not in generators:
                    generators[agent] = agent_generator(seed, agent, round_index, PURPOSE_SARPROP)
                parts.append(generators[agent].random(int(mask[row].sum())))
            return np.concatenate(parts)

        hyper = group.hyper
        f = {
            name: hyper[name][:, None]
            for name in (
                "sarprop_temperature",
                "sarprop_weight_decay_shift",
                "sarprop_step_error_threshold_factor",
                "sarprop_step_error_shift",
            )
        }

        def sarprop_update(slopes: np.ndarray, mse: np.ndarray) -> None:
            sarprop.step(
                w,
                slopes,
                group.prev_slopes,
                group.prev_steps,
                epoch=group.sarprop_epoch[:, None],
                error=mse[:, None],
                temperature=f["sarprop_temperature"],
                decay_shift=f["sarprop_weight_decay_shift"],
                threshold_factor=f["sarprop_step_error_threshold_factor"],
                error_shift=f["sarprop_step_error_shift"],
                increase=_column(group, "rprop_increase_factor"),
                decrease=_column(group, "rprop_decrease_factor"),
                delta_max=_column(group, "rprop_delta_max"),
                draw=draw,
            )
            group.sarprop_epoch += 1

        return sarprop_update
    raise ValueError(f"the batched trainer has no algorithm {algorithm}")


def agent_generator(seed: int, agent: int, round_index: int, purpose: int) -> np.random.Generator:
    """The random stream of one agent in one round for one purpose."""
    return np.random.Generator(np.random.PCG64([seed, agent, round_index, purpose]))
