"""fannctl create: a new network, as FANN's fann_create_standard/sparse/shortcut."""

from __future__ import annotations

from typing import Annotated

import typer

from fannctl.cli import options, render


def create(
    out: Annotated[str, typer.Argument(help="Network file to write (.h5/.hdf5 or .net).")],
    layers: Annotated[
        str, typer.Option("--layers", "-l", help="Neurons per layer, inputs first: 2,3,1.")
    ],
    shortcut: Annotated[
        bool, typer.Option("--shortcut", help="Connect every layer to all earlier ones.")
    ] = False,
    connection_rate: Annotated[
        float, typer.Option("--connection-rate", help="Sparse net: fraction of connections.")
    ] = 1.0,
    hidden_activation: Annotated[
        str | None, typer.Option("--hidden-activation", help="e.g. sigmoid_symmetric.")
    ] = None,
    output_activation: Annotated[
        str | None, typer.Option("--output-activation", help="e.g. linear.")
    ] = None,
    hidden_steepness: Annotated[float | None, typer.Option("--hidden-steepness")] = None,
    output_steepness: Annotated[float | None, typer.Option("--output-steepness")] = None,
    init: Annotated[
        str, typer.Option("--init", help="uniform (+-0.1, FANN's default) or widrow.")
    ] = "uniform",
    init_data: Annotated[
        str | None, typer.Option("--init-data", help="Data whose input range --init widrow uses.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Replace OUT if it exists.")] = False,
    seed: options.Seed = None,
    dtype: options.Dtype = None,
    json_out: options.Json = False,
    quiet: options.Quiet = False,
) -> None:
    """Create a network and write it (an existing OUT only with --force).

    Example: fannctl create xor.h5 --layers 2,3,1 --hidden-activation sigmoid_symmetric
    --output-activation sigmoid_symmetric --seed 1
    """
    with render.user_errors():
        from fannctl import jobs
        from fannctl.network import parse_layer_sizes

        outcome = jobs.create_network(
            jobs.CreateRequest(
                out,
                parse_layer_sizes(layers),
                shortcut=shortcut,
                connection_rate=connection_rate,
                hidden_activation=hidden_activation,
                output_activation=output_activation,
                hidden_steepness=hidden_steepness,
                output_steepness=output_steepness,
                init=init,
                init_data=init_data,
                seed=seed,
                dtype=dtype,
                command=render.command_line(),
                force=force,
            )
        )
        summary = outcome.to_dict()
        if json_out:
            render.emit_json(summary)
        else:
            net = outcome.network
            render.say(
                f"created {out}: layers {'-'.join(map(str, net.layers))}, "
                f"{net.total_connections} connections ({summary['network_type']}, {net.dtype})",
                quiet,
            )


def register(app: typer.Typer) -> None:
    app.command("create")(create)
