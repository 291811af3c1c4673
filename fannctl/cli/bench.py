"""fannctl bench: the named benchmark cases, libfann alongside, a regression gate."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from fannctl.cli import options, render


def bench(
    suite: Annotated[
        str,
        typer.Option(
            "--suite",
            metavar="NAME",
            show_default=False,
            help="Which cases: quick (under a minute), standard or full (the longest "
            "runs). Default: standard.",
        ),
    ] = "standard",
    case: Annotated[
        list[str] | None,
        typer.Option(
            "--case",
            metavar="NAME",
            help="Run only this case (a name or a shell glob such as 'train/*/rprop'; "
            "repeatable; from any suite, at the suite's size). Default: the suite's cases.",
        ),
    ] = None,
    device: Annotated[
        str,
        typer.Option(
            "--device",
            "-d",
            metavar="NAME",
            show_default=False,
            help="Compute device of fannctl's cases: numpy, auto, cl, cl:N or a stable "
            "name as fannctl health lists them. Default: numpy (FANNCTL_DEVICE is not read: "
            "a benchmark says where it runs).",
        ),
    ] = "numpy",
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON document. Default: a table.")
    ] = False,
    markdown: Annotated[
        bool,
        typer.Option(
            "--markdown", help="Print a Markdown table, the machine named above it. Default: off."
        ),
    ] = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the table or JSON here instead of stdout (written when the run "
            "is done). Default: stdout.",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            metavar="FILE",
            help="Compare with an earlier 'fannctl bench --json' result; exit 1 when a "
            "case is slower beyond --max-regression. Default: no comparison.",
        ),
    ] = None,
    max_regression: Annotated[
        str,
        typer.Option(
            "--max-regression",
            metavar="PERCENT",
            show_default=False,
            help="With --baseline: how much slower a case may be, such as 10%. Default: 10%.",
        ),
    ] = "10%",
    against_libfann: Annotated[
        bool,
        typer.Option(
            "--against-libfann",
            help="Run each case that libfann can do through libfann 2.2 too (Debian's "
            "libfann-dev, float build), alternating with fannctl, and show the ratios. "
            "Default: off.",
        ),
    ] = False,
    repeats: Annotated[
        int | None,
        typer.Option(
            "--repeats",
            metavar="N",
            help="Timed runs per case, after one warm-up run. Default: the suite's "
            "(quick 3, standard and full 5; cascade and swarm fewer).",
        ),
    ] = None,
    quiet: options.Quiet = False,
    data_dir: Annotated[
        str | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="The folder of FANN's data sets (xor.data, mushroom.train.gz, ...). "
            "Default: datasets/ of fannctl's source checkout.",
        ),
    ] = None,
) -> None:
    """Time named cases (training per algorithm, cascade, inference, start-up,
    swarms), each with its final MSE, and record the machine.

    Every case is warmed up once, then repeated; the median, min and max are
    shown, with each case's fraction of this machine's float32
    matrix-multiply peak (measured in the run). The cases run with one
    compute thread unless --threads says otherwise.

    Example: fannctl bench --suite quick --json -o bench.json && fannctl bench
    --suite quick --baseline bench.json --max-regression 10%
    """
    with render.user_errors():
        from pathlib import Path

        from fannctl.bench import compare, runner
        from fannctl.errors import ParameterError

        if json_out and markdown:
            raise ParameterError("--json and --markdown: choose one")
        if repeats is not None and repeats < 1:
            raise ParameterError(f"--repeats must be at least 1, got {repeats}")
        if baseline is None and max_regression != "10%":
            raise ParameterError("--max-regression is used with --baseline FILE")
        limit = compare.parse_percent(max_regression)
        if output not in (None, "-"):
            folder = os.path.dirname(os.path.abspath(output))
            if not os.path.isdir(folder):
                raise ParameterError(f"{output}: no such folder {folder}")
        request = runner.BenchRequest(
            suite=suite,
            cases=tuple(case or ()),
            device=device,
            against_libfann=against_libfann,
            repeats=repeats,
            data_dir=Path(data_dir) if data_dir else None,
            baseline=baseline,
            max_regression=limit,
        )
        outcome = _run(request, quiet)
        result = outcome.result
        if json_out:
            import json

            text = json.dumps(result, indent=1, default=render._jsonable) + "\n"
        elif markdown:
            text = markdown_table(result)
        else:
            text = plain_table(result)
        _write(text, output)
        if outcome.comparison is not None:
            for line in compare.summary_lines(outcome.comparison):
                render.say(line, quiet)
        if outcome.regressions:
            names = ", ".join(
                f"{r['name']} ({r['change_percent']:+.1f}%)" for r in outcome.regressions
            )
            print(
                f"fannctl: bench: slower than {baseline} beyond {limit:g}%: {names}",
                file=sys.stderr,
            )
            raise typer.Exit(1)


def _run(request, quiet: bool):
    """The run, with a progress bar on a terminal (not with --quiet)."""
    from fannctl.bench import runner

    if quiet or not render.is_tty():
        return runner.bench(request)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[bold]bench"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=render.console(),
        transient=True,
    ) as bar:
        task = bar.add_task("measuring the matmul peak", total=None)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=label)

        return runner.bench(request, progress)


def _write(text: str, output: str | None) -> None:
    if output in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    partial = f"{output}.partial-{os.getpid()}"
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, output)
    except OSError as exc:
        if os.path.exists(partial):
            os.unlink(partial)
        from fannctl.errors import FannctlError

        error = FannctlError(f"{output}: cannot write: {exc.strerror}")
        error.exit_code = 1
        raise error from None


# -- tables --------------------------------------------------------------------------
UNITS = {"agent-epochs/s": "agent-ep/s"}


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.2f} ms"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _mse(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _rows(result: dict) -> tuple[list[str], list[list[str]]]:
    against = any("libfann" in c for c in result["cases"])
    head = ["case", "device", "unit", "median", "min", "max", "MSE", "conn. updates/s", "% of peak"]
    if against:
        head += ["libfann", "libfann MSE", "fannctl / libfann"]
    beside = any("reference" in c for c in result["cases"])
    if beside:
        head.append("beside it")
    rows = []
    for c in result["cases"]:
        unit = c["unit"]
        fraction = c.get("peak_fraction")
        row = [
            c["name"],
            c["device"],
            UNITS.get(unit, unit),
            _number(c["median"], unit),
            _number(c["min"], unit),
            _number(c["max"], unit),
            _mse(c["mse"]),
            _number(c.get("connection_updates_per_s"), "updates/s"),
            "-" if fraction is None else f"{100 * fraction:.2g}",
        ]
        if against:
            lib = c.get("libfann")
            row += (
                [_number(lib["median"], unit), _mse(lib["mse"]), f"{c['ratio']:.3g}x"]
                if lib
                else ["-", "-", "-"]
            )
        if beside:
            ref = c.get("reference")
            row.append(
                f"{ref['engine']} {_number(ref['median'], unit)} "
                f"(fannctl {c['reference_ratio']:.2g}x)"
                if ref
                else "-"
            )
        rows.append(row)
    return head, rows


def machine_line(result: dict) -> str:
    """The machine and versions in one sentence."""
    m, v = result["machine"], result["versions"]
    blas = (m.get("blas") or {}).get("summary", "?")
    opencl = m.get("opencl")
    devices = (
        ", ".join(d["stable_name"] for d in opencl) if isinstance(opencl, list) else str(opencl)
    )
    parts = [
        f"{m['cpu']}, {m['cores']} cores",
        f"{m.get('threads') or 'default'} compute thread(s)",
        f"BLAS {blas}",
        f"float32 matmul peak {m['matmul_gflops']:.0f} GFLOP/s",
        f"OpenCL: {devices or 'none'}",
        f"fannctl {v['fannctl']}" + (f" ({_commit(m['commit'])})" if m.get("commit") else ""),
        f"Python {v['python']}, numpy {v.get('numpy', '?')}",
    ]
    if "libfann" in v:
        parts.append(f"libfann {v['libfann']} (float build)")
    return "; ".join(parts) + f"; suite {result['suite']}."


def _commit(commit: str) -> str:
    """``<40 hex>+changes`` -> ``<12 hex>+changes``."""
    head, plus, rest = commit.partition("+")
    return head[:12] + plus + rest


def plain_table(result: dict) -> str:
    head, rows = _rows(result)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 3 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(["# " + machine_line(result), *lines]) + "\n"


def markdown_table(result: dict) -> str:
    head, rows = _rows(result)
    lines = [
        "Machine: " + machine_line(result),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" if i < 3 else "---:" for i in range(len(head))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
