"""Training speed on the OpenCL backend vs libfann 2.2 (float build) and fannctl's numpy.

Each workload starts from the same float32 network (saved as .net for
libfann); libfann runs through bench/fann_bench.c, the OpenCL device keeps the
whole run on the device (``DeviceRun``: the fused kernel or the layered one),
numpy runs ``train_epoch``. Only the training loops are timed, runs alternate
between engines and medians over --repeats are printed, since the machine may
be shared.

    PYTHONPATH=. .venv/bin/python bench/opencl_speed.py [--repeats 5] [--json]
        [--workloads xor,robot,mushroom-incremental,mushroom-batch] [--threads 1]

``--threads`` as the CLI's (default 1): numpy's BLAS threads, and PoCL's device
(one thread: the single-threaded ``basic`` device; more: ``pthread`` with that
many workers), so both engines compute on the same number of cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

import benchenv  # noqa: E402

from fannctl import devices, io, network  # noqa: E402
from fannctl.backends.numpy_backend import NumpyBackend  # noqa: E402
from fannctl.backends.opencl import run as opencl_run  # noqa: E402
from fannctl.data import TrainingData  # noqa: E402
from fannctl.train import train_epoch  # noqa: E402

XOR = TrainingData(
    np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], float), np.array([[-1], [1], [1], [-1]], float)
)
# name: (data, layers, hidden, output, algorithm, momentum, epochs per engine)
WORKLOADS = {
    "xor": ("xor", (2, 3, 1), 5, 5, {"rprop": 1_000_000}, 0.0),
    "robot": ("robot", (48, 96, 3), None, None, {"incremental": 100}, 0.4),
    "mushroom-incremental": ("mushroom", (125, 32, 2), 5, 3, {"incremental": 6}, 0.0),
    "mushroom-batch": (
        "mushroom",
        (125, 32, 2),
        5,
        3,
        {"rprop": 30, "quickprop": 30, "batch": 30},
        0.0,
    ),
}
ALGORITHMS = {"incremental": 0, "batch": 1, "rprop": 2, "quickprop": 3, "sarprop": 4}


def build(name: str, tmp: Path):
    data_name, layers, hidden, output, _, momentum = WORKLOADS[name]
    if data_name == "xor":
        data = XOR
        steepness = 1.0
    else:
        data = io.load_data(ROOT / "datasets" / f"{data_name}.train.gz")
        steepness = 0.5
    net = network.create(list(layers), rng=np.random.default_rng(1))
    if hidden is not None:
        network.set_activation(net, 1, hidden, steepness)
    if output is not None:
        network.set_activation(net, len(layers) - 1, output, steepness)
    net.params.learning_momentum = momentum
    io.save_network(net, tmp / f"{name}.net")
    io.save_data(data, tmp / f"{name}.data", exact=True)
    return net, data.astype("float32")


def libfann(exe: Path, tmp: Path, name: str, algorithm: str, epochs: int) -> float | None:
    momentum = WORKLOADS[name][5]
    cmd = [
        str(exe),
        str(tmp / f"{name}.net"),
        str(tmp / f"{name}.data"),
        str(epochs),
        str(ALGORITHMS[algorithm]),
        str(momentum),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return None
    fields = dict(item.split("=") for item in done.stdout.split())
    return float(fields["epochs_per_s"])


def device(backend, net, data, algorithm: str, epochs: int, fused: bool | None) -> float:
    trial = net.copy()
    trial.params.training_algorithm = ALGORITHMS[algorithm]
    run = opencl_run.DeviceRun(
        backend, [trial], data.inputs, data.outputs, desired_error=-1.0, fused=fused
    )
    run.advance(1)
    started = time.perf_counter()
    run.advance(epochs)
    run.status(0)
    return epochs / (time.perf_counter() - started)


def numpy_speed(net, data, algorithm: str, epochs: int) -> float:
    trial = net.copy()
    trial.params.training_algorithm = ALGORITHMS[algorithm]
    backend = NumpyBackend()
    train_epoch(trial, data, backend=backend)
    started = time.perf_counter()
    for _ in range(epochs):
        train_epoch(trial, data, backend=backend)
    return epochs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS and PoCL threads (0: the environment's)"
    )
    parser.add_argument(
        "--device", default="cl", help="cl (a GPU if there is one, as --device cl) or cl:N"
    )
    args = parser.parse_args()
    limits = benchenv.set_threads(args.threads)  # noqa: F841 (kept alive for the run)
    if not args.json:
        print(benchenv.describe(), flush=True)
    kind, index = devices.parse(args.device)
    if kind != "cl":
        raise SystemExit("--device takes cl or cl:N")
    backend = devices.chain(index)[0]
    if backend.name == "numpy":
        raise SystemExit(f"no OpenCL device: {devices.registry.why_none()}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        exe = None
        if shutil.which("gcc"):
            exe = tmp / "fann_bench"
            try:
                source = str(ROOT / "bench" / "fann_bench.c")
                subprocess.run(
                    ["gcc", "-O2", source, "-o", str(exe), "-lfann", "-lm"],
                    check=True,
                    capture_output=True,
                )
            except subprocess.CalledProcessError:
                exe = None  # no libfann here (libfann-dev): the other engines still run
                print("# libfann not found: its column is left out", file=sys.stderr)
        for name in args.workloads.split(","):
            net, data = build(name, tmp)
            for algorithm, epochs in WORKLOADS[name][4].items():
                samples: dict[str, list[float]] = {}
                engines = ["libfann", "cl fused"]
                if algorithm != "incremental" and epochs <= 1000:
                    engines += ["cl layered", "numpy"]
                for _ in range(args.repeats):
                    for engine in engines:
                        if engine == "libfann":
                            value = libfann(exe, tmp, name, algorithm, epochs) if exe else None
                        elif engine == "numpy":
                            value = numpy_speed(net, data, algorithm, epochs)
                        else:
                            fused = engine == "cl fused"
                            value = device(backend, net, data, algorithm, epochs, fused)
                        if value is not None:
                            samples.setdefault(engine, []).append(value)
                medians = {k: statistics.median(v) for k, v in samples.items()}
                rows.append(
                    {
                        "workload": name,
                        "algorithm": algorithm,
                        "device": f"{backend.name} {backend.description}",
                        "epochs_per_s": medians,
                    }
                )
                if not args.json:
                    text = ", ".join(f"{k} {v:,.1f}" for k, v in medians.items())
                    print(
                        f"{name:22s} {algorithm:12s} [{backend.name} {backend.info.name}] "
                        f"epochs/s (median of {args.repeats}): {text}",
                        flush=True,
                    )
    if args.json:
        print(json.dumps({"device": backend.description, "rows": rows}))
    else:
        print(f"device: {backend.name} {backend.description}")


if __name__ == "__main__":
    main()
