"""Everything the CLI shows a person: stderr console, report lines, JSON, numbers."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import typer

from fannctl.errors import FannctlError

_console = None


def console():
    """The one stderr console (rich), created on first use."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(stderr=True, highlight=False)
    return _console


def stdout_console():
    """A rich console on stdout that never wraps or truncates when stdout is not a
    terminal (a pipe, a file: `info | grep` sees whole lines and whole table cells)."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, soft_wrap=True, width=1 << 16, no_color=True)


def say(message: str, quiet: bool = False) -> None:
    """A progress or status line on stderr (never stdout)."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def emit_json(payload: object) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(payload, default=_jsonable) + "\n")
    sys.stdout.flush()


def emit_text(text: str) -> None:
    """Text (a document such as DOT or SVG) on stdout, flushed."""
    sys.stdout.write(text)
    sys.stdout.flush()


def _jsonable(value: object) -> object:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@contextmanager
def user_errors():
    """Turn a FannctlError into one line on stderr and its exit code, no traceback."""
    import os

    try:
        yield
    except FannctlError as exc:
        if os.environ.get("FANNCTL_DEBUG"):
            raise
        print(f"fannctl: error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly.
        import os as _os

        devnull = _os.open(_os.devnull, _os.O_WRONLY)
        _os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None
    except KeyboardInterrupt:
        print("fannctl: interrupted", file=sys.stderr)
        raise typer.Exit(130) from None


def is_tty() -> bool:
    return sys.stderr.isatty()


def command_line() -> str:
    """The command as typed, for provenance."""
    import os
    import shlex

    return (
        " ".join(["fannctl", *(shlex.quote(a) for a in sys.argv[1:])]) if sys.argv else os.getcwd()
    )


def report_line(report) -> str:
    """FANN's report line for one report point."""
    line = (
        f"Epochs {report.epoch:8d}. Current error: {report.mse:.10f}. Bit fail {report.bit_fail}."
    )
    if report.test_mse is not None:
        line += f" Test error: {report.test_mse:.10f}. Test bit fail {report.test_bit_fail}."
    return line


def train_summary(outcome, desired_error: float) -> str:
    """The one line that ends a training run: epochs, time, final and best error,
    reached or not, and which epoch's weights were saved."""
    parts = [f"fannctl: {outcome.epochs} epochs in {outcome.seconds:.2f} s on {outcome.device}"]
    final = f"final MSE {outcome.mse:.6g}"
    if outcome.test_mse is not None:
        final += f" (test {outcome.test_mse:.6g})"
    parts.append(final)
    if outcome.best_epoch is not None:
        parts.append(f"best test MSE {outcome.best_test_mse:.6g} at epoch {outcome.best_epoch}")
    parts.append(("reached " if outcome.reached else "did not reach ") + f"{desired_error:g}")
    if outcome.early_stopped:
        parts.append("stopped early (patience)")
    kept = outcome.kept_epoch if outcome.kept_epoch is not None else outcome.epochs
    which = " (best test)" if outcome.best_epoch == kept and kept != outcome.epochs else ""
    parts.append(f"saved the weights of epoch {kept}{which} to {outcome.path}")
    return "; ".join(parts)


def cascade_summary(outcome, desired_error: float) -> str:
    """The line that ends a cascade run, as ``train_summary`` (neurons for epochs)."""
    parts = [
        f"fannctl: {outcome.neurons_added} neurons, {outcome.epochs} epochs in "
        f"{outcome.seconds:.2f} s",
        f"final MSE {outcome.mse:.6g}"
        + ("" if outcome.test_mse is None else f" (test {outcome.test_mse:.6g})"),
    ]
    if outcome.best_neurons is not None:
        parts.append(f"best test MSE {outcome.best_test_mse:.6g} at {outcome.best_neurons} neurons")
    parts.append(("reached " if outcome.reached else "did not reach ") + f"{desired_error:g}")
    if outcome.early_stopped:
        parts.append("stopped early (patience)")
    kept = outcome.kept_neurons if outcome.kept_neurons is not None else outcome.neurons_added
    parts.append(f"saved the network with {kept} new neurons to {outcome.path}")
    return "; ".join(parts)


def print_report(report) -> None:
    """Report lines on stderr (cron logs, pipes)."""
    print(report_line(report), file=sys.stderr, flush=True)


class EpochProgress:
    """A rich progress bar on a TTY, with report lines printed above it."""

    def __init__(self, total: int, label: str = "training") -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("mse {task.fields[mse]}"),
            TimeRemainingColumn(),
            console=console(),
            transient=True,
        )
        self._task = self._progress.add_task(label, total=total, mse="-")
        self._progress.start()

    def report(self, report) -> None:
        # Driven by report points, not every epoch, so a device can keep the
        # whole run in one launch between them.
        self._progress.update(self._task, completed=report.epoch, mse=f"{report.mse:.6g}")
        self._progress.console.print(report_line(report), markup=False)

    def close(self) -> None:
        self._progress.stop()


OUTPUT_FORMATS = ("text", "csv", "tsv", "json", "jsonl", "npy")
_OUTPUT_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "jsonl",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".npy": "npy",
}


def output_format(fmt: str | None, json_out: bool, output: str | None) -> str:
    """The output format: --json, else --format, else by -o FILE's extension, else text."""
    import os

    from fannctl.errors import ParameterError

    if json_out:
        fmt = "jsonl" if fmt in (None, "json", "jsonl") else fmt
        if fmt != "jsonl":
            raise ParameterError(f"--json and --format {fmt} disagree")
    if fmt is None:
        extension = os.path.splitext((output or "").lower())[1]
        fmt = _OUTPUT_EXTENSIONS.get(extension, "text") if output not in (None, "-") else "text"
    if fmt not in OUTPUT_FORMATS:
        raise ParameterError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")
    if fmt == "npy" and output in (None, "-"):
        raise ParameterError("--format npy writes a file: give -o FILE.npy")
    return "jsonl" if fmt == "json" else fmt


def format_rows(values, fmt: str) -> bytes:
    """Rows of outputs as text lines; each number reads back to the same value.

    text/csv/tsv: the shortest text of each value in its own dtype (numpy's
    ``str`` of a float32, Python's ``repr`` of a float64); json/jsonl: one JSON
    array a line, of the values widened to float64.
    """
    import numpy as np

    if fmt in ("json", "jsonl"):
        return "".join(
            json.dumps(row) + "\n" for row in np.asarray(values, dtype=np.float64).tolist()
        ).encode("ascii")
    sep = {"csv": ",", "tsv": "\t"}.get(fmt, " ")
    strings = np.asarray(values).astype(str).tolist()
    return "".join(sep.join(row) + "\n" for row in strings).encode("ascii")


def write_rows(rows, output: str | None, fmt: str, dtype, width: int) -> int:
    """Write each block of output rows from the iterable ``rows``; return the row count.

    To stdout (``None`` or ``-``), flushed after every block, so a pipe gets each
    answer as soon as its input line arrived; or to FILE, atomically: FILE
    appears, complete, only when every row was written.
    """
    count = 0
    if output in (None, "-"):
        sys.stdout.flush()
        out = sys.stdout.buffer
        for values in rows:
            out.write(format_rows(values, fmt))
            out.flush()
            count += len(values)
        return count
    from fannctl.io._files import atomic_write

    def fill(handle) -> None:
        nonlocal count
        writer = None
        if fmt == "npy":
            from fannctl.stream import NpyWriter

            writer = NpyWriter(handle, width, dtype)
        for values in rows:
            if writer is not None:
                writer.write(values)
            else:
                handle.write(format_rows(values, fmt))
            count += len(values)
        if writer is not None:
            writer.close()

    atomic_write(output, fill)
    return count


def print_summary(summary: dict) -> None:
    """A network description as rich tables on stdout."""
    from rich.table import Table

    out = stdout_console()
    kind = summary["network_type"] + (" (sparse)" if summary["sparse"] else "")
    out.print(f"{summary['path']}: {summary['format']} network, {kind}, {summary['dtype']}")
    out.print(
        f"{summary['num_input']} inputs, {summary['num_output']} outputs, "
        f"{summary['total_neurons']} neurons (bias included), "
        f"{summary['total_connections']} connections, connection rate "
        f"{summary['connection_rate']:g}"
    )
    table = Table(title="layers")
    for col in ("layer", "kind", "neurons", "connections", "activation (steepness)"):
        table.add_column(col)
    for layer in summary["layers"]:
        acts = ", ".join(
            f"{a['function']} ({a['steepness']:g})" for a in layer.get("activations", [])
        )
        table.add_row(
            str(layer["index"]),
            layer["kind"],
            str(layer["neurons"]),
            str(layer.get("connections", "")),
            acts,
        )
    out.print(table)
    params = summary["parameters"]
    keys = (
        "training_algorithm",
        "learning_rate",
        "learning_momentum",
        "train_error_function",
        "train_stop_function",
        "bit_fail_limit",
        "rprop_variant",
    )
    if params.get("weight_decay"):  # fannctl's own; shown only when in use
        keys += ("weight_decay",)
    out.print("parameters: " + ", ".join(f"{k}={params[k]}" for k in keys))
    if summary["scaling"]:
        out.print("scaling: stored (inputs and outputs scaled by run)")
    history = summary["history"]
    if history:
        grown = any("neurons" in h for h in history)
        table = Table(title="training history (report points)")
        columns = ["epoch", "mse", "bit fail", "seconds", "algorithm"]
        tested = any("test_mse" in h for h in history)
        if tested:
            columns += ["test mse", "test bit fail"]
        if grown:
            columns += ["neurons", "new neuron"]
        for col in columns:
            table.add_column(col)
        shown = history if len(history) <= 40 else history[:5] + history[-35:]
        for h in shown:
            row = [
                str(h.get("epoch")),
                f"{h.get('mse', 0):.6g}",
                str(h.get("bit_fail")),
                f"{h.get('seconds', 0):.3f}",
                str(h.get("algorithm", "")),
            ]
            if tested:
                test_mse = h.get("test_mse")
                row += [
                    "" if test_mse is None else f"{test_mse:.6g}",
                    str(h.get("test_bit_fail", "")),
                ]
            if grown:
                neuron = ""
                if h.get("activation"):
                    neuron = f"{h['activation']} ({h.get('steepness', 0):g})"
                row += [str(h.get("neurons", "")), neuron]
            table.add_row(*row)
        out.print(table)
        from fannctl.curves import curves_of

        for line in curve_lines(curves_of(summary)):
            out.print(line, markup=False, highlight=False)
    else:
        out.print("training history: none")
    for entry in summary["provenance"][-3:]:
        device = f" [device {entry['device']}]" if entry.get("device") else ""
        out.print(f"provenance: {entry.get('time', '')} {entry.get('command', '')}{device}")


CURVE_SYMBOLS = "*o+x#"


def curve_lines(curves, width: int = 64, height: int = 12) -> list[str]:
    """Curves drawn in text (one symbol per series, a log axis when every value is
    positive), for a terminal or a log; nothing for fewer than two points."""
    points = [(x, y) for s in curves.series for x, y in zip(s.x, s.y, strict=True)]
    if len({x for x, _ in points}) < 2:
        return []
    import itertools
    import math

    scale = math.log10 if curves.log_scale else float
    xs = [x for x, _ in points]
    ys = [scale(y) for _, y in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1

    def column(x: float) -> int:
        return round((x - x0) / (x1 - x0) * (width - 1))

    def row(y: float) -> int:
        return height - 1 - round((scale(y) - y0) / (y1 - y0) * (height - 1))

    grid = [[" "] * width for _ in range(height)]
    for symbol, series in zip(CURVE_SYMBOLS, curves.series, strict=False):
        pairs = sorted(zip(series.x, series.y, strict=True))
        for (xa, ya), (xb, yb) in itertools.pairwise(pairs):
            ca, cb = column(xa), column(xb)
            for c in range(ca, cb + 1):  # join the points: interpolate between them
                t = (c - ca) / (cb - ca) if cb > ca else 0.0
                ta, tb = scale(ya), scale(yb)
                value = ta + t * (tb - ta)
                grid[height - 1 - round((value - y0) / (y1 - y0) * (height - 1))][c] = symbol
        for x, y in pairs:
            grid[row(y)][column(x)] = symbol

    def label(value: float) -> str:
        return f"{(10**value if curves.log_scale else value):.3g}"

    gutter = max(len(label(y1)), len(label(y0)))
    lines = []
    for index, cells in enumerate(grid):
        text = label(y1) if index == 0 else label(y0) if index == height - 1 else ""
        lines.append(f"{text:>{gutter}} |{''.join(cells).rstrip()}")
    lines.append(" " * gutter + " +" + "-" * width)
    first, last = f"{x0:g}", f"{x1:g} {curves.x_label}"
    lines.append(" " * (gutter + 2) + first + last.rjust(width - len(first)))
    legend = "  ".join(
        f"{symbol} {series.name}"
        for symbol, series in zip(CURVE_SYMBOLS, curves.series, strict=False)
    )
    axis = f"{curves.y_label}, log scale" if curves.log_scale else curves.y_label
    lines.append(" " * (gutter + 2) + f"{legend}  ({axis})")
    return lines


def cascade_line(report) -> str:
    """FANN's cascade report line (the neuron count is the hidden neurons so far)."""
    line = (
        f"Neurons     {report.neurons:3d}. Current error: {report.mse:.6f}. "
        f"Total error:{report.sse:8.4f}. Epochs {report.epochs:5d}. Bit fail {report.bit_fail:3d}"
    )
    if report.activation is not None:
        line += (
            f". candidate steepness {report.steepness:.2f}. "
            f"function FANN_{report.activation.upper()}"
        )
    if getattr(report, "test_mse", None) is not None:
        line += f". Test error: {report.test_mse:.6f}. Test bit fail {report.test_bit_fail}"
    return line


def cascade_reporter(progress=None):
    """A callback printing cascade report lines (above the progress bar on a TTY)."""

    def report(item) -> None:
        if progress is not None:
            progress._progress.update(progress._task, completed=item.neurons)
            progress._progress.console.print(cascade_line(item), markup=False)
        else:
            print(cascade_line(item), file=sys.stderr, flush=True)

    return report
