"""The ``fannctl`` command: one typer app, one module per command."""

from __future__ import annotations

import contextlib
import errno
import os
import sys

import typer
from typer._click import exceptions as click
from typer.core import TyperGroup

from fannctl.cli import (
    bench,
    cascade,
    coercion,
    convert,
    create,
    data,
    health,
    info,
    options,
    plot,
    run,
    swarm,
    train,
)


class FannctlGroup(TyperGroup):
    """The root command: shared option texts and --threads on every command, one-line
    usage errors, and a quiet end when the reader of stdout goes away."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        options.apply_shared_help(self)
        options.add_threads_option(self)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the command line; exit with its status (return it when not standalone)."""
        coercion.install(self)  # here: typer adds the completion options after __init__
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except click.NoArgsIsHelpError as error:
            error.show()
            code = error.exit_code
        except click.UsageError as error:
            print(_usage_line(error), file=sys.stderr)
            code = error.exit_code
        except click.ClickException as error:
            print(f"fannctl: error: {error.format_message()}", file=sys.stderr)
            code = error.exit_code
        except (KeyboardInterrupt, typer.Abort):
            print("fannctl: interrupted", file=sys.stderr)
            code = 130
        except OSError as error:
            code = _output_failed(error)
        except SystemExit as error:
            # rich exits 1 when the reader of stdout went away: that is no failure.
            if not isinstance(error.__context__, BrokenPipeError):
                raise
            code = _output_failed(error.__context__)
        code = _flush_stdout(code)
        if standalone_mode:
            sys.exit(code)
        return code


def _usage_line(error) -> str:
    """A usage error as one line, with a pointer to the command's --help."""
    message = " ".join(error.format_message().split()).rstrip(".")
    command = error.ctx.command_path if error.ctx is not None else "fannctl"
    return f"fannctl: error: {message} (see '{command} --help')"


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so nothing written later (Python's own flush at exit
    included) fails again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (a test's capture)
        pass
    finally:
        os.close(devnull)


def _output_failed(error: OSError) -> int:
    """A closed pipe ends quietly with 0; another failed write to stdout (a full
    disk, /dev/full) is one line and exit 1; anything else is a bug."""
    if error.errno == errno.EPIPE:
        _quiet_stdout()
        return 0
    if error.filename is None and error.errno in (
        errno.ENOSPC,
        errno.EIO,
        errno.EDQUOT,
        errno.EFBIG,
    ):
        _quiet_stdout()
        print(f"fannctl: error: cannot write output: {error.strerror}", file=sys.stderr)
        return 1
    raise error


def _flush_stdout(code: int) -> int:
    try:
        sys.stdout.flush()
    except OSError as error:
        return _output_failed(error) or code
    return code


app = typer.Typer(
    cls=FannctlGroup,
    name="fannctl",
    help="FANN-compatible neural networks from the shell: create, train and run "
    "networks stored in HDF5 or FANN .net files.\n\n"
    "Example: fannctl create xor.h5 --layers 2,3,1 --hidden-activation sigmoid_symmetric "
    "--output-activation sigmoid_symmetric --seed 1 && "
    "fannctl train xor.h5 datasets/xor.data --algorithm rprop",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

for module in (create, train, run, cascade, convert, info, plot, health, data):
    module.register(app)
swarm.register(app)  # the swarm sub-app: spawn, run, export
bench.register(app)


def _version(value: bool) -> None:
    if value:
        from fannctl import __version__

        print(f"fannctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
    threads: int | None = typer.Option(
        None, "--threads", envvar="FANNCTL_THREADS", help=options.HELP["--threads"][1]
    ),
) -> None:
    """FANN-compatible neural networks from the shell."""
    # Each command applies --threads (given here or after the command) before it
    # loads numpy: options.add_threads_option.
    data.render_library_warnings()  # e.g. the guard rail: one 'fannctl: warning:' line


def main() -> None:
    """Console-script entry point (also for ``python -m fannctl``)."""
    with _only_the_command_named(sys.argv[1:2]):
        app(prog_name="fannctl")


@contextlib.contextmanager
def _only_the_command_named(first: list[str]):
    """Typer builds every command's options from its signature before it parses the
    line (about 60 ms for all of them, a fifth of a one-pattern ``run``); a command
    line that starts with a command's name needs just that one built. Anything else
    (root options, ``--help``, a typo) gets the whole app."""
    commands, groups = app.registered_commands, app.registered_groups
    chosen = [c for c in commands if first and c.name == first[0]]
    chosen_groups = [g for g in groups if first and g.name == first[0]]
    if chosen or chosen_groups:
        app.registered_commands, app.registered_groups = chosen, chosen_groups
    try:
        yield
    finally:
        app.registered_commands, app.registered_groups = commands, groups


if __name__ == "__main__":
    main()
