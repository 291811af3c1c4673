"""Training data from tables: CSV/TSV text, ``.npy``/``.npz`` arrays, plain HDF5 files.

A text table may start with a header row (told apart by holding a field that is
not a number); its names can then pick the output columns. Without a choice the
last ``num_outputs`` columns (default 1) are the outputs and the rest the inputs.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile

import numpy as np

from fannctl.data import TrainingData
from fannctl.errors import FormatError, ParameterError, ShapeError
from fannctl.io._files import (
    HDF5_MAGIC,
    NPY_MAGIC,
    NUMBER_RE,
    ZIP_MAGIC,
    PathLike,
    atomic_write,
    atomic_write_path,
    decode_text,
    display_name,
    gunzip_if_needed,
    parse_number_fields,
    read_bytes,
    write_text_output,
)
from fannctl.io.fann_data import parse_data, sniff_header

DATA_FORMAT = "fannctl-data"
WHITESPACE = " "
_SAFE_TEXT = {
    ",": re.compile(r"[0-9eE+\-.\s,]*"),
    "\t": re.compile(r"[0-9eE+\-.\s]*"),
    ";": re.compile(r"[0-9eE+\-.\s;]*"),
    WHITESPACE: re.compile(r"[0-9eE+\-.\s]*"),
}

Column = int | str


# ---------------------------------------------------------------- text tables


def sniff_delimiter(text: str, name: str = "") -> str:
    """Guess a table's delimiter: tab, comma or semicolon if the first row has one, else blanks."""
    if name.endswith((".tsv", ".tsv.gz", ".tab")):
        return "\t"
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            for delimiter in ("\t", ",", ";"):
                if delimiter in line:
                    return delimiter
            return WHITESPACE
    return ","


def _rows(text: str, delimiter: str, name: str) -> list[tuple[int, list[str]]]:
    """Non-blank, non-comment rows with their line numbers."""
    rows = []
    if delimiter == WHITESPACE:
        for number, line in enumerate(text.split("\n"), start=1):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                rows.append((number, stripped.split()))
        return rows
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if fields[0].lstrip().startswith("#"):
                continue
            rows.append((reader.line_num, [field.strip() for field in fields]))
    except csv.Error as error:
        raise FormatError(f"{name}:{reader.line_num}: {error}") from None
    return rows


def _is_number(field: str) -> bool:
    return bool(NUMBER_RE.fullmatch(field.strip()))


def parse_table(
    text: str, name: str, *, delimiter: str | None = None
) -> tuple[list[str] | None, np.ndarray]:
    """Parse a text table into (header names or None, float64 2-D array)."""
    if delimiter is None:
        delimiter = sniff_delimiter(text, name)
    elif delimiter.strip() == "" or delimiter.lower() in ("whitespace", "space"):
        delimiter = WHITESPACE
    rows = _rows(text, delimiter, name)
    if not rows:
        raise FormatError(f"{name}:1: empty table: no rows of numbers")
    header: list[str] | None = None
    first_line, first = rows[0]
    if not all(_is_number(field) for field in first):
        header = first
        rows = rows[1:]
        if not rows:
            raise FormatError(f"{name}:{first_line}: table has a header row but no data")
    width = len(header) if header is not None else len(rows[0][1])
    for number, fields in rows:
        if len(fields) != width:
            raise FormatError(f"{name}:{number}: expected {width} columns, found {len(fields)}")
    data_start = rows[0][0]
    body = "\n".join(text.split("\n")[data_start - 1 :])
    pattern = _SAFE_TEXT.get(delimiter)
    if pattern is not None and pattern.fullmatch(body):
        try:
            values = np.array([fields for _, fields in rows], dtype=np.float64)
        except ValueError:
            values = None
        if values is not None and bool(np.isfinite(values).all()):
            return header, values.reshape(len(rows), width)
    values = np.array(
        [parse_number_fields(fields, name, number, "column") for number, fields in rows],
        dtype=np.float64,
    )
    return header, values.reshape(len(rows), width)


def resolve_output_columns(
    width: int,
    names: list[str] | None,
    output_columns: list[Column] | None,
    num_outputs: int | None,
    name: str,
) -> list[int]:
    """Indices of the output columns of a ``width``-column table, in the order asked."""
    if output_columns is None:
        count = 1 if num_outputs is None else int(num_outputs)
        if not 0 <= count < width:
            raise ShapeError(
                f"{name}: has {width} columns; {count} output columns would leave no inputs"
            )
        return list(range(width - count, width))
    indices: list[int] = []
    for column in output_columns:
        index = _column_index(column, width, names, name)
        if index in indices:
            raise ParameterError(f"{name}: output column {column!r} is given twice")
        indices.append(index)
    if num_outputs is not None and num_outputs != len(indices):
        raise ParameterError(
            f"{name}: {len(indices)} output columns named but num_outputs is {num_outputs}"
        )
    if len(indices) >= width:
        raise ShapeError(f"{name}: every one of its {width} columns is an output; no inputs left")
    return indices


def _column_index(column: Column, width: int, names: list[str] | None, name: str) -> int:
    if isinstance(column, str):
        if names is not None and column in names:
            return names.index(column)
        if not re.fullmatch(r"-?\d+", column.strip()):
            known = ", ".join(names) if names else "none: the table has no header row"
            raise ParameterError(f"{name}: no column named {column!r} (columns: {known})")
        column = int(column)
    if not -width <= column < width:
        raise ParameterError(f"{name}: column {column} does not exist (0 to {width - 1})")
    return column % width


def split_columns(values: np.ndarray, outputs: list[int], name: str) -> TrainingData:
    """Split a 2-D array into inputs (the other columns, in order) and outputs."""
    inputs = [index for index in range(values.shape[1]) if index not in outputs]
    return TrainingData(
        np.ascontiguousarray(values[:, inputs]), np.ascontiguousarray(values[:, outputs]), name
    )


# ---------------------------------------------------------------- binary arrays


def _checked_array(array: np.ndarray, what: str, name: str) -> np.ndarray:
    if array.dtype == np.bool_ or (
        np.issubdtype(array.dtype, np.number) and not np.issubdtype(array.dtype, np.complexfloating)
    ):
        result = np.asarray(array, dtype=np.float64)
    else:
        raise FormatError(f"{name}: array {what!r} holds {array.dtype}, not numbers")
    if result.ndim == 1:
        result = result.reshape(-1, 1)
    if result.ndim != 2:
        raise FormatError(f"{name}: array {what!r} must be 2-D, got shape {result.shape}")
    if result.size and not np.isfinite(result).all():
        row = int(np.argwhere(~np.isfinite(result))[0][0])
        raise FormatError(f"{name}: array {what!r} holds NaN or Inf (row {row + 1})")
    return result


def _pair(inputs: np.ndarray, outputs: np.ndarray, name: str) -> TrainingData:
    inputs = _checked_array(inputs, "inputs", name)
    outputs = _checked_array(outputs, "outputs", name)
    if inputs.shape[0] != outputs.shape[0]:
        raise ShapeError(
            f"{name}: 'inputs' has {inputs.shape[0]} rows but 'outputs' has {outputs.shape[0]}"
        )
    return TrainingData(inputs, outputs, name)


def _load_numpy(raw: bytes, name: str) -> dict[str, np.ndarray]:
    """The arrays of a ``.npy`` (key ``""``) or ``.npz`` file."""
    try:
        loaded = np.load(io.BytesIO(raw), allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"": loaded}
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise FormatError(f"{name}: cannot read numpy file: {error}") from None


def _load_hdf5_arrays(raw: bytes, name: str) -> dict[str, np.ndarray]:
    """The root datasets of a plain HDF5 data file."""
    import h5py

    try:
        with h5py.File(io.BytesIO(raw), "r") as handle:
            if _text(handle.attrs.get("format")) == "fannctl-network":
                raise FormatError(f"{name}: is a fannctl network file, not a data file")
            return {key: handle[key][()] for key in handle if isinstance(handle[key], h5py.Dataset)}
    except OSError as error:
        raise FormatError(f"{name}: cannot read HDF5 file: {error}") from None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _arrays_to_data(
    arrays: dict[str, np.ndarray],
    name: str,
    output_columns: list[Column] | None,
    num_outputs: int | None,
) -> TrainingData:
    if "inputs" in arrays and "outputs" in arrays:
        if output_columns is not None:
            raise ParameterError(
                f"{name}: holds separate 'inputs' and 'outputs'; output columns do not apply"
            )
        data = _pair(arrays["inputs"], arrays["outputs"], name)
        if num_outputs is not None and num_outputs != data.num_output:
            raise ShapeError(f"{name}: has {data.num_output} outputs, not {num_outputs}")
        return data
    if len(arrays) == 1:
        ((key, array),) = arrays.items()
        values = _checked_array(array, key or "array", name)
        outputs = resolve_output_columns(values.shape[1], None, output_columns, num_outputs, name)
        return split_columns(values, outputs, name)
    found = ", ".join(sorted(arrays)) or "nothing"
    raise FormatError(
        f"{name}: expected arrays 'inputs' and 'outputs' or a single 2-D array, found {found}"
    )


# ---------------------------------------------------------------- public API


def read_table(
    path: PathLike,
    *,
    output_columns: list[Column] | None = None,
    num_outputs: int | None = None,
    delimiter: str | None = None,
) -> TrainingData:
    """Read CSV/TSV (plain or gzip), ``.npy``/``.npz`` or HDF5 data into TrainingData."""
    name = display_name(path)
    return parse_table_bytes(
        read_bytes(path),
        name,
        output_columns=output_columns,
        num_outputs=num_outputs,
        delimiter=delimiter,
    )


def parse_table_bytes(
    raw: bytes,
    name: str,
    *,
    output_columns: list[Column] | None = None,
    num_outputs: int | None = None,
    delimiter: str | None = None,
) -> TrainingData:
    """Like :func:`read_table`, for a file already in memory."""
    raw = gunzip_if_needed(raw, name)
    if raw.startswith((NPY_MAGIC, ZIP_MAGIC)):
        return _arrays_to_data(_load_numpy(raw, name), name, output_columns, num_outputs)
    if raw.startswith(HDF5_MAGIC):
        return _arrays_to_data(_load_hdf5_arrays(raw, name), name, output_columns, num_outputs)
    header, values = parse_table(decode_text(raw), name, delimiter=delimiter)
    outputs = resolve_output_columns(values.shape[1], header, output_columns, num_outputs, name)
    return split_columns(values, outputs, name)


def read_inputs(path: PathLike, num_input: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Read inputs for ``run``: a ``.data`` file, or rows of exactly ``num_input`` numbers.

    Rows may be separated by blanks or commas (an all-text first row is a header and
    is skipped); ``.npy``/``.npz``/HDF5 files work too. Returns (inputs, outputs),
    with outputs None when the file has none.
    """
    name = display_name(path)
    raw = gunzip_if_needed(read_bytes(path), name)
    if raw.startswith((NPY_MAGIC, ZIP_MAGIC, HDF5_MAGIC)):
        loader = _load_hdf5_arrays if raw.startswith(HDF5_MAGIC) else _load_numpy
        arrays = loader(raw, name)
        outputs: np.ndarray | None = None
        if "inputs" in arrays and "outputs" in arrays:
            data = _pair(arrays["inputs"], arrays["outputs"], name)
            inputs, outputs = data.inputs, data.outputs
        elif "inputs" in arrays:
            inputs = _checked_array(arrays["inputs"], "inputs", name)
        elif len(arrays) == 1:
            ((key, array),) = arrays.items()
            inputs = _checked_array(array, key or "array", name)
        else:
            raise FormatError(f"{name}: expected an array 'inputs' or a single 2-D array")
        _check_width(inputs.shape[1], num_input, name)
        return inputs, outputs
    text = decode_text(raw)
    header = sniff_header(text)
    if header is not None and header.num_inputs == num_input:
        data = parse_data(text, name)
        return data.inputs, (data.outputs if data.num_output else None)
    try:
        return _parse_input_rows(text, num_input, name), None
    except FormatError:
        if header is not None:
            _check_width(header.num_inputs, num_input, name)
        raise


def _check_width(found: int, num_input: int, name: str) -> None:
    if found != num_input:
        raise ShapeError(f"{name}: has {found} inputs per pattern, but the network has {num_input}")


def _parse_input_rows(text: str, num_input: int, name: str) -> np.ndarray:
    rows = []
    first = True
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "," in stripped:
            fields = [field.strip() for field in stripped.split(",")]
            if fields and fields[-1] == "":
                fields.pop()  # a trailing comma
        else:
            fields = stripped.split()
        if first and not any(_is_number(field) for field in fields):
            first = False
            continue  # a header row
        first = False
        if len(fields) != num_input:
            raise FormatError(
                f"{name}:{number}: expected {num_input} input values (the network's inputs), "
                f"found {len(fields)}"
            )
        rows.append(parse_number_fields(fields, name, number))
    return np.array(rows, dtype=np.float64).reshape(len(rows), num_input)


def format_table(data: TrainingData, delimiter: str = ",") -> str:
    """Inputs then outputs as delimited text with exact (shortest round-trip) values."""
    from fannctl.io.fann_data import exact_number_strings

    block = np.hstack([np.asarray(data.inputs), np.asarray(data.outputs)])
    names = [f"x{i}" for i in range(data.num_input)] + [f"y{i}" for i in range(data.num_output)]
    lines = [delimiter.join(names)]
    width = block.shape[1]
    strings = exact_number_strings(block)
    lines += [delimiter.join(strings[r * width : (r + 1) * width]) for r in range(block.shape[0])]
    return "\n".join(lines) + "\n"


def write_table(data: TrainingData, path: PathLike) -> None:
    """Write data as ``.csv``/``.tsv`` (header x0.., y0..), ``.npz`` or ``.h5``, atomically."""
    target = os.fspath(path)
    lower = str(target).lower()
    if lower.endswith(".npz"):

        def write_npz(handle: io.BufferedIOBase) -> None:
            np.savez(handle, inputs=data.inputs, outputs=data.outputs)

        atomic_write(target, write_npz)  # type: ignore[arg-type]
    elif lower.endswith((".h5", ".hdf5")):
        atomic_write_path(target, lambda tmp: _write_hdf5_data(data, tmp))
    else:
        delimiter = "\t" if lower.endswith(".tsv") else ","
        write_text_output(target, format_table(data, delimiter))


def _write_hdf5_data(data: TrainingData, filename: str) -> None:
    import h5py

    from fannctl import __version__

    with h5py.File(filename, "w") as handle:
        handle.attrs["format"] = DATA_FORMAT
        handle.attrs["schema_version"] = 1
        handle.attrs["fannctl_version"] = __version__
        handle.create_dataset("inputs", data=np.asarray(data.inputs, dtype=np.float64))
        handle.create_dataset("outputs", data=np.asarray(data.outputs, dtype=np.float64))


__all__ = [
    "format_table",
    "parse_table",
    "parse_table_bytes",
    "read_inputs",
    "read_table",
    "resolve_output_columns",
    "sniff_delimiter",
    "split_columns",
    "write_table",
]
