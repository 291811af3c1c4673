"""swarm run under SIGINT/SIGTERM: the round in progress finishes, the file holds every
completed round, exit 130/143 with the resume command; --resume ends where an
uninterrupted run ends (issue 14, item 1)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fannctl.swarm import load_swarm

ROOT = Path(__file__).resolve().parents[2]
DATA = str(ROOT / "datasets" / "xor.data")
ROUNDS = ["--rounds", "40", "--epochs-per-round", "40", "--strategy", "evolve"]


def fannctl(*args: str, **kwargs) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "fannctl", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


def spawn(path: Path) -> None:
    done = fannctl(
        "swarm", "spawn", str(path), "--agents", "300", "--layers", "2,3,1",
        "--hidden-activation", "sigmoid_symmetric", "--output-activation", "sigmoid_symmetric",
        "--topology", "ring:2", "--seed", "5",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_after_the_round_and_resume_finishes_the_run(tmp_path, signum, code):
    whole, cut = tmp_path / "whole.h5", tmp_path / "cut.h5"
    spawn(whole)
    spawn(cut)
    assert fannctl("swarm", "run", str(whole), DATA, *ROUNDS, "-q").returncode == 0
    command = [sys.executable, "-m", "fannctl", "swarm", "run", str(cut), DATA, *ROUNDS]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    first = process.stderr.readline()  # the first round's line: the run is under way
    assert first.startswith("Round"), first
    process.send_signal(signum)
    rest = process.communicate(timeout=120)[1]
    assert process.returncode == code, rest
    last = rest.strip().splitlines()[-1]
    assert "stopped after round" in last and "--resume" in last
    stopped = load_swarm(cut)
    assert 1 <= stopped.round < 40  # whole rounds only
    again = fannctl("swarm", "run", str(cut), DATA, *ROUNDS, "--resume", "-q")
    assert again.returncode == 0, again.stderr
    finished, reference = load_swarm(cut), load_swarm(whole)
    assert finished.round == reference.round == 40
    np.testing.assert_array_equal(finished.weights, reference.weights)
    np.testing.assert_array_equal(finished.prev_steps, reference.prev_steps)


def test_resume_without_an_interrupted_run_is_refused(tmp_path):
    path = tmp_path / "s.h5"
    spawn(path)
    before = path.read_bytes()
    done = fannctl("swarm", "run", str(path), DATA, "--resume")
    assert done.returncode == 2 and "no interrupted swarm run" in done.stderr
    assert path.read_bytes() == before


def test_checkpoint_every_saves_as_it_goes(tmp_path):
    path = tmp_path / "s.h5"
    spawn(path)
    done = fannctl("swarm", "run", str(path), DATA, "--rounds", "4", "--checkpoint-every", "2")
    assert done.returncode == 0, done.stderr
    assert load_swarm(path).round == 4
    bad = fannctl("swarm", "run", str(path), DATA, "--checkpoint-every", "-1")
    assert bad.returncode == 2 and "--checkpoint-every" in bad.stderr
