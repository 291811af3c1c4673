"""``fannctl run`` and ``fannctl info`` given a swarm file (called from cli/run.py, cli/info.py)."""

from __future__ import annotations

from fannctl.cli import render


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
    task: str = "auto",
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
        if metrics:  # the same report `fannctl run NET --metrics` gives
            from fannctl.cli.data import metrics_text
            from fannctl.metrics import evaluate_blocks

            name = display_name(input_path)
            result = evaluate_blocks(net, blocks, name, task=task).to_dict()
            if json_out or fmt in ("json", "jsonl"):
                render.emit_json(result)
            else:
                print(metrics_text(result), end="")
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
