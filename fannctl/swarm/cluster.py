"""Where a round's chunks of agents compute: in this process or on Dask workers.

:func:`connect` opens a :class:`DaskExecutor` on an existing scheduler (its
address or its scheduler file) or on a ``LocalCluster`` of worker processes
started for the run. The executor scatters the scaled data set to every worker
once; each round it ships only each chunk's arrays (weights, steepness,
training state, hyperparameters) in a task of a module-level function that
calls :func:`fannctl.swarm.trainer.train_chunk` (a pure function of its
arguments). The coordinator's memory stays bounded: a chunk is read from the
swarm (memory, or the scratch files of :mod:`fannctl.swarm.store`) only when
its task is submitted, at most a window of tasks (``store.MEMORY_BUDGET`` of
chunks there and back) is in flight, and each result is written back to its
own rows as it returns, so arrival order changes nothing; Dask's logs of
recently sent messages, which would hold the last thousand chunks, are
emptied. Chunk boundaries never depend on the workers, so a run gives the
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
from collections.abc import Callable, Iterator
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

    def add(self, timings: list[tuple[str, float]], wall: float) -> None:
        """Compute: the busiest worker's task seconds; ship: the rest of the wall time."""
        busy: dict[str, float] = {}
        for worker, seconds in timings:
            busy[worker] = busy.get(worker, 0.0) + seconds
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
        self._scatters = 0

    def scatter(self, inputs: np.ndarray, outputs: np.ndarray) -> None:
        """Send the (scaled) data set to every worker, once per run.

        Keys are fresh for each scatter (``hash=False``): a content-hashed key would
        be shared with an earlier run's data on the same cluster, which the scheduler
        may be forgetting at that very moment ("Key lost during replication")."""
        self._arrays = (inputs, outputs)
        self._data = tuple(
            self._guard(lambda: self.client.scatter([inputs, outputs], broadcast=True, hash=False))
        )
        self._scatters += 1

    def train(
        self,
        bounds: list[tuple[int, int]],
        load: Callable[[int, int], trainer.Chunk],
        save: Callable[[int, TaskResult], None],
        shape: batched.Shape,
        epochs: int,
        round_index: int,
        seed: int,
        split: tuple[str, int, int],
        batch: int,
        window: int,
        stats: RoundStats,
    ) -> None:
        """Every chunk ``bounds`` names trained on the workers: ``load(lo, hi)`` reads it
        when its task is submitted, ``save(lo, result)`` writes it back when it returns;
        at most ``window`` tasks in flight."""

        def arguments(lo: int, hi: int, inputs, outputs) -> tuple:
            return (load(lo, hi), shape, inputs, outputs, epochs, round_index, seed, split, batch)

        self._stream(train_task, bounds, arguments, save, window, stats)

    def errors(
        self,
        shape: batched.Shape,
        bounds: list[tuple[int, int]],
        load: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
        batch: int,
        window: int,
        stats: RoundStats,
    ) -> np.ndarray:
        """Every agent's MSE on the scattered data, chunk by chunk on the workers;
        ``load(lo, hi)`` gives a chunk's weights and steepness."""
        mse = np.empty(bounds[-1][1] if bounds else 0)

        def arguments(lo: int, hi: int, inputs, outputs) -> tuple:
            return (shape, *load(lo, hi), inputs, outputs, batch)

        def save(lo: int, result: TaskResult) -> None:
            mse[lo : lo + result.mse.size] = result.mse

        self._stream(errors_task, bounds, arguments, save, window, stats)
        return mse

    def _need_data(self) -> tuple:
        if self._data is None:
            raise ValueError("DaskExecutor.scatter must run before the rounds")
        return self._data

    def _stream(self, function, bounds, arguments, save, window: int, stats: RoundStats) -> None:
        """``function`` over the chunks ``bounds`` names, at most ``window`` in flight,
        each result saved as it comes (chunks are disjoint rows: the order of arrival
        changes nothing). Scattered data cannot be recomputed: if the cluster lost every
        copy (all holders died), tasks are cancelled for lost dependencies; the data is
        then scattered again, once, and the cancelled chunks resubmitted."""
        from distributed import as_completed
        from distributed.client import FutureCancelledError

        start = time.perf_counter()
        _forget_sent_messages(self.client)
        waiting = list(reversed(bounds))
        running: dict = {}  # future -> (lo, hi, scatter generation)
        timings: list[tuple[str, float]] = []
        scatters = self._scatters
        finished = as_completed(loop=self.client.loop)  # cancelled futures come out too

        def submit(lo: int, hi: int) -> None:
            self._calls += 1
            key = f"fannctl-{function.__name__}-{self._calls}"
            args = arguments(lo, hi, *self._need_data())
            with warnings.catch_warnings():  # large arguments are the chunks, by design
                warnings.filterwarnings("ignore", message=".*[Ll]arge.*")
                future = self._guard(
                    lambda: self.client.submit(
                        function, *args, pure=False, retries=RETRIES, key=key
                    )
                )
            running[future] = (lo, hi, self._scatters)
            finished.add(future)

        try:
            while waiting or running:
                while waiting and len(running) < window:
                    submit(*waiting.pop())
                future = self._guard(lambda: next(finished))
                lo, hi, generation = running.pop(future)
                try:
                    result = self._guard(future.result)
                except FutureCancelledError:
                    if generation == self._scatters:  # this call's data is gone
                        if self._scatters > scatters:
                            raise
                        self.scatter(*self._arrays)
                    waiting.append((lo, hi))
                    continue
                finally:
                    future.release()
                save(lo, result)
                timings.append((result.worker, result.seconds))
        finally:
            for future in running:
                future.release()
        stats.add(timings, time.perf_counter() - start)

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


def _forget_sent_messages(client) -> None:
    """Dask keeps the last messages each batched comm sent (1000 by default, those
    under 1 MB) for debugging: the client's to the scheduler hold the chunks of the
    last 1000 tasks, and so do an in-process scheduler's to its workers. Those logs
    would hold the swarm in the coordinator; they are emptied (before each round,
    so comms to workers that joined since are covered)."""
    import collections

    comms = [getattr(client, "scheduler_comm", None)]
    scheduler = getattr(getattr(client, "cluster", None), "scheduler", None)
    if scheduler is not None:
        comms += [*getattr(scheduler, "stream_comms", {}).values()]
        comms += [*getattr(scheduler, "client_comms", {}).values()]
    for comm in comms:
        if comm is not None and hasattr(comm, "recent_message_log"):
            comm.recent_message_log = collections.deque(maxlen=0)


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
