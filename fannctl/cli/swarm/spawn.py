"""fannctl swarm spawn: a new population of same-shape networks."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from fannctl.cli import options, render


def _pairs(values: list[str] | None, what: str) -> dict[str, float]:
    from fannctl.errors import ParameterError

    out = {}
    for text in values or []:
        name, sep, value = text.partition("=")
        try:
            out[name.strip().replace("-", "_")] = float(value)
        except ValueError:
            raise ParameterError(f"{what} {text!r}: expected NAME=NUMBER") from None
        if not sep:
            raise ParameterError(f"{what} {text!r}: expected NAME=NUMBER")
    return out


def spawn(
    out: Annotated[str, typer.Argument(help="Swarm file to write (.h5).")],
    agents: Annotated[int, typer.Option("--agents", "-n", help="Number of agents.")] = 10,
    layers: Annotated[
        str | None, typer.Option("--layers", "-l", help="Neurons per layer, inputs first: 2,3,1.")
    ] = None,
    from_net: Annotated[
        str | None, typer.Option("--from", help="Start every agent from this network.")
    ] = None,
    noise: Annotated[
        float, typer.Option("--noise", help="With --from: uniform weight noise in +-S.")
    ] = 0.0,
    shortcut: Annotated[bool, typer.Option("--shortcut", help="Shortcut connections.")] = False,
    connection_rate: Annotated[float, typer.Option("--connection-rate")] = 1.0,
    hidden_activation: Annotated[str | None, typer.Option("--hidden-activation")] = None,
    output_activation: Annotated[str | None, typer.Option("--output-activation")] = None,
    hidden_steepness: Annotated[float | None, typer.Option("--hidden-steepness")] = None,
    output_steepness: Annotated[float | None, typer.Option("--output-steepness")] = None,
    topology: Annotated[
        str,
        typer.Option("--topology", help="mesh, star, ring:K, grid, hierarchical:B or random:K."),
    ] = "mesh",
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="Per-agent value: PARAM=LO:HI (uniform), PARAM=LO:HI:log, or "
            "algorithm=rprop,quickprop. Repeatable.",
        ),
    ] = None,
    algorithm: Annotated[
        str | None,
        typer.Option("--algorithm", "-a", help="incremental, batch, rprop, quickprop, sarprop."),
    ] = None,
    error_function: Annotated[
        str | None, typer.Option("--error-function", help="tanh (default) or linear.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="A training parameter for every agent: NAME=VALUE."),
    ] = None,
    seed: options.Seed = None,
    dtype: options.Dtype = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Replace OUT if it exists.")] = False,
    json_out: options.Json = False,
    quiet: options.Quiet = False,
) -> None:
    """Create a swarm of agents that share one network shape (an existing OUT only
    with --force: it may hold a trained swarm).

    Example: fannctl swarm spawn s.h5 --agents 1000 --layers 125,32,2 --topology ring:2
    --vary learning_rate=0.3:1.0 --vary hidden_steepness=0.25:1.0 --seed 7
    """
    with render.user_errors():
        from fannctl import io, swarm
        from fannctl.errors import ParameterError

        if not force and os.path.exists(out):
            raise ParameterError(
                f"{out}: exists (a trained swarm, perhaps); use --force to replace it"
            )
        if layers is None and from_net is None:
            raise ParameterError("swarm spawn needs --layers or --from NET")
        if layers is not None and from_net is not None:
            raise ParameterError("give --layers or --from, not both")
        if noise and from_net is None:
            raise ParameterError("--noise is used with --from NET")
        shape_options = (
            shortcut,
            connection_rate < 1,
            hidden_activation,
            output_activation,
            hidden_steepness is not None,
            output_steepness is not None,
        )
        if from_net is not None and any(shape_options):
            raise ParameterError(
                "--from NET takes its shape, activations and steepness from "
                "NET; --shortcut, --connection-rate, activations and "
                "steepnesses go with --layers"
            )
        if shortcut and connection_rate < 1:
            raise ParameterError("--shortcut and --connection-rate cannot be combined")
        specs = [swarm.parse_vary(v) for v in vary or []]
        template = io.open_network(from_net, dtype) if from_net else None
        base = template.params if template is not None else None
        from fannctl.params import TrainingParams

        params = (base or TrainingParams()).replace(
            training_algorithm=algorithm,
            train_error_function=error_function,
            **_pairs(param, "--param"),
        )
        result = swarm.spawn(
            agents,
            layers=options.parse_int_list(layers, "--layers") if layers else None,
            template=template,
            noise=noise,
            shortcut=shortcut,
            connection_rate=connection_rate,
            hidden_activation=hidden_activation,
            output_activation=output_activation,
            hidden_steepness=hidden_steepness,
            output_steepness=output_steepness,
            dtype=dtype or "float32",
            topology=topology,
            vary=specs,
            params=params,
            seed=seed or 0,
            lazy=True,
        )
        result.provenance.append({"command": render.command_line()})
        swarm.save_swarm(result, out)
        summary = {
            "path": out,
            "agents": result.agents,
            "layers": result.template.layers,
            "connections": result.template.total_connections,
            "topology": result.topology.spec,
            "dtype": result.dtype.name,
            "vary": [v.to_dict() for v in specs],
        }
        if json_out:
            render.emit_json(summary)
        else:
            render.say(
                f"spawned {out}: {result.agents} agents of "
                f"{'-'.join(map(str, result.template.layers))}, topology {result.topology.spec}",
                quiet,
            )
