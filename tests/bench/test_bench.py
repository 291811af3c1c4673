"""fannctl bench (issue 13, items 1-3): the JSON it writes, the regression gate,
case globs, bad input, and libfann alongside. No timing is asserted: the runs
use one repeat of the smallest cases; what is checked is shape and decisions.

Each test names the bug it guards against.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fannctl.bench import compare, runner
from fannctl.cli.main import app
from fannctl.errors import FannctlError, FormatError, ParameterError

cli = CliRunner()
SMALL = ("--suite", "quick", "--case", "train/xor/rprop", "--case", "cli/help", "--repeats", "1")


def invoke(*args: str):
    return cli.invoke(app, ["bench", *args])


def one_line_error(result, *words: str) -> None:
    """Exit 2, one line on stderr naming ``words``, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fannctl: error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small run written with --json -o FILE."""
    path = tmp_path_factory.mktemp("bench") / "base.json"
    result = invoke(*SMALL, "--json", "-o", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # -o: nothing but the file
    return path


def test_json_has_machine_versions_and_each_case(baseline: Path) -> None:
    """The issue's document: machine (with the matmul peak), versions, and per case
    name, device, unit, median/min/max and the final MSE."""
    doc = json.loads(baseline.read_text())
    machine = doc["machine"]
    for key in ("cpu", "cores", "blas", "opencl", "commit", "matmul_gflops"):
        assert key in machine, key
    assert machine["matmul_gflops"] > 0
    assert machine["blas"]["summary"]
    assert {"fannctl", "python", "numpy"} <= set(doc["versions"])
    assert [c["name"] for c in doc["cases"]] == ["train/xor/rprop", "cli/help"]
    train, start = doc["cases"]
    for case in doc["cases"]:
        for key in ("name", "device", "unit", "median", "min", "max", "mse", "repeats"):
            assert key in case, (case["name"], key)
        assert case["min"] <= case["median"] <= case["max"]
    assert train["unit"] == "epochs/s" and train["device"] == "numpy"
    assert 0 <= train["mse"] < 1 and math.isfinite(train["mse"])
    assert train["connection_updates_per_s"] > 0 and 0 < train["peak_fraction"]
    assert start["unit"] == "s" and start["mse"] is None and "libfann" not in start


def test_same_file_as_baseline_passes(baseline: Path) -> None:
    """A gate that fails on its own baseline would block every CI run (a wide margin:
    the machine is shared, and this run's timings are single repeats)."""
    result = invoke(*SMALL, "--baseline", str(baseline), "--max-regression", "95%")
    assert result.exit_code == 0, result.output
    assert "train/xor/rprop" in result.stderr and "within 95%" in result.stderr


def test_a_doctored_faster_baseline_fails_and_names_the_case(
    baseline: Path, tmp_path: Path
) -> None:
    """The gate's point: a case slower than the baseline beyond P exits 1, named."""
    doc = json.loads(baseline.read_text())
    doc["cases"][0]["median"] *= 1e6  # the baseline trained a million times faster
    faster = tmp_path / "faster.json"
    faster.write_text(json.dumps(doc))
    out = tmp_path / "now.json"
    # 95%: only the doctored case can fail, whatever the shared machine's load
    result = invoke(
        *SMALL, "--baseline", str(faster), "--max-regression", "95", "--json", "-o", str(out)
    )
    assert result.exit_code == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert "train/xor/rprop" in last and "cli/help" not in last, last
    written = json.loads(out.read_text())  # the result is still written, with the verdict
    assert written["comparison"]["regressions"] == ["train/xor/rprop"]


def _doc(cpu: str, peak: float, cases: list[tuple[str, str, float]]) -> dict:
    return {
        "machine": {"cpu": cpu, "cores": 2, "threads": 1, "matmul_gflops": peak},
        "versions": {},
        "cases": [{"name": n, "unit": u, "median": m} for n, u, m in cases],
    }


def test_compare_decides_by_speed_for_rates_and_latencies() -> None:
    """Latencies (unit s) are better when lower: a doubled start-up time is a regression,
    a halved one is not; the same document against itself changes nothing."""
    now = _doc("cpu", 100.0, [("a", "epochs/s", 100.0), ("b", "s", 0.2), ("c", "s", 0.1)])
    then = _doc("cpu", 100.0, [("a", "epochs/s", 100.0), ("b", "s", 0.1), ("c", "s", 0.2)])
    result = compare.compare(now, then, 10.0)
    assert [r["name"] for r in result.regressions] == ["b"]
    assert not result.by_peak
    same = compare.compare(now, copy.deepcopy(now), 0.0)
    assert same.regressions == [] and all(r["change_percent"] == 0 for r in same.rows)


def test_other_machine_compares_ratios_to_the_matmul_peak() -> None:
    """Raw numbers from two machines say nothing: on a machine with twice the peak the
    same epochs/s is a regression, and the comparison says the machines differ."""
    now = _doc("fast cpu", 200.0, [("a", "epochs/s", 100.0)])
    then = _doc("slow cpu", 100.0, [("a", "epochs/s", 100.0)])
    result = compare.compare(now, then, 10.0)
    assert result.by_peak and "cpu" in result.machine_differences[0]
    assert [r["name"] for r in result.regressions] == ["a"]
    assert result.rows[0]["change_percent"] == pytest.approx(-50.0)
    assert "machines differ" in compare.summary_lines(result)[0]
    now["machine"]["matmul_gflops"] = 100.0
    assert compare.compare(now, then, 10.0).regressions == []


def test_case_globs() -> None:
    """--case takes globs over every suite's cases, each case once, in a fixed order."""
    rprop = [c.name for c in runner.select("quick", ("train/*/rprop",))]
    assert rprop == [
        "train/xor/rprop",
        "train/mushroom/rprop",
        "train/thyroid/rprop",
        "train/census-house/rprop",
    ]
    both = [c.name for c in runner.select("quick", ("cascade/*", "cascade/two-spiral"))]
    assert both == ["cascade/two-spiral", "cascade/thyroid"]
    quick = {c.name for c in runner.select("quick")}
    standard = {c.name for c in runner.select("standard")}
    assert quick < standard and "swarm/xor" in quick and "cli/help" in quick
    with pytest.raises(ParameterError, match="nope"):
        runner.select("quick", ("nope/*",))
    with pytest.raises(ParameterError, match="--suite"):
        runner.select("huge")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--case", "nope/*"), ("nope/*", "matches no case")),
        (("--suite", "huge"), ("--suite", "huge")),
        (("--baseline", "missing.json"), ("missing.json", "not found")),
        (("--max-regression", "abc", "--baseline", "x.json"), ("--max-regression", "abc")),
        (("--max-regression", "150%", "--baseline", "x.json"), ("150%",)),
        (("--max-regression", "5%"), ("--baseline",)),
        (("--json", "--markdown"), ("--json", "--markdown")),
        (("--repeats", "0"), ("--repeats",)),
        (("-o", "no/such/dir/out.json"), ("no/such/dir",)),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_anything_runs(
    args: tuple[str, ...], words: tuple[str, ...], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(*args, "-o", "out.json") if "-o" not in args else invoke(*args)
    one_line_error(result, *words)
    assert list(tmp_path.iterdir()) == []  # no output file, not even a partial one


def test_a_baseline_that_is_not_a_bench_file(tmp_path: Path) -> None:
    """A wrong file named as baseline: FILE:LINE for bad JSON, and a gate that
    would compare nothing (no case in common) refuses instead of passing."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"machine": {},\n "cases": [oops]}\n')
    one_line_error(invoke("--baseline", str(bad)), f"{bad}:2", "not valid JSON")
    other = tmp_path / "other.json"
    other.write_text(json.dumps(_doc("cpu", 1.0, [("gone/case", "s", 1.0)])))
    one_line_error(invoke("--case", "cli/help", "--baseline", str(other)), "none of the cases")
    with pytest.raises(FormatError, match="positive median"):
        other.write_text(json.dumps(_doc("cpu", 1.0, [("x", "s", 0)])))
        compare.load_baseline(other)


def test_percentages() -> None:
    assert compare.parse_percent("10%") == 10.0
    assert compare.parse_percent(" 2.5 ") == 2.5
    for text in ("", "%", "ten", "-1%", "100%", "nan"):
        with pytest.raises(ParameterError):
            compare.parse_percent(text)


def test_without_libfann_it_names_the_package(monkeypatch) -> None:
    """--against-libfann on a machine without FANN: exit 2 naming Debian's package."""
    from fannctl.bench import libfann

    monkeypatch.setattr(libfann, "_LOADED", None)
    monkeypatch.setenv(libfann.ENV, "/nonexistent/libfloatfann.so.2")
    result = invoke("--case", "train/xor/rprop", "--against-libfann", "--repeats", "1")
    one_line_error(result, "libfann-dev")
    with pytest.raises(FannctlError, match="apt-get install libfann-dev"):
        libfann.load()


@pytest.mark.libfann
def test_against_libfann_trains_the_same_network(monkeypatch) -> None:
    """The libfann side must do the same job: from the same .net both engines reach
    the same MSE after the same epochs (so the ratio compares like with like)."""
    from fannctl.bench import libfann

    monkeypatch.setattr(libfann, "_LOADED", None)
    monkeypatch.delenv(libfann.ENV, raising=False)
    cases = (
        "--case",
        "train/thyroid/rprop",
        "--case",
        "run/mushroom/npy",
        "--case",
        "cascade/thyroid",
    )
    result = invoke("--suite", "quick", *cases, "--repeats", "1", "--against-libfann", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["versions"]["libfann"].startswith("2.2")
    for case in doc["cases"]:
        lib = case["libfann"]
        assert lib["device"] == "libfann" and lib["unit"] == case["unit"]
        if case["unit"] == "s":  # cascade: both grew the same number of neurons
            assert case["neurons_added"] == lib["neurons_added"] == 1
            assert case["ratio"] == pytest.approx(lib["median"] / case["median"])
            continue
        assert lib["mse"] == pytest.approx(case["mse"], rel=1e-3, abs=1e-7), case["name"]
        assert case["ratio"] == pytest.approx(case["median"] / lib["median"])


def test_markdown_names_the_machine(baseline: Path) -> None:
    from fannctl.cli.bench import markdown_table

    text = markdown_table(json.loads(baseline.read_text()))
    lines = text.splitlines()
    assert lines[0].startswith("Machine: ") and "GFLOP/s" in lines[0]
    assert lines[2].startswith("| case | device | unit | median |")
    assert lines[4].startswith("| train/xor/rprop | numpy | epochs/s |")


def test_runner_alternates_engines_warms_up_and_adds_the_reference(monkeypatch) -> None:
    """Engines must alternate (libfann first on even repeats) after one untimed
    warm-up each, every run from a reset state; the progress count must end at its
    total; ratios are fannctl over the other engine (inverted for latencies)."""
    from fannctl.bench import cases, libfann

    calls: list[str] = []

    def trial(tag: str, mse: float | None) -> cases.Trial:
        def body():
            calls.append(tag)
            return mse

        return cases.Trial(body, 10, reset=lambda: calls.append("reset"), device=tag)

    fake = cases.Case(
        "fake/case",
        "epochs/s",
        "a test case",
        ("quick",),
        lambda ctx: trial("f", 0.5),
        lambda ctx: trial("l", 0.25),
        reference=("other", lambda ctx: trial("r", None)),
    )
    monkeypatch.setitem(cases.CASES, fake.name, fake)
    monkeypatch.setattr(libfann, "load", lambda: (None, "/lib/libfloatfann.so.2.2.0"))
    seen = []
    request = runner.BenchRequest(
        "quick", ("fake/*",), against_libfann=True, repeats=2, peak_size=64
    )
    doc = runner.run(request, lambda label, done, total: seen.append((done, total)))
    timed = [c for c in calls if c != "reset"]
    assert timed == ["f", "l", "r", "r", "l", "f", "f", "l", "r"]
    assert calls.count("reset") == len(timed)
    assert seen[-1] == (9, 9)
    (case,) = doc["cases"]
    assert doc["versions"]["libfann"] == "2.2.0"
    assert case["mse"] == 0.5 and case["libfann"]["mse"] == 0.25
    assert case["reference"]["engine"] == "other" and case["reference"]["mse"] is None
    assert case["ratio"] == pytest.approx(case["median"] / case["libfann"]["median"])
    assert case["reference_ratio"] == pytest.approx(case["median"] / case["reference"]["median"])


def test_a_bad_device_is_one_line_before_anything_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    one_line_error(invoke("--device", "bogus", "-o", "out.json"), "unknown device 'bogus'")
    assert list(tmp_path.iterdir()) == []


def test_the_progress_bar_on_a_terminal_still_writes_only_the_result(monkeypatch) -> None:
    """On a TTY a rich bar runs on stderr; stdout must still hold nothing but the JSON."""
    from fannctl.bench import cases
    from fannctl.cli import render

    fake = cases.Case(
        "fake/tty", "s", "a test case", ("quick",), lambda ctx: cases.Trial(lambda: 0.1, 1)
    )
    monkeypatch.setitem(cases.CASES, fake.name, fake)
    monkeypatch.setattr(render, "is_tty", lambda: True)
    result = invoke("--case", "fake/*", "--repeats", "2", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [c["name"] for c in doc["cases"]] == ["fake/tty"] and doc["cases"][0]["mse"] == 0.1


def test_a_case_measured_in_another_unit_is_not_compared() -> None:
    """A case whose unit changed (s -> epochs/s) would compare a time with a rate."""
    now = _doc("cpu", 1.0, [("a", "epochs/s", 100.0), ("b", "s", 1.0)])
    then = _doc("cpu", 1.0, [("a", "s", 100.0), ("b", "s", 1.0)])
    result = compare.compare(now, then, 10.0)
    assert [r["name"] for r in result.rows] == ["b"] and result.missing == ["a"]


def test_plain_table_has_one_row_per_case_and_libfann_columns(baseline: Path) -> None:
    from fannctl.cli.bench import plain_table

    doc = json.loads(baseline.read_text())
    lines = plain_table(doc).splitlines()
    assert lines[0].startswith("# ") and "GFLOP/s" in lines[0]
    assert lines[1].split()[:4] == ["case", "device", "unit", "median"]
    assert [line.split()[0] for line in lines[3:]] == ["train/xor/rprop", "cli/help"]
    assert "libfann" not in lines[1]  # no libfann run: no libfann columns
    doc["cases"][0]["libfann"] = dict(doc["cases"][0], median=doc["cases"][0]["median"] / 4)
    doc["cases"][0]["ratio"] = 4.0
    lines = plain_table(doc).splitlines()
    assert "fannctl / libfann" in lines[1] and lines[3].rstrip().endswith("4x")
    assert lines[4].rstrip().endswith("-")  # cli/help: libfann cannot start fannctl


@pytest.mark.parametrize(("device", "expected"), [("numpy", None), ("cl", "cl")])
def test_swarm_cases_train_on_the_bench_device(monkeypatch, tmp_path: Path, device, expected):
    """`bench --device cl` must reach the swarm cases (they trained on numpy whatever
    --device said), and the large case reports its agents' work and peak memory."""
    import numpy as np

    from fannctl import swarm
    from fannctl.bench import training
    from fannctl.bench.case import Context

    seen = []

    def fake_run(population, data, config):
        seen.append(config.device)
        population.errors = np.full(population.agents, 0.25)

    monkeypatch.setattr(swarm, "run", fake_run)
    datasets = Path(__file__).resolve().parents[2] / "datasets"
    ctx = Context(datasets, tmp_path, "quick", device=device)
    large = training._swarm_large_fannctl(ctx)
    for trial in (training._swarm_fannctl(ctx), large):
        trial.reset()
        assert trial.body() == 0.25
        assert trial.device_name() == device
    assert seen == [expected, expected]
    assert large.work == 1_000 and large.flops == 6.0 * 750 * training.LARGE_PATTERNS
    assert large.extra()["peak_rss_mb"] > 0
