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
    seed: options.Seed = None,
    dtype: options.Dtype = None,
    json_out: options.Json = False,
    quiet: options.Quiet = False,
) -> None:
    """Create a network and write it.

    Example: fannctl create xor.h5 --layers 2,3,1 --hidden-activation sigmoid_symmetric
    --output-activation sigmoid_symmetric --seed 1
    """
    with render.user_errors():
        from fannctl import io, provenance
        from fannctl.errors import ParameterError
        from fannctl.network import build

        io.check_network_target(out)
        if shortcut and connection_rate < 1:
            raise ParameterError("--shortcut and --connection-rate cannot be combined")
        if init not in ("uniform", "widrow"):
            raise ParameterError(f"--init must be uniform or widrow, got {init!r}")
        widrow = None
        if init == "widrow":
            if init_data is None:
                raise ParameterError("--init widrow needs --init-data FILE")
            data = io.load_data(init_data)
            widrow = (float(data.inputs.min()), float(data.inputs.max()))
        elif init_data is not None:
            raise ParameterError("--init-data is only used with --init widrow")
        net = build(
            options.parse_int_list(layers, "--layers"),
            shortcut=shortcut,
            connection_rate=connection_rate,
            hidden_activation=hidden_activation,
            output_activation=output_activation,
            hidden_steepness=hidden_steepness,
            output_steepness=output_steepness,
            seed=seed,
            dtype=dtype or "float32",
            widrow_input_range=widrow,
        )
        provenance.record(net, render.command_line(), init_data, seed=seed)
        io.save_network(net, out)
        summary = {
            "path": out,
            "layers": net.layers,
            "network_type": "shortcut" if net.network_type else "layer",
            "connection_rate": net.connection_rate,
            "connections": net.total_connections,
            "dtype": str(net.dtype),
        }
        if json_out:
            render.emit_json(summary)
        else:
            render.say(
                f"created {out}: layers {'-'.join(map(str, net.layers))}, "
                f"{net.total_connections} connections ({summary['network_type']}, {net.dtype})",
                quiet,
            )


def register(app: typer.Typer) -> None:
    app.command("create")(create)
