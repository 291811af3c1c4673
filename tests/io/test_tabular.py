"""CSV/TSV, numpy and HDF5 data tables, and the unlabelled reader for ``run``."""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fannctl.data import TrainingData
from fannctl.errors import FormatError, ParameterError, ShapeError
from fannctl.io.tabular import (
    format_table,
    parse_table,
    read_inputs,
    read_table,
    sniff_delimiter,
    write_table,
)

FIXTURES = Path(__file__).parent / "fixtures"
CSV = "a,b,label,c\n1,2,0,3\n4,5,1,6\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


class FakeStdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


# ---------------------------------------------------------------- CSV / TSV


def test_csv_default_last_column_is_output(tmp_path: Path) -> None:
    """Catches the header row read as data, or outputs taken from the front."""
    data = read_table(write(tmp_path, "t.csv", CSV))
    assert data.inputs.tolist() == [[1, 2, 0], [4, 5, 1]]
    assert data.outputs.tolist() == [[3], [6]]
    assert data.inputs.dtype == np.float64


def test_csv_output_columns_by_name_index_and_negative(tmp_path: Path) -> None:
    """Catches output columns resolved in the wrong order or inputs not in file order."""
    path = write(tmp_path, "t.csv", CSV)
    by_name = read_table(path, output_columns=["label"])
    assert by_name.inputs.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert by_name.outputs.tolist() == [[0], [1]]
    two = read_table(path, output_columns=["c", 0])
    assert two.outputs.tolist() == [[3, 1], [6, 4]]
    assert two.inputs.tolist() == [[2, 0], [5, 1]]
    assert read_table(path, output_columns=[-2]).outputs.tolist() == [[0], [1]]
    assert read_table(path, output_columns=["1"]).outputs.tolist() == [[2], [5]]


def test_num_outputs_takes_last_columns(tmp_path: Path) -> None:
    data = read_table(write(tmp_path, "t.csv", "1,2,3,4\n5,6,7,8\n"), num_outputs=2)
    assert data.inputs.tolist() == [[1, 2], [5, 6]]
    assert data.outputs.tolist() == [[3, 4], [7, 8]]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("t.tsv", "1\t2\t3\n4\t5\t6\n"),
        ("t.txt", "1\t2\t3\n4\t5\t6\n"),
        ("t.txt", "1;2;3\n4;5;6\n"),
        ("t.txt", "1 2  3\n  4 5 6\n"),
        ("t.csv", '"x","y","z"\n"1", 2 ,3\n# a comment\n\n4,5,6\n'),
    ],
)
def test_delimiters(tmp_path: Path, name: str, text: str) -> None:
    """Catches delimiter sniffing, quoting, comment or blank-line handling going wrong."""
    data = read_table(write(tmp_path, name, text))
    assert data.inputs.tolist() == [[1, 2], [4, 5]]
    assert data.outputs.tolist() == [[3], [6]]


def test_sniff_delimiter() -> None:
    assert sniff_delimiter("a\tb\n") == "\t"
    assert sniff_delimiter("# c,d\n1;2\n") == ";"
    assert sniff_delimiter("1 2\n") == " "
    assert sniff_delimiter("1,2\n", "x.tsv") == "\t"


def test_explicit_delimiter(tmp_path: Path) -> None:
    data = read_table(write(tmp_path, "t.txt", "1|2\n3|4\n"), delimiter="|")
    assert data.outputs.tolist() == [[2], [4]]


def test_gzip_csv_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(CSV.encode()))
    assert read_table(path, output_columns=["a"]).outputs.tolist() == [[1], [4]]
    monkeypatch.setattr(sys, "stdin", FakeStdin(CSV.encode()))
    assert read_table("-").outputs.tolist() == [[3], [6]]


CSV_ERRORS = {
    "non-numeric": ("a,b\n1,2\n3,x\n", 3, "column 2: 'x' is not a number"),
    "nan": ("1,2\n3,nan\n", 2, "column 2: 'nan' (NaN and Inf are not allowed)"),
    "empty value": ("1,2,3\n4,,6\n", 2, "column 2: empty value"),
    "ragged row": ("a,b,c\n1,2,3\n4,5\n", 3, "expected 3 columns, found 2"),
    "header only": ("a,b,c\n", 1, "header row but no data"),
    "empty": ("\n\n", 1, "empty table"),
}


@pytest.mark.parametrize("case", sorted(CSV_ERRORS))
def test_csv_errors_name_file_and_line(tmp_path: Path, case: str) -> None:
    """Catches CSV errors without a location, or reported on the wrong line."""
    text, line, message = CSV_ERRORS[case]
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(FormatError) as caught:
        read_table(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)


def test_bad_output_choices(tmp_path: Path) -> None:
    """Catches unknown names, duplicates and 'all outputs' being accepted."""
    path = write(tmp_path, "t.csv", CSV)
    with pytest.raises(ParameterError, match=r"no column named 'z'.*a, b, label, c"):
        read_table(path, output_columns=["z"])
    with pytest.raises(ParameterError, match="given twice"):
        read_table(path, output_columns=["a", 0])
    with pytest.raises(ParameterError, match="column 7 does not exist"):
        read_table(path, output_columns=[7])
    with pytest.raises(ShapeError, match="no inputs"):
        read_table(path, num_outputs=4)
    with pytest.raises(ParameterError, match="num_outputs is 2"):
        read_table(path, output_columns=["a"], num_outputs=2)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(2, 5)),
        elements=st.floats(allow_nan=False, allow_infinity=False),
    )
)
def test_table_write_read_round_trip(block: np.ndarray) -> None:
    """Catches lossy CSV number formatting."""
    data = TrainingData(block[:, :-1], block[:, -1:])
    header, values = parse_table(format_table(data), "t.csv")
    assert header == [f"x{i}" for i in range(block.shape[1] - 1)] + ["y0"]
    np.testing.assert_array_equal(values, block)


# ---------------------------------------------------------------- numpy and HDF5


def test_npy_single_array(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.arange(12.0).reshape(3, 4))
    data = read_table(path, num_outputs=2)
    assert data.inputs.tolist() == [[0, 1], [4, 5], [8, 9]]
    assert data.outputs.tolist() == [[2, 3], [6, 7], [10, 11]]


def test_npz_inputs_outputs(tmp_path: Path) -> None:
    """Catches 1-D outputs not made a column, and int arrays not converted to float64."""
    path = tmp_path / "a.npz"
    np.savez(path, inputs=np.array([[1, 2], [3, 4]]), outputs=np.array([5, 6]))
    data = read_table(path)
    assert data.inputs.dtype == np.float64
    assert data.outputs.tolist() == [[5], [6]]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"a": np.zeros((2, 2)), "b": np.zeros((2, 1))}, "expected arrays 'inputs' and 'outputs'"),
        ({"inputs": np.zeros((2, 2)), "outputs": np.zeros((3, 1))}, "2 rows but 'outputs' has 3"),
        ({"x": np.zeros((2, 2, 2))}, "must be 2-D"),
        ({"x": np.array([["a", "b"]])}, "not numbers"),
        ({"inputs": np.array([[np.inf, 1]]), "outputs": np.zeros((1, 1))}, "NaN or Inf"),
    ],
)
def test_npz_errors(tmp_path: Path, arrays: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises((FormatError, ShapeError), match=message):
        read_table(path)


def test_corrupt_npy(tmp_path: Path) -> None:
    path = tmp_path / "bad.npy"
    path.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(FormatError, match=r"bad\.npy: cannot read numpy file"):
        read_table(path)


def test_hdf5_data_file(tmp_path: Path) -> None:
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as handle:
        handle["inputs"] = np.array([[1.0, 2.0]])
        handle["outputs"] = np.array([[3.0]])
    data = read_table(path)
    assert data.inputs.tolist() == [[1, 2]]
    assert data.outputs.tolist() == [[3]]


def test_write_table_formats(tmp_path: Path) -> None:
    """Catches write_table writing one format under another's name."""
    data = TrainingData(np.array([[0.1, 2.0], [3.0, 4.5]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    for name in ("d.npz", "d.h5"):
        write_table(data, tmp_path / name)
        again = read_table(tmp_path / name)
        np.testing.assert_array_equal(again.inputs, data.inputs)
        np.testing.assert_array_equal(again.outputs, data.outputs)
    with h5py.File(tmp_path / "d.h5") as handle:
        assert handle.attrs["format"] == "fannctl-data"
    write_table(data, tmp_path / "d.tsv")
    assert (tmp_path / "d.tsv").read_text().splitlines()[1] == "0.1\t2\t1\t0"
    again = read_table(tmp_path / "d.tsv", num_outputs=2)
    np.testing.assert_array_equal(again.outputs, data.outputs)


# ---------------------------------------------------------------- read_inputs


def test_read_inputs_from_data_file() -> None:
    """Catches a .data file's header or outputs read as input rows."""
    inputs, outputs = read_inputs(FIXTURES / "xor_probe.data", 2)
    assert inputs.tolist() == [[-1, -1], [1, -1], [-1, 1], [1, 1]]
    assert outputs is not None
    assert outputs.tolist() == [[-1], [1], [1], [-1]]


def test_read_inputs_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches comma rows, header rows or stdin not accepted."""
    blank = read_inputs(write(tmp_path, "r.txt", "1 2 3\n\n4 5 6\n"), 3)
    assert blank[0].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert blank[1] is None
    comma = read_inputs(write(tmp_path, "r.csv", "x,y\n0.5, -1\n2,3,\n"), 2)
    assert comma[0].tolist() == [[0.5, -1], [2, 3]]
    monkeypatch.setattr(sys, "stdin", FakeStdin(b"7 8\n"))
    assert read_inputs("-", 2)[0].tolist() == [[7, 8]]


def test_read_inputs_three_integers_are_a_row_not_a_header(tmp_path: Path) -> None:
    """Catches a 3-input row '1 2 3' mistaken for a .data header."""
    inputs, outputs = read_inputs(write(tmp_path, "r.txt", "1 2 3\n4 5 6\n7 8 9\n"), 3)
    assert inputs.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert outputs is None


def test_read_inputs_errors(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"r\.txt:2: expected 2 input values.*found 3"):
        read_inputs(write(tmp_path, "r.txt", "1 2\n1 2 3\n"), 2)
    with pytest.raises(FormatError, match=r"r2\.txt:1: value 2: 'y' is not a number"):
        read_inputs(write(tmp_path, "r2.txt", "1 y\n"), 2)
    with pytest.raises(ShapeError, match="has 2 inputs per pattern, but the network has 3"):
        read_inputs(FIXTURES / "xor_probe.data", 3)


def test_read_inputs_npy(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.ones((4, 3)))
    assert read_inputs(path, 3)[0].shape == (4, 3)
    with pytest.raises(ShapeError):
        read_inputs(path, 2)
