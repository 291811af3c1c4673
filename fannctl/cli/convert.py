"""fannctl convert: between the HDF5 network file and FANN's .net."""

from __future__ import annotations

from typing import Annotated

import typer

from fannctl.cli import options, render


def convert(
    source: Annotated[str, typer.Argument(metavar="IN", help="Network file (.h5 or .net).")],
    target: Annotated[str, typer.Argument(metavar="OUT", help="Output: .h5/.hdf5 or .net.")],
    dtype: options.Dtype = None,
    quiet: options.Quiet = False,
) -> None:
    """Convert a network file; the format follows OUT's extension.

    A .net file holds what FANN keeps (no training state or history).

    Example: fannctl convert xor.h5 xor.net
    """
    with render.user_errors():
        from fannctl import jobs

        jobs.convert_file(jobs.ConvertRequest(source, target, dtype))
        render.say(f"wrote {target}", quiet)


def register(app: typer.Typer) -> None:
    app.command("convert")(convert)
