"""Swarm speed: fannctl's batched numpy trainer against a libfann loop, and a large case.

1. XOR: N agents of 2-3-1 (sigmoid_symmetric, RPROP, ``independent``) for E
   epochs. fannctl trains them in one batched computation (timed in this
   process, and as whole ``fannctl swarm spawn`` + ``swarm run`` processes);
   libfann trains N networks one after the other (``bench/fann_swarm.c``,
   compiled here against the float libfann when gcc and libfann are found).
2. Large: A agents of 10-20-15-10-5 (sigmoid_symmetric hidden, sigmoid
   output) on P random patterns, one RPROP epoch,
   reported as seconds, GFLOP/s (6 x connections x patterns per agent and
   epoch: forward, backward and slopes) and the fraction of this machine's
   float32 matrix-multiply peak, measured in the same run (a square sgemm).
3. numexpr against numpy on a stacked elementwise chain of the update size.

This machine is shared (2 cores, other jobs running): the defaults are short
runs (fewer epochs and agents than the issue's targets); the script scales
the times up linearly to the issue's sizes and says so.

    PYTHONPATH=. .venv/bin/python bench/swarm_speed.py [--agents 10000] [--epochs 100]
        [--large-agents 1000] [--patterns 1000] [--threads 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))


def _threads(argv: list[str]) -> int:
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv) and argv[i + 1].isdigit():
            return int(argv[i + 1])
    return 1


if __name__ == "__main__" and _threads(sys.argv[1:]) > 0:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(_threads(sys.argv[1:]))

import benchenv  # noqa: E402
import numpy as np  # noqa: E402

from fannctl import io, swarm  # noqa: E402
from fannctl.data import TrainingData  # noqa: E402
from fannctl.swarm import batched  # noqa: E402

XOR = ROOT / "datasets" / "xor.data"


def xor_fannctl(agents: int, epochs: int) -> dict:
    """The batched numpy trainer, in this process (spawn excluded)."""
    population = swarm.spawn(
        agents,
        layers=[2, 3, 1],
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid_symmetric",
        params=None,
        seed=1,
    )
    data = io.load_data(XOR)
    start = time.perf_counter()
    swarm.run(population, data, swarm.RunConfig(rounds=1, epochs_per_round=epochs))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "median_mse": float(np.median(population.errors))}


def xor_cli(agents: int, epochs: int) -> float:
    """Whole processes: ``fannctl swarm spawn`` and ``fannctl swarm run``."""
    exe = [sys.executable, "-m", "fannctl"]
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "s.h5")
        start = time.perf_counter()
        subprocess.run(
            [
                *exe,
                "swarm",
                "spawn",
                path,
                "--agents",
                str(agents),
                "--layers",
                "2,3,1",
                "--hidden-activation",
                "sigmoid_symmetric",
                "--output-activation",
                "sigmoid_symmetric",
                "--seed",
                "1",
                "--quiet",
            ],
            check=True,
            cwd=ROOT,
        )
        subprocess.run(
            [*exe, "swarm", "run", path, str(XOR), "--epochs-per-round", str(epochs), "--quiet"],
            check=True,
            cwd=ROOT,
        )
        return time.perf_counter() - start


def xor_libfann(agents: int, epochs: int) -> dict | None:
    """The libfann loop (None when gcc or libfann is missing)."""
    if shutil.which("gcc") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "fann_swarm"
        built = subprocess.run(
            ["gcc", "-O2", str(BENCH / "fann_swarm.c"), "-o", str(exe), "-lfann", "-lm"],
            capture_output=True,
            text=True,
        )
        if built.returncode != 0:
            return None
        done = subprocess.run(
            [str(exe), str(XOR), str(agents), str(epochs), "3"],
            capture_output=True,
            text=True,
            check=True,
        )
    values = dict(item.split("=", 1) for item in done.stdout.split())
    return {"seconds": float(values["seconds"]), "mean_mse": float(values["mean_mse"])}


def matmul_peak(size: int = 2048, repeats: int = 3) -> float:
    """float32 GFLOP/s of a square matrix product (BLAS), best of a few."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def large(agents: int, patterns: int) -> dict:
    """One RPROP epoch of ``agents`` agents of 10-20-15-10-5 on random data."""
    rng = np.random.default_rng(1)
    data = TrainingData(
        rng.uniform(-1, 1, (patterns, 10)).astype(np.float32),
        rng.uniform(0, 1, (patterns, 5)).astype(np.float32),
    )
    population = swarm.spawn(
        agents,
        layers=[10, 20, 15, 10, 5],
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid",
        seed=2,
    )
    connections = population.weights.shape[1]
    warm = swarm.spawn(min(agents, 2000), layers=[10, 20, 15, 10, 5], seed=3)
    swarm.run(warm, data, swarm.RunConfig(rounds=1, epochs_per_round=1))  # warm-up
    start = time.perf_counter()
    swarm.run(population, data, swarm.RunConfig(rounds=1, epochs_per_round=1))
    seconds = time.perf_counter() - start
    flops = 6.0 * connections * patterns * agents
    shape = batched.Shape.of(population.template)
    return {
        "agents": agents,
        "patterns": patterns,
        "connections": connections,
        "seconds_per_epoch": seconds,
        "gflop_per_epoch": flops / 1e9,
        "gflops": flops / seconds / 1e9,
        "chunk_agents": shape.chunk_agents(patterns, 4),
    }


def numexpr_vs_numpy(agents: int = 10000, width: int = 750) -> dict:
    """A stacked update chain, w += slope * eps (per-agent column), both ways."""
    try:
        import numexpr
    except ImportError:  # an optional extra (fannctl[fast])
        return {"elements": agents * width, "numpy": float("nan"), "numexpr": float("nan")}

    rng = np.random.default_rng(3)
    w = rng.random((agents, width), dtype=np.float32)
    slope = rng.random((agents, width), dtype=np.float32)
    eps = rng.random((agents, 1), dtype=np.float32)
    times = {}
    for name, step in (
        ("numpy", lambda: np.add(w, slope * eps, out=w)),
        (
            "numexpr",
            lambda: numexpr.evaluate(
                "w + slope * eps", local_dict={"w": w, "slope": slope, "eps": eps}, out=w
            ),
        ),
    ):
        step()
        start = time.perf_counter()
        for _ in range(5):
            step()
        times[name] = (time.perf_counter() - start) / 5
    return {"elements": agents * width, **times}


def environment() -> dict:
    """benchenv's record, or what can be had without numexpr (an optional extra)."""
    try:
        return benchenv.environment()
    except ImportError:
        env = {"cpu": benchenv.cpu_model(), "nproc": os.cpu_count(), "numpy": np.__version__}
        try:
            import threadpoolctl

            env["blas"] = [
                {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for p in threadpoolctl.threadpool_info()
            ]
        except ImportError:
            env["blas"] = "unknown (no threadpoolctl)"
        return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--large-agents", type=int, default=1000)
    parser.add_argument("--patterns", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    scale = 1000 / args.epochs
    result = {
        "environment": environment(),
        "xor": {
            "agents": args.agents,
            "epochs": args.epochs,
            "fannctl": xor_fannctl(args.agents, args.epochs),
            "fannctl_cli_seconds": xor_cli(args.agents, args.epochs),
            "libfann": xor_libfann(args.agents, args.epochs),
        },
        "matmul_peak_gflops": matmul_peak(),
        "large": large(args.large_agents, args.patterns),
        "numexpr_vs_numpy": numexpr_vs_numpy(),
    }
    result["large"]["fraction_of_peak"] = result["large"]["gflops"] / result["matmul_peak_gflops"]
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print("\n".join(f"# {k}: {v}" for k, v in result["environment"].items()))
    xor = result["xor"]
    fc, lf = xor["fannctl"]["seconds"], xor["libfann"]
    print(f"\nXOR 2-3-1, {args.agents} agents x {args.epochs} epochs, RPROP, independent")
    print(
        f"  fannctl batched (library):  {fc:8.3f} s  (x{scale:g} -> {fc * scale:.2f} s "
        f"for 1000 epochs), median MSE {xor['fannctl']['median_mse']:.4g}"
    )
    cli = xor["fannctl_cli_seconds"]
    print(f"  fannctl spawn+run (CLI):    {cli:8.3f} s")
    if lf is None:
        print("  libfann loop: not run (gcc or libfann missing)")
    else:
        print(
            f"  libfann loop over networks: {lf['seconds']:8.3f} s  (x{scale:g} -> "
            f"{lf['seconds'] * scale:.2f} s), mean MSE {lf['mean_mse']:.4g}"
        )
        print(
            f"  speed-up (library / CLI):   {lf['seconds'] / fc:.2f}x / {lf['seconds'] / cli:.2f}x"
        )
    big = result["large"]
    print(
        f"\nLarge: {big['agents']} agents of 10-20-15-10-5, {big['patterns']} patterns, "
        f"1 RPROP epoch (chunks of {big['chunk_agents']} agents)"
    )
    print(
        f"  {big['seconds_per_epoch']:.3f} s/epoch, {big['gflop_per_epoch']:.2f} GFLOP, "
        f"{big['gflops']:.1f} GFLOP/s = {100 * big['fraction_of_peak']:.1f}% of the "
        f"float32 matmul peak ({result['matmul_peak_gflops']:.1f} GFLOP/s, same run)"
    )
    per_100k = big["seconds_per_epoch"] * 100000 / big["agents"]
    print(f"  scaled to 100,000 agents: ~{per_100k:.0f} s/epoch")
    ne = result["numexpr_vs_numpy"]
    print(
        f"\nnumexpr vs numpy, w + slope*eps on {ne['elements']:,} float32: "
        f"numpy {1e3 * ne['numpy']:.2f} ms, numexpr {1e3 * ne['numexpr']:.2f} ms"
    )
    print(f"\npeak RSS {result['peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
