"""fannctl.io's front door: format detection, atomic saves, data loading by content."""

from __future__ import annotations

import gzip
import io
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

import fannctl.io
import fannctl.io.hdf5
from fannctl.data import TrainingData
from fannctl.errors import FannctlError, FormatError, ParameterError, ShapeError
from fannctl.io import (
    atomic_write,
    detect_format,
    load_data,
    load_network,
    save_data,
    save_network,
)
from fannctl.io.fann_net import format_net

FIXTURES = Path(__file__).parent / "fixtures"
XOR_NET = FIXTURES / "xor_2_3_1.net"


class FakeStdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------- networks


def test_load_network_by_content_not_name(tmp_path: Path) -> None:
    """Catches format chosen by extension on load (a .net saved as .h5 and vice versa)."""
    net = load_network(XOR_NET)
    h5_named_net = tmp_path / "really_hdf5.net"
    fannctl.io.hdf5.write_hdf5(net, h5_named_net)
    net_named_h5 = tmp_path / "really_text.h5"
    net_named_h5.write_text(XOR_NET.read_text())
    assert detect_format(h5_named_net) == "hdf5"
    assert detect_format(net_named_h5) == "fann"
    assert format_net(load_network(h5_named_net)) == XOR_NET.read_text()
    assert format_net(load_network(net_named_h5)) == XOR_NET.read_text()


def test_load_network_errors(tmp_path: Path) -> None:
    with pytest.raises(FannctlError, match=r"^missing\.net: no such file$"):
        load_network("missing.net")
    junk = tmp_path / "junk.net"
    junk.write_text("4 2 1\n")
    with pytest.raises(FormatError, match=r"junk\.net: not a network file"):
        load_network(junk)
    with pytest.raises(FormatError, match="fixed-point"):
        load_network(FIXTURES / "xor_2_3_1_fixed.net")


def test_load_network_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches '-' not supported, for .net text and for (buffered) HDF5."""
    monkeypatch.setattr(sys, "stdin", FakeStdin(XOR_NET.read_bytes()))
    assert load_network("-").layers == [2, 3, 1]
    raw = fannctl.io.hdf5.hdf5_bytes(load_network(XOR_NET))
    monkeypatch.setattr(sys, "stdin", FakeStdin(raw))
    assert load_network("-").total_connections == 13


def test_net_on_stdin_opens_like_a_named_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """A float build's .net opens as float32 whether named or piped in."""
    named = fannctl.io.open_network(XOR_NET)
    monkeypatch.setattr(sys, "stdin", FakeStdin(XOR_NET.read_bytes()))
    piped = fannctl.io.open_network("-")
    assert named.dtype == piped.dtype == np.float32
    np.testing.assert_array_equal(piped.weights, named.weights)


@pytest.mark.parametrize("name", ["n.net", "n.h5", "n.hdf5", "N.H5"])
def test_save_network_by_extension(tmp_path: Path, name: str) -> None:
    net = load_network(XOR_NET)
    save_network(net, tmp_path / name)
    head = (tmp_path / name).read_bytes()[:8]
    expect_hdf5 = not name.endswith(".net")
    assert head.startswith(b"\x89HDF") == expect_hdf5
    assert format_net(load_network(tmp_path / name)) == XOR_NET.read_text()


def test_save_network_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"n\.txt: .*\.net .*\.h5/\.hdf5"):
        save_network(load_network(XOR_NET), tmp_path / "n.txt")
    assert list(tmp_path.iterdir()) == []


def test_failed_hdf5_save_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a half-written HDF5 file replacing a good one when serialisation fails."""
    target = tmp_path / "net.h5"
    target.write_bytes(b"old contents")

    def explode(*_args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(fannctl.io.hdf5, "_write_history", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_network(load_network(XOR_NET), target)
    assert target.read_bytes() == b"old contents"
    assert leftovers(tmp_path) == []


def test_failed_net_save_keeps_old_file(tmp_path: Path) -> None:
    """Catches an invalid network truncating the existing .net before failing."""
    target = tmp_path / "net.net"
    target.write_text(XOR_NET.read_text())
    broken = load_network(XOR_NET)
    broken.weights = broken.weights[:5]
    with pytest.raises(FormatError, match="13 connections"):
        save_network(broken, target)
    assert target.read_text() == XOR_NET.read_text()
    assert leftovers(tmp_path) == []


def test_atomic_write_midway_failure(tmp_path: Path) -> None:
    """Catches a writer that writes in place: the old bytes must survive a mid-write error."""
    target = tmp_path / "f.bin"
    target.write_bytes(b"original")

    def half_then_fail(handle: object) -> None:
        handle.write(b"half of the new")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    with pytest.raises(FannctlError, match=r"f\.bin: cannot write: No space left on device"):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"original"
    assert leftovers(tmp_path) == []


def test_saved_file_has_normal_permissions(tmp_path: Path) -> None:
    """Catches the temp file's private 0600 mode leaking into the saved network."""
    old = os.umask(0o022)
    try:
        save_network(load_network(XOR_NET), tmp_path / "n.net")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "n.net").stat().st_mode) == 0o644


def test_save_into_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FannctlError, match="cannot write: no such directory"):
        save_network(load_network(XOR_NET), tmp_path / "nodir" / "n.net")


# ---------------------------------------------------------------- data


def test_load_data_by_content(tmp_path: Path) -> None:
    """Catches format detection going by name only (gzip .train, extensionless files)."""
    fann = (FIXTURES / "xor_probe.data").read_bytes()
    (tmp_path / "xor.train").write_bytes(gzip.compress(fann))
    (tmp_path / "noext").write_bytes(fann)
    (tmp_path / "table").write_text("a,b,y\n1,2,3\n")
    np.save(tmp_path / "arr.bin", np.array([[1.0, 2.0, 3.0]]))  # numpy adds .npy
    for name in ("xor.train", "noext"):
        data = load_data(tmp_path / name)
        assert data.inputs.tolist() == [[-1, -1], [1, -1], [-1, 1], [1, 1]]
        assert data.outputs.tolist() == [[-1], [1], [1], [-1]]
    assert load_data(tmp_path / "table").outputs.tolist() == [[3]]
    assert load_data(tmp_path / "arr.bin.npy", num_outputs=2).outputs.tolist() == [[2, 3]]


def test_three_integer_columns_are_a_table(tmp_path: Path) -> None:
    """Catches a 3-column integer table misread as a .data header plus pairs."""
    path = tmp_path / "t.txt"
    path.write_text("1 2 3\n4 5 6\n7 8 9\n")
    data = load_data(path)
    assert data.inputs.tolist() == [[1, 2], [4, 5], [7, 8]]
    assert data.outputs.tolist() == [[3], [6], [9]]


def test_broken_data_file_reports_data_error(tmp_path: Path) -> None:
    """Catches a broken .data file reported as a confusing table error."""
    path = tmp_path / "broken"
    path.write_text("3 2 1\n1 1\n1\n0 0\n")
    with pytest.raises(FormatError, match=r"broken:4: file ends after 1 of 3 pairs"):
        load_data(path)


def test_load_data_option_checks() -> None:
    with pytest.raises(ParameterError, match="output columns apply to tables only"):
        load_data(FIXTURES / "xor_probe.data", output_columns=[0])
    with pytest.raises(ShapeError, match="has 1 outputs"):
        load_data(FIXTURES / "xor_probe.data", num_outputs=2)
    assert load_data(FIXTURES / "xor_probe.data", num_outputs=1).num_output == 1


@pytest.mark.parametrize("name", ["d.data", "d.data.gz", "d.csv", "d.tsv", "d.npz", "d.h5"])
def test_save_data_then_load(tmp_path: Path, name: str) -> None:
    """Catches save_data and load_data disagreeing about a format."""
    data = TrainingData(np.array([[0.5, -1.0], [2.0, 0.25]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    save_data(data, tmp_path / name)
    again = load_data(tmp_path / name, num_outputs=2)
    np.testing.assert_array_equal(again.inputs, data.inputs)
    np.testing.assert_array_equal(again.outputs, data.outputs)


def test_save_data_exact_flag(tmp_path: Path) -> None:
    data = TrainingData(np.array([[0.1234567891]]), np.array([[0.9999999]]))
    save_data(data, tmp_path / "fann.data")
    save_data(data, tmp_path / "exact.data", exact=True)
    assert (tmp_path / "fann.data").read_text() == "1 1 1\n0.123457 \n0 \n"
    assert load_data(tmp_path / "exact.data").inputs[0, 0] == 0.1234567891
