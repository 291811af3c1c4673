"""fannctl run as a streaming filter: input formats, blocks, outputs (stream.py, cli/run.py).

Each test names the bug it guards against.
"""

from __future__ import annotations

import gzip
import io as pyio
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl import io, runner, stream
from fannctl.cli.main import app
from fannctl.errors import FormatError, ShapeError

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
XOR_INPUTS = "-1 -1\n-1 1\n1 -1\n1 1\n"
cli = CliRunner()


def invoke(*args: str, input: str | bytes | None = None):
    return cli.invoke(app, [str(a) for a in args], input=input)


def make_net(path: Path, layers: str, *extra: str) -> str:
    result = invoke(
        "create", path, "--layers", layers, "--hidden-activation", "sigmoid_symmetric",
        "--output-activation", "sigmoid_symmetric", "--seed", "3", "-q", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return str(path)


@pytest.fixture(scope="module")
def xor_net(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_net(tmp_path_factory.mktemp("xor") / "xor.h5", "2,3,1")


@pytest.fixture(scope="module")
def net33(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_net(tmp_path_factory.mktemp("n33") / "n33.h5", "3,4,3")


def expected_text(net_path: str, inputs: np.ndarray) -> str:
    values = runner.run(io.open_network(net_path), inputs)
    return "".join(" ".join(str(v) for v in row) + "\n" for row in values)


# ---------------------------------------------------------------- input formats


def test_three_numbers_on_stdin_are_a_pattern_not_a_fann_header(net33: str) -> None:
    """`printf '1 3 3\\n1 2 3\\n4 5 6\\n' | run n33 -` printed one line: the first row
    was taken as a FANN header. On stdin every line is a pattern."""
    result = invoke("run", net33, "-", input="1 3 3\n1 2 3\n4 5 6\n")
    assert result.exit_code == 0, result.output
    rows = np.array([[1, 3, 3], [1, 2, 3], [4, 5, 6]], dtype=float)
    assert result.stdout == expected_text(net33, rows)


def test_text_first_line_on_stdin_is_an_error_unless_header(xor_net: str) -> None:
    """A non-numeric first line was silently dropped as a header."""
    result = invoke("run", xor_net, "-", input="a b\n1 1\n")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "fannctl: error: <stdin>:1: 'a' is not a number (a header row? --header skips it)"
    )
    skipped = invoke("run", xor_net, "-", "--header", input="a b\n1 1\n")
    assert skipped.exit_code == 0, skipped.output
    assert skipped.stdout == expected_text(xor_net, np.array([[1.0, 1.0]]))


def test_csv_header_rule(xor_net: str, tmp_path: Path) -> None:
    """csv skips a first row holding text by default; --no-header makes it an error,
    --header skips a numeric first row."""
    table = tmp_path / "in.csv"
    table.write_text("a,b\n1,-1\n-1,1\n")
    want = expected_text(xor_net, np.array([[1.0, -1], [-1, 1]]))
    assert invoke("run", xor_net, table).stdout == want
    refused = invoke("run", xor_net, table, "--no-header")
    assert refused.exit_code == 2 and "in.csv:1: value 1: 'a' is not a number" in refused.stderr
    forced = invoke("run", xor_net, table, "--header", input=None)
    assert forced.stdout == want
    numeric = invoke("run", xor_net, "-", "--input-format", "csv", "--header", input="1,1\n1,-1\n")
    assert numeric.stdout == expected_text(xor_net, np.array([[1.0, -1]]))


def test_tsv_and_quoted_csv(xor_net: str) -> None:
    want = expected_text(xor_net, np.array([[1.0, -1], [0.5, 2]]))
    tsv = invoke("run", xor_net, "-", "-i", "tsv", input="1\t-1\n0.5\t2\n")
    assert tsv.stdout == want
    quoted = invoke("run", xor_net, "-", "-i", "csv", input='"1","-1"\n0.5,2\n')
    assert quoted.stdout == want


def test_raw_accepts_commas_blanks_comments_and_crlf(xor_net: str) -> None:
    text = "# readings\r\n1, -1\r\n\r\n0.5 2\r\n"
    result = invoke("run", xor_net, "-", input=text)
    assert result.exit_code == 0, result.output
    assert result.stdout == expected_text(xor_net, np.array([[1.0, -1], [0.5, 2]]))


def test_fann_format_from_stdin_and_file(xor_net: str) -> None:
    """A .data file's outputs are skipped; the same file on stdin needs -i fann."""
    want = expected_text(xor_net, np.loadtxt(pyio.StringIO(XOR_INPUTS)))
    assert invoke("run", xor_net, XOR).stdout == want
    text = Path(XOR).read_text()
    assert invoke("run", xor_net, "-", "-i", "fann", input=text).stdout == want
    # without -i fann, the header line is a pattern of the wrong width, named
    wrong = invoke("run", xor_net, "-", input=text)
    assert wrong.exit_code == 2
    assert "<stdin>:1: expected 2 values" in wrong.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("4 2 1\n-1 -1\n-1\n-1 1\n1\n", "x.data:5: file ends after 2 of 4 pairs"),
        ("1 2 1\n-1 -1\n-1\n1 1\n", "x.data:4: extra data after the 1 pairs"),
        ("2 2 1\n-1 -1\n-1\n-1 x\n1\n", "x.data:4: value 2: 'x' is not a number"),
        ("2 2 1\n-1 -1\n-1\n-1 1 1\n1\n", "x.data:4: pair 2: expected 2 input values, found 3"),
        ("2 3 1\n-1 -1 1\n-1\n", "x.data: has 3 inputs per pattern, but the network has 2"),
        ("two 2 1\n", "x.data:1: bad header"),
    ],
)
def test_fann_format_errors_name_the_line(
    xor_net: str, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "x.data"
    path.write_text(content)
    result = invoke("run", xor_net, path)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_jsonl_arrays_and_objects(xor_net: str) -> None:
    text = '[1, -1]\n{"inputs": [0.5, 2], "outputs": [1]}\n'
    result = invoke("run", xor_net, "-", "-i", "jsonl", input=text)
    assert result.exit_code == 0, result.output
    assert result.stdout == expected_text(xor_net, np.array([[1.0, -1], [0.5, 2]]))
    bad = invoke("run", xor_net, "-", "-i", "jsonl", input="[1, -1]\n[1, true]\n")
    assert bad.exit_code == 2 and "<stdin>:2: value 2 is not a number" in bad.stderr
    broken = invoke("run", xor_net, "-", "-i", "jsonl", input="[1, -1\n")
    assert broken.exit_code == 2 and "<stdin>:1: not JSON" in broken.stderr


def test_row_width_errors_name_line_and_hint_metrics(xor_net: str) -> None:
    result = invoke("run", xor_net, "-", input="1 1\n1 1\n1 1 1\n")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "fannctl: error: <stdin>:3: expected 2 values (the network's 2 inputs), found 3 "
        "(inputs and desired outputs? --metrics reads those)"
    )


def test_nan_and_huge_values_are_refused(xor_net: str) -> None:
    nan = invoke("run", xor_net, "-", input="1 1\nnan 1\n")
    assert nan.exit_code == 2 and "<stdin>:2: value 1: 'nan' (NaN and Inf are not allowed)" in (
        nan.stderr
    )
    huge = invoke("run", xor_net, "-", input="1e999 1\n")
    assert huge.exit_code == 2 and "<stdin>:1: value 1: '1e999' is out of range" in huge.stderr


def test_gzip_text_is_read_in_pieces(xor_net: str, tmp_path: Path) -> None:
    path = tmp_path / "rows.txt.gz"
    path.write_bytes(gzip.compress(XOR_INPUTS.encode()) + gzip.compress(b"0.5 2\n"))
    want = np.loadtxt(pyio.StringIO(XOR_INPUTS + "0.5 2\n"))
    assert invoke("run", xor_net, path).stdout == expected_text(xor_net, want)
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(gzip.compress(XOR_INPUTS.encode() * 50)[:-12])
    result = invoke("run", xor_net, cut)
    assert result.exit_code == 2 and "cut.txt.gz: corrupt gzip data" in result.stderr


def test_gzip_expanding_past_a_read_loses_nothing(tmp_path: Path) -> None:
    """A few kB of gzip that inflate to 3 MB (three reads' worth): nothing is lost."""
    path = tmp_path / "many.txt.gz"
    path.write_bytes(gzip.compress(b"1 -1\n" * 600_000))
    blocks = stream.read_blocks(path, 2, 1)
    assert sum(block.num_patterns for block in blocks) == 600_000


def test_npy_input_in_blocks(xor_net: str, tmp_path: Path) -> None:
    inputs = np.random.default_rng(1).uniform(-1, 1, (10, 2))
    path = tmp_path / "in.npy"
    np.save(path, inputs)
    blocks = list(stream.read_blocks(path, 2, 1, block_patterns=4))
    assert [b.num_patterns for b in blocks] == [4, 4, 2]
    np.testing.assert_array_equal(np.vstack([b.inputs for b in blocks]), inputs)
    assert invoke("run", xor_net, path).stdout == expected_text(xor_net, inputs)
    np.save(path, inputs[:, :1])
    with pytest.raises(ShapeError, match=r"in\.npy: has 1 inputs per pattern"):
        list(stream.read_blocks(path, 2, 1))


# ---------------------------------------------------------------- blocks


class EndlessStdin:
    """A stdin that never ends, like `yes '1 1'`."""

    def __init__(self) -> None:
        self.reads = 0
        self.buffer = self

    def read1(self, size: int) -> bytes:
        self.reads += 1
        return b"1 1\n" * 5000


def test_endless_input_yields_bounded_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """run read all of stdin before computing: `yes | run` grew to 24 GB and printed
    nothing. Blocks come after a bounded number of reads and are bounded in size."""
    source = EndlessStdin()
    monkeypatch.setattr("sys.stdin", source)
    blocks = stream.read_blocks("-", 2, 1, block_patterns=3000)
    sizes = [next(blocks).num_patterns for _ in range(5)]
    assert max(sizes) <= 3000 and sum(sizes) >= 5 * 2000
    assert source.reads <= 4


def test_blocks_do_not_change_what_is_read_or_where_errors_are(tmp_path: Path) -> None:
    text = "".join(f"{i} {-i}\n" for i in range(20)) + "1 x\n"
    path = tmp_path / "rows.txt"
    path.write_text(text)
    for size in (1, 3, 7, 100):
        blocks = stream.read_blocks(path, 2, 1, block_patterns=size)
        got = []
        with pytest.raises(FormatError, match=r"rows\.txt:21: value 2: 'x' is not a number"):
            for block in blocks:
                got.append(block.inputs)
        # the blocks before the bad line's block come out whole and in order
        read = np.vstack(got)[:, 0] if got else np.zeros(0)
        assert read.tolist() == list(range(len(read))) and len(read) >= 20 - size


def test_a_line_split_between_reads_is_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    pieces = [b"1.2", b"5 -0", b".5\n2 ", b"3\n", b""]

    class Trickle:
        buffer = None

        def read1(self, size: int) -> bytes:
            return pieces.pop(0)

    trickle = Trickle()
    trickle.buffer = trickle
    monkeypatch.setattr("sys.stdin", trickle)
    blocks = list(stream.read_blocks("-", 2, 1))
    assert [b.inputs.tolist() for b in blocks] == [[[1.25, -0.5]], [[2.0, 3.0]]]


def test_endless_line_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(stream, "MAX_LINE", 1000)
    monkeypatch.setattr(stream, "READ_SIZE", 100)
    path = tmp_path / "long.txt"
    path.write_text("1 " * 2000)
    with pytest.raises(FormatError, match=r"long\.txt:1: line longer than"):
        list(stream.read_blocks(path, 2, 1))


# ---------------------------------------------------------------- outputs


@pytest.mark.parametrize(("fmt", "sep"), [("text", " "), ("csv", ","), ("tsv", "\t")])
def test_output_formats_read_back_exactly(net33: str, fmt: str, sep: str) -> None:
    inputs = np.random.default_rng(2).uniform(-3, 3, (50, 3))
    text = "".join(" ".join(repr(float(v)) for v in row) + "\n" for row in inputs)
    result = invoke("run", net33, "-", "--format", fmt, input=text)
    assert result.exit_code == 0, result.output
    printed = np.array(
        [[np.float32(v) for v in line.split(sep)] for line in result.stdout.splitlines()]
    )
    np.testing.assert_array_equal(printed, runner.run(io.open_network(net33), inputs))


def test_json_lines_output(xor_net: str) -> None:
    """--json and --format json/jsonl all print one JSON array a line."""
    values = runner.run(io.open_network(xor_net), np.loadtxt(pyio.StringIO(XOR_INPUTS)))
    for args in (["--json"], ["--format", "json"], ["--format", "jsonl"]):
        result = invoke("run", xor_net, "-", *args, input=XOR_INPUTS)
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert np.array(rows, dtype=np.float32).tolist() == values.tolist()


def test_output_file_is_atomic(xor_net: str, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = invoke("run", xor_net, "-", "-o", out, input=XOR_INPUTS)
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text() == invoke("run", xor_net, "-", "-f", "csv", input=XOR_INPUTS).stdout
    before = out.read_bytes()
    bad = invoke("run", xor_net, "-", "-o", out, input="1 1\n1 y\n")
    assert bad.exit_code == 2 and out.read_bytes() == before
    new = tmp_path / "new.txt"
    assert invoke("run", xor_net, "-", "-o", new, input="1 y\n").exit_code == 2
    assert not new.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_npy_output_round_trip(net33: str, tmp_path: Path) -> None:
    inputs = np.random.default_rng(3).uniform(-1, 1, (70, 3))
    np.save(tmp_path / "in.npy", inputs)
    out = tmp_path / "out.npy"
    result = invoke("run", net33, tmp_path / "in.npy", "-o", out)
    assert result.exit_code == 0, result.output
    written = np.load(out)
    assert written.dtype == np.float32 and written.shape == (70, 3)
    np.testing.assert_array_equal(written, runner.run(io.open_network(net33), inputs))
    refused = invoke("run", net33, tmp_path / "in.npy", "--format", "npy")
    assert refused.exit_code == 2 and "-o FILE.npy" in refused.stderr


def test_metrics_from_rows_with_targets_equal_the_data_file(xor_net: str) -> None:
    data = io.load_data(XOR)
    rows = "".join(
        " ".join(str(v) for v in [*x, *y]) + "\n"
        for x, y in zip(data.inputs, data.outputs, strict=True)
    )
    from_rows = json.loads(invoke("run", xor_net, "-", "--metrics", "--json", input=rows).stdout)
    from_file = json.loads(invoke("run", xor_net, XOR, "--metrics", "--json").stdout)
    mse, bit_fail = runner.test(io.open_network(xor_net), data)
    assert from_rows["mse"] == from_file["mse"] == pytest.approx(mse, rel=1e-12)
    assert from_rows["bit_fail"] == from_file["bit_fail"] == bit_fail
    assert from_rows["patterns"] == from_file["patterns"] == 4
    missing = invoke("run", xor_net, "-", "--metrics", input=XOR_INPUTS)
    assert missing.exit_code == 2
    assert "expected 3 values (the network's 2 inputs and 1 desired outputs)" in missing.stderr


def test_empty_input_prints_nothing(xor_net: str) -> None:
    result = invoke("run", xor_net, "-", input="")
    assert result.exit_code == 0 and result.stdout == ""
    metrics = invoke("run", xor_net, "-", "--metrics", input="")
    assert metrics.exit_code == 2 and "<stdin>: no patterns" in metrics.stderr


def test_unknown_formats_are_refused(xor_net: str) -> None:
    bad_in = invoke("run", xor_net, "-", "-i", "xml", input="1 1\n")
    assert bad_in.exit_code == 2 and "input format must be one of" in bad_in.stderr
    bad_out = invoke("run", xor_net, "-", "-f", "xml", input="1 1\n")
    assert bad_out.exit_code == 2 and "--format must be one of" in bad_out.stderr


@pytest.mark.parametrize(("fmt", "sep"), [("raw", " "), ("csv", ","), ("tsv", "\t")])
def test_numpys_reader_and_the_careful_parser_read_the_same_numbers(
    tmp_path: Path, fmt: str, sep: str
) -> None:
    """After the first block, plain lines go through numpy's own text reader: every
    value must still be Python's float() of its text, exactly."""
    values = np.random.default_rng(5).standard_normal((3000, 3)) * 10.0 ** np.arange(-3, 3, 2)
    text = "".join(sep.join(repr(float(v)) for v in row) + "\n" for row in values)
    path = tmp_path / f"rows.{fmt}"
    path.write_text(text)
    blocks = list(stream.read_blocks(path, 3, 1, input_format=fmt, block_patterns=500))
    assert [b.num_patterns for b in blocks][:2] == [500, 500]
    np.testing.assert_array_equal(np.vstack([b.inputs for b in blocks]), values)


def test_fann_blocks_equal_the_whole_file_reader_and_name_a_late_error(tmp_path: Path) -> None:
    """Whole pairs go through numpy's reader; a bad value deep in the file is still
    named by its line."""
    rng = np.random.default_rng(6)
    inputs, outputs = rng.uniform(-1, 1, (900, 3)), rng.uniform(-1, 1, (900, 2))
    lines = ["900 3 2"]
    for x, y in zip(inputs, outputs, strict=True):
        lines += [" ".join(repr(float(v)) for v in x), " ".join(repr(float(v)) for v in y)]
    path = tmp_path / "big.data"
    path.write_text("\n".join(lines) + "\n")
    blocks = list(stream.read_blocks(path, 3, 2, targets=True, block_patterns=101))
    data = io.load_data(path)
    np.testing.assert_array_equal(np.vstack([b.inputs for b in blocks]), data.inputs)
    np.testing.assert_array_equal(np.vstack([b.targets for b in blocks]), data.outputs)
    lines[1501] = "0.5 0.25 oops"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"big\.data:1502: value 3: 'oops' is not a number"):
        list(stream.read_blocks(path, 3, 2, block_patterns=101))


def test_a_stored_arrays_blocks_are_cut_to_fit_in_cache(tmp_path, monkeypatch):
    """.npy blocks hold about BINARY_BLOCK_BYTES of inputs, in whole kilo-rows, so the
    NaN check and the forward pass read each block from cache; every row comes once."""
    import numpy as np

    from fannctl import stream

    rows = np.random.default_rng(0).random((3000, 125)).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, rows)
    monkeypatch.setattr(stream, "BINARY_BLOCK_BYTES", 125 * 4 * 2100)
    blocks = [b.inputs for b in stream.read_blocks(path, 125, 1)]
    assert [len(b) for b in blocks] == [2048, 952]
    np.testing.assert_array_equal(np.concatenate(blocks), rows)
    small = [len(b.inputs) for b in stream.read_blocks(path, 125, 1, block_patterns=1000)]
    assert small == [1000, 1000, 1000]  # a caller's smaller block still holds


def test_a_stored_array_runs_blocks_in_parallel_with_the_same_rows(tmp_path, monkeypatch):
    """With --threads 2 a .npy's blocks are checked and run two at a time
    (``RunSession.block_outputs``): the rows come back in order with the serial
    path's bits, a NaN is still named by its row after the rows before it, and a
    pipe or text file is still answered a block at a time."""
    from fannctl import jobs, threads

    net_path = make_net(tmp_path / "m.h5", "125,32,2")
    rows = np.random.default_rng(2).uniform(-1, 1, (5000, 125)).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, rows)
    monkeypatch.setattr(stream, "BINARY_BLOCK_BYTES", 125 * 4 * 1024)  # 1024-row blocks
    session = jobs.open_run(jobs.RunRequest(net_path, path, device="numpy"))

    def outputs() -> list[np.ndarray]:
        blocks = stream.read_blocks(path, 125, 2, defer_checks=True)
        return list(session.block_outputs(blocks))

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    serial = outputs()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert threads.count() == 2
    taken = []
    real_take = stream.StoredBlock.take
    monkeypatch.setattr(stream.StoredBlock, "take", lambda self: taken.append(1) or real_take(self))
    import threading

    names = set()
    real_run = runner.run

    def run(*args, **kwargs):
        names.add(threading.current_thread().name)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(runner, "run", run)
    parallel = outputs()
    assert len(taken) == 5 and any(name != "MainThread" for name in names)
    assert [len(o) for o in parallel] == [1024, 1024, 1024, 1024, 904]
    np.testing.assert_array_equal(np.concatenate(parallel), np.concatenate(serial))
    np.testing.assert_array_equal(np.concatenate(serial), runner.run(session.network, rows))

    rows[3333, 7] = np.nan
    np.save(path, rows)
    got = []
    with pytest.raises(FormatError, match=r"x\.npy: array 'inputs' holds NaN or Inf \(row 3334\)"):
        for block in session.block_outputs(stream.read_blocks(path, 125, 2, defer_checks=True)):
            got.append(block)
    assert len(got) == 3  # the three blocks before the bad one, in order

    text = tmp_path / "x.txt"
    np.savetxt(text, rows[:10], fmt="%.9g")
    blocks = stream.read_blocks(text, 125, 2, defer_checks=True)
    assert not isinstance(next(iter(blocks)), stream.StoredBlock)  # text: checked as read


def test_numpy_forward_in_several_threads_at_once_gives_each_its_own_rows():
    """``NumpyBackend.forward`` keeps a set of work arrays per thread
    (``concurrent_forward``): four threads at once give the bits of one."""
    from concurrent.futures import ThreadPoolExecutor

    from fannctl import network
    from fannctl.backends.numpy_backend import NumpyBackend

    rng = np.random.default_rng(4)
    net = network.create(layers=[30, 20, 10, 3], rng=rng)
    parts = [rng.uniform(-1, 1, (4096 + 64 * i, 30)).astype(np.float32) for i in range(12)]
    backend = NumpyBackend()
    assert backend.concurrent_forward
    alone = [backend.forward(net, p) for p in parts]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda p: backend.forward(net, p), parts * 3))
    for got, want in zip(together, alone * 3, strict=True):
        np.testing.assert_array_equal(got, want)
