"""`swarm run` on a Dask cluster: the same bits as in-process, and no agent lost.

Guards against: results that depend on the cluster (chunking by worker count,
a reduction in arrival order, Dask reusing a previous round's cached result),
a worker killed mid-round losing or duplicating a chunk, a scheduler that goes
away leaving a half round, and a missing dask giving a traceback instead of
the extra to install. Real LocalClusters of worker processes, started once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

distributed = pytest.importorskip("distributed")

from fannctl import io  # noqa: E402
from fannctl.cli.main import app  # noqa: E402
from fannctl.swarm import RunConfig, load_swarm, parse_vary, run, spawn  # noqa: E402
from fannctl.swarm.cluster import ClusterError, DaskExecutor  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
THYROID = str(ROOT / "datasets" / "thyroid.train.gz")
ARRAYS = (
    "weights",
    "steepness",
    "algorithm",
    "prev_steps",
    "prev_slopes",
    "sarprop_epoch",
    "velocity",
    "best_weights",
    "best_error",
    "errors",
)


def _cluster(workers: int):
    return distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # the scheduler's HTTP server always runs: any free port
    )


@pytest.fixture(scope="module")
def clusters():
    """A 1-worker and a 2-worker cluster of processes, each with its client."""
    with _cluster(1) as one, _cluster(2) as two:
        with distributed.Client(one, timeout=60) as c1, distributed.Client(two, timeout=60) as c2:
            c1.wait_for_workers(1, timeout=60)
            c2.wait_for_workers(2, timeout=60)
            yield {1: c1, 2: c2}


def _executor(client) -> DaskExecutor:
    return DaskExecutor(client, str(client.scheduler.address))


def xor_swarm():
    return spawn(
        40,
        layers=[2, 3, 1],
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid_symmetric",
        topology="ring:2",
        vary=[
            parse_vary("learning_rate=0.2:0.9"),
            parse_vary("algorithm=rprop,quickprop,sarprop,batch"),
        ],
        seed=11,
    )


def assert_same(a, b, label: str) -> None:
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, (label, name)
            continue
        np.testing.assert_array_equal(x, y, err_msg=f"{label}: {name}")
    for name, values in a.hyper.items():
        np.testing.assert_array_equal(values, b.hyper[name], err_msg=f"{label}: {name}")
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in a.history]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in b.history], label
    assert a.round == b.round


@pytest.mark.parametrize(
    ("strategy", "split"),
    [("independent", "bootstrap"), ("average", "full"), ("evolve", "bootstrap"), ("pso", "full")],
)
def test_in_process_one_and_two_workers_give_the_same_bits(clusters, strategy, split):
    data = io.load_data(XOR)
    config = RunConfig(strategy=strategy, rounds=3, epochs_per_round=6, data_split=split)
    local = xor_swarm()
    records = run(local, data, config, test_data=data)
    assert local.round == 3 and records[-1].workers is None
    for workers, client in clusters.items():
        remote = xor_swarm()
        records = run(remote, data, config, test_data=data, executor=_executor(client))
        assert_same(local, remote, f"{strategy}, {workers} worker(s)")
        assert all(1 <= r.workers <= workers for r in records)
        assert all(r.compute_seconds >= 0 and r.ship_seconds >= 0 for r in records)
    # the swarm moved: identical because equal, not because nothing ran
    assert not np.array_equal(local.weights, xor_swarm().weights)


def test_chunk_size_on_the_cluster_does_not_change_results(clusters):
    data = io.load_data(XOR)
    local = xor_swarm()
    run(local, data, RunConfig(strategy="evolve", rounds=2, epochs_per_round=4))
    remote = xor_swarm()
    config = RunConfig(strategy="evolve", rounds=2, epochs_per_round=4, chunk_agents=3)
    run(remote, data, config, executor=_executor(clusters[2]))
    assert_same(local, remote, "chunks of 3")


def test_each_scatter_has_fresh_keys(clusters):
    """A content-hashed key is shared with an earlier run's data on the same cluster,
    which the scheduler may be forgetting at that moment: its tasks are then cancelled
    for lost dependencies (a CI run failed so)."""
    executor = _executor(clusters[2])
    data = io.load_data(XOR)
    executor.scatter(data.inputs, data.outputs)
    first = [future.key for future in executor._data]
    executor.scatter(data.inputs, data.outputs)
    assert not set(first) & {future.key for future in executor._data}


def test_data_lost_on_the_cluster_is_scattered_again(clusters):
    """Scattered data cannot be recomputed: when every copy is gone, the round's tasks
    are cancelled; the executor scatters again and the run ends as in-process."""
    data = io.load_data(XOR)
    config = RunConfig(strategy="evolve", rounds=2, epochs_per_round=4)
    local = xor_swarm()
    run(local, data, config)
    executor = _executor(clusters[2])
    scatter = executor.scatter
    scatters: list[int] = []

    def scatter_then_lose(inputs, outputs):
        scatter(inputs, outputs)
        if not scatters:
            clusters[2].cancel(list(executor._data))  # the cluster forgets the data
        scatters.append(1)

    executor.scatter = scatter_then_lose
    remote = xor_swarm()
    run(remote, data, config, executor=executor)
    assert len(scatters) == 2
    assert_same(local, remote, "data scattered again")


def test_a_task_trains_its_chunk_in_batches_with_the_same_bits():
    """A task larger than the memory budget's batch loops over batches inside."""
    from fannctl.data import scale_data
    from fannctl.swarm import batched, trainer
    from fannctl.swarm.cluster import train_task
    from fannctl.swarm.rounds import _chunk

    data = io.load_data(XOR)
    results = []
    for batch in (3, 40):
        swarm = xor_swarm()
        swarm.ensure_state()
        scaled = scale_data(swarm.template, data.astype(swarm.dtype))
        shape = batched.Shape.of(swarm.template)
        chunk = _chunk(swarm, 0, 40, "full", scaled.num_patterns)
        trainer.clear_state(chunk, np.arange(40))
        split = ("bootstrap", 40, swarm.seed)
        args = (shape, scaled.inputs, scaled.outputs, 5, 0, swarm.seed, split, batch)
        results.append(train_task(chunk, *args))
    np.testing.assert_array_equal(results[0].weights, results[1].weights)
    np.testing.assert_array_equal(results[0].prev_steps, results[1].prev_steps)
    np.testing.assert_array_equal(results[0].mse, results[1].mse)
    assert not np.array_equal(results[0].weights, xor_swarm().weights)


def test_cli_workers_equals_in_process_and_reports_cluster_figures(tmp_path: Path):
    runner = CliRunner()
    paths = [tmp_path / "local.h5", tmp_path / "cluster.h5"]
    for path in paths:
        spawned = runner.invoke(
            app,
            [
                *("swarm", "spawn", str(path), "--agents", "24", "--layers", "2,3,1"),
                *("--vary", "algorithm=rprop,quickprop", "--seed", "4", "--quiet"),
            ],
        )
        assert spawned.exit_code == 0, spawned.output
    common = ["--strategy", "evolve", "--rounds", "2", "--epochs-per-round", "5", "--quiet"]
    done = runner.invoke(app, ["swarm", "run", str(paths[0]), XOR, *common])
    assert done.exit_code == 0, done.output
    done = runner.invoke(
        app, ["swarm", "run", str(paths[1]), XOR, *common, "--workers", "2", "--json"]
    )
    assert done.exit_code == 0, done.output
    import json

    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [line["round"] for line in lines] == [1, 2]
    assert all(1 <= line["workers"] <= 2 and "ship_seconds" in line for line in lines)
    a, b = load_swarm(paths[0]), load_swarm(paths[1])
    assert_same(a, b, "CLI --workers 2")
    assert "workers" not in b.history[-1]  # run figures, not the swarm's history


def test_cli_scheduler_and_scheduler_file_reach_an_existing_cluster(clusters, tmp_path: Path):
    import json

    runner = CliRunner()
    address = str(clusters[2].scheduler.address)
    scheduler_file = tmp_path / "sched.json"
    scheduler_file.write_text(json.dumps({"address": address}))
    connections = {
        "local": [],
        "address": ["--scheduler", address],
        "file": ["--scheduler-file", str(scheduler_file)],
    }
    for name in connections:
        spawned = runner.invoke(
            app,
            [
                *("swarm", "spawn", str(tmp_path / f"{name}.h5"), "--agents", "20"),
                *("--seed", "8", "--layers", "2,4,1", "--vary", "algorithm=rprop,sarprop"),
                "--quiet",
            ],
        )
        assert spawned.exit_code == 0, spawned.output
    common = ["--strategy", "average", "--data-split", "bootstrap", "--rounds", "2", "--quiet"]
    for name, option in connections.items():
        done = runner.invoke(
            app, ["swarm", "run", str(tmp_path / f"{name}.h5"), XOR, *common, *option]
        )
        assert done.exit_code == 0, done.output
    local = load_swarm(tmp_path / "local.h5")
    for name in ("address", "file"):
        assert_same(local, load_swarm(tmp_path / f"{name}.h5"), name)


def test_without_dask_workers_exits_2_naming_the_extra(tmp_path: Path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "distributed" or name.startswith(("distributed.", "dask")):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    runner = CliRunner()
    path = tmp_path / "s.h5"
    spawned = runner.invoke(
        app, ["swarm", "spawn", str(path), "--agents", "4", "--layers", "2,2,1"]
    )
    assert spawned.exit_code == 0
    before = path.read_bytes()
    monkeypatch.setattr(builtins, "__import__", no_dask)
    for option in (["--workers", "2"], ["--scheduler", "tcp://127.0.0.1:8786"]):
        result = runner.invoke(app, ["swarm", "run", str(path), XOR, *option])
        assert result.exit_code == 2, result.output
        assert "pip install 'fannctl[dask]'" in result.stderr
        assert "Traceback" not in result.output
        assert path.read_bytes() == before


def test_a_scheduler_that_goes_away_leaves_whole_rounds(tmp_path: Path):
    """The run stops with ClusterError; what on_round saved is the last whole round,
    and running the missing rounds from it gives the uninterrupted result."""
    from fannctl.swarm import save_swarm

    data = io.load_data(XOR)
    config = RunConfig(strategy="evolve", rounds=3, epochs_per_round=4)
    cluster = _cluster(1)
    client = distributed.Client(cluster, timeout=60)
    saved = tmp_path / "s.h5"
    swarm = xor_swarm()

    def on_round(record) -> None:
        save_swarm(swarm, saved)
        if record.round == 1:
            cluster.close()

    try:
        with pytest.raises(ClusterError, match=r"went away|lost"):
            run(swarm, data, config, on_round=on_round, executor=_executor(client))
    finally:
        client.close(timeout=10)
        cluster.close()
    resumed = load_swarm(saved)
    assert resumed.round == 1
    run(resumed, data, RunConfig(strategy="evolve", rounds=2, epochs_per_round=4))
    whole = xor_swarm()
    run(whole, data, config)
    np.testing.assert_array_equal(resumed.weights, whole.weights)
    assert resumed.history[-1]["best_error"] == whole.history[-1]["best_error"]


def test_a_worker_killed_mid_round_costs_only_time(clusters):
    """SIGKILL the worker running a chunk: the chunk reruns elsewhere, nothing is lost."""
    client = clusters[2]
    data = io.load_data(THYROID)

    def slow_swarm():
        return spawn(4, layers=[21, 16, 3], seed=2, vary=[parse_vary("algorithm=rprop,quickprop")])

    config = RunConfig(strategy="evolve", rounds=1, epochs_per_round=150, chunk_agents=1)
    local = slow_swarm()
    run(local, data, config)
    pids = client.run(os.getpid)
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            busy = [
                worker
                for worker, keys in client.processing().items()
                if any("train_task" in str(key) for key in keys)
            ]
            if busy and busy[0] in pids:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(pids[busy[0]])
                return
            time.sleep(0.02)

    thread = threading.Thread(target=killer, daemon=True)
    remote = slow_swarm()
    thread.start()
    try:
        run(remote, data, config, executor=_executor(client))
    finally:
        thread.join(timeout=130)
    assert killed, "no worker was found running a chunk"
    assert killed[0] not in client.run(os.getpid).values()
    assert_same(local, remote, "a worker killed mid-round")


def test_a_missing_or_bad_scheduler_file_is_one_line_and_exit_2(tmp_path: Path):
    """Dask's own reader would wait forever for a scheduler file that is not there."""
    runner = CliRunner()
    path = tmp_path / "s.h5"
    spawned = runner.invoke(
        app, ["swarm", "spawn", str(path), "--agents", "4", "--layers", "2,2,1"]
    )
    assert spawned.exit_code == 0
    before = path.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    for scheduler_file, says in ((tmp_path / "none.json", "cannot read"), (bad, "not a Dask")):
        result = runner.invoke(
            app, ["swarm", "run", str(path), XOR, "--scheduler-file", str(scheduler_file)]
        )
        assert result.exit_code == 2, result.output
        assert str(scheduler_file) in result.stderr and says in result.stderr
        assert path.read_bytes() == before


@pytest.mark.parametrize("strategy", ["average", "evolve"])
def test_the_coordinator_holds_chunks_not_the_swarm(clusters, tmp_path, monkeypatch, strategy):
    """With the memory budget set small, a swarm whose arrays are many times it runs on
    the cluster with the coordinator's peak (tracemalloc: numpy, the client and the
    in-process scheduler all report to it) within a bound set by the budget, and ends
    with the bits of the in-process run of the swarm in memory. The same run with the
    swarm in memory goes past the bound: the test can fail."""
    import tracemalloc

    from fannctl.swarm import save_swarm, store
    from fannctl.swarm.topology import build as build_topology

    monkeypatch.setattr(store, "REDUCE_ROWS", 16)  # fixed sums: the same for every run
    data = io.load_data(XOR)
    config = RunConfig(strategy=strategy, rounds=2, epochs_per_round=2)

    def wide_swarm():
        swarm = spawn(
            900,
            layers=[2, 40, 24, 1],
            seed=6,
            vary=[parse_vary("learning_rate=0.2:0.9"), parse_vary("algorithm=rprop,batch")],
        )
        swarm.topology = build_topology("ring:2", 900, 6)
        return swarm

    local = wide_swarm()
    run(local, data, config, test_data=data)
    path = tmp_path / "s.h5"
    save_swarm(wide_swarm(), path)
    budget = 128 * 2**10
    bound = 48 * budget  # chunks in flight, their copies in Dask's messages, Dask's own

    def peak(swarm) -> int:
        tracemalloc.start()
        try:
            run(swarm, data, config, test_data=data, executor=_executor(clusters[2]))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    in_memory = peak(load_swarm(path))
    monkeypatch.setattr(store, "MEMORY_BUDGET", budget)
    monkeypatch.setattr(store, "CHUNK_BYTES", budget // 2)
    remote = load_swarm(path)
    assert isinstance(remote.weights, store.AgentArray)
    wide = 3 * remote.weights.nbytes + remote.steepness.nbytes  # what a round passes through
    assert wide > 90 * budget and wide > bound
    on_disk = peak(remote)
    assert on_disk < bound < in_memory, (on_disk, bound, in_memory)
    assert_same(local, remote, f"{strategy}, the swarm on disk")
