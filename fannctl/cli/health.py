"""fannctl health: which devices compute, and do they compute right."""

from __future__ import annotations

from typing import Annotated

import typer

from fannctl.cli import options, render


def health(
    networks: Annotated[
        list[str] | None,
        typer.Argument(metavar="[NET]...", help="Network files to check as well (.h5 or .net)."),
    ] = None,
    json_out: options.Json = False,
) -> None:
    """List the OpenCL devices, self-test each against numpy, check versions and kernels.

    Exit status: 0 all good, 1 degraded (something failed but a device still
    computes), 2 nothing can compute.

    Example: fannctl health --json; fannctl health xor.h5
    """
    with render.user_errors():
        from fannctl.health import check

        report = check(networks or [])
        if json_out:
            render.emit_json(report)
        else:
            _print(report)
    raise typer.Exit(report["exit_code"])


def _print(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console(highlight=False)
    table = Table(title="devices")
    for column in ("device", "name", "type", "memory", "double", "float32", "float64", "seconds"):
        table.add_column(column)
    for entry in report["devices"]:
        memory = entry.get("memory_bytes")
        tests = entry["self_test"]
        table.add_row(
            entry["device"],
            entry["name"],
            entry["type"],
            f"{memory / 2**30:.1f} GiB" if memory else "-",
            "yes" if entry["double"] else "no",
            _verdict(tests.get("float32", "-")),
            _verdict(tests.get("float64", "-")),
            f"{entry.get('seconds', 0):.3f}",
        )
    out.print(table)
    if not report["opencl"]["available"]:
        out.print(f"OpenCL: {report['opencl']['detail']}")
    kernels = report["kernels"]
    built = ", ".join(kernels.get("built_on", [])) or "no device"
    out.print(
        f"kernels: {kernels['dir']} ({len(kernels['files'])} files, {kernels['detail']}; "
        f"built on {built})"
    )
    out.print(
        "versions: " + ", ".join(f"{k} {v or 'missing'}" for k, v in report["versions"].items())
    )
    if report["networks"]:
        nets = Table(title="network files")
        nets.add_column("file", overflow="fold")
        for column in ("format", "schema", "finite", "result"):
            nets.add_column(column)
        for entry in report["networks"]:
            nets.add_row(
                entry["path"],
                str(entry.get("format", "-")),
                str(entry.get("schema_version", "-")),
                str(entry.get("finite", "-")).lower(),
                "PASS" if entry["ok"] else f"FAIL: {entry['detail']}",
            )
        out.print(nets)
    for problem in report["problems"]:
        render.say(f"fannctl: health: {problem}")
    out.print(f"status: {report['status']} ({report['seconds']:.2f} s)")


def _verdict(result: str) -> str:
    if result in ("pass", "unsupported", "-"):
        return result.upper() if result == "pass" else result
    return "FAIL"


def register(app: typer.Typer) -> None:
    app.command("health")(health)
