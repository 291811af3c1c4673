"""Where a round's chunks of agents compute: in this process or on Dask workers.

:func:`connect` opens a :class:`DaskExecutor` on an existing scheduler (its
address or its scheduler file) or on a ``LocalCluster`` of worker processes
started for the run. The executor scatters the scaled data set to every worker
once; each round it ships only each chunk's arrays (weights, steepness,
training state, hyperparameters) in a task of a module-level function that
calls :func:`fannctl.swarm.trainer.train_chunk` (a pure function of its
arguments), and returns the chunks in chunk order for the coordinator to
write back. Chunk boundaries never depend on the workers, so a run gives the
same bits in-process, on one worker or on many.

A task's arguments live in the scheduler's task graph, not on one worker: a
worker that dies mid-round has its tasks rerun elsewhere. Tasks are keyed per
round (``pure=False``) so Dask never reuses a previous round's result.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from fannctl.errors import FannctlError, ParameterError
from fannctl.swarm import batched, trainer

# Distributed chunks: enough tasks per round to balance over many workers, each
# large enough that a task's fixed cost (a few ms of scheduling and pickling)
# stays small against its compute; a task trains its chunk in batches of the
# memory budget's size. Fixed numbers, never the worker count (bench/NOTES.md).
TASKS_PER_ROUND = 256
MIN_TASK_AGENTS = 8
RETRIES = 3
INSTALL_HINT = "pip install 'fannctl[dask]'"


class ClusterUnavailable(FannctlError):
    """Dask is not installed, or the cluster options are invalid (exit 2)."""


class ClusterError(FannctlError):
    """The cluster went away or lost its work: the run stops (exit 1)."""

    exit_code = 1


@dataclass
class TaskResult:
    """What a task returns: the chunk's updated arrays, its errors and its seconds."""

    weights: np.ndarray
    prev_steps: np.ndarray | None
    prev_slopes: np.ndarray | None
    sarprop_epoch: np.ndarray | None
    mse: np.ndarray
    seconds: float
    worker: str


@dataclass
class RoundStats:
    """One round's cluster figures: workers used, compute and shipping seconds."""

    workers: int = 0
    compute_seconds: float = 0.0
    ship_seconds: float = 0.0

    def add(self, results: list[TaskResult], wall: float) -> None:
        """Compute: the busiest worker's task seconds; ship: the rest of the wall time."""
        busy: dict[str, float] = {}
        for result in results:
            busy[result.worker] = busy.get(result.worker, 0.0) + result.seconds
        compute = max(busy.values(), default=0.0)
        self.workers = max(self.workers, len(busy))
        self.compute_seconds += compute
        self.ship_seconds += max(0.0, wall - compute)


def distributed_chunk(agents: int, chunk_agents: int | None) -> int:
    """Agents per task: ``chunk_agents`` when given, else about TASKS_PER_ROUND tasks
    of at least MIN_TASK_AGENTS agents."""
    if chunk_agents:
        return chunk_agents
    return max(MIN_TASK_AGENTS, math.ceil(agents / TASKS_PER_ROUND))


# -- tasks (module level: pickled by reference, run on the workers) ---------------


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


_scratch = threading.local()


def _workspace() -> batched.Workspace:
    """This worker thread's scratch arrays, reused from task to task (fresh arrays of a
    chunk's size cost as much in page faults as the arithmetic; results do not depend
    on them)."""
    work = getattr(_scratch, "work", None)
    if work is None:
        work = _scratch.work = batched.Workspace()
    return work


def train_task(
    chunk: trainer.Chunk,
    shape: batched.Shape,
    inputs: np.ndarray,
    outputs: np.ndarray,
    epochs: int,
    round_index: int,
    seed: int,
    split: tuple[str, int, int],
    batch: int,
) -> TaskResult:
    """Train one shipped chunk, ``batch`` agents per batched computation;
    ``split`` = (data split, swarm agents, swarm seed)."""
    from fannctl.swarm.rounds import split_weights

    start = time.perf_counter()
    name, total, split_seed = split
    n = chunk.weights.shape[0]
    mse = np.empty(n)
    for lo in range(0, n, batch):
        part = _rows(chunk, slice(lo, lo + batch))
        part.pattern_weights = split_weights(
            split_seed, total, part.agents, inputs.shape[0], name, chunk.weights.dtype
        )
        mse[lo : lo + batch], _ = trainer.train_chunk(
            part,
            shape,
            inputs,
            outputs,
            epochs,
            round_index=round_index,
            seed=seed,
            work=_workspace(),
        )
    return TaskResult(
        chunk.weights,
        chunk.prev_steps,
        chunk.prev_slopes,
        chunk.sarprop_epoch,
        mse,
        time.perf_counter() - start,
        _worker_name(),
    )


def _rows(chunk: trainer.Chunk, rows: slice) -> trainer.Chunk:
    """Some of a chunk's agents as views (trained in place)."""
    return trainer.Chunk(
        chunk.agents[rows],
        chunk.weights[rows],
        chunk.steepness[rows],
        chunk.algorithm[rows],
        {k: v[rows] for k, v in chunk.hyper.items()},
        chunk.prev_steps[rows],
        chunk.prev_slopes[rows],
        chunk.sarprop_epoch[rows],
    )


def errors_task(
    shape: batched.Shape,
    weights: np.ndarray,
    steepness: np.ndarray,
    inputs: np.ndarray,
    outputs: np.ndarray,
    batch: int,
) -> TaskResult:
    """Forward passes of one chunk (PSO), ``batch`` agents at a time: every agent's MSE."""
    start = time.perf_counter()
    mse, _ = batched.errors(shape, weights, steepness, inputs, outputs, batch)
    return TaskResult(
        weights[:0], None, None, None, mse, time.perf_counter() - start, _worker_name()
    )


# -- the executor -------------------------------------------------------------------


class DaskExecutor:
    """Runs chunks of agents as Dask tasks on ``client``'s workers."""

    def __init__(self, client, address: str, dashboard: str | None = None) -> None:
        self.client = client
        self.address = address
        self.dashboard = dashboard
        self._arrays: tuple | None = None
        self._data: tuple | None = None
        self._calls = 0

    def scatter(self, inputs: np.ndarray, outputs: np.ndarray) -> None:
        """Send the (scaled) data set to every worker, once per run.

        Keys are fresh for each scatter (``hash=False``): a content-hashed key would
        be shared with an earlier run's data on the same cluster, which the scheduler
        may be forgetting at that very moment ("Key lost during replication")."""
        self._arrays = (inputs, outputs)
        self._data = tuple(
            self._guard(lambda: self.client.scatter([inputs, outputs], broadcast=True, hash=False))
        )

    def train(
        self,
        chunks: list[trainer.Chunk],
        shape: batched.Shape,
        epochs: int,
        round_index: int,
        seed: int,
        split: tuple[str, int, int],
        batch: int,
        stats: RoundStats,
    ) -> list[TaskResult]:
        """Every chunk trained on the workers; results in chunk order."""
        n = len(chunks)
        return self._map(
            train_task,
            lambda inputs, outputs: (
                chunks,
                [shape] * n,
                [inputs] * n,
                [outputs] * n,
                [epochs] * n,
                [round_index] * n,
                [seed] * n,
                [split] * n,
                [batch] * n,
            ),
            stats=stats,
        )

    def errors(
        self,
        shape: batched.Shape,
        weights: list[np.ndarray],
        steepness: list[np.ndarray],
        batch: int,
        stats: RoundStats,
    ) -> np.ndarray:
        """Every agent's MSE on the scattered data, chunk by chunk on the workers."""
        n = len(weights)
        results = self._map(
            errors_task,
            lambda inputs, outputs: (
                [shape] * n,
                weights,
                steepness,
                [inputs] * n,
                [outputs] * n,
                [batch] * n,
            ),
            stats=stats,
        )
        return np.concatenate([r.mse for r in results])

    def _need_data(self) -> tuple:
        if self._data is None:
            raise ValueError("DaskExecutor.scatter must run before the rounds")
        return self._data

    def _map(self, function, arguments, stats: RoundStats) -> list[TaskResult]:
        """``function`` over the lists ``arguments(inputs, outputs)`` builds from the
        scattered data. Scattered data cannot be recomputed: if the cluster lost every
        copy (all holders died), the tasks are cancelled for lost dependencies, and the
        data is scattered again and the round's tasks resubmitted, once."""
        from distributed.client import FutureCancelledError

        start = time.perf_counter()
        try:
            results = self._guard(lambda: self._submit(function, arguments(*self._need_data())))
        except FutureCancelledError:
            self.scatter(*self._arrays)
            results = self._guard(lambda: self._submit(function, arguments(*self._need_data())))
        stats.add(results, time.perf_counter() - start)
        return results

    def _submit(self, function, iterables) -> list[TaskResult]:
        self._calls += 1
        with warnings.catch_warnings():  # the chunks are the graph: large by design
            warnings.filterwarnings("ignore", message=".*large graph.*")
            futures = self.client.map(
                function,
                *iterables,
                pure=False,
                retries=RETRIES,
                key=[
                    f"fannctl-{function.__name__}-{self._calls}-{i}"
                    for i in range(len(iterables[0]))
                ],
            )
        try:
            return self.client.gather(futures)
        finally:
            for future in futures:
                future.release()

    def _guard(self, call):
        """Run ``call``; the cluster going away becomes one ClusterError."""
        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError

        try:
            return call()
        except KilledWorker as exc:
            raise ClusterError(
                f"Dask scheduler {self.address}: a task lost its workers too often ({exc})"
            ) from None
        except (CommClosedError, OSError, TimeoutError) as exc:
            raise ClusterError(
                f"Dask scheduler {self.address} went away ({type(exc).__name__}: {exc})"
            ) from None
        except Exception as exc:
            if getattr(self.client, "status", "running") != "running":
                raise ClusterError(
                    f"Dask scheduler {self.address} went away ({type(exc).__name__})"
                ) from None
            raise

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterUnavailable(
            f"running a swarm on a Dask cluster needs dask.distributed: {INSTALL_HINT}"
        ) from None
    return distributed


def _worker_environment():
    """Dask's nannies set MALLOC_TRIM_THRESHOLD_, which turns off glibc's adaptive mmap
    threshold: every large work array is then a fresh mmap, page faults and all, and
    the trainer runs half as fast (bench/NOTES.md). Our local workers keep one
    BLAS thread each and glibc's defaults."""
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return dask.config.set({"distributed.nanny.pre-spawn-environ": environ})


def _address_in(scheduler_file: str) -> str:
    """The scheduler address a ``dask scheduler --scheduler-file`` wrote (Dask's own
    reader waits forever for a file that is not there)."""
    import json

    try:
        with open(scheduler_file, encoding="utf-8") as f:
            address = json.load(f).get("address")
    except OSError as exc:
        raise ParameterError(
            f"{scheduler_file}: cannot read the scheduler file: {exc.strerror}"
        ) from None
    except (ValueError, AttributeError):
        raise ParameterError(f"{scheduler_file}: not a Dask scheduler file (JSON)") from None
    if not isinstance(address, str) or not address:
        raise ParameterError(f"{scheduler_file}: no scheduler address in this file")
    return address


def _dashboard(client) -> str | None:
    try:
        if client.scheduler_info().get("services", {}).get("dashboard"):
            return str(client.dashboard_link)
    except Exception:  # a dashboard is a courtesy; its absence is not an error
        return None
    return None


@contextlib.contextmanager
def connect(
    scheduler: str | None = None,
    scheduler_file: str | None = None,
    workers: int | None = None,
    *,
    dashboard: bool = True,
    timeout: float = 30.0,
) -> Iterator[DaskExecutor | None]:
    """An executor for the chosen cluster, or None (in-process) when none is chosen.

    ``workers``: a LocalCluster of that many single-thread worker processes,
    started and closed here. ``scheduler``: a ``tcp://`` or ``tls://`` address
    (TLS settings come from dask's ``distributed.comm.tls`` config).
    """
    chosen = [x is not None for x in (scheduler, scheduler_file, workers)]
    if sum(chosen) > 1:
        raise ClusterUnavailable("give one of --scheduler, --scheduler-file and --workers")
    if not any(chosen):
        yield None
        return
    if workers is not None and workers < 1:
        raise ParameterError("--workers must be at least 1")
    if scheduler is not None and "://" in scheduler:
        if scheduler.split("://", 1)[0] not in ("tcp", "tls", "inproc"):
            raise ParameterError(f"--scheduler {scheduler!r}: use a tcp:// or tls:// address")
    distributed = _import_distributed()
    with contextlib.ExitStack() as stack:
        try:
            if workers is not None:
                stack.enter_context(_worker_environment())
                cluster = stack.enter_context(
                    distributed.LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",  # a free port; printed only with ``dashboard``
                    )
                )
                client = stack.enter_context(distributed.Client(cluster, timeout=timeout))
                address = str(cluster.scheduler_address)
            elif scheduler_file is not None:
                address = _address_in(scheduler_file)
                client = stack.enter_context(distributed.Client(address, timeout=timeout))
            else:
                client = stack.enter_context(distributed.Client(scheduler, timeout=timeout))
                address = str(scheduler)
        except (OSError, TimeoutError, ValueError) as exc:
            where = scheduler_file or scheduler or "a local cluster"
            raise ClusterError(f"cannot reach the Dask scheduler {where}: {exc}") from None
        yield DaskExecutor(client, address, _dashboard(client) if dashboard else None)
