"""The device self-test: a small known training run, on the device and in numpy.

``check`` is what ``registry.backend`` hands an ``OpenCLBackend`` as its
``verify``: after a program is built, a forward pass, a gradient and three
epochs of RPROP (fused path) and QuickProp (layered path) must agree with
the numpy backend's. It lives beside device choice, not in the backend,
because its reference is the training loop (backends never import it).
"""

from __future__ import annotations

import numpy as np

from fannctl.backends.opencl.run import QUICKPROP, RPROP, DeviceRun
from fannctl.errors import DeviceUnusable


def check(backend, dtype: np.dtype) -> None:
    """A small known computation on the device, compared with numpy; DeviceUnusable
    if the results are off (a launch that fails raises its own DeviceError)."""
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
        raise DeviceUnusable(
            f"{backend.name} ({backend.info.name}) failed its self-test in {np.dtype(dtype).name}: "
            + "; ".join(problems)
        )
