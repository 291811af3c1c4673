"""A damaged HDF5 file handed to the commands that accept swarm files is one line,
not a hang: the swarm check and reader run in a forked child (``run_guarded``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fannctl.cli.main import app
from fannctl.io import _files

ROOT = Path(__file__).resolve().parents[2]
HANGS = ROOT / "tests" / "io" / "fixtures" / "hdf5_hangs.h5"


@pytest.mark.parametrize(
    "command", [["run", "{f}", str(ROOT / "datasets" / "xor.data")], ["info", "{f}"]]
)
def test_a_file_the_hdf5_library_hangs_on_is_one_line(tmp_path, monkeypatch, command):
    monkeypatch.setattr(_files, "GUARD_SECONDS", 1.0)  # the default waits 10 s
    target = tmp_path / "damaged.h5"
    shutil.copy(HANGS, target)
    result = CliRunner().invoke(app, [part.format(f=target) for part in command])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "damaged.h5" in lines[0] and "damaged HDF5" in lines[0]
