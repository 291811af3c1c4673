"""The named cases of ``fannctl bench``.

A case prepares a ``Trial`` per engine (fannctl, and libfann where it can do
the same job): ``reset`` puts the starting state back (untimed), ``body``
does the timed work and returns the final MSE, so speed never hides a worse
result. ``work`` says how much one body does in the case's unit (epochs,
patterns, agent-epochs); a unit of ``s`` is a latency (lower is better).
``flops`` (per unit of work) gives the case's GFLOP/s and its fraction of the
machine's matrix-multiply peak; ``updates`` gives connection updates per unit.

Every case runs on FANN's data sets as shipped in ``datasets/``. Networks
start from fannctl's +-0.1 weights, float32, saved once as a FANN ``.net``
file that libfann loads, so both engines train the same network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fannctl.errors import FannctlError

SUITES = ("quick", "standard", "full")


@dataclass
class Context:
    """What every case shares in one run: where the data and scratch files are,
    the device, the suite, and what is loaded or trained once."""

    data_dir: Path
    tmp: Path
    suite: str
    device: str = "numpy"
    cache: dict = field(default_factory=dict)

    def size(self, quick, standard, full):
        """The value for this run's suite."""
        return {"quick": quick, "standard": standard, "full": full}[self.suite]

    def data(self, name: str):
        """A data set (float32), loaded once."""
        key = ("data", name)
        if key not in self.cache:
            from fannctl import io

            path = self.data_dir / name
            if not path.exists():
                raise FannctlError(
                    f"{path}: benchmark data set not found (--data-dir: the folder "
                    "holding FANN's data sets, datasets/ in fannctl's source)"
                )
            self.cache[key] = io.load_data(path).astype(np.float32)
        return self.cache[key]

    def libfann_data(self, name: str, data=None):
        """The same data set as a libfann training set, made once."""
        key = ("libfann-data", name)
        if key not in self.cache:
            from fannctl.bench import libfann

            data = data if data is not None else self.data(name)
            self.cache[key] = libfann.Data(data.inputs, data.outputs)
        return self.cache[key]


@dataclass
class Trial:
    """One engine's prepared case."""

    body: Callable[[], float | None]
    work: float
    reset: Callable[[], None] = lambda: None
    device: Callable[[], str] | str = "numpy"
    flops: float | None = None
    updates: float | None = None
    close: Callable[[], None] = lambda: None
    extra: Callable[[], dict] | None = None
    """Facts about the last run worth reporting beside the timing (cascade's neurons)."""

    def device_name(self) -> str:
        return self.device() if callable(self.device) else self.device


@dataclass(frozen=True)
class Case:
    """A named benchmark: its unit, what it does, the suites it is in, and how
    to prepare it for fannctl and (where libfann can do it) for libfann."""

    name: str
    unit: str
    what: str
    suites: tuple[str, ...]
    fannctl: Callable[[Context], Trial]
    libfann: Callable[[Context], Trial] | None = None
    repeats: dict[str, int] | None = None  # per suite, when not the suite's own
    reference: tuple[str, Callable[[Context], Trial]] | None = None
    """Another engine timed beside fannctl in every run (not libfann): its name and trial."""

    @property
    def lower_is_better(self) -> bool:
        return self.unit == "s"


# -- training ------------------------------------------------------------------------
SIGMOID, SIGMOID_SYMMETRIC = "sigmoid", "sigmoid_symmetric"


@dataclass(frozen=True)
class Workload:
    """A data set, a network shape, its activations and epochs per suite."""

    data: str
    layers: tuple[int, ...]
    epochs: tuple[int, int, int]  # quick, standard, full
    hidden: str | None = SIGMOID_SYMMETRIC
    output: str | None = SIGMOID
    momentum: float = 0.0


WORKLOADS = {
    # FANN's examples: tanh hidden, sigmoid output (mushroom.c, thyroid), robot.c's
    # defaults with momentum 0.4 for incremental; XOR as in xor_train.c.
    "xor": Workload("xor.data", (2, 3, 1), (200, 1000, 5000), SIGMOID_SYMMETRIC, SIGMOID_SYMMETRIC),
    "mushroom": Workload("mushroom.train.gz", (125, 32, 2), (10, 30, 150)),
    "thyroid": Workload("thyroid.train.gz", (21, 32, 3), (20, 100, 500)),
    "census-house": Workload("census-house.train.gz", (16, 32, 1), (10, 30, 150)),
    "robot": Workload("robot.train.gz", (48, 96, 3), (2, 5, 30), None, None, 0.4),
}
ALGORITHMS = ("incremental", "batch", "rprop", "quickprop", "sarprop")


def start_network(work: Workload, algorithm: str, seed: int = 1):
    """The starting network (float32, fannctl's +-0.1 weights)."""
    from fannctl import network
    from fannctl.params import algorithm_id

    net = network.create(list(work.layers), rng=np.random.default_rng(seed), dtype="float32")
    if work.hidden is not None:
        for index in range(1, len(work.layers) - 1):
            network.set_activation(net, index, work.hidden)
    if work.output is not None:
        network.set_activation(net, len(work.layers) - 1, work.output)
    net.params.training_algorithm = algorithm_id(algorithm)
    net.params.learning_momentum = work.momentum
    return net


def _saved(ctx: Context, key: str, make: Callable[[], object], suffix: str = ".net") -> Path:
    """A network made once per run and saved under ``ctx.tmp`` (for libfann, a subprocess)."""
    path = ctx.tmp / f"{key.replace('/', '-')}{suffix}"
    if not path.exists():
        from fannctl import io

        io.save_network(make(), path)
    return path


def _train_fannctl(name: str, algorithm: str) -> Callable[[Context], Trial]:
    def prepare(ctx: Context) -> Trial:
        from fannctl import devices
        from fannctl.train import TrainConfig, train

        work = WORKLOADS[name]
        data = ctx.data(work.data)
        epochs = ctx.size(*work.epochs)
        start = start_network(work, algorithm)
        backend = devices.resolve(ctx.device)
        # ``fannctl train``'s loop (a device keeps the whole run); a negative
        # target never stops early, like libfann's loop of fann_train_epoch
        config = TrainConfig(max_epochs=epochs, desired_error=-1.0, report_every=0)
        state = {}

        def reset() -> None:
            state["net"] = start.copy()

        def body() -> float:
            result = train(state["net"], data, config, backend=backend)
            if result.epochs != epochs:
                raise FannctlError(f"train/{name}/{algorithm} stopped after {result.epochs} epochs")
            return result.mse

        connections = start.total_connections * data.num_patterns
        return Trial(body, epochs, reset, lambda: backend.name, 6.0 * connections, connections)

    return prepare


def _train_libfann(name: str, algorithm: str) -> Callable[[Context], Trial]:
    def prepare(ctx: Context) -> Trial:
        from fannctl.bench import libfann

        work = WORKLOADS[name]
        data = ctx.data(work.data)
        epochs = ctx.size(*work.epochs)
        path = _saved(ctx, f"train-{name}-{algorithm}", lambda: start_network(work, algorithm))
        fann_data = ctx.libfann_data(work.data)
        state: dict = {}

        def reset() -> None:
            if "net" in state:
                state["net"].close()
            state["net"] = libfann.Net(path)

        def body() -> float:
            net = state["net"]
            mse = float("nan")
            for _ in range(epochs):
                mse = net.train_epoch(fann_data)
            return mse

        connections = start_network(work, algorithm).total_connections * data.num_patterns
        return Trial(body, epochs, reset, "libfann", 6.0 * connections, connections)

    return prepare


def _training_cases() -> list[Case]:
    cases = []
    plan = {
        "xor": (ALGORITHMS, ("rprop",)),
        "mushroom": (("batch", "rprop", "quickprop", "sarprop"), ("rprop",)),
        "thyroid": (("batch", "rprop", "quickprop", "sarprop"), ("rprop",)),
        "census-house": (("batch", "rprop", "quickprop", "sarprop"), ()),
        "robot": (("incremental",), ("incremental",)),
    }
    for name, (algorithms, quick) in plan.items():
        work = WORKLOADS[name]
        for algorithm in algorithms:
            in_suites = (("quick",) if algorithm in quick else ()) + ("standard", "full")
            layers = "-".join(map(str, work.layers))
            cases.append(
                Case(
                    f"train/{name}/{algorithm}",
                    "epochs/s",
                    f"{algorithm} epochs of a {layers} net on {work.data}",
                    in_suites,
                    _train_fannctl(name, algorithm),
                    _train_libfann(name, algorithm),
                )
            )
    return cases


# -- cascade -------------------------------------------------------------------------


@dataclass(frozen=True)
class Growth:
    """A cascade workload: the starting shortcut net and how many neurons to grow."""

    data: str
    layers: tuple[int, int]
    neurons: tuple[int, int, int]  # quick, standard, full
    params: dict = field(default_factory=dict)
    output: str | None = None
    output_steepness: float | None = None


GROWTHS = {
    # FANN's cascade example on two-spiral: linear output, linear error function,
    # bit-fail stop at 0.4; thyroid with FANN's defaults.
    "two-spiral": Growth(
        "two-spiral.train.gz",
        (2, 1),
        (2, 5, 30),
        {"train_error_function": 0, "train_stop_function": 1, "bit_fail_limit": 0.4},
        "linear",
        0.5,
    ),
    "thyroid": Growth("thyroid.train.gz", (21, 3), (1, 3, 10)),
}


def cascade_network(growth: Growth, seed: int = 1):
    from fannctl import network

    net = network.create(
        list(growth.layers), shortcut=True, dtype="float32", rng=np.random.default_rng(seed)
    )
    if growth.output is not None:
        network.set_activation(net, 1, growth.output, growth.output_steepness)
    for name, value in growth.params.items():
        setattr(net.params, name, value)
    return net


def _cascade_fannctl(name: str) -> Callable[[Context], Trial]:
    def prepare(ctx: Context) -> Trial:
        from fannctl.cascade import CascadeConfig, cascade_train

        growth = GROWTHS[name]
        data = ctx.data(growth.data)
        neurons = ctx.size(*growth.neurons)
        start = cascade_network(growth)
        state: dict = {"device": ctx.device}

        def reset() -> None:
            state["net"] = start.copy()

        def body() -> float:
            # desired error 0: every run grows ``neurons`` neurons (fewer only if it
            # reaches a bit fail of 0 first, with two-spiral's bit stop)
            config = CascadeConfig(neurons, 0.0, neurons_between_reports=0)
            result = cascade_train(state["net"], data, config, seed=1, device=ctx.device)
            state["device"] = result.device
            state["neurons"] = result.neurons_added
            return float(result.mse)

        def extra() -> dict:
            return {"neurons_added": state.get("neurons")}

        return Trial(body, 1, reset, lambda: state["device"], extra=extra)

    return prepare


def _cascade_libfann(name: str) -> Callable[[Context], Trial]:
    def prepare(ctx: Context) -> Trial:
        from fannctl.bench import libfann

        growth = GROWTHS[name]
        neurons = ctx.size(*growth.neurons)
        path = _saved(ctx, f"cascade-{name}", lambda: cascade_network(growth))
        fann_data = ctx.libfann_data(growth.data)
        state: dict = {}

        def reset() -> None:
            if "net" in state:
                state["net"].close()
            state["net"] = libfann.Net(path)

        def body() -> float:
            net = state["net"]
            before = net.neurons
            mse = net.cascade(fann_data, neurons, 0.0, seed=1)
            state["neurons"] = net.neurons - before
            return mse

        def extra() -> dict:
            return {"neurons_added": state.get("neurons")}

        return Trial(body, 1, reset, "libfann", extra=extra)

    return prepare


def _cascade_cases() -> list[Case]:
    return [
        Case(
            f"cascade/{name}",
            "s",
            f"grow a {'-'.join(map(str, g.layers))} shortcut net on {g.data} by a fixed "
            "number of neurons (quick/standard/full: " + "/".join(map(str, g.neurons)) + ")",
            ("quick", "standard", "full") if name == "two-spiral" else ("standard", "full"),
            _cascade_fannctl(name),
            _cascade_libfann(name),
            {"quick": 2, "standard": 3, "full": 3},
        )
        for name, g in GROWTHS.items()
    ]


# -- inference -----------------------------------------------------------------------


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
    """The mushroom test inputs repeated to the suite's pattern count, as .npy."""
    count = ctx.size(50_000, 100_000, 1_000_000)
    path = ctx.tmp / f"mushroom-{count}.npy"
    if not path.exists():
        test = ctx.data("mushroom.test.gz")
        reps = -(-count // test.num_patterns)
        np.save(path, np.tile(test.inputs, (reps, 1))[:count])
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

    def body() -> float:
        session = jobs.open_run(jobs.RunRequest(net_path, npy, device=ctx.device))
        net = session.network
        blocks = stream.read_blocks(npy, net.num_input, net.num_output)
        done = sum(len(out) for out in session.outputs(block.inputs for block in blocks))
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
    net_path = _saved(ctx, "pipe-xor", lambda: start_network(WORKLOADS["xor"], "rprop"), ".h5")
    text = b"1 -1\n" * lines

    def body() -> None:
        answered = _command("run", str(net_path), "-", stdin=text).count(b"\n")
        if answered != lines:
            raise FannctlError(f"fannctl run - answered {answered} of {lines} lines")

    return Trial(body, lines, device="numpy")


def _command(*args: str, stdin: bytes | None = None) -> bytes:
    """Run ``fannctl ARGS`` as a new process (this Python, this fannctl)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run(
        [sys.executable, "-m", "fannctl", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
    )
    if done.returncode != 0:
        line = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise FannctlError(f"fannctl {' '.join(args)} failed ({done.returncode}): {line[0]}")
    return done.stdout


def _latency_fannctl(ctx: Context) -> Trial:
    net_path, _ = trained_mushroom(ctx)
    row = ctx.data("mushroom.test.gz").inputs[0]
    line = (" ".join(repr(float(v)) for v in row) + "\n").encode()
    mse = _test_mse(ctx, net_path)

    def body() -> float:
        out = _command("run", str(net_path), "-", stdin=line)
        if len(out.splitlines()) != 1:
            raise FannctlError(f"fannctl run - answered {len(out.splitlines())} lines, not 1")
        return mse

    return Trial(body, 1, device="numpy")


def _help_fannctl(ctx: Context) -> Trial:
    def body() -> None:
        _command("--help")

    return Trial(body, 1, device="-")


# -- swarm ---------------------------------------------------------------------------
SWARM_AGENTS = 10_000


def _swarm_fannctl(ctx: Context) -> Trial:
    from fannctl import swarm

    data = ctx.data("xor.data")
    epochs = ctx.size(10, 100, 1000)
    state: dict = {}

    def reset() -> None:
        state["swarm"] = swarm.spawn(
            SWARM_AGENTS,
            layers=[2, 3, 1],
            hidden_activation=SIGMOID_SYMMETRIC,
            output_activation=SIGMOID_SYMMETRIC,
            seed=1,
        )

    def body() -> float:
        population = state["swarm"]
        swarm.run(population, data, swarm.RunConfig(rounds=1, epochs_per_round=epochs))
        return float(np.median(population.errors))

    connections = 13 * data.num_patterns  # 2-3-1 with biases: 3*3 + 4*1
    return Trial(body, SWARM_AGENTS * epochs, reset, "numpy", 6.0 * connections, connections)


def _swarm_libfann(ctx: Context) -> Trial:
    from fannctl.bench import libfann

    data = ctx.data("xor.data")
    epochs = ctx.size(10, 100, 1000)
    work = WORKLOADS["xor"]
    path = _saved(ctx, "swarm-xor", lambda: start_network(work, "rprop"))
    fann_data = ctx.libfann_data("xor.data")
    state: dict = {"nets": []}

    def reset() -> None:
        for net in state["nets"]:
            net.close()
        state["nets"] = libfann.Net.copies(path, SWARM_AGENTS, seed=1)

    def body() -> float:
        return float(np.median([net.train_on_data(fann_data, epochs) for net in state["nets"]]))

    def close() -> None:
        for net in state["nets"]:
            net.close()

    connections = 13 * data.num_patterns
    return Trial(
        body, SWARM_AGENTS * epochs, reset, "libfann", 6.0 * connections, connections, close
    )


ALL = ("quick", "standard", "full")
CASES: dict[str, Case] = {
    case.name: case
    for case in [
        *_training_cases(),
        *_cascade_cases(),
        Case(
            "run/mushroom/npy",
            "patterns/s",
            "a trained mushroom net on .npy patterns (50k/100k/1M), outputs computed "
            "through jobs.open_run and stream.read_blocks; libfann: fann_test_data",
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
        Case(
            "swarm/xor",
            "agent-epochs/s",
            f"{SWARM_AGENTS:,} XOR agents of 2-3-1, RPROP, 10/100/1000 epochs; "
            "libfann: fann_train_on_data on each agent in turn",
            ALL,
            _swarm_fannctl,
            _swarm_libfann,
            {"quick": 2, "standard": 3, "full": 3},
        ),
    ]
}


def default_data_dir() -> Path:
    """``datasets/`` of the source checkout fannctl runs from."""
    return Path(__file__).resolve().parents[2] / "datasets"
