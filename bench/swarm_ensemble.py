"""When a swarm beats one network: test error of the ensemble against one network.

For each FANN data set: one network trained E epochs with RPROP (``fannctl
train``'s rule), then swarms of N agents of the same shape trained as long
(the same E epochs per agent) with each strategy; test MSE of the single
network, of the swarm's ensemble mean and of its best agent (ranked on the
training set, so the test set stays unseen).

    PYTHONPATH=. .venv/bin/python bench/swarm_ensemble.py [--agents 20] [--epochs 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fannctl import io, runner, swarm, train  # noqa: E402
from fannctl.network import build  # noqa: E402

SETS = {
    "thyroid": ("thyroid.train.gz", "thyroid.test.gz", [21, 10, 3]),
    "mushroom": ("mushroom.train.gz", "mushroom.test.gz", [125, 8, 2]),
    "robot": ("robot.train.gz", "robot.test.gz", [48, 12, 3]),
}
RUNS = [
    ("independent", "full", "mesh"),
    ("independent", "bootstrap", "mesh"),
    ("average", "full", "ring:2"),
    ("evolve", "full", "ring:2"),
]


def single(layers, data, test, epochs: int) -> float:
    net = build(layers, hidden_activation="sigmoid_symmetric", output_activation="sigmoid", seed=1)
    config = train.TrainConfig(max_epochs=epochs, desired_error=0.0, report_every=0)
    train.train(net, data, config)
    return runner.test(net, test)[0]


def swarm_errors(layers, data, test, agents, epochs, strategy, split, topology):
    population = swarm.spawn(
        agents,
        layers=layers,
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid",
        topology=topology,
        seed=1,
        vary=[swarm.parse_vary("learning_rate=0.3:1.0")] if strategy == "evolve" else [],
    )
    rounds = 10
    config = swarm.RunConfig(
        strategy=strategy,
        rounds=rounds,
        epochs_per_round=max(1, epochs // rounds),
        data_split=split,
    )
    swarm.run(population, data, config)
    sse, _, count = swarm.score(population, test.inputs, test.outputs)
    best = swarm.export_agent(population, "best")
    return sse / count, runner.test(best, test)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--sets", default="thyroid,mushroom,robot")
    args = parser.parse_args()
    print("| data set | single network | strategy (split, topology) | ensemble | best agent |")
    print("|---|---|---|---|---|")
    for name in args.sets.split(","):
        train_file, test_file, layers = SETS[name]
        data = io.load_data(ROOT / "datasets" / train_file)
        test = io.load_data(ROOT / "datasets" / test_file)
        start = time.perf_counter()
        one = single(layers, data, test, args.epochs)
        for strategy, split, topology in RUNS:
            ensemble, best = swarm_errors(
                layers, data, test, args.agents, args.epochs, strategy, split, topology
            )
            print(
                f"| {name} {'-'.join(map(str, layers))} | {one:.5f} | {strategy} ({split}, "
                f"{topology}) | {ensemble:.5f} | {best:.5f} |",
                flush=True,
            )
        print(f"<!-- {name}: {time.perf_counter() - start:.1f} s -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
