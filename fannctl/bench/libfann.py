"""The libfann side of ``fannctl bench --against-libfann``: FANN 2.2 through ctypes.

The float build (``libfloatfann``, Debian's ``libfann-dev``), since fannctl
benchmarks in float32: ``fann_type`` is a C float, so a fannctl float32
network saved as a FANN ``.net`` file is the same network in both engines.
Only what the benchmark calls is declared: loading a network and data,
``fann_train_epoch``, ``fann_train_on_data``, ``fann_test_data`` (FANN's
own loop of ``fann_run`` over every pattern), ``fann_run`` and
``fann_cascadetrain_on_data``, with C's ``srand`` for cascade's draws.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

import numpy as np

from fannctl.errors import FannctlError

PACKAGE = "libfann-dev"
NAMES = ("libfloatfann.so.2", "libfloatfann.so")
ENV = "FANNCTL_LIBFANN"
"""A path to the float libfann to load instead of the system's."""

fann_type = ctypes.c_float
_ANN = ctypes.c_void_p
_DATA = ctypes.c_void_p
_UINT = ctypes.c_uint
_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "fann_create_from_file": (_ANN, [ctypes.c_char_p]),
    "fann_destroy": (None, [_ANN]),
    "fann_copy": (_ANN, [_ANN]),
    "fann_randomize_weights": (None, [_ANN, fann_type, fann_type]),
    "fann_read_train_from_file": (_DATA, [ctypes.c_char_p]),
    "fann_create_train": (_DATA, [_UINT, _UINT, _UINT]),
    "fann_destroy_train": (None, [_DATA]),
    "fann_train_epoch": (ctypes.c_float, [_ANN, _DATA]),
    "fann_train_on_data": (None, [_ANN, _DATA, _UINT, _UINT, ctypes.c_float]),
    "fann_test_data": (ctypes.c_float, [_ANN, _DATA]),
    "fann_run": (ctypes.POINTER(fann_type), [_ANN, ctypes.POINTER(fann_type)]),
    "fann_get_MSE": (ctypes.c_float, [_ANN]),
    "fann_get_total_connections": (_UINT, [_ANN]),
    "fann_get_total_neurons": (_UINT, [_ANN]),
    "fann_cascadetrain_on_data": (None, [_ANN, _DATA, _UINT, _UINT, ctypes.c_float]),
}


class _TrainData(ctypes.Structure):
    """The head of FANN's ``struct fann_train_data`` (sizes and row pointers)."""

    _fields_ = [
        ("errno_f", ctypes.c_int),
        ("error_log", ctypes.c_void_p),
        ("errstr", ctypes.c_char_p),
        ("num_data", ctypes.c_uint),
        ("num_input", ctypes.c_uint),
        ("num_output", ctypes.c_uint),
        ("input", ctypes.POINTER(ctypes.POINTER(fann_type))),
        ("output", ctypes.POINTER(ctypes.POINTER(fann_type))),
    ]


_LOADED: tuple[ctypes.CDLL, str] | None = None


def load() -> tuple[ctypes.CDLL, str]:
    """The float libfann and the file it came from; FannctlError naming the
    package to install when there is none."""
    global _LOADED
    if _LOADED is not None:
        return _LOADED
    given = os.environ.get(ENV)
    candidates = [given] if given else [*NAMES, ctypes.util.find_library("floatfann")]
    reasons = []
    for name in filter(None, candidates):
        try:
            lib = ctypes.CDLL(name)
            for func, (restype, argtypes) in _SIGNATURES.items():
                getattr(lib, func).restype = restype
                getattr(lib, func).argtypes = argtypes
        except (OSError, AttributeError) as exc:
            reasons.append(str(exc))
            continue
        _LOADED = (lib, _library_file(lib, name))
        return _LOADED
    raise FannctlError(
        "--against-libfann needs FANN 2.2's float library (libfloatfann.so.2), not found; "
        f"install Debian's {PACKAGE} (apt-get install {PACKAGE})"
        + (f" or set {ENV}" if not given else f" ({'; '.join(reasons)})")
    )


def _library_file(lib: ctypes.CDLL, name: str) -> str:
    """The real path of the loaded library (its version is in the file name)."""
    try:
        with open("/proc/self/maps") as handle:
            for line in handle:
                if "floatfann" in line or (os.sep in name and name in line):
                    return os.path.realpath(line.split()[-1])
    except OSError:
        pass
    return name


def version() -> str | None:
    """``libfloatfann.so.2.2.0`` -> ``2.2.0`` (None when it cannot tell)."""
    path = Path(load()[1]).name
    parts = path.split(".so.")
    return parts[1] if len(parts) == 2 else None


class Net:
    """A libfann network loaded from a FANN ``.net`` file."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.lib = load()[0]
        self.handle = self.lib.fann_create_from_file(os.fsencode(path))
        if not self.handle:
            raise FannctlError(f"{path}: libfann could not load the network")

    @classmethod
    def copies(cls, path: str | os.PathLike, count: int, seed: int) -> list[Net]:
        """``count`` copies of one network, each with weights drawn by
        ``fann_randomize_weights(-0.1, 0.1)`` after ``srand(seed)``."""
        template = cls(path)
        _libc().srand(seed)
        nets = []
        for _ in range(count):
            net = object.__new__(cls)
            net.lib = template.lib
            net.handle = template.lib.fann_copy(template.handle)
            if not net.handle:
                raise FannctlError("libfann could not copy the network")
            template.lib.fann_randomize_weights(net.handle, -0.1, 0.1)
            nets.append(net)
        template.close()
        return nets

    def close(self) -> None:
        if self.handle:
            self.lib.fann_destroy(self.handle)
            self.handle = None

    def __del__(self) -> None:
        self.close()

    @property
    def connections(self) -> int:
        return int(self.lib.fann_get_total_connections(self.handle))

    @property
    def neurons(self) -> int:
        return int(self.lib.fann_get_total_neurons(self.handle))

    def train_epoch(self, data: Data) -> float:
        """``fann_train_epoch``: one epoch; the MSE collected during it."""
        return float(self.lib.fann_train_epoch(self.handle, data.handle))

    def train_on_data(self, data: Data, epochs: int) -> float:
        """``fann_train_on_data`` for exactly ``epochs`` epochs, no reports; the last MSE."""
        self.lib.fann_train_on_data(self.handle, data.handle, epochs, 0, 0.0)
        return float(self.lib.fann_get_MSE(self.handle))

    def test_data(self, data: Data) -> float:
        """``fann_test_data``: ``fann_run`` on every pattern, in C; FANN's MSE."""
        return float(self.lib.fann_test_data(self.handle, data.handle))

    def run(self, row: np.ndarray) -> np.ndarray:
        """``fann_run`` on one float32 input row."""
        row = np.ascontiguousarray(row, dtype=np.float32)
        out = self.lib.fann_run(self.handle, row.ctypes.data_as(ctypes.POINTER(fann_type)))
        return np.ctypeslib.as_array(out, shape=(1,)).copy()

    def cascade(self, data: Data, max_neurons: int, desired_error: float, seed: int) -> float:
        """``srand(seed)``, then ``fann_cascadetrain_on_data`` (no reports); the final MSE."""
        _libc().srand(seed)
        self.lib.fann_cascadetrain_on_data(self.handle, data.handle, max_neurons, 0, desired_error)
        return float(self.lib.fann_get_MSE(self.handle))


class Data:
    """A libfann training set, filled from arrays (one contiguous block, as
    ``fann_create_train`` allocates it)."""

    def __init__(self, inputs: np.ndarray, outputs: np.ndarray) -> None:
        self.lib = load()[0]
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        outputs = np.ascontiguousarray(outputs, dtype=np.float32)
        count, n_in = inputs.shape
        n_out = outputs.shape[1]
        self.handle = self.lib.fann_create_train(count, n_in, n_out)
        if not self.handle:
            raise FannctlError(f"libfann could not allocate {count} patterns")
        head = _TrainData.from_address(self.handle)
        if count > 1 and _address(head.input[1]) != _address(head.input[0]) + 4 * n_in:
            self.close()  # FANN 2.2 allocates the rows as one block; another build may not
            raise FannctlError("libfann's fann_create_train rows are not one block")
        _fill(head.input[0], inputs)
        _fill(head.output[0], outputs)

    def close(self) -> None:
        if self.handle:
            self.lib.fann_destroy_train(self.handle)
            self.handle = None

    def __del__(self) -> None:
        self.close()


def _address(pointer) -> int:
    return ctypes.cast(pointer, ctypes.c_void_p).value or 0


def _fill(pointer, values: np.ndarray) -> None:
    ctypes.memmove(pointer, values.ctypes.data, values.nbytes)


_LIBC: ctypes.CDLL | None = None


def _libc() -> ctypes.CDLL:
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None)
        _LIBC.srand.argtypes = [ctypes.c_uint]
        _LIBC.srand.restype = None
    return _LIBC
