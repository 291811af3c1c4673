"""Training runs over device chunks: FANN's train loop, the fallback hand-over, the self-test.

``run_chunks`` is ``fannctl.train.train``'s loop (the same report points)
over ``advance`` objects: ``DeviceAdvance`` runs chunks of epochs on an
OpenCL device (``opencl_run.DeviceRun``), ``HostAdvance`` one epoch at a
time through ``train_epoch`` on a host backend. When the device fails
mid-run, ``on_fault`` (``backends.select``) supplies the next advance, which
goes on from the last chunk end, so the run finishes with the next device's
numbers for the same state.
"""

from __future__ import annotations

import time

import numpy as np

from fannctl.backends.opencl.backend import OpenCLBackend
from fannctl.backends.opencl.layout import IS_EPOCHS, IS_STATUS, ST_REACHED
from fannctl.backends.opencl.run import (
    LAUNCH_SECONDS,
    LAYERED_CHUNK,
    QUICKPROP,
    RPROP,
    DeviceRun,
)
from fannctl.errors import DeviceError
from fannctl.network import Network


def run_chunks(
    net: Network,
    data,
    config,
    advance,
    *,
    on_report=None,
    test_data=None,
    test_backend=None,
    on_fault=None,
):
    """``fannctl.train.train``'s loop, a chunk of epochs per ``advance`` call.

    ``advance(n)`` runs up to n epochs and returns (epochs run, last
    EpochResult, reached); ``advance.cap()`` bounds a chunk. When it raises
    DeviceError, ``on_fault(error)`` gives the advance to go on with (the
    network holds the state of the last chunk end).
    """
    from fannctl.runner import test
    from fannctl.train import EpochResult, Report, TrainResult, is_report_point

    start = time.perf_counter()
    history: list[Report] = []
    result = EpochResult(0.0, 0)
    epoch = 0
    done = False
    every = config.report_every
    while epoch < config.max_epochs and not done:
        if every and epoch == 0:
            target = 1
        elif every:
            target = min(config.max_epochs, (epoch // every + 1) * every)
        else:
            target = config.max_epochs
        want = max(1, min(target - epoch, advance.cap()))
        try:
            ran, result, done = advance(want)
        except DeviceError as exc:
            if on_fault is None:
                raise
            advance = on_fault(exc)
            continue
        epoch += ran
        if is_report_point(epoch, every, config.max_epochs, done):
            report = Report(epoch, result.mse, result.bit_fail, time.perf_counter() - start)
            if test_data is not None:
                report.test_mse, report.test_bit_fail = test(net, test_data, backend=test_backend)
            history.append(report)
            if on_report is not None:
                on_report(report)
    seconds = time.perf_counter() - start
    return TrainResult(epoch, result.mse, result.bit_fail, done, seconds, history)


class DeviceAdvance:
    """Chunks of epochs of one network on a device; the host copy synced after each."""

    def __init__(self, backend: OpenCLBackend, net: Network, data, config) -> None:
        self.run = DeviceRun(
            backend, [net], data.inputs, data.outputs, desired_error=config.desired_error
        )
        self.per_epoch = 0.0

    def __call__(self, epochs: int):
        from fannctl.train import EpochResult

        run = self.run
        before = run.status(0)[0]
        started = time.perf_counter()
        run.advance(epochs)
        run.sync()
        done, mse, bits, reached = run.status(0)
        ran = done - before
        if ran:
            self.per_epoch = (time.perf_counter() - started) / ran
        return ran, EpochResult(mse, bits), reached

    def cap(self) -> int:
        """Epochs per launch: about LAUNCH_SECONDS of work (fused), LAYERED_CHUNK otherwise."""
        if not self.run.fused:
            return LAYERED_CHUNK
        if self.per_epoch <= 0:
            return 64
        return max(1, int(LAUNCH_SECONDS / self.per_epoch))


class HostAdvance:
    """Chunks of epochs through ``train_epoch`` on a host backend (the fallback)."""

    def __init__(self, net: Network, data, config, backend) -> None:
        self.net, self.data, self.config, self.backend = net, data, config, backend

    def __call__(self, epochs: int):
        from fannctl.train import reached, train_epoch

        result = None
        for index in range(epochs):
            result = train_epoch(self.net, self.data, backend=self.backend)
            if reached(self.net, result, self.config.desired_error):
                return index + 1, result, True
        return epochs, result, False

    def cap(self) -> int:
        return 1 << 30


def train_run(backend: OpenCLBackend, net, data, config, *, on_report=None, test_data=None):
    """A whole training run with its state on the device (see ``run_chunks``)."""
    advance = DeviceAdvance(backend, net, data, config)
    return run_chunks(
        net,
        data,
        config,
        advance,
        on_report=on_report,
        test_data=test_data,
        test_backend=backend,
    )


def train_many(backend: OpenCLBackend, nets: list[Network], data, config) -> list:
    """Train N networks of one shape together until each stops; one result per network.

    ``data`` is used as given (already in the networks' scaled space).
    """
    from fannctl.train import TrainResult, check_trainable

    for net in nets:
        check_trainable(net)
    start = time.perf_counter()
    run = DeviceRun(backend, nets, data.inputs, data.outputs, desired_error=config.desired_error)
    limit = np.full(len(nets), config.max_epochs)
    while True:
        epochs = run.istate_host[:, IS_EPOCHS]
        active = (run.istate_host[:, IS_STATUS] != ST_REACHED) & (epochs < limit)
        if not active.any():
            break
        step = LAYERED_CHUNK if not run.fused else int(config.max_epochs)
        run.advance(min(step, int((limit - epochs)[active].max())), limit=limit)
    run.sync()
    seconds = time.perf_counter() - start
    results = []
    for n in range(len(nets)):
        epochs, mse, bits, reached = run.status(n)
        results.append(TrainResult(epochs, mse, bits, reached, seconds, []))
    return results


# -- the self-test ------------------------------------------------------------------


def self_test(backend: OpenCLBackend, dtype: np.dtype) -> None:
    """A small known computation on the device, compared with numpy; DeviceError if off."""
    from fannctl import network
    from fannctl.backends.numpy_backend import NumpyBackend
    from fannctl.data import TrainingData
    from fannctl.train import train_epoch

    rng = np.random.default_rng(7)
    net = network.create([3, 4, 2], rng=rng, dtype=np.dtype(dtype).name)
    network.set_activation(net, 1, "sigmoid_symmetric", 0.7)
    network.set_activation(net, 2, "sigmoid", 0.9)
    data = TrainingData(rng.uniform(-1, 1, (5, 3)), rng.uniform(0, 1, (5, 2))).astype(dtype)
    reference = NumpyBackend()
    problems = []

    def close(name: str, got, want, rtol=1e-4, atol=1e-6) -> None:
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
            problems.append(
                f"{name}: device {np.round(got.ravel()[:4], 6).tolist()} "
                f"vs numpy {np.round(want.ravel()[:4], 6).tolist()}"
            )

    close("forward", backend.forward(net, data.inputs), reference.forward(net, data.inputs))
    got = backend.gradient(net, data.inputs, data.outputs, np.zeros_like(net.weights))
    want = reference.gradient(net, data.inputs, data.outputs, np.zeros_like(net.weights))
    close("slopes", got.slopes, want.slopes)
    close("sse", got.sse, want.sse)
    for fused, algorithm in ((True, RPROP), (False, QUICKPROP)):
        on_device, on_host = net.copy(), net.copy()
        for copy in (on_device, on_host):
            copy.params.training_algorithm = algorithm
        run = DeviceRun(
            backend, [on_device], data.inputs, data.outputs, desired_error=0.0, fused=fused
        )
        run.advance(3)
        run.sync()
        for _ in range(3):
            mse = train_epoch(on_host, data, backend=reference).mse
        kind = "fused" if fused else "layered"
        close(f"{kind} training weights", on_device.weights, on_host.weights)
        close(f"{kind} training mse", run.status(0)[1], mse)
    if problems:
        raise DeviceError(
            f"{backend.name} ({backend.info.name}) failed its self-test in {np.dtype(dtype).name}: "
            + "; ".join(problems)
        )
