"""The pieces every ``fannctl bench`` case is made of.

A case prepares a ``Trial`` per engine (fannctl, and libfann where it can do
the same job): ``reset`` puts the starting state back (untimed), ``body``
does the timed work and returns the final MSE, so speed never hides a worse
result. ``work`` says how much one body does in the case's unit (epochs,
patterns, agent-epochs); a unit of ``s`` is a latency (lower is better).
``flops`` (per unit of work) gives the case's GFLOP/s and its fraction of the
machine's matrix-multiply peak; ``updates`` gives connection updates per unit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fannctl.errors import FannctlError

SUITES = ("quick", "standard", "full")
ALL = SUITES


@dataclass
class Context:
    """What every case shares in one run: where the data and scratch files are,
    the device, the suite, and what is loaded or trained once."""

    data_dir: Path
    tmp: Path
    suite: str
    device: str = "numpy"
    cache: dict = field(default_factory=dict)

    def size(self, quick, standard, full):
        """The value for this run's suite."""
        return {"quick": quick, "standard": standard, "full": full}[self.suite]

    def data(self, name: str):
        """A data set (float32), loaded once."""
        key = ("data", name)
        if key not in self.cache:
            from fannctl import io

            path = self.data_dir / name
            if not path.exists():
                raise FannctlError(
                    f"{path}: benchmark data set not found (--data-dir: the folder "
                    "holding FANN's data sets, datasets/ in fannctl's source)"
                )
            self.cache[key] = io.load_data(path).astype(np.float32)
        return self.cache[key]

    def libfann_data(self, name: str):
        """The same data set as a libfann training set, made once."""
        key = ("libfann-data", name)
        if key not in self.cache:
            from fannctl.bench import libfann

            data = self.data(name)
            self.cache[key] = libfann.Data(data.inputs, data.outputs)
        return self.cache[key]


@dataclass
class Trial:
    """One engine's prepared case."""

    body: Callable[[], float | None]
    work: float
    reset: Callable[[], None] = lambda: None
    device: Callable[[], str] | str = "numpy"
    flops: float | None = None
    updates: float | None = None
    close: Callable[[], None] = lambda: None
    extra: Callable[[], dict] | None = None
    """Facts about the last run worth reporting beside the timing (cascade's neurons)."""

    def device_name(self) -> str:
        return self.device() if callable(self.device) else self.device


@dataclass(frozen=True)
class Case:
    """A named benchmark: its unit, what it does, the suites it is in, and how
    to prepare it for fannctl and (where libfann can do it) for libfann."""

    name: str
    unit: str
    what: str
    suites: tuple[str, ...]
    fannctl: Callable[[Context], Trial]
    libfann: Callable[[Context], Trial] | None = None
    repeats: dict[str, int] | None = None  # per suite, when not the suite's own
    reference: tuple[str, Callable[[Context], Trial]] | None = None
    """Another engine timed beside fannctl in every run (not libfann): its name and trial."""

    @property
    def lower_is_better(self) -> bool:
        return self.unit == "s"


def saved(ctx: Context, key: str, make: Callable[[], object], suffix: str = ".net") -> Path:
    """A network made once per run and saved under ``ctx.tmp`` (for libfann, a subprocess)."""
    path = ctx.tmp / f"{key.replace('/', '-')}{suffix}"
    if not path.exists():
        from fannctl import io

        io.save_network(make(), path)
    return path


def command(*args: str, stdin: bytes | None = None) -> bytes:
    """Run ``fannctl ARGS`` as a new process (this Python, this fannctl)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    done = subprocess.run(
        [sys.executable, "-m", "fannctl", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
    )
    if done.returncode != 0:
        line = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise FannctlError(f"fannctl {' '.join(args)} failed ({done.returncode}): {line[0]}")
    return done.stdout


def default_data_dir() -> Path:
    """``datasets/`` of the source checkout fannctl runs from."""
    return Path(__file__).resolve().parents[2] / "datasets"
