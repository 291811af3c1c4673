"""Hostile input for every reader: mutated, truncated, huge-header and random-byte files.

Each reader must either read the file or raise one FannctlError whose one-line
message names the file; never another exception (h5py's, numpy's, a
MemoryError), never a hang, never an allocation a header asks for before the
file shows it holds that much. Hypothesis runs derandomized (a fixed sequence
of examples), so CI is deterministic; EXAMPLES inputs per reader.
"""

from __future__ import annotations

import gzip
import io as pyio
import os
import resource
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fannctl import io
from fannctl.errors import FannctlError
from fannctl.io.hdf5 import hdf5_bytes
from fannctl.network import build

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = 300
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _xor_net():
    net = build([2, 3, 1], hidden_activation="sigmoid_symmetric", seed=1)
    net.history.append({"epoch": 1, "mse": 0.25, "bit_fail": 4, "seconds": 0.1})
    net.provenance.append({"command": "fannctl create"})
    return net


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = pyio.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _hdf5_data_bytes() -> bytes:
    import h5py

    buffer = pyio.BytesIO()
    with h5py.File(buffer, "w") as root:
        root.create_dataset("inputs", data=np.arange(8.0).reshape(4, 2))
        root.create_dataset("outputs", data=np.array([[0.0], [1.0], [1.0], [0.0]]))
    return buffer.getvalue()


def _stream(input_format: str | None) -> Callable[[str], object]:
    """``run``'s streaming reader over a whole file (2 inputs, 1 output, with targets)."""

    def load(path: str) -> object:
        from fannctl import stream

        return [b for b in stream.read_blocks(path, 2, 1, input_format=input_format, targets=True)]

    return load


XOR_DATA = (ROOT / "datasets" / "xor.data").read_bytes()
SEEDS: dict[str, tuple[str, bytes]] = {
    "net": ("x.net", (FIXTURES / "xor_scaled.net").read_bytes()),
    "sparse_net": ("x.net", (FIXTURES / "sparse_0.5_4_4_2.net").read_bytes()),
    "hdf5_net": ("x.h5", hdf5_bytes(_xor_net())),
    "data": ("x.data", XOR_DATA),
    "gzip_data": ("x.data.gz", gzip.compress(XOR_DATA, mtime=0)),
    "csv": ("x.csv", b"a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"),
    "npy": ("x.npy", _npy_bytes(np.arange(12.0).reshape(4, 3))),
    "hdf5_data": ("x.h5", _hdf5_data_bytes()),
    "stream_data": ("x.data", XOR_DATA),
    "stream_csv": ("x.csv", b"a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"),
}
LOADERS: dict[str, Callable[[str], object]] = {
    "net": io.load_network,
    "sparse_net": io.load_network,
    "hdf5_net": io.load_network,
    "data": io.load_data,
    "gzip_data": io.load_data,
    "csv": io.load_data,
    "npy": io.load_data,
    "hdf5_data": io.load_data,
    "stream_data": _stream("fann"),
    "stream_csv": _stream(None),
}
# Tokens that make readers try hard: huge counts, NaN, negative sizes.
NASTY = [b"999999999999", b"4294967297", b"-1", b"nan", b"inf", b"1e309", b"\x00", b"=", b"("]


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """``seed`` after 1-4 edits: truncation, byte flips, insertions, deletions, nasty tokens."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "nasty", "dup"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            del data[pos:]
        elif kind == "flip":
            if data:
                data[pos] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif kind == "nasty":
            token = draw(st.sampled_from(NASTY))
            data[pos : pos + draw(st.integers(0, len(token)))] = token
        else:
            size = draw(st.integers(1, 64))
            data[pos:pos] = data[pos : pos + size]
    return bytes(data)


def check_reader(load: Callable[[str], object], path: str, payload: bytes) -> None:
    """The contract: a value, or one FannctlError line naming the file."""
    with open(path, "wb") as handle:
        handle.write(payload)
    try:
        load(path)
    except FannctlError as error:
        message = str(error)
        assert path in message, f"message does not name the file: {message!r}"
        assert "\n" not in message, f"more than one line: {message!r}"
    except MemoryError:  # pragma: no cover - the failure this guards against
        pytest.fail(f"a header drove an allocation: {payload[:80]!r}")


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as folder:
        yield folder


@pytest.fixture(autouse=True)
def _memory_cap():
    """Cap the address space so a header-driven allocation fails instead of swapping."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = 4 << 30
    if soft != resource.RLIM_INFINITY and soft < cap:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _fuzz_test(kind: str):
    name, seed = SEEDS[kind]
    load = LOADERS[kind]

    @FUZZ
    @given(payload=mutated(seed))
    def test(scratch, payload):
        check_reader(load, os.path.join(scratch, name), payload)

    test.__name__ = f"test_mutated_{kind}_reads_or_fails_in_one_line"
    return test


test_mutated_net = _fuzz_test("net")
test_mutated_sparse_net = _fuzz_test("sparse_net")
test_mutated_hdf5_net = _fuzz_test("hdf5_net")
test_mutated_data = _fuzz_test("data")
test_mutated_gzip_data = _fuzz_test("gzip_data")
test_mutated_csv = _fuzz_test("csv")
test_mutated_npy = _fuzz_test("npy")
test_mutated_hdf5_data = _fuzz_test("hdf5_data")
test_mutated_stream_data = _fuzz_test("stream_data")
test_mutated_stream_csv = _fuzz_test("stream_csv")


@FUZZ
@given(payload=st.binary(max_size=512), kind=st.sampled_from(sorted(SEEDS)))
def test_random_bytes(scratch, payload, kind):
    name, _ = SEEDS[kind]
    check_reader(LOADERS[kind], os.path.join(scratch, "r" + name), payload)


@FUZZ
@given(prefix=st.sampled_from([b"\x89HDF\r\n\x1a\n", b"FANN_FLO_2.1\n", b"\x93NUMPY"]))
def test_magic_then_garbage(scratch, prefix):
    for kind in ("hdf5_net", "net", "npy"):
        name, _ = SEEDS[kind]
        check_reader(LOADERS[kind], os.path.join(scratch, "m" + name), prefix + b"\x01" * 40)


# ---------------------------------------------------------------- huge headers


HUGE = [
    ("data", "x.data", b"4000000000 1000000 1000000\n0 1\n1\n"),
    ("data", "x.data", b"3 999999999999999999999 1\n0 1\n1\n"),
    ("net", "x.net", b"FANN_FLO_2.1\nnum_layers=1000000000\nlearning_rate=0.7\n"),
    ("npy", "x.npy", None),
    ("hdf5_net", "x.h5", None),
    ("hdf5_data", "x.h5", None),
]


def _huge_npy() -> bytes:
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 3), }"
    header = header.ljust(118) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 48


def _huge_hdf5(network: bool) -> bytes:
    """A tiny file whose dataset claims 10**11 elements (chunked, never written)."""
    import h5py

    if network:
        raw = hdf5_bytes(_xor_net())
        buffer = pyio.BytesIO(raw)
        with h5py.File(buffer, "a") as root:
            del root["network/weights"]
            root["network"].create_dataset(
                "weights", shape=(10**11,), dtype="f4", chunks=(1024,), fillvalue=0.5
            )
        return buffer.getvalue()
    buffer = pyio.BytesIO()
    with h5py.File(buffer, "w") as root:
        root.create_dataset("inputs", shape=(10**11, 2), dtype="f8", chunks=(1024, 2))
        root.create_dataset("outputs", shape=(10**11, 1), dtype="f8", chunks=(1024, 1))
    return buffer.getvalue()


@pytest.mark.parametrize(("kind", "name", "payload"), HUGE)
def test_huge_header_fails_without_allocating(scratch, kind, name, payload):
    # Bug guarded: a header (or dataset shape) of 10**11 values allocating before
    # the file shows it holds them.
    if payload is None:
        payload = _huge_npy() if kind == "npy" else _huge_hdf5(kind == "hdf5_net")
    path = os.path.join(scratch, "huge-" + name)
    with open(path, "wb") as handle:
        handle.write(payload)
    with pytest.raises(FannctlError) as caught:
        LOADERS[kind](path)
    assert path in str(caught.value)


def test_hdf5_internal_errors_become_one_line(scratch):
    # The issue's four files: h5py's "bad symbol table node signature" and "ran off
    # end of input buffer" surfaced as exit 1 with h5py's text alone.
    raw = bytearray(SEEDS["hdf5_net"][1])
    path = os.path.join(scratch, "bad.h5")
    failures = 0
    for offset in range(8, min(len(raw), 4096), 13):
        broken = bytearray(raw)
        broken[offset] ^= 0xFF
        with open(path, "wb") as handle:
            handle.write(bytes(broken))
        try:
            io.load_network(path)
        except FannctlError as error:
            failures += 1
            assert str(error).startswith(path + ":")
    assert failures > 20  # the flips did hit the metadata


def test_a_file_that_hangs_the_hdf5_library_is_one_line(monkeypatch):
    # Found by fuzzing (3,000 mutations): a damaged attribute message makes the
    # HDF5 library loop forever in H5Aread, where no Python code runs again.
    from fannctl.io import _files

    monkeypatch.setattr(_files, "GUARD_SECONDS", 1.0)
    path = str(FIXTURES / "hdf5_hangs.h5")
    with pytest.raises(FannctlError, match=r"damaged HDF5 file .*still reading it") as caught:
        io.load_network(path)
    assert str(caught.value).startswith(path + ":")


def test_a_reader_that_crashes_is_one_line():
    import signal as signals

    from fannctl.io._files import run_guarded

    def crash() -> None:
        os.kill(os.getpid(), signals.SIGSEGV)

    def refuse() -> None:
        raise FannctlError("its own error")

    with pytest.raises(FannctlError, match=r"x\.h5: damaged HDF5 file .*crashed"):
        run_guarded(crash, "x.h5")
    assert run_guarded(lambda: np.arange(3), "x.h5").tolist() == [0, 1, 2]
    with pytest.raises(FannctlError, match="its own error"):
        run_guarded(refuse, "x.h5")


def test_meanwhile_runs_while_the_child_reads_and_its_error_ends_the_child(tmp_path):
    import time

    from fannctl.io import _files
    from fannctl.io._files import run_guarded

    started = tmp_path / "child-started"

    def slow_read() -> str:
        started.write_text("yes")
        time.sleep(0.3)
        return "read"

    seen = []

    def meanwhile() -> None:  # runs in this process, during the child's read
        deadline = time.monotonic() + 5
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(started.exists())

    began = time.monotonic()
    assert run_guarded(slow_read, "x.h5", meanwhile=meanwhile) == "read"
    assert seen == [True]  # the child had started before meanwhile returned
    assert time.monotonic() - began < 5

    children = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    def broken() -> None:
        raise FannctlError("no such device")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_files.os, "fork", fork)
        with pytest.raises(FannctlError, match="no such device"):
            run_guarded(lambda: time.sleep(30), "x.h5", meanwhile=broken)
    assert len(children) == 1
    with pytest.raises(ChildProcessError):  # already reaped: killed, not left running
        os.waitpid(children[0], os.WNOHANG)

    order = []
    with pytest.MonkeyPatch.context() as patch:  # without fork: read, then meanwhile
        patch.setattr(_files, "GUARD", False)
        run_guarded(lambda: order.append("read"), "x.h5", meanwhile=lambda: order.append("m"))
    assert order == ["read", "m"]
