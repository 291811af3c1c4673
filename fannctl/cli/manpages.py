"""Generate man pages from each command's --help text (``make man``)."""

from __future__ import annotations

import datetime
import pathlib
import sys

from typer.testing import CliRunner

from fannctl import __version__
from fannctl.cli.main import app

COMMANDS = ("create", "train", "run", "cascade", "convert", "info", "health")


def _escape(line: str) -> str:
    line = line.replace("\\", "\\\\")
    return "\\&" + line if line.startswith((".", "'")) else line


def page(command: str | None) -> str:
    """One man page (troff) whose body is the command's --help output."""
    args = [command, "--help"] if command else ["--help"]
    env = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    text = CliRunner().invoke(app, args, env=env, prog_name="fannctl").output
    name = f"fannctl-{command}" if command else "fannctl"
    date = datetime.date.today().isoformat()
    body = "\n".join(_escape(line) for line in text.rstrip().splitlines())
    see_also = ", ".join(f"fannctl-{c}(1)" for c in COMMANDS if c != command)
    return (
        f'.TH {name.upper()} 1 "{date}" "fannctl {__version__}" "fannctl manual"\n'
        f".SH NAME\n{name} \\- FANN-compatible neural networks from the shell\n"
        f".SH DESCRIPTION\n.nf\n{body}\n.fi\n.SH SEE ALSO\n{see_also}\n"
    )


def main(out_dir: str = "man") -> None:
    target = pathlib.Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    for command in (None, *COMMANDS):
        name = f"fannctl-{command}" if command else "fannctl"
        (target / f"{name}.1").write_text(page(command))


if __name__ == "__main__":
    main(*sys.argv[1:])
