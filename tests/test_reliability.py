"""Reliability: interrupt and resume, one writer per file, numerical and resource faults.

Each test names the failure it guards against (issue 14).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fannctl import checkpoint, io, lock, provenance
from fannctl import train as train_mod
from fannctl.errors import FannctlError, ParameterError
from fannctl.network import build
from fannctl.params import TrainingParams

ROOT = Path(__file__).resolve().parent.parent
XOR = ROOT / "datasets" / "xor.data"


def _noisy_data():
    """16 patterns with random targets: no network fits them, so runs never stop early."""
    from fannctl.data import TrainingData

    rng = np.random.default_rng(7)
    return TrainingData(rng.uniform(-1, 1, (16, 2)), rng.uniform(-0.9, 0.9, (16, 1)), "noisy")


def _xor_net(algorithm: str = "rprop", seed: int = 1, **params: float):
    net = build(
        [2, 3, 1],
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid_symmetric",
        seed=seed,
    )
    net.params = net.params.replace(training_algorithm=algorithm, **params)
    train_mod.seed_generator(net, seed)
    return net


def _stop_after(epochs: set[int]):
    """A should_stop that answers yes after each of the given epoch counts (of the run)."""
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] in epochs

    return should_stop


def _run_interrupted(path: Path, data, config: train_mod.TrainConfig, stops: list[int]) -> object:
    """Train the network in ``path`` to the end, stopped after each epoch in ``stops``,
    saving a checkpoint at each stop and resuming from the file each time."""
    pending = list(stops)
    while True:
        net = io.load_network(path)
        record = checkpoint.run_record(net)
        start = record.epochs_done if record else 0
        run_config = train_mod.TrainConfig(
            config.max_epochs, config.desired_error, config.report_every, start_epoch=start
        )
        saver = checkpoint.Checkpointer(
            net, path, max_epochs=config.max_epochs, offset=0, command="test", algorithm="x"
        )
        stop_at = {pending.pop(0) - start} if pending else set()
        result = train_mod.train(
            net, data, run_config, should_stop=_stop_after(stop_at), on_checkpoint=saver
        )
        if not result.stopped:
            provenance.add_history(net, result.history, "x", 0)
            net.state.run = None
            io.save_network(net, path)
            return net
        saver(result.epochs, result.history, reason="interrupted")


@pytest.mark.parametrize(
    ("algorithm", "stops"),
    [
        ("rprop", [1, 77, 78, 299]),
        ("quickprop", [50, 151]),
        ("batch", [10]),
        ("incremental", [3, 200]),
        ("sarprop", [1, 42, 250]),
    ],
)
def test_interrupted_any_number_of_times_equals_never_interrupted(tmp_path, algorithm, stops):
    # Bug guarded: a resumed run restarting its epoch count, reseeding SARPROP or
    # losing RPROP's steps ends with other weights than an uninterrupted run.
    data = _noisy_data()
    config = train_mod.TrainConfig(max_epochs=300, desired_error=0.0, report_every=50)
    whole = _xor_net(algorithm)
    expected = train_mod.train(whole, data, config)
    assert expected.epochs == 300 and not expected.stopped
    path = tmp_path / "xor.h5"
    io.save_network(_xor_net(algorithm), path)
    resumed = _run_interrupted(path, data, config, stops)
    assert resumed.weights.dtype == whole.weights.dtype
    assert resumed.weights.tobytes() == whole.weights.tobytes()
    assert [h["epoch"] for h in resumed.history] == [r.epoch for r in expected.history]
    assert checkpoint.run_record(io.load_network(path)) is None


def test_stop_ends_after_the_epoch_and_checkpoint_holds_that_epoch(tmp_path):
    # Bug guarded: a stop saving the weights of one epoch with the state of another.
    data = io.load_data(XOR)
    net = _xor_net()
    path = tmp_path / "x.h5"
    saver = checkpoint.Checkpointer(
        net, path, max_epochs=100, offset=5, command="fannctl train x.h5", algorithm="rprop"
    )
    config = train_mod.TrainConfig(100, 0.0, 10)
    result = train_mod.train(net, data, config, should_stop=_stop_after({33}))
    assert result.stopped and result.epochs == 33
    saver(result.epochs, result.history, reason="interrupted")
    saved = io.load_network(path)
    record = checkpoint.run_record(saved)
    assert record == checkpoint.RunRecord(
        33, 100, 5, "fannctl train x.h5", record.time, "interrupted"
    )
    assert saved.weights.tobytes() == net.weights.tobytes()
    assert saved.state.prev_steps.tobytes() == net.state.prev_steps.tobytes()
    assert [h["epoch"] for h in saved.history] == [6, 15, 25, 35]
    assert net.state.run is None  # the checkpoint copied the state, the run's net is unchanged


def test_checkpoint_every_epochs_calls_back_at_multiples():
    data = io.load_data(XOR)
    seen = []
    config = train_mod.TrainConfig(
        50, 0.0, 0, checkpoint_every=checkpoint.CheckpointEvery(epochs=20)
    )
    train_mod.train(_xor_net(), data, config, on_checkpoint=lambda e, r: seen.append(e))
    assert seen == [20, 40]  # never at the last epoch: the final save follows anyway


def test_checkpoint_every_seconds():
    every = checkpoint.CheckpointEvery(seconds=30)
    assert not every.due(7, 29.9) and every.due(8, 30.0)
    assert checkpoint.parse_every("30s") == checkpoint.CheckpointEvery(seconds=30.0)
    assert checkpoint.parse_every("5m") == checkpoint.CheckpointEvery(seconds=300.0)
    assert checkpoint.parse_every("100") == checkpoint.CheckpointEvery(epochs=100)
    for bad in ("0", "-5", "1.5", "ten", "0s", ""):
        with pytest.raises(ParameterError, match="--checkpoint-every"):
            checkpoint.parse_every(bad)


def test_resume_without_a_run_record_is_refused():
    net = _xor_net()
    with pytest.raises(ParameterError, match=r"x\.h5: holds no interrupted run"):
        checkpoint.resume_from(net, "x.h5", 100)
    net.state.run = checkpoint.RunRecord(150, 200).to_dict()
    with pytest.raises(ParameterError, match="more than --max-epochs 100"):
        checkpoint.resume_from(net, "x.h5", 100)
    assert checkpoint.resume_from(net, "x.h5", 200).epochs_done == 150


def test_resume_hint_adds_resume_once():
    assert checkpoint.resume_hint("fannctl train x.h5 d") == "fannctl train x.h5 d --resume"
    assert checkpoint.resume_hint("fannctl train x.h5 d --resume") == (
        "fannctl train x.h5 d --resume"
    )


def test_signal_sets_the_stop_request_and_a_second_one_is_not_caught():
    with checkpoint.stop_on_signals() as stop:
        assert not stop()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop() and stop.exit_code == 143 and stop.signal_name == "SIGTERM"
        # The handler put the previous one back: a second SIGINT acts at once.
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


# ---------------------------------------------------------------- numerical faults


def test_divergence_stops_and_keeps_the_last_finite_weights():
    # Bug guarded: a huge learning rate saving all-NaN weights (then `run` printed 1.0).
    data = io.load_data(XOR)
    net = _xor_net("batch", learning_rate=1e38)
    net.weights[:] = np.float32(1e30)
    before = net.weights.copy()
    result = train_mod.train(net, data, train_mod.TrainConfig(100, 0.0, 10))
    assert result.diverged is not None and "diverged in epoch" in result.diverged
    assert np.isfinite(net.weights).all()
    assert result.epochs < 100
    if result.epochs == 0:
        assert net.weights.tobytes() == before.tobytes()


def test_divergence_mid_run_keeps_the_previous_epoch():
    data = io.load_data(XOR)
    net = _xor_net("batch")
    reference = _xor_net("batch")
    config = train_mod.TrainConfig(20, 0.0, 0)
    calls = {"n": 0}
    real_epoch = train_mod.train_epoch

    def poisoned(net_, data_, **kwargs):
        calls["n"] += 1
        result = real_epoch(net_, data_, **kwargs)
        if calls["n"] == 7:
            net_.weights[2] = np.nan
        return result

    train_mod.train(reference, data, train_mod.TrainConfig(6, 0.0, 0))
    original = train_mod.train_epoch
    train_mod.train_epoch = poisoned
    try:
        result = train_mod.train(net, data, config)
    finally:
        train_mod.train_epoch = original
    assert result.epochs == 6
    assert "diverged in epoch 7" in result.diverged
    assert "1 weight(s) became NaN" in result.diverged
    assert net.weights.tobytes() == reference.weights.tobytes()


def test_allow_nan_keeps_going():
    data = io.load_data(XOR)
    net = _xor_net("batch")
    net.weights[:] = np.nan
    result = train_mod.train(net, data, train_mod.TrainConfig(5, 0.0, 0, allow_nan=True))
    assert result.diverged is None and result.epochs == 5
    assert np.isnan(net.weights).all()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (train_mod.TrainConfig(0), "--max-epochs must be at least 1"),
        (train_mod.TrainConfig(10, float("nan")), "--desired-error must be a finite"),
        (train_mod.TrainConfig(10, float("inf")), "--desired-error must be a finite"),
        (train_mod.TrainConfig(10, 0.1, -1), "--report-every must be at least 0"),
        (train_mod.TrainConfig(10, 0.1, 1, start_epoch=11), "cannot resume at epoch 11"),
    ],
)
def test_bad_train_config_is_refused(config, message):
    with pytest.raises(ParameterError, match=message):
        train_mod.train(_xor_net(), io.load_data(XOR), config)


# ---------------------------------------------------------------- one writer per file


def test_second_writer_is_refused_naming_the_holder(tmp_path):
    target = tmp_path / "x.h5"
    with lock.writer_lock(target, "fannctl train x.h5 xor.data") as held:
        assert held.taken_over is None
        assert Path(held.lock_path).name == ".x.h5.lock"
        with pytest.raises(lock.LockedError) as caught:
            lock.acquire(target, "fannctl train x.h5 other.data")
        assert caught.value.exit_code == 1
        message = str(caught.value)
        assert f"pid {os.getpid()}" in message and "fannctl train x.h5 xor.data" in message
        # Readers are never blocked.
        assert not target.exists() or target.read_bytes() is not None
    assert not Path(held.lock_path).exists()
    lock.release(lock.acquire(target, "again"))  # free again once released


def test_lock_held_by_another_process(tmp_path):
    target = tmp_path / "x.h5"
    script = textwrap.dedent(
        f"""
        import sys, time
        from fannctl import lock
        held = lock.acquire({str(target)!r}, "fannctl train x.h5 (child)")
        print("locked", flush=True)
        sys.stdin.readline()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(lock.LockedError, match=rf"pid {child.pid}: fannctl train x\.h5"):
            lock.acquire(target, "me")
    finally:
        child.stdin.close()
        child.wait(10)
    # The child exited without releasing (no unlink): its sidecar is stale, and a
    # temp file of a write it did not finish lies beside the target.
    (tmp_path / ".x.h5.abc123.tmp").write_bytes(b"half a file")
    (tmp_path / ".x.h5x.abc123.tmp").write_bytes(b"another file's")
    held = lock.acquire(target, "me")
    try:
        assert held.taken_over is not None
        assert f"stale lock on {target} left by pid {child.pid}" in held.taken_over
        assert "now gone" in held.taken_over
        assert "removed 1 temp file(s)" in held.taken_over
        assert sorted(p.name for p in tmp_path.iterdir()) == [".x.h5.lock", ".x.h5x.abc123.tmp"]
    finally:
        lock.release(held)


def test_lock_in_a_missing_folder_fails_before_work(tmp_path):
    with pytest.raises(FannctlError, match="no such directory"):
        lock.acquire(tmp_path / "missing" / "x.h5", "c")
    plain_file = tmp_path / "file"
    plain_file.write_text("")
    with pytest.raises(FannctlError, match="cannot write: Not a directory"):
        lock.acquire(plain_file / "x.h5", "c")  # unwritable even for root


def test_lock_in_a_read_only_folder_fails_before_work(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a read-only folder is writable")
        with pytest.raises(FannctlError, match="cannot write"):
            lock.acquire(folder / "x.h5", "c")
    finally:
        folder.chmod(0o755)


def test_params_defaults_are_valid():
    TrainingParams()  # the validation below must accept FANN's defaults


# ---------------------------------------------------------------- the command


def _fannctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fannctl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def _write_noisy(path: Path) -> None:
    io.save_data(_noisy_data(), path, exact=True)


def test_kill_9_at_random_moments_never_loses_the_file_and_resume_is_exact(tmp_path):
    # Bug guarded: a killed run leaving a truncated or half-written file, or a
    # resumed run ending anywhere but where an uninterrupted one ends.
    data_path = tmp_path / "noisy.data"
    _write_noisy(data_path)
    net_path = tmp_path / "x.h5"
    io.save_network(_xor_net(), net_path)
    epochs = 12000
    args = [
        "train", str(net_path), str(data_path), "--max-epochs", str(epochs),
        "--desired-error", "0", "--checkpoint-every", "100", "--report-every", "0", "-q",
    ]  # fmt: skip
    reference = _xor_net()
    train_mod.train(reference, io.load_data(data_path), train_mod.TrainConfig(epochs, 0.0, 0))

    rng = np.random.default_rng(2026)
    kills = survived = 0
    for _ in range(15):
        net = io.load_network(net_path)  # a valid network after every kill: old or new
        record = checkpoint.run_record(net)
        finished = record is None and any("epochs_total" in p for p in net.provenance)
        if finished:
            break
        resume = ["--resume"] if record is not None else []
        child = subprocess.Popen([sys.executable, "-m", "fannctl", *args, *resume], cwd=ROOT)
        try:
            child.wait(timeout=float(rng.uniform(0.3, 1.5)))
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
            kills += 1
            survived += 1
        else:
            assert child.returncode == 0
    else:
        result = _fannctl(*args, "--resume")
        assert result.returncode == 0, result.stderr
    final = io.load_network(net_path)
    assert checkpoint.run_record(final) is None
    print(f"kill -9 points survived: {survived}")
    assert kills >= 2, "the kills all missed the run: the test proved nothing"
    assert final.weights.tobytes() == reference.weights.tobytes()
    assert final.state.prev_steps.tobytes() == reference.state.prev_steps.tobytes()
    assert max(p.get("epochs_total", 0) for p in final.provenance) == epochs
    assert not list(tmp_path.glob(".x.h5*"))  # no lock or temp file left behind


def test_sigterm_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    data_path = tmp_path / "noisy.data"
    _write_noisy(data_path)
    net_path = tmp_path / "x.h5"
    io.save_network(_xor_net(), net_path)
    child = subprocess.Popen(
        [sys.executable, "-m", "fannctl", "train", str(net_path), str(data_path),
         "--max-epochs", "1000000", "--desired-error", "0", "--report-every", "0"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock_file = tmp_path / ".x.h5.lock"
    for _ in range(200):
        if lock_file.exists() and lock_file.read_text().strip():
            break
        subprocess.run(["sleep", "0.05"])
    subprocess.run(["sleep", "0.5"])
    # A second writer is refused at once, naming the first; a reader is not blocked.
    second = _fannctl("train", str(net_path), str(data_path), "--max-epochs", "5")
    assert second.returncode == 1
    assert f"pid {child.pid}" in second.stderr and "another fannctl is writing" in second.stderr
    reader = _fannctl("run", str(net_path), str(data_path))
    assert reader.returncode == 0 and len(reader.stdout.splitlines()) == 16
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == 143
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "SIGTERM after epoch" in lines[0]
    assert lines[0].endswith("--resume") and "resume with: fannctl train" in lines[0]
    saved = io.load_network(net_path)
    record = checkpoint.run_record(saved)
    assert record is not None and record.reason == "interrupted" and record.epochs_done > 0
    assert not lock_file.exists()


def test_create_refuses_to_replace_without_force(tmp_path):
    path = tmp_path / "x.h5"
    io.save_network(_xor_net(seed=5), path)
    before = path.read_bytes()
    result = _fannctl("create", str(path), "--layers", "2,3,1")
    assert result.returncode == 2 and "use --force" in result.stderr
    assert path.read_bytes() == before
    result = _fannctl("create", str(path), "--layers", "2 4 1", "--force", "-q")
    assert result.returncode == 0, result.stderr
    assert io.load_network(path).layers == [2, 4, 1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--learning-rate", "nan"], "--learning-rate: must be a finite number"),
        (["--learning-rate", "-1"], "--learning-rate: must be >= 0"),
        (["--momentum", "inf"], "--momentum: must be a finite number"),
        (["--desired-error", "nan"], "--desired-error must be a finite number"),
        (["--max-epochs", "0"], "--max-epochs must be at least 1"),
        (["--rprop-delta-max", "-3"], "--rprop-delta-max: must be > 0"),
        (["--checkpoint-every", "soon"], "--checkpoint-every: expected a count"),
        (["-o", "/nonexistent/folder/y.h5"], "cannot write: no such directory"),
        (["-o", "y.net", "--checkpoint-every", "10"], "need an HDF5 file"),
        (["--seed", "-1"], "--seed must be a whole number >= 0"),
        (["--dtype", "float16"], "unknown dtype 'float16'"),
        (["--bit-fail-limit", "nan"], "--bit-fail-limit: must be a finite number"),
    ],
)
def test_bad_train_options_exit_2_before_any_write(tmp_path, args, message):
    path = tmp_path / "x.h5"
    io.save_network(_xor_net(), path)
    before = path.read_bytes()
    result = _fannctl("train", str(path), str(XOR), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5"]


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ("2,,1", "layer 2 is empty"),
        ("2,0,1", "layer 2 has 0 neurons"),
        ("2,-3,1", "layer 2 has -3 neurons"),
        ("2", "at least 2 layers"),
        ("2,100000000000,1", "GB to create and train"),
    ],
)
def test_bad_layer_sizes_are_refused(tmp_path, layers, message):
    result = _fannctl("create", str(tmp_path / "y.h5"), "--layers", layers)
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "y.h5").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "-1"], "--seed must be a whole number >= 0"),
        (["--hidden-steepness", "nan"], "--hidden-steepness must be a finite number"),
        (["--output-steepness", "-inf"], "--output-steepness must be a finite number"),
    ],
)
def test_bad_create_options_are_refused(tmp_path, args, message):
    # Bug guarded: --seed -1 ended in numpy's traceback; NaN steepness was stored.
    result = _fannctl("create", str(tmp_path / "y.h5"), "--layers", "2,3,1", *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "y.h5").exists()


def test_connection_rate_outside_0_1_is_refused(tmp_path):
    for rate in ("1.5", "0", "nan"):
        result = _fannctl(
            "create", str(tmp_path / "y.h5"), "-l", "2,3,1", "--connection-rate", rate
        )
        assert result.returncode == 2 and "--connection-rate must be above 0" in result.stderr


def test_diverging_run_exits_1_and_saves_finite_weights(tmp_path):
    path = tmp_path / "x.h5"
    net = _xor_net("batch")
    net.weights[:] = np.float32(1e30)
    io.save_network(net, path)
    result = _fannctl(
        "train", str(path), str(XOR), "--learning-rate", "1e38", "--max-epochs", "50", "-q"
    )
    assert result.returncode == 1, result.stderr
    assert "training diverged in epoch" in result.stderr
    assert np.isfinite(io.load_network(path).weights).all()


# ---------------------------------------------------------------- resource faults


def test_full_disk_leaves_the_original_intact(tmp_path):
    # A size-limited file stands in for a full disk: writes past the limit fail
    # with EFBIG (SIGXFSZ ignored), as ENOSPC would.
    data_path = tmp_path / "noisy.data"
    _write_noisy(data_path)
    path = tmp_path / "x.h5"
    io.save_network(_xor_net(), path)
    before = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
        sys.argv = ["fannctl", "train", {str(path)!r}, {str(data_path)!r}, "--max-epochs", "20"]
        from fannctl.cli.main import main
        main()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr
    assert "x.h5: cannot write" in result.stderr
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".x.h5.*.tmp"))


def test_data_file_vanishing_or_unreadable_is_one_line(tmp_path):
    path = tmp_path / "x.h5"
    io.save_network(_xor_net(), path)
    result = _fannctl("train", str(path), str(tmp_path / "gone.data"))
    assert result.returncode == 2 and "gone.data: no such file" in result.stderr
    folder = tmp_path / "data.data"
    folder.mkdir()
    result = _fannctl("train", str(path), str(folder))
    assert result.returncode == 2 and "is a directory" in result.stderr


def test_cascade_stops_between_phases_and_keeps_the_neurons_grown(tmp_path):
    # Bug guarded: Ctrl-C during cascade losing every neuron installed so far.
    from fannctl.cascade import CascadeConfig, cascade_train

    net = _shortcut_net()
    data = io.load_data(ROOT / "datasets" / "two-spiral.train.gz")
    asked = {"n": 0}

    def should_stop() -> bool:
        asked["n"] += 1
        return asked["n"] >= 4

    config = CascadeConfig(max_neurons=30, desired_error=0.0)
    result = cascade_train(net, data, config, seed=1, should_stop=should_stop)
    assert result.stopped and result.progress is not None
    assert result.neurons_added == 4 == result.progress.neurons  # asked after each install
    assert net.layers == [2, 1, 1, 1, 1, 1]
    assert result.progress.epochs == result.epochs > 0


@pytest.mark.parametrize("stops", [[2], [1, 3, 4]])
def test_cascade_interrupted_and_resumed_grows_the_same_network(tmp_path, stops):
    # Bug guarded: a resumed cascade drawing other candidate weights (its generator
    # restarted) or counting neurons afresh.
    from fannctl import jobs

    data = ROOT / "datasets" / "two-spiral.train.gz"
    whole = tmp_path / "whole.h5"
    io.save_network(_shortcut_net(), whole)
    request = jobs.CascadeRequest(whole, data, max_neurons=6, desired_error=0.0, seed=4)
    expected = jobs.cascade_file(request)
    assert not expected.stopped and expected.neurons_added == 6

    path = tmp_path / "cut.h5"
    io.save_network(_shortcut_net(), path)
    done = 0
    for stop_at in [*stops, None]:
        resume = done > 0
        request = jobs.CascadeRequest(
            path, data, max_neurons=6, desired_error=0.0, seed=4, resume=resume
        )
        calls = {"n": done}

        def should_stop(calls=calls, stop_at=stop_at) -> bool:
            calls["n"] += 1
            return calls["n"] == stop_at

        outcome = jobs.cascade_file(request, should_stop=should_stop)
        if stop_at is None:
            assert not outcome.stopped
            break
        assert outcome.stopped and outcome.neurons_added == stop_at
        saved = io.load_network(path)
        assert checkpoint.run_record(saved).kind == "cascade"
        done = stop_at
    final = io.load_network(path)
    reference = io.load_network(whole)
    assert final.layers == reference.layers
    assert final.weights.tobytes() == reference.weights.tobytes()
    assert checkpoint.run_record(final) is None
    assert [h["neurons"] for h in final.history] == [h["neurons"] for h in reference.history]


def _shortcut_net():
    from fannctl.network import build as build_net

    return build_net([2, 1], shortcut=True, output_activation="linear", seed=3)


def test_cascade_sigint_saves_and_exits_130(tmp_path):
    path = tmp_path / "s.h5"
    io.save_network(_shortcut_net(), path)
    before = io.load_network(path).layers
    child = subprocess.Popen(
        [sys.executable, "-m", "fannctl", "cascade", str(path),
         str(ROOT / "datasets" / "two-spiral.train.gz"), "--max-neurons", "200",
         "--desired-error", "0", "-q"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock_file = tmp_path / ".s.h5.lock"
    for _ in range(200):
        if lock_file.exists() and lock_file.read_text().strip():
            break
        subprocess.run(["sleep", "0.05"])
    subprocess.run(["sleep", "1.0"])
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    assert "SIGINT after" in stderr and "neurons: saved" in stderr
    assert stderr.strip().endswith("--resume")
    grown = io.load_network(path)
    assert len(grown.layers) > len(before)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-neurons", "-1"], "--max-neurons must be at least 0"),
        (["--desired-error", "nan"], "--desired-error must be a finite number"),
        (["--weight-multiplier", "nan"], "--weight-multiplier: must be a finite number"),
        (["--candidate-limit", "-5"], "--candidate-limit: must be > 0"),
        (["--output-change-fraction", "2"], "--output-change-fraction: must be >= 0 and <= 1"),
        (["--min-out-epochs", "-3"], "--min-out-epochs: must be a whole number >= 0"),
        (["--activation-steepnesses", "nan"], "--activation-steepnesses: each must be a finite"),
    ],
)
def test_bad_cascade_options_exit_2_and_leave_the_file(tmp_path, args, message):
    # Bug guarded: cascade accepted these and saved them into the network file.
    path = tmp_path / "c.h5"
    io.save_network(_shortcut_net(), path)
    before = path.read_bytes()
    result = _fannctl("cascade", str(path), str(XOR), *args, "-q")
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert path.read_bytes() == before
