"""fannctl info: what a network file holds."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from fannctl.cli import options, render


def info(
    net_path: Annotated[str, typer.Argument(metavar="NET", help="Network file (.h5 or .net).")],
    json_out: options.Json = False,
    dot: Annotated[
        bool,
        typer.Option(
            "--dot",
            help="Print the network as Graphviz DOT instead: every neuron by layer, every "
            "connection with its weight (render with: dot -Tsvg).",
        ),
    ] = False,
) -> None:
    """Show layers, connections, activations, parameters and training history.

    Example: fannctl info xor.h5 --json

    Example: fannctl info xor.h5 --dot | dot -Tsvg > xor.svg
    """
    with render.user_errors():
        from fannctl import jobs
        from fannctl.cli import swarm as swarm_cli

        if dot:
            from fannctl import graphviz, io
            from fannctl.errors import ParameterError

            if swarm_cli.is_swarm(net_path):
                raise ParameterError(
                    f"{net_path}: a swarm file: export an agent (fannctl swarm export) and "
                    "draw that"
                )
            net = io.open_network(net_path)
            render.emit_text(graphviz.network_dot(net, os.path.basename(net_path)))
            return
        if swarm_cli.is_swarm(net_path):  # a swarm file: its own summary
            from fannctl import swarm

            summary = swarm.describe(swarm.load_swarm(net_path), net_path)
            if json_out:
                render.emit_json(summary)
            else:
                swarm_cli.print_swarm_summary(summary)
            return
        summary = jobs.describe_file(jobs.DescribeRequest(net_path)).summary
        if json_out:
            render.emit_json(summary)
        else:
            render.print_summary(summary)


def register(app: typer.Typer) -> None:
    app.command("info")(info)
