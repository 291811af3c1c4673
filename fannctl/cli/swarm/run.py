"""fannctl swarm run: rounds of local training and exchange."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fannctl.cli import options, render

SwarmDevice = options._device_option(
    "Where the chunks trained in this process run: numpy (default: the same bits as "
    "`fannctl train` on numpy), cl (an OpenCL device: a GPU if there is one, else the "
    "CPU device), cl:N or a stable device name (as `fannctl health` lists them), or "
    "auto (the first usable OpenCL device, else numpy). On a device every agent "
    "matches numpy's to rounding (sums in another order). A failing device falls back "
    "to the next, down to numpy, with one warning. Not used on a Dask cluster."
)


def round_line(record) -> str:
    """One FANN-style line per round."""
    line = (
        f"Round {record.round:6d} ({record.strategy}). Best error: {record.best_error:.10f} "
        f"(agent {record.best_agent}). Median: {record.median_error:.10f}. "
        f"Worst: {record.worst_error:.10f}. Spread: {record.spread:.6g}."
    )
    if record.ensemble_error is not None:
        line += f" Ensemble test error: {record.ensemble_error:.10f}."
    return line


def run(
    swarm_path: Annotated[str, typer.Argument(metavar="SWARM", help="Swarm file (replaced).")],
    data_path: Annotated[str, typer.Argument(metavar="DATA", help="Training data.")],
    test: Annotated[
        str | None,
        typer.Option("--test", help="Validation data: ranks agents, scores the ensemble."),
    ] = None,
    strategy: Annotated[
        str, typer.Option("--strategy", help="independent, average, evolve or pso.")
    ] = "independent",
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds to run.")] = 1,
    epochs_per_round: Annotated[
        int, typer.Option("--epochs-per-round", help="Local epochs (pso: moves) per round.")
    ] = 1,
    data_split: Annotated[
        str, typer.Option("--data-split", help="full, bootstrap or shard (one per agent).")
    ] = "full",
    algorithm: Annotated[
        str | None, typer.Option("--algorithm", "-a", help="Set every agent's algorithm.")
    ] = None,
    evolve_quantile: Annotated[
        float, typer.Option("--evolve-quantile", help="evolve: share replaced/copied.")
    ] = 0.25,
    perturb_factors: Annotated[
        str, typer.Option("--perturb-factors", help="evolve: the two factors, e.g. 0.8,1.2.")
    ] = "0.8,1.2",
    resample_probability: Annotated[
        float, typer.Option("--resample-probability", help="evolve: chance of a redraw.")
    ] = 0.25,
    pso_inertia: Annotated[float, typer.Option("--pso-inertia")] = 0.7298,
    pso_cognitive: Annotated[float, typer.Option("--pso-cognitive")] = 1.49618,
    pso_social: Annotated[float, typer.Option("--pso-social")] = 1.49618,
    pso_max_velocity: Annotated[float, typer.Option("--pso-max-velocity")] = 0.5,
    chunk_agents: Annotated[
        int | None, typer.Option("--chunk-agents", help="Agents per batched computation.")
    ] = None,
    device: SwarmDevice = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Train on the Dask cluster at this tcp:// or tls:// address (TLS settings "
            "from dask's config). Default: none (in this process).",
        ),
    ] = None,
    scheduler_file: Annotated[
        str | None,
        typer.Option(
            "--scheduler-file",
            help="Train on the Dask cluster this scheduler file names. Default: none.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Train on a local Dask cluster of N worker processes, started for "
            "this run. Default: none (in this process).",
        ),
    ] = None,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            "--checkpoint-every",
            help="Save the swarm file after every N completed rounds. Default: 0 (at the "
            "end, and after every round on a cluster).",
        ),
    ] = 0,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue a run that a signal interrupted: the rounds it completed count "
            "toward its --rounds. Default: off.",
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON line per round.")] = False,
    quiet: options.Quiet = False,
) -> None:
    """Train a swarm for some rounds, exchanging between neighbours after each.

    Example: fannctl swarm run s.h5 datasets/mushroom.train --test datasets/mushroom.test
    --strategy evolve --rounds 20 --epochs-per-round 5
    """
    with render.user_errors():
        from fannctl import checkpoint, io, lock, swarm
        from fannctl.errors import ParameterError
        from fannctl.swarm import cluster, strategies

        if checkpoint_every < 0:
            raise ParameterError(f"--checkpoint-every must be at least 0, got {checkpoint_every}")
        if device is not None:
            from fannctl import devices

            devices.parse(device)  # a bad name: one line, exit 2, the file untouched
        on_cluster = scheduler is not None or scheduler_file is not None or workers
        with lock.writer_lock(swarm_path, render.command_line()):
            population = swarm.load_swarm(
                swarm_path,  # the device opens while a forked child reads the file
                meanwhile=None if on_cluster else lambda: swarm.prepare_device(device),
            )
            target = rounds
            if resume:
                pending = _interrupted(population)
                if pending is None:
                    raise ParameterError(f"{swarm_path}: no interrupted swarm run to resume")
                target, done_before = pending["rounds"], pending["done"]
                rounds = target - done_before
            else:
                done_before = 0
            n_out = population.template.num_output
            data = io.load_data(data_path, num_outputs=n_out)
            test_data = io.load_data(test, num_outputs=n_out) if test else None
            factors = options.parse_pair(perturb_factors, "--perturb-factors")
            config = swarm.RunConfig(
                strategy=strategy,
                rounds=rounds,
                epochs_per_round=epochs_per_round,
                data_split=data_split,
                algorithm=algorithm,
                evolve=strategies.EvolveConfig(evolve_quantile, factors, resample_probability),
                pso=strategies.PsoConfig(pso_inertia, pso_cognitive, pso_social, pso_max_velocity),
                chunk_agents=chunk_agents,
                device=device,
            )
            start_round = population.round
            with checkpoint.stop_on_signals() as stop:
                with cluster.connect(
                    scheduler, scheduler_file, workers, dashboard=True
                ) as executor:
                    if executor is not None:
                        _quiet_dask_logs()
                    try:
                        _run(
                            population,
                            data,
                            test_data,
                            config,
                            executor,
                            swarm_path,
                            data_path,
                            json_out,
                            quiet,
                            stop=stop,
                            every=checkpoint_every,
                        )
                    except cluster.ClusterError:
                        _record_cluster_loss(swarm_path, start_round, target, done_before)
                        raise
                if stop():
                    # a consistent file as of the last completed round, and how to go on
                    _mark_interrupted(
                        population, start_round, target, done_before, signal=stop.signal_name
                    )
                    swarm.save_swarm(population, swarm_path)
                    render.say(
                        f"fannctl: {stop.signal_name}: stopped after round {population.round}; "
                        f"{swarm_path} holds every completed round; resume with: "
                        f"{checkpoint.resume_hint(render.command_line())}"
                    )
                    raise typer.Exit(stop.exit_code)


def _record_cluster_loss(swarm_path: str, start_round: int, target: int, before: int) -> None:
    """The cluster went away mid-round: the file holds every completed round (saved
    after each on a cluster; the swarm in memory may be half-way through one), so
    mark in the file's own record how far this run got, for --resume."""
    from fannctl import swarm

    saved = swarm.load_swarm(swarm_path)
    if saved.round == start_round:
        return  # no round completed: the same command starts the run again
    _mark_interrupted(saved, start_round, target, before, reason="cluster")
    swarm.save_swarm(saved, swarm_path)


def _mark_interrupted(population, start_round: int, target: int, before: int, **why) -> None:
    """Record in the last run's provenance how far it got toward ``target`` rounds
    (``before`` of them done by the runs it resumed), for --resume."""
    done = before + population.round - start_round
    population.provenance[-1]["interrupted"] = {"rounds": target, "done": done, **why}


def _interrupted(population) -> dict | None:
    """The interruption record of the swarm's last run, if a signal ended it."""
    last = population.provenance[-1] if population.provenance else {}
    found = last.get("interrupted") if isinstance(last, dict) else None
    return found if isinstance(found, dict) and {"rounds", "done"} <= set(found) else None


def _run(
    population,
    data,
    test_data,
    config,
    executor,
    swarm_path,
    data_path,
    json_out,
    quiet,
    *,
    stop=None,
    every: int = 0,
) -> None:
    """The rounds, rendered; the file is saved after every ``every`` completed rounds
    (every round on a cluster) and at the end."""
    from fannctl import swarm

    completed = 0

    population.provenance.append({"command": render.command_line(), "data": data_path})
    if executor is not None and executor.dashboard and not (quiet or json_out):
        print(f"Dask dashboard: {executor.dashboard}", file=sys.stderr, flush=True)
    progress = _RoundProgress(config.rounds) if not quiet and render.is_tty() else None

    def on_round(record) -> None:
        nonlocal completed
        completed += 1
        # a cluster may go away: keep every completed round; else every N if asked
        if executor is not None or (every and completed % every == 0):
            swarm.save_swarm(population, swarm_path)
        if json_out:
            render.emit_json(record.to_dict())
        if progress is not None:
            progress.advance(round_line(record))
        elif not quiet:
            print(round_line(record), file=sys.stderr, flush=True)

    try:
        swarm.run(
            population,
            data,
            config,
            test_data=test_data,
            on_round=on_round,
            executor=executor,
            should_stop=stop,
        )
    finally:
        if progress is not None:
            progress.close()
    swarm.save_swarm(population, swarm_path)


def _quiet_dask_logs() -> None:
    """Dask logs its reconnect attempts with tracebacks; fannctl says one line instead
    (FANNCTL_DEBUG keeps them)."""
    import logging
    import os

    if os.environ.get("FANNCTL_DEBUG"):
        return
    for name in [*logging.root.manager.loggerDict, "distributed"]:
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


class _RoundProgress:
    """A progress bar over rounds on a TTY, round lines printed above it."""

    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("[bold]rounds"),
            BarColumn(),
            MofNCompleteColumn(),
            console=render.console(),
            transient=True,
        )
        self._task = self._progress.add_task("rounds", total=total)
        self._progress.start()

    def advance(self, line: str) -> None:
        self._progress.advance(self._task)
        self._progress.console.print(line, markup=False)

    def close(self) -> None:
        self._progress.stop()
