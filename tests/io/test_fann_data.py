"""FANN .data reader and writers: libfann's output, exact round trips, malformed input."""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fannctl.data import TrainingData
from fannctl.errors import FannctlError, FormatError
from fannctl.io.fann_data import (
    fann_number_strings,
    format_data,
    parse_data,
    read_data,
    sniff_header,
    write_data,
)

FIXTURES = Path(__file__).parent / "fixtures"
XOR_INPUTS = [[-1, -1], [1, -1], [-1, 1], [1, 1]]
XOR_OUTPUTS = [[-1], [1], [1], [-1]]
# The C floats behind tests/io/fixtures/writer_edge.data (written by libfann).
EDGE_INPUTS = [5000, 33554432, 1e10, -3000.5, 2147.4, 2147.5, -0.0, 2147, 2148, -2147, -2148]
EDGE_INPUTS += [1e-3, 123456.789, -5e9, 5e-7]


def xor() -> TrainingData:
    return TrainingData(np.array(XOR_INPUTS, float), np.array(XOR_OUTPUTS, float))


class FakeStdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


# ---------------------------------------------------------------- reading


def test_reads_libfann_xor_file() -> None:
    """Catches inputs and outputs swapped or rows misaligned."""
    data = read_data(FIXTURES / "xor_probe.data")
    assert data.inputs.dtype == np.float64
    assert data.inputs.tolist() == XOR_INPUTS
    assert data.outputs.tolist() == XOR_OUTPUTS
    assert data.source == str(FIXTURES / "xor_probe.data")


def test_any_whitespace_separates_values() -> None:
    """Catches a line-bound reader: libfann's fscanf takes values across any whitespace."""
    data = parse_data("2 2 1\t-1.5   2e3\n\n0.25\r\n 1\t1 0 \n")
    assert data.inputs.tolist() == [[-1.5, 2000.0], [1.0, 1.0]]
    assert data.outputs.tolist() == [[0.25], [0.0]]
    one_line = parse_data("2 2 1 1 2 3 4 5 6")
    assert one_line.inputs.tolist() == [[1, 2], [4, 5]]
    assert one_line.outputs.tolist() == [[3], [6]]


def test_zero_pairs_and_zero_outputs() -> None:
    """Catches empty data sets or output-less files breaking the shapes."""
    empty = parse_data("0 3 2\n")
    assert empty.inputs.shape == (0, 3)
    assert empty.outputs.shape == (0, 2)
    unlabelled = parse_data("2 2 0\n1 2\n\n3 4\n\n")
    assert unlabelled.inputs.tolist() == [[1, 2], [3, 4]]
    assert unlabelled.outputs.shape == (2, 0)


def test_gzip_detected_by_magic_not_name(tmp_path: Path) -> None:
    """Catches gzip detection by file name (.train files from FANN's datasets are gzip)."""
    path = tmp_path / "xor.train"
    path.write_bytes(gzip.compress((FIXTURES / "xor_probe.data").read_bytes()))
    assert read_data(path).inputs.tolist() == XOR_INPUTS


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches '-' being opened as a file named '-'."""
    monkeypatch.setattr(sys, "stdin", FakeStdin(b"1 2 1\n0.5 0.25\n1\n"))
    data = read_data("-")
    assert data.inputs.tolist() == [[0.5, 0.25]]
    assert data.source == "<stdin>"


def test_missing_file() -> None:
    with pytest.raises(FannctlError, match=r"nope\.data: no such file"):
        read_data("nope.data")


def test_sniff_header() -> None:
    """Catches a sniffer that calls a 3-column table a .data file."""
    header = sniff_header("2 1 1\n1\n2\n3\n4\n")
    assert header is not None
    assert (header.num_pairs, header.num_inputs, header.num_outputs) == (2, 1, 1)
    assert sniff_header("1 2 3\n4 5 6\n") is None  # counts do not add up
    assert sniff_header("1,2,3\n") is None


# ---------------------------------------------------------------- malformed input

MALFORMED = {
    "short file": ("4 2 1\n1 1\n1\n1 0\n0\n0 1\n0\n", 7, "file ends after 3 of 4 pairs"),
    "short mid pair": ("2 2 1\n1 1\n1\n1 0\n", 4, "file ends after 1 of 2 pairs"),
    "non-numeric": ("2 2 1\n1 1\n1\n1 x\n0\n", 4, "value 2: 'x' is not a number"),
    "underscore number": ("1 2 1\n1_0 1\n1\n", 2, "value 1: '1_0' is not a number"),
    "too many on a line": ("2 2 1\n1 1 1\n1\n1 0\n0\n", 2, "pair 1: expected 2 input values"),
    "too few outputs": ("1 2 2\n1 1\n1\n", 3, "pair 1: expected 2 output values, found 1"),
    "nan": ("1 2 1\n1 nan\n1\n", 2, "'nan' (NaN and Inf are not allowed)"),
    "inf": ("1 2 1\n1 1\n-inf\n", 3, "'-inf' (NaN and Inf are not allowed)"),
    "overflow": ("1 2 1\n1 1e999\n1\n", 2, "'1e999' is out of range"),
    "bad header two numbers": ("2 1\n1\n1\n", 1, "bad header"),
    "bad header negative": ("-2 1 1\n1\n1\n", 1, "bad header"),
    "bad header float": ("2.0 1 1\n1\n1\n1\n1\n", 1, "bad header"),
    "zero inputs": ("1 0 1\n1\n", 1, "num_inputs must be at least 1"),
    "empty file": ("", 1, "empty file"),
    "extra data": ("1 1 1\n1\n1\n2\n", 4, "extra data after the 1 pairs"),
    "header lies": ("99999999999 1 1\n1\n1\n", 3, "file ends after 1 of 99999999999 pairs"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_names_file_and_line(case: str, tmp_path: Path) -> None:
    """Catches malformed .data crashing or blaming the wrong line."""
    text, line, message = MALFORMED[case]
    path = tmp_path / "bad.data"
    path.write_text(text)
    with pytest.raises(FormatError) as caught:
        read_data(path)
    got = str(caught.value)
    assert got.startswith(f"{path}:{line}: "), got
    assert message in got


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "bad.data.gz"
    path.write_bytes(gzip.compress(b"1 1 1\n1\n1\n")[:-6])
    with pytest.raises(FormatError, match=r"bad\.data\.gz: corrupt gzip data"):
        read_data(path)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="0123456789 \n\t-+.eEnaif,x", max_size=60))
def test_random_text_parses_or_raises_format_error(text: str) -> None:
    """Catches crashes on arbitrary input: the result is data or a FormatError."""
    try:
        data = parse_data(text, "fuzz.data")
    except FormatError as error:
        assert str(error).startswith("fuzz.data:")
    else:
        assert data.inputs.shape[0] == data.outputs.shape[0]
        assert np.isfinite(data.inputs).all()


# ---------------------------------------------------------------- writing


def test_writer_matches_libfann_xor_file(tmp_path: Path) -> None:
    """Catches formatting drift from fann_save_train (spaces, newlines, %d)."""
    out = tmp_path / "xor.data"
    write_data(xor(), out)
    assert out.read_bytes() == (FIXTURES / "xor_probe.data").read_bytes()


def test_writer_truncation_rule_from_misc_check() -> None:
    """Catches rounding instead of libfann's (int) truncation: 0.9999999 is written '0'."""
    values = np.array([0.9999999, -1.9999996, 2.0000004, 0.5, 1e-7, 0.12345678, 3], np.float32)
    assert fann_number_strings(values) == ["0", "-1", "2", "0.500000", "0", "0.123457", "3"]


def test_writer_matches_libfann_on_int_overflow_edges() -> None:
    """Catches ignoring libfann's 32-bit int overflow (2148 is written '2148.000000')."""
    data = TrainingData(
        np.array([EDGE_INPUTS], dtype=np.float32), np.array([[1.5]], dtype=np.float32)
    )
    assert format_data(data) == (FIXTURES / "writer_edge.data").read_text()


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=6),
        elements=st.floats(allow_nan=False, allow_infinity=False),
    ),
    st.integers(0, 3),
)
def test_exact_write_read_round_trip(block: np.ndarray, num_outputs: int) -> None:
    """Catches exact mode losing bits (it must keep every float64, subnormals included)."""
    num_outputs = min(num_outputs, block.shape[1] - 1) if block.shape[1] > 1 else 0
    cut = block.shape[1] - num_outputs
    if cut == 0:
        return
    data = TrainingData(block[:, :cut], block[:, cut:])
    again = parse_data(format_data(data, exact=True))
    np.testing.assert_array_equal(again.inputs, data.inputs)
    np.testing.assert_array_equal(again.outputs, data.outputs)
    assert again.outputs.shape == data.outputs.shape


def test_exact_mode_keeps_what_fann_mode_loses() -> None:
    """Catches exact=True still using libfann's lossy %d/%f rule."""
    data = TrainingData(np.array([[0.9999999, 0.123456789]]), np.array([[1.0]]))
    assert format_data(data) == "1 2 1\n0 0.123457 \n1 \n"
    assert format_data(data, exact=True) == "1 2 1\n0.9999999 0.123456789 \n1 \n"


def test_write_gzip_and_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Catches .gz names written uncompressed and '-' written to a file."""
    out = tmp_path / "xor.data.gz"
    write_data(xor(), out)
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert read_data(out).outputs.tolist() == XOR_OUTPUTS
    write_data(xor(), "-")
    assert capsys.readouterr().out == (FIXTURES / "xor_probe.data").read_text()


def test_writing_nan_is_refused(tmp_path: Path) -> None:
    """Catches writing a file the reader would reject."""
    data = TrainingData(np.array([[1.0], [np.nan]]), np.array([[1.0], [2.0]]))
    with pytest.raises(FannctlError, match="pattern 2"):
        write_data(data, tmp_path / "nan.data")
    assert not (tmp_path / "nan.data").exists()
