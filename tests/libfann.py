"""A small ctypes wrapper around the real FANN 2.2 in double precision (libdoublefann).

The differential tests drive the system library with it and compare the results
with fannctl's float64 engine. Only what those tests need is wrapped, and every
function gets its exact 2.2 signature: in libdoublefann ``fann_type`` is
``double``, but the training parameters (learning rate, momentum, the RPROP,
QuickProp and SARPROP factors) are C ``float`` fields, and ``fann_train_epoch``,
``fann_test_data`` and ``fann_get_MSE`` return a C ``float`` (FANN sums the
squared errors in a float even in the double build).

``libc_srand``/``libc_rand`` reach the same C library ``rand()`` stream that
libfann draws from (SARPROP's random step), so a test can replay FANN's draws.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

fann_type = ctypes.c_double
fann_type_p = ctypes.POINTER(fann_type)
RAND_SCALE = 2147483648.0  # FANN divides (float)rand() by RAND_MAX, which as a float is 2^31

LIBRARY_ENV = "FANNCTL_LIBDOUBLEFANN"
"""Environment variable naming the libdoublefann to load (then no other is tried)."""

LIBRARY_NAMES = ("libdoublefann.so.2", "libdoublefann.so")

INCREMENTAL, BATCH, RPROP, QUICKPROP, SARPROP = range(5)
ERRORFUNC_LINEAR, ERRORFUNC_TANH = 0, 1
STOPFUNC_MSE, STOPFUNC_BIT = 0, 1


class FannConnection(ctypes.Structure):
    """FANN's ``struct fann_connection`` in the double build."""

    _fields_ = [
        ("from_neuron", ctypes.c_uint),
        ("to_neuron", ctypes.c_uint),
        ("weight", fann_type),
    ]


class FannTrainData(ctypes.Structure):
    """FANN's ``struct fann_train_data`` (read-only use: sizes and row pointers)."""

    _fields_ = [
        ("errno_f", ctypes.c_int),
        ("error_log", ctypes.c_void_p),
        ("errstr", ctypes.c_char_p),
        ("num_data", ctypes.c_uint),
        ("num_input", ctypes.c_uint),
        ("num_output", ctypes.c_uint),
        ("input", ctypes.POINTER(fann_type_p)),
        ("output", ctypes.POINTER(fann_type_p)),
    ]


class LibFannError(RuntimeError):
    """libfann reported an error (its errno and message are in the text)."""


# name -> (restype, argtypes); "ann" stands for the struct fann pointer.
_ANN = ctypes.c_void_p
_DATA = ctypes.POINTER(FannTrainData)
_UINT = ctypes.c_uint
_FLOAT = ctypes.c_float
_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "fann_create_from_file": (_ANN, [ctypes.c_char_p]),
    "fann_create_standard_array": (_ANN, [_UINT, ctypes.POINTER(_UINT)]),
    "fann_create_sparse_array": (_ANN, [_FLOAT, _UINT, ctypes.POINTER(_UINT)]),
    "fann_create_shortcut_array": (_ANN, [_UINT, ctypes.POINTER(_UINT)]),
    "fann_save": (ctypes.c_int, [_ANN, ctypes.c_char_p]),
    "fann_destroy": (None, [_ANN]),
    "fann_run": (fann_type_p, [_ANN, fann_type_p]),
    "fann_test": (fann_type_p, [_ANN, fann_type_p, fann_type_p]),
    "fann_randomize_weights": (None, [_ANN, fann_type, fann_type]),
    "fann_get_num_input": (_UINT, [_ANN]),
    "fann_get_num_output": (_UINT, [_ANN]),
    "fann_get_total_neurons": (_UINT, [_ANN]),
    "fann_get_total_connections": (_UINT, [_ANN]),
    "fann_get_network_type": (ctypes.c_int, [_ANN]),
    "fann_get_connection_rate": (_FLOAT, [_ANN]),
    "fann_get_num_layers": (_UINT, [_ANN]),
    "fann_get_layer_array": (None, [_ANN, ctypes.POINTER(_UINT)]),
    "fann_get_connection_array": (None, [_ANN, ctypes.POINTER(FannConnection)]),
    "fann_set_weight_array": (None, [_ANN, ctypes.POINTER(FannConnection), _UINT]),
    "fann_set_activation_function_layer": (None, [_ANN, ctypes.c_int, ctypes.c_int]),
    "fann_set_activation_steepness_layer": (None, [_ANN, fann_type, ctypes.c_int]),
    "fann_set_activation_function": (None, [_ANN, ctypes.c_int, ctypes.c_int, ctypes.c_int]),
    "fann_set_activation_steepness": (None, [_ANN, fann_type, ctypes.c_int, ctypes.c_int]),
    "fann_train_epoch": (_FLOAT, [_ANN, _DATA]),
    "fann_test_data": (_FLOAT, [_ANN, _DATA]),
    "fann_get_MSE": (_FLOAT, [_ANN]),
    "fann_get_bit_fail": (_UINT, [_ANN]),
    "fann_reset_MSE": (None, [_ANN]),
    "fann_get_training_algorithm": (ctypes.c_int, [_ANN]),
    "fann_set_training_algorithm": (None, [_ANN, ctypes.c_int]),
    "fann_get_train_error_function": (ctypes.c_int, [_ANN]),
    "fann_set_train_error_function": (None, [_ANN, ctypes.c_int]),
    "fann_get_train_stop_function": (ctypes.c_int, [_ANN]),
    "fann_set_train_stop_function": (None, [_ANN, ctypes.c_int]),
    "fann_get_bit_fail_limit": (fann_type, [_ANN]),
    "fann_set_bit_fail_limit": (None, [_ANN, fann_type]),
    "fann_read_train_from_file": (_DATA, [ctypes.c_char_p]),
    "fann_create_train": (_DATA, [_UINT, _UINT, _UINT]),
    "fann_save_train": (ctypes.c_int, [_DATA, ctypes.c_char_p]),
    "fann_destroy_train": (None, [_DATA]),
    "fann_set_scaling_params": (ctypes.c_int, [_ANN, _DATA, _FLOAT, _FLOAT, _FLOAT, _FLOAT]),
    "fann_scale_input": (None, [_ANN, fann_type_p]),
    "fann_descale_output": (None, [_ANN, fann_type_p]),
    "fann_scale_train": (None, [_ANN, _DATA]),
    "fann_get_errno": (ctypes.c_int, [ctypes.c_void_p]),
    "fann_get_errstr": (ctypes.c_char_p, [ctypes.c_void_p]),
    "fann_reset_errno": (None, [ctypes.c_void_p]),
    "fann_reset_errstr": (None, [ctypes.c_void_p]),
}
# The float-valued training parameters: fann_get_<name> returns float, fann_set_<name> takes one.
FLOAT_PARAMS = (
    "learning_rate",
    "learning_momentum",
    "quickprop_decay",
    "quickprop_mu",
    "rprop_increase_factor",
    "rprop_decrease_factor",
    "rprop_delta_min",
    "rprop_delta_max",
    "rprop_delta_zero",
    "sarprop_weight_decay_shift",
    "sarprop_step_error_threshold_factor",
    "sarprop_step_error_shift",
    "sarprop_temperature",
)
for _name in FLOAT_PARAMS:
    _SIGNATURES[f"fann_get_{_name}"] = (_FLOAT, [_ANN])
    _SIGNATURES[f"fann_set_{_name}"] = (None, [_ANN, _FLOAT])


def _open_library() -> tuple[ctypes.CDLL | None, str]:
    """Load libdoublefann and declare its signatures; return (lib, why-not)."""
    if os.environ.get(LIBRARY_ENV):  # an explicit path is the only one tried
        candidates = [os.environ[LIBRARY_ENV]]
    else:
        candidates = list(LIBRARY_NAMES)
        found = ctypes.util.find_library("doublefann")
        if found:
            candidates.append(found)
    errors = []
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            errors.append(str(exc))
            continue
        try:
            for func, (restype, argtypes) in _SIGNATURES.items():
                fn = getattr(lib, func)
                fn.restype = restype
                fn.argtypes = argtypes
        except AttributeError as exc:
            errors.append(f"{name}: {exc}")
            continue
        return lib, ""
    return None, "libdoublefann (FANN 2.2, Debian libfann-dev) not found: " + "; ".join(errors)


_LIB, MISSING_REASON = _open_library()


def available() -> bool:
    """Whether libdoublefann could be loaded."""
    return _LIB is not None


def library() -> ctypes.CDLL:
    """The loaded libdoublefann; raises LibFannError when it is missing."""
    if _LIB is None:
        raise LibFannError(MISSING_REASON)
    return _LIB


def _open_libc() -> ctypes.CDLL:
    for name in (None, ctypes.util.find_library("c"), "libc.so.6"):
        try:
            libc = ctypes.CDLL(name)
            libc.srand.argtypes = [ctypes.c_uint]
            libc.srand.restype = None
            libc.rand.argtypes = []
            libc.rand.restype = ctypes.c_int
            return libc
        except (OSError, AttributeError):
            continue
    raise OSError("cannot load the C library for srand/rand")


_LIBC = _open_libc()


def libc_srand(seed: int) -> None:
    """Seed the C library's rand() (the generator libfann uses)."""
    _LIBC.srand(seed)


def libc_rand() -> int:
    """The next value of the C library's rand() stream."""
    return int(_LIBC.rand())


def fann_uniform() -> float:
    """The next uniform as SARPROP computes it: ``(float)rand() / RAND_MAX`` in float."""
    return float(np.float32(libc_rand())) / RAND_SCALE


def fann_random_source(counter: list[int] | None = None) -> Callable[[int], np.ndarray]:
    """A ``random_source(n)`` replaying libfann's draws; appends each n to ``counter``."""

    def source(n: int) -> np.ndarray:
        if counter is not None:
            counter.append(int(n))
        return np.array([fann_uniform() for _ in range(int(n))], dtype=np.float64)

    return source


def draws_since_seed(seed: int, limit: int = 100000) -> int:
    """How many rand() values were consumed since ``libc_srand(seed)``.

    Peeks at the next value, then replays the stream from ``seed`` to find it.
    The stream is left in an unspecified state afterwards.
    """
    nxt = libc_rand()
    libc_srand(seed)
    for count in range(limit):
        if libc_rand() == nxt:
            return count
    raise LibFannError(f"rand() stream position not found within {limit} draws")


def _check(handle: int, what: str) -> None:
    lib = library()
    if lib.fann_get_errno(handle):
        msg = lib.fann_get_errstr(handle)
        lib.fann_reset_errno(handle)
        lib.fann_reset_errstr(handle)
        raise LibFannError(f"{what}: {msg.decode(errors='replace') if msg else '(no message)'}")


def _as_doubles(values: np.ndarray) -> ctypes.Array:
    arr = np.ascontiguousarray(values, dtype=np.float64).ravel()
    return (fann_type * arr.size)(*arr.tolist())


def _uint_array(values: list[int]) -> ctypes.Array:
    return (ctypes.c_uint * len(values))(*[int(v) for v in values])


class TrainData:
    """A ``struct fann_train_data`` owned by Python (freed on close/garbage collection)."""

    def __init__(self, pointer: ctypes._Pointer) -> None:
        if not pointer:
            raise LibFannError("libfann returned no training data")
        self._ptr = pointer

    @classmethod
    def read(cls, path: str | os.PathLike) -> TrainData:
        """Read a FANN .data file with ``fann_read_train_from_file``."""
        return cls(library().fann_read_train_from_file(os.fsencode(path)))

    @classmethod
    def from_arrays(cls, inputs: np.ndarray, outputs: np.ndarray) -> TrainData:
        """Build the data in memory (``fann_create_train`` then fill the rows)."""
        inputs = np.atleast_2d(np.asarray(inputs, dtype=np.float64))
        outputs = np.atleast_2d(np.asarray(outputs, dtype=np.float64))
        n, n_in = inputs.shape
        n_out = outputs.shape[1]
        data = cls(library().fann_create_train(n, n_in, n_out))
        rec = data._ptr.contents
        for p in range(n):
            for k in range(n_in):
                rec.input[p][k] = float(inputs[p, k])
            for k in range(n_out):
                rec.output[p][k] = float(outputs[p, k])
        return data

    @property
    def pointer(self) -> ctypes._Pointer:
        if self._ptr is None:
            raise LibFannError("training data already destroyed")
        return self._ptr

    def __len__(self) -> int:
        return int(self.pointer.contents.num_data)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The inputs and outputs libfann holds, as float64 arrays."""
        rec = self.pointer.contents
        n, n_in, n_out = rec.num_data, rec.num_input, rec.num_output
        inputs = np.array([[rec.input[p][k] for k in range(n_in)] for p in range(n)])
        outputs = np.array([[rec.output[p][k] for k in range(n_out)] for p in range(n)])
        return inputs.reshape(n, n_in), outputs.reshape(n, n_out)

    def save(self, path: str | os.PathLike) -> None:
        """Write with ``fann_save_train`` (FANN's lossy %f/%d writer)."""
        if library().fann_save_train(self.pointer, os.fsencode(path)) != 0:
            raise LibFannError(f"fann_save_train failed for {path}")

    def close(self) -> None:
        if self._ptr is not None and _LIB is not None:
            _LIB.fann_destroy_train(self._ptr)
        self._ptr = None

    def __enter__(self) -> TrainData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class LibFann:
    """One ``struct fann`` from libdoublefann (destroyed on close/garbage collection)."""

    def __init__(self, handle: int | None) -> None:
        if not handle:
            raise LibFannError("libfann returned no network")
        self._ann: int | None = handle

    # -- creation, saving ---------------------------------------------------------
    @classmethod
    def create_from_file(cls, path: str | os.PathLike) -> LibFann:
        """``fann_create_from_file``: load a .net file."""
        handle = library().fann_create_from_file(os.fsencode(path))
        if not handle:
            raise LibFannError(f"fann_create_from_file could not load {path}")
        return cls(handle)

    @classmethod
    def create_standard(cls, layers: list[int]) -> LibFann:
        return cls(library().fann_create_standard_array(len(layers), _uint_array(layers)))

    @classmethod
    def create_sparse(cls, connection_rate: float, layers: list[int]) -> LibFann:
        return cls(
            library().fann_create_sparse_array(connection_rate, len(layers), _uint_array(layers))
        )

    @classmethod
    def create_shortcut(cls, layers: list[int]) -> LibFann:
        return cls(library().fann_create_shortcut_array(len(layers), _uint_array(layers)))

    @staticmethod
    def read_train(path: str | os.PathLike) -> TrainData:
        """``fann_read_train_from_file``."""
        return TrainData.read(path)

    @property
    def handle(self) -> int:
        if self._ann is None:
            raise LibFannError("network already destroyed")
        return self._ann

    def save(self, path: str | os.PathLike) -> None:
        """``fann_save``: write a .net file."""
        if library().fann_save(self.handle, os.fsencode(path)) != 0:
            _check(self.handle, "fann_save")
            raise LibFannError(f"fann_save failed for {path}")

    def destroy(self) -> None:
        if self._ann is not None and _LIB is not None:
            _LIB.fann_destroy(self._ann)
        self._ann = None

    close = destroy

    def __enter__(self) -> LibFann:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def __del__(self) -> None:
        try:
            self.destroy()
        except Exception:
            pass

    # -- shape ------------------------------------------------------------------
    @property
    def num_input(self) -> int:
        return int(library().fann_get_num_input(self.handle))

    @property
    def num_output(self) -> int:
        return int(library().fann_get_num_output(self.handle))

    def get_total_connections(self) -> int:
        return int(library().fann_get_total_connections(self.handle))

    def get_total_neurons(self) -> int:
        return int(library().fann_get_total_neurons(self.handle))

    def get_network_type(self) -> int:
        return int(library().fann_get_network_type(self.handle))

    def get_connection_rate(self) -> float:
        return float(library().fann_get_connection_rate(self.handle))

    def get_layer_array(self) -> list[int]:
        """Neurons per layer without biases (``fann_get_layer_array``)."""
        n = int(library().fann_get_num_layers(self.handle))
        out = (ctypes.c_uint * n)()
        library().fann_get_layer_array(self.handle, out)
        return list(out)

    # -- weights ------------------------------------------------------------------
    def get_connection_array(self) -> list[FannConnection]:
        n = self.get_total_connections()
        conns = (FannConnection * n)()
        library().fann_get_connection_array(self.handle, conns)
        return list(conns)

    def get_weights(self) -> np.ndarray:
        """All weights in FANN's connection order."""
        return np.array([c.weight for c in self.get_connection_array()], dtype=np.float64)

    def get_sources(self) -> np.ndarray:
        """The source (from) neuron of every connection, in connection order."""
        return np.array([c.from_neuron for c in self.get_connection_array()], dtype=np.int64)

    def set_weights(self, weights: np.ndarray) -> None:
        """Overwrite all weights in connection order (``fann_set_weight_array``)."""
        conns = self.get_connection_array()
        weights = np.asarray(weights, dtype=np.float64).ravel()
        if weights.size != len(conns):
            raise ValueError(f"{weights.size} weights for {len(conns)} connections")
        arr = (FannConnection * len(conns))(*conns)
        for c, w in zip(arr, weights.tolist(), strict=True):
            c.weight = w
        library().fann_set_weight_array(self.handle, arr, len(conns))

    def randomize_weights(self, low: float, high: float) -> None:
        library().fann_randomize_weights(self.handle, low, high)

    # -- activations ----------------------------------------------------------------
    def set_activation_function_layer(self, function: int, layer: int) -> None:
        library().fann_set_activation_function_layer(self.handle, function, layer)
        _check(self.handle, "fann_set_activation_function_layer")

    def set_activation_steepness_layer(self, steepness: float, layer: int) -> None:
        library().fann_set_activation_steepness_layer(self.handle, steepness, layer)
        _check(self.handle, "fann_set_activation_steepness_layer")

    def set_activation_function(self, function: int, layer: int, neuron: int) -> None:
        library().fann_set_activation_function(self.handle, function, layer, neuron)
        _check(self.handle, "fann_set_activation_function")

    def set_activation_steepness(self, steepness: float, layer: int, neuron: int) -> None:
        library().fann_set_activation_steepness(self.handle, steepness, layer, neuron)
        _check(self.handle, "fann_set_activation_steepness")

    # -- running, training ------------------------------------------------------------
    def run(self, inputs: np.ndarray) -> np.ndarray:
        """``fann_run`` on one input vector (1-D) or each row of a 2-D array."""
        x = np.asarray(inputs, dtype=np.float64)
        rows = np.atleast_2d(x)
        n_in, n_out = self.num_input, self.num_output
        if rows.shape[1] != n_in:
            raise ValueError(f"network has {n_in} inputs, got {rows.shape[1]}")
        out = np.empty((rows.shape[0], n_out))
        for p, row in enumerate(rows):
            res = library().fann_run(self.handle, _as_doubles(row))
            out[p] = res[:n_out]
        return out[0] if x.ndim == 1 else out

    def set_scaling_params(
        self, data: TrainData, inputs: tuple[float, float], outputs: tuple[float, float]
    ) -> None:
        """``fann_set_scaling_params``: per-column scaling stored in the net."""
        if library().fann_set_scaling_params(self.handle, data.pointer, *inputs, *outputs) != 0:
            _check(self.handle, "fann_set_scaling_params")
            raise LibFannError("fann_set_scaling_params failed")

    def run_scaled(self, inputs: np.ndarray) -> np.ndarray:
        """``fann_scale_input``, ``fann_run``, ``fann_descale_output`` for each row."""
        rows = np.atleast_2d(np.asarray(inputs, dtype=np.float64))
        n_out = self.num_output
        out = np.empty((rows.shape[0], n_out))
        for p, row in enumerate(rows):
            x = _as_doubles(row)
            library().fann_scale_input(self.handle, x)
            res = library().fann_run(self.handle, x)
            y = (fann_type * n_out)(*res[:n_out])
            library().fann_descale_output(self.handle, y)
            out[p] = y[:]
        return out

    def scale_train(self, data: TrainData) -> None:
        """``fann_scale_train``: scale the data in place with the net's stored scaling."""
        library().fann_scale_train(self.handle, data.pointer)
        _check(self.handle, "fann_scale_train")

    def train_epoch(self, data: TrainData) -> float:
        """``fann_train_epoch``: one epoch; returns the MSE collected during it (C float)."""
        mse = library().fann_train_epoch(self.handle, data.pointer)
        _check(self.handle, "fann_train_epoch")
        return float(mse)

    def test_data(self, data: TrainData) -> tuple[float, int]:
        """``fann_test_data``: (MSE, bit fail) over the data, weights unchanged."""
        mse = library().fann_test_data(self.handle, data.pointer)
        _check(self.handle, "fann_test_data")
        return float(mse), self.get_bit_fail()

    def get_MSE(self) -> float:
        return float(library().fann_get_MSE(self.handle))

    def get_bit_fail(self) -> int:
        return int(library().fann_get_bit_fail(self.handle))

    def reset_MSE(self) -> None:
        library().fann_reset_MSE(self.handle)

    # -- parameters ---------------------------------------------------------------------
    def get_training_algorithm(self) -> int:
        return int(library().fann_get_training_algorithm(self.handle))

    def set_training_algorithm(self, algorithm: int) -> None:
        library().fann_set_training_algorithm(self.handle, int(algorithm))

    def get_train_error_function(self) -> int:
        return int(library().fann_get_train_error_function(self.handle))

    def set_train_error_function(self, function: int) -> None:
        library().fann_set_train_error_function(self.handle, int(function))

    def get_train_stop_function(self) -> int:
        return int(library().fann_get_train_stop_function(self.handle))

    def set_train_stop_function(self, function: int) -> None:
        library().fann_set_train_stop_function(self.handle, int(function))

    def get_bit_fail_limit(self) -> float:
        return float(library().fann_get_bit_fail_limit(self.handle))

    def set_bit_fail_limit(self, limit: float) -> None:
        library().fann_set_bit_fail_limit(self.handle, float(limit))

    def get_param(self, name: str) -> float:
        """One float training parameter by its .net name (stored as a C float)."""
        if name not in FLOAT_PARAMS:
            raise KeyError(name)
        return float(getattr(library(), f"fann_get_{name}")(self.handle))

    def set_param(self, name: str, value: float) -> None:
        """Set one float training parameter by its .net name (rounded to a C float)."""
        if name not in FLOAT_PARAMS:
            raise KeyError(name)
        getattr(library(), f"fann_set_{name}")(self.handle, float(value))

    def set_learning_rate(self, value: float) -> None:
        self.set_param("learning_rate", value)

    def set_learning_momentum(self, value: float) -> None:
        self.set_param("learning_momentum", value)

    def set_quickprop_decay(self, value: float) -> None:
        self.set_param("quickprop_decay", value)

    def set_quickprop_mu(self, value: float) -> None:
        self.set_param("quickprop_mu", value)

    def set_rprop_increase_factor(self, value: float) -> None:
        self.set_param("rprop_increase_factor", value)

    def set_rprop_decrease_factor(self, value: float) -> None:
        self.set_param("rprop_decrease_factor", value)

    def set_rprop_delta_min(self, value: float) -> None:
        self.set_param("rprop_delta_min", value)

    def set_rprop_delta_max(self, value: float) -> None:
        self.set_param("rprop_delta_max", value)

    def set_rprop_delta_zero(self, value: float) -> None:
        self.set_param("rprop_delta_zero", value)

    def set_sarprop_weight_decay_shift(self, value: float) -> None:
        self.set_param("sarprop_weight_decay_shift", value)

    def set_sarprop_step_error_threshold_factor(self, value: float) -> None:
        self.set_param("sarprop_step_error_threshold_factor", value)

    def set_sarprop_step_error_shift(self, value: float) -> None:
        self.set_param("sarprop_step_error_shift", value)

    def set_sarprop_temperature(self, value: float) -> None:
        self.set_param("sarprop_temperature", value)


def probe_dir() -> Path:
    """Where the shared C-probe artefacts live (``fann_probe/``)."""
    return Path(os.environ.get("FANN_PROBE_DIR", "/work/shared/fann_probe"))


# -- cascade training (fann_cascade.c) ------------------------------------------------
# Declared separately so a library without them still serves the other tests. The
# step functions (train_outputs, initialize_candidates, ...) are exported by 2.2's
# libdoublefann too; the tests use them to find the first step that differs.
_CASCADE_UINT_PARAMS = (
    "cascade_output_stagnation_epochs",
    "cascade_candidate_stagnation_epochs",
    "cascade_num_candidate_groups",
    "cascade_max_out_epochs",
    "cascade_min_out_epochs",
    "cascade_max_cand_epochs",
    "cascade_min_cand_epochs",
)
_CASCADE_FLOAT_PARAMS = ("cascade_output_change_fraction", "cascade_candidate_change_fraction")
_CASCADE_TYPE_PARAMS = ("cascade_weight_multiplier", "cascade_candidate_limit")
_CASCADE_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "fann_cascadetrain_on_data": (None, [_ANN, _DATA, _UINT, _UINT, _FLOAT]),
    "fann_get_cascade_num_candidates": (_UINT, [_ANN]),
    "fann_get_cascade_activation_functions_count": (_UINT, [_ANN]),
    "fann_get_cascade_activation_functions": (ctypes.POINTER(ctypes.c_int), [_ANN]),
    "fann_set_cascade_activation_functions": (None, [_ANN, ctypes.POINTER(ctypes.c_int), _UINT]),
    "fann_get_cascade_activation_steepnesses_count": (_UINT, [_ANN]),
    "fann_get_cascade_activation_steepnesses": (fann_type_p, [_ANN]),
    "fann_set_cascade_activation_steepnesses": (None, [_ANN, fann_type_p, _UINT]),
    "fann_get_activation_function": (ctypes.c_int, [_ANN, ctypes.c_int, ctypes.c_int]),
    "fann_get_activation_steepness": (fann_type, [_ANN, ctypes.c_int, ctypes.c_int]),
    "fann_train_outputs": (ctypes.c_int, [_ANN, _DATA, _FLOAT]),
    "fann_initialize_candidates": (ctypes.c_int, [_ANN]),
    "fann_train_candidates": (ctypes.c_int, [_ANN, _DATA]),
    "fann_install_candidate": (None, [_ANN]),
    "fann_set_shortcut_connections": (None, [_ANN]),
}
for _name in _CASCADE_UINT_PARAMS:
    _CASCADE_SIGNATURES[f"fann_get_{_name}"] = (_UINT, [_ANN])
    _CASCADE_SIGNATURES[f"fann_set_{_name}"] = (None, [_ANN, _UINT])
for _name in _CASCADE_FLOAT_PARAMS:
    _CASCADE_SIGNATURES[f"fann_get_{_name}"] = (_FLOAT, [_ANN])
    _CASCADE_SIGNATURES[f"fann_set_{_name}"] = (None, [_ANN, _FLOAT])
for _name in _CASCADE_TYPE_PARAMS:
    _CASCADE_SIGNATURES[f"fann_get_{_name}"] = (fann_type, [_ANN])
    _CASCADE_SIGNATURES[f"fann_set_{_name}"] = (None, [_ANN, fann_type])


def _declare_cascade() -> str:
    if _LIB is None:
        return MISSING_REASON
    try:
        for func, (restype, argtypes) in _CASCADE_SIGNATURES.items():
            fn = getattr(_LIB, func)
            fn.restype = restype
            fn.argtypes = argtypes
    except AttributeError as exc:
        return f"libdoublefann has no cascade training: {exc}"
    return ""


CASCADE_MISSING_REASON = _declare_cascade()


def cascadetrain_on_data(
    ann: LibFann,
    data: TrainData,
    max_neurons: int,
    neurons_between_reports: int,
    desired_error: float,
) -> None:
    """``fann_cascadetrain_on_data``: grow ``ann`` in place (reports go to C stdout)."""
    library().fann_cascadetrain_on_data(
        ann.handle, data.pointer, max_neurons, neurons_between_reports, desired_error
    )
    _check(ann.handle, "fann_cascadetrain_on_data")


def get_cascade_param(ann: LibFann, name: str) -> float:
    """One scalar cascade parameter by its .net name (e.g. ``cascade_max_out_epochs``)."""
    if name not in _CASCADE_UINT_PARAMS + _CASCADE_FLOAT_PARAMS + _CASCADE_TYPE_PARAMS:
        raise KeyError(name)
    return getattr(library(), f"fann_get_{name}")(ann.handle)


def set_cascade_param(ann: LibFann, name: str, value: float) -> None:
    """Set one scalar cascade parameter by its .net name."""
    if name in _CASCADE_UINT_PARAMS:
        getattr(library(), f"fann_set_{name}")(ann.handle, int(value))
    elif name in _CASCADE_FLOAT_PARAMS + _CASCADE_TYPE_PARAMS:
        getattr(library(), f"fann_set_{name}")(ann.handle, float(value))
    else:
        raise KeyError(name)


def get_cascade_activation_functions(ann: LibFann) -> list[int]:
    n = int(library().fann_get_cascade_activation_functions_count(ann.handle))
    ptr = library().fann_get_cascade_activation_functions(ann.handle)
    return [int(ptr[i]) for i in range(n)]


def set_cascade_activation_functions(ann: LibFann, functions: list[int]) -> None:
    arr = (ctypes.c_int * len(functions))(*[int(f) for f in functions])
    library().fann_set_cascade_activation_functions(ann.handle, arr, len(functions))


def get_cascade_activation_steepnesses(ann: LibFann) -> list[float]:
    n = int(library().fann_get_cascade_activation_steepnesses_count(ann.handle))
    ptr = library().fann_get_cascade_activation_steepnesses(ann.handle)
    return [float(ptr[i]) for i in range(n)]


def set_cascade_activation_steepnesses(ann: LibFann, steepnesses: list[float]) -> None:
    library().fann_set_cascade_activation_steepnesses(
        ann.handle, _as_doubles(np.asarray(steepnesses)), len(steepnesses)
    )


def get_activation(ann: LibFann, layer: int, neuron: int) -> tuple[int, float]:
    """(activation function, steepness) of one neuron (``layer`` counts the input as 0)."""
    lib = library()
    return (
        int(lib.fann_get_activation_function(ann.handle, layer, neuron)),
        float(lib.fann_get_activation_steepness(ann.handle, layer, neuron)),
    )


def train_outputs(ann: LibFann, data: TrainData, desired_error: float) -> int:
    """``fann_train_outputs``: one output-training phase; returns its epochs."""
    return int(library().fann_train_outputs(ann.handle, data.pointer, desired_error))


def initialize_candidates(ann: LibFann) -> None:
    """``fann_initialize_candidates``: draw the candidate pool's weights."""
    if library().fann_initialize_candidates(ann.handle) != 0:
        _check(ann.handle, "fann_initialize_candidates")
        raise LibFannError("fann_initialize_candidates failed")


def train_candidates(ann: LibFann, data: TrainData) -> int:
    """``fann_train_candidates``: the candidate phase; returns its epochs."""
    return int(library().fann_train_candidates(ann.handle, data.pointer))


def install_candidate(ann: LibFann) -> None:
    """``fann_install_candidate``: add the best candidate before the outputs.

    Then ``fann_set_shortcut_connections``, which FANN itself runs only at the end
    of cascade training, so that the sources (and ``save``) are valid in between.
    """
    library().fann_install_candidate(ann.handle)
    library().fann_set_shortcut_connections(ann.handle)
