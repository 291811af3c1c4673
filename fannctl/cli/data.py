"""fannctl data: describe, shuffle, split, subset, merge, scale and convert data sets.

Every command reads what ``train`` reads (FANN .data(.gz), CSV/TSV, .npy/.npz,
HDF5) and writes the format OUT's name says, atomically, with exact values; the
work is ``fannctl.datafiles``', a block at a time where the format allows.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fannctl.cli import options, render

STREAMING = (
    "Files are read a block of 65,536 patterns at a time (memory bounded by the "
    "block, whatever the file's length): FANN .data and CSV/TSV (plain or gzip), "
    ".npy (memory-mapped) and HDF5. Read whole: stdin (-), .npz, gzipped .npy/HDF5, "
    "and a file named neither .data nor .csv/.tsv whose first line is three integers "
    "(a FANN header or a table row: only the whole file tells)."
)

app = typer.Typer(
    name="data",
    help="Data-set tools: info, shuffle, split, subset, merge, scale, convert.\n\n"
    + STREAMING
    + "\n\nExample: fannctl data split datasets/thyroid.train.gz train.data test.data "
    "--fraction 0.2 --seed 1",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Data = Annotated[
    str,
    typer.Argument(
        metavar="DATA", help="FANN .data(.gz), CSV/TSV, .npy/.npz or HDF5; - for stdin."
    ),
]
Out = Annotated[
    str,
    typer.Argument(
        metavar="OUT",
        help="Output; the name picks the format: .data (or .gz, or - for stdout), "
        ".csv/.tsv, .npy (inputs then outputs in one array), .npz, .h5/.hdf5.",
    ),
]
OutputColumns = Annotated[
    str | None,
    typer.Option(
        "--output-columns",
        help="Tables: which columns are outputs (0-based indices or header names, "
        "comma-separated; default: the last one).",
    ),
]
Outputs = Annotated[
    int | None,
    typer.Option("--outputs", help="Tables and .npy: how many last columns are outputs."),
]


def _columns(output_columns: str | None) -> list[int | str] | None:
    return None if output_columns is None else list(output_columns.split(","))


def _said(count: int, target: str, quiet: bool) -> None:
    if target != "-":
        render.say(f"wrote {count} patterns to {target}", quiet)


def _check_targets(*targets: str) -> None:
    from fannctl import datatools
    from fannctl.errors import ParameterError

    for target in targets:
        datatools.check_target(target)
    named = [t for t in targets if t != "-"]
    if len(set(named)) != len(named):
        raise ParameterError("the outputs must be different files")
    if targets.count("-") > 1:
        raise ParameterError("only one output can go to stdout (-)")


@app.command("info")
def info(
    data_path: Data,
    output_columns: OutputColumns = None,
    outputs: Outputs = None,
    json_out: options.Json = False,
) -> None:
    """Describe a data set: patterns, column ranges, constant columns, class balance.

    One pass over the file, a block at a time (see fannctl data --help for the
    formats read whole); over several blocks the mean and std are merged block by
    block, equal to a whole-array computation to rounding.

    Example: fannctl data info datasets/thyroid.train.gz
    """
    with render.user_errors():
        from fannctl import datafiles

        report = datafiles.info_file(
            data_path, output_columns=_columns(output_columns), num_outputs=outputs
        )
        if json_out:
            render.emit_json(report)
        else:
            print(info_text(report), end="")


def info_text(report: dict) -> str:
    """``data info``'s report as plain text."""
    lines = [
        f"source: {report['source']}",
        f"patterns: {report['patterns']}  inputs: {report['inputs']}  outputs: {report['outputs']}",
        f"task: {report['task']}",
    ]
    if report["class_balance"]:
        parts = [
            f"{c['class']}: {c['patterns']} ({100 * c['fraction']:.1f}%)"
            for c in report["class_balance"]
        ]
        lines.append("class balance: " + ", ".join(parts))
    lines.append("constant columns: " + (", ".join(report["constant_columns"]) or "none"))
    lines.append(f"{'column':<8} {'min':>12} {'max':>12} {'mean':>12} {'std':>12}")
    for c in report["columns"]:
        lines.append(
            f"{c['column']:<8} {c['min']:>12.6g} {c['max']:>12.6g} "
            f"{c['mean']:>12.6g} {c['std']:>12.6g}"
        )
    return "\n".join(lines) + "\n"


@app.command("shuffle")
def shuffle(
    data_path: Data,
    target: Out,
    seed: options.Seed = None,
    output_columns: OutputColumns = None,
    outputs: Outputs = None,
    quiet: options.Quiet = False,
) -> None:
    """Write the patterns in a random order (seeded: the same seed, the same order).

    Needs every pattern at hand: a .npy file is memory-mapped; any other file is
    first copied, a block at a time, into a temporary file of raw float64 rows
    beside OUT (8 bytes a value), which is memory-mapped. Memory: the order
    (8 bytes a pattern) and a block.

    Example: fannctl data shuffle datasets/xor.data shuffled.data --seed 1
    """
    with render.user_errors():
        from fannctl import datafiles

        _check_targets(target)
        count = datafiles.shuffle_file(
            data_path, target, seed, output_columns=_columns(output_columns), num_outputs=outputs
        )
        _said(count, target, quiet)


@app.command("split")
def split(
    data_path: Data,
    train_target: Annotated[str, typer.Argument(metavar="TRAIN_OUT", help="The training part.")],
    test_target: Annotated[str, typer.Argument(metavar="TEST_OUT", help="The test part.")],
    fraction: Annotated[
        float, typer.Option("--fraction", help="Share of the patterns for the test part.")
    ] = 0.2,
    stratify: Annotated[
        bool | None,
        typer.Option(
            "--stratify/--no-stratify",
            help="Keep each class's share in both parts (default: when the outputs are "
            "one-hot or one binary column).",
        ),
    ] = None,
    seed: options.Seed = None,
    output_columns: OutputColumns = None,
    outputs: Outputs = None,
    quiet: options.Quiet = False,
) -> None:
    """Split a data set into training and test parts at random (each keeps its order).

    Two passes over the file, a block at a time: the pattern count and classes,
    then each pattern to its part. Memory: a block and 1 byte a pattern (5 for
    class targets).

    Example: fannctl data split datasets/thyroid.train.gz train.data test.data
    --fraction 0.2 --seed 1
    """
    with render.user_errors():
        from fannctl import datafiles

        _check_targets(train_target, test_target)
        counts = datafiles.split_file(
            data_path,
            train_target,
            test_target,
            fraction,
            seed,
            stratify=stratify,
            output_columns=_columns(output_columns),
            num_outputs=outputs,
        )
        _said(counts[0], train_target, quiet)
        _said(counts[1], test_target, quiet)


@app.command("subset")
def subset(
    data_path: Data,
    target: Out,
    start: Annotated[int, typer.Option("--start", help="First pattern (0-based).")] = 0,
    count: Annotated[int, typer.Option("--count", help="How many patterns.")] = 1,
    output_columns: OutputColumns = None,
    outputs: Outputs = None,
    quiet: options.Quiet = False,
) -> None:
    """Write COUNT patterns from START on (FANN's fann_subset_train_data).

    One pass, a block at a time (the whole file is read, so a damaged line after
    the subset is still an error).

    Example: fannctl data subset datasets/thyroid.train.gz first100.data --count 100
    """
    with render.user_errors():
        from fannctl import datafiles

        _check_targets(target)
        written = datafiles.subset_file(
            data_path,
            target,
            start,
            count,
            output_columns=_columns(output_columns),
            num_outputs=outputs,
        )
        _said(written, target, quiet)


@app.command("merge")
def merge(
    data_paths: Annotated[
        list[str], typer.Argument(metavar="DATA...", help="Data sets, merged in this order.")
    ],
    target: Annotated[
        str, typer.Option("--output", "-o", metavar="OUT", help="The merged data set.")
    ],
    output_columns: OutputColumns = None,
    outputs: Outputs = None,
    quiet: options.Quiet = False,
) -> None:
    """Write the patterns of every DATA in order (FANN's fann_merge_train_data).

    A block at a time; a table (which does not say its length) going to a format
    that states the count first (.data, .npy, .npz, HDF5) is copied into a
    temporary file of raw float64 rows beside OUT first.

    Example: fannctl data merge train.data test.data -o all.data
    """
    with render.user_errors():
        from fannctl import datafiles

        _check_targets(target)
        written = datafiles.merge_files(
            data_paths, target, output_columns=_columns(output_columns), num_outputs=outputs
        )
        _said(written, target, quiet)


@app.command("scale")
def scale(
    data_path: Data,
    target: Out,
    scale_inputs: Annotated[
        str | None, typer.Option("--scale-inputs", help="Scale inputs to MIN,MAX (FANN's rule).")
    ] = None,
    scale_outputs: Annotated[
        str | None, typer.Option("--scale-outputs", help="Scale outputs to MIN,MAX.")
    ] = None,
    network: Annotated[
        str | None,
        typer.Option(
            "--network", help="Use the scaling this network stores (train --scale-inputs)."
        ),
    ] = None,
    output_columns: OutputColumns = None,
    outputs: Outputs = None,
    quiet: options.Quiet = False,
) -> None:
    """Scale a data set as FANN does: mean ± one deviation of each column maps to MIN..MAX.

    The parameters come from the data itself, or with --network from a network
    trained with --scale-inputs/--scale-outputs (scale a test set as its training set).

    With --network: one pass, a block at a time. From the data: the patterns are
    copied into a temporary file of raw float64 rows beside OUT (a .npy is read in
    place), then three passes over it (sums, squared deviations, scaled rows) give
    numpy's whole-array mean and deviation to the bit.

    Example: fannctl data scale datasets/census-house.train.gz scaled.data
    --scale-inputs -1,1 --scale-outputs -1,1
    """
    with render.user_errors():
        from fannctl import datafiles, io

        _check_targets(target)
        in_range = options.parse_pair(scale_inputs, "--scale-inputs")
        out_range = options.parse_pair(scale_outputs, "--scale-outputs")
        net = None if network is None else io.load_network(network)
        written = datafiles.scale_file(
            data_path,
            target,
            in_range,
            out_range,
            network=net,
            output_columns=_columns(output_columns),
            num_outputs=outputs,
        )
        _said(written, target, quiet)


@app.command("convert")
def convert(
    data_path: Data,
    target: Out,
    output_columns: OutputColumns = None,
    outputs: Outputs = None,
    quiet: options.Quiet = False,
) -> None:
    """Convert a data set between .data, CSV/TSV, .npy, .npz and HDF5 (OUT's name says which).

    Block in, block out. A table (which does not say its length) going to a format
    that states the count first (.data, .npy, .npz, HDF5) is copied into a
    temporary file of raw float64 rows beside OUT first.

    Example: fannctl data convert datasets/xor.data xor.csv
    """
    with render.user_errors():
        from fannctl import datafiles

        _check_targets(target)
        written = datafiles.convert_file(
            data_path, target, output_columns=_columns(output_columns), num_outputs=outputs
        )
        _said(written, target, quiet)


def metrics_text(result: dict) -> str:
    """``run --metrics``' report (see ``fannctl.metrics.Evaluation.to_dict``) as text."""
    lines = [
        f"mse: {result['mse']!r}",
        f"bit_fail: {result['bit_fail']}",
        f"patterns: {result['patterns']}",
        f"task: {result['task']}",
    ]
    if result["task"] == "classify":
        lines.append(
            f"accuracy: {result['accuracy']:.6g} ({result['correct']} of {result['patterns']})"
        )
        lines.append(f"{'class':>5} {'support':>8} {'precision':>10} {'recall':>10}")
        for c in result["classes"]:
            lines.append(
                f"{c['class']:>5} {c['support']:>8} {_maybe(c['precision']):>10} "
                f"{_maybe(c['recall']):>10}"
            )
        lines.append("confusion matrix (rows: true class, columns: predicted):")
        matrix = result["confusion_matrix"]
        width = max(len(str(v)) for row in matrix for v in row)
        for row in matrix:
            lines.append("  " + " ".join(f"{v:>{width}}" for v in row))
    else:
        lines.append(f"mean_squared_error: {result['mean_squared_error']:.6g}")
        lines.append(f"rmse: {result['rmse']:.6g}")
        lines.append(f"mae: {result['mae']:.6g}")
        lines.append(f"r2: {_maybe(result['r2'])}")
        if len(result["outputs"]) > 1:
            for o in result["outputs"]:
                lines.append(
                    f"output {o['output']}: rmse {o['rmse']:.6g}, mae {o['mae']:.6g}, "
                    f"r2 {_maybe(o['r2'])}"
                )
    return "\n".join(lines) + "\n"


def _maybe(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def render_library_warnings() -> None:
    """Warnings the library raises (its ``warnings`` categories, such as the guard
    rail's TargetRangeWarning) become one 'fannctl: warning:' line on stderr;
    other warnings keep Python's rendering."""
    import warnings

    previous = warnings.showwarning
    if getattr(previous, "fannctl_lines", False):
        return

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if category.__module__.startswith("fannctl."):
            print(f"fannctl: warning: {message}", file=sys.stderr, flush=True)
        else:
            previous(message, category, filename, lineno, file, line)

    show.fannctl_lines = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="data")
