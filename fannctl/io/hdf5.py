"""fannctl's HDF5 network file: everything a ``.net`` holds plus dtype, state, history
and provenance, in the versioned layout described in ``docs/HDF5_SCHEMA.md``.

Scalars are attributes, arrays are datasets, free-form records are JSON strings,
so ``h5dump`` shows it all. h5py is imported inside the functions that need it.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import os
from typing import IO, Any

import numpy as np

from fannctl.errors import FannctlError, FormatError
from fannctl.io._files import HDF5_MAGIC, PathLike, atomic_write, display_name, run_guarded
from fannctl.network import DTYPES, Network, Scaling, TrainState, validate
from fannctl.params import TrainingParams

FORMAT = "fannctl-network"
DATA_FORMAT = "fannctl-data"
SCHEMA_VERSION = 1
NETWORK_ARRAYS = ("layers", "activation", "steepness", "num_inputs", "sources", "weights")
HISTORY_COLUMNS: dict[str, type] = {
    "epoch": int,
    "mse": float,
    "bit_fail": int,
    "seconds": float,
    "algorithm": str,
}
ABSENT_KEY = "__absent__"


# ---------------------------------------------------------------- JSON helpers


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return str(value)


def to_json(value: Any) -> str:
    """JSON text for a record (numpy values become numbers and lists)."""
    return json.dumps(value, default=_json_default, sort_keys=False)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value.item())
    return str(value)


def _scalar(value: Any) -> Any:
    """An attribute value as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------- writing


def write_hdf5(net: Network, path: PathLike | IO[bytes]) -> None:
    """Write ``net`` as a fannctl HDF5 network file (atomically when given a path)."""
    validate(net)
    if hasattr(path, "write"):
        _write_file(net, path)
        return
    # Built in memory, then written with plain file I/O: the HDF5 library, when a
    # write fails (a full disk), raises from its close and can then crash the
    # process; a failed os write is one clean "cannot write" line instead.
    buffer = io.BytesIO()
    _write_file(net, buffer)
    payload = buffer.getbuffer()
    atomic_write(os.fspath(path), lambda handle: handle.write(payload))  # type: ignore[arg-type]


def _write_file(net: Network, target: str | IO[bytes]) -> None:
    import h5py

    from fannctl import __version__

    dtype = np.dtype(net.dtype)
    if dtype.name not in DTYPES:
        raise FannctlError(f"cannot store a {dtype.name} network; use float32 or float64")
    with h5py.File(target, "w") as root:
        root.attrs["format"] = FORMAT
        root.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
        root.attrs["fannctl_version"] = __version__
        root.attrs["dtype"] = dtype.name
        _write_network(root.create_group("network"), net, dtype)
        _write_params(root.create_group("params"), net.params)
        if net.scaling is not None:
            _write_scaling(root.create_group("scaling"), net.scaling)
        _write_state(root.create_group("state"), net.state)
        _write_history(root.create_group("history"), net.history)
        _write_strings(root, "provenance", [to_json(record) for record in net.provenance])


def _write_network(group: Any, net: Network, dtype: np.dtype) -> None:
    group.attrs["network_type"] = np.int64(net.network_type)
    group.attrs["connection_rate"] = np.float64(net.connection_rate)
    group.create_dataset("layers", data=np.asarray(net.layers, dtype=np.int64))
    group.create_dataset("activation", data=np.asarray(net.activation, dtype=np.int32))
    group.create_dataset("steepness", data=np.asarray(net.steepness, dtype=dtype))
    group.create_dataset("num_inputs", data=np.asarray(net.num_inputs, dtype=np.int64))
    group.create_dataset("sources", data=np.asarray(net.sources, dtype=np.int64))
    group.create_dataset("weights", data=np.asarray(net.weights, dtype=dtype))


def _write_params(group: Any, params: TrainingParams) -> None:
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        if isinstance(value, (list, tuple, np.ndarray)):
            array = np.asarray(value)
            if array.dtype.kind in "iub":
                array = array.astype(np.int64)
            else:
                array = array.astype(np.float64)
            group.create_dataset(field.name, data=array)
        elif isinstance(value, str):
            group.attrs[field.name] = value
        elif isinstance(value, (bool, np.bool_)):
            group.attrs[field.name] = np.bool_(value)
        elif isinstance(value, (int, np.integer)):
            group.attrs[field.name] = np.int64(value)
        else:
            group.attrs[field.name] = np.float64(value)


def _write_scaling(group: Any, scaling: Scaling) -> None:
    for name in Scaling.FIELDS:
        group.create_dataset(name, data=np.asarray(getattr(scaling, name), dtype=np.float64))
    if scaling.input_range is not None:  # optional: the range the inputs were scaled on
        group.create_dataset("input_range", data=np.asarray(scaling.input_range, np.float64))


def _write_state(group: Any, state: TrainState) -> None:
    group.attrs["sarprop_epoch"] = np.int64(state.sarprop_epoch)
    if state.prev_error is not None:
        group.attrs["prev_error"] = np.float64(state.prev_error)
    if state.rng_state is not None:
        group.attrs["rng_state"] = to_json(state.rng_state)
    if state.run is not None:
        group.attrs["run"] = to_json(state.run)
    for name in TrainState.ARRAYS:
        array = getattr(state, name)
        if array is not None:
            group.create_dataset(name, data=np.asarray(array))


def _fits_column(value: Any, kind: type) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if kind is int:
        return isinstance(value, (int, np.integer)) and -(2**63) <= int(value) < 2**63
    if kind is float:
        return isinstance(value, (float, np.floating))
    # HDF5 strings end at a NUL; such text goes to the JSON column, which escapes it.
    return isinstance(value, str) and "\x00" not in value


def _write_history(group: Any, history: list[dict]) -> None:
    columns: dict[str, list[Any]] = {key: [] for key in HISTORY_COLUMNS}
    extras: list[str] = []
    for record in history:
        extra = {key: value for key, value in record.items() if key not in HISTORY_COLUMNS}
        absent = []
        for key, kind in HISTORY_COLUMNS.items():
            value = record.get(key)
            if key in record and _fits_column(value, kind):
                columns[key].append(kind(value))
                continue
            columns[key].append(kind())  # a placeholder; the record keeps the real value
            if key in record:
                extra[key] = value
            else:
                absent.append(key)
        if absent:
            extra[ABSENT_KEY] = absent
        extras.append(to_json(extra) if extra else "")
    group.create_dataset("epoch", data=np.asarray(columns["epoch"], dtype=np.int64))
    group.create_dataset("mse", data=np.asarray(columns["mse"], dtype=np.float64))
    group.create_dataset("bit_fail", data=np.asarray(columns["bit_fail"], dtype=np.int64))
    group.create_dataset("seconds", data=np.asarray(columns["seconds"], dtype=np.float64))
    _write_strings(group, "algorithm", columns["algorithm"])
    _write_strings(group, "extra", extras)


def _write_strings(group: Any, name: str, values: list[str]) -> None:
    import h5py

    group.create_dataset(name, shape=(len(values),), dtype=h5py.string_dtype(), data=values or None)


# ---------------------------------------------------------------- reading


# What h5py (and the HDF5 library under it) raises for a damaged file: its own
# errors derive from these, whatever the damage ("bad symbol table node signature"
# is a RuntimeError, "ran off end of input buffer" an OSError, a damaged object
# header a KeyError).
H5_ERRORS = (
    OSError,
    KeyError,
    RuntimeError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    OverflowError,
    UnicodeError,
    SystemError,
)
# Filters (gzip and the like) can store a dataset in fewer bytes than it holds;
# no deflate stream expands more than about 1032 to 1.
MAX_FILTER_RATIO = 1100
SMALL_DATASET = 1 << 20


def h5_detail(error: BaseException) -> str:
    """The first line of an h5py error, for a message that names the file first."""
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return text.splitlines()[0] if text.strip() else type(error).__name__


def read_hdf5(path: PathLike | IO[bytes], size: int | None = None) -> Network:
    """Read a fannctl HDF5 network file (a path, or a binary file object of ``size`` bytes).

    The HDF5 library runs in a forked child (``run_guarded``): a damaged file
    that makes it hang or crash is one FormatError, not a hung command.
    """
    name = display_name(path) if not hasattr(path, "read") else "<stream>"
    if not hasattr(path, "read"):
        _check_magic(os.fspath(path), name)  # type: ignore[arg-type]
        size = os.path.getsize(os.fspath(path))  # type: ignore[arg-type]
    import h5py  # noqa: F401  (loaded here once, not in every child)

    return run_guarded(lambda: _read_hdf5(path, name, size), name, size or 0)


def _read_hdf5(path: PathLike | IO[bytes], name: str, size: int | None) -> Network:
    import h5py

    try:
        root = h5py.File(path, "r")  # type: ignore[arg-type]
    except H5_ERRORS as error:
        raise FormatError(f"{name}: not a readable HDF5 file ({h5_detail(error)})") from None
    try:
        with root:
            check_network_root(root, name)
            check_dataset_sizes(root, name, size)
            return _read_network(root, name, size)
    except FannctlError:
        raise
    except H5_ERRORS as error:
        raise FormatError(f"{name}: broken fannctl network file ({h5_detail(error)})") from None


def check_stored(dataset: Any, name: str, file_size: int | None) -> None:
    """Refuse a dataset that claims more values than the file stores for it.

    The shape in a dataset's header is only a claim: a damaged or hostile file
    can declare 10**11 values in a few hundred bytes, and reading would allocate
    them first. The bytes stored for the dataset (at most the file's size) must
    hold the values (filters allowed their best compression).
    """
    claimed = int(dataset.size) * int(dataset.dtype.itemsize)
    if claimed <= SMALL_DATASET:
        return
    stored = int(dataset.id.get_storage_size())
    if file_size is not None:
        stored = min(stored, file_size)
    ratio = MAX_FILTER_RATIO if dataset.compression or dataset.scaleoffset else 1
    if claimed > stored * ratio:
        raise FormatError(
            f"{name}: dataset {dataset.name} claims {dataset.shape} values "
            f"({claimed} bytes) but the file stores {stored} bytes for it"
        )


def read_dataset(dataset: Any, name: str, file_size: int | None) -> np.ndarray:
    """A dataset's values, once the file shows it holds them (see :func:`check_stored`)."""
    check_stored(dataset, name, file_size)
    return dataset[()]


def check_dataset_sizes(root: Any, name: str, file_size: int | None) -> None:
    """Refuse a file any of whose datasets claims more values than it stores."""
    import h5py

    def visit(_key: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset):
            check_stored(item, name, file_size)

    root.visititems(visit)


def _check_magic(path: str, name: str) -> None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(HDF5_MAGIC))
    except FileNotFoundError:
        raise FannctlError(f"{name}: no such file") from None
    except OSError as error:
        raise FannctlError(f"{name}: cannot read: {error.strerror or error}") from None
    if head != HDF5_MAGIC:
        raise FormatError(f"{name}: not an HDF5 file")


def check_network_root(root: Any, name: str) -> None:
    """Raise FormatError unless ``root`` is a fannctl network file this version can read."""
    found = root.attrs.get("format")
    if found is None:
        raise FormatError(f'{name}: foreign HDF5 file (no format="{FORMAT}" attribute)')
    found = _text(found)
    if found == DATA_FORMAT:
        raise FormatError(f"{name}: is a fannctl data file, not a network file")
    if found != FORMAT:
        raise FormatError(f'{name}: foreign HDF5 file (format="{found}", not "{FORMAT}")')
    version = _scalar(root.attrs.get("schema_version"))
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"{name}: bad schema_version {version!r} in fannctl network file")
    if version > SCHEMA_VERSION:
        raise FormatError(
            f"{name}: schema_version {version} is newer than this fannctl reads "
            f"({SCHEMA_VERSION}); upgrade fannctl"
        )


def _read_network(root: Any, name: str, size: int | None = None) -> Network:
    dtype_name = _text(root.attrs["dtype"]) if "dtype" in root.attrs else "float32"
    if dtype_name not in DTYPES:
        raise FormatError(f"{name}: unknown dtype {dtype_name!r} (float32 or float64)")
    dtype = np.dtype(DTYPES[dtype_name])
    group = root["/network"]
    arrays = {}
    for key in NETWORK_ARRAYS:
        if key not in group:
            raise FormatError(f"{name}: broken fannctl network file: missing /network/{key}")
        arrays[key] = read_dataset(group[key], name, size)
        if arrays[key].ndim != 1:
            raise FormatError(f"{name}: /network/{key} is not a 1-D array")
    net = Network(
        layers=[int(n) for n in arrays["layers"]],
        network_type=int(_scalar(group.attrs["network_type"])),
        connection_rate=float(_scalar(group.attrs["connection_rate"])),
        activation=arrays["activation"].astype(np.int32),
        steepness=arrays["steepness"].astype(dtype),
        num_inputs=arrays["num_inputs"].astype(np.int64),
        sources=arrays["sources"].astype(np.int64),
        weights=arrays["weights"].astype(dtype),
        params=_read_params(root["/params"]) if "params" in root else TrainingParams(),
        scaling=_read_scaling(root["/scaling"]) if "scaling" in root else None,
        state=_read_state(root["/state"], name) if "state" in root else TrainState(),
        history=_read_history(root["/history"], name) if "history" in root else [],
        provenance=[_loads(text, name) for text in _strings(root, "provenance")],
    )
    try:
        validate(net)
    except FormatError as error:
        raise FormatError(f"{name}: {error}") from None
    for key in TrainState.ARRAYS:
        array = getattr(net.state, key)
        if array is not None and array.shape != net.weights.shape:
            raise FormatError(
                f"{name}: /state/{key} has shape {array.shape}, "
                f"but the network has {net.weights.size} connections"
            )
    return net


def _read_params(group: Any) -> TrainingParams:
    values: dict[str, Any] = {key: _scalar(value) for key, value in group.attrs.items()}
    for key in group:
        array = group[key][()]
        cast = int if array.dtype.kind in "iu" else float
        values[key] = [cast(x) for x in array.tolist()]
    return TrainingParams.from_dict(values)


def _read_scaling(group: Any) -> Scaling:
    scaling = Scaling(*(np.asarray(group[key][()], dtype=np.float64) for key in Scaling.FIELDS))
    if "input_range" in group:
        found = np.asarray(group["input_range"][()], dtype=np.float64)
        if found.shape == (2, scaling.mean_in.size):
            scaling.input_range = found
    return scaling


def _read_state(group: Any, name: str) -> TrainState:
    state = TrainState(sarprop_epoch=int(_scalar(group.attrs.get("sarprop_epoch", 0))))
    if "prev_error" in group.attrs:
        state.prev_error = float(_scalar(group.attrs["prev_error"]))
    if "rng_state" in group.attrs:
        state.rng_state = _loads(_text(group.attrs["rng_state"]), name)
    if "run" in group.attrs:
        state.run = _loads(_text(group.attrs["run"]), name)
        if not isinstance(state.run, dict):
            raise FormatError(f"{name}: /state run record is not a JSON object")
    for key in TrainState.ARRAYS:
        if key in group:
            setattr(state, key, group[key][()])
    return state


def _strings(group: Any, key: str) -> list[str]:
    if key not in group:
        return []
    dataset = group[key]
    if dataset.shape == (0,):
        return []
    return [_text(value) for value in dataset.asstr()[()].tolist()]


def _loads(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FormatError(f"{name}: bad JSON record in HDF5 file ({error})") from None


def _read_history(group: Any, name: str) -> list[dict]:
    columns = {
        "epoch": [int(x) for x in group["epoch"][()].tolist()],
        "mse": [float(x) for x in group["mse"][()].tolist()],
        "bit_fail": [int(x) for x in group["bit_fail"][()].tolist()],
        "seconds": [float(x) for x in group["seconds"][()].tolist()],
        "algorithm": _strings(group, "algorithm"),
    }
    extras = _strings(group, "extra")
    count = len(columns["epoch"])
    if any(len(column) != count for column in columns.values()) or len(extras) != count:
        raise FormatError(f"{name}: history columns have different lengths")
    history = []
    for row in range(count):
        extra = _loads(extras[row], name) if extras[row] else {}
        absent = set(extra.pop(ABSENT_KEY, []))
        record = {key: columns[key][row] for key in HISTORY_COLUMNS if key not in absent}
        record.update(extra)
        history.append(record)
    return history


def hdf5_bytes(net: Network) -> bytes:
    """The HDF5 file for ``net`` as bytes (for ``-`` and tests)."""
    buffer = io.BytesIO()
    write_hdf5(net, buffer)
    return buffer.getvalue()


__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "check_dataset_sizes",
    "check_network_root",
    "hdf5_bytes",
    "read_hdf5",
    "write_hdf5",
]
