"""Reading and writing networks and training data, choosing the format for the caller.

Networks: FANN ``.net`` text or fannctl HDF5, told apart by content when loading
and by extension when saving (always atomically). Data: FANN ``.data`` (plain or
gzip), CSV/TSV, ``.npy``/``.npz`` and HDF5. One module per format sits beside this.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from fannctl.data import TrainingData
from fannctl.errors import FormatError, ParameterError, ShapeError
from fannctl.io._files import (
    GZIP_MAGIC,
    HDF5_MAGIC,
    NPY_MAGIC,
    ZIP_MAGIC,
    PathLike,
    atomic_write,
    atomic_write_path,
    decode_text,
    display_name,
    gunzip_if_needed,
    read_bytes,
    read_head,
)
from fannctl.io.fann_data import parse_data, read_data, sniff_header, write_data
from fannctl.io.fann_net import format_net, parse_net, read_net, write_net
from fannctl.io.tabular import Column, parse_table_bytes, read_inputs, read_table, write_table
from fannctl.network import Network

NETWORK_EXTENSIONS = {".net": "fann", ".h5": "hdf5", ".hdf5": "hdf5"}
TABLE_EXTENSIONS = (".csv", ".tsv", ".tab")
FANN_DATA_EXTENSIONS = (".data", ".train", ".test")


def network_format(path: PathLike) -> str:
    """``"fann"`` or ``"hdf5"`` for a network file name; ParameterError for others."""
    suffix = Path(os.fspath(path)).suffix.lower()
    if suffix not in NETWORK_EXTENSIONS:
        raise ParameterError(
            f"{path}: cannot tell the network format from the name; "
            "use a .net (FANN) or .h5/.hdf5 (fannctl HDF5) file name"
        )
    return NETWORK_EXTENSIONS[suffix]


def detect_format(path: PathLike) -> str:
    """``"hdf5"`` or ``"fann"`` for a network file, by content; ``"unknown"`` for ``-``."""
    if os.fspath(path) == "-":
        return "unknown"
    head = read_head(path, 8)
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith((b"FANN_FLO", b"FANN_FIX")):
        return "fann"
    raise FormatError(
        f"{display_name(path)}: not a network file (neither FANN .net text nor fannctl HDF5)"
    )


def load_network(path: PathLike) -> Network:
    """Load a network from a FANN ``.net`` or fannctl HDF5 file, told apart by content."""
    return _load_network(path)[0]


def _load_network(path: PathLike) -> tuple[Network, str]:
    """The network and the format it was read from (``fann`` or ``hdf5``)."""
    from fannctl.io.hdf5 import read_hdf5

    name = display_name(path)
    if os.fspath(path) == "-":
        raw = read_bytes(path)
        if raw.startswith(HDF5_MAGIC):
            return read_hdf5(io.BytesIO(raw)), "hdf5"
        return _parse_net_checked(raw, name), "fann"
    if detect_format(path) == "hdf5":
        return read_hdf5(path), "hdf5"
    return read_net(path), "fann"


def open_network(path: PathLike, dtype: str | None = None) -> Network:
    """Load a network for computing: in ``dtype`` if given, else the file's own.

    An HDF5 file stores its dtype. A ``.net`` file (named or on stdin) does
    not: it opens as float32 (FANN's float build) when its numbers are all
    float32 values, as a float build writes them, and as float64 otherwise, so
    nothing is rounded.
    """
    net, kind = _load_network(path)
    if dtype is None and kind == "fann":
        exact = all(
            np.array_equal(a.astype(np.float32).astype(a.dtype), a)
            for a in (net.weights, net.steepness)
        )
        dtype = "float32" if exact else None
    return net.astype(dtype) if dtype is not None else net


def check_network_target(path: PathLike) -> None:
    """Fail before any work when a network could not be saved at ``path``."""
    if os.fspath(path) == "-":
        raise ParameterError("a network cannot be written to stdout; name a .h5 or .net file")
    network_format(path)
    if os.path.isdir(path):
        raise ParameterError(f"{path}: is a directory")


def _parse_net_checked(raw: bytes, name: str) -> Network:
    if not raw.startswith((b"FANN_FLO", b"FANN_FIX")):
        raise FormatError(f"{name}: not a network file (neither FANN .net text nor fannctl HDF5)")
    return parse_net(decode_text(raw), name)


def save_network(net: Network, path: PathLike) -> None:
    """Save a network as ``.net`` or ``.h5``/``.hdf5`` by extension, atomically."""
    kind = network_format(path)
    if kind == "hdf5":
        from fannctl.io.hdf5 import write_hdf5

        write_hdf5(net, path)
    else:
        write_net(net, path)


def _data_kind(raw: bytes, name: str) -> str:
    """``"fann"``, ``"table"`` or ``"binary"`` for data already decompressed."""
    if raw.startswith((NPY_MAGIC, ZIP_MAGIC, HDF5_MAGIC)):
        return "binary"
    lower = name.lower().removesuffix(".gz")
    if lower.endswith(TABLE_EXTENSIONS):
        return "table"
    if lower.endswith(FANN_DATA_EXTENSIONS):
        return "fann"
    text = decode_text(raw)
    first = next((line for line in text[:4096].splitlines() if line.strip()), "")
    fields = first.split()
    if len(fields) != 3 or not all(field.isascii() and field.isdigit() for field in fields):
        return "table"
    if sniff_header(text) is not None:
        return "fann"
    # Three integers first, but the counts do not add up: a table of three columns,
    # or a broken .data file (whose parser then names the offending line).
    rows = [line.split() for line in text.splitlines() if line.strip()]
    return "table" if all(len(row) == 3 for row in rows) else "fann"


def load_data(
    path: PathLike,
    *,
    output_columns: list[Column] | None = None,
    num_outputs: int | None = None,
    delimiter: str | None = None,
) -> TrainingData:
    """Load training data: FANN ``.data`` (also gzip), CSV/TSV, ``.npy``/``.npz`` or HDF5.

    The format comes from the content (magic bytes, a FANN header) and the name;
    ``output_columns``/``num_outputs`` pick the outputs of a table (see read_table).
    """
    name = display_name(path)
    raw = gunzip_if_needed(read_bytes(path), name)
    if raw.startswith(GZIP_MAGIC):
        raise FormatError(f"{name}: gzip inside gzip is not supported")
    kind = _data_kind(raw, name)
    if kind == "fann":
        data = parse_data(decode_text(raw), name)
        if output_columns is not None:
            raise ParameterError(
                f"{name}: is a FANN .data file, whose header fixes the outputs; "
                "output columns apply to tables only"
            )
        if num_outputs is not None and num_outputs != data.num_output:
            raise ShapeError(
                f"{name}: has {data.num_output} outputs (FANN .data header), "
                f"but {num_outputs} are needed"
            )
        return data
    return parse_table_bytes(
        raw, name, output_columns=output_columns, num_outputs=num_outputs, delimiter=delimiter
    )


def save_data(data: TrainingData, path: PathLike, exact: bool = False) -> None:
    """Save training data, atomically; the name picks the format.

    ``.csv``/``.tsv``, ``.npz`` and ``.h5``/``.hdf5`` write tables or arrays; anything
    else (``.data``, ``-`` for stdout, ``.gz`` for gzip) is a FANN ``.data`` file,
    written as libfann does or, with ``exact``, with every value exact.
    """
    lower = os.fspath(path).lower()
    if lower.endswith((".csv", ".tsv", ".npz", ".h5", ".hdf5")):
        write_table(data, path)
    else:
        write_data(data, path, exact=exact)


__all__ = [
    "atomic_write",
    "atomic_write_path",
    "check_network_target",
    "detect_format",
    "format_net",
    "load_data",
    "load_network",
    "network_format",
    "open_network",
    "parse_data",
    "parse_net",
    "read_data",
    "read_inputs",
    "read_net",
    "read_table",
    "save_data",
    "save_network",
    "write_data",
    "write_net",
]
