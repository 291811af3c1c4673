"""The fallback chain: a device that fails hands the work to the next one, down to numpy.

``chain(selector)`` orders the usable devices (the one asked for first, then
GPUs, accelerators, CPU devices, the newest PoCL first) and ends with numpy.
``FallbackBackend`` sends each call to the first; on a ``DeviceError`` it
records the failure (``registry.failed``: one warning, and a remembered
verdict when the device fails the same way every time) and repeats the call
on the next one. A training run goes on from the network's state at the last
chunk end (``recover``), so the result is the one the next device computes
from the same state.
"""

from __future__ import annotations

from fannctl.backends.base import Backend
from fannctl.devices import names, registry
from fannctl.errors import DeviceError


def numpy_backend() -> Backend:
    from fannctl.backends.numpy_backend import NumpyBackend

    return NumpyBackend()


def _pocl_rank(info) -> tuple:
    """Newer PoCL first (Debian's 3.1 compiles for CPUs the wheel's 3.0 does not know)."""
    version = names.pocl_version(info.platform_version)
    if version is None:
        return (0,)
    parts = [int(p) for p in version.replace("-", ".").split(".") if p.isdigit()]
    return (1, *(-p for p in parts))


def preferred_order(infos: list) -> list:
    """GPUs first, then accelerators, then the rest; newer PoCL before older; listed order."""
    rank = {"gpu": 0, "accelerator": 1}
    return sorted(infos, key=lambda i: (rank.get(i.kind, 2), _pocl_rank(i), i.index))


def chain(selector: int | str | None) -> list[Backend]:
    """The fallback chain for ``cl`` (selector None) or one device, numpy last."""
    wanted = registry.find(selector) if selector is not None else None
    usable = registry.usable()
    if wanted is not None and wanted not in usable:
        known = registry.remembered_failure(wanted)
        why = (
            f"is unusable: {known['reason']} ({known['remedy']})"
            if known
            else "is excluded or failed earlier"
        )
        registry.warn_once(f"device {wanted.uid} {why}; using the next device")
        wanted = None
    if not usable:
        # said once when none is listed; unusable devices were reported when found so
        why = registry.why_none()
        if why is not None:
            registry.warn_once(f"OpenCL unavailable ({why}); computing with numpy")
        return [numpy_backend()]
    ordered = preferred_order(usable)
    if wanted is not None:
        ordered = [wanted] + [info for info in ordered if info.uid != wanted.uid]
    return [registry.backend(info) for info in ordered] + [numpy_backend()]


class FallbackBackend:
    """A chain of backends: calls go to the first; a DeviceError moves on to the next."""

    def __init__(self, backends: list[Backend]) -> None:
        self._chain = list(backends)
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
        self._pos += 1
        registry.failed(failed.name, exc, f"continuing on {self.current.name}")

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

    def start_run(self, net, data, config):
        """A device run on the first device that can start one; None once only the
        host is left (the training loop then steps through ``gradient``)."""
        while True:
            start = getattr(self.current, "start_run", None)
            if start is None:
                return None
            try:
                return start(net, data, config)
            except DeviceError as exc:
                self._fail(exc)

    def recover(self, exc: DeviceError, net, data, config):
        """The current device failed mid-run: the next one's run (None: the host's)."""
        self._fail(exc)
        return self.start_run(net, data, config)

    def train_many(self, nets, data, config):
        """N networks of one shape together, on the first device that works (a
        ``Chunk`` each); None once only a backend without ``train_many`` is left."""
        while True:
            many = getattr(self.current, "train_many", None)
            if many is None:
                return None
            snapshot = [net.copy() for net in nets]
            try:
                return many(nets, data, config)
            except DeviceError as exc:
                for net, saved in zip(nets, snapshot, strict=True):
                    net.weights, net.state = saved.weights, saved.state
                self._fail(exc)
