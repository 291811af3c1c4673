"""How long ``python -m fannctl --help`` takes (median of several runs).

Start-up time is what every CLI call pays, so heavy imports (h5py, pyopencl,
numexpr) must stay lazy. For scale it also times ``python -c pass`` and
``python -c "import numpy"`` the same way. If the CLI does not run (not
written yet, or broken), it says so and exits 0.

    .venv/bin/python bench/help_time.py [--runs 9] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_command(args: list[str], runs: int) -> tuple[list[float], subprocess.CompletedProcess]:
    """Wall-clock seconds of ``runs`` runs of a command (after one warm-up run)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times, done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    python = sys.executable
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import numpy'": [python, "-c", "import numpy"],
        "python -m fannctl --help": [python, "-m", "fannctl", "--help"],
    }
    results = {}
    for name, command in commands.items():
        times, done = time_command(command, args.runs)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            results[name] = {"skipped": f"exit {done.returncode}: {last}"}
            continue
        results[name] = {
            "median_s": statistics.median(times),
            "min_s": min(times),
            "max_s": max(times),
            "runs": len(times),
        }
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
        return 0
    for name, result in results.items():
        if "skipped" in result:
            print(
                f"{name:28s} skipped: the command failed ({result['skipped']}); "
                "is the CLI written yet?"
            )
        else:
            print(
                f"{name:28s} median {result['median_s'] * 1e3:7.1f} ms "
                f"(min {result['min_s'] * 1e3:.1f}, max {result['max_s'] * 1e3:.1f}, "
                f"{result['runs']} runs)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
