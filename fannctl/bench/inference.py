"""Inference and start-up cases: a trained mushroom network on ``.npy`` and on
text, ``fannctl run`` reading a pipe, one pattern end to end, ``--help``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fannctl.bench.case import ALL, Case, Context, Trial, command, saved
from fannctl.bench.training import WORKLOADS, start_network
from fannctl.errors import FannctlError


def trained_mushroom(ctx: Context) -> tuple[Path, Path]:
    """The mushroom net trained once (RPROP, 30 epochs), as .h5 and .net."""
    key = ("trained-mushroom",)
    if key not in ctx.cache:
        from fannctl import io
        from fannctl.train import train_epoch

        net = start_network(WORKLOADS["mushroom"], "rprop")
        data = ctx.data("mushroom.train.gz")
        for _ in range(30):
            train_epoch(net, data)
        h5, dot_net = ctx.tmp / "mushroom.h5", ctx.tmp / "mushroom.net"
        io.save_network(net, h5)
        io.save_network(net, dot_net)
        ctx.cache[key] = (h5, dot_net)
    return ctx.cache[key]


def _run_patterns(ctx: Context) -> tuple[Path, int]:
    """The mushroom test inputs repeated to the suite's pattern count, as .npy in
    float32, the network's own type (a float64 file is twice the bytes to read and
    a conversion more: what a user who wants speed would not store)."""
    count = ctx.size(50_000, 100_000, 1_000_000)
    path = ctx.tmp / f"mushroom-{count}-float32.npy"
    if not path.exists():
        test = ctx.data("mushroom.test.gz")
        reps = -(-count // test.num_patterns)
        np.save(path, np.tile(test.inputs, (reps, 1))[:count].astype(np.float32))
    return path, count


def _test_mse(ctx: Context, net_path: Path) -> float:
    from fannctl import jobs

    request = jobs.RunRequest(net_path, ctx.data_dir / "mushroom.test.gz", metrics=True)
    return float(jobs.run_file(request).mse)


def _run_fannctl(ctx: Context) -> Trial:
    from fannctl import jobs, stream

    net_path, _ = trained_mushroom(ctx)
    npy, count = _run_patterns(ctx)
    mse = _test_mse(ctx, net_path)
    state = {"device": ctx.device}
    # opened once, as libfann's side loads its network once: the body is the
    # batched run itself (reading the .npy included, which libfann's side is not)
    session = jobs.open_run(jobs.RunRequest(net_path, npy, device=ctx.device))

    def body() -> float:
        net = session.network
        blocks = stream.read_blocks(npy, net.num_input, net.num_output, defer_checks=True)
        done = sum(len(out) for out in session.block_outputs(blocks))
        if done != count:
            raise FannctlError(f"run answered {done} of {count} patterns")
        state["device"] = session.backend.name
        return mse

    connections = _connections(net_path)
    return Trial(body, count, device=lambda: state["device"], flops=2.0 * connections)


def _connections(path: Path) -> int:
    from fannctl import io

    return io.load_network(path).total_connections


def _run_libfann(ctx: Context) -> Trial:
    from fannctl.bench import libfann

    _, dot_net = trained_mushroom(ctx)
    npy, count = _run_patterns(ctx)
    test = ctx.data("mushroom.test.gz")
    reps = -(-count // test.num_patterns)
    inputs = np.load(npy)
    outputs = np.tile(test.outputs, (reps, 1))[:count]
    data = libfann.Data(inputs, outputs)
    net = libfann.Net(dot_net)

    def close() -> None:
        net.close()
        data.close()

    return Trial(
        lambda: net.test_data(data),
        count,
        device="libfann",
        flops=2.0 * net.connections,
        close=close,
    )


def _text_rows(ctx: Context) -> tuple[Path, int]:
    """The mushroom test inputs as plain text rows (what ``run`` reads as raw)."""
    count = ctx.size(20_000, 50_000, 200_000)
    path = ctx.tmp / f"mushroom-{count}.txt"
    if not path.exists():
        test = ctx.data("mushroom.test.gz")
        reps = -(-count // test.num_patterns)
        np.savetxt(path, np.tile(test.inputs, (reps, 1))[:count], fmt="%.9g")
    return path, count


def _text_fannctl(ctx: Context) -> Trial:
    from fannctl import jobs, stream

    net_path, _ = trained_mushroom(ctx)
    path, count = _text_rows(ctx)
    mse = _test_mse(ctx, net_path)
    state = {"device": ctx.device}

    def body() -> float:
        session = jobs.open_run(jobs.RunRequest(net_path, path, device=ctx.device))
        net = session.network
        blocks = stream.read_blocks(path, net.num_input, net.num_output, input_format="raw")
        done = sum(len(out) for out in session.outputs(block.inputs for block in blocks))
        if done != count:
            raise FannctlError(f"run answered {done} of {count} rows")
        state["device"] = session.backend.name
        return mse

    return Trial(body, path.stat().st_size / 1e6, device=lambda: state["device"])


def _text_numpy(ctx: Context) -> Trial:
    path, count = _text_rows(ctx)

    def body() -> None:
        rows = np.loadtxt(path, dtype=np.float32)
        if rows.shape[0] != count:
            raise FannctlError(f"numpy.loadtxt read {rows.shape[0]} of {count} rows")

    return Trial(body, path.stat().st_size / 1e6, device="numpy.loadtxt")


def _pipe_fannctl(ctx: Context) -> Trial:
    """``fannctl run xor.h5 -`` reading lines from a pipe, as a new process."""
    lines = ctx.size(100_000, 500_000, 1_000_000)
    net_path = saved(ctx, "pipe-xor", lambda: start_network(WORKLOADS["xor"], "rprop"), ".h5")
    text = b"1 -1\n" * lines

    def body() -> None:
        answered = command("run", str(net_path), "-", stdin=text).count(b"\n")
        if answered != lines:
            raise FannctlError(f"fannctl run - answered {answered} of {lines} lines")

    return Trial(body, lines, device="numpy")


def _latency_fannctl(ctx: Context) -> Trial:
    net_path, _ = trained_mushroom(ctx)
    row = ctx.data("mushroom.test.gz").inputs[0]
    line = (" ".join(repr(float(v)) for v in row) + "\n").encode()
    mse = _test_mse(ctx, net_path)

    def body() -> float:
        out = command("run", str(net_path), "-", stdin=line)
        if len(out.splitlines()) != 1:
            raise FannctlError(f"fannctl run - answered {len(out.splitlines())} lines, not 1")
        return mse

    return Trial(body, 1, device="numpy")


def _help_fannctl(ctx: Context) -> Trial:
    def body() -> None:
        command("--help")

    return Trial(body, 1, device="-")


def inference_cases() -> list[Case]:
    return [
        Case(
            "run/mushroom/npy",
            "patterns/s",
            "a trained mushroom net on .npy patterns (50k/100k/1M), opened once "
            "(jobs.open_run), outputs computed through stream.read_blocks and "
            "block_outputs (as fannctl run does: --threads N blocks at a time); "
            "libfann: fann_test_data",
            ALL,
            _run_fannctl,
            _run_libfann,
        ),
        Case(
            "run/mushroom/text",
            "MB/s",
            "the trained mushroom net on plain text rows (20k/50k/200k), read by "
            "stream.read_blocks and run; beside numpy.loadtxt reading the same file",
            ALL,
            _text_fannctl,
            reference=("numpy.loadtxt", _text_numpy),
        ),
        Case(
            "run/pipe",
            "lines/s",
            "cat lines | fannctl run xor.h5 - (a new process, 100k/500k/1M lines of '1 -1', "
            "one output line each)",
            ALL,
            _pipe_fannctl,
        ),
        Case(
            "run/one-pattern",
            "s",
            "one mushroom pattern end to end: echo ... | fannctl run net.h5 - (a new process)",
            ALL,
            _latency_fannctl,
        ),
        Case("cli/help", "s", "fannctl --help (a new process: start-up)", ALL, _help_fannctl),
    ]
