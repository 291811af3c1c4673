"""fannctl swarm: spawn, run and export populations of networks (a typer sub-app)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fannctl.cli import options, render

app = typer.Typer(
    name="swarm",
    help="Populations of same-shape networks trained together in one batched computation.\n\n"
    "Example: fannctl swarm spawn s.h5 --agents 100 --layers 2,3,1 --seed 1 && "
    "fannctl swarm run s.h5 datasets/xor.data --rounds 5 --epochs-per-round 100",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _pairs(values: list[str] | None, what: str) -> dict[str, float]:
    from fannctl.errors import ParameterError

    out = {}
    for text in values or []:
        name, sep, value = text.partition("=")
        try:
            out[name.strip().replace("-", "_")] = float(value)
        except ValueError:
            raise ParameterError(f"{what} {text!r}: expected NAME=NUMBER") from None
        if not sep:
            raise ParameterError(f"{what} {text!r}: expected NAME=NUMBER")
    return out


@app.command("spawn")
def spawn(
    out: Annotated[str, typer.Argument(help="Swarm file to write (.h5).")],
    agents: Annotated[int, typer.Option("--agents", "-n", help="Number of agents.")] = 10,
    layers: Annotated[
        str | None, typer.Option("--layers", "-l", help="Neurons per layer, inputs first: 2,3,1.")
    ] = None,
    from_net: Annotated[
        str | None, typer.Option("--from", help="Start every agent from this network.")
    ] = None,
    noise: Annotated[
        float, typer.Option("--noise", help="With --from: uniform weight noise in +-S.")
    ] = 0.0,
    shortcut: Annotated[bool, typer.Option("--shortcut", help="Shortcut connections.")] = False,
    connection_rate: Annotated[float, typer.Option("--connection-rate")] = 1.0,
    hidden_activation: Annotated[str | None, typer.Option("--hidden-activation")] = None,
    output_activation: Annotated[str | None, typer.Option("--output-activation")] = None,
    hidden_steepness: Annotated[float | None, typer.Option("--hidden-steepness")] = None,
    output_steepness: Annotated[float | None, typer.Option("--output-steepness")] = None,
    topology: Annotated[
        str,
        typer.Option("--topology", help="mesh, star, ring:K, grid, hierarchical:B or random:K."),
    ] = "mesh",
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="Per-agent value: PARAM=LO:HI (uniform), PARAM=LO:HI:log, or "
            "algorithm=rprop,quickprop. Repeatable.",
        ),
    ] = None,
    algorithm: Annotated[
        str | None,
        typer.Option("--algorithm", "-a", help="incremental, batch, rprop, quickprop, sarprop."),
    ] = None,
    error_function: Annotated[
        str | None, typer.Option("--error-function", help="tanh (default) or linear.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="A training parameter for every agent: NAME=VALUE."),
    ] = None,
    seed: options.Seed = None,
    dtype: options.Dtype = None,
    json_out: options.Json = False,
    quiet: options.Quiet = False,
) -> None:
    """Create a swarm of agents that share one network shape.

    Example: fannctl swarm spawn s.h5 --agents 1000 --layers 125,32,2 --topology ring:2
    --vary learning_rate=0.3:1.0 --vary hidden_steepness=0.25:1.0 --seed 7
    """
    with render.user_errors():
        from fannctl import io, swarm
        from fannctl.errors import ParameterError

        if layers is None and from_net is None:
            raise ParameterError("swarm spawn needs --layers or --from NET")
        if layers is not None and from_net is not None:
            raise ParameterError("give --layers or --from, not both")
        if noise and from_net is None:
            raise ParameterError("--noise is used with --from NET")
        shape_options = (
            shortcut,
            connection_rate < 1,
            hidden_activation,
            output_activation,
            hidden_steepness is not None,
            output_steepness is not None,
        )
        if from_net is not None and any(shape_options):
            raise ParameterError(
                "--from NET takes its shape, activations and steepness from "
                "NET; --shortcut, --connection-rate, activations and "
                "steepnesses go with --layers"
            )
        if shortcut and connection_rate < 1:
            raise ParameterError("--shortcut and --connection-rate cannot be combined")
        specs = [swarm.parse_vary(v) for v in vary or []]
        template = io.open_network(from_net, dtype) if from_net else None
        base = template.params if template is not None else None
        from fannctl.params import TrainingParams

        params = (base or TrainingParams()).replace(
            training_algorithm=algorithm,
            train_error_function=error_function,
            **_pairs(param, "--param"),
        )
        result = swarm.spawn(
            agents,
            layers=options.parse_int_list(layers, "--layers") if layers else None,
            template=template,
            noise=noise,
            shortcut=shortcut,
            connection_rate=connection_rate,
            hidden_activation=hidden_activation,
            output_activation=output_activation,
            hidden_steepness=hidden_steepness,
            output_steepness=output_steepness,
            dtype=dtype or "float32",
            topology=topology,
            vary=specs,
            params=params,
            seed=seed or 0,
            lazy=True,
        )
        result.provenance.append({"command": render.command_line()})
        swarm.save_swarm(result, out)
        summary = {
            "path": out,
            "agents": result.agents,
            "layers": result.template.layers,
            "connections": result.template.total_connections,
            "topology": result.topology.spec,
            "dtype": result.dtype.name,
            "vary": [v.to_dict() for v in specs],
        }
        if json_out:
            render.emit_json(summary)
        else:
            render.say(
                f"spawned {out}: {result.agents} agents of "
                f"{'-'.join(map(str, result.template.layers))}, topology {result.topology.spec}",
                quiet,
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


@app.command("run")
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
    json_out: Annotated[bool, typer.Option("--json", help="One JSON line per round.")] = False,
    quiet: options.Quiet = False,
) -> None:
    """Train a swarm for some rounds, exchanging between neighbours after each.

    Example: fannctl swarm run s.h5 datasets/mushroom.train --test datasets/mushroom.test
    --strategy evolve --rounds 20 --epochs-per-round 5
    """
    with render.user_errors():
        from fannctl import io, swarm
        from fannctl.swarm import strategies

        population = swarm.load_swarm(swarm_path)
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
        )
        progress = _RoundProgress(rounds) if not quiet and render.is_tty() else None

        def on_round(record) -> None:
            if json_out:
                render.emit_json(record.to_dict())
            if progress is not None:
                progress.advance(round_line(record))
            elif not quiet:
                print(round_line(record), file=sys.stderr, flush=True)

        try:
            swarm.run(population, data, config, test_data=test_data, on_round=on_round)
        finally:
            if progress is not None:
                progress.close()
        population.provenance.append({"command": render.command_line(), "data": data_path})
        swarm.save_swarm(population, swarm_path)


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


@app.command("export")
def export(
    swarm_path: Annotated[str, typer.Argument(metavar="SWARM", help="Swarm file.")],
    out: Annotated[str, typer.Argument(help="Network file to write (.h5 or .net).")],
    agent: Annotated[
        str, typer.Option("--agent", help="Agent number, or best (lowest recorded error).")
    ] = "best",
    json_out: options.Json = False,
    quiet: options.Quiet = False,
) -> None:
    """Write one agent as a plain network file, exactly its weights and parameters.

    Example: fannctl swarm export s.h5 best.h5 --agent best
    """
    with render.user_errors():
        from fannctl import io, swarm

        io.check_network_target(out)
        population = swarm.load_swarm(swarm_path)
        number = swarm.resolve_agent(population, agent)
        net = swarm.export_agent(population, number)
        net.provenance.append(
            {"command": render.command_line(), "swarm": swarm_path, "agent": number}
        )
        io.save_network(net, out)
        if json_out:
            render.emit_json({"path": out, "agent": number})
        else:
            render.say(f"exported agent {number} of {swarm_path} to {out}", quiet)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="swarm")


# -- `fannctl run` and `fannctl info` on a swarm file (called from cli/run.py, cli/info.py) --


def is_swarm(path: str) -> bool:
    """Whether ``path`` is a swarm file (a cheap look at the HDF5 root attribute)."""
    from fannctl.swarm import is_swarm_file

    return is_swarm_file(path)


def run_swarm_file(
    path: str,
    input_path: str,
    *,
    agent: str | None,
    vote: bool,
    metrics: bool,
    input_format: str | None,
    header: bool | None,
    output: str | None,
    out_format: str | None,
    json_out: bool,
    fmt: str | None,
) -> None:
    """``fannctl run SWARM INPUT``: the ensemble mean, a majority vote, or one agent."""
    from fannctl import stream, swarm
    from fannctl.io._files import display_name

    population = swarm.load_swarm(path)
    template = population.template
    blocks = stream.read_blocks(
        input_path,
        template.num_input,
        template.num_output,
        input_format=input_format,
        header=header,
        targets=metrics,
    )
    if agent is not None and not vote:  # exactly `fannctl run` on the exported agent
        net = swarm.export_agent(population, agent)
        if metrics:
            mse, bit_fail, patterns = stream.test_blocks(net, blocks, display_name(input_path))
            _print_metrics(mse, bit_fail, patterns, json_out or fmt in ("json", "jsonl"))
            return
        from fannctl import runner

        rows = (runner.run(net, block.inputs) for block in blocks)
        render.write_rows(rows, output, out_format, net.dtype, net.num_output)
        return
    if metrics:
        sse, fails, count, patterns = 0.0, 0, 0, 0
        for block in blocks:
            part = swarm.score(population, block.inputs, block.targets, agent=agent, vote=vote)
            sse, fails, count = sse + part[0], fails + part[1], count + part[2]
            patterns += block.inputs.shape[0]
        _print_metrics(sse / max(count, 1), fails, patterns, json_out or fmt in ("json", "jsonl"))
        return
    rows = (swarm.predict(population, block.inputs, agent=agent, vote=vote) for block in blocks)
    render.write_rows(rows, output, out_format, population.dtype, template.num_output)


def _print_metrics(mse: float, bit_fail: int, patterns: int, as_json: bool) -> None:
    if as_json:
        render.emit_json({"mse": mse, "bit_fail": bit_fail, "patterns": patterns})
    else:
        print(f"mse: {mse!r}\nbit_fail: {bit_fail}\npatterns: {patterns}")


def print_swarm_summary(summary: dict) -> None:
    """``fannctl info SWARM`` as text on stdout."""
    lines = [
        f"{summary['path']}: fannctl swarm, {summary['agents']} agents, {summary['dtype']}",
        f"layers {'-'.join(map(str, summary['layers']))} ({summary['network_type']}), "
        f"{summary['connections']} connections per agent",
        f"topology {summary['topology']}, seed {summary['seed']}, {summary['rounds']} rounds run",
        "algorithms: " + ", ".join(f"{k} x{v}" for k, v in summary["algorithms"].items()),
    ]
    for spec in summary["vary"]:
        if "choices" in spec:
            lines.append(f"vary {spec['name']}: {', '.join(spec['choices'])}")
        else:
            kind = "log-uniform" if spec["log"] else "uniform"
            lines.append(f"vary {spec['name']}: {kind} {spec['low']:g}..{spec['high']:g}")
    if summary["history"]:
        lines.append("history (round, strategy, best / median / worst error, ensemble, spread):")
        for row in summary["history"][-10:]:
            ensemble = row.get("ensemble_error")
            lines.append(
                f"  {row['round']:5d} {row['strategy']:<11} {row['best_error']:.6g} / "
                f"{row['median_error']:.6g} / {row['worst_error']:.6g}  "
                f"{'-' if ensemble is None else f'{ensemble:.6g}'}  {row['spread']:.4g}"
            )
    if summary["best_agents"]:
        lines.append("best agents:")
        for entry in summary["best_agents"]:
            error = entry.get("error")
            lines.append(
                f"  agent {entry['agent']}: {entry['algorithm']}, learning rate "
                f"{entry['learning_rate']:.4g}" + ("" if error is None else f", error {error:.6g}")
            )
    lineage = summary["lineage"]
    kinds = ", ".join(f"{k} {v}" for k, v in lineage["by_kind"].items() if v)
    lines.append(f"lineage: {lineage['events']} events ({kinds})")
    for copy in lineage["recent_copies"]:
        lines.append(
            f"  round {copy['round']}: agent {copy['agent']} copied agent {copy['source']}"
        )
    print("\n".join(lines))
