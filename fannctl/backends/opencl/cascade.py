"""Cascade's fused candidate kernel (``kernels/candidates.cl``) on an OpenCL device.

``cascade.Candidates`` computes every candidate's scaled sums with one matrix
product on the host; ``CandidateKernel`` then does the elementwise rest of the
epoch in one launch: the clamp, each candidate's activation value and FANN's
derivative, the per-pattern error terms and their sums (scores, output-weight
slopes), leaving err x d in the sums array for the input-slope product.

On a CPU device whose memory is the host's (PoCL) the kernel works on the
numpy arrays themselves, through buffers made over them once per array; on
other devices the sums go over and come back each epoch. Float networks only.
Every OpenCL failure is a ``DeviceError``; cascade then continues on numpy.
"""

from __future__ import annotations

import numpy as np

from fannctl import activations
from fannctl.backends.opencl import kernels
from fannctl.backends.opencl.backend import OpenCLBackend, device_errors
from fannctl.errors import DeviceError, DeviceUnusable

MAX_OUTPUTS = 16
# every activation but the stepwise sigmoids, which candidate pools rarely hold
SUPPORTED = frozenset(range(20)) - {
    activations.SIGMOID_STEPWISE,
    activations.SIGMOID_SYMMETRIC_STEPWISE,
}


LIMITS = (
    "cascade's candidate kernel takes float32 networks with at most "
    f"{MAX_OUTPUTS} outputs and no stepwise candidate functions"
)


def supports(dtype: np.dtype, functions: np.ndarray, outputs: int) -> bool:
    """Whether the kernel computes such a pool (see ``LIMITS``)."""
    return (
        np.dtype(dtype) == np.float32
        and 1 <= outputs <= MAX_OUTPUTS
        and all(int(f) in SUPPORTED for f in np.unique(functions))
    )


class CandidateKernel:
    """``candidate_errors`` on one OpenCL device, with its buffers kept between epochs."""

    def __init__(self, backend: OpenCLBackend) -> None:
        self.backend = backend
        self.name = backend.name
        self.description = backend.description
        device = backend.info.device
        # Zero copy (the host touching USE_HOST_PTR memory between launches,
        # with no map/unmap) only where it is known to hold: PoCL's CPU
        # devices run kernels on the host pointer itself. Elsewhere, copies.
        self.zero_copy = (
            backend.info.kind == "cpu"
            and "Portable Computing Language" in backend.info.platform
            and bool(getattr(device, "host_unified_memory", False))
        )
        self._kernels: dict[int, object] = {}  # per output count; this instance's own
        self._held: dict[str, tuple[np.ndarray, object]] = {}  # slot -> (array, buffer)
        self._result = np.empty(0, dtype=np.float32)
        self._weights = np.empty(0, dtype=np.float32)

    def _kernel(self, outputs: int):
        """This instance's kernel object (arguments are per instance: no two
        pools share one) for ``outputs`` outputs, building the program once."""
        kernel = self._kernels.get(outputs)
        if kernel is None:
            import pyopencl as cl

            source = kernels.load(*kernels.CANDIDATE_FILES)
            try:
                program = kernels.build(
                    self.backend.context,
                    self.backend.info.device,
                    source,
                    f"-DREAL=float -DOUTPUTS={outputs}",  # no doubles in it
                    kernels.CANDIDATE_KERNELS,
                )
            except DeviceError as exc:
                raise DeviceUnusable(f"{self.backend.name}: {exc}") from None
            kernel = self._kernels[outputs] = cl.Kernel(program.program, "candidate_errors")
        return kernel

    def _over(self, slot: str, array: np.ndarray, writable: bool):
        """A buffer over ``array`` itself (zero copy), made once per array."""
        import pyopencl as cl

        held = self._held.get(slot)
        if held is not None and held[0] is array:
            return held[1]
        flags = cl.mem_flags.USE_HOST_PTR | (
            cl.mem_flags.READ_WRITE if writable else cl.mem_flags.READ_ONLY
        )
        buf = cl.Buffer(self.backend.context, flags, hostbuf=array)
        self._held[slot] = (array, buf)
        return buf

    def _buffer(self, slot: str, array: np.ndarray, writable: bool = False, send: bool = True):
        if self.zero_copy:
            return self._over(slot, array, writable)
        slot = f"candidates_{slot}"  # apart from the backend's own slots
        return self.backend.upload(slot, array) if send else self.backend.buffer(slot, array.nbytes)

    def __call__(
        self,
        t: np.ndarray,
        functions: np.ndarray,
        steepness: np.ndarray,
        errors_t: np.ndarray,
        out_weights: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Overwrite ``t`` (C, P) with err x d; return each candidate's sum of
        squared differences (C,) and its output-weight slope terms (C, O),
        2 sum_p (a v_o - e_o) a."""
        count, patterns = t.shape
        outputs = errors_t.shape[0]
        if not (t.flags.c_contiguous and errors_t.flags.c_contiguous):
            raise DeviceError("candidate kernel needs contiguous arrays")
        if self._weights.shape != out_weights.shape:
            self._weights = np.empty(out_weights.shape, dtype=np.float32)
            self._result = np.empty((count, 1 + outputs), dtype=np.float32)
        self._weights[...] = out_weights
        queue = self.backend.queue
        with device_errors(f"{self.name}: candidate kernel failed"):
            import pyopencl as cl

            kernel = self._kernel(outputs)
            bt = self._buffer("t", t, writable=True)
            args = (
                np.int32(count),
                np.int32(patterns),
                bt,
                self._buffer("ids", functions),
                self._buffer("steepness", steepness),
                self._buffer("errors", errors_t),
                self._buffer("weights", self._weights),
                self._buffer("result", self._result, writable=True, send=False),
            )
            kernel.set_args(*args)
            # one candidate per work-group: a CPU device spreads them over its cores
            local = (1, 1) if self.backend.info.kind == "cpu" else None
            cl.enqueue_nd_range_kernel(queue, kernel, (count, 1), local)  # one network
            if self.zero_copy:
                queue.finish()
            else:
                cl.enqueue_copy(queue, t, bt, is_blocking=False)
                cl.enqueue_copy(queue, self._result, args[-1], is_blocking=True)
        return self._result[:, 0], self._result[:, 1:]
