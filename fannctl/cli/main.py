"""The ``fannctl`` command: one typer app, one module per command."""

from __future__ import annotations

import sys

import typer

from fannctl.cli import cascade, convert, create, health, info, run, train

app = typer.Typer(
    name="fannctl",
    help="FANN-compatible neural networks from the shell: create, train and run "
    "networks stored in HDF5 or FANN .net files.\n\n"
    "Example: fannctl create xor.h5 --layers 2,3,1 --seed 1 && "
    "fannctl train xor.h5 datasets/xor.data",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

for module in (create, train, run, cascade, convert, info, health):
    module.register(app)


def _version(value: bool) -> None:
    if value:
        from fannctl import __version__

        print(f"fannctl {__version__}")
        raise typer.Exit()


_THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def _threads(value: int | None) -> None:
    """Set the BLAS/numexpr thread count before numpy loads (commands import it lazily).

    The default is one thread, like libfann: on a shared machine (CI, cron) a
    second BLAS thread that has to wait for a busy core stalls every product.
    """
    import os

    if value is None:
        if any(name in os.environ for name in _THREAD_VARIABLES):
            return
        value = 1
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(max(int(value), 1))
    # PoCL's CPU device (OpenCL) takes its worker count from these.
    os.environ.setdefault("POCL_MAX_PTHREAD_COUNT", str(max(int(value), 1)))


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
    threads: int | None = typer.Option(
        None,
        "--threads",
        envvar="FANNCTL_THREADS",
        help="Compute threads for BLAS and numexpr (default 1, or what "
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
