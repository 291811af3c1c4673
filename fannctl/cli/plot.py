"""fannctl plot: a file's training curves as an image (matplotlib, an optional extra)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fannctl.cli import render


def plot(
    net_path: Annotated[
        str, typer.Argument(metavar="NET", help="A network file (.h5 or .net) or a swarm file.")
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="The image to write (atomically): .svg, .png or .pdf, or - for SVG on stdout.",
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="NAME",
            help="svg, png or pdf. Default: by FILE's extension (svg for -).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No 'wrote FILE' line.")] = False,
) -> None:
    """Draw the training and test error curves a file keeps (for a swarm: the best,
    median and worst agent and the ensemble, per round) as SVG, PNG or PDF.

    Needs matplotlib: pip install 'fannctl[plot]'. `fannctl info` draws the same
    curves in the terminal.

    Example: fannctl plot xor.h5 -o curve.svg
    """
    with render.user_errors():
        from fannctl import curves, jobs
        from fannctl.cli import swarm as swarm_cli

        if swarm_cli.is_swarm(net_path):
            from fannctl import swarm

            summary = swarm.describe(swarm.load_swarm(net_path), net_path)
        else:
            summary = jobs.describe_file(jobs.DescribeRequest(net_path)).summary
        drawn = curves.curves_of(summary)
        if output == "-":
            data = curves.render_plot(drawn, curves.plot_format("-", fmt))
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            return
        written = curves.write_plot(drawn, output, fmt)
        render.say(f"wrote {output} ({written})", quiet)


def register(app: typer.Typer) -> None:
    app.command("plot")(plot)
