"""fannctl in shell pipelines: real processes, real pipes (issue 13, item 4).

Each test names the bug it guards against.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fannctl.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
ENV = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="40")
FANNCTL = [sys.executable, "-m", "fannctl"]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("pipes") / "a-rather-long-directory-name" / "xor.h5")
    os.makedirs(os.path.dirname(path))
    result = CliRunner().invoke(
        app,
        ["create", path, "--layers", "2,3,1", "--hidden-activation",
         "sigmoid_symmetric_stepwise", "--output-activation", "sigmoid_symmetric", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


def fannctl(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*FANNCTL, *args], capture_output=True, text=True, env=ENV, timeout=60, **kwargs
    )


def test_endless_input_and_head(net: str) -> None:
    """`yes '1 1' | fannctl run xor.h5 - | head -2` printed nothing until killed at 24 GB."""
    script = f"yes '1 1' | {' '.join(FANNCTL)} run {net} - | head -2; echo \"${{PIPESTATUS[1]}}\""
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=ENV, timeout=60
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and lines[0] == lines[1]
    assert lines[2] == "0", done.stderr  # fannctl's own exit status
    assert done.stderr == ""
    assert time.monotonic() - started < 30


def read_line(process: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no output line within {timeout} s"
    return process.stdout.readline()


def test_each_line_is_answered_as_it_arrives(net: str) -> None:
    """`(echo 1 1; sleep 3; echo 1 -1) | run` answered the first line only after 3 s."""
    process = subprocess.Popen(
        [*FANNCTL, "run", net, "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        text=True,
        bufsize=1,
    )
    try:
        process.stdin.write("1 1\n")
        process.stdin.flush()
        first = read_line(process, 30)  # start-up included; the input stays open
        process.stdin.write("1 -1\n")
        process.stdin.flush()
        second = read_line(process, 5)
        process.stdin.close()
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    assert float(first) != float(second)


@pytest.mark.parametrize(
    "args",
    [
        ("info", "{net}"),
        ("info", "{net}", "--json"),
        ("run", "{net}", XOR),
        ("run", "{net}", XOR, "--metrics"),
        ("--help",),
        ("train", "--help"),
    ],
)
def test_closed_stdout_ends_quietly_with_zero(net: str, args: tuple[str, ...]) -> None:
    """`fannctl info net.h5 | head -1` exited 1 (rich), failing a pipefail job."""
    process = subprocess.Popen(
        [*FANNCTL, *(a.format(net=net) for a in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    process.stdout.close()  # the reader is gone before fannctl writes a byte
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0
    assert stderr == b""


def test_full_disk_is_one_line_and_exit_1(net: str) -> None:
    for args in (("info", net), ("run", net, XOR)):
        with open("/dev/full", "w") as full:
            done = subprocess.run(
                [*FANNCTL, *args], stdout=full, stderr=subprocess.PIPE, text=True, env=ENV
            )
        assert done.returncode == 1
        assert done.stderr == "fannctl: error: cannot write output: No space left on device\n"


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (("run", "--bogus", "a", "b"), "fannctl run"),
        (("run",), "fannctl run"),
        (("frobnicate",), "fannctl"),
        (("train", "x.h5", "y.data", "--max-epochs", "many"), "fannctl train"),
    ],
)
def test_usage_error_is_one_line_with_a_pointer_to_help(
    args: tuple[str, ...], command: str
) -> None:
    done = fannctl(*args)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("fannctl: error: ")
    assert lines[0].endswith(f"(see '{command} --help')")
    assert done.stdout == ""


def test_piped_info_is_never_wrapped_or_truncated(net: str) -> None:
    """`info | grep 'connection rate'` found nothing: lines broke at 80 columns and
    table cells ended in '...' (here COLUMNS=40 would narrow them further)."""
    done = fannctl("info", net)
    assert done.returncode == 0, done.stderr
    assert "connection rate 1" in done.stdout
    assert f"{net}: hdf5 network" in done.stdout
    assert "sigmoid_symmetric_stepwise (0.5)" in done.stdout
    assert "…" not in done.stdout and "..." not in done.stdout


def test_threads_after_the_command(net: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """--threads was accepted only before the command name."""
    from fannctl import threads

    seen: list[int | None] = []
    monkeypatch.setattr(threads, "configure", seen.append)
    runner = CliRunner()
    assert runner.invoke(app, ["run", net, "-", "--threads", "3"], input="1 1\n").exit_code == 0
    assert runner.invoke(app, ["--threads", "2", "run", net, "-"], input="1 1\n").exit_code == 0
    assert runner.invoke(app, ["info", net, "--threads", "4"]).exit_code == 0
    assert runner.invoke(app, ["data", "info", XOR, "--threads", "5"]).exit_code == 0
    assert seen == [3, 2, 4, 5]


def test_commands_start_without_pydantic(net: str) -> None:
    """typer converted every option through pydantic: 0.23 s of a one-pattern run."""
    code = (
        "import sys; from fannctl.cli.main import main; sys.argv = ['fannctl', 'run', "
        f"{net!r}, '-', '--format', 'csv', '--threads', '1', '--no-header']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print('pydantic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input="1 1\n", capture_output=True, text=True, env=ENV
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train", "x.h5", "y.data", "--max-epochs", "many"), "'many' is not a whole number"),
        (
            ("create", "x.h5", "--layers", "2,1", "--connection-rate", "half"),
            "'half' is not a number",
        ),
    ],
)
def test_bad_option_values_name_the_option(args: tuple[str, ...], message: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2
    assert f"Invalid value for '{args[-2]}': {message}" in result.stderr
