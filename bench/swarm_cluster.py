"""swarm run on a local Dask cluster against in-process (issue 12): seconds per round,
compute against shipping, and the chunk size's effect. About a minute on 2 cores.

    .venv/bin/python bench/swarm_cluster.py [--agents 64] [--epochs 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunks", default="4,8,16,32")
    parser.add_argument("--ship-agents", type=int, default=16384)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # in-process with one compute thread
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    from fannctl import io
    from fannctl.swarm import RunConfig, batched, parse_vary, run, spawn
    from fannctl.swarm.cluster import RoundStats, connect
    from fannctl.swarm.rounds import _chunk

    data = io.load_data(str(ROOT / "datasets" / "thyroid.train.gz"))

    def swarm():
        return spawn(
            args.agents, layers=[21, 16, 3], seed=1, vary=[parse_vary("algorithm=rprop,quickprop")]
        )

    def config(chunk=None):
        return RunConfig(rounds=2, epochs_per_round=args.epochs, chunk_agents=chunk)

    local = swarm()
    start = time.perf_counter()
    records = run(local, data, config())
    print(
        json.dumps(
            {
                "mode": f"in-process, {os.environ['OMP_NUM_THREADS']} thread(s)",
                "round_seconds": records[-1].seconds,
            }
        )
    )
    with connect(workers=args.workers, dashboard=False) as executor:
        for chunk in [None, *(int(c) for c in args.chunks.split(","))]:
            remote = swarm()
            start = time.perf_counter()
            records = run(remote, data, config(chunk), executor=executor)
            last = records[-1]
            tasks = -(-args.agents // (chunk or 8))
            print(
                json.dumps(
                    {
                        "mode": f"--workers {args.workers}",
                        "chunk_agents": chunk or "default",
                        "round_seconds": round(last.seconds, 3),
                        "compute_seconds": round(last.compute_seconds, 3),
                        "ship_seconds": round(last.ship_seconds, 3),
                        "tasks": tasks,
                        "wall": round(time.perf_counter() - start, 3),
                        "same_bits": bool((remote.weights == local.weights).all()),
                    }
                )
            )
        # shipping alone: one task of --ship-agents agents, out and back, no epochs
        big = spawn(args.ship_agents, layers=[21, 16, 3], seed=1)
        big.ensure_state()
        chunk = _chunk(big, 0, big.agents, "full", data.num_patterns)
        shape = batched.Shape.of(big.template)
        for _ in range(3):
            stats = RoundStats()
            start = time.perf_counter()
            executor.train([chunk], shape, 0, 0, 1, ("full", big.agents, 1), 9, stats)
            print(
                json.dumps(
                    {
                        "mode": "ship only",
                        "agents": big.agents,
                        "mbytes_each_way": round(
                            sum(a.nbytes for a in (big.weights, big.prev_steps, big.prev_slopes))
                            / 1e6,
                            1,
                        ),
                        "seconds": round(time.perf_counter() - start, 3),
                    }
                )
            )


if __name__ == "__main__":
    main()
