"""Guard for speed work on the numpy backend and trainers: results must not change.

1. The probe XOR net (``fann_probe/xor_2_3_1.net``) trained 5 epochs with each
   algorithm must reproduce FANN's MSE traces (``train_traces.txt``) to ~1e-7.
2. Slopes, SSE and bit fail of random small LAYER, sparse and SHORTCUT nets with
   many activations (float64), and the probe runs' MSEs and final weights, must
   match a reference to 1e-12; float32 gradients of mid-size nets to 1e-5
   (relative to the largest slope). The reference is either computed here from
   another copy of the backend (``--reference-backend old_numpy_backend.py``)
   or saved earlier (``--save FILE`` before a change, ``--compare FILE`` after).
(The activation functions' in-place code is checked against FANN's formulas
bit for bit by ``tests/test_activations.py``.)

Run: ``PYTHONPATH=. .venv/bin/python bench/check_exact.py [--reference-backend F]``
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np

from fannctl import network
from fannctl.backends import numpy_backend
from fannctl.data import TrainingData
from fannctl.train import train_epoch

PROBE = Path("/work/shared/fann_probe")
ALGORITHMS = ("INCREMENTAL", "BATCH", "RPROP", "QUICKPROP", "SARPROP")


def probe_weights() -> np.ndarray:
    """The 13 weights of the probe XOR net's connections line."""
    text = (PROBE / "xor_2_3_1.net").read_text()
    line = next(x for x in text.splitlines() if x.startswith("connections"))
    pairs = re.findall(r"\((\d+), ([-+0-9.eE]+)\)", line.split("=", 1)[1])
    return np.array([float(w) for _, w in pairs])


def fann_traces() -> dict[str, list[float]]:
    """Per algorithm, FANN's five returned epoch MSEs."""
    traces: dict[str, list[float]] = {}
    current = None
    for line in (PROBE / "train_traces.txt").read_text().splitlines():
        if line.startswith("# FANN_TRAIN_"):
            current = line[len("# FANN_TRAIN_") :].strip()
            traces[current] = []
        elif line.startswith("epoch") and current:
            traces[current].append(float(line.split()[3]))
    return traces


def check_traces(backend_class, tolerance: float = 3e-7, quiet: bool = False):
    """Train the probe net with every algorithm; compare with FANN's traces."""
    x = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], dtype=float)
    y = np.array([[-1], [1], [1], [-1]], dtype=float)
    ok = True
    traces = []
    for alg, expected in fann_traces().items():
        net = network.create([2, 3, 1], dtype="float64")
        network.set_activation(net, 1, 5, 1.0)
        network.set_activation(net, 2, 5, 1.0)
        net.weights[:] = probe_weights()
        net.params.training_algorithm = ALGORITHMS.index(alg)
        network_rng = np.random.default_rng(7)  # SARPROP's draws, if it ever draws
        got = [
            train_epoch(
                net,
                TrainingData(x, y),
                backend=backend_class(),
                random_source=lambda n, r=network_rng: r.random(n),
            ).mse
            for _ in range(5)
        ]
        worst = max(abs(a - b) for a, b in zip(got, expected, strict=True))
        good = worst <= tolerance
        ok &= good
        if not quiet:
            print(f"  {alg:12s} max |dMSE| vs FANN = {worst:.2e} {'ok' if good else 'FAIL'}")
        traces.append((f"trace-{alg}", np.array([*got, *net.weights])))
    return ok, traces


def gradient_cases(backend_class) -> list[tuple[str, np.ndarray]]:
    """Slopes of random small nets of every kind (float64) and mid-size ones (float32)."""
    rng = np.random.default_rng(1234)
    cases = []
    kinds = [
        ("layer", {}, [5, 7, 3]),
        ("layer4", {}, [4, 6, 5, 2]),
        ("layer1in", {}, [1, 4, 1]),
        ("sparse", {"connection_rate": 0.5}, [6, 8, 3]),
        ("sparse4", {"connection_rate": 0.4}, [5, 7, 6, 2]),
        ("shortcut", {"shortcut": True}, [4, 3, 2]),
        ("shortcut4", {"shortcut": True}, [3, 2, 3, 2]),
        ("cascade", {"shortcut": True}, [2, 1, 1, 1, 1]),
    ]
    acts = [(5, 3), (3, 5), (4, 6), (10, 11), (7, 0), (14, 13), (0, 8)]
    for name, kwargs, layers in kinds:
        for hidden, output in acts:
            for error_function in (0, 1):
                for mixed in (False, True):
                    net = network.create(layers, rng=rng, dtype="float64", **kwargs)
                    net.weights[:] = rng.uniform(-1, 1, net.weights.size)
                    for index in range(1, len(layers) - 1):
                        network.set_activation(net, index, hidden, 0.7)
                    network.set_activation(net, len(layers) - 1, output, 0.9)
                    if mixed:  # per-neuron steepness and a second function
                        net.steepness[:] = rng.uniform(0.3, 1.5, net.steepness.size)
                        net.activation[layers[0] + 2] = 11
                    net.params.train_error_function = error_function
                    x = rng.uniform(-1, 1, (9, layers[0]))
                    y = rng.uniform(-0.9, 0.9, (9, layers[-1]))
                    if output in (3, 4, 7, 10, 12):
                        y = np.abs(y)
                    label = f"{name}-{hidden}-{output}-e{error_function}-m{int(mixed)}"
                    for again in ("", "-again"):  # a second call must reuse caches exactly
                        slopes = np.zeros_like(net.weights)
                        grad = backend_class().gradient(net, x, y, slopes)
                        out = backend_class().forward(net, x)
                        acts_, sums = backend_class().activate(net, x)
                        cases.append(
                            (
                                label + again,
                                np.concatenate(
                                    [
                                        slopes,
                                        [grad.sse, grad.bit_fail],
                                        out.ravel(),
                                        acts_.ravel(),
                                        *[s.ravel() for s in sums],
                                    ]
                                ),
                            )
                        )
    for layers, p in (([30, 20, 3], 300), ([10, 40, 1], 1000), ([50, 16, 8, 2], 200)):
        net = network.create(layers, rng=rng, dtype="float32")
        network.set_activation(net, 1, 5)
        network.set_activation(net, len(layers) - 1, 3)
        x = rng.uniform(0, 1, (p, layers[0])).astype(np.float32)
        y = rng.uniform(0, 1, (p, layers[-1])).astype(np.float32)
        slopes = np.zeros_like(net.weights)
        grad = backend_class().gradient(net, x, y, slopes)
        cases.append((f"f32-{layers}", np.concatenate([slopes, [grad.sse]])))
    return cases


def load_backend(path: Path):
    """A NumpyBackend class from another copy of numpy_backend.py."""
    spec = importlib.util.spec_from_file_location("reference_numpy_backend", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module.NumpyBackend


def compare(reference: dict, cases: list[tuple[str, np.ndarray]]) -> bool:
    """Largest differences against the reference, float64 and float32 apart."""
    worst64 = worst32 = 0.0
    common = [(label, value) for label, value in cases if label in reference]
    for label, value in common:
        ref = reference[label]
        if ref.shape != value.shape:
            print(f"  {label}: shape {value.shape} != reference {ref.shape}")
            return False
        diff = float(np.max(np.abs(ref - value))) if value.size else 0.0
        if label.startswith("f32"):
            worst32 = max(worst32, diff / max(float(np.max(np.abs(ref))), 1e-30))
        else:
            worst64 = max(worst64, diff)
    good = worst64 <= 1e-12 and worst32 <= 1e-5
    print(
        f"vs reference: {len(common)} of {len(cases)} cases, "
        f"float64 max |diff| = {worst64:.2e} (<= 1e-12), "
        f"float32 max rel diff = {worst32:.2e} (<= 1e-5) {'ok' if good else 'FAIL'}"
    )
    return good


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-backend", type=Path, help="another numpy_backend.py")
    parser.add_argument("--save", type=Path, help="save this code's results as a reference")
    parser.add_argument("--compare", type=Path, help="compare with a saved reference")
    args = parser.parse_args()
    backend = numpy_backend.NumpyBackend
    print("probe XOR traces vs FANN 2.2:")
    ok, traces = check_traces(backend)
    cases = traces + gradient_cases(backend)
    if args.save:
        np.savez(args.save, **dict(cases))
        print(f"saved {len(cases)} cases to {args.save}")
    if args.compare:
        ok &= compare(dict(np.load(args.compare)), cases)
    if args.reference_backend:
        other = load_backend(args.reference_backend)
        _, ref_traces = check_traces(other, quiet=True)
        ok &= compare(dict(ref_traces + gradient_cases(other)), cases)
    print("ALL OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
