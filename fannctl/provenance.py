"""What a network file remembers about how it was made: history and provenance."""

from __future__ import annotations

import hashlib
import os
import time

from fannctl import __version__
from fannctl.network import Network


def file_digest(path: str) -> str | None:
    """sha256 of a file's bytes (None for stdin or a missing file)."""
    if path in ("-", "") or not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record(net: Network, command: str, data_path: str | None = None, **extra: object) -> None:
    """Append one provenance entry: fannctl version, command, data file and its sha256."""
    entry: dict[str, object] = {
        "fannctl_version": __version__,
        "command": command,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if data_path is not None:
        entry["data_file"] = os.path.basename(data_path)
        entry["data_sha256"] = file_digest(data_path)
    entry.update(extra)
    net.provenance.append(entry)


def total_epochs(net: Network) -> int:
    """Epochs trained so far: the history's last report point, or the total a run
    recorded in its provenance (a run may have reported nothing)."""
    reported = max((int(h.get("epoch", 0)) for h in net.history), default=0)
    recorded = max((int(p.get("epochs_total", 0)) for p in net.provenance), default=0)
    return max(reported, recorded)


def add_history(
    net: Network, reports: list, algorithm: str, offset: int, device: str | None = None
) -> None:
    """Append a run's report points, numbered from the epochs already trained."""
    for report in reports:
        entry = {
            "epoch": offset + report.epoch,
            "mse": float(report.mse),
            "bit_fail": int(report.bit_fail),
            "seconds": float(report.seconds),
            "algorithm": algorithm,
        }
        if getattr(report, "test_mse", None) is not None:
            entry["test_mse"] = float(report.test_mse)
            entry["test_bit_fail"] = int(report.test_bit_fail)
        if device is not None:
            entry["device"] = device
        net.history.append(entry)


def add_cascade_history(net: Network, reports: list, algorithm: str, offset: int) -> None:
    """Append a cascade run's report points: each installed neuron and the error after it."""
    for report in reports:
        entry = {
            "epoch": offset + report.epochs,
            "mse": float(report.mse),
            "bit_fail": int(report.bit_fail),
            "seconds": float(report.seconds),
            "algorithm": f"cascade-{algorithm}",
            "neurons": int(report.neurons),
            "activation": report.activation,
            "steepness": report.steepness,
        }
        if getattr(report, "test_mse", None) is not None:
            entry["test_mse"] = float(report.test_mse)
            entry["test_bit_fail"] = int(report.test_bit_fail)
        net.history.append(entry)
