"""Reading and writing networks and training data, choosing the format for the caller.

Networks: FANN ``.net`` text or fannctl HDF5, told apart by content when loading
and by extension when saving (always atomically). Data: FANN ``.data`` (plain or
gzip), CSV/TSV, ``.npy``/``.npz`` and HDF5. One module per format sits beside this.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tokenize
import zipfile
from pathlib import Path

import numpy as np

from fannctl.data import TrainingData
from fannctl.errors import FannctlError, FormatError, ParameterError, ShapeError
from fannctl.io import tabular
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
    run_guarded,
)
from fannctl.io.fann_data import parse_data, read_data, sniff_header, write_data
from fannctl.io.fann_net import format_net, parse_net, read_net, write_net
from fannctl.io.tabular import Column, parse_table_bytes, read_table, write_table
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
            return read_hdf5(io.BytesIO(raw), len(raw)), "hdf5"
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

    def parse() -> TrainingData:
        check_binary_claims(raw, name)
        with malformed_as_format_error(name):
            return parse_table_bytes(
                raw,
                name,
                output_columns=output_columns,
                num_outputs=num_outputs,
                delimiter=delimiter,
            )

    if raw.startswith(HDF5_MAGIC):  # the HDF5 library may hang or crash on damage
        import h5py  # noqa: F401  (loaded here once, not in every child)

        return run_guarded(parse, name, len(raw))
    return parse()


def read_inputs(path: PathLike, num_input: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs for ``run`` (see ``tabular.read_inputs``), hostile binary files refused first."""
    name = display_name(path)
    raw = b""
    if os.fspath(path) != "-" and read_head(path, 8).startswith(
        (NPY_MAGIC, ZIP_MAGIC, HDF5_MAGIC, GZIP_MAGIC)
    ):
        raw = gunzip_if_needed(read_bytes(path), name)

    def parse() -> tuple[np.ndarray, np.ndarray | None]:
        check_binary_claims(raw, name)
        with malformed_as_format_error(name):
            return tabular.read_inputs(path, num_input)

    if raw.startswith(HDF5_MAGIC):  # the HDF5 library may hang or crash on damage
        import h5py  # noqa: F401  (loaded here once, not in every child)

        return run_guarded(parse, name, len(raw))
    return parse()


# What numpy, zipfile and h5py raise for a damaged file (numpy's header parser
# raises tokenize and syntax errors from ast.literal_eval).
MALFORMED_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OSError,
    EOFError,
    RuntimeError,
    OverflowError,
    UnicodeError,
    SyntaxError,
    SystemError,
    MemoryError,
    zipfile.BadZipFile,
    tokenize.TokenError,
)


@contextlib.contextmanager
def malformed_as_format_error(name: str):
    """Turn a parsing library's own error on a damaged file into one FormatError line."""
    try:
        yield
    except FannctlError:
        raise
    except MALFORMED_ERRORS as error:
        text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        detail = text.splitlines()[0] if text.strip() else type(error).__name__
        raise FormatError(f"{name}: malformed file ({detail})") from None


def check_binary_claims(raw: bytes, name: str) -> None:
    """Refuse a ``.npy``/``.npz``/HDF5 file whose headers claim more values than it holds.

    numpy and h5py allocate what a header declares before reading a byte of it;
    a few hundred bytes claiming 10**11 values would ask for terabytes.
    """
    with malformed_as_format_error(name):
        if raw.startswith(NPY_MAGIC):
            _check_npy(io.BytesIO(raw), len(raw), name)
        elif raw.startswith(ZIP_MAGIC):
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                for info in archive.infolist():
                    with archive.open(info) as member:
                        if member.read(len(NPY_MAGIC)) != NPY_MAGIC:
                            continue
                    with archive.open(info) as member:
                        _check_npy(member, info.file_size, f"{name}: {info.filename}")
        elif raw.startswith(HDF5_MAGIC):
            import h5py

            from fannctl.io.hdf5 import H5_ERRORS, check_dataset_sizes, h5_detail

            try:
                with h5py.File(io.BytesIO(raw), "r") as root:
                    check_dataset_sizes(root, name, len(raw))
            except H5_ERRORS as error:
                detail = h5_detail(error)
                raise FormatError(f"{name}: not a readable HDF5 file ({detail})") from None


def _check_npy(handle, size: int, name: str) -> None:
    from numpy.lib import format as npy_format

    version = npy_format.read_magic(handle)
    if version == (1, 0):
        shape, _, dtype = npy_format.read_array_header_1_0(handle)
    elif version == (2, 0):
        shape, _, dtype = npy_format.read_array_header_2_0(handle)
    else:
        raise FormatError(f"{name}: unsupported .npy version {version}")
    if dtype.hasobject:
        raise FormatError(f"{name}: holds Python objects, not numbers")
    claimed = math.prod(int(n) for n in shape) * dtype.itemsize
    held = size - handle.tell()
    if claimed > held:
        raise FormatError(
            f"{name}: header claims shape {tuple(shape)} ({claimed} bytes) "
            f"but the file holds {max(held, 0)} bytes of data"
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
    "check_binary_claims",
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
