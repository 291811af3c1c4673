"""Where does numexpr beat numpy on this machine?

``activations``: value + derivative of each candidate activation with numpy
(fannctl's code) and with one fused numexpr expression each, on the block
shapes the trainers and cascade use. ``rprop``: FANN's RPROP step
(``train.rprop.fann_step``) over one large stacked weight array, the shape of
a swarm's update (default 100,000 agents x 500 weights, float32), against the
same rule as three fused numexpr expressions, both on one thread; the results
must agree bit for bit. Prints numpy time / numexpr time (>1: numexpr wins).

    .venv/bin/python bench/numexpr_vs_numpy.py [--part activations|rprop|all]
        [--rows 100000 --cols 500 --repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from pathlib import Path

import numexpr as ne
import numpy as np

from fannctl import activations as act
from fannctl.train.rprop import WEIGHT_LIMIT, fann_step

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchenv

VALUE = {
    3: "1 / (1 + exp(-2 * t))",
    5: "2 / (1 + exp(-2 * t)) - 1",
    7: "exp(-t * t)",
    10: "(t / 2) / (1 + abs(t)) + half",
    14: "sin(t)",
}
DERIV = {
    3: "2 * s * where(y < lo, lo, where(y > hi, hi, y))"
    " * (1 - where(y < lo, lo, where(y > hi, hi, y)))",
    5: "s * (1 - where(y < -hi, -hi, where(y > hi, hi, y)) ** 2)",
    7: "-2 * t * y * s * s",
    10: "s / (2 * (1 + abs(t)) * (1 + abs(t)))",
    14: "s * cos(s * t)",
}


def activations() -> None:
    rng = np.random.default_rng(0)
    print(f"numexpr {ne.__version__} threads={ne.get_num_threads()}, numpy {np.__version__}")
    for dtype in (np.float32, np.float64):
        for shape in ((3600, 8), (4062, 32), (11392, 32)):
            t = rng.uniform(-3, 3, shape).astype(dtype)
            s = dtype(0.7)
            row = []
            for ident in VALUE:
                ids = np.full(shape[1], ident)
                lo, hi = (0.01, 0.99) if ident == 3 else (0.98, 0.98)
                local = {"t": t, "s": s, "half": dtype(0.5), "lo": dtype(lo), "hi": dtype(hi)}

                steep = np.full(shape[1], s)

                def numpy_path(ids=ids, t=t, steep=steep):
                    y = act.value(ids, t)
                    return act.derivative(ids, steep, y, t)

                def numexpr_path(ident=ident, local=local):
                    y = ne.evaluate(VALUE[ident], local_dict=local)
                    return ne.evaluate(DERIV[ident], local_dict={**local, "y": y})

                tn = min(timeit.repeat(numpy_path, number=10, repeat=3)) / 10
                te = min(timeit.repeat(numexpr_path, number=10, repeat=3)) / 10
                row.append(f"{act.NAMES[ident]}={tn / te:.2f}")
            print(f"{np.dtype(dtype).name:8s} {shape!s:12s} " + "  ".join(row))


# FANN's RPROP step (train/rprop.py) as three fused passes: the new steps, the
# weights (which read the old slopes), then the kept slopes. Every constant is a
# float32 variable, and min/max are written with where(): numexpr's maximum()
# and minimum() exist only for doubles and would turn the whole pass to float64.
_PREV = "where(prev_step > tiny, prev_step, tiny)"
_GROWN = f"{_PREV} * increase"
_SHRUNK = f"{_PREV} * decrease"
RPROP_STEP = (
    f"where(slope * prev_slope >= 0,"
    f" where({_GROWN} < delta_max, {_GROWN}, delta_max),"
    f" where({_SHRUNK} > delta_min, {_SHRUNK}, delta_min))"
)
RPROP_WEIGHT = (
    "where((slope * prev_slope >= 0) & (slope < 0),"
    " where(w - step > -limit, w - step, -limit),"
    " where(w + step < limit, w + step, limit))"
)
RPROP_SLOPE = "where(slope * prev_slope >= 0, slope, zero)"


def numexpr_rprop(w, slope, prev_slope, prev_steps, constants, in_place: bool = True):
    """FANN's RPROP step, as fann_step does it, in three numexpr passes.

    ``in_place``: the weights and kept slopes are written over the inputs
    (``out=``, elementwise, so safe) and the steps copied back, as fann_step
    does; otherwise new arrays are returned (weights, kept slopes, steps) for a
    caller that can swap arrays.
    """
    names = {"slope": slope, "prev_slope": prev_slope, "prev_step": prev_steps, **constants}
    step = ne.evaluate(RPROP_STEP, local_dict=names)
    if step.dtype != w.dtype:
        raise SystemExit(f"numexpr computed the steps in {step.dtype}, not {w.dtype}")
    if not in_place:
        new_w = ne.evaluate(RPROP_WEIGHT, local_dict={**names, "w": w, "step": step})
        return new_w, ne.evaluate(RPROP_SLOPE, local_dict=names), step
    ne.evaluate(RPROP_WEIGHT, local_dict={**names, "w": w, "step": step}, out=w)
    ne.evaluate(RPROP_SLOPE, local_dict=names, out=prev_slope)
    prev_steps[...] = step
    return w, prev_slope, prev_steps


def rprop(rows: int, cols: int, repeats: int) -> None:
    dt = np.float32
    rng = np.random.default_rng(1)
    shape = (rows, cols)
    print(f"RPROP step over {rows} x {cols} {np.dtype(dt).name} weights, one thread")
    constants = {
        "increase": dt(1.2),
        "decrease": dt(0.5),
        "delta_max": dt(50.0),
        "delta_min": dt(0.0),
        "tiny": dt(0.0001),
        "limit": dt(WEIGHT_LIMIT),
        "zero": dt(0.0),
    }

    def fresh():
        local = np.random.default_rng(2)
        return (
            local.uniform(-1, 1, shape).astype(dt),  # weights
            local.standard_normal(shape).astype(dt),  # slopes
            local.standard_normal(shape).astype(dt),  # previous slopes
            local.uniform(0, 0.2, shape).astype(dt),  # previous steps
        )

    # Both must compute the same numbers (checked on a slice first).
    small = tuple(a[:1000].copy() for a in fresh())
    twin = tuple(a.copy() for a in small)
    fann_step(
        small[0],
        small[1],
        small[2],
        small[3],
        increase=constants["increase"],
        decrease=constants["decrease"],
        delta_max=constants["delta_max"],
        delta_min=constants["delta_min"],
    )
    numexpr_rprop(*twin, constants)
    for name, a, b in zip(("weights", "slopes", "prev slopes", "steps"), small, twin, strict=True):
        if name != "slopes" and not np.array_equal(a, b):
            raise SystemExit(f"numexpr's RPROP differs from fann_step in the {name}")
    del rng, small, twin
    arrays = fresh()
    timings = {"numpy": [], "numexpr": [], "swapped": []}
    for _ in range(repeats):
        for label in timings:
            w, slope, prev_slope, prev_steps = (a.copy() for a in arrays)
            start = time.perf_counter()
            if label == "numpy":
                fann_step(
                    w,
                    slope,
                    prev_slope,
                    prev_steps,
                    increase=constants["increase"],
                    decrease=constants["decrease"],
                    delta_max=constants["delta_max"],
                    delta_min=constants["delta_min"],
                )
            else:
                numexpr_rprop(w, slope, prev_slope, prev_steps, constants, label == "numexpr")
            timings[label].append(time.perf_counter() - start)
            del w, slope, prev_slope, prev_steps
    best = {label: min(times) for label, times in timings.items()}
    elements = rows * cols
    names = {
        "numpy": "numpy (fann_step, in place)",
        "numexpr": "numexpr, in place",
        "swapped": "numexpr, new arrays",
    }
    for label, seconds in best.items():
        ratio = best["numpy"] / seconds
        print(
            f"{names[label]:28s} {seconds * 1000:8.1f} ms  "
            f"{elements / seconds / 1e6:6.1f} M weights/s  numpy/this {ratio:.2f}"
        )
    print(f"(best of {repeats})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("activations", "rprop", "all"), default="all")
    parser.add_argument("--rows", type=int, default=100_000, help="networks (agents)")
    parser.add_argument("--cols", type=int, default=500, help="weights per network")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ne.set_num_threads(1)
    print(f"CPU: {benchenv.cpu_model()}; BLAS: {benchenv.blas_summary()}")
    print(f"numexpr {ne.__version__} (VML: {ne.use_vml}), numpy {np.__version__}")
    if args.part in ("activations", "all"):
        activations()
    if args.part in ("rprop", "all"):
        rprop(args.rows, args.cols, args.repeats)


if __name__ == "__main__":
    main()
