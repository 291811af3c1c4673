"""Options shared by several commands, defined once."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or report lines.")]
Seed = Annotated[
    int | None, typer.Option("--seed", help="Seed for every random draw (reproducible runs).")
]
Dtype = Annotated[
    str | None,
    typer.Option("--dtype", help="float32 (FANN's float build, default) or float64."),
]


def _render_fallbacks(value: str | None) -> str | None:
    """Device fallbacks become one 'fannctl: warning:' line on stderr (not a Python warning)."""
    from fannctl import devices

    devices.fallback_handler = lambda message: print(
        f"fannctl: warning: {message}", file=sys.stderr, flush=True
    )
    return value


def _device_option(help: str):
    """``--device``/``-d`` (or FANNCTL_DEVICE), its fallback warnings rendered."""
    return Annotated[
        str | None,
        typer.Option(
            "--device", "-d", envvar="FANNCTL_DEVICE", callback=_render_fallbacks, help=help
        ),
    ]


Device = _device_option(
    "Compute device: auto (default: numpy unless a measured OpenCL device is "
    "faster), numpy, cl (OpenCL: a GPU if there is one, else the CPU device) or cl:N "
    "(numbered as `fannctl health` lists them). A failing device falls back to the "
    "next, down to numpy, with one warning."
)
CascadeDevice = _device_option(
    "Where the candidate epochs' elementwise work runs: auto (default: an OpenCL "
    "device's kernel when trial epochs on the first pool show it faster than numpy), "
    "numpy, cl (the fastest device that agrees with numpy) or cl:N. Runs repeat exactly "
    "on numpy or on one device."
)
Output = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the result here (.h5/.hdf5 or .net) instead of replacing the network file.",
    ),
]
MaxEpochs = Annotated[int, typer.Option("--max-epochs", help="Stop after this many epochs.")]
DesiredError = Annotated[
    float, typer.Option("--desired-error", help="Stop when the error reaches this (MSE or bits).")
]


def parse_pair(text: str | None, what: str) -> tuple[float, float] | None:
    """Parse 'MIN,MAX'."""
    from fannctl.errors import ParameterError

    if text is None:
        return None
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise ParameterError(f"{what} takes MIN,MAX (two numbers), got {text!r}") from None
    if not low < high:
        raise ParameterError(f"{what}: MIN must be below MAX, got {text!r}")
    return low, high


def parse_int_list(text: str, what: str) -> list[int]:
    """Parse comma-separated integers such as '2,3,1'."""
    return _parse_list(text, what, int, "integers")


def parse_float_list(text: str, what: str) -> list[float]:
    """Parse comma-separated numbers such as '0.25,0.5'."""
    return _parse_list(text, what, float, "numbers")


def _parse_list(text: str, what: str, kind: type, noun: str) -> list:
    from fannctl.errors import ParameterError

    try:
        values = [kind(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise ParameterError(f"{what} takes comma-separated {noun}, got {text!r}") from None
    if not values:
        raise ParameterError(f"{what} needs at least one number")
    return values
