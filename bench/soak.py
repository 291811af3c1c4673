"""Soak: a long XOR run keeps flat memory (issue 14, item 7).

Trains XOR (2-3-1, RPROP, float32, numpy) for ``--epochs`` epochs with a
checkpoint written every ``--checkpoint-every`` epochs (HDF5, atomically, as
``fannctl train --checkpoint-every`` does) and samples the process's resident
memory (VmRSS) at every report point. Prints the RSS after the first tenth of
the run, at the end, the peak (VmHWM) and the growth per million epochs.

    PYTHONPATH=. .venv/bin/python bench/soak.py [--epochs 10000000] [--json]

The issue's full soak is ten million epochs (about half an hour at ~6k
epochs/s on the 2-core VM); ``--epochs 200000`` takes under a minute.
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


def status_kib(key: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from fannctl import checkpoint, io
    from fannctl import train as train_mod
    from fannctl.network import build

    data = io.load_data(ROOT / "datasets" / "xor.data")
    net = build(
        [2, 3, 1],
        hidden_activation="sigmoid_symmetric",
        output_activation="sigmoid_symmetric",
        seed=1,
    )
    every = max(1, args.epochs // args.samples)
    samples: list[tuple[int, int]] = []

    def on_report(report: train_mod.Report) -> None:
        samples.append((report.epoch, status_kib("VmRSS")))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "soak.h5"
        saver = checkpoint.Checkpointer(
            net, path, max_epochs=args.epochs, offset=0, command="soak", algorithm="rprop"
        )
        config = train_mod.TrainConfig(
            args.epochs,
            -1.0,  # never stop early
            every,
            checkpoint_every=checkpoint.CheckpointEvery(epochs=args.checkpoint_every),
        )
        start = time.perf_counter()
        result = train_mod.train(net, data, config, on_report=on_report, on_checkpoint=saver)
        seconds = time.perf_counter() - start
    tenth = next((rss for epoch, rss in samples if epoch >= args.epochs // 10), samples[0][1])
    end = samples[-1][1]
    growth = (end - tenth) / max((args.epochs - args.epochs // 10) / 1e6, 1e-9)
    out = {
        "epochs": result.epochs,
        "seconds": round(seconds, 1),
        "epochs_per_second": round(result.epochs / seconds),
        "checkpoints": saver.saved,
        "rss_kib_at_10pct": tenth,
        "rss_kib_end": end,
        "peak_rss_kib": status_kib("VmHWM"),
        "growth_kib_per_million_epochs": round(growth, 1),
        "samples": samples,
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"{out['epochs']} epochs in {out['seconds']} s ({out['epochs_per_second']}/s), "
            f"{out['checkpoints']} checkpoints; RSS {tenth} KiB at 10%, {end} KiB at the end, "
            f"peak {out['peak_rss_kib']} KiB; growth {out['growth_kib_per_million_epochs']} "
            "KiB per million epochs"
        )


if __name__ == "__main__":
    main()
