"""FANN's training-data file (``.data``): reader, libfann-exact writer, exact writer.

Layout: a header ``num_pairs num_inputs num_outputs``, then for every pair a line of
inputs and a line of outputs. Any whitespace separates values, as libfann's fscanf
reader allows; gzip-compressed files are read transparently (found by magic bytes).
"""

from __future__ import annotations

import gzip
import os
import re
import sys
from dataclasses import dataclass

import numpy as np

from fannctl.data import TrainingData
from fannctl.errors import FannctlError, FormatError, ShapeError
from fannctl.io._files import (
    PLAIN_NUMERIC_TEXT,
    PathLike,
    atomic_write,
    decode_text,
    display_name,
    gunzip_if_needed,
    last_line_number,
    parse_number_fields,
    read_bytes,
    snippet,
)

_COUNT_RE = re.compile(r"[0-9]+")
_INT_MIN = -(2**31)


@dataclass(frozen=True)
class DataHeader:
    """The three numbers on a ``.data`` file's first line."""

    num_pairs: int
    num_inputs: int
    num_outputs: int

    @property
    def values_expected(self) -> int:
        return self.num_pairs * (self.num_inputs + self.num_outputs)


def read_data(path: PathLike) -> TrainingData:
    """Read a FANN ``.data`` file (plain or gzip; ``-`` = stdin) as float64 arrays."""
    name = display_name(path)
    raw = gunzip_if_needed(read_bytes(path), name)
    return parse_data(decode_text(raw), name)


def sniff_header(text: str) -> DataHeader | None:
    """The header if ``text`` is laid out as a complete ``.data`` file, else None.

    Only counts are checked (three non-negative integers first, then exactly as
    many values as they announce); the values themselves are not parsed.
    """
    head = text[:200].split(None, 3)
    if len(head) < 3 or not all(_COUNT_RE.fullmatch(t) for t in head[:3]):
        return None
    first_line = text.lstrip().split("\n", 1)[0]
    if "," in first_line or len(first_line.split()) != 3:
        return None
    header = DataHeader(*(int(t) for t in head[:3]))
    if header.num_inputs < 1:
        return None
    if len(text.split()) != 3 + header.values_expected:
        return None
    return header


def parse_data(text: str, name: str = "<data>") -> TrainingData:
    """Parse the text of a ``.data`` file; raise FormatError naming FILE:LINE if malformed."""
    tokens = text.split()
    if len(tokens) >= 3 and all(_COUNT_RE.fullmatch(t) for t in tokens[:3]):
        header = DataHeader(*(int(t) for t in tokens[:3]))
        width = header.num_inputs + header.num_outputs
        if (
            header.num_inputs >= 1
            and len(tokens) == 3 + header.values_expected
            and PLAIN_NUMERIC_TEXT.fullmatch(text)
        ):
            try:
                values = np.array(tokens[3:], dtype=np.float64)
            except ValueError:
                values = None
            if values is not None and bool(np.isfinite(values).all()):
                block = values.reshape(header.num_pairs, width)
                return TrainingData(
                    np.ascontiguousarray(block[:, : header.num_inputs]),
                    np.ascontiguousarray(block[:, header.num_inputs :]),
                    name,
                )
    return _parse_data_by_line(text, name)


def _parse_header(line: str, number: int, name: str) -> DataHeader:
    fields = line.split()
    if len(fields) != 3 or not all(_COUNT_RE.fullmatch(t) for t in fields):
        raise FormatError(
            f"{name}:{number}: bad header: expected 'num_pairs num_inputs num_outputs' "
            f"(three non-negative integers), found '{snippet(line)}'"
        )
    header = DataHeader(*(int(t) for t in fields))
    if header.num_inputs < 1:
        raise FormatError(f"{name}:{number}: bad header: num_inputs must be at least 1")
    return header


def _parse_data_by_line(text: str, name: str) -> TrainingData:
    """The careful parser: line by line, so an error names the offending line."""
    lines = [
        (number, line) for number, line in enumerate(text.split("\n"), start=1) if line.strip()
    ]
    if not lines:
        raise FormatError(
            f"{name}:1: empty file: expected a 'num_pairs num_inputs num_outputs' header"
        )
    header_number, header_line = lines[0]
    header = _parse_header(header_line, header_number, name)
    rows = iter(lines[1:])
    inputs: list[list[float]] = []
    outputs: list[list[float]] = []
    last = header_number
    for pair in range(header.num_pairs):
        for target, width, what in (
            (inputs, header.num_inputs, "input"),
            (outputs, header.num_outputs, "output"),
        ):
            if width == 0:
                target.append([])
                continue
            try:
                number, line = next(rows)
            except StopIteration:
                raise FormatError(
                    f"{name}:{last_line_number(text)}: file ends after {pair} of "
                    f"{header.num_pairs} pairs (header on line {header_number})"
                ) from None
            last = number
            fields = line.split()
            if len(fields) != width:
                raise FormatError(
                    f"{name}:{number}: pair {pair + 1}: expected {width} {what} values, "
                    f"found {len(fields)}"
                )
            target.append(parse_number_fields(fields, name, number))
    extra = next(rows, None)
    if extra is not None:
        raise FormatError(
            f"{name}:{extra[0]}: extra data after the {header.num_pairs} pairs "
            f"the header announces (last pair ends on line {last})"
        )
    shape_in = (header.num_pairs, header.num_inputs)
    shape_out = (header.num_pairs, header.num_outputs)
    return TrainingData(
        np.array(inputs, dtype=np.float64).reshape(shape_in),
        np.array(outputs, dtype=np.float64).reshape(shape_out),
        name,
    )


def _c_int(values: np.ndarray) -> np.ndarray:
    """C's ``(int)`` of doubles as x86-64 does it: truncate; INT_MIN when out of range."""
    result = np.full(values.shape, _INT_MIN, dtype=np.int64)
    fits = (values > -2147483649.0) & (values < 2147483648.0)
    result[fits] = np.trunc(values[fits]).astype(np.int64)
    return result


def fann_number_strings(values: np.ndarray) -> list[str]:
    """Format values as libfann's ``fann_save_train`` does (``%d`` truncation or ``%f``).

    A value counts as integral when ``(int)floor(x+0.5)*1000000`` (32-bit int
    arithmetic) equals ``(int)floor(x*1e6+0.5)``; it is then written as ``(int)x``.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = (_c_int(np.floor(x + 0.5)) * 1000000).astype(np.int32)
        scaled = _c_int(np.floor(x * 1000000.0 + 0.5))
    integral = (rounded == scaled).tolist()
    truncated = _c_int(x).tolist()
    return [
        f"{whole:d}" if flag else f"{value:f}"
        for value, whole, flag in zip(x.tolist(), truncated, integral, strict=True)
    ]


def exact_number_strings(values: np.ndarray) -> list[str]:
    """Shortest strings that read back as the same float64 (``1`` for 1.0)."""
    out = []
    for value in np.asarray(values, dtype=np.float64).ravel().tolist():
        text = repr(value)
        out.append(text[:-2] if text.endswith(".0") else text)
    return out


def format_data(data: TrainingData, *, exact: bool = False) -> str:
    """Return ``data`` as ``.data`` text: libfann's writer, or exact values with ``exact``."""
    inputs = np.asarray(data.inputs)
    outputs = np.asarray(data.outputs)
    if inputs.ndim != 2 or outputs.ndim != 2 or inputs.shape[0] != outputs.shape[0]:
        raise ShapeError(
            f"training data needs 2-D inputs and outputs with equal rows, "
            f"got {inputs.shape} and {outputs.shape}"
        )
    for block in (inputs, outputs):
        if block.size and not np.isfinite(block).all():
            row = int(np.argwhere(~np.isfinite(block))[0][0])
            raise FannctlError(f"cannot write pattern {row + 1}: it holds NaN or Inf")
    convert = exact_number_strings if exact else fann_number_strings
    num_pairs, num_inputs = inputs.shape
    num_outputs = outputs.shape[1]
    input_text = convert(inputs)
    output_text = convert(outputs)
    parts = [f"{num_pairs} {num_inputs} {num_outputs}\n"]
    for row in range(num_pairs):
        parts.append(
            "".join(v + " " for v in input_text[row * num_inputs : (row + 1) * num_inputs])
        )
        parts.append("\n")
        parts.append(
            "".join(v + " " for v in output_text[row * num_outputs : (row + 1) * num_outputs])
        )
        parts.append("\n")
    return "".join(parts)


def write_data(data: TrainingData, path: PathLike, *, exact: bool = False) -> None:
    """Write a ``.data`` file (``-`` = stdout; a ``.gz`` name is gzip-compressed), atomically."""
    text = format_data(data, exact=exact)
    target = os.fspath(path)
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    payload = text.encode("ascii")
    if str(target).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    atomic_write(target, lambda handle: handle.write(payload))


__all__ = [
    "DataHeader",
    "fann_number_strings",
    "format_data",
    "parse_data",
    "read_data",
    "sniff_header",
    "write_data",
]
