"""fannctl run: outputs for inputs as they arrive, or FANN's test metrics on labelled data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated

import typer

from fannctl.cli import options, render


def run(
    net_path: Annotated[str, typer.Argument(metavar="NET", help="Network file (.h5 or .net).")],
    input_path: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            help="Patterns: a file (text, gzip, .npy/.npz or HDF5) or - for stdin.",
        ),
    ],
    metrics: Annotated[
        bool,
        typer.Option(
            "--metrics",
            help="Print FANN's MSE and bit fail over labelled input (fann_test_data) "
            "instead of outputs: a FANN .data file, or rows of inputs then desired outputs.",
        ),
    ] = False,
    task: Annotated[
        str,
        typer.Option(
            "--task",
            help="With --metrics: classify (accuracy, per-class precision and recall, "
            "confusion matrix), regress (MSE, RMSE, MAE, R² per output and overall) or auto "
            "(classify when the targets are one-hot or binary at the ends of the output "
            "function's range). FANN's MSE and bit fail always.",
        ),
    ] = "auto",
    output_columns: Annotated[
        str | None,
        typer.Option(
            "--output-columns",
            help="A labelled table (CSV/TSV, .npy): its desired-output columns, as train "
            "takes them (0-based indices or header names, comma-separated); they are left "
            "out of the inputs. The table is read whole.",
        ),
    ] = None,
    input_format: Annotated[
        str | None,
        typer.Option(
            "--input-format",
            "-i",
            metavar="NAME",
            help="raw (one pattern a line, blanks or commas between numbers), csv, tsv, "
            "fann (FANN .data) or jsonl (an array a line). Default: raw on stdin; for a "
            "file, by extension (.csv, .tsv/.tab, .jsonl, .data/.train/.test; else raw). "
            ".npy, .npz and HDF5 are found by content.",
        ),
    ] = None,
    header: Annotated[
        bool | None,
        typer.Option(
            "--header/--no-header",
            help="Whether the first row is a header to skip. Default: csv/tsv skip a "
            "first row that holds a non-number; raw never skips (such a row is an error).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="NAME",
            help="Output: text (blank-separated), csv, tsv, json or jsonl (both: a JSON "
            "array a line), npy (with -o FILE.npy). Default: by -o FILE's extension, else "
            "text.",
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the outputs to FILE (atomically, when the run ends) or - for "
            "stdout. Default: stdout.",
        ),
    ] = None,
    dtype: options.Dtype = None,
    device: options.Device = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Outputs as JSON lines (as --format jsonl); with --metrics one JSON document.",
        ),
    ] = False,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            metavar="AGENT",
            help="Swarm files: run one agent (a number, or best) instead of the "
            "ensemble. Default: the ensemble mean.",
        ),
    ] = None,
    vote: Annotated[
        bool,
        typer.Option(
            "--vote", help="Swarm files: the agents' majority vote instead of their mean."
        ),
    ] = False,
) -> None:
    """Run a network on each input pattern; one line of outputs per pattern on stdout.

    A pipe or a terminal is answered line by line as the lines arrive (each
    output line flushed); a file is read in bounded blocks, so memory stays
    small whatever the input's length. Each printed number reads back to the
    same value.

    Example: printf '1 -1\\n' | fannctl run xor.h5 -

    Example: tail -f readings.txt | fannctl run net.h5 - --format csv
    """
    with render.user_errors():
        from fannctl import jobs, stream
        from fannctl.io._files import display_name

        out_format = None if metrics else render.output_format(fmt, json_out, output)
        # -- a swarm file (fannctl swarm spawn): the ensemble, a vote or one agent --
        from fannctl.cli import swarm as swarm_cli

        if swarm_cli.is_swarm(net_path):
            swarm_cli.run_swarm_file(
                net_path,
                input_path,
                agent=agent,
                vote=vote,
                metrics=metrics,
                input_format=input_format,
                header=header,
                output=output,
                out_format=out_format,
                json_out=json_out,
                fmt=fmt,
                task=task,
            )
            return
        if agent is not None or vote:
            from fannctl.errors import ParameterError

            raise ParameterError(f"{net_path}: --agent and --vote are for swarm files")
        session = jobs.open_run(jobs.RunRequest(net_path, input_path, metrics, dtype, device))
        net, backend = session.network, session.backend
        if output_columns is not None:
            blocks = iter([labelled_table(input_path, output_columns, net)])
        else:
            blocks = stream.read_blocks(
                input_path,
                net.num_input,
                net.num_output,
                input_format=input_format,
                header=header,
                targets=metrics,
                defer_checks=not metrics,  # a stored array's blocks may run in parallel
            )
        if metrics:
            from fannctl.cli.data import metrics_text
            from fannctl.metrics import evaluate_blocks

            name = display_name(input_path)
            result = evaluate_blocks(net, blocks, name, task=task, backend=backend).to_dict()
            if json_out or fmt in ("json", "jsonl"):
                render.emit_json(result)
            else:
                print(metrics_text(result), end="")
            return
        render.write_rows(outputs(session, blocks), output, out_format, net.dtype, net.num_output)


def labelled_table(path: str, output_columns: str, net):
    """A table with its desired outputs in named columns, as one block (read whole)."""
    from fannctl import io, stream
    from fannctl.data import check_fits

    data = io.load_data(path, output_columns=output_columns.split(","), num_outputs=net.num_output)
    check_fits(net, data)
    return stream.Block(data.inputs, data.outputs)


def outputs(session, blocks: Iterable) -> Iterator:
    """The outputs of each block of patterns, in order (what ``run`` prints): text
    blocks each answered before the next is read, a stored array's blocks on
    ``--threads`` threads (``RunSession.block_outputs``)."""
    return session.block_outputs(blocks)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
