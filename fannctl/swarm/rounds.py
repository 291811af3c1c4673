"""``swarm run``: rounds of local training, then the strategy's exchange.

Each round every agent trains ``epochs_per_round`` epochs with its own
algorithm and hyperparameters on its own view of the data (all patterns,
a bootstrap sample or a shard, as per-agent pattern weights inside the
batched gradient), chunk by chunk; then the strategy exchanges between
neighbours. The round's record holds the best, median and worst agent error
(on ``test`` when given, else the last epoch's training MSE: what the
strategy ranks by), the ensemble's error on ``test`` and the spread of the
weights around their mean, both after the exchange.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fannctl.data import TrainingData, check_fits, scale_data
from fannctl.errors import ParameterError
from fannctl.params import algorithm_id
from fannctl.swarm import batched, cluster, store, strategies, trainer
from fannctl.swarm.population import SWARM_ALGORITHMS, Swarm

SPLITS = ("full", "bootstrap", "shard")
PURPOSE_BOOTSTRAP, PURPOSE_SHARD = 7, 8


@dataclass
class RunConfig:
    """One ``swarm run``: strategy, rounds, epochs, data split and strategy constants."""

    strategy: str = "independent"
    rounds: int = 1
    epochs_per_round: int = 1
    data_split: str = "full"
    algorithm: str | None = None
    evolve: strategies.EvolveConfig = field(default_factory=strategies.EvolveConfig)
    pso: strategies.PsoConfig = field(default_factory=strategies.PsoConfig)
    chunk_agents: int | None = None
    device: str | None = None  # in-process chunks: numpy (None) or an OpenCL device


@dataclass
class RoundRecord:
    """What one round leaves in the history."""

    round: int
    strategy: str
    epochs: int
    best_error: float
    median_error: float
    worst_error: float
    best_agent: int
    spread: float
    seconds: float
    ensemble_error: float | None = None
    ensemble_bit_fail: int | None = None
    workers: int | None = None  # on a cluster: workers used, compute vs shipping seconds
    compute_seconds: float | None = None
    ship_seconds: float | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def check_config(swarm: Swarm, data: TrainingData, config: RunConfig) -> None:
    """Refuse what cannot run, before anything changes."""
    if config.strategy not in strategies.STRATEGIES:
        raise ParameterError(
            f"unknown strategy {config.strategy!r}; valid: {', '.join(strategies.STRATEGIES)}"
        )
    if config.data_split not in SPLITS:
        raise ParameterError(
            f"unknown --data-split {config.data_split!r}; valid: {', '.join(SPLITS)}"
        )
    if config.rounds < 1 or config.epochs_per_round < 1:
        raise ParameterError("--rounds and --epochs-per-round must be at least 1")
    if config.algorithm is not None and config.algorithm not in SWARM_ALGORITHMS:
        raise ParameterError(
            f"a swarm trains with {', '.join(SWARM_ALGORITHMS)}, not {config.algorithm!r}"
        )
    if config.data_split == "shard" and swarm.agents > data.num_patterns:
        raise ParameterError(
            f"{data.source or 'data'}: {swarm.agents} shards (one per agent) but only "
            f"{data.num_patterns} patterns"
        )
    incremental = config.algorithm == "incremental" or (
        config.algorithm is None and bool((swarm.algorithm == 0).any())
    )
    if config.algorithm is not None:
        incremental_agents = np.full(swarm.agents, config.algorithm == "incremental")
    else:
        incremental_agents = swarm.algorithm == 0
    if bool(swarm.hyper["weight_decay"][incremental_agents].any()):
        raise ParameterError("weight decay needs a batch-family algorithm, not incremental")
    if incremental and config.data_split != "full":
        raise ParameterError("incremental training presents every pattern (--data-split full)")
    if incremental and swarm.template.is_sparse:
        raise ParameterError("a swarm of sparse networks cannot train incrementally")
    if config.strategy == "pso" and config.data_split != "full":
        raise ParameterError("pso moves every particle on the full data set (--data-split full)")
    if not 0 < config.evolve.quantile <= 0.5:
        raise ParameterError("--evolve-quantile must be in (0, 0.5]")
    if not 0 <= config.evolve.resample_probability <= 1:
        raise ParameterError("--resample-probability must be in [0, 1]")


def pattern_weights(
    swarm: Swarm, agents: np.ndarray, patterns: int, split: str
) -> np.ndarray | None:
    """Per-agent pattern weights for ``agents``: None (full), bootstrap counts or shard masks."""
    return split_weights(swarm.seed, swarm.agents, agents, patterns, split, swarm.dtype)


def split_weights(
    seed: int, total: int, agents: np.ndarray, patterns: int, split: str, dtype: np.dtype
) -> np.ndarray | None:
    """Pattern weights of ``agents`` of a ``total``-agent swarm seeded ``seed``.

    A bootstrap sample is fixed per agent (keyed by seed and agent), so rounds
    and runs keep each agent's bag; shards are contiguous runs of one seeded
    permutation, one per agent. Computed where the chunk trains (a worker
    derives them from these numbers instead of receiving them).
    """
    if split == "full":
        return None
    out = np.zeros((agents.size, patterns), dtype=dtype)
    if split == "bootstrap":
        for row, agent in enumerate(agents):
            rng = trainer.agent_generator(seed, int(agent), 0, PURPOSE_BOOTSTRAP)
            out[row] = np.bincount(rng.integers(0, patterns, patterns), minlength=patterns)
        return out
    order = np.random.Generator(np.random.PCG64([seed, 0, 0, PURPOSE_SHARD])).permutation(patterns)
    for row, agent in enumerate(agents):
        lo, hi = agent * patterns // total, (agent + 1) * patterns // total
        out[row, order[lo:hi]] = 1
    return out


def data_counts(swarm: Swarm, patterns: int, split: str) -> np.ndarray:
    """Patterns each agent learns from (bootstrap: P; shard: its shard's size)."""
    if split == "shard":
        agents = np.arange(swarm.agents)
        return ((agents + 1) * patterns // swarm.agents - agents * patterns // swarm.agents).astype(
            np.float64
        )
    return np.full(swarm.agents, float(patterns))


def _chunk(swarm: Swarm, lo: int, hi: int, split: str, patterns: int) -> trainer.Chunk:
    """Agents lo..hi: views into the swarm (trained in place), or copies read from the
    scratch files of a swarm on disk (written back by the caller)."""
    agents = np.arange(lo, hi)
    return trainer.Chunk(
        agents,
        swarm.weights[lo:hi],
        swarm.steepness[lo:hi],
        swarm.algorithm[lo:hi],
        {k: v[lo:hi] for k, v in swarm.hyper.items()},
        swarm.prev_steps[lo:hi],
        swarm.prev_slopes[lo:hi],
        swarm.sarprop_epoch[lo:hi],
        pattern_weights(swarm, agents, patterns, split),
    )


def train_round(
    swarm: Swarm,
    shape: batched.Shape,
    data: TrainingData,
    config: RunConfig,
    executor: cluster.DaskExecutor | None = None,
    stats: cluster.RoundStats | None = None,
) -> np.ndarray:
    """Local training of every agent, chunk by chunk; the last epoch's MSE per agent.

    A chunk is read from the swarm, trained and written back (in memory the
    chunk is a view, trained in place). With an ``executor`` the chunks train on
    its workers, a bounded number in flight, each written back as it returns;
    the same chunks and the same pure function give the same bits.
    """
    swarm.ensure_state()
    fresh = np.flatnonzero(swarm.state_algorithm != swarm.algorithm)
    patterns = data.num_patterns
    step = _step(swarm, shape, patterns, config, executor)
    mse = np.empty(swarm.agents)
    bounds = [(lo, min(swarm.agents, lo + step)) for lo in range(0, swarm.agents, step)]

    def load(lo: int, hi: int, split: str) -> trainer.Chunk:
        chunk = _chunk(swarm, lo, hi, split, patterns)
        rows = fresh[(fresh >= lo) & (fresh < hi)] - lo
        if rows.size:
            trainer.clear_state(chunk, rows)
        return chunk

    def save(lo: int, trained: trainer.Chunk | cluster.TaskResult, chunk_mse: np.ndarray) -> None:
        hi = lo + trained.weights.shape[0]
        store.write_rows(swarm.weights, lo, trained.weights)
        store.write_rows(swarm.prev_steps, lo, trained.prev_steps)
        store.write_rows(swarm.prev_slopes, lo, trained.prev_slopes)
        swarm.sarprop_epoch[lo:hi] = trained.sarprop_epoch
        mse[lo:hi] = chunk_mse

    if executor is None:
        from fannctl.swarm.device import chunk_trainer

        train_chunk = chunk_trainer(config.device, swarm.template)
        work = batched.Workspace()
        for lo, hi in bounds:
            chunk = load(lo, hi, config.data_split)
            chunk_mse, _ = train_chunk(
                chunk,
                shape,
                data.inputs,
                data.outputs,
                config.epochs_per_round,
                round_index=swarm.round,
                seed=swarm.seed,
                work=work,
            )
            save(lo, chunk, chunk_mse)
    else:
        executor.train(
            bounds,
            lambda lo, hi: load(lo, hi, "full"),  # the split is derived on the worker
            lambda lo, result: save(lo, result, result.mse),
            shape,
            config.epochs_per_round,
            swarm.round,
            swarm.seed,
            (config.data_split, swarm.agents, swarm.seed),
            _batch(swarm, shape, patterns, config),
            _window(swarm, step),
            stats if stats is not None else cluster.RoundStats(),
        )
    swarm.state_algorithm[:] = swarm.algorithm
    return mse


def _row_bytes(swarm: Swarm) -> int:
    """Bytes of one agent's wide arrays that a chunk reads and writes: weights,
    training state (or PSO's velocities and bests) and steepness."""
    itemsize = swarm.dtype.itemsize
    return (3 * swarm.weights.shape[1] + swarm.steepness.shape[1]) * itemsize


def _step(
    swarm: Swarm,
    shape: batched.Shape,
    patterns: int,
    config: RunConfig,
    executor: cluster.DaskExecutor | None,
) -> int:
    """Agents per chunk: in-process, the batch; on a cluster, a task's agents. A swarm
    on disk also keeps a chunk's rows within ``store.CHUNK_BYTES`` (the bits do not
    depend on chunks)."""
    if executor is not None:
        step = cluster.distributed_chunk(swarm.agents, config.chunk_agents)
    else:
        step = _local_batch(swarm, shape, patterns, config)
    if store.on_disk(swarm.weights):
        step = min(step, store.rows_per_chunk(_row_bytes(swarm)))
    return step


def _batch(swarm: Swarm, shape: batched.Shape, patterns: int, config: RunConfig) -> int:
    """Agents per batched numpy computation: --chunk-agents, else the memory budget's."""
    return config.chunk_agents or shape.chunk_agents(patterns, swarm.dtype.itemsize)


def _local_batch(swarm: Swarm, shape: batched.Shape, patterns: int, config: RunConfig) -> int:
    """Agents per in-process chunk: ``_batch``, larger on an OpenCL device
    (``device.chunk_agents``) unless --chunk-agents says."""
    step = _batch(swarm, shape, patterns, config)
    if config.chunk_agents or config.device is None:
        return step
    from fannctl.swarm.device import chunk_agents

    return chunk_agents(config.device, _row_bytes(swarm), step)


def _forward_chunk(
    swarm: Swarm, shape: batched.Shape, patterns: int, config: RunConfig | None = None
) -> int | None:
    """Agents per forward pass here: --chunk-agents or the batch's budget, and for a
    swarm on disk no more rows than ``store.CHUNK_BYTES`` holds."""
    chunk = config.chunk_agents if config is not None else None
    if not store.on_disk(swarm.weights):
        return chunk
    chunk = chunk or shape.chunk_agents(patterns, swarm.dtype.itemsize)
    return min(chunk, store.rows_per_chunk(_row_bytes(swarm)))


def _window(swarm: Swarm, step: int) -> int:
    """Tasks in flight on a cluster: as many as keep the chunks shipped and returned
    within ``store.MEMORY_BUDGET`` (at least one)."""
    return max(1, store.MEMORY_BUDGET // (2 * step * _row_bytes(swarm)))


def ensemble_outputs(
    swarm: Swarm, shape: batched.Shape, inputs: np.ndarray, chunk: int | None = None
) -> np.ndarray:
    """The mean of every agent's outputs (P, num_output), in float64, summed agent
    after agent (a cumulative sum is sequential), so the bits do not depend on where
    the chunks split (a chunk's own sum added to the total would)."""
    step = chunk or shape.chunk_agents(inputs.shape[0], swarm.dtype.itemsize)
    total = np.zeros((inputs.shape[0], shape.num_output))
    for lo in range(0, swarm.agents, step):
        out = batched.outputs(
            shape, swarm.weights[lo : lo + step], swarm.steepness[lo : lo + step], inputs
        )
        total = np.cumsum(np.concatenate([total[None], out.astype(np.float64)]), axis=0)[-1]
    return total / swarm.agents


def ensemble_error(
    swarm: Swarm, shape: batched.Shape, data: TrainingData, chunk: int | None = None
) -> tuple[float, int]:
    """FANN's MSE and bit fail of the ensemble mean on ``data`` (already scaled)."""
    mean = ensemble_outputs(swarm, shape, data.inputs.astype(swarm.dtype, copy=False), chunk)
    err = data.outputs.astype(np.float64) - mean
    err[:, shape.halve] /= 2.0
    mse = float((err * err).sum() / err.size)
    return mse, int(np.count_nonzero(np.abs(err) >= shape.bit_fail_limit))


def spread(weights: np.ndarray) -> float:
    """Root-mean-square distance of the agents' weights from their mean (sums in agent
    order and over fixed blocks of agents: a chunk at a time, the bits of the whole)."""
    mean = store.row_sum(weights) / weights.shape[0]
    total = 0.0
    block = store.REDUCE_ROWS
    for lo in range(0, weights.shape[0], block):
        diff = np.asarray(weights[lo : lo + block], dtype=np.float64) - mean
        total += float((diff * diff).sum())
    return float(np.sqrt(total / weights.size))


def run(
    swarm: Swarm,
    data: TrainingData,
    config: RunConfig,
    *,
    test_data: TrainingData | None = None,
    on_round: Callable[[RoundRecord], None] | None = None,
    executor: cluster.DaskExecutor | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[RoundRecord]:
    """Run ``config.rounds`` rounds on ``swarm`` in place; return the round records.

    ``executor`` (from :func:`fannctl.swarm.cluster.connect`): train the chunks on
    a Dask cluster; the data set is scattered once and the result is the same.
    A round is whole or absent: a cluster that fails mid-round raises before the
    round changes the swarm's records (``on_round`` may save after each round).
    """
    template = swarm.template
    check_fits(template, data)
    if test_data is not None:
        check_fits(template, test_data, "test data")
    check_config(swarm, data, config)
    if config.algorithm is not None:
        swarm.algorithm[:] = algorithm_id(config.algorithm)
    data = scale_data(template, data.astype(swarm.dtype))
    if test_data is not None:
        test_data = scale_data(template, test_data.astype(swarm.dtype))
    shape = batched.Shape.of(template)
    counts = data_counts(swarm, data.num_patterns, config.data_split)
    if executor is not None:
        executor.scatter(data.inputs, data.outputs)
    records = []
    for _ in range(config.rounds):
        start = time.perf_counter()
        stats = cluster.RoundStats()
        if config.strategy == "pso":
            errors = _pso_round(swarm, shape, data, config, executor, stats)
        else:
            errors = train_round(swarm, shape, data, config, executor, stats)
        if test_data is not None:
            errors, _ = batched.errors(
                shape,
                swarm.weights,
                swarm.steepness,
                test_data.inputs,
                test_data.outputs,
                _forward_chunk(swarm, shape, test_data.num_patterns, config),
            )
        swarm.errors = errors.copy()
        if config.strategy == "average":
            strategies.average(swarm, counts, swarm.round)
        elif config.strategy == "evolve":
            strategies.evolve(swarm, swarm.errors, swarm.round, config.evolve)
        finite = errors[np.isfinite(errors)]
        record = RoundRecord(
            round=swarm.round + 1,
            strategy=config.strategy,
            epochs=config.epochs_per_round,
            best_error=float(finite.min()) if finite.size else float("nan"),
            median_error=float(np.median(finite)) if finite.size else float("nan"),
            worst_error=float(finite.max()) if finite.size else float("nan"),
            best_agent=swarm.best_agent(),
            spread=spread(swarm.weights),
            seconds=0.0,
        )
        if test_data is not None:
            record.ensemble_error, record.ensemble_bit_fail = ensemble_error(
                swarm, shape, test_data, _forward_chunk(swarm, shape, test_data.num_patterns)
            )
        record.seconds = time.perf_counter() - start
        swarm.round += 1
        swarm.history.append(record.to_dict())
        if executor is not None:  # the run's figures, not the swarm's history
            record.workers = stats.workers
            record.compute_seconds = stats.compute_seconds
            record.ship_seconds = stats.ship_seconds
        records.append(record)
        if on_round is not None:
            on_round(record)
        if should_stop is not None and should_stop():  # a signal: end after this round
            break
    return records


def _pso_round(
    swarm: Swarm,
    shape: batched.Shape,
    data: TrainingData,
    config: RunConfig,
    executor: cluster.DaskExecutor | None = None,
    stats: cluster.RoundStats | None = None,
) -> np.ndarray:
    """``epochs_per_round`` PSO iterations (forward passes only); current errors.

    With an ``executor`` the forward passes run chunk by chunk on its workers;
    the moves need neighbours' bests and stay here, a block of agents at a time."""

    def current() -> np.ndarray:
        if executor is None:
            errors, _ = batched.errors(
                shape,
                swarm.weights,
                swarm.steepness,
                data.inputs,
                data.outputs,
                _forward_chunk(swarm, shape, data.num_patterns, config),
            )
            return errors
        step = _step(swarm, shape, data.num_patterns, config, executor)
        bounds = [(lo, min(swarm.agents, lo + step)) for lo in range(0, swarm.agents, step)]
        return executor.errors(
            shape,
            bounds,
            lambda lo, hi: (swarm.weights[lo:hi], swarm.steepness[lo:hi]),
            _batch(swarm, shape, data.num_patterns, config),
            _window(swarm, step),
            stats if stats is not None else cluster.RoundStats(),
        )

    for iteration in range(config.epochs_per_round):
        strategies.pso_step(swarm, current(), swarm.round, iteration, config.pso)
    swarm.events.add(swarm.round, "pso", np.arange(swarm.agents), value=config.epochs_per_round)
    return current()
