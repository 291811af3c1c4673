"""Soak for swarms: a thousand rounds keep flat memory (issue 14, item 7).

Spawns a small XOR swarm (``--agents``, 2-3-1, ring topology), runs
``--rounds`` rounds of ``--strategy`` (evolve by default: copies, perturbations
and the lineage log grow every round) with the swarm file saved every
``--save-every`` rounds, atomically, as ``swarm run`` does, and samples the
process's resident memory. Prints the RSS after the first tenth of the run, at
the end, the peak and the growth per hundred rounds.

    PYTHONPATH=. .venv/bin/python bench/swarm_soak.py [--rounds 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--strategy", default="evolve")
    parser.add_argument("--save-every", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from soak import status_kib  # this folder's long-run soak: the same RSS reading

    from fannctl import io
    from fannctl.swarm import load_swarm, save_swarm
    from fannctl.swarm.population import spawn
    from fannctl.swarm.rounds import RunConfig, run

    data = io.load_data(ROOT / "datasets" / "xor.data")
    swarm = spawn(
        args.agents,
        layers=[2, 3, 1],
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid_symmetric",
        topology="ring:2",
        seed=7,
    )
    samples = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "soak.h5"
        save_swarm(swarm, path)
        step = max(1, args.save_every)
        for done in range(0, args.rounds, step):
            rounds = min(step, args.rounds - done)
            run(swarm, data, RunConfig(strategy=args.strategy, rounds=rounds, epochs_per_round=5))
            save_swarm(swarm, path)
            swarm = load_swarm(path)  # as a later `swarm run` would
            samples.append((done + rounds, status_kib("VmRSS")))
        size = path.stat().st_size
    seconds = time.perf_counter() - started
    tenth = samples[max(0, len(samples) // 10 - 1)]
    growth = (samples[-1][1] - tenth[1]) / max(samples[-1][0] - tenth[0], 1) * 100
    result = {
        "rounds": args.rounds,
        "agents": args.agents,
        "strategy": args.strategy,
        "seconds": round(seconds, 1),
        "rss_kib_at_10pct": tenth[1],
        "rss_kib_end": samples[-1][1],
        "peak_rss_kib": status_kib("VmHWM"),
        "growth_kib_per_100_rounds": round(growth, 1),
        "file_bytes_end": size,
        "events": int(sum(len(block) for block in swarm.events.round)),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
