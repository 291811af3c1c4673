"""Training curves from the history a file keeps: what ``info`` draws and ``plot`` writes.

A network's history holds its report points (epoch, MSE, bit fail, and the test
set's MSE when training had one; cascade adds the neuron installed at each
point). A swarm's holds one record per round (best, median and worst agent
error, and the ensemble's). ``network_curves`` and ``swarm_curves`` turn them
into plain series; ``write_plot`` draws those with matplotlib (an optional
extra: ``pip install 'fannctl[plot]'``) as SVG, PNG or PDF.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from fannctl.errors import FannctlError, ParameterError
from fannctl.io._files import PathLike, atomic_write

PLOT_FORMATS = ("svg", "png", "pdf")


@dataclass(frozen=True)
class Series:
    """One line of a plot: a name and its points."""

    name: str
    x: list[float]
    y: list[float]


@dataclass(frozen=True)
class Curves:
    """What to draw: the series, the axes' names, and labelled marks on the x axis."""

    title: str
    x_label: str
    y_label: str
    series: list[Series]
    marks: list[tuple[float, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(s.x for s in self.series)

    @property
    def log_scale(self) -> bool:
        """Whether every value is positive (errors span decades: a log axis then)."""
        values = [v for s in self.series for v in s.y]
        return bool(values) and all(v > 0 for v in values)


def network_curves(history: list[dict], title: str = "") -> Curves:
    """Training (and test) MSE over the epochs of a network's report points; for a
    cascade-grown network, each installed neuron marked where it went in."""
    points = [h for h in history if _finite(h.get("mse")) and h.get("epoch") is not None]
    series = [
        Series("train MSE", [float(h["epoch"]) for h in points], [float(h["mse"]) for h in points])
    ]
    tested = [h for h in points if _finite(h.get("test_mse"))]
    if tested:
        series.append(
            Series(
                "test MSE",
                [float(h["epoch"]) for h in tested],
                [float(h["test_mse"]) for h in tested],
            )
        )
    marks = [
        (float(h["epoch"]), f"{h['neurons']} neurons")
        for h in points
        if h.get("neurons") is not None and h.get("activation")
    ]
    return Curves(title, "epoch", "MSE", series, marks)


def swarm_curves(history: list[dict], title: str = "") -> Curves:
    """Best, median and worst agent error per round, and the ensemble's where recorded."""
    rounds = [h for h in history if h.get("round") is not None]
    series = []
    for key, name in (
        ("best_error", "best agent"),
        ("median_error", "median agent"),
        ("worst_error", "worst agent"),
        ("ensemble_error", "ensemble"),
    ):
        kept = [h for h in rounds if _finite(h.get(key))]
        if kept:
            series.append(
                Series(name, [float(h["round"]) for h in kept], [float(h[key]) for h in kept])
            )
    return Curves(title, "round", "error", series)


def curves_of(summary: dict) -> Curves:
    """The curves of a file's summary (``summary.describe`` or ``swarm.describe``)."""
    title = os.path.basename(str(summary.get("path") or ""))
    if summary.get("kind") == "swarm":
        return swarm_curves(summary.get("history") or [], title)
    return network_curves(summary.get("history") or [], title)


def plot_format(path: PathLike, given: str | None = None) -> str:
    """svg, png or pdf: ``given``, else the file's extension (``-``: svg)."""
    fmt = given or os.path.splitext(os.fspath(path).lower())[1].lstrip(".") or "svg"
    if os.fspath(path) == "-" and given is None:
        fmt = "svg"
    if fmt not in PLOT_FORMATS:
        raise ParameterError(
            f"{os.fspath(path)}: a plot is {', '.join(PLOT_FORMATS)} (by the name, or --format)"
        )
    return fmt


def render_plot(curves: Curves, fmt: str = "svg") -> bytes:
    """The curves drawn by matplotlib, as the bytes of an SVG, PNG or PDF file."""
    if curves.empty:
        raise FannctlError(f"{curves.title or 'the file'}: no training history to plot")
    try:
        import matplotlib
    except ImportError:
        raise FannctlError(
            "plotting needs matplotlib, an optional extra: pip install 'fannctl[plot]' "
            "(or pip install matplotlib)"
        ) from None
    import io

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    matplotlib.rcParams["svg.hashsalt"] = "fannctl"  # the same curves, the same SVG
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, small)
    figure = Figure(figsize=(7, 4.2))
    axes = figure.add_subplot()
    for series in curves.series:
        axes.plot(series.x, series.y, label=series.name, marker="." if len(series.x) < 60 else "")
    for x, label in curves.marks:
        axes.axvline(x, color="0.85", linewidth=0.8, zorder=0)
        axes.annotate(label, (x, 1), xycoords=("data", "axes fraction"), rotation=90,
                      fontsize=6, color="0.5", ha="right", va="top")  # fmt: skip
    if curves.log_scale:
        axes.set_yscale("log")
    axes.set_xlabel(curves.x_label)
    axes.set_ylabel(curves.y_label)
    if curves.title:
        axes.set_title(curves.title)
    axes.grid(True, which="major", color="0.92")
    axes.legend()
    figure.tight_layout()
    out = io.BytesIO()
    metadata = {"Date": None} if fmt in ("svg", "pdf") else {}
    figure.savefig(out, format=fmt, metadata=metadata, dpi=150)
    return out.getvalue()


def write_plot(curves: Curves, path: PathLike, fmt: str | None = None) -> str:
    """Draw ``curves`` into ``path`` (atomically) in its format; return the format."""
    fmt = plot_format(path, fmt)
    data = render_plot(curves, fmt)
    atomic_write(path, lambda handle: handle.write(data))
    return fmt


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
