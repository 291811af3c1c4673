"""Patterns for ``run``, read a bounded block at a time, answered as they arrive.

A file, a pipe or a terminal is read in pieces of at most ``READ_SIZE`` bytes;
each read returns what is there (a pipe delivers a line as soon as it is
written), so a block holds the complete lines that have arrived, never more
than ``BLOCK_PATTERNS`` of them. Memory stays bounded whatever the input's
length, and an interactive user gets each answer before typing the next line.

Input formats (``INPUT_FORMATS``); the rule, in order:

1. ``--input-format`` when given;
2. binary files by their first bytes: ``.npy``, ``.npz``, HDF5 (gzip is
   decompressed first, for text too);
3. stdin (``-``): ``raw``;
4. a file by its extension (``.gz`` aside): ``.csv`` csv, ``.tsv``/``.tab``
   tsv, ``.jsonl``/``.ndjson`` jsonl, ``.data``/``.train``/``.test``
   fann; anything else raw.

``raw``
    one pattern a line, numbers separated by blanks or by commas.
``csv``/``tsv``
    comma- or tab-separated rows (quoted fields allowed).
``fann``
    FANN's ``.data``: a ``pairs inputs outputs`` header line, then for each pair
    a line of inputs and a line of outputs.
``jsonl``
    one JSON array of numbers a line, or an object ``{"inputs": [...],
    "outputs": [...]}``.

Blank lines and lines starting with ``#`` are skipped (not in ``fann``). A
header row is skipped only when asked (``header=True``), or, for ``csv`` and
``tsv`` when not told either way, when the first row holds a field that is not
a number. In ``raw`` a first line that is not numbers is an error.

Each row holds the network's inputs; with ``targets=True`` (test metrics) the
inputs and then the desired outputs.
"""

from __future__ import annotations

import csv
import io as pyio
import json
import math
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from fannctl.errors import FannctlError, FormatError, ParameterError, ShapeError
from fannctl.io._files import (
    GZIP_MAGIC,
    HDF5_MAGIC,
    NPY_MAGIC,
    NUMBER_RE,
    ZIP_MAGIC,
    PathLike,
    display_name,
    parse_number_fields,
    snippet,
)

INPUT_FORMATS = ("raw", "csv", "tsv", "fann", "jsonl")
READ_SIZE = 1 << 20
"""Bytes asked of the source per read (a pipe returns what it holds, up to this)."""
BLOCK_PATTERNS = 65536
"""The most patterns in one block."""
BINARY_BLOCK_BYTES = 4 << 20
"""A stored array's blocks are cut to about this many bytes of inputs: checked for
NaN/Inf and then computed while in cache, not read from memory twice (numpy
3.1 -> 3.9 M mushroom patterns/s, bench/NOTES.md)."""
MAX_LINE = 64 << 20
"""A line longer than this is refused (it would otherwise grow without bound)."""

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".data": "fann",
    ".train": "fann",
    ".test": "fann",
}
_PLAIN = re.compile(r"[0-9eE+\-. ]*")
"""Characters joined fields of finite decimal numbers can hold (the fast path's check)."""
_COUNT_RE = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Block:
    """Consecutive patterns: inputs (one row a pattern; float64, or float32 as a binary
    file stores them), targets when read."""

    inputs: np.ndarray
    targets: np.ndarray | None = None

    @property
    def num_patterns(self) -> int:
        return int(self.inputs.shape[0])

    def take(self) -> Block:
        """The block itself (see ``StoredBlock.take``)."""
        return self


@dataclass(frozen=True)
class StoredBlock:
    """Rows of a stored array (``.npy``, ``.npz``, HDF5) not yet checked, from
    ``read_blocks(..., defer_checks=True)``: ``take()`` checks and converts them
    as ``read_blocks`` otherwise does before yielding, in whichever thread asks,
    so a consumer can check and compute several blocks at once. Taking never
    waits for input (the array is in memory or memory-mapped)."""

    rows: np.ndarray
    target_rows: np.ndarray | None
    name: str
    first: int  # the first row's index in the file

    def take(self) -> Block:
        """The checked Block; FormatError naming the row for NaN or Inf."""
        inputs = _numbers(self.rows, "inputs", self.name, self.first)
        targets = None
        if self.target_rows is not None:
            targets = _numbers(self.target_rows, "outputs", self.name, self.first)
        return Block(inputs, targets)


def choose_format(path: PathLike, given: str | None = None) -> str:
    """The text format for ``path`` by the rule above (binary files are found by content)."""
    if given is not None:
        if given not in INPUT_FORMATS:
            raise ParameterError(
                f"input format must be one of {', '.join(INPUT_FORMATS)}, got {given!r}"
            )
        return given
    text = os.fspath(path)
    if text == "-":
        return "raw"
    lower = str(text).lower().removesuffix(".gz")
    return _EXTENSIONS.get(os.path.splitext(lower)[1], "raw")


def read_blocks(
    path: PathLike,
    num_input: int,
    num_output: int,
    *,
    input_format: str | None = None,
    header: bool | None = None,
    targets: bool = False,
    block_patterns: int = BLOCK_PATTERNS,
    defer_checks: bool = False,
) -> Iterator[Block | StoredBlock]:
    """Blocks of patterns from ``path`` (``-``: stdin), as they arrive.

    Raises FormatError naming FILE:LINE for malformed input, ShapeError when the
    rows do not fit a network of ``num_input`` inputs (and ``num_output``
    outputs, with ``targets``). ``defer_checks``: a stored array's blocks come
    as ``StoredBlock`` (checked by their ``take()``); text still comes as Block.
    """
    name = display_name(path)
    fmt = choose_format(path, input_format)
    chunks = _byte_chunks(path)
    first = next(chunks, b"")
    if first.startswith(GZIP_MAGIC):
        chunks = _gunzip(_chain(first, chunks), name)
        first = next(chunks, b"")
    if first.startswith((NPY_MAGIC, ZIP_MAGIC, HDF5_MAGIC)):
        stored = _binary_blocks(
            path, _chain(first, chunks), name, num_input, num_output, targets, block_patterns
        )
        yield from stored if defer_checks else (block.take() for block in stored)
        return
    lines = _line_batches(_chain(first, chunks), name, block_patterns)
    if fmt == "fann":
        parser: _Parser = _FannParser(name, num_input, num_output, targets)
    elif fmt == "jsonl":
        parser = _JsonParser(name, num_input, num_output, targets)
    else:
        parser = _RowParser(name, fmt, num_input, num_output, targets, header)
    for first_line, batch in lines:
        block = parser.parse(first_line, batch)
        if block is not None and block.num_patterns:
            yield block
    parser.finish()


def test_blocks(net, blocks: Iterable[Block], name: str, *, backend=None) -> tuple[float, int, int]:
    """FANN's ``fann_test_data`` over streamed labelled blocks: (MSE, bit fail, patterns).

    The squared errors go into one running sum across the blocks, as
    ``runner.test`` sums them over the whole set.
    """
    from fannctl.backends import default_backend
    from fannctl.data import scale_inputs, scale_outputs
    from fannctl.fann_error import mse, output_errors

    engine = backend if backend is not None else default_backend()
    sse, count, bit_fail, patterns = 0.0, 0, 0, 0
    for block in blocks:
        if block.targets is None:
            raise ParameterError("test metrics need targets in the input")
        inputs = scale_inputs(net, block.inputs.astype(net.dtype))
        wanted = scale_outputs(net, block.targets.astype(net.dtype))
        # FANN's one float sum goes on across blocks (start=sse)
        _, sse, block_count, block_fail = output_errors(
            net, engine.forward(net, inputs), wanted, start=sse
        )
        count += block_count
        bit_fail += block_fail
        patterns += block.num_patterns
    if not patterns:
        raise FormatError(f"{name}: no patterns")
    return mse(sse, count), bit_fail, patterns


# ---------------------------------------------------------------- bytes and lines


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _byte_chunks(path: PathLike) -> Iterator[bytes]:
    """The source's bytes, each piece what one read returned (a pipe: what has arrived)."""
    if os.fspath(path) == "-":
        source = sys.stdin.buffer
        read = source.read1 if hasattr(source, "read1") else source.read
        yield from _reads(read, "<stdin>")
        return
    name = os.fspath(path)
    try:
        handle = open(name, "rb")  # closed below, after the last read
    except FileNotFoundError:
        raise FannctlError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise FannctlError(f"{name}: is a directory, not a file") from None
    except OSError as error:
        raise FannctlError(f"{name}: cannot read: {error.strerror or error}") from None
    with handle:
        yield from _reads(handle.read1, name)


def _reads(read: Callable[[int], bytes], name: str) -> Iterator[bytes]:
    while True:
        try:
            data = read(READ_SIZE)
        except OSError as error:
            raise FannctlError(f"{name}: cannot read: {error.strerror or error}") from None
        if not data:
            return
        yield data


def _gunzip(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    """Decompress gzip data piece by piece (several members allowed), bounded output."""
    inflate = zlib.decompressobj(wbits=31)
    begun = False  # the current member has been fed bytes
    try:
        for data in chunks:
            while True:
                begun = begun or bool(data)
                out = inflate.decompress(data, READ_SIZE)
                if out:
                    yield out
                data = inflate.unconsumed_tail
                if inflate.eof:
                    data = inflate.unused_data + data
                    inflate, begun = zlib.decompressobj(wbits=31), False
                    if not data.strip(b"\0"):
                        data = b""  # padding after the last member
                if not data and len(out) < READ_SIZE:
                    break  # this piece is used up and nothing waits inside
    except zlib.error as error:
        raise FormatError(f"{name}: corrupt gzip data ({error})") from None
    if begun:
        raise FormatError(f"{name}: corrupt gzip data (it ends early)")


def _line_batches(
    chunks: Iterator[bytes], name: str, most: int
) -> Iterator[tuple[int, list[bytes]]]:
    """Complete lines as they arrive: (number of the first line, lines), ``most`` at a time."""
    pending = b""
    number = 1
    for data in chunks:
        if pending:
            data = pending + data
        end = data.rfind(b"\n")
        if end < 0:
            pending = data
            if len(pending) > MAX_LINE:
                raise FormatError(f"{name}:{number}: line longer than {MAX_LINE >> 20} MiB")
            continue
        pending = data[end + 1 :]
        lines = data[:end].split(b"\n")
        for start in range(0, len(lines), most):
            batch = lines[start : start + most]
            yield number, batch
            number += len(batch)
    if pending:
        yield number, [pending]


# ---------------------------------------------------------------- text parsers


class _Parser:
    def parse(self, first_line: int, lines: list[bytes]) -> Block | None:
        raise NotImplementedError

    def finish(self) -> None:
        """Called after the last line: a format that counts checks the count."""


def _decode(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").strip()


def _is_number(field: str) -> bool:
    return bool(NUMBER_RE.fullmatch(field))


def _to_array(rows: list[list[str]], numbers: list[int], name: str, width: int) -> np.ndarray:
    """Rows of number fields as float64; a bad field raises FormatError naming its line."""
    if not rows:
        return np.zeros((0, width))
    if _PLAIN.fullmatch(" ".join(" ".join(row) for row in rows)):
        try:
            values = np.array(rows, dtype=np.float64)
        except ValueError:
            values = None
        if values is not None and bool(np.isfinite(values).all()):
            return values.reshape(len(rows), width)
    checked = [
        parse_number_fields(row, name, number) for row, number in zip(rows, numbers, strict=True)
    ]
    return np.array(checked, dtype=np.float64).reshape(len(rows), width)


def _split(block: np.ndarray, num_input: int, targets: bool) -> Block:
    if not targets:
        return Block(block)
    return Block(
        np.ascontiguousarray(block[:, :num_input]), np.ascontiguousarray(block[:, num_input:])
    )


class _RowParser(_Parser):
    """``raw``, ``csv`` and ``tsv``: one pattern a row."""

    def __init__(
        self,
        name: str,
        fmt: str,
        num_input: int,
        num_output: int,
        targets: bool,
        header: bool | None,
    ) -> None:
        self.name = name
        self.fmt = fmt
        self.num_input = num_input
        self.num_output = num_output
        self.targets = targets
        self.width = num_input + (num_output if targets else 0)
        self.header = header
        self.first = True
        self.delimiter = {"csv": ",", "tsv": "\t"}.get(fmt)

    def fields(self, text: str) -> list[str]:
        if self.delimiter is None:
            if "," in text:
                fields = [field.strip() for field in text.split(",")]
                if fields and fields[-1] == "":
                    fields.pop()  # a trailing comma
                return fields
            return text.split()
        if '"' in text:
            return [f.strip() for f in next(csv.reader([text], delimiter=self.delimiter))]
        return [field.strip() for field in text.split(self.delimiter)]

    def parse(self, first_line: int, lines: list[bytes]) -> Block | None:
        if not self.first:
            values = self.parse_fast(lines)
            if values is not None:
                return _split(values, self.num_input, self.targets)
        rows: list[list[str]] = []
        numbers: list[int] = []
        for offset, raw in enumerate(lines):
            text = _decode(raw)
            if not text or text.startswith("#"):
                continue
            fields = self.fields(text)
            number = first_line + offset
            if self.first:
                self.first = False
                if self.is_header(fields, number):
                    continue
            if len(fields) != self.width:
                raise self.width_error(len(fields), number)
            rows.append(fields)
            numbers.append(number)
        return _split(_to_array(rows, numbers, self.name, self.width), self.num_input, self.targets)

    def parse_fast(self, lines: list[bytes]) -> np.ndarray | None:
        """numpy's own text reader over plain lines (no comments, quotes or, in raw,
        commas); None where it cannot tell the whole story, so the careful parser
        runs and names the line at fault."""
        blob = b"\n".join(lines)
        if not blob.strip():
            return np.zeros((0, self.width))
        if b"#" in blob or b'"' in blob or (self.delimiter is None and b"," in blob):
            return None
        try:
            text = blob.decode("ascii")
            values = np.loadtxt(
                pyio.StringIO(text), dtype=np.float64, delimiter=self.delimiter, ndmin=2
            )
        except ValueError:  # also a UnicodeDecodeError: the careful parser says where
            return None
        if values.shape[0] and (values.shape[1] != self.width or not np.isfinite(values).all()):
            return None
        return values.reshape(-1, self.width)

    def is_header(self, fields: list[str], number: int) -> bool:
        if self.header is not None:
            return self.header
        numeric = all(_is_number(field) for field in fields)
        if self.fmt in ("csv", "tsv"):
            return not numeric
        if not numeric:
            bad = next(field for field in fields if not _is_number(field))
            raise FormatError(
                f"{self.name}:{number}: '{snippet(bad)}' is not a number "
                "(a header row? --header skips it)"
            )
        return False

    def width_error(self, found: int, number: int) -> FannctlError:
        what = f"the network's {self.num_input} inputs"
        if self.targets:
            what += f" and {self.num_output} desired outputs"
        hint = ""
        if not self.targets and found == self.num_input + self.num_output:
            hint = " (inputs and desired outputs? --metrics reads those)"
        return FormatError(
            f"{self.name}:{number}: expected {self.width} values ({what}), found {found}{hint}"
        )


def _read_plain(lines: list[bytes], width: int) -> np.ndarray:
    """Lines of ``width`` finite numbers each, by numpy's reader; ValueError otherwise."""
    values = np.loadtxt(pyio.StringIO(b"\n".join(lines).decode("ascii")), dtype=np.float64, ndmin=2)
    if values.shape != (len(lines), width) or not np.isfinite(values).all():
        raise ValueError("not plain")
    return values


class _FannParser(_Parser):
    """FANN ``.data``: a header line, then an input line and an output line per pair."""

    def __init__(self, name: str, num_input: int, num_output: int, targets: bool) -> None:
        self.name = name
        self.num_input = num_input
        self.num_output = num_output
        self.targets = targets
        self.pairs: int | None = None
        self.file_outputs = 0
        self.read = 0  # complete pairs so far
        self.pending_inputs: tuple[list[str], int] | None = None
        self.header_line = 1
        self.last_line = 1

    def read_header(self, text: str, number: int) -> None:
        fields = text.split()
        if len(fields) != 3 or not all(_COUNT_RE.fullmatch(t) for t in fields):
            raise FormatError(
                f"{self.name}:{number}: bad header: expected 'num_pairs num_inputs "
                f"num_outputs' (three non-negative integers), found '{snippet(text)}'"
            )
        pairs, inputs, outputs = (int(t) for t in fields)
        if inputs != self.num_input:
            raise ShapeError(
                f"{self.name}: has {inputs} inputs per pattern, but the network has "
                f"{self.num_input}"
            )
        if self.targets and outputs != self.num_output:
            raise ShapeError(
                f"{self.name}: has {outputs} outputs (FANN .data header), but the network "
                f"has {self.num_output}"
            )
        self.pairs, self.file_outputs, self.header_line = pairs, outputs, number

    def parse(self, first_line: int, lines: list[bytes]) -> Block | None:
        fast = self.parse_fast(first_line, lines)
        if fast is None:
            return self.parse_careful(first_line, lines)
        block, used = fast
        if used == len(lines):
            return block
        rest = self.parse_careful(first_line + used, lines[used:])
        if rest is None or not rest.num_patterns:
            return block
        targets = None
        if block.targets is not None and rest.targets is not None:
            targets = np.vstack([block.targets, rest.targets])
        return Block(np.vstack([block.inputs, rest.inputs]), targets)

    def parse_fast(self, first_line: int, lines: list[bytes]) -> tuple[Block, int] | None:
        """Whole pairs of plain lines through numpy's text reader: (block, lines used),
        or None where only the careful parser can tell what is wrong, and where."""
        if self.pairs is None or self.pending_inputs is not None:
            return None
        step = 2 if self.file_outputs else 1
        count = min(len(lines) // step, self.pairs - self.read)
        if count < 2:
            return None
        used = lines[: count * step]
        if any(not line.strip() or b"#" in line for line in used):
            return None
        try:
            inputs = _read_plain(used[0::step], self.num_input)
            outputs = _read_plain(used[1::2], self.file_outputs) if step == 2 else None
        except ValueError:
            return None
        self.read += count
        self.last_line = first_line + count * step - 1
        if self.targets:
            return Block(inputs, outputs if outputs is not None else np.zeros((count, 0))), len(
                used
            )
        return Block(inputs), len(used)

    def parse_careful(self, first_line: int, lines: list[bytes]) -> Block | None:
        ins: list[list[str]] = []
        in_numbers: list[int] = []
        outs: list[list[str]] = []
        out_numbers: list[int] = []
        for offset, raw in enumerate(lines):
            text = _decode(raw)
            if not text:
                continue
            number = first_line + offset
            if self.pairs is None:
                self.read_header(text, number)
                continue
            if self.read >= self.pairs:
                raise FormatError(
                    f"{self.name}:{number}: extra data after the {self.pairs} pairs "
                    f"the header announces (last pair ends on line {self.last_line})"
                )
            fields = text.split()
            self.last_line = number
            if self.pending_inputs is None:
                width, what = self.num_input, "input"
            else:
                width, what = self.file_outputs, "output"
            if len(fields) != width:
                raise FormatError(
                    f"{self.name}:{number}: pair {self.read + 1}: expected {width} {what} "
                    f"values, found {len(fields)}"
                )
            if self.pending_inputs is None:
                self.pending_inputs = (fields, number)
                if self.file_outputs:
                    continue
                fields = []
            ins.append(self.pending_inputs[0])
            in_numbers.append(self.pending_inputs[1])
            outs.append(fields)
            out_numbers.append(number)
            self.pending_inputs = None
            self.read += 1
        inputs = _to_array(ins, in_numbers, self.name, self.num_input)
        if not self.targets:
            if outs and self.file_outputs:
                _to_array(outs, out_numbers, self.name, self.file_outputs)  # checked all the same
            return Block(inputs)
        return Block(inputs, _to_array(outs, out_numbers, self.name, self.num_output))

    def finish(self) -> None:
        if self.pairs is None:
            raise FormatError(
                f"{self.name}:1: empty file: expected a 'num_pairs num_inputs num_outputs' header"
            )
        if self.read < self.pairs:
            raise FormatError(
                f"{self.name}:{self.last_line}: file ends after {self.read} of {self.pairs} "
                f"pairs (header on line {self.header_line})"
            )


class _JsonParser(_Parser):
    """JSON lines: an array of numbers, or ``{"inputs": [...], "outputs": [...]}``."""

    def __init__(self, name: str, num_input: int, num_output: int, targets: bool) -> None:
        self.name = name
        self.num_input = num_input
        self.num_output = num_output
        self.targets = targets

    def parse(self, first_line: int, lines: list[bytes]) -> Block | None:
        ins: list[list[float]] = []
        outs: list[list[float]] = []
        for offset, raw in enumerate(lines):
            text = _decode(raw)
            if not text or text.startswith("#"):
                continue
            number = first_line + offset
            try:
                item = json.loads(text)
            except json.JSONDecodeError as error:
                raise FormatError(f"{self.name}:{number}: not JSON: {error.msg}") from None
            if isinstance(item, dict):
                inputs = self.numbers(item.get("inputs"), self.num_input, number, "'inputs'")
                outputs = None
                if self.targets:
                    outputs = self.numbers(
                        item.get("outputs"), self.num_output, number, "'outputs'"
                    )
            else:
                width = self.num_input + (self.num_output if self.targets else 0)
                row = self.numbers(item, width, number, "the array")
                inputs, outputs = row[: self.num_input], row[self.num_input :]
            ins.append(inputs)
            if outputs is not None:
                outs.append(outputs)
        inputs_array = np.array(ins, dtype=np.float64).reshape(len(ins), self.num_input)
        if not self.targets:
            return Block(inputs_array)
        return Block(inputs_array, np.array(outs, dtype=np.float64).reshape(len(outs), -1))

    def numbers(self, value: object, width: int, number: int, what: str) -> list[float]:
        where = f"{self.name}:{number}"
        if not isinstance(value, list):
            raise FormatError(
                f"{where}: expected an array of {width} numbers or an object with "
                "'inputs' (and 'outputs')"
            )
        if len(value) != width:
            raise FormatError(f"{where}: {what} holds {len(value)} values, expected {width}")
        for column, item in enumerate(value, start=1):
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise FormatError(f"{where}: value {column} is not a number: {item!r}")
            if not math.isfinite(item):
                raise FormatError(f"{where}: value {column} is not finite")
        return [float(item) for item in value]


# ---------------------------------------------------------------- binary arrays


def _binary_blocks(
    path: PathLike,
    chunks: Iterator[bytes],
    name: str,
    num_input: int,
    num_output: int,
    targets: bool,
    block_patterns: int,
) -> Iterator[StoredBlock]:
    """``.npy`` (memory-mapped when a plain file), ``.npz`` or HDF5, a block at a time."""
    from fannctl.io import tabular

    head = next(chunks, b"")
    arrays: dict[str, np.ndarray] | None = None
    if head.startswith(NPY_MAGIC) and os.fspath(path) != "-" and _plain_file(path):
        try:
            arrays = {"": np.load(os.fspath(path), mmap_mode="r", allow_pickle=False)}
        except (ValueError, OSError) as error:
            raise FormatError(f"{name}: cannot read numpy file: {error}") from None
    else:
        raw = head + b"".join(chunks)
        if raw.startswith(HDF5_MAGIC):
            arrays = tabular._load_hdf5_arrays(raw, name)
        else:
            arrays = tabular._load_numpy(raw, name)
    inputs, outputs = _pick_arrays(arrays, name, num_input, num_output, targets)
    row_bytes = max(1, inputs.shape[1] * inputs.itemsize)
    fits = max(1024, BINARY_BLOCK_BYTES // row_bytes // 1024 * 1024)  # whole kilo-rows
    block_patterns = min(block_patterns, fits)
    for start in range(0, inputs.shape[0], block_patterns):
        stop = start + block_patterns
        rest = None if outputs is None else outputs[start:stop]
        yield StoredBlock(inputs[start:stop], rest, name, start)


def _numbers(rows: np.ndarray, what: str, name: str, first: int) -> np.ndarray:
    """A block of stored rows as floats, kept in float32/float64 as stored (no copy of
    a memory-mapped float block); NaN and Inf refused, naming the row."""
    if rows.dtype.kind != "f" or rows.dtype.itemsize not in (4, 8):
        if rows.dtype != np.bool_ and rows.dtype.kind not in "iu":
            raise FormatError(f"{name}: array {what!r} holds {rows.dtype}, not numbers")
        rows = rows.astype(np.float64)
    if not np.isfinite(rows).all():
        row = first + int(np.argwhere(~np.isfinite(rows))[0][0])
        raise FormatError(f"{name}: array {what!r} holds NaN or Inf (row {row + 1})")
    return rows


def _plain_file(path: PathLike) -> bool:
    with open(os.fspath(path), "rb") as handle:
        return not handle.read(2).startswith(GZIP_MAGIC)


def _pick_arrays(
    arrays: dict[str, np.ndarray], name: str, num_input: int, num_output: int, targets: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """The inputs (and targets) among a file's arrays, checked against the network."""
    outputs = None
    if "inputs" in arrays:
        inputs = _two_d(arrays["inputs"], "inputs", name)
        if targets:
            if "outputs" not in arrays:
                raise FormatError(f"{name}: holds no 'outputs' array (test metrics need it)")
            outputs = _two_d(arrays["outputs"], "outputs", name)
            if outputs.shape[0] != inputs.shape[0]:
                raise ShapeError(
                    f"{name}: 'inputs' has {inputs.shape[0]} rows but 'outputs' has "
                    f"{outputs.shape[0]}"
                )
    elif len(arrays) == 1:
        ((key, array),) = arrays.items()
        inputs = _two_d(array, key or "array", name)
        if targets:
            if inputs.shape[1] != num_input + num_output:
                raise ShapeError(
                    f"{name}: has {inputs.shape[1]} columns; test metrics need "
                    f"{num_input + num_output} (inputs, then desired outputs)"
                )
            inputs, outputs = inputs[:, :num_input], inputs[:, num_input:]
    else:
        raise FormatError(f"{name}: expected an array 'inputs' or a single 2-D array")
    if inputs.shape[1] != num_input:
        raise ShapeError(
            f"{name}: has {inputs.shape[1]} inputs per pattern, but the network has {num_input}"
        )
    if outputs is not None and outputs.shape[1] != num_output:
        raise ShapeError(
            f"{name}: has {outputs.shape[1]} outputs, but the network has {num_output}"
        )
    return inputs, outputs


def _two_d(array: np.ndarray, what: str, name: str) -> np.ndarray:
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise FormatError(f"{name}: array {what!r} must be 2-D, got shape {array.shape}")
    return array


# ---------------------------------------------------------------- .npy output


class NpyWriter:
    """Rows appended to a ``.npy`` file whose header is rewritten with the count at the end."""

    HEADER = 128

    def __init__(self, handle, width: int, dtype) -> None:
        self.handle = handle
        self.width = width
        self.dtype = np.dtype(dtype)
        self.rows = 0
        handle.write(self._header())

    def _header(self) -> bytes:
        descr = np.lib.format.dtype_to_descr(self.dtype)
        shape = f"({self.rows}, {self.width})"
        text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape}, }}"
        body = text.encode("latin1").ljust(self.HEADER - 10 - 1) + b"\n"
        return NPY_MAGIC + b"\x01\x00" + len(body).to_bytes(2, "little") + body

    def write(self, values: np.ndarray) -> None:
        """Append rows (converted to the writer's dtype)."""
        block = np.ascontiguousarray(values, dtype=self.dtype)
        self.handle.write(block.tobytes())
        self.rows += block.shape[0]

    def close(self) -> None:
        """Rewrite the header with the final row count."""
        self.handle.seek(0)
        self.handle.write(self._header())
        self.handle.seek(0, os.SEEK_END)
