"""Where does numexpr beat numpy for FANN's activations on this machine?

Times value + derivative of each candidate activation with numpy (fannctl's
code) and with one fused numexpr expression each, on the block shapes the
trainers and cascade use. Prints numpy time / numexpr time (>1: numexpr wins).

    .venv/bin/python bench/numexpr_vs_numpy.py
"""

from __future__ import annotations

import timeit

import numexpr as ne
import numpy as np

from fannctl import activations as act

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


def main() -> None:
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


if __name__ == "__main__":
    main()
