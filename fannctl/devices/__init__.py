"""Resolve ``--device`` / ``FANNCTL_DEVICE`` to a backend, in one place.

Names: ``numpy``; ``cl`` (OpenCL: the first GPU, else the first device);
``cl:N`` (the N-th OpenCL device, numbered as ``fannctl health`` lists them);
``auto`` (the default: numpy, unless a measurement shows an OpenCL device runs
the training faster). The registry below is the only list of them.

Fallback: an OpenCL backend comes wrapped in ``FallbackBackend``, which holds
the chain requested device -> the other OpenCL devices -> numpy. When a device
fails (no platform, a build failure, out of resources, a lost device, a wrong
self-test result) the same call is repeated on the next one, and a whole
training run continues from its last chunk end, so the result is the one the
next device computes from the same state. Each failure is reported once per
process through ``warnings`` (category ``DeviceFallbackWarning``) or, when the
CLI installs one, through ``fallback_handler``; the library never prints.
Devices open once per process; a device that failed is not tried again.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable

from fannctl.backends.base import Backend
from fannctl.errors import DeviceError, ParameterError

CHOICES = ("auto", "numpy", "cl", "cl:N")
ENV = "FANNCTL_DEVICE"
AUTO_MIN_SECONDS = 0.5  # numpy runs predicted shorter than this never try a device


class DeviceFallbackWarning(UserWarning):
    """A device failed and the computation continued on the next one."""


fallback_handler: Callable[[str], None] | None = None
"""Where fallback messages go instead of ``warnings`` (the CLI may set it)."""

_WARNED: set[str] = set()
_FAILED: dict[str, str] = {}  # device name -> why it failed
_OPENED: dict[int, object] = {}  # cl index -> OpenCLBackend (opened once per process)
_DEVICES: list | None = None
_DEVICES_ERROR: str | None = None
_AUTO_CHOICES: dict[tuple, str] = {}


def warn_once(message: str) -> None:
    """Report a fallback once per process (handler, else ``warnings``)."""
    if message in _WARNED:
        return
    _WARNED.add(message)
    if fallback_handler is not None:
        fallback_handler(message)
    else:
        warnings.warn(message, DeviceFallbackWarning, stacklevel=3)


def reset() -> None:
    """Forget opened devices, failures and warnings (tests; after a driver change)."""
    global _DEVICES, _DEVICES_ERROR
    _WARNED.clear()
    _FAILED.clear()
    _CANDIDATE_FAILED.clear()
    _OPENED.clear()
    _AUTO_CHOICES.clear()
    _DEVICES = None
    _DEVICES_ERROR = None
    from fannctl.backends.opencl import kernels

    kernels.forget()


def parse(name: str) -> tuple[str, int | None]:
    """Split a device name into (kind, index); ParameterError if it is not one."""
    key = name.strip().lower()
    if key in ("auto", "numpy", "cl"):
        return key, None
    if key.startswith("cl:"):
        try:
            index = int(key[3:])
        except ValueError:
            index = -1
        if index >= 0:
            return "cl", index
    raise ParameterError(f"unknown device {name!r}; valid: auto, numpy, cl, cl:N (N from health)")


def opencl_devices() -> list:
    """The OpenCL devices (``DeviceInfo``), listed once per process; [] when none."""
    global _DEVICES, _DEVICES_ERROR
    if _DEVICES is None:
        from fannctl.backends.opencl.backend import list_devices

        try:
            _DEVICES = list_devices()
        except DeviceError as exc:
            _DEVICES, _DEVICES_ERROR = [], str(exc)
        if not _DEVICES and _DEVICES_ERROR is None:
            _DEVICES_ERROR = "no OpenCL platform or device found"
    return _DEVICES


def why_no_opencl() -> str | None:
    """Why no OpenCL device is available (None when there is one)."""
    opencl_devices()
    return _DEVICES_ERROR if not _DEVICES else None


def opencl_backend(index: int):
    """The backend of OpenCL device ``index`` (opened once per process)."""
    found = _OPENED.get(index)
    if found is None:
        from fannctl.backends.opencl.backend import OpenCLBackend

        found = _OPENED[index] = OpenCLBackend(opencl_devices()[index])
    return found


def _numpy() -> Backend:
    from fannctl.backends.numpy_backend import NumpyBackend

    return NumpyBackend()


def _preferred_order(infos: list) -> list:
    """GPUs first, then accelerators, then the rest (CPU devices), each in listed order."""
    rank = {"gpu": 0, "accelerator": 1}
    return sorted(infos, key=lambda info: (rank.get(info.kind, 2), info.index))


def _require_device(infos: list, index: int | None) -> None:
    """ParameterError when ``cl:index`` names no device of ``infos``."""
    if index is not None and index >= len(infos):
        listed = ", ".join(f"cl:{info.index} ({info.name})" for info in infos)
        raise ParameterError(f"no OpenCL device cl:{index}; this machine has {listed}")


def opencl_chain(index: int | None) -> list[Backend]:
    """The fallback chain for ``cl`` (index None) or ``cl:index``, numpy last."""
    infos = opencl_devices()
    if not infos:
        warn_once(f"OpenCL unavailable ({_DEVICES_ERROR}); computing with numpy")
        return [_numpy()]
    _require_device(infos, index)
    ordered = _preferred_order(infos)
    if index is not None:
        ordered = [infos[index]] + [info for info in ordered if info.index != index]
    chain: list[Backend] = []
    for info in ordered:
        name = f"cl:{info.index}"
        if name in _FAILED:
            continue  # it failed earlier in this process (and said so then)
        chain.append(opencl_backend(info.index))
    chain.append(_numpy())
    return chain


def resolve(device: str | None = None) -> Backend:
    """The backend for a device name; None reads ``FANNCTL_DEVICE``, then ``auto``."""
    kind, index = parse(device or os.environ.get(ENV) or "auto")
    if kind == "numpy":
        return _numpy()
    if kind == "auto":
        return AutoBackend()
    return FallbackBackend(opencl_chain(index))


# -- fallback ------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class FallbackBackend:
    """A chain of backends: calls go to the first; a DeviceError moves on to the next."""

    def __init__(self, chain: list[Backend]) -> None:
        self._chain = list(chain)
        self._pos = 0

    @property
    def current(self) -> Backend:
        return self._chain[self._pos]

    @property
    def name(self) -> str:
        return self.current.name

    def _fail(self, exc: DeviceError) -> None:
        """Record the failure of the current backend and move to the next (or re-raise)."""
        failed = self.current
        if self._pos + 1 >= len(self._chain):
            raise exc
        reason = _first_line(exc)
        _FAILED[failed.name] = reason
        self._pos += 1
        description = getattr(failed, "description", failed.name)
        warn_once(
            f"device {failed.name} ({description}) failed: {reason}; "
            f"continuing on {self.current.name}"
        )

    def _call(self, method: str, *args, **kwargs):
        while True:
            try:
                return getattr(self.current, method)(*args, **kwargs)
            except DeviceError as exc:
                self._fail(exc)

    def forward(self, net, inputs):
        """Outputs for inputs, on the first device that works."""
        return self._call("forward", net, inputs)

    def gradient(self, net, inputs, targets, slopes, *, outputs_only: bool = False):
        """Slopes and error counts, on the first device that works."""
        return self._call("gradient", net, inputs, targets, slopes, outputs_only=outputs_only)

    def activate(self, net, inputs):
        """Activations and sums, on the first device that works."""
        return self._call("activate", net, inputs)

    def _advance(self, net, data, config):
        """A chunked ``advance`` on the current backend (device run, else per epoch)."""
        from fannctl.backends.opencl import train as opencl_train

        while True:
            backend = self.current
            if not hasattr(backend, "train_run"):
                return opencl_train.HostAdvance(net, data, config, backend)
            try:
                return opencl_train.DeviceAdvance(backend, net, data, config)
            except DeviceError as exc:
                self._fail(exc)

    def train_run(self, net, data, config, *, on_report=None, test_data=None):
        """A whole training run on the device; None when only numpy is left."""
        from fannctl.backends.opencl import train as opencl_train

        if not hasattr(self.current, "train_run"):
            return None
        advance = self._advance(net, data, config)
        if isinstance(advance, opencl_train.HostAdvance):
            return None

        def on_fault(exc: DeviceError):
            self._fail(exc)
            return self._advance(net, data, config)

        return opencl_train.run_chunks(
            net,
            data,
            config,
            advance,
            on_report=on_report,
            test_data=test_data,
            test_backend=self,
            on_fault=on_fault,
        )

    def train_many(self, nets, data, config):
        """N networks of one shape together (swarm); numpy trains them one by one."""
        while True:
            backend = self.current
            if not hasattr(backend, "train_many"):
                return train_each(nets, data, config, backend)
            snapshot = [net.copy() for net in nets]
            try:
                return backend.train_many(nets, data, config)
            except DeviceError as exc:
                for net, saved in zip(nets, snapshot, strict=True):
                    net.weights, net.state = saved.weights, saved.state
                self._fail(exc)


def train_each(nets, data, config, backend) -> list:
    """Train networks one after the other on a host backend (``train_many``'s fallback)."""
    from fannctl.train import train

    return [train(net, data, config, backend=backend) for net in nets]


# -- auto ---------------------------------------------------------------------------


class AutoBackend:
    """numpy for single calls; for a training run, whichever measures faster.

    A run numpy would finish within ``AUTO_MIN_SECONDS`` stays on numpy (opening
    a device costs more); otherwise a few epochs are timed on copies of the
    network on numpy and on the preferred OpenCL device, and the faster one
    runs the real thing. The choice is kept per workload for the process.
    """

    def __init__(self) -> None:
        self._numpy = _numpy()
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

    def train_run(self, net, data, config, *, on_report=None, test_data=None):
        """Measure, then decide; None lets ``train`` run its own numpy loop."""
        chosen = self.decide(net, data, config)
        if chosen is None:
            self._chosen = self._numpy
            return None
        self._chosen = chosen
        return chosen.train_run(net, data, config, on_report=on_report, test_data=test_data)

    def train_many(self, nets, data, config):
        """N networks of one shape: on the device when it measures faster, else numpy."""
        import dataclasses

        whole = dataclasses.replace(config, max_epochs=config.max_epochs * len(nets))
        chosen = self.decide(nets[0], data, whole)
        self._chosen = chosen or self._numpy
        if chosen is None:
            return train_each(nets, data, config, self._numpy)
        return chosen.train_many(nets, data, config)

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
        if not opencl_devices():
            _AUTO_CHOICES[key] = "numpy"
            return None
        chain = opencl_chain(None)
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
            _FAILED[backend.name] = _first_line(exc)
            warn_once(f"device {backend.name} failed: {_first_line(exc)}; using numpy")
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
        self.kind, self.index = parse(device or os.environ.get(ENV) or "auto")
        self.engine = None
        self.decided = self.kind == "numpy"
        self.measurements: dict[str, float] = {}
        if self.kind == "cl" and self.index is not None and opencl_devices():
            _require_device(opencl_devices(), self.index)  # at once, not at the first pool

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
                warn_once(f"{opencl_cascade.LIMITS}; cascade candidates on numpy")
            return None
        numpy_seconds, reference = float("inf"), None
        if self.kind == "auto":
            numpy_seconds, reference = _fastest(trial, None)
            self.measurements["numpy_epoch_seconds"] = numpy_seconds
            if numpy_seconds < CANDIDATE_MIN_EPOCH_SECONDS or not opencl_devices():
                return None
        best = None
        for backend in opencl_chain(self.index if self.kind == "cl" else None)[:-1]:
            if backend.name in _CANDIDATE_FAILED:
                continue
            engine = opencl_cascade.CandidateKernel(backend)
            try:
                seconds, results = _fastest(trial, engine)
                if reference is None:  # cl: numpy's epoch for the self-test, once
                    reference = trial(None)[1]
                if not _agree(results, reference):
                    raise DeviceError("self-test: the candidate epoch differs from numpy's")
            except DeviceError as exc:
                _CANDIDATE_FAILED[backend.name] = _first_line(exc)
                warn_once(
                    f"device {backend.name} failed: {_first_line(exc)}; its cascade "
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
        _CANDIDATE_FAILED[name] = _first_line(exc)
        warn_once(f"device {name} failed: {_first_line(exc)}; cascade candidates continue on numpy")


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
