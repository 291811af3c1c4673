"""fannctl.datafiles: the data tools a block at a time give the whole-file path's bytes,
in bounded memory, and bad input still fails whole (one line, no output file)."""

from __future__ import annotations

import gzip
import tracemalloc
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl import datafiles, datastream, datatools
from fannctl.cli.main import app
from fannctl.data import TrainingData, _column_params

BLOCK = 7  # far smaller than the data sets below: many blocks


def _classes(n: int = 101, seed: int = 1) -> TrainingData:
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    return TrainingData(rng.normal(size=(n, 4)) * 10, np.eye(3)[labels], "classes")


def _regression(n: int = 93, seed: int = 2, outputs: int = 1) -> TrainingData:
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(n, 1)) * 1e3 + 0.1
    return TrainingData(inputs, rng.normal(size=(n, outputs)), "reg")


SOURCES = ["src.data", "src.data.gz", "src.csv", "src.tsv", "src.npy", "src.h5"]
TARGETS = ["out.data", "out.data.gz", "out.csv", "out.npy"]


def _source(tmp_path: Path, name: str, data: TrainingData) -> tuple[str, int | None]:
    path = tmp_path / name
    datatools.save(data, path)
    outputs = data.num_output if name.endswith((".csv", ".tsv", ".npy")) else None
    return str(path), outputs


@pytest.fixture
def no_whole_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test if the whole-file reader is used (the streaming path must do it)."""

    def refuse(*args, **kwargs):
        raise AssertionError("read whole")

    monkeypatch.setattr(datafiles, "_load", refuse)


def _whole(tmp_path: Path, path: str, outputs: int | None) -> TrainingData:
    return datatools.load(path, num_outputs=outputs)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("target", TARGETS)
def test_convert_in_blocks_gives_the_whole_paths_bytes(
    tmp_path: Path, source: str, target: str, no_whole_path: None
) -> None:
    """Catches a block boundary that drops, doubles or reformats a pattern, a header
    count written before it is known, or a gzip stream that differs from gzip.compress."""
    data = _classes()
    path, outputs = _source(tmp_path, source, data)
    streamed, whole = tmp_path / f"s-{target}", tmp_path / f"w-{target}"
    count = datafiles.convert_file(path, str(streamed), num_outputs=outputs, block_patterns=BLOCK)
    datatools.save(_whole(tmp_path, path, outputs), whole)
    assert count == data.num_patterns
    assert streamed.read_bytes() == whole.read_bytes()


@pytest.mark.parametrize("source", SOURCES)
def test_every_tool_in_blocks_gives_the_whole_paths_bytes(
    tmp_path: Path, source: str, no_whole_path: None
) -> None:
    """shuffle, split (stratified), subset, merge and scale: same seed, same bytes."""
    data = _classes()
    path, outputs = _source(tmp_path, source, data)
    whole = _whole(tmp_path, path, outputs)
    kw = {"num_outputs": outputs, "block_patterns": BLOCK}

    def same(name: str, expected: TrainingData) -> None:
        reference = tmp_path / f"ref-{name}"
        datatools.save(expected, reference)
        assert (tmp_path / name).read_bytes() == reference.read_bytes(), name

    datafiles.shuffle_file(path, str(tmp_path / "shuffled.data"), 5, **kw)
    same("shuffled.data", datatools.shuffle(whole, 5))
    counts = datafiles.split_file(
        path, str(tmp_path / "tr.data"), str(tmp_path / "te.data"), 0.3, 9, **kw
    )
    train, test = datatools.split(whole, 0.3, 9)
    assert counts == (train.num_patterns, test.num_patterns)
    same("tr.data", train)
    same("te.data", test)
    datafiles.subset_file(path, str(tmp_path / "sub.csv"), 12, 30, **kw)
    same("sub.csv", datatools.subset(whole, 12, 30))
    datafiles.merge_files([path, path], str(tmp_path / "merged.npy"), **kw)
    same("merged.npy", datatools.merge([whole, whole]))
    datafiles.scale_file(path, str(tmp_path / "scaled.data"), (-1.0, 1.0), (0.0, 1.0), **kw)
    same("scaled.data", datatools.scale(whole, (-1.0, 1.0), (0.0, 1.0)))


@pytest.mark.parametrize("source", ["src.data", "src.csv", "src.npy"])
def test_scale_of_one_column_is_numpys_pairwise_mean_to_the_bit(
    tmp_path: Path, source: str, no_whole_path: None
) -> None:
    """numpy sums one column pairwise over the whole count (not row by row): a streamed
    mean that adds blocks in turn differs in the last bits and so in the written text."""
    data = _regression(n=1000, outputs=1)
    path, outputs = _source(tmp_path, source, data)
    out = tmp_path / "scaled.data"
    datafiles.scale_file(path, str(out), (-1.0, 1.0), (-1.0, 1.0), num_outputs=outputs)
    reference = tmp_path / "ref.data"
    datatools.save(datatools.scale(data, (-1.0, 1.0), (-1.0, 1.0)), reference)
    assert out.read_bytes() == reference.read_bytes()


@pytest.mark.parametrize(
    "shape", [(1, 1), (7, 1), (8, 1), (129, 1), (1000, 1), (4099, 1), (300, 2), (2000, 125)]
)
@pytest.mark.parametrize("block", [1, 5, 64, 10000])
def test_column_sums_equal_numpys_axis_0_sum(shape: tuple[int, int], block: int) -> None:
    """The reduction order scale relies on: row by row for several columns, numpy's
    pairwise tree for one."""
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    values = rng.normal(size=shape) * 10.0 ** rng.integers(-5, 6, size=shape)
    total = datafiles._ColumnSum(shape[0], shape[1])
    for start in range(0, shape[0], block):
        total.add(values[start : start + block])
    np.testing.assert_array_equal(total.result(), np.sum(values, axis=0))
    source = datastream.whole_source(TrainingData(values, np.zeros((shape[0], 0))), block)
    mean, dev = datafiles._mean_deviation(source, "inputs")
    np.testing.assert_array_equal(mean, values.mean(axis=0))
    np.testing.assert_array_equal(dev, values.std(axis=0))


def test_info_in_blocks_matches_the_whole_report(tmp_path: Path, no_whole_path: None) -> None:
    """Counts, ranges, constants and class balance exact; mean and std to rounding."""
    data = _classes(n=500)
    data.inputs[:, 1] = 3.25
    path, _ = _source(tmp_path, "src.data.gz", data)
    got = datafiles.info_file(path, block_patterns=BLOCK)
    want = datatools.info(datatools.load(path))
    for column in got["columns"] + want["columns"]:
        column["mean"], column["std"] = round(column["mean"], 9), round(column["std"], 9)
    assert got == want
    assert got["constant_columns"] == ["x1"]


def _peak(run) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_is_the_blocks_not_the_files(tmp_path: Path, monkeypatch) -> None:
    """info and convert of a file 32 blocks long hold about a block (tracemalloc sees
    numpy's buffers), and twice the file costs no more; a whole read holds the file's
    arrays (10 MB here) and, for text, the text too (40 MB). Caught: info unpacking
    the block generator into a tuple (the whole file in memory at once)."""
    from fannctl import stream

    # text is read in pieces of READ_SIZE split into lines: a floor of ~7 pieces
    monkeypatch.setattr(stream, "READ_SIZE", 1 << 16)
    rng = np.random.default_rng(0)
    n, block = 16 * 1024, 512
    data = TrainingData(rng.normal(size=(n, 20)), (rng.random((n, 2)) > 0.5) * 1.0, "big")
    text, binary, double = tmp_path / "big.data", tmp_path / "big.npy", tmp_path / "two.npy"
    datatools.save(data, text)
    datatools.save(data, binary)
    datatools.save(datatools.merge([data, data]), double)
    mib = 1 << 20
    whole = partial(datatools.load, str(binary), num_outputs=2)
    assert _peak(lambda: datatools.info(whole())) > 5 * mib  # what the bounds tell apart
    assert _peak(lambda: datafiles.info_file(str(text), block_patterns=block)) < 2 * mib
    out = str(tmp_path / "a.npy")
    assert _peak(lambda: datafiles.convert_file(str(text), out, block_patterns=block)) < 2 * mib
    np.testing.assert_array_equal(np.load(out)[:, :20], data.inputs)
    for source in (str(binary), str(double)):
        info = partial(datafiles.info_file, source, num_outputs=2, block_patterns=block)
        assert _peak(info) < 1 * mib, source
        convert = partial(
            datafiles.convert_file,
            source,
            str(tmp_path / "b.data"),
            num_outputs=2,
            block_patterns=block,
        )
        assert _peak(convert) < 3 * mib, source


def test_a_table_without_a_count_goes_through_a_spool(tmp_path: Path) -> None:
    """A CSV does not say its length: .data's header needs it, so rows wait in a spool
    beside the output, which is gone afterwards."""
    data = _regression(n=50, outputs=2)
    path, _ = _source(tmp_path, "src.csv", data)
    out = tmp_path / "out.data"
    datafiles.convert_file(path, str(out), num_outputs=2, block_patterns=BLOCK)
    assert out.read_text().splitlines()[0] == "50 1 2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.data", "src.csv"]


def test_fann_data_with_a_pair_on_one_line_still_converts(tmp_path: Path) -> None:
    """libfann reads any whitespace layout; the line-based streaming parser does not,
    so the whole-file reader takes over (today's result)."""
    odd = tmp_path / "odd.data"
    odd.write_text("3 2 1\n0 0 0\n0 1 1\n1 0 1\n")
    out = tmp_path / "out.csv"
    assert datafiles.convert_file(str(odd), str(out), block_patterns=2) == 3
    assert out.read_text() == "x0,x1,y0\n0,0,0\n0,1,1\n1,0,1\n"


runner = CliRunner()


@pytest.mark.parametrize("command", ["convert", "shuffle", "info"])
def test_a_bad_line_deep_in_a_big_file_is_one_error_and_no_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """Found in block 40 of 50, after 39 blocks went to the temp file: exit 2, one
    line naming FILE:LINE, no output and no temp file left."""
    monkeypatch.setattr(datastream, "BLOCK_PATTERNS", 20)
    data = _regression(n=500, outputs=1)
    path = tmp_path / "big.data"
    datatools.save(data, path)
    lines = path.read_text().splitlines()
    lines[801] = "1 oops"  # pair 401's inputs... one input column: a second value
    lines[803] = "x"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.npy"
    args = ["data", command, str(path)] + ([] if command == "info" else [str(out)])
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("fannctl: error: "), result.stderr
    assert f"{path}:802" in errors[0] and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.data"]


def test_stdout_gets_the_whole_paths_text(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(datastream, "BLOCK_PATTERNS", 5)
    data = _classes(n=40)
    path, _ = _source(tmp_path, "src.data.gz", data)
    result = runner.invoke(app, ["data", "convert", path, "-"])
    assert result.exit_code == 0, result.output
    reference = tmp_path / "ref.data"
    datatools.save(data, reference)
    assert result.stdout == reference.read_text()
    assert gzip.decompress(Path(path).read_bytes()).decode() == result.stdout


def test_npz_and_hdf5_outputs_hold_the_same_numbers(tmp_path: Path) -> None:
    data = _classes(n=60)
    path, _ = _source(tmp_path, "src.data", data)
    for name in ("out.npz", "out.h5"):
        datafiles.convert_file(path, str(tmp_path / name), block_patterns=BLOCK)
        back = datatools.load(tmp_path / name)
        np.testing.assert_array_equal(back.inputs, data.inputs)
        np.testing.assert_array_equal(back.outputs, data.outputs)


def test_empty_columns_params_match_fannctl_data() -> None:
    """A zero-pattern set: the parameters fannctl.data gives an empty block."""
    source = datastream.whole_source(TrainingData(np.zeros((0, 2)), np.zeros((0, 1))))
    scaling = datafiles._scaling_from(source, (0.0, 1.0), None)
    for got, want in zip(
        (scaling.mean_in, scaling.deviation_in, scaling.new_min_in, scaling.factor_in),
        _column_params(np.zeros((0, 2)), 0.0, 1.0),
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "header", [b"4000000000 1000000 1000000\n0 1\n1\n", b"3 999999999999999999999 1\n0 1\n1\n"]
)
@pytest.mark.parametrize("target", ["out.h5", "out.npy", "out.data"])
def test_a_header_claiming_more_than_the_file_holds_is_refused_before_writing(
    tmp_path: Path, header: bytes, target: str
) -> None:
    """The counts size the writers (HDF5 datasets, .npy header): unchecked, a lying
    header gave a traceback from h5py instead of the one-line error."""
    path = tmp_path / "x.data"
    path.write_bytes(header)
    result = runner.invoke(app, ["data", "convert", str(path), str(tmp_path / target)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("fannctl: error: ") and "x.data" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.data"]
