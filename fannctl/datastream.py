"""Data sets a block at a time: sources that read any data file in bounded pieces,
writers that write every format block by block, and a disk spool for the rest.

A source yields blocks of at most ``BLOCK_PATTERNS`` patterns as float64
(inputs, outputs), the same numbers ``io.load_data`` gives. What streams:

- FANN ``.data`` (plain or gzip): through ``stream.read_blocks``' parser, the
  pattern count from the header;
- CSV/TSV/whitespace tables (plain or gzip): through ``stream``'s row parser,
  the delimiter, header row and output columns chosen as ``io.tabular`` does;
- ``.npy`` (not gzipped): memory-mapped, so rows can also be fetched anywhere;
- HDF5 (not gzipped): each block read by a forked child (``run_guarded``), as
  every HDF5 read is.

Anything else is read whole by ``io.load_data`` (stdin, ``.npz``, gzipped
binaries, a file named neither ``.data`` nor ``.csv``/``.tsv`` whose first
line is three integers: a FANN header or a three-column table, which only the
whole file tells). A source that meets something its streaming reader does not
take (a FANN file laid out with several pairs on a line, a quoted field over
two lines, a semicolon table, a damaged file) raises ``NotStreamable`` or the
reader's ``FormatError``; the caller then does the work with the whole-file
reader, whose answer (the data, or today's error naming FILE:LINE) is the
reference.

Writers take the pattern count up front (FANN's header and the ``.npy``/HDF5
shapes need it); a source that cannot say it (a table) is first copied into a
``Spool``: raw float64 rows in an unnamed temporary file, memory-mapped. Every
output is written through ``io.atomic_write_path``: temp file, fsync, rename.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from fannctl import stream
from fannctl.data import TrainingData
from fannctl.errors import FannctlError, FormatError
from fannctl.io._files import (
    GZIP_MAGIC,
    HDF5_MAGIC,
    NPY_MAGIC,
    ZIP_MAGIC,
    PathLike,
    atomic_write_path,
    decode_text,
    display_name,
    run_guarded,
)

BLOCK_PATTERNS = 65536
"""The most patterns in one block (a block of 125 float64 columns is 64 MiB)."""
TABLE_EXTENSIONS = (".csv", ".tsv", ".tab")
FANN_DATA_EXTENSIONS = (".data", ".train", ".test")
COPY_SIZE = 1 << 20


class NotStreamable(FannctlError):
    """The streaming reader does not take this file; read it whole instead."""


def block_size(block_patterns: int | None) -> int:
    """The block size to use: the one given, else the module's ``BLOCK_PATTERNS``."""
    return int(block_patterns or BLOCK_PATTERNS)


# ---------------------------------------------------------------- sources


@dataclass
class Source:
    """A data set read in blocks: sizes known up front, the count when the format says it."""

    name: str
    num_input: int
    num_output: int
    count: int | None
    read: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]
    rows: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    """Random access (memory-mapped sources): the patterns at these positions."""
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def blocks(self) -> Iterator[TrainingData]:
        """The patterns in order, a block at a time (each pass reads the file again)."""
        for inputs, outputs in self.read():
            if inputs.shape[0]:
                yield TrainingData(inputs, outputs, self.name)

    def close(self) -> None:
        for step in self.cleanup:
            step()


def open_source(
    path: PathLike,
    *,
    output_columns: list[int | str] | None = None,
    num_outputs: int | None = None,
    block_patterns: int | None = None,
) -> Source:
    """A streaming source for ``path``; NotStreamable where only a whole read will do."""
    name = display_name(path)
    size = block_size(block_patterns)
    if os.fspath(path) == "-":
        raise NotStreamable(f"{name}: stdin is read whole")
    chunks = stream._byte_chunks(path)
    first = next(chunks, b"")
    zipped = first.startswith(GZIP_MAGIC)
    if zipped:
        chunks = stream._gunzip(stream._chain(first, chunks), name)
        first = next(chunks, b"")
        if first.startswith(GZIP_MAGIC):
            raise NotStreamable(f"{name}: gzip inside gzip")
    chunks.close()
    if first.startswith((NPY_MAGIC, ZIP_MAGIC, HDF5_MAGIC)):
        if zipped or first.startswith(ZIP_MAGIC):
            raise NotStreamable(f"{name}: a zip archive or a gzipped binary is read whole")
        if first.startswith(NPY_MAGIC):
            return _npy_source(path, name, output_columns, num_outputs, size)
        return _hdf5_source(path, name, output_columns, num_outputs, size)
    lower = name.lower().removesuffix(".gz")
    if lower.endswith(TABLE_EXTENSIONS):
        return _table_source(path, name, first, output_columns, num_outputs, size)
    if lower.endswith(FANN_DATA_EXTENSIONS):
        return _fann_source(path, name, first, zipped, output_columns, num_outputs, size)
    head = decode_text(first[:4096])
    line = next((text for text in head.splitlines() if text.strip()), "")
    fields = line.split()
    if len(fields) == 3 and all(f.isascii() and f.isdigit() for f in fields):
        raise NotStreamable(f"{name}: a FANN header or a three-column table: read whole")
    return _table_source(path, name, first, output_columns, num_outputs, size)


def whole_source(data: TrainingData, block_patterns: int | None = None) -> Source:
    """A source over data already in memory (what the whole-file reader gave)."""
    size = block_size(block_patterns)
    inputs, outputs = np.asarray(data.inputs), np.asarray(data.outputs)

    def read() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, inputs.shape[0], size):
            yield inputs[start : start + size], outputs[start : start + size]

    return Source(
        data.source or "data",
        data.num_input,
        data.num_output,
        data.num_patterns,
        read,
        lambda rows: (inputs[rows], outputs[rows]),
    )


def _fann_source(path, name, first, zipped, output_columns, num_outputs, size) -> Source:
    """FANN ``.data``: the header from the first line, the pairs by ``stream``'s parser."""
    line = next((text for text in decode_text(first).split("\n") if text.strip()), None)
    fields = [] if line is None else line.split()
    if (
        output_columns is not None
        or len(fields) != 3
        or not all(f.isascii() and f.isdigit() for f in fields)
        or int(fields[1]) < 1
        or (num_outputs is not None and num_outputs != int(fields[2]))
    ):
        raise NotStreamable(f"{name}: read whole (its header, or the options, say so)")
    count, num_input, num_output = (int(f) for f in fields)
    # a header's claims are checked against the file before a writer trusts them: a
    # value takes two bytes at least ("0 "), gzip shrinks text at most ~1032 times
    room = os.path.getsize(os.fspath(path)) * (1032 if zipped else 1)
    if count * (num_input + num_output) * 2 > room:
        raise NotStreamable(f"{name}: the header claims more than the file holds")

    def read() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        blocks = stream.read_blocks(
            path, num_input, num_output, input_format="fann", targets=True, block_patterns=size
        )
        for block in blocks:
            assert block.targets is not None
            yield block.inputs, block.targets

    return Source(name, num_input, num_output, count, read)


def _table_source(path, name, first, output_columns, num_outputs, size) -> Source:
    """A text table: delimiter, header row and width from its first complete lines (as
    ``io.tabular`` chooses them), the rows by ``stream``'s row parser."""
    from fannctl.io import tabular

    end = first.rfind(b"\n")
    if end < 0:
        raise NotStreamable(f"{name}: first line longer than one read")
    text = decode_text(first[: end + 1])
    delimiter = tabular.sniff_delimiter(text, name)
    if delimiter not in (",", "\t", tabular.WHITESPACE):
        raise NotStreamable(f"{name}: a {delimiter!r}-separated table is read whole")
    header, values = tabular.parse_table(text, name, delimiter=delimiter)
    width = len(header) if header is not None else values.shape[1]
    outputs = tabular.resolve_output_columns(width, header, output_columns, num_outputs, name)
    fmt = {",": "csv", "\t": "tsv"}.get(delimiter, "raw")

    def read() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        parser = stream._RowParser(name, fmt, width, 0, False, header is not None)
        chunks = stream._byte_chunks(path)
        head = next(chunks, b"")
        if head.startswith(GZIP_MAGIC):
            chunks = stream._gunzip(stream._chain(head, chunks), name)
            head = next(chunks, b"")
        for first_line, batch in stream._line_batches(stream._chain(head, chunks), name, size):
            if fmt == "raw" and any(b"," in line for line in batch):
                raise NotStreamable(f"{name}: commas in a blank-separated table")
            block = parser.parse(first_line, batch)
            if block is not None and block.num_patterns:
                data = tabular.split_columns(block.inputs, outputs, name)
                yield data.inputs, data.outputs

    return Source(name, width - len(outputs), len(outputs), None, read)


def _numeric(dtype: np.dtype) -> bool:
    return dtype == np.bool_ or (
        np.issubdtype(dtype, np.number) and not np.issubdtype(dtype, np.complexfloating)
    )


def _finite(block: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(block, dtype=np.float64)
    if not np.isfinite(values).all():
        raise FormatError(f"{name}: holds NaN or Inf")  # the whole read names the row
    return values


def _npy_source(path, name, output_columns, num_outputs, size) -> Source:
    """A ``.npy`` file, memory-mapped: blocks in order, or rows anywhere."""
    from fannctl.io import tabular

    try:
        array = np.load(os.fspath(path), mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise NotStreamable(f"{name}: {error}") from None
    if not _numeric(array.dtype) or array.ndim not in (1, 2):
        raise NotStreamable(f"{name}: not a 2-D array of numbers")
    values = array.reshape(-1, 1) if array.ndim == 1 else array
    width = values.shape[1]
    outputs = tabular.resolve_output_columns(width, None, output_columns, num_outputs, name)

    def split(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        data = tabular.split_columns(_finite(rows, name), outputs, name)
        return data.inputs, data.outputs

    def read() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, values.shape[0], size):
            yield split(values[start : start + size])

    return Source(
        name, width - len(outputs), len(outputs), values.shape[0], read, lambda r: split(values[r])
    )


def _hdf5_source(path, name, output_columns, num_outputs, size) -> Source:
    """A plain HDF5 data file: its layout read once, then each block, in a forked child."""
    from fannctl.io import tabular

    target = os.fspath(path)
    length = os.path.getsize(target)

    def layout() -> dict[str, tuple[tuple[int, ...], str]] | None:
        import h5py

        from fannctl.io.hdf5 import check_dataset_sizes

        with h5py.File(target, "r") as handle:
            check_dataset_sizes(handle, name, length)  # claims against the file's bytes
            if tabular._text(handle.attrs.get("format", "")) == "fannctl-network":
                return None
            return {
                key: (tuple(handle[key].shape), handle[key].dtype.str)
                for key in handle
                if isinstance(handle[key], h5py.Dataset)
            }

    try:
        found = run_guarded(layout, name, 0)
    except (FormatError, OSError, ValueError, KeyError) as error:
        raise NotStreamable(f"{name}: {error}") from None
    if not found:
        raise NotStreamable(f"{name}: not a data file")
    shapes = {k: shape for k, (shape, dtype) in found.items() if _numeric(np.dtype(dtype))}
    if any(len(shape) not in (1, 2) for shape in shapes.values()):
        raise NotStreamable(f"{name}: not 2-D arrays")

    def width_of(key: str) -> int:
        return 1 if len(shapes[key]) == 1 else shapes[key][1]

    if "inputs" in found and "outputs" in found:
        if (
            not {"inputs", "outputs"} <= shapes.keys()
            or output_columns is not None
            or shapes["inputs"][0] != shapes["outputs"][0]
            or (num_outputs is not None and num_outputs != width_of("outputs"))
        ):
            raise NotStreamable(f"{name}: read whole")
        keys, num_input, chosen = ("inputs", "outputs"), width_of("inputs"), None
    elif len(found) == 1 and len(shapes) == 1:
        (key,) = shapes
        width = width_of(key)
        chosen = tabular.resolve_output_columns(width, None, output_columns, num_outputs, name)
        keys, num_input = (key,), width - len(chosen)
    else:
        raise NotStreamable(f"{name}: read whole")
    count = shapes[keys[0]][0]
    num_output = width_of("outputs") if chosen is None else len(chosen)

    def fetch(start: int, stop: int) -> list[np.ndarray]:
        import h5py

        with h5py.File(target, "r") as handle:
            return [handle[key][start:stop] for key in keys]

    def read() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, count, size):
            stop = min(start + size, count)
            nbytes = (stop - start) * (num_input + num_output) * 8
            parts = [
                _finite(p.reshape(len(p), -1), name)
                for p in run_guarded(partial(fetch, start, stop), name, nbytes + length // 1000)
            ]
            if chosen is None:
                yield parts[0], parts[1]
            else:
                data = tabular.split_columns(parts[0], chosen, name)
                yield data.inputs, data.outputs

    return Source(name, num_input, num_output, count, read)


# ---------------------------------------------------------------- spool


class Spool:
    """Rows (inputs then outputs, float64) in an unnamed temporary file, then memory-mapped."""

    def __init__(self, num_input: int, num_output: int, directory: str | None = None) -> None:
        self.num_input, self.num_output = num_input, num_output
        self.handle = tempfile.TemporaryFile(dir=directory, prefix=".fannctl-spool.")
        self.count = 0

    def write(self, inputs: np.ndarray, outputs: np.ndarray) -> None:
        self.handle.write(np.hstack([inputs, outputs]).astype(np.float64, copy=False).tobytes())
        self.count += inputs.shape[0]

    def source(self, name: str, block_patterns: int | None = None) -> Source:
        """The spooled rows as a source with random access."""
        self.handle.flush()
        width = self.num_input + self.num_output
        if self.count:
            values = np.memmap(self.handle, dtype=np.float64, mode="r", shape=(self.count, width))
        else:
            values = np.zeros((0, width))
        size, cut = block_size(block_patterns), self.num_input

        def read() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for start in range(0, self.count, size):
                rows = np.array(values[start : start + size])
                yield np.ascontiguousarray(rows[:, :cut]), np.ascontiguousarray(rows[:, cut:])

        def rows(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            picked = values[positions]
            return np.ascontiguousarray(picked[:, :cut]), np.ascontiguousarray(picked[:, cut:])

        return Source(
            name, self.num_input, self.num_output, self.count, read, rows, [self.handle.close]
        )


def spooled(source: Source, directory: str | None, block_patterns: int | None = None) -> Source:
    """``source`` with a count and random access: itself if it has both, else a spool of it."""
    if source.count is not None and source.rows is not None:
        return source
    spool = Spool(source.num_input, source.num_output, directory)
    try:
        for block in source.blocks():
            spool.write(block.inputs, block.outputs)
    except BaseException:
        spool.handle.close()
        raise
    return spool.source(source.name, block_patterns)


def work_directory(target: str) -> str | None:
    """Where a spool goes: beside the output (a disk, not a memory-backed /tmp)."""
    return None if target == "-" else os.path.dirname(os.path.abspath(target)) or None


# ---------------------------------------------------------------- writers


class _GzipStream:
    """Bytes written through gzip as ``gzip.compress(data, mtime=0)`` writes them."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.crc, self.size = 0, 0
        handle.write(_GZIP_HEADER)

    def write(self, data: bytes) -> None:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self.handle.write(self.deflate.compress(data))

    def close(self) -> None:
        self.handle.write(self.deflate.flush())
        self.handle.write(struct.pack("<LL", self.crc, self.size & 0xFFFFFFFF))


def _gzip_header() -> bytes:
    import gzip

    return gzip.compress(b"", mtime=0)[:10]


_GZIP_HEADER = _gzip_header()


def _check_finite(block: np.ndarray, first_row: int) -> None:
    if block.size and not np.isfinite(block).all():
        row = first_row + int(np.argwhere(~np.isfinite(block))[0][0])
        raise FannctlError(f"cannot write pattern {row + 1}: it holds NaN or Inf")


class Writer:
    """Patterns appended in order to one output file of a known format."""

    needs_count = True

    def __init__(self, handle, num_input: int, num_output: int, count: int | None) -> None:
        self.handle, self.num_input, self.num_output = handle, num_input, num_output
        self.count = count
        self.written = 0

    def write(self, inputs: np.ndarray, outputs: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file (trailers, counts checked)."""
        if self.count is not None and self.written != self.count:
            raise FannctlError(f"wrote {self.written} patterns, expected {self.count}")


class FannWriter(Writer):
    """FANN ``.data`` with exact values, as ``fann_data.format_data(exact=True)`` lays it out."""

    def __init__(self, handle, num_input, num_output, count) -> None:
        super().__init__(handle, num_input, num_output, count)
        handle.write(f"{count} {num_input} {num_output}\n".encode("ascii"))

    def write(self, inputs: np.ndarray, outputs: np.ndarray) -> None:
        from fannctl.io.fann_data import exact_number_strings

        for block in (inputs, outputs):
            _check_finite(block, self.written)
        ins, outs = exact_number_strings(inputs), exact_number_strings(outputs)
        a, b = self.num_input, self.num_output
        parts = []
        for row in range(inputs.shape[0]):
            parts.append("".join(v + " " for v in ins[row * a : (row + 1) * a]))
            parts.append("\n")
            parts.append("".join(v + " " for v in outs[row * b : (row + 1) * b]))
            parts.append("\n")
        self.handle.write("".join(parts).encode("ascii"))
        self.written += inputs.shape[0]


class TableWriter(Writer):
    """CSV/TSV as ``tabular.format_table`` writes them: header x0.., y0.., exact values."""

    needs_count = False

    def __init__(self, handle, num_input, num_output, count, delimiter: str = ",") -> None:
        super().__init__(handle, num_input, num_output, count)
        self.delimiter = delimiter
        names = [f"x{i}" for i in range(num_input)] + [f"y{i}" for i in range(num_output)]
        handle.write((delimiter.join(names) + "\n").encode("ascii"))

    def write(self, inputs: np.ndarray, outputs: np.ndarray) -> None:
        from fannctl.io.fann_data import exact_number_strings

        block = np.hstack([inputs, outputs])
        strings = exact_number_strings(block)
        width = block.shape[1]
        lines = [
            self.delimiter.join(strings[r * width : (r + 1) * width]) + "\n"
            for r in range(block.shape[0])
        ]
        self.handle.write("".join(lines).encode("ascii"))
        self.written += block.shape[0]


class NpyWriter(Writer):
    """One float64 ``.npy`` array, inputs' columns then outputs', as ``np.save`` writes it."""

    def __init__(self, handle, num_input, num_output, count) -> None:
        super().__init__(handle, num_input, num_output, count)
        header = {"descr": "<f8", "fortran_order": False, "shape": (count, num_input + num_output)}
        np.lib.format.write_array_header_1_0(handle, header)

    def write(self, inputs: np.ndarray, outputs: np.ndarray) -> None:
        self.handle.write(np.hstack([inputs, outputs]).astype("<f8", copy=False).tobytes())
        self.written += inputs.shape[0]


class NpzWriter(Writer):
    """``inputs`` and ``outputs`` members (``np.savez``'s layout); the outputs wait in a
    temporary file until the inputs member is complete."""

    def __init__(self, handle, num_input, num_output, count, directory: str | None) -> None:
        import zipfile

        super().__init__(handle, num_input, num_output, count)
        self.archive = zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_STORED)
        self.member = self.archive.open("inputs.npy", "w", force_zip64=True)
        self.later = tempfile.TemporaryFile(dir=directory, prefix=".fannctl-spool.")
        np.lib.format.write_array_header_1_0(
            self.member, {"descr": "<f8", "fortran_order": False, "shape": (count, num_input)}
        )

    def write(self, inputs: np.ndarray, outputs: np.ndarray) -> None:
        self.member.write(np.asarray(inputs, dtype="<f8").tobytes())
        self.later.write(np.asarray(outputs, dtype="<f8").tobytes())
        self.written += inputs.shape[0]

    def close(self) -> None:
        super().close()
        self.member.close()
        with self.later, self.archive.open("outputs.npy", "w", force_zip64=True) as member:
            header = {
                "descr": "<f8",
                "fortran_order": False,
                "shape": (self.count, self.num_output),
            }
            np.lib.format.write_array_header_1_0(member, header)
            self.later.seek(0)
            shutil.copyfileobj(self.later, member, COPY_SIZE)
        self.archive.close()


class Hdf5Writer(Writer):
    """Datasets ``inputs`` and ``outputs`` (float64), as ``tabular`` writes data files."""

    def __init__(self, filename: str, num_input, num_output, count) -> None:
        import h5py

        from fannctl import __version__
        from fannctl.io.tabular import DATA_FORMAT

        self.file = h5py.File(filename, "w")
        super().__init__(self.file, num_input, num_output, count)
        self.file.attrs["format"] = DATA_FORMAT
        self.file.attrs["schema_version"] = 1
        self.file.attrs["fannctl_version"] = __version__
        self.inputs = self.file.create_dataset("inputs", shape=(count, num_input), dtype="f8")
        self.outputs = self.file.create_dataset("outputs", shape=(count, num_output), dtype="f8")

    def write(self, inputs: np.ndarray, outputs: np.ndarray) -> None:
        stop = self.written + inputs.shape[0]
        if inputs.shape[0]:
            self.inputs[self.written : stop] = inputs
            self.outputs[self.written : stop] = outputs
        self.written = stop

    def close(self) -> None:
        super().close()
        self.file.close()


def output_kind(target: str) -> str:
    """The format a data file name asks for (``io.save_data``'s rule, ``.npy`` added)."""
    lower = target.lower()
    for ending, kind in (
        (".npy", "npy"),
        (".npz", "npz"),
        (".h5", "hdf5"),
        (".hdf5", "hdf5"),
        (".csv", "csv"),
        (".tsv", "tsv"),
    ):
        if lower.endswith(ending):
            return kind
    return "fann-gz" if lower.endswith(".gz") else "fann"


def needs_count(target: str) -> bool:
    """Whether the format of ``target`` states the pattern count before the patterns."""
    return output_kind(target) not in ("csv", "tsv")


@dataclass
class Output:
    """One output to write: where, its sizes and its pattern count (None: not needed)."""

    target: str
    num_input: int
    num_output: int
    count: int | None


@contextlib.contextmanager
def _writer_for(output: Output, filename: str) -> Iterator[Writer]:
    kind = output_kind(output.target)
    sizes = (output.num_input, output.num_output, output.count)
    if kind == "hdf5":
        writer: Writer = Hdf5Writer(filename, *sizes)
        try:
            yield writer
        except BaseException:
            writer.file.close()
            raise
        writer.close()
        return
    with open(filename, "wb") as handle:
        sink = _GzipStream(handle) if kind == "fann-gz" else handle
        if kind in ("csv", "tsv"):
            writer = TableWriter(sink, *sizes, delimiter="\t" if kind == "tsv" else ",")
        elif kind == "npy":
            writer = NpyWriter(sink, *sizes)
        elif kind == "npz":
            writer = NpzWriter(sink, *sizes, os.path.dirname(filename) or None)
        else:
            writer = FannWriter(sink, *sizes)
        yield writer
        writer.close()
        if isinstance(sink, _GzipStream):
            sink.close()


def write_outputs(outputs: list[Output], fill: Callable[[list[Writer]], None]) -> None:
    """Open a writer per output, let ``fill`` write every pattern, then make each file
    appear at once (temp file, fsync, rename); nothing appears if ``fill`` raises.
    ``-`` (FANN text on stdout) is kept in a temporary file and copied out at the end."""
    writers: list[Writer] = []

    def level(index: int) -> None:
        if index == len(outputs):
            fill(writers)
            return
        output = outputs[index]
        if output.target == "-":
            with tempfile.TemporaryDirectory(prefix="fannctl-") as folder:
                held = os.path.join(folder, "out.data")
                with _writer_for(output, held) as writer:
                    writers.append(writer)
                    level(index + 1)
                with open(held, "rb") as handle:
                    while piece := handle.read(COPY_SIZE):
                        sys.stdout.write(piece.decode("ascii"))
                sys.stdout.flush()
            return

        def write_to(filename: str) -> None:
            with _writer_for(output, filename) as writer:
                writers.append(writer)
                level(index + 1)

        atomic_write_path(output.target, write_to)

    level(0)


__all__ = [
    "BLOCK_PATTERNS",
    "NotStreamable",
    "Output",
    "Source",
    "Spool",
    "Writer",
    "block_size",
    "needs_count",
    "open_source",
    "output_kind",
    "spooled",
    "whole_source",
    "work_directory",
    "write_outputs",
]
