"""A damaged HDF5 file handed to the commands that accept swarm files is one line,
not a hang: the swarm check and reader run in a forked child (``run_guarded``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANGS = ROOT / "tests" / "io" / "fixtures" / "hdf5_hangs.h5"


@pytest.mark.parametrize("command", [["run", "{f}", "datasets/xor.data"]])  # info: same check
def test_a_file_the_hdf5_library_hangs_on_is_one_line(tmp_path, command):
    target = tmp_path / "damaged.h5"
    shutil.copy(HANGS, target)
    args = [part.format(f=target) for part in command]
    done = subprocess.run(
        [sys.executable, "-m", "fannctl", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "damaged.h5" in lines[0] and "damaged HDF5" in lines[0]
