"""``auto``: numpy unless a measurement says a device is faster, for training runs
and for cascade's candidate epochs.

``AutoBackend`` times a few epochs of the workload on numpy and, when numpy
would take at least ``AUTO_MIN_SECONDS``, on the preferred usable device,
and keeps the faster for the run (the choice is kept per workload for the
process). ``CandidateChoice`` decides where cascade's candidate epochs do
their elementwise work, by trial epochs on the first pool, through the same
registry and fallback chain.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from fannctl.backends.base import Backend
from fannctl.devices import fallback, names, registry
from fannctl.devices.fallback import FallbackBackend, numpy_backend
from fannctl.errors import DeviceError, DeviceUnusable

AUTO_MIN_SECONDS = 0.5  # numpy runs predicted shorter than this never try a device
_AUTO_CHOICES: dict[tuple, str] = {}


def train_each(nets, data, config, backend) -> list:
    """Train networks one after the other on a host backend (``train_many`` without a device)."""
    from fannctl.train import train

    return [train(net, data, config, backend=backend) for net in nets]


def numpy_many(nets, data, config) -> list:
    """numpy's ``train_many``: the batched trainer (``fannctl.swarm.many``) when the
    networks can go together, else one after the other."""
    from fannctl.swarm.many import train_many

    found = train_many(nets, data, config)
    return found if found is not None else train_each(nets, data, config, numpy_backend())


class AutoBackend:
    """numpy for single calls; for a training run, whichever measures faster.

    A run numpy would finish within ``AUTO_MIN_SECONDS`` stays on numpy (opening
    a device costs more); otherwise a few epochs are timed on copies of the
    network on numpy and on the preferred OpenCL device, and the faster one
    runs the real thing. The choice is kept per workload for the process.
    """

    def __init__(self) -> None:
        self._numpy = numpy_backend()
        self._chosen: Backend = self._numpy
        self.measurements: dict[str, float] = {}

    @property
    def name(self) -> str:
        return self._chosen.name

    def forward(self, net, inputs):
        """Outputs for inputs (numpy)."""
        return self._chosen.forward(net, inputs)

    def gradient(self, net, inputs, targets, slopes, *, outputs_only: bool = False):
        """Slopes and error counts (numpy unless a run chose a device)."""
        return self._chosen.gradient(net, inputs, targets, slopes, outputs_only=outputs_only)

    def activate(self, net, inputs):
        return self._chosen.activate(net, inputs)

    def start_run(self, net, data, config):
        """Measure, then decide; None lets the training loop step on numpy."""
        chosen = self.decide(net, data, config)
        self._chosen = chosen or self._numpy
        return None if chosen is None else chosen.start_run(net, data, config)

    def recover(self, exc: DeviceError, net, data, config):
        """The chosen device failed mid-run: its fallback chain goes on."""
        recover = getattr(self._chosen, "recover", None)
        if recover is None:
            raise exc
        return recover(exc, net, data, config)

    def train_many(self, nets, data, config):
        """N networks of one shape: on the device when it measures faster, else numpy."""
        import dataclasses

        whole = dataclasses.replace(config, max_epochs=config.max_epochs * len(nets))
        chosen = self.decide(nets[0], data, whole)
        self._chosen = chosen or self._numpy
        if chosen is None:
            return numpy_many(nets, data, config)
        return chosen.train_many(nets, data, config) or numpy_many(nets, data, config)

    def decide(self, net, data, config):
        """A FallbackBackend when an OpenCL device trains this workload faster, else None."""
        key = (
            tuple(net.layers),
            net.network_type,
            net.is_sparse,
            net.dtype.name,
            data.num_patterns,
            net.params.training_algorithm,
            config.max_epochs > 0,
        )
        cached = _AUTO_CHOICES.get(key)
        if cached == "numpy" or config.max_epochs <= 0:
            return None
        if cached is None:
            # numpy first: a short run never imports pyopencl or opens a device
            numpy_epoch = self._time_numpy(net, data)
            self.measurements["numpy_epoch_seconds"] = numpy_epoch
            if numpy_epoch * config.max_epochs < AUTO_MIN_SECONDS:
                _AUTO_CHOICES[key] = "numpy"
                return None
        if not registry.usable():
            _AUTO_CHOICES[key] = "numpy"
            return None
        chain = fallback.chain(None)
        if len(chain) < 2:
            return None
        if cached is not None:
            return FallbackBackend(chain)
        device_epoch = self._time_device(chain[0], net, data, config, numpy_epoch)
        self.measurements["device_epoch_seconds"] = device_epoch
        choice = "numpy" if device_epoch >= numpy_epoch else chain[0].name
        _AUTO_CHOICES[key] = choice
        return None if choice == "numpy" else FallbackBackend(chain)

    def _time_numpy(self, net, data) -> float:
        from fannctl.train import train_epoch

        trial = net.copy()
        started = time.perf_counter()
        train_epoch(trial, data, backend=self._numpy)
        first = time.perf_counter() - started
        if first > 0.05:
            return first
        started = time.perf_counter()
        train_epoch(trial, data, backend=self._numpy)
        return time.perf_counter() - started

    def _time_device(self, backend, net, data, config, numpy_epoch: float) -> float:
        from fannctl.backends.opencl.run import DeviceRun

        try:
            trial = net.copy()
            run = DeviceRun(backend, [trial], data.inputs, data.outputs, desired_error=-1.0)
            run.advance(1)  # builds, uploads, warms up
            started = time.perf_counter()
            run.advance(2)
            per_epoch = (time.perf_counter() - started) / 2
            epochs = int(min(0.05 / max(per_epoch, 1e-7), 0.05 / max(numpy_epoch, 1e-7)))
            if epochs < 4:
                return per_epoch
            started = time.perf_counter()
            run.advance(epochs)
            return (time.perf_counter() - started) / epochs
        except DeviceError as exc:
            registry.failed(backend.name, exc, "using numpy")
            return float("inf")


# -- cascade's candidate epochs ---------------------------------------------------

CANDIDATE_MIN_EPOCH_SECONDS = 5e-4  # auto: pools whose numpy epoch is shorter stay on numpy
CANDIDATE_TRIALS = 3  # trial epochs per engine; the fastest counts
_CANDIDATE_FAILED: dict[str, str] = {}  # device name -> why its candidate kernel failed


class CandidateChoice:
    """Where cascade's candidate epochs do their elementwise work.

    ``numpy``: always numpy. ``cl``: the fastest device whose fused kernel
    (``opencl_cascade.CandidateKernel``) agrees with numpy on a trial epoch of
    the first pool (scores and slopes); ``cl:N``: that device, the others
    after it if it fails. ``auto``: as ``cl``, only when a numpy candidate
    epoch takes at least ``CANDIDATE_MIN_EPOCH_SECONDS`` and the kernel's
    trial epochs run faster than numpy's. Below that threshold pyopencl is
    never imported: the kernel still wins a little on such pools (two-spiral:
    0.33 s against 0.45 s), but a first build on a machine costs about a
    second (later processes load it from the disk cache), more than such a
    run gains. Decided once per run, at the first pool; a device whose kernel
    fails later is reported once and the run goes on in numpy. A failed
    candidate kernel says nothing about the device's other kernels.

    The two engines round differently (float32), so a run's numbers depend on
    the engine: ``auto`` decides by timing, ``numpy`` or ``cl:N`` repeat
    exactly.
    """

    def __init__(self, device: str | None = None) -> None:
        self.kind, self.index = names.parse(device or os.environ.get(names.ENV_DEVICE) or "auto")
        self.engine = None
        self.decided = self.kind == "numpy"
        self.measurements: dict[str, float] = {}
        if self.kind == "cl" and self.index is not None and registry.all_devices():
            registry.find(self.index)  # at once, not at the first pool

    @property
    def name(self) -> str:
        return self.engine.name if self.engine is not None else "numpy"

    def choose(self, pool: tuple, trial: Callable):
        """The engine for the run, decided at its first pool: ``pool`` is
        (dtype, candidate functions, outputs); ``trial(engine)`` runs one epoch
        on a copy of the pool (None: numpy) and returns (seconds, results)."""
        if self.decided:
            return self.engine
        self.decided = True
        from fannctl.backends.opencl import cascade as opencl_cascade

        if not opencl_cascade.supports(*pool):
            if self.kind == "cl":
                registry.warn_once(f"{opencl_cascade.LIMITS}; cascade candidates on numpy")
            return None
        numpy_seconds, reference = float("inf"), None
        if self.kind == "auto":
            numpy_seconds, reference = _fastest(trial, None)
            self.measurements["numpy_epoch_seconds"] = numpy_seconds
            if numpy_seconds < CANDIDATE_MIN_EPOCH_SECONDS or not registry.usable():
                return None
        best = None
        for backend in fallback.chain(self.index if self.kind == "cl" else None)[:-1]:
            if backend.name in _CANDIDATE_FAILED:
                continue
            engine = opencl_cascade.CandidateKernel(backend)
            try:
                seconds, results = _fastest(trial, engine)
                if reference is None:  # cl: numpy's epoch for the self-test, once
                    reference = trial(None)[1]
                if not _agree(results, reference):
                    raise DeviceError("self-test: the candidate epoch differs from numpy's")
            except DeviceUnusable as exc:  # the device cannot build: remembered for every use
                registry.failed(
                    backend.name, exc, "cascade candidates go to another device or numpy"
                )
                continue
            except DeviceError as exc:
                _CANDIDATE_FAILED[backend.name] = registry.first_line(exc)
                registry.warn_once(
                    f"device {backend.name} failed: {registry.first_line(exc)}; its cascade "
                    "candidates go to another device or numpy"
                )
                continue
            self.measurements[f"{backend.name}_epoch_seconds"] = seconds
            if best is None or seconds < best[0]:
                best = (seconds, engine)
            if self.index is not None:
                break  # cl:N: the first of its chain that works
        if best is None or (self.kind == "auto" and best[0] >= numpy_seconds):
            return None
        self.engine = best[1]
        return self.engine

    def failed(self, exc: DeviceError) -> None:
        """The chosen engine failed mid-run: report once, numpy from now on."""
        engine, self.engine = self.engine, None
        name = getattr(engine, "name", "device")
        _CANDIDATE_FAILED[name] = registry.first_line(exc)
        registry.warn_once(
            f"device {name} failed: {registry.first_line(exc)}; "
            "cascade candidates continue on numpy"
        )


def _fastest(trial: Callable, engine) -> tuple[float, object]:
    """The fastest of a few trial epochs (the first also builds a device's kernel)."""
    seconds, results = trial(engine)
    for _ in range(CANDIDATE_TRIALS - 1):
        seconds = min(seconds, trial(engine)[0])
    return seconds, results


def _agree(results, reference) -> bool:
    """Each array of one engine's trial agrees with the other's to float32
    rounding of sums (relative to the array's scale; NaN where both are)."""
    import numpy as np

    for got, want in zip(results, reference, strict=True):
        if got is None or want is None or np.shape(got) != np.shape(want):
            return False
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        finite = np.abs(want[np.isfinite(want)])
        scale = float(finite.max()) if finite.size else 0.0
        if not np.allclose(got, want, rtol=1e-3, atol=1e-3 * scale + 1e-9, equal_nan=True):
            return False
    return True
