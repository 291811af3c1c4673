"""``fannctl bench``: named benchmark cases, libfann alongside, and a regression gate.

``cases`` (what is timed), ``runner`` (warm-up, repeats, medians, the two
engines alternating), ``machine`` (what it ran on, the matrix-multiply peak),
``libfann`` (FANN 2.2 through ctypes) and ``compare`` (against a baseline).
"""

from fannctl.bench.runner import BenchRequest, run, select

__all__ = ["BenchRequest", "run", "select"]
