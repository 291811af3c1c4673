"""Side-by-side training speed: libfann 2.2 (float build) vs fannctl's numpy backend.

For each workload fannctl builds the starting network (float32), saves it as a
FANN ``.net``, and both engines train it for the same number of epochs:
libfann through ``bench/fann_bench.c`` (compiled here with ``gcc -O2 -lfann``;
only its ``fann_train_epoch`` loop is timed) and fannctl in this process (only
its ``train_epoch`` loop is timed). Runs alternate between the two engines;
each repeat starts from a fresh net drawn with seed ``--seed + repeat``, so the
final-MSE spread over repeats is the run-to-run spread. Medians are reported.

    PYTHONPATH=. .venv/bin/python bench/train_speed.py [--quick] [--json]
        [--workloads mushroom,thyroid:rprop,...] [--repeats 5] [--threads 1]

fannctl runs with one BLAS thread by default, like libfann; ``--threads 0`` keeps
the environment's setting (OpenBLAS uses every core; on this shared 2-core machine
that collapses whenever another process is busy, see bench/NOTES.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def _threads_from_argv(argv: list[str]) -> int:
    """The ``--threads`` value (default 1), read before numpy loads its BLAS."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv) and argv[i + 1].isdigit():
            return int(argv[i + 1])
        if arg.startswith("--threads=") and arg.split("=", 1)[1].isdigit():
            return int(arg.split("=", 1)[1])
    return 1


if __name__ == "__main__" and _threads_from_argv(sys.argv[1:]) > 0:
    # Works without threadpoolctl too: BLAS libraries read these when they load.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(_threads_from_argv(sys.argv[1:]))

import numpy as np  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

import benchenv  # noqa: E402

from fannctl import io, network  # noqa: E402
from fannctl.data import TrainingData  # noqa: E402
from fannctl.params import algorithm_id  # noqa: E402
from fannctl.runner import test as test_data  # noqa: E402
from fannctl.train import train_epoch  # noqa: E402

DATASETS = ROOT / "datasets"


@dataclass(frozen=True)
class Workload:
    """A data set, a network shape and how to train it."""

    name: str
    layers: tuple[int, ...]
    algorithms: tuple[str, ...]
    epochs: dict[str, int]
    hidden: int | None = None  # activation ids; None keeps FANN's default (stepwise)
    output: int | None = None
    momentum: float = 0.0


SIGMOID, SIGMOID_SYMMETRIC = 3, 5
BATCH_FAMILY = ("rprop", "quickprop", "batch")
WORKLOADS = {
    w.name: w
    for w in (
        # FANN's examples/mushroom.c: tanh hidden, sigmoid output, defaults otherwise.
        Workload("mushroom", (125, 32, 2), BATCH_FAMILY, {"*": 150}, SIGMOID_SYMMETRIC, SIGMOID),
        Workload("thyroid", (21, 32, 3), BATCH_FAMILY, {"*": 500}, SIGMOID_SYMMETRIC, SIGMOID),
        Workload("census-house", (16, 32, 1), BATCH_FAMILY, {"*": 150}, SIGMOID_SYMMETRIC, SIGMOID),
        # FANN's examples/robot.c: default activations, incremental, momentum 0.4.
        Workload("robot", (48, 96, 3), ("incremental",), {"*": 30}, momentum=0.4),
    )
}
QUICK_EPOCHS = 5
CHECK_EPOCH = 10
"""Trajectories are compared at this epoch: later, RPROP on mushroom is chaotic
(it reaches MSE ~1e-16, then steps of 50 throw it out again), so two engines
that differ only in float rounding end far apart however exact both are."""


def build_net(work: Workload, algorithm: str, seed: int) -> network.Network:
    """The starting network for one repeat (float32, fannctl's +-0.1 weights)."""
    net = network.create(list(work.layers), rng=np.random.default_rng(seed), dtype="float32")
    if work.hidden is not None:
        for index in range(1, len(work.layers) - 1):
            network.set_activation(net, index, work.hidden)
    if work.output is not None:
        network.set_activation(net, len(work.layers) - 1, work.output)
    net.params.training_algorithm = algorithm_id(algorithm)
    net.params.learning_momentum = work.momentum
    return net


def compile_fann_bench(build: Path) -> Path:
    """Compile bench/fann_bench.c against the installed float libfann."""
    exe = build / "fann_bench"
    cmd = ["gcc", "-O2", "-Wall", str(BENCH / "fann_bench.c"), "-o", str(exe), "-lfann", "-lm"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"compiling fann_bench.c failed:\n{done.stderr}")
    return exe


def run_libfann(exe: Path, net_file: Path, data_file: Path, epochs: int, work: Workload) -> dict:
    """One libfann run; returns its key=value line as a dict."""
    args = [str(exe), str(net_file), str(data_file), str(epochs)]
    env = {**os.environ, "FANN_BENCH_TRACE": "1"}
    done = subprocess.run(args, capture_output=True, text=True, check=True, env=env)
    lines = done.stdout.strip().splitlines()
    values = dict(item.split("=", 1) for item in lines[-1].split())
    result: dict = {k: float(v) for k, v in values.items()}
    trace = lines[0].removeprefix("trace=") if lines[0].startswith("trace=") else ""
    result["trace"] = [float(v) for v in trace.split(",")] if trace else []
    return result


def run_fannctl(net: network.Network, data: TrainingData, epochs: int) -> dict:
    """One fannctl run: time only the loop of ``train_epoch`` calls."""
    initial_mse, _ = test_data(net, data)
    result = None
    trace = [0.0] * epochs
    start = time.perf_counter()
    cpu_start = time.process_time()
    for epoch in range(epochs):
        result = train_epoch(net, data)
        trace[epoch] = result.mse
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    return {
        "epochs": epochs,
        "seconds": seconds,
        "epochs_per_s": epochs / seconds,
        "cpu_seconds": cpu_seconds,
        "epochs_per_cpu_s": epochs / cpu_seconds if cpu_seconds > 0 else float("inf"),
        "initial_mse": initial_mse,
        "first_mse": trace[0] if trace else float("nan"),
        "trace": trace,
        "final_mse": result.mse if result else float("nan"),
        "bit_fail": result.bit_fail if result else 0,
    }


def parse_workloads(text: str | None) -> list[tuple[Workload, str]]:
    """``mushroom,thyroid:rprop`` -> [(workload, algorithm), ...]."""
    jobs = []
    names = text.split(",") if text else list(WORKLOADS)
    for item in names:
        name, _, alg = item.strip().partition(":")
        if name not in WORKLOADS:
            raise SystemExit(f"unknown workload {name!r}; valid: {', '.join(WORKLOADS)}")
        work = WORKLOADS[name]
        for algorithm in [alg] if alg else work.algorithms:
            algorithm_id(algorithm)
            jobs.append((work, algorithm))
    return jobs


def bench_job(
    exe: Path, tmp: Path, work: Workload, algorithm: str, epochs: int, repeats: int, seed: int
) -> dict:
    """All repeats of one (workload, algorithm), interleaving the two engines."""
    data = io.load_data(DATASETS / f"{work.name}.train.gz").astype(np.float32)
    data_file = tmp / f"{work.name}.data"
    if not data_file.exists():
        io.save_data(data, data_file, exact=True)
    # warm-up: imports, caches, BLAS threads, on a throwaway net
    train_epoch(build_net(work, algorithm, seed), data)
    runs: dict[str, list[dict]] = {"libfann": [], "fannctl": []}
    for rep in range(repeats):
        net = build_net(work, algorithm, seed + rep)
        net_file = tmp / f"{work.name}-{algorithm}-{rep}.net"
        io.save_network(net, net_file)
        order = ("libfann", "fannctl") if rep % 2 == 0 else ("fannctl", "libfann")
        for engine in order:
            if engine == "libfann":
                runs[engine].append(run_libfann(exe, net_file, data_file, epochs, work))
            else:
                runs[engine].append(run_fannctl(net, data, epochs))
    summary: dict = {
        "workload": work.name,
        "algorithm": algorithm,
        "epochs": epochs,
        "layers": list(work.layers),
        "repeats": repeats,
    }
    for engine, engine_runs in runs.items():
        speeds = [r["epochs_per_s"] for r in engine_runs]
        finals = [r["final_mse"] for r in engine_runs]
        cpu_speeds = [r["epochs_per_cpu_s"] for r in engine_runs]
        summary[engine] = {
            "epochs_per_s": statistics.median(speeds),
            "epochs_per_s_all": speeds,
            "epochs_per_cpu_s": statistics.median(cpu_speeds),
            "epochs_per_cpu_s_all": cpu_speeds,
            "final_mse": statistics.median(finals),
            "final_mse_all": finals,
            "initial_mse_all": [r["initial_mse"] for r in engine_runs],
            "first_mse_all": [r["first_mse"] for r in engine_runs],
        }
    summary["ratio"] = summary["fannctl"]["epochs_per_s"] / summary["libfann"]["epochs_per_s"]
    summary["cpu_ratio"] = (
        summary["fannctl"]["epochs_per_cpu_s"] / summary["libfann"]["epochs_per_cpu_s"]
    )
    initial_gap = max(
        abs(a - b)
        for a, b in zip(
            summary["libfann"]["initial_mse_all"],
            summary["fannctl"]["initial_mse_all"],
            strict=True,
        )
    )
    summary["initial_mse_max_diff"] = initial_gap
    check = min(CHECK_EPOCH, epochs) - 1
    summary["check_epoch"] = check + 1
    summary["check_mse_max_rel_diff"] = max(
        abs(a["trace"][check] - b["trace"][check]) / max(abs(a["trace"][check]), 1e-30)
        for a, b in zip(runs["libfann"], runs["fannctl"], strict=True)
    )
    for engine in runs:
        for run in runs[engine]:
            run.pop("trace")
    return summary


def render(results: list[dict]) -> str:
    """The results as a plain-text table."""
    head = (
        f"{'workload':13s} {'algorithm':11s} {'epochs':>6s} {'libfann ep/s':>12s} "
        f"{'fannctl ep/s':>12s} {'ratio':>6s} {'cpu ratio':>9s} "
        f"{'libfann MSE':>11s} {'fannctl MSE':>11s} "
        f"{'MSE spread (lib | ctl)':>24s} {'MSE@10 rel':>10s}"
    )
    rows = [head, "-" * len(head)]
    for r in results:
        lib, ctl = r["libfann"], r["fannctl"]

        def spread(values: list[float]) -> str:
            return f"{max(values) - min(values):.1e}"

        rows.append(
            f"{r['workload']:13s} {r['algorithm']:11s} {r['epochs']:6d} "
            f"{lib['epochs_per_s']:12.1f} {ctl['epochs_per_s']:12.1f} {r['ratio']:6.2f} "
            f"{r.get('cpu_ratio', float('nan')):9.2f} "
            f"{lib['final_mse']:11.6f} {ctl['final_mse']:11.6f} "
            f"{spread(lib['final_mse_all']) + ' | ' + spread(ctl['final_mse_all']):>24s} "
            f"{r['check_mse_max_rel_diff']:10.1e}"
        )
    return "\n".join(rows)


def use_backend_file(path: Path) -> None:
    """Make ``fannctl.backends.numpy_backend`` (the default backend) load from ``path``."""
    import importlib.util

    name = "fannctl.backends.numpy_backend"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    import fannctl.backends

    sys.modules[name] = module  # before running it: dataclasses look their module up
    spec.loader.exec_module(module)

    fannctl.backends.numpy_backend = module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few epochs, one repeat (CI smoke)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--workloads", help="comma list: name or name:algorithm")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per job (default 5)")
    parser.add_argument("--epochs", type=int, default=None, help="override every job's epochs")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first repeat's net")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS/numexpr threads for fannctl: 1 (default) like single-threaded libfann; "
        "0 leaves the environment's choice",
    )
    parser.add_argument(
        "--backend-file",
        type=Path,
        help="A/B timing: train with another copy of numpy_backend.py (e.g. git show HEAD:...)",
    )
    args = parser.parse_args(argv)
    if args.backend_file:
        use_backend_file(args.backend_file)
    if shutil.which("gcc") is None:
        print("bench: gcc not found, cannot build the libfann side", file=sys.stderr)
        return 1
    jobs = parse_workloads(args.workloads)
    repeats = args.repeats or (1 if args.quick else 5)
    limits = benchenv.set_threads(args.threads)
    env = benchenv.environment()
    env["backend_file"] = str(args.backend_file) if args.backend_file else None
    env["loadavg_start"] = os.getloadavg()
    if not args.json:
        print(benchenv.describe(), flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="fannctl-bench-") as tmpdir:
        tmp = Path(tmpdir)
        exe = compile_fann_bench(tmp)
        for work, algorithm in jobs:
            epochs = args.epochs or (
                QUICK_EPOCHS if args.quick else work.epochs.get(algorithm, work.epochs["*"])
            )
            result = bench_job(exe, tmp, work, algorithm, epochs, repeats, args.seed)
            results.append(result)
            if not args.json:
                print(
                    f"# done {work.name}/{algorithm}: ratio {result['ratio']:.2f}",
                    file=sys.stderr,
                    flush=True,
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
        if max(env["loadavg_start"][0], env["loadavg_end"][0]) > 0.5:
            print("# WARNING: other processes were running; wall-clock ep/s are noisy (and with")
            print(
                "# more than one BLAS thread they collapse): trust the cpu ratio with --threads 1"
            )
        print("# ep/s: wall-clock medians over repeats; cpu ratio: the same from process CPU time")
        print("# (robust to other load, but with >1 BLAS thread it also counts the helper threads)")
        print("# MSE: median final MSE; spread: max-min final MSE over")
        print("# the repeats' different starting nets; MSE@10 rel: max relative MSE difference of")
        print("# the two engines at epoch 10 from the same starting net (float32 vs float32).")
        bad = [r for r in results if r["initial_mse_max_diff"] > 1e-5]
        for r in bad:
            print(
                f"# WARNING {r['workload']}/{r['algorithm']}: initial MSE differs by "
                f"{r['initial_mse_max_diff']:.2e} between libfann and fannctl "
                "(the .net round trip is wrong?)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
