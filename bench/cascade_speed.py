"""Side-by-side cascade training: libfann 2.2 (double build) vs fannctl (numpy).

Two workloads from the issue. ``two-spiral``: FANN's cascade example settings on
two-spiral as shipped (shortcut 2->1, linear output, linear error function, bit
stop at limit 0.4, desired bit fail 0, up to 30 neurons). ``thyroid``: FANN's
defaults on thyroid (shortcut 21->3), growing exactly 10 neurons (desired error 0).

For each repeat fannctl builds the starting shortcut net (seed ``--seed + repeat``),
saves it as a FANN ``.net`` and both engines grow it: libfann through
``bench/fann_cascade.c`` (compiled here with ``gcc -O2 -ldoublefann``; only
``fann_cascadetrain_on_data`` is timed, after ``srand(seed)``) and fannctl in this
process (only ``cascade_train`` is timed). With ``--draws fann`` (the
default) fannctl takes its candidate weights from the C library's ``rand()``
after ``srand(seed)``, the numbers libfann draws, so both engines start every
candidate pool from the same weights and do the same work up to rounding
(fannctl in float32 drifts from libfann's doubles over the run, so epoch
counts still differ a little); ``--draws own`` uses fannctl's own generator.
The engines alternate; medians are reported. Defaults follow the CLI's: one
BLAS thread, float32.

    PYTHONPATH=. .venv/bin/python bench/cascade_speed.py [--quick] [--json]
        [--workloads two-spiral,thyroid] [--repeats 3] [--threads 1]
        [--dtype float32] [--draws fann|own]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import benchenv  # noqa: E402

from fannctl import network  # noqa: E402
from fannctl.cascade import CascadeConfig, cascade_train  # noqa: E402
from fannctl.data import TrainingData  # noqa: E402
from fannctl.io import load_data, save_data, save_network  # noqa: E402
from fannctl.runner import test as test_data  # noqa: E402

DATASETS = ROOT / "datasets"
LINEAR = 0


@dataclass(frozen=True)
class Workload:
    """A data set, the starting shortcut net's settings and when growing stops."""

    name: str
    layers: tuple[int, int]
    max_neurons: int
    desired_error: float
    params: dict = field(default_factory=dict)
    output_activation: int | None = None  # None keeps FANN's default (sigmoid stepwise)
    quick_neurons: int = 2


WORKLOADS = {
    w.name: w
    for w in (
        Workload(
            "two-spiral",
            (2, 1),
            30,
            0.0,
            {"train_error_function": 0, "train_stop_function": 1, "bit_fail_limit": 0.4},
            output_activation=LINEAR,
            quick_neurons=5,
        ),
        Workload("thyroid", (21, 3), 10, 0.0),
    )
}


def build_net(work: Workload, seed: int, dtype: str) -> network.Network:
    """The starting shortcut net of one repeat (fannctl's +-0.1 weights)."""
    net = network.create(
        list(work.layers), shortcut=True, dtype=dtype, rng=np.random.default_rng(seed)
    )
    if work.output_activation is not None:
        network.set_activation(net, 1, work.output_activation, 0.5)
    for name, value in work.params.items():
        setattr(net.params, name, value)
    return net


def compile_fann_cascade(build: Path) -> Path:
    """Compile bench/fann_cascade.c against the installed double-precision libfann."""
    exe = build / "fann_cascade"
    cmd = ["gcc", "-O2", "-Wall", str(BENCH / "fann_cascade.c"), "-o", str(exe),
           "-ldoublefann", "-lm"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"compiling fann_cascade.c failed:\n{done.stderr}")
    return exe


def run_libfann(
    exe: Path, net_file: Path, data_file: Path, max_neurons: int, work: Workload, seed: int
) -> dict:
    """One libfann run; its key=value line as a dict."""
    args = [str(exe), str(net_file), str(data_file), str(max_neurons),
            repr(work.desired_error), str(seed)]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    values = dict(item.split("=", 1) for item in done.stdout.split())
    return {
        "seconds": float(values["seconds"]),
        "neurons": int(values["neurons"]),
        "mse": float(values["last_mse"]),  # last output epoch, as the cascade reports it
        "bit_fail": int(values["last_bit_fail"]),
        "train_mse": float(values["mse"]),  # fann_test_data on the grown net
        "train_bit_fail": int(values["bit_fail"]),
        "epochs": int(values["epochs"]),  # up to the loop's last output phase
    }


def reached(work: Workload, run: dict) -> bool:
    """Whether libfann's run met its target (stopped early, or met it at the end)."""
    if run["neurons"] < run["max_neurons"]:
        return True
    if work.params.get("train_stop_function") == 1:
        return run["bit_fail"] <= int(work.desired_error)
    return run["mse"] <= work.desired_error


LIBC = ctypes.CDLL(None)
LIBC.srand.argtypes = [ctypes.c_uint]
LIBC.rand.restype = ctypes.c_int


def fann_draws(shape: tuple[int, ...]) -> np.ndarray:
    """Uniforms in [0, 1) as FANN draws candidate weights: (float)rand() / 2^31."""
    n = int(np.prod(shape))
    raw = np.fromiter((LIBC.rand() for _ in range(n)), dtype=np.float32, count=n)
    return (raw / np.float32(2147483648.0)).reshape(shape)


def run_fannctl(
    net: network.Network,
    data: TrainingData,
    max_neurons: int,
    work: Workload,
    seed: int,
    draws: str = "fann",
    device: str = "auto",
) -> dict:
    """One fannctl run: only ``cascade_train`` is timed (drawing included)."""
    config = CascadeConfig(max_neurons, work.desired_error, neurons_between_reports=1)
    uniform = fann_draws if draws == "fann" else None
    LIBC.srand(seed)
    start = time.perf_counter()
    result = cascade_train(net, data, config, seed=seed, uniform=uniform, device=device)
    seconds = time.perf_counter() - start
    train_mse, train_bit_fail = test_data(net, data)
    return {
        "seconds": seconds,
        "neurons": result.neurons_added,
        "mse": float(result.mse),
        "bit_fail": int(result.bit_fail),
        "reached": bool(result.reached),
        "train_mse": float(train_mse),
        "train_bit_fail": int(train_bit_fail),
        "epochs": result.history[-1].epochs,  # as libfann's: up to the loop's last output phase
        "device": result.device,
    }


def bench_workload(
    exe: Path,
    tmp: Path,
    work: Workload,
    repeats: int,
    seed: int,
    dtype: str,
    quick: bool,
    draws: str = "fann",
    device: str = "auto",
) -> dict:
    """All repeats of one workload, alternating the two engines."""
    data = load_data(DATASETS / f"{work.name}.train.gz")
    data_file = tmp / f"{work.name}.data"
    save_data(data, data_file, exact=True)
    max_neurons = work.quick_neurons if quick else work.max_neurons
    # warm-up: imports, caches, BLAS threads, on a throwaway net
    run_fannctl(build_net(work, seed, dtype), data, 1, work, seed, draws, device)
    runs: dict[str, list[dict]] = {"libfann": [], "fannctl": []}
    for rep in range(repeats):
        net = build_net(work, seed + rep, dtype)
        net_file = tmp / f"{work.name}-{rep}.net"
        save_network(net, net_file)
        order = ("libfann", "fannctl") if rep % 2 == 0 else ("fannctl", "libfann")
        for engine in order:
            if engine == "libfann":
                run = run_libfann(exe, net_file, data_file, max_neurons, work, seed + rep)
                run["max_neurons"] = max_neurons
                run["reached"] = reached(work, run)
            else:
                run = run_fannctl(net, data, max_neurons, work, seed + rep, draws, device)
            runs[engine].append(run)
    summary: dict = {
        "workload": work.name, "layers": list(work.layers), "max_neurons": max_neurons,
        "desired_error": work.desired_error, "repeats": repeats, "dtype": dtype,
        "draws": draws,
    }  # fmt: skip
    for engine, engine_runs in runs.items():
        summary[engine] = {
            "seconds": statistics.median(r["seconds"] for r in engine_runs),
            "neurons": statistics.median(r["neurons"] for r in engine_runs),
            "epochs": statistics.median(r["epochs"] for r in engine_runs),
            "mse": statistics.median(r["mse"] for r in engine_runs),
            "train_mse": statistics.median(r["train_mse"] for r in engine_runs),
            "reached": sum(bool(r["reached"]) for r in engine_runs),
            "runs": engine_runs,
        }
    summary["speedup"] = summary["libfann"]["seconds"] / summary["fannctl"]["seconds"]
    # The same, per epoch: the engines' epoch counts differ run by run.
    lib_rate = [r["seconds"] / r["epochs"] for r in runs["libfann"]]
    ctl_rate = [r["seconds"] / r["epochs"] for r in runs["fannctl"]]
    summary["speedup_per_epoch"] = statistics.median(lib_rate) / statistics.median(ctl_rate)
    return summary


def render(results: list[dict]) -> str:
    """The results as a plain-text table."""
    head = (
        f"{'workload':11s} {'engine':16s} {'seconds':>8s} {'epochs':>7s} {'neurons':>7s} "
        f"{'reached':>7s} "
        f"{'last MSE':>9s} {'test MSE':>9s} {'bit fail last|test (each run)':>30s} "
        f"{'speedup':>7s} {'per epoch':>9s}"
    )
    rows = [head, "-" * len(head)]
    for r in results:
        for engine in ("libfann", "fannctl"):
            e = r[engine]
            bits = ",".join(f"{run['bit_fail']}|{run['train_bit_fail']}" for run in e["runs"])
            speed = (
                f"{r['speedup']:7.2f} {r['speedup_per_epoch']:9.2f}" if engine == "fannctl" else ""
            )
            devices = sorted({run.get("device", "") for run in e["runs"]} - {""})
            label = f"{engine}@{'+'.join(devices)}" if devices else engine
            rows.append(
                f"{r['workload']:11s} {label:16s} {e['seconds']:8.3f} {e['epochs']:7.0f} "
                f"{e['neurons']:7.1f} "
                f"{e['reached']:>3d}/{r['repeats']:<3d} {e['mse']:9.6f} {e['train_mse']:9.6f} "
                f"{bits:>30s} {speed:>17s}"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few neurons, one repeat (smoke)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--workloads", help="comma list of: " + ", ".join(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=None, help="repeats (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first repeat")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS/numexpr threads (0: the environment's)"
    )
    parser.add_argument(
        "--draws",
        default="fann",
        choices=("fann", "own"),
        help="fannctl's candidate weights: libfann's rand() stream (default) or its own",
    )
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=("float64", "float32"),
        help="fannctl's precision (libfann is the double build)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="fannctl's --device for the candidate epochs: auto (default), numpy, cl, cl:N",
    )
    args = parser.parse_args(argv)
    if shutil.which("gcc") is None:
        print("bench: gcc not found, cannot build the libfann side", file=sys.stderr)
        return 1
    names = args.workloads.split(",") if args.workloads else list(WORKLOADS)
    for name in names:
        if name not in WORKLOADS:
            raise SystemExit(f"unknown workload {name!r}; valid: {', '.join(WORKLOADS)}")
    repeats = args.repeats or (1 if args.quick else 3)
    limits = benchenv.set_threads(args.threads)
    env = benchenv.environment()
    env["loadavg_start"] = os.getloadavg()
    if not args.json:
        print(benchenv.describe(), flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="fannctl-cascade-bench-") as tmpdir:
        tmp = Path(tmpdir)
        exe = compile_fann_cascade(tmp)
        for name in names:
            result = bench_workload(
                exe,
                tmp,
                WORKLOADS[name],
                repeats,
                args.seed,
                args.dtype,
                args.quick,
                args.draws,
                args.device,
            )
            results.append(result)
            if not args.json:
                print(
                    f"# done {name}: speedup {result['speedup']:.2f}", file=sys.stderr, flush=True
                )
    if limits is not None:
        limits.restore_original_limits()
    env["loadavg_end"] = os.getloadavg()
    if args.json:
        json.dump(
            {"environment": env, "threads": args.threads, "results": results}, sys.stdout, indent=1
        )
        print()
    else:
        print(render(results))
        print(f"# load average at start {env['loadavg_start']}, at end {env['loadavg_end']}")
        print(
            "# seconds, neurons, MSE: medians over repeats (fannctl "
            f"{args.dtype}, draws {args.draws}, libfann double build); "
            "speedup = libfann s / fannctl s; per epoch: the ratio of the median seconds per "
            "epoch (epochs up to the last report)."
        )
        print("# last MSE: the cascade's own (last output epoch); test MSE and bit fail: the")
        print("# grown net tested on the training set afterwards (FANN's final output epoch")
        print("# can move the weights after the stop test, so bit fail may exceed 0).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
