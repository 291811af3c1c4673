"""Running the cases: choose them, warm up, repeat, summarise.

Each case is prepared once per engine, run once untimed (the warm-up:
imports, caches, BLAS threads, page faults), then ``repeats`` times, each
repeat from the same starting state. With libfann the two engines alternate
(libfann first on even repeats), so a change in the machine's load falls on
both. A case reports the median, min and max of its rate (work per second)
or, for a latency, of its seconds, with the final MSE of its runs.
"""

from __future__ import annotations

import fnmatch
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fannctl.bench import cases as cases_mod
from fannctl.bench import compare, machine
from fannctl.errors import ParameterError

REPEATS = {"quick": 3, "standard": 5, "full": 5}
SCHEMA = 1


@dataclass
class BenchRequest:
    """One ``fannctl bench`` run."""

    suite: str = "standard"
    cases: tuple[str, ...] = ()  # names or globs; empty: the suite's cases
    device: str = "numpy"
    against_libfann: bool = False
    repeats: int | None = None  # None: the suite's (tests use 1)
    data_dir: Path | None = None
    peak_size: int = 1024
    baseline: str | None = None  # an earlier result (JSON) to compare with
    max_regression: float = 10.0  # percent slower that still passes


@dataclass
class BenchOutcome:
    """The result document, and the comparison with the baseline when there was one."""

    result: dict
    comparison: compare.Comparison | None = None

    @property
    def regressions(self) -> list[dict]:
        return self.comparison.regressions if self.comparison is not None else []


def bench(request: BenchRequest, progress: Progress | None = None) -> BenchOutcome:
    """``fannctl bench``: run the cases, then compare with the baseline if given.

    A baseline that cannot be read, or that has none of the cases to run, is
    refused before anything runs.
    """
    baseline = None
    if request.baseline is not None:
        baseline = compare.load_baseline(request.baseline)
        names = [c.name for c in select(request.suite, request.cases)]
        compare.check_overlap(names, baseline, request.baseline)
    result = run(request, progress)
    if baseline is None:
        return BenchOutcome(result)
    comparison = compare.compare(result, baseline, request.max_regression)
    result["comparison"] = comparison.to_dict()
    return BenchOutcome(result, comparison)


def select(suite: str, patterns: tuple[str, ...] = ()) -> list[cases_mod.Case]:
    """The cases to run: the suite's, or those matching any of ``patterns``
    (names or shell globs, from every suite; ``patterns`` win over the suite)."""
    if suite not in cases_mod.SUITES:
        raise ParameterError(f"--suite must be one of {', '.join(cases_mod.SUITES)}, got {suite!r}")
    if not patterns:
        return [c for c in cases_mod.CASES.values() if suite in c.suites]
    chosen = []
    for pattern in patterns:
        matched = [n for n in cases_mod.CASES if fnmatch.fnmatchcase(n, pattern)]
        if not matched:
            raise ParameterError(
                f"--case {pattern!r} matches no case; the cases: {', '.join(cases_mod.CASES)}"
            )
        chosen += [n for n in matched if n not in chosen]
    return [cases_mod.CASES[n] for n in cases_mod.CASES if n in chosen]


Progress = Callable[[str, int, int], None]
"""``progress(label, done, total)`` after each timed or warm-up run."""


def run(request: BenchRequest, progress: Progress | None = None) -> dict:
    """Run the chosen cases; the result document (``machine``, ``versions``, ``cases``)."""
    chosen = select(request.suite, request.cases)
    from fannctl import devices

    devices.parse(request.device)  # a bad --device is one line before anything runs
    if request.against_libfann:
        from fannctl.bench import libfann

        libfann.load()  # before anything runs: a missing library is one line, exit 2
    data_dir = request.data_dir or cases_mod.default_data_dir()
    versions = machine.versions()
    if request.against_libfann:
        versions["libfann"] = libfann.version()
        versions["libfann_file"] = libfann.load()[1]
    repeats = {c.name: _repeats(c, request) for c in chosen}
    engines = 2 if request.against_libfann else 1
    total = sum(
        (repeats[c.name] + 1)
        * ((engines if c.libfann is not None else 1) + (c.reference is not None))
        for c in chosen
    )
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(label, done, total)

    started = time.time()
    about = machine.describe(request.peak_size)
    peak = about["matmul_gflops"]
    results = []
    with tempfile.TemporaryDirectory(prefix="fannctl-bench-") as tmp:
        ctx = cases_mod.Context(Path(data_dir), Path(tmp), request.suite, request.device)
        try:
            for case in chosen:
                use_libfann = request.against_libfann and case.libfann is not None
                results.append(_run_case(case, ctx, repeats[case.name], use_libfann, peak, tick))
        finally:
            for value in ctx.cache.values():
                if hasattr(value, "close"):
                    value.close()
    about["seconds"] = round(time.time() - started, 2)
    about["load_average_end"] = _load()
    return {
        "schema": SCHEMA,
        "suite": request.suite,
        "device": request.device,
        "machine": about,
        "versions": versions,
        "cases": results,
    }


def _load() -> list[float] | None:
    import os

    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def _repeats(case: cases_mod.Case, request: BenchRequest) -> int:
    if request.repeats is not None:
        return max(int(request.repeats), 1)
    if case.repeats and request.suite in case.repeats:
        return case.repeats[request.suite]
    return REPEATS[request.suite]


def _run_case(case, ctx, repeats: int, use_libfann: bool, peak: float, tick) -> dict:
    trials = {"fannctl": case.fannctl(ctx)}
    if use_libfann:
        trials["libfann"] = case.libfann(ctx)
    if case.reference is not None:
        trials["reference"] = case.reference[1](ctx)
    samples: dict[str, list[tuple[float, float | None]]] = {e: [] for e in trials}
    try:
        for engine, trial in trials.items():  # warm-up, untimed
            trial.reset()
            trial.body()
            tick(f"{case.name} ({engine}, warm-up)")
        for rep in range(repeats):
            order = list(trials) if rep % 2 else list(reversed(trials))
            for engine in order:
                trial = trials[engine]
                trial.reset()
                start = time.perf_counter()
                mse = trial.body()
                seconds = time.perf_counter() - start
                samples[engine].append((seconds, mse))
                tick(f"{case.name} ({engine} {rep + 1}/{repeats})")
    finally:
        for trial in trials.values():
            trial.close()
    result = {"name": case.name, "what": case.what}
    result.update(_summary(case, trials["fannctl"], samples["fannctl"], peak))
    result["repeats"] = repeats
    if use_libfann:
        lib = _summary(case, trials["libfann"], samples["libfann"], peak)
        result["libfann"] = lib
        ours, theirs = result["median"], lib["median"]
        result["ratio"] = theirs / ours if case.lower_is_better else ours / theirs
    if case.reference is not None:
        ref = _summary(case, trials["reference"], samples["reference"], peak)
        result["reference"] = {"engine": case.reference[0], **ref}
        ours, theirs = result["median"], ref["median"]
        result["reference_ratio"] = theirs / ours if case.lower_is_better else ours / theirs
    return result


def _summary(case, trial, samples: list[tuple[float, float | None]], peak: float) -> dict:
    seconds = [s for s, _ in samples]
    values = seconds if case.lower_is_better else [trial.work / s for s in seconds]
    mses = [m for _, m in samples if m is not None]
    out = {
        "device": trial.device_name(),
        "unit": case.unit,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "mse": statistics.median(mses) if mses else None,
        "work": trial.work,
        "seconds": statistics.median(seconds),
    }
    if trial.extra is not None:
        out.update(trial.extra())
    if trial.updates is not None and not case.lower_is_better:
        out["connection_updates_per_s"] = out["median"] * trial.updates
    if trial.flops is not None and not case.lower_is_better:
        gflops = out["median"] * trial.flops / 1e9
        out["gflops"] = gflops
        out["peak_fraction"] = gflops / peak if peak else None
    return out
