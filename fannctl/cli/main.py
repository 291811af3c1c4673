"""The ``fannctl`` command: one typer app, one module per command."""

from __future__ import annotations

import sys

import typer

from fannctl.cli import cascade, convert, create, data, health, info, run, train

app = typer.Typer(
    name="fannctl",
    help="FANN-compatible neural networks from the shell: create, train and run "
    "networks stored in HDF5 or FANN .net files.\n\n"
    "Example: fannctl create xor.h5 --layers 2,3,1 --hidden-activation sigmoid_symmetric "
    "--output-activation sigmoid_symmetric --seed 1 && "
    "fannctl train xor.h5 datasets/xor.data --algorithm rprop",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

for module in (create, train, run, cascade, convert, info, health, data):
    module.register(app)


def _version(value: bool) -> None:
    if value:
        from fannctl import __version__

        print(f"fannctl {__version__}")
        raise typer.Exit()


def _threads(value: int | None) -> None:
    """Set the compute threads before numpy loads (commands import it lazily)."""
    from fannctl import threads

    threads.configure(value)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
    threads: int | None = typer.Option(
        None,
        "--threads",
        envvar="FANNCTL_THREADS",
        help="Compute threads for BLAS, numexpr and the OpenCL CPU device (default 1, or what "
        "OPENBLAS_NUM_THREADS/OMP_NUM_THREADS say).",
    ),
) -> None:
    """FANN-compatible neural networks from the shell."""
    _threads(threads)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:  # pragma: no cover - downstream closed early
        sys.exit(0)


if __name__ == "__main__":
    main()
