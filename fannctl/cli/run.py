"""fannctl run: outputs for inputs, or FANN's test metrics on labelled data."""

from __future__ import annotations

from typing import Annotated

import typer

from fannctl.cli import options, render


def run(
    net_path: Annotated[str, typer.Argument(metavar="NET", help="Network file (.h5 or .net).")],
    input_path: Annotated[
        str,
        typer.Argument(
            metavar="INPUT", help="FANN .data, CSV/whitespace rows of inputs, or - for stdin."
        ),
    ],
    metrics: Annotated[
        bool,
        typer.Option("--metrics", help="Report FANN's MSE and bit fail (labelled data)."),
    ] = False,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="text (default), csv or json (JSON lines).")
    ] = "text",
    dtype: options.Dtype = None,
    device: options.Device = None,
    json_out: options.Json = False,
) -> None:
    """Run a network on each input pattern; one line of outputs per pattern on stdout.

    Example: printf '1 -1\\n' | fannctl run xor.h5 -
    """
    with render.user_errors():
        from fannctl import io, runner
        from fannctl.devices import resolve
        from fannctl.data import TrainingData
        from fannctl.errors import ParameterError

        if fmt not in ("text", "csv", "json"):
            raise ParameterError(f"--format must be text, csv or json, got {fmt!r}")
        net = io.open_network(net_path, dtype)
        backend = resolve(device)
        inputs, outputs = io.read_inputs(input_path, net.num_input)
        if metrics:
            if outputs is None:
                raise ParameterError(
                    f"{input_path}: --metrics needs labelled data (a FANN .data file)"
                )
            data = TrainingData(inputs, outputs, input_path)
            mse, bit_fail = runner.test(net, data, backend=backend)
            result = {"mse": mse, "bit_fail": bit_fail, "patterns": data.num_patterns}
            if json_out or fmt == "json":
                render.emit_json(result)
            else:
                print(f"mse: {mse!r}\nbit_fail: {bit_fail}\npatterns: {data.num_patterns}")
            return
        values = runner.run(net, inputs, backend=backend)
        render.print_rows(values, "json" if json_out else fmt)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
