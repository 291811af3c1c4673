"""fannctl swarm: spawn, run and export populations of networks (a typer sub-app).

One module per command (``spawn``, ``run``, ``export``); ``files`` serves
``fannctl run`` and ``fannctl info`` when they are given a swarm file.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="swarm",
    help="Populations of same-shape networks trained together in one batched computation.\n\n"
    "Example: fannctl swarm spawn s.h5 --agents 100 --layers 2,3,1 --seed 1 && "
    "fannctl swarm run s.h5 datasets/xor.data --rounds 5 --epochs-per-round 100",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def register(parent: typer.Typer) -> None:
    """Add the swarm sub-app and its commands, in this order, to ``parent``."""
    from fannctl.cli.swarm import export, run, spawn

    if not app.registered_commands:
        app.command("spawn")(spawn.spawn)
        app.command("run")(run.run)
        app.command("export")(export.export)
    parent.add_typer(app, name="swarm")


from fannctl.cli.swarm.files import is_swarm, print_swarm_summary, run_swarm_file  # noqa: E402

__all__ = ["app", "is_swarm", "print_swarm_summary", "register", "run_swarm_file"]
