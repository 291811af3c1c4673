"""``--baseline FILE --max-regression P``: is any case slower than an earlier run?

Cases are matched by name. Speed is the median rate (work per second), or
one over the median seconds for a latency. On the same machine (CPU model,
cores, threads, BLAS kernel) the speeds are compared as they are; when the
machines differ, each speed is first divided by its run's float32
matrix-multiply peak, and only those ratios are compared (and the result
says so). A case is a regression when its speed fell by more than P percent.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

from fannctl.bench import machine
from fannctl.errors import FannctlError, FormatError, ParameterError


def parse_percent(text: str) -> float:
    """``10%`` or ``10`` -> 10.0 (at least 0, below 100)."""
    raw = text.strip()
    number = raw[:-1].strip() if raw.endswith("%") else raw
    try:
        value = float(number)
    except ValueError:
        raise ParameterError(
            f"--max-regression {text!r}: expected a percentage such as 10%"
        ) from None
    if not math.isfinite(value) or not 0 <= value < 100:
        raise ParameterError(f"--max-regression {text!r}: must be at least 0% and below 100%")
    return value


def load_baseline(path: str | os.PathLike) -> dict:
    """A result document written by ``fannctl bench --json``."""
    name = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise FannctlError(f"{name}: baseline file not found") from None
    except OSError as exc:
        raise FannctlError(f"{name}: cannot read the baseline: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise FormatError(f"{name}: not a fannctl bench JSON file (not text)") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{name}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    cases = doc.get("cases") if isinstance(doc, dict) else None
    if not isinstance(cases, list) or not isinstance(doc.get("machine"), dict):
        raise FormatError(f"{name}: not a fannctl bench JSON file (no machine and cases)")
    for index, case in enumerate(cases):
        if not (
            isinstance(case, dict)
            and isinstance(case.get("name"), str)
            and isinstance(case.get("median"), int | float)
            and case["median"] > 0
            and case.get("unit")
        ):
            raise FormatError(f"{name}: case {index + 1} has no name, unit or positive median")
    return doc


def check_overlap(names: list[str], baseline: dict, path: str | os.PathLike) -> None:
    """Refuse before running when the baseline has none of the cases to run
    (a gate that compares nothing would always pass)."""
    known = {c["name"] for c in baseline["cases"]}
    if not known.intersection(names):
        raise ParameterError(
            f"{os.fspath(path)}: the baseline has none of the cases to run "
            f"({', '.join(names[:4])}{', ...' if len(names) > 4 else ''})"
        )


@dataclass
class Comparison:
    """Every compared case's change, the regressions, and how the machines differ."""

    max_regression: float
    machine_differences: list[str]
    rows: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def by_peak(self) -> bool:
        return bool(self.machine_differences)

    @property
    def regressions(self) -> list[dict]:
        return [r for r in self.rows if r["regression"]]

    def to_dict(self) -> dict:
        return {
            "max_regression_percent": self.max_regression,
            "machines_differ": self.machine_differences,
            "compared": "speed / matmul peak" if self.by_peak else "speed",
            "cases": self.rows,
            "not_in_baseline": self.missing,
            "regressions": [r["name"] for r in self.regressions],
        }


def _speed(case: dict) -> float:
    return 1.0 / case["median"] if case["unit"] == "s" else float(case["median"])


def compare(current: dict, baseline: dict, max_regression: float) -> Comparison:
    """Compare ``current`` with ``baseline`` case by case."""
    differ = machine.same_machine(current["machine"], baseline["machine"])
    result = Comparison(max_regression, differ)
    old = {c["name"]: c for c in baseline["cases"]}
    peak_now = current["machine"].get("matmul_gflops") or 0
    peak_then = baseline["machine"].get("matmul_gflops") or 0
    if differ and not (peak_now > 0 and peak_then > 0):
        raise FormatError("the machines differ and a run lacks its matmul peak: cannot compare")
    for case in current["cases"]:
        before = old.get(case["name"])
        if before is None or before["unit"] != case["unit"]:  # new, or measured differently
            result.missing.append(case["name"])
            continue
        now, then = _speed(case), _speed(before)
        if differ:
            now, then = now / peak_now, then / peak_then
        change = 100.0 * (now / then - 1.0)
        result.rows.append(
            {
                "name": case["name"],
                "device": case.get("device"),
                "baseline_device": before.get("device"),
                "unit": case["unit"],
                "baseline": before["median"],
                "median": case["median"],
                "change_percent": change,
                "regression": change < -max_regression,
            }
        )
    return result


def summary_lines(comparison: Comparison) -> list[str]:
    """What the CLI prints on stderr after a comparison."""
    lines = []
    if comparison.by_peak:
        lines.append(
            "bench: the machines differ ("
            + "; ".join(comparison.machine_differences)
            + "): comparing each case's speed relative to its run's matmul peak"
        )
    for row in comparison.rows:
        moved = row.get("device") != row.get("baseline_device")
        lines.append(
            f"bench: {row['name']}: {row['change_percent']:+.1f}% "
            f"({'slower beyond' if row['regression'] else 'within'} "
            f"{comparison.max_regression:g}%)"
            + (f" [device {row.get('baseline_device')} -> {row.get('device')}]" if moved else "")
        )
    if comparison.missing:
        lines.append("bench: not in the baseline: " + ", ".join(comparison.missing))
    return lines
