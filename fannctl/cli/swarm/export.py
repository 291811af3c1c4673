"""fannctl swarm export: one agent as a plain network file."""

from __future__ import annotations

from typing import Annotated

import typer

from fannctl.cli import options, render


def export(
    swarm_path: Annotated[str, typer.Argument(metavar="SWARM", help="Swarm file.")],
    out: Annotated[str, typer.Argument(help="Network file to write (.h5 or .net).")],
    agent: Annotated[
        str, typer.Option("--agent", help="Agent number, or best (lowest recorded error).")
    ] = "best",
    json_out: options.Json = False,
    quiet: options.Quiet = False,
) -> None:
    """Write one agent as a plain network file, exactly its weights and parameters.

    Example: fannctl swarm export s.h5 best.h5 --agent best
    """
    with render.user_errors():
        from fannctl import io, swarm

        io.check_network_target(out)
        population = swarm.load_swarm(swarm_path)
        number = swarm.resolve_agent(population, agent)
        net = swarm.export_agent(population, number)
        net.provenance.append(
            {"command": render.command_line(), "swarm": swarm_path, "agent": number}
        )
        io.save_network(net, out)
        if json_out:
            render.emit_json({"path": out, "agent": number})
        else:
            render.say(f"exported agent {number} of {swarm_path} to {out}", quiet)
