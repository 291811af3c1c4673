"""The OpenCL backend: the numpy backend's numbers, computed on an OpenCL device.

It implements the ``Backend`` protocol (``forward``, ``gradient``,
``activate``); ``train.OpenCLDevice`` adds whole training runs on the device
(``start_run``, ``train_many``) on top of it, so this module imports nothing
of the run machinery. Kernels come
from ``kernels/*.cl`` through ``kernels``, built once per device and dtype
with ``-DREAL=float|double``; every kernel takes N networks of one shape at
once. A program is checked by the ``verify`` function the caller hands in
(``fannctl.devices`` passes its self-test) before it is used.

pyopencl is imported lazily, and the device is always picked explicitly
(never pyopencl's interactive chooser). Every OpenCL failure surfaces as a
``DeviceError`` (``DeviceUnusable`` when it fails the same way every time:
a build failure, a wrong self-test), which ``fannctl.devices`` turns into a
fallback to the next device.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from fannctl import activations
from fannctl.backends.base import Gradient
from fannctl.backends.opencl import kernels
from fannctl.backends.opencl.layout import (
    MODE_FORWARD,
    MODE_GRADIENT,
    MODE_OUTPUTS_ONLY,
    Layout,
    hyper_params,
    int_params,
    pack_layout,
    round_up,
)
from fannctl.errors import DeviceError, DeviceUnusable
from fannctl.fann_error import accumulate
from fannctl.network import LAYER, Network, layer_views

LOCAL = 64  # work-group width over patterns / connections
PATTERN_BLOCK = 1 << 16  # forward passes are split into blocks of this many patterns

# kernels/infer.cl (a test holds these to its #defines)
INFER_ROWS = 3  # patterns a work-item computes together
IL_SIZE, IL_SOURCES, IL_WIDTH, IL_WEIGHTS, IL_NEURONS, IL_VECTORS = range(6)
IL_COUNT = 8
INFER_ITEM_ROWS = 16 * INFER_ROWS  # patterns per work-item on CPU devices (one item a group)
INFER_BYTES = 4 << 20  # inputs per launch: copied in, then read from cache (about 8k mushroom rows)
VECTOR_WIDTH = {4: 8, 8: 4}  # neurons per vector in infer.cl (dense.cl's VW) by itemsize
# functions infer.cl evaluates on whole vectors of neurons, per dtype (dense.cl's forms)
VECTOR_FORMS = {
    4: frozenset(range(20))
    - {activations.SIGMOID_STEPWISE, activations.SIGMOID_SYMMETRIC_STEPWISE},
    8: frozenset({activations.LINEAR, activations.SIGMOID, activations.SIGMOID_SYMMETRIC}),
}

DEVICE_TYPES = {1: "default", 2: "cpu", 4: "gpu", 8: "accelerator", 16: "custom"}


@dataclass(frozen=True)
class DeviceInfo:
    """One OpenCL device as ``health`` lists it: ``cl:index`` in this listing,
    ``uid`` its stable name (given by ``fannctl.devices``)."""

    index: int
    name: str
    kind: str
    platform: str
    memory: int
    double: bool
    driver: str
    device: object  # the pyopencl.Device
    platform_version: str = ""
    uid: str = ""

    def describe(self) -> dict:
        return {
            "device": self.uid or f"cl:{self.index}",
            "index": f"cl:{self.index}",
            "name": self.name,
            "type": self.kind,
            "platform": self.platform,
            "memory_bytes": self.memory,
            "double": self.double,
            "driver": self.driver,
            "platform_version": self.platform_version,
        }


def list_devices() -> list[DeviceInfo]:
    """Every OpenCL device of every platform, numbered in platform order (empty if none).

    Raises DeviceError when pyopencl is missing or the platforms cannot be
    listed (a broken ICD), so a caller can tell "none" from "cannot look".
    """
    try:
        import pyopencl as cl
    except ImportError as exc:
        raise DeviceError(f"pyopencl is not installed ({exc})") from None
    try:
        platforms = cl.get_platforms()
    except cl.Error as exc:
        if "PLATFORM_NOT_FOUND" in str(exc) or getattr(exc, "code", None) == -1001:
            return []
        raise DeviceError(f"cannot list OpenCL platforms: {exc}") from None
    found = []
    for platform in platforms:
        try:
            devices = platform.get_devices()
        except cl.Error:
            continue
        for device in devices:
            found.append(
                DeviceInfo(
                    index=len(found),
                    name=device.name.strip(),
                    kind=DEVICE_TYPES.get(int(device.type) & 0x1F, str(device.type)),
                    platform=platform.name.strip(),
                    memory=int(device.global_mem_size),
                    double="cl_khr_fp64" in device.extensions
                    or int(getattr(device, "double_fp_config", 0) or 0) != 0,
                    driver=str(device.driver_version),
                    device=device,
                    platform_version=str(platform.version).strip(),
                )
            )
    return found


@contextmanager
def device_errors(where: str):
    """Turn pyopencl's exceptions (and its out-of-memory) into DeviceError."""
    import pyopencl as cl

    try:
        yield
    except DeviceError:
        raise
    except (cl.Error, MemoryError) as exc:
        raise DeviceError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class InferencePlan:
    """A fully connected LAYER network as ``kernels/infer.cl`` reads it."""

    table: np.ndarray  # (layers, IL_COUNT) int32
    weights: np.ndarray  # each layer's (sources + 1, width) transposed weights, flat
    steepness: np.ndarray  # per neuron, each layer padded to its width
    limits: np.ndarray  # 150 / steepness per neuron (FANN's clamp), padded likewise
    ids: np.ndarray  # activation id per neuron, padded likewise (int32)
    vids: np.ndarray  # per vector of neurons: its one vector-form function, or -1
    layers: int
    n_in: int
    n_out: int
    stride: int  # scratch row length: the widest layer


def inference_plan(net: Network, width: int) -> InferencePlan:
    """Transpose and pad ``net``'s layers for ``dense_infer`` (vectors of ``width``)."""
    dtype = net.dtype
    forms = VECTOR_FORMS[dtype.itemsize]
    table, weights, steeps, limits, ids, vids = [], [], [], [], [], []
    at_weight = at_neuron = at_vector = 0
    for view in layer_views(net):
        size, sources = view.size, view.src_count  # sources include the bias, last
        padded = -(-size // width) * width
        block = np.zeros((sources, padded), dtype=dtype)
        block[:, :size] = net.weights[view.con_start : view.con_end].reshape(size, sources).T
        layer = slice(view.first, view.first + size)
        steep = np.empty(padded, dtype=dtype)
        steep[:size], steep[size:] = net.steepness[layer], net.steepness[view.first + size - 1]
        ident = np.empty(padded, dtype=np.int32)
        ident[:size], ident[size:] = net.activation[layer], net.activation[view.first + size - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            limit = dtype.type(150) / steep
        idv = ident.reshape(-1, width)
        uniform = (idv == idv[:, :1]).all(axis=1) & (limit.reshape(-1, width) >= 0).all(axis=1)
        vector = uniform & np.isin(idv[:, 0], list(forms))
        vids.append(np.where(vector, idv[:, 0], -1).astype(np.int32))
        row = np.zeros(IL_COUNT, dtype=np.int32)
        row[IL_SIZE], row[IL_SOURCES], row[IL_WIDTH] = size, sources - 1, padded
        row[IL_WEIGHTS], row[IL_NEURONS], row[IL_VECTORS] = at_weight, at_neuron, at_vector
        table.append(row)
        weights.append(block.ravel())
        steeps.append(steep)
        limits.append(limit)
        ids.append(ident)
        at_weight += block.size
        at_neuron += padded
        at_vector += padded // width
    return InferencePlan(
        np.stack(table),
        np.concatenate(weights),
        np.concatenate(steeps),
        np.concatenate(limits),
        np.concatenate(ids),
        np.concatenate(vids),
        len(table),
        net.num_input,
        net.num_output,
        max(int(r[IL_WIDTH]) for r in table),
    )


# -- the backend -----------------------------------------------------------------


class OpenCLBackend:
    """Forward, gradient and whole training runs on one OpenCL device."""

    def __init__(self, info: DeviceInfo, verify=None) -> None:
        self.info = info
        self.name = info.uid or f"cl:{info.index}"
        self.description = f"cl:{info.index}, {info.name} ({info.platform})"
        self.verify = verify  # verify(backend, dtype): DeviceError when it computes wrong
        self._context = None
        self._queue = None
        self._programs: dict[str, kernels.Program] = {}
        self._buffers: dict[str, tuple[int, object]] = {}
        self._layouts: dict[str, object] = {}
        self._inference: dict[str, tuple[InferencePlan, list]] = {}

    # -- device -------------------------------------------------------------
    def open(self) -> None:
        """Create the context and queue on this device (once)."""
        if self._context is not None:
            return
        import pyopencl as cl

        with device_errors(f"{self.name}: cannot open {self.info.name}"):
            self._context = cl.Context([self.info.device])
            self._queue = cl.CommandQueue(self._context, self.info.device)

    @property
    def context(self):
        self.open()
        return self._context

    @property
    def queue(self):
        self.open()
        return self._queue

    def supports(self, dtype: np.dtype) -> bool:
        """Whether this device can compute in ``dtype`` (float64 needs cl_khr_fp64)."""
        return np.dtype(dtype) == np.float32 or (np.dtype(dtype) == np.float64 and self.info.double)

    def program(self, dtype: np.dtype) -> kernels.Program:
        """The kernels built for ``dtype``, self-tested on first build."""
        dtype = np.dtype(dtype)
        found = self._programs.get(dtype.name)
        if found is not None:
            return found
        if not self.supports(dtype):
            raise DeviceError(f"{self.name} ({self.info.name}) has no double precision support")
        real = "float" if dtype == np.float32 else "double"
        options = f"-DREAL={real}" + (" -DHAVE_DOUBLE" if self.info.double else "")
        if real == "double":
            options += " -DREAL_IS_DOUBLE"
        source = kernels.load(*kernels.PROGRAM_FILES)
        try:
            program = kernels.build(self.context, self.info.device, source, options)
        except DeviceError as exc:
            raise DeviceUnusable(f"{self.name}: {exc}") from None
        self._programs[dtype.name] = program
        if self.verify is not None:
            try:
                self.verify(self, dtype)  # DeviceUnusable for wrong results
            except DeviceError:
                del self._programs[dtype.name]
                raise
        return program

    def kernel(self, dtype: np.dtype, name: str):
        return self.program(dtype).kernel(name)

    # -- buffers ------------------------------------------------------------
    def buffer(self, slot: str, nbytes: int):
        """A device buffer of at least ``nbytes`` kept under ``slot`` and reused."""
        import pyopencl as cl

        nbytes = max(int(nbytes), 16)
        have = self._buffers.get(slot)
        if have is not None and have[0] >= nbytes:
            return have[1]
        with device_errors(f"{self.name}: cannot allocate {nbytes} bytes"):
            buf = cl.Buffer(self.context, cl.mem_flags.READ_WRITE, nbytes)
        self._buffers[slot] = (nbytes, buf)
        return buf

    def upload(self, slot: str, array: np.ndarray):
        """Copy ``array`` into the buffer ``slot`` (sized to fit) and return it."""
        import pyopencl as cl

        array = np.ascontiguousarray(array)
        buf = self.buffer(slot, array.nbytes)
        if array.nbytes:
            with device_errors(f"{self.name}: upload failed"):
                cl.enqueue_copy(self.queue, buf, array, is_blocking=False)
        return buf

    def download(self, buf, array: np.ndarray) -> np.ndarray:
        """Copy the start of ``buf`` into ``array`` (blocking) and return it."""
        import pyopencl as cl

        if array.nbytes:
            with device_errors(f"{self.name}: download failed"):
                cl.enqueue_copy(self.queue, array, buf, is_blocking=True)
        return array

    def layout(self, net: Network) -> tuple[Layout, object]:
        """The packed layout of ``net`` and its device buffer (kept per shape)."""
        import pyopencl as cl

        layout = pack_layout(net)
        key = layout.key
        buf = self._layouts.get(key)
        if buf is None:
            if len(self._layouts) > 32:
                self._layouts.clear()
            with device_errors(f"{self.name}: cannot upload the network layout"):
                buf = cl.Buffer(
                    self.context,
                    cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR,
                    hostbuf=layout.packed,
                )
            self._layouts[key] = buf
        return layout, buf

    def run_kernel(self, kernel, global_size: tuple[int, ...], local_size, *args) -> None:
        """Enqueue ``kernel`` (OpenCL errors become DeviceError)."""
        with device_errors(f"{self.name}: kernel {kernel.function_name} failed"):
            kernel.set_args(*args)
        self.launch([(kernel, global_size, local_size)])

    def prepared(self, dtype: np.dtype, name: str, global_size, local_size, *args):
        """A launch whose arguments are set once, on a kernel object of its own:
        for launches repeated with the same arguments every epoch (setting a
        dozen arguments through pyopencl costs more than the launch)."""
        import pyopencl as cl

        with device_errors(f"{self.name}: kernel {name} setup failed"):
            kernel = cl.Kernel(self.program(dtype).program, name)
            kernel.set_args(*args)
        return kernel, global_size, local_size

    def launch(self, launches) -> None:
        """Enqueue prepared launches in order (OpenCL errors become DeviceError)."""
        import pyopencl as cl

        for kernel, global_size, local_size in launches:
            with device_errors(f"{self.name}: kernel {kernel.function_name} failed"):
                cl.enqueue_nd_range_kernel(self.queue, kernel, global_size, local_size)

    def finish(self) -> None:
        with device_errors(f"{self.name}: device lost"):
            self.queue.finish()

    def acc_dtype(self) -> np.dtype:
        """The accumulator type of the kernels (double where the device has it)."""
        return np.dtype(np.float64 if self.info.double else np.float32)

    # -- the Backend protocol -------------------------------------------------
    def _pass(self, net: Network, inputs: np.ndarray, targets: np.ndarray | None, mode: int):
        """Run pattern_pass for one network; return (layout, buffers, patterns)."""
        dtype = net.dtype
        kernel = self.kernel(dtype, "pattern_pass")
        layout, lay = self.layout(net)
        P = int(inputs.shape[0])
        act = self.upload("act", net.activation.astype(np.int32))
        steep = self.upload("steep", net.steepness.astype(dtype))
        weights = self.upload("weights", net.weights.astype(dtype, copy=False))
        x = self.upload("inputs", inputs.astype(dtype, copy=False))
        y = self.upload("targets", targets.astype(dtype, copy=False)) if targets is not None else x
        size = layout.T * P * dtype.itemsize
        values = self.buffer("values", size)
        sums = self.buffer("sums", size)
        deltas = self.buffer("deltas", size) if mode != MODE_FORWARD else values
        terms = self.buffer("pattern_terms", P * layout.n_out * 4)  # FANN's float e*e
        pbits = self.buffer("pattern_bits", P * 4)
        out = self.buffer("out", P * layout.n_out * dtype.itemsize)
        hp = self.upload("hp", hyper_params(net, P))
        ip = self.upload("ip", int_params(net))
        self.run_kernel(
            kernel,
            (round_up(P, LOCAL), 1),
            (LOCAL, 1),
            np.int32(P),
            np.int32(mode),
            lay,
            act,
            steep,
            weights,
            x,
            y,
            values,
            sums,
            deltas,
            terms,
            pbits,
            out,
            hp,
            ip,
            None,
        )
        return (
            layout,
            {
                "values": values,
                "sums": sums,
                "deltas": deltas,
                "pattern_terms": terms,
                "pattern_bits": pbits,
                "out": out,
                "lay": lay,
            },
            P,
        )

    def forward(self, net: Network, inputs: np.ndarray) -> np.ndarray:
        """Outputs (P, n_out) for inputs (P, n_in), FANN's ``fann_run`` per row.

        Fully connected LAYER networks run through ``kernels/infer.cl`` (the
        whole network per launch, vectors over neurons); shortcut and sparse
        ones through ``pattern_pass``, one work-item per pattern. Either way a
        row's sums run in an order fixed per row, so its outputs do not
        depend on the batch it comes in."""
        inputs = np.asarray(inputs)
        result = np.empty((inputs.shape[0], net.num_output), dtype=net.dtype)
        if net.network_type == LAYER and not net.is_sparse and net.dtype.itemsize in VECTOR_WIDTH:
            self._infer(net, inputs, result)
            return result
        for start in range(0, inputs.shape[0], PATTERN_BLOCK):
            block = inputs[start : start + PATTERN_BLOCK]
            _, bufs, _ = self._pass(net, block, None, MODE_FORWARD)
            self.download(bufs["out"], result[start : start + block.shape[0]])
        return result

    def _inference_buffers(self, net: Network) -> tuple[InferencePlan, list]:
        """``net``'s plan and its arrays on the device, kept for the last few
        networks (weights, steepnesses and functions as they are now)."""
        import pyopencl as cl

        digest = hashlib.sha1(net.dtype.str.encode())
        for part in (np.asarray(net.layers), net.weights, net.steepness, net.activation):
            digest.update(np.ascontiguousarray(part).tobytes())
        key = digest.hexdigest()
        found = self._inference.get(key)
        if found is None:
            plan = inference_plan(net, VECTOR_WIDTH[net.dtype.itemsize])
            arrays = (plan.table, plan.weights, plan.steepness, plan.limits, plan.ids, plan.vids)
            flags = cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR
            with device_errors(f"{self.name}: cannot upload the network"):
                bufs = [cl.Buffer(self.context, flags, hostbuf=a) for a in arrays]
            if len(self._inference) >= 8:
                self._inference.clear()
            found = self._inference[key] = (plan, bufs)
        return found

    def _infer(self, net: Network, inputs: np.ndarray, result: np.ndarray) -> None:
        """``dense_infer`` over ``inputs`` into ``result``, a block of about
        INFER_BYTES of inputs per launch (copied in, then read from cache)."""
        import pyopencl as cl

        P = int(inputs.shape[0])
        if P == 0:
            return
        dtype = net.dtype
        # the kernel first: a first build's self-test uses the same buffer slots
        kernel = self.kernel(dtype, "dense_infer")
        plan, arrays = self._inference_buffers(net)
        row_bytes = max(1, plan.n_in * dtype.itemsize)
        block = min(P, PATTERN_BLOCK, max(INFER_ITEM_ROWS, INFER_BYTES // row_bytes))
        cpu = self.info.kind == "cpu"
        rows = INFER_ITEM_ROWS if cpu else INFER_ROWS
        items = -(-block // rows)
        x = self.buffer("inputs", block * row_bytes)
        out = self.buffer("out", block * plan.n_out * dtype.itemsize)
        scratch_bytes = items * 2 * INFER_ROWS * plan.stride * dtype.itemsize
        scratch = self.buffer("infer_scratch", scratch_bytes)
        head = (np.int32(block), np.int32(rows), np.int32(plan.layers), np.int32(plan.n_in))
        tail = (np.int32(plan.n_out), np.int32(plan.stride), *arrays, x, out, scratch)
        with device_errors(f"{self.name}: kernel dense_infer failed"):
            kernel.set_args(*head, *tail)
            for start in range(0, P, block):
                part = np.ascontiguousarray(inputs[start : start + block], dtype=dtype)
                count = part.shape[0]
                if count != block:
                    kernel.set_arg(0, np.int32(count))
                    items = -(-count // rows)
                cl.enqueue_copy(self.queue, x, part, is_blocking=False)
                cl.enqueue_nd_range_kernel(
                    self.queue,
                    kernel,
                    (items,) if cpu else (round_up(items, LOCAL),),
                    (1,) if cpu else None,
                )
                cl.enqueue_copy(self.queue, result[start : start + count], out, is_blocking=True)

    def activate(self, net: Network, inputs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Run the net; the flat activation array A (P, T) and each layer's sums t."""
        inputs = np.asarray(inputs, dtype=net.dtype)
        layout, bufs, P = self._pass(net, inputs, None, MODE_FORWARD)
        values = self.download(bufs["values"], np.empty((layout.T, P), dtype=net.dtype))
        sums = self.download(bufs["sums"], np.empty((layout.T, P), dtype=net.dtype))
        acts = np.ascontiguousarray(values.T)
        ends = layout.layer_ends
        per_layer = []
        for index in range(1, len(net.layers)):
            first = ends[index]
            per_layer.append(np.ascontiguousarray(sums[first : first + net.layers[index]].T))
        return acts, per_layer

    def gradient(
        self,
        net: Network,
        inputs: np.ndarray,
        targets: np.ndarray,
        slopes: np.ndarray,
        *,
        outputs_only: bool = False,
    ) -> Gradient:
        """Add the batch's slopes into ``slopes``; return them with the error counts."""
        mode = MODE_OUTPUTS_ONLY if outputs_only else MODE_GRADIENT
        layout, bufs, P = self._pass(net, np.asarray(inputs), np.asarray(targets), mode)
        first = layout.output_con if outputs_only else 0
        dtype = net.dtype
        g = self.upload("slopes", slopes.astype(dtype, copy=False))
        count = layout.W - first
        if count > 0 and P > 0:
            self.run_kernel(
                self.kernel(dtype, "accumulate_slopes"),
                (round_up(count, LOCAL), 1),
                (LOCAL, 1),
                np.int32(P),
                np.int32(first),
                bufs["lay"],
                bufs["values"],
                bufs["deltas"],
                g,
                None,
            )
        new = self.download(g, np.empty(layout.W, dtype=dtype))
        terms = self.download(bufs["pattern_terms"], np.empty(P * layout.n_out, np.float32))
        pbits = self.download(bufs["pattern_bits"], np.empty(P, dtype=np.int32))
        slopes[...] = new
        return Gradient(slopes, accumulate(terms), P * layout.n_out, int(pbits.sum()), terms)
