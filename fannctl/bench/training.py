"""Training cases: epochs of each algorithm on FANN's data sets, cascade growth,
and a swarm of XOR agents, each beside libfann's loop over the same network.

Networks start from fannctl's +-0.1 weights, float32, saved once as a FANN
``.net`` file that libfann loads, so both engines train the same network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from fannctl.bench.case import ALL, Case, Context, Trial, saved
from fannctl.errors import FannctlError

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
        path = saved(ctx, f"train-{name}-{algorithm}", lambda: start_network(work, algorithm))
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


def training_cases() -> list[Case]:
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
        path = saved(ctx, f"cascade-{name}", lambda: cascade_network(growth))
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


def cascade_cases() -> list[Case]:
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


# -- swarm ---------------------------------------------------------------------------
SWARM_AGENTS = 10_000
# the large case: 10-20-15-10-5 agents on 1,000 random patterns
LARGE = Workload("(random 1,000 x 10 -> 5)", (10, 20, 15, 10, 5), (1, 1, 1))
LARGE_PATTERNS = 1_000
LARGE_LIBFANN_AGENTS = 100  # libfann trains agent after agent: a sample gives its rate


def _swarm_device(ctx: Context) -> str | None:
    """RunConfig.device for the bench's --device (None: numpy's own trainer)."""
    return None if ctx.device == "numpy" else ctx.device


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
        config = swarm.RunConfig(rounds=1, epochs_per_round=epochs, device=_swarm_device(ctx))
        swarm.run(population, data, config)
        return float(np.median(population.errors))

    connections = 13 * data.num_patterns  # 2-3-1 with biases: 3*3 + 4*1
    return Trial(body, SWARM_AGENTS * epochs, reset, ctx.device, 6.0 * connections, connections)


def _large_data(ctx: Context):
    """The large case's data set: 1,000 random patterns, 10 inputs, 5 outputs."""
    key = ("swarm-large-data",)
    if key not in ctx.cache:
        from fannctl.data import TrainingData

        rng = np.random.default_rng(1)
        ctx.cache[key] = TrainingData(
            rng.uniform(-1, 1, (LARGE_PATTERNS, 10)).astype(np.float32),
            rng.uniform(0, 1, (LARGE_PATTERNS, 5)).astype(np.float32),
        )
    return ctx.cache[key]


def _large_connections() -> int:
    layers = LARGE.layers
    return sum(n * (m + 1) for m, n in pairwise(layers))


def _peak_memory() -> dict:
    import resource

    return {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def _swarm_large_fannctl(ctx: Context) -> Trial:
    from fannctl import swarm

    data = _large_data(ctx)
    agents = ctx.size(1_000, 10_000, 100_000)
    state: dict = {}

    def reset() -> None:
        state.pop("swarm", None)  # the last one's memory first
        state["swarm"] = swarm.spawn(
            agents,
            layers=list(LARGE.layers),
            hidden_activation=LARGE.hidden,
            output_activation=LARGE.output,
            seed=2,
        )
        state["swarm"].ensure_state()  # a round of a running swarm allocates nothing

    def body() -> float:
        population = state["swarm"]
        config = swarm.RunConfig(rounds=1, epochs_per_round=1, device=_swarm_device(ctx))
        swarm.run(population, data, config)
        return float(np.median(population.errors))

    per_agent = _large_connections() * LARGE_PATTERNS
    return Trial(body, agents, reset, ctx.device, 6.0 * per_agent, per_agent, extra=_peak_memory)


def _swarm_large_libfann(ctx: Context) -> Trial:
    from fannctl.bench import libfann

    data = _large_data(ctx)
    path = saved(ctx, "swarm-large", lambda: start_network(LARGE, "rprop"))
    key = ("libfann-data", "swarm-large")
    if key not in ctx.cache:
        ctx.cache[key] = libfann.Data(data.inputs, data.outputs)
    per_agent = _large_connections() * LARGE_PATTERNS
    return _libfann_loop(path, ctx.cache[key], LARGE_LIBFANN_AGENTS, 1, per_agent)


def _libfann_loop(path, fann_data, agents: int, epochs: int, per_agent: float) -> Trial:
    """libfann's answer to a swarm: ``agents`` copies of the network at ``path``
    (weights drawn by libfann), each trained ``epochs`` epochs in turn."""
    from fannctl.bench import libfann

    state: dict = {"nets": []}

    def close() -> None:
        for net in state["nets"]:
            net.close()

    def reset() -> None:
        close()
        state["nets"] = libfann.Net.copies(path, agents, seed=1)

    def body() -> float:
        return float(np.median([net.train_on_data(fann_data, epochs) for net in state["nets"]]))

    return Trial(body, agents * epochs, reset, "libfann", 6.0 * per_agent, per_agent, close)


def _swarm_libfann(ctx: Context) -> Trial:
    data = ctx.data("xor.data")
    path = saved(ctx, "swarm-xor", lambda: start_network(WORKLOADS["xor"], "rprop"))
    epochs = ctx.size(10, 100, 1000)
    connections = 13 * data.num_patterns
    return _libfann_loop(path, ctx.libfann_data("xor.data"), SWARM_AGENTS, epochs, connections)


def swarm_cases() -> list[Case]:
    return [
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
        Case(
            "swarm/large",
            "agent-epochs/s",
            "1,000/10,000/100,000 agents of 10-20-15-10-5 (tanh hidden, sigmoid output, "
            f"RPROP), one epoch on {LARGE_PATTERNS:,} random patterns (4.5 MFLOP an "
            f"agent-epoch); libfann: fann_train_on_data on {LARGE_LIBFANN_AGENTS} agents "
            "in turn; peak_rss_mb: the bench process's peak so far",
            ALL,
            _swarm_large_fannctl,
            _swarm_large_libfann,
            {"quick": 2, "standard": 3, "full": 3},
        ),
    ]
