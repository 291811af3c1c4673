"""Pictures of training (issue 13, item 5): curves from the history, drawn in the
terminal by `info` and as images by `fannctl plot`.

Each test names the bug it guards against.
"""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fannctl import curves
from fannctl.cli import render
from fannctl.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
cli = CliRunner()


def invoke(*args: str):
    return cli.invoke(app, [str(a) for a in args])


def need_matplotlib() -> None:
    """matplotlib is an optional extra; the dev extra (and so CI) installs it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("matplotlib is missing under CI: the dev extra installs it")
        pytest.skip("matplotlib is not installed")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("plot") / "xor.h5")
    symmetric = ("--hidden-activation", "sigmoid_symmetric", "--output-activation")
    assert invoke("create", path, "--layers", "2,3,1", *symmetric, "sigmoid_symmetric",
                  "--seed", "2", "-q").exit_code == 0  # fmt: skip
    result = invoke("train", path, XOR, "--max-epochs", "200", "--report-every", "20",
                    "--desired-error", "0", "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


# ---------------------------------------------------------------- curves from history


def test_network_curves_hold_train_and_test_mse_and_cascade_marks() -> None:
    history = [
        {"epoch": 1, "mse": 0.5, "bit_fail": 4, "test_mse": 0.6},
        {"epoch": 100, "mse": 0.1, "bit_fail": 1, "test_mse": 0.2},
        {"epoch": 150, "mse": 0.05, "bit_fail": 0, "neurons": 1, "activation": "sigmoid"},
        {"epoch": 160, "mse": float("nan"), "bit_fail": 0},
    ]
    drawn = curves.network_curves(history, "x.h5")
    assert [(s.name, s.x, s.y) for s in drawn.series] == [
        ("train MSE", [1.0, 100.0, 150.0], [0.5, 0.1, 0.05]),
        ("test MSE", [1.0, 100.0], [0.6, 0.2]),
    ]
    assert drawn.marks == [(150.0, "1 neurons")]
    assert drawn.log_scale and drawn.x_label == "epoch"


def test_swarm_curves_are_best_median_worst_and_ensemble_per_round() -> None:
    history = [
        {"round": 1, "best_error": 0.2, "median_error": 0.3, "worst_error": 0.9},
        {"round": 2, "best_error": 0.1, "median_error": 0.2, "worst_error": 0.5,
         "ensemble_error": 0.15},
    ]  # fmt: skip
    drawn = curves.swarm_curves(history)
    assert [s.name for s in drawn.series] == [
        "best agent", "median agent", "worst agent", "ensemble",
    ]  # fmt: skip
    assert drawn.series[0].y == [0.2, 0.1] and drawn.series[3].x == [2.0]
    assert drawn.x_label == "round"


def test_text_chart_puts_points_where_they_belong() -> None:
    drawn = curves.Curves("", "epoch", "MSE", [curves.Series("train MSE", [0, 10], [1.0, 0.001])])
    lines = render.curve_lines(drawn, width=11, height=4)
    assert lines[0].startswith("    1 |*")  # top left: the first point, the largest value
    assert lines[3] == "0.001 |" + lines[3][7:] and lines[3].endswith("*")  # bottom right
    assert len(lines[3]) == 7 + 11
    assert lines[4] == "      +" + "-" * 11
    assert lines[5].split() == ["0", "10", "epoch"]
    assert lines[6].strip() == "* train MSE  (MSE, log scale)"
    # the points are joined: one symbol in every column
    assert all("*" in line for line in lines[:4])
    single = curves.Curves("", "epoch", "MSE", [curves.Series("train MSE", [1], [0.5])])
    assert render.curve_lines(single) == []


def test_info_draws_the_curves(trained: str) -> None:
    """info showed the history as a table only."""
    result = invoke("info", trained)
    assert result.exit_code == 0, result.output
    # (a log axis unless training reached an MSE of exactly 0, as it may here)
    assert "* train MSE  (MSE" in result.stdout, result.stdout
    lines = result.stdout.splitlines()
    legend = next(i for i, line in enumerate(lines) if "* train MSE  (MSE" in line)
    axis = lines[legend - 1].split()
    assert axis[0] == "1" and axis[2] == "epoch" and int(axis[1]) > 20
    assert lines[legend - 2].lstrip().startswith("+---")


# ---------------------------------------------------------------- fannctl plot


def test_plot_writes_svg_png_and_pdf(trained: str, tmp_path: Path) -> None:
    need_matplotlib()
    svg = tmp_path / "curve.svg"
    result = invoke("plot", trained, "-o", svg)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == f"wrote {svg} (svg)"
    texts = "".join(e.text or "" for e in ET.parse(svg).iter() if e.tag.endswith("text"))
    assert "train MSE" in texts and "epoch" in texts and "xor.h5" in texts
    png, pdf = tmp_path / "curve.png", tmp_path / "c.pdf"
    assert invoke("plot", trained, "-o", png, "-q").exit_code == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert invoke("plot", trained, "-o", pdf, "-q").exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")


def test_plot_is_reproducible_and_goes_to_stdout(trained: str, tmp_path: Path) -> None:
    need_matplotlib()
    first = invoke("plot", trained, "-o", "-")
    second = invoke("plot", trained, "-o", "-")
    assert first.exit_code == 0 and first.stdout.startswith("<?xml")
    assert first.stdout == second.stdout


def test_plot_refusals_are_one_line(trained: str, tmp_path: Path) -> None:
    bad = invoke("plot", trained, "-o", tmp_path / "curve.txt")
    assert bad.exit_code == 2
    assert bad.stderr.strip() == (
        f"fannctl: error: {tmp_path / 'curve.txt'}: a plot is svg, png, pdf "
        "(by the name, or --format)"
    )
    fresh = tmp_path / "fresh.h5"
    assert invoke("create", fresh, "--layers", "2,1", "-q").exit_code == 0
    empty = invoke("plot", fresh, "-o", tmp_path / "x.svg")
    assert empty.exit_code == 2 and "fresh.h5: no training history to plot" in empty.stderr
    assert not (tmp_path / "x.svg").exists()


def test_missing_matplotlib_names_the_extra(
    trained: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    result = invoke("plot", trained, "-o", tmp_path / "c.svg")
    assert result.exit_code == 2
    assert "pip install 'fannctl[plot]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c.svg").exists()


def test_plot_of_a_swarm(tmp_path: Path) -> None:
    """plot draws a swarm's best, median and worst agent per round."""
    need_matplotlib()
    path = tmp_path / "s.h5"
    spawn = invoke("swarm", "spawn", path, "--layers", "2,3,1", "--agents", "4", "--seed", "1")
    assert spawn.exit_code == 0, spawn.output
    ran = invoke("swarm", "run", path, XOR, "--rounds", "3", "--epochs-per-round", "5", "-q")
    assert ran.exit_code == 0, ran.output
    svg = tmp_path / "s.svg"
    assert invoke("plot", path, "-o", svg, "-q").exit_code == 0
    texts = "".join(e.text or "" for e in ET.parse(svg).iter() if e.tag.endswith("text"))
    assert "best agent" in texts and "worst agent" in texts and "round" in texts


def test_info_dot_is_the_network_as_graphviz(trained: str) -> None:
    """info --dot prints the network as Graphviz DOT, as fannctl.graphviz draws it."""
    from fannctl import graphviz, io

    result = invoke("info", trained, "--dot")
    assert result.exit_code == 0, result.output
    assert result.stdout == graphviz.network_dot(io.open_network(trained), "xor.h5")
    assert result.stdout.startswith('digraph "xor.h5" {') and result.stdout.count(" -> ") == 13


def test_info_dot_refuses_a_swarm(tmp_path: Path) -> None:
    path = tmp_path / "s.h5"
    assert invoke("swarm", "spawn", path, "--layers", "2,3,1", "--agents", "2").exit_code == 0
    result = invoke("info", path, "--dot")
    assert result.exit_code == 2
    assert "a swarm file: export an agent (fannctl swarm export)" in result.stderr
