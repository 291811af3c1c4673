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
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            metavar="TYPE",
            help="An OpenCL device type that must work: cpu, gpu or accelerator (repeatable; "
            "default: any one device).",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit 1 when any device that is not excluded fails (monitoring)."
        ),
    ] = False,
    json_out: options.Json = False,
) -> None:
    """List the OpenCL devices, self-test each against numpy, check versions and kernels.

    Each device is shown by its stable name (PLATFORM/DEVICE) and its cl:N
    number; a device that fails gets one line with the cause and the remedy.
    Devices left out with FANNCTL_DEVICE_EXCLUDE or the config file are listed
    as excluded and not tested.

    Exit status: 0 healthy (numpy and at least one OpenCL device of each kind
    asked for work; other failing devices are listed as unusable), 1 degraded
    (no OpenCL device works, or something else failed; with --strict, any
    failing device), 2 nothing can compute.

    Example: fannctl health --json > health.json || alert
    """
    with render.user_errors():
        from fannctl.health import check

        report = check(networks or [], kinds=kind or (), strict=strict)
        if json_out:
            render.emit_json(report)
        else:
            _print(report)
    raise typer.Exit(report["exit_code"])


def _print(report: dict) -> None:
    rows = []
    for entry in report["devices"]:
        tests = entry.get("self_test", {})
        rows.append(
            (
                entry.get("index", ""),
                entry["device"],
                entry["type"],
                entry["status"],
                f"float32 {_verdict(tests.get('float32', '-'))}",
                f"float64 {_verdict(tests.get('float64', '-'))}",
                f"{entry.get('seconds', 0):.3f} s",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    for entry in report["unusable"]:
        print(
            f"unusable: {entry['device']} ({entry['index']}): {entry['cause']}; {entry['remedy']}"
        )
    if not report["opencl"]["available"]:
        print(f"OpenCL: {report['opencl']['detail']}")
    kernels = report["kernels"]
    built = ", ".join(kernels.get("built_on", [])) or "no device"
    print(
        f"kernels: {kernels['dir']} ({len(kernels['files'])} files, {kernels['detail']}; "
        f"built on {built})"
    )
    print("versions: " + ", ".join(f"{k} {v or 'missing'}" for k, v in report["versions"].items()))
    for entry in report["networks"]:
        result = "PASS" if entry["ok"] else f"FAIL: {entry['detail']}"
        print(
            f"network: {entry['path']}  format {entry.get('format', '-')}  "
            f"schema {entry.get('schema_version', '-')}  "
            f"finite {str(entry.get('finite', '-')).lower()}  {result}"
        )
    for problem in report["problems"]:
        render.say(f"fannctl: health: {problem}")
    print(f"status: {report['status']} ({report['seconds']:.2f} s)")


def _verdict(result: str) -> str:
    if result in ("pass", "unsupported", "-"):
        return result.upper() if result == "pass" else result
    return "FAIL"


def register(app: typer.Typer) -> None:
    app.command("health")(health)
