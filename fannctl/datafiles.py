"""``fannctl data`` on files: each tool a block at a time, memory bounded by the block.

Each function reads through ``datastream`` sources and writes through its
writers; what a streaming reader does not take (see ``datastream``) is done by
the whole-file path instead (``datatools`` on ``io.load_data``), so results and
error messages are the same either way. Randomness is the caller's seed, drawn
exactly as ``datatools`` draws it: the same seed gives the same bytes.

Memory: ``info``, ``convert``, ``subset``, ``merge`` and ``scale`` hold a
block. ``split`` holds one byte and, for class targets, four more per pattern
(the test rows and the classes); ``shuffle`` holds the order (eight bytes a
pattern) and fetches rows from a memory map: the ``.npy`` file itself, or a
spool of raw float64 rows written beside the output for other formats.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from fannctl import datastream, datatools
from fannctl.data import TrainingData, _column_params, scale_data
from fannctl.datastream import NotStreamable, Output, Source
from fannctl.errors import FormatError, ParameterError, ShapeError
from fannctl.metrics import is_class_target
from fannctl.network import Network, Scaling

T = TypeVar("T")
Columns = list[int | str] | None


def _streamed_or_whole(streamed: Callable[[], T], whole: Callable[[], T]) -> T:
    """``streamed()``; where a streaming reader declines or finds the input bad, ``whole()``
    (today's whole-file path: its result, or its error naming FILE:LINE)."""
    try:
        return streamed()
    except (NotStreamable, FormatError, ShapeError):
        return whole()


def _open(path: str, columns: Columns, outputs: int | None, block: int | None) -> Source:
    return datastream.open_source(
        path, output_columns=columns, num_outputs=outputs, block_patterns=block
    )


def _load(path: str, columns: Columns, outputs: int | None) -> TrainingData:
    return datatools.load(path, output_columns=columns, num_outputs=outputs)


def _counted(source: Source, target: str, block: int | None) -> Source:
    """``source`` with its pattern count, spooled first where the format needs the count."""
    if source.count is None and datastream.needs_count(target):
        return datastream.spooled(source, datastream.work_directory(target), block)
    return source


def _write_all(sources: list[Source], output: Output) -> int:
    """Every pattern of ``sources`` in order to ``output``; the count written."""
    written = [0]

    def fill(writers: list[datastream.Writer]) -> None:
        for source in sources:
            for part in source.blocks():
                writers[0].write(part.inputs, part.outputs)
        written[0] = writers[0].written

    try:
        datastream.write_outputs([output], fill)
    finally:
        for source in sources:
            source.close()
    return written[0]


def _count_of(source: Source) -> int:
    return sum(part.num_patterns for part in source.blocks())


# ---------------------------------------------------------------- info


class _ClassTally:
    """Whether every block's outputs are class targets, and the count per class."""

    def __init__(self, num_output: int, keep_rows: bool = False) -> None:
        self.levels_hold = [num_output > 0 for _ in datatools.CLASS_LEVELS]
        self.counts = np.zeros(max(2, num_output), dtype=np.int64)
        self.rows: list[np.ndarray] | None = [] if keep_rows else None
        self.seen = 0

    def add(self, outputs: np.ndarray) -> None:
        self.seen += outputs.shape[0]
        for k, levels in enumerate(datatools.CLASS_LEVELS):
            self.levels_hold[k] = self.levels_hold[k] and is_class_target(outputs, levels)
        if not any(self.levels_hold):
            self.rows = None if self.rows is None else []
            return
        if outputs.shape[1] == 1:  # the "on" level is 1 at 0/1 and at -1/1
            classes = (outputs[:, 0] == 1.0).astype(np.int64)
        else:
            classes = np.argmax(outputs, axis=1).astype(np.int64)
        self.counts += np.bincount(classes, minlength=self.counts.size)
        if self.rows is not None:
            self.rows.append(classes.astype(np.int32))

    @property
    def is_class(self) -> bool:
        return self.seen > 0 and any(self.levels_hold)

    def classes(self) -> np.ndarray | None:
        """Each row's class (``datatools.class_of_rows``), None for regression targets."""
        if not self.is_class or self.rows is None:
            return None
        return np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int32)


class _Moments:
    """Per column: min, max, and mean and deviation merged block by block (Chan et al.)."""

    def __init__(self, width: int) -> None:
        self.count = 0
        self.low = np.full(width, np.inf)
        self.high = np.full(width, -np.inf)
        self.mean = np.zeros(width)
        self.m2 = np.zeros(width)

    def add(self, block: np.ndarray) -> None:
        n = block.shape[0]
        mean = block.mean(axis=0)
        m2 = ((block - mean) ** 2).sum(axis=0)
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta * delta * (self.count * n / total)
        self.low, self.high = (
            np.minimum(self.low, block.min(axis=0)),
            np.maximum(self.high, block.max(axis=0)),
        )
        self.count = total

    def columns(self, prefix: str) -> list[dict]:
        if not self.count:
            return []
        std = np.sqrt(self.m2 / self.count)
        return [
            {
                "column": f"{prefix}{k}",
                "min": float(self.low[k]),
                "max": float(self.high[k]),
                "mean": float(self.mean[k]),
                "std": float(std[k]),
                "constant": bool(self.low[k] == self.high[k]),
            }
            for k in range(self.low.size)
        ]


def info_file(
    path: str,
    *,
    output_columns: Columns = None,
    num_outputs: int | None = None,
    block_patterns: int | None = None,
) -> dict:
    """``datatools.info`` of a file in one pass over its blocks.

    Counts, ranges, constant columns and class balance are exact; over more
    than one block the mean and deviation are merged block by block, equal to
    the whole-array figures to rounding (about 1e-15 relative).
    """

    def streamed() -> dict:
        source = _open(path, output_columns, num_outputs, block_patterns)
        blocks = source.blocks()
        first = next(blocks, None)
        second = next(blocks, None) if first is not None else None
        if second is None:  # one block (or none): exactly today's figures
            empty = TrainingData(
                np.zeros((0, source.num_input)), np.zeros((0, source.num_output)), source.name
            )
            return datatools.info(first if first is not None else empty)
        ins, outs = _Moments(source.num_input), _Moments(source.num_output)
        tally = _ClassTally(source.num_output)
        for part in itertools.chain((first, second), blocks):
            ins.add(part.inputs)
            outs.add(part.outputs)
            tally.add(part.outputs)
        columns = ins.columns("x") + outs.columns("y")
        balance = None
        if tally.is_class:
            balance = [
                {"class": k, "patterns": int(n), "fraction": float(n) / ins.count}
                for k, n in enumerate(tally.counts)
            ]
        return {
            "source": source.name,
            "patterns": ins.count,
            "inputs": source.num_input,
            "outputs": source.num_output,
            "columns": columns,
            "constant_columns": [c["column"] for c in columns if c["constant"]],
            "task": "classify" if balance is not None else "regress",
            "class_balance": balance,
        }

    return _streamed_or_whole(
        streamed, lambda: datatools.info(_load(path, output_columns, num_outputs))
    )


# ---------------------------------------------------------------- copies


def convert_file(
    path: str,
    target: str,
    *,
    output_columns: Columns = None,
    num_outputs: int | None = None,
    block_patterns: int | None = None,
) -> int:
    """Write ``path``'s patterns in the format ``target``'s name says; the count written."""

    def whole() -> int:
        data = _load(path, output_columns, num_outputs)
        datatools.save(data, target)
        return data.num_patterns

    def streamed() -> int:
        source = _open(path, output_columns, num_outputs, block_patterns)
        source = _counted(source, target, block_patterns)
        output = Output(target, source.num_input, source.num_output, source.count)
        return _write_all([source], output)

    return _streamed_or_whole(streamed, whole)


def subset_file(
    path: str,
    target: str,
    start: int,
    count: int,
    *,
    output_columns: Columns = None,
    num_outputs: int | None = None,
    block_patterns: int | None = None,
) -> int:
    """``count`` patterns from ``start`` (``datatools.subset``), the whole file read."""

    def refuse(total: int) -> ParameterError:
        return ParameterError(
            f"{display(path)}: cannot take {count} patterns from position {start}: it has "
            f"{total} (positions 0 to {total - 1})"
        )

    def streamed() -> int:
        source = _open(path, output_columns, num_outputs, block_patterns)
        if start < 0 or count < 1:
            raise refuse(source.count if source.count is not None else _count_of(source))
        if source.count is not None and start + count > source.count:
            raise refuse(source.count)

        def fill(writers: list[datastream.Writer]) -> None:
            seen = 0
            for part in source.blocks():
                low, high = max(start - seen, 0), min(start + count - seen, part.num_patterns)
                if low < high:
                    writers[0].write(part.inputs[low:high], part.outputs[low:high])
                seen += part.num_patterns
            if start + count > seen:
                raise refuse(seen)

        output = Output(target, source.num_input, source.num_output, count)
        datastream.write_outputs([output], fill)
        return count

    def whole() -> int:
        data = datatools.subset(_load(path, output_columns, num_outputs), start, count)
        datatools.save(data, target)
        return data.num_patterns

    return _streamed_or_whole(streamed, whole)


def display(path: str) -> str:
    from fannctl.io._files import display_name

    return display_name(path)


def merge_files(
    paths: list[str],
    target: str,
    *,
    output_columns: Columns = None,
    num_outputs: int | None = None,
    block_patterns: int | None = None,
) -> int:
    """Every file's patterns in order (``datatools.merge``); the count written."""
    if not paths:
        raise ParameterError("merge needs at least one data set")

    def streamed() -> int:
        sources = [_open(p, output_columns, num_outputs, block_patterns) for p in paths]
        first = sources[0]
        for part in sources[1:]:
            if part.num_input != first.num_input or part.num_output != first.num_output:
                raise ShapeError(f"{part.name}: does not fit {first.name}")  # whole says how
        sources = [_counted(s, target, block_patterns) for s in sources]
        known = [s.count for s in sources]
        total = None if None in known else sum(c for c in known if c is not None)
        output = Output(target, first.num_input, first.num_output, total)
        return _write_all(sources, output)

    def whole() -> int:
        data = datatools.merge([_load(p, output_columns, num_outputs) for p in paths])
        datatools.save(data, target)
        return data.num_patterns

    return _streamed_or_whole(streamed, whole)


# ---------------------------------------------------------------- scaling


def _leaf_lengths(n: int, out: list[int]) -> list[int]:
    """The runs numpy's pairwise summation adds directly, in order (its recursion)."""
    if n <= 128:
        out.append(n)
    else:
        half = n // 2
        half -= half % 8
        _leaf_lengths(half, out)
        _leaf_lengths(n - half, out)
    return out


def _leaf_sum(values: np.ndarray) -> float:
    """numpy's ``pairwise_sum`` of at most 128 float64 values (eight lanes, then the rest)."""
    n = values.size
    if n < 8:
        total = 0.0
        for value in values.tolist():
            total += value
        return total
    whole = n - n % 8
    lanes = np.add.reduce(values[:whole].reshape(-1, 8), axis=0).tolist()
    total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + (
        (lanes[4] + lanes[5]) + (lanes[6] + lanes[7])
    )
    for value in values[whole:].tolist():
        total += value
    return total


def _combine(n: int, sums: list[float], at: list[int]) -> float:
    if n <= 128:
        at[0] += 1
        return sums[at[0] - 1]
    half = n // 2
    half -= half % 8
    left = _combine(half, sums, at)
    return left + _combine(n - half, sums, at)


class _ColumnSum:
    """``np.sum(a, axis=0)`` of a float64 (count, width) array, fed a block at a time, to
    the bit: numpy adds several columns row by row, and one column pairwise (its tree
    over the whole count, so the count must be known)."""

    def __init__(self, count: int, width: int) -> None:
        self.width, self.count = width, count
        self.total: np.ndarray | None = None
        self.leaves = _leaf_lengths(count, []) if width == 1 else []
        self.sums: list[float] = []
        self.pending = np.zeros(0)

    def add(self, block: np.ndarray) -> None:
        if self.width != 1:
            rows = block if self.total is None else np.vstack([self.total[None, :], block])
            self.total = np.add.reduce(rows, axis=0)
            return
        column = np.concatenate([self.pending, block[:, 0]])
        used = 0
        while len(self.sums) < len(self.leaves):
            size = self.leaves[len(self.sums)]
            if column.size - used < size:
                break
            self.sums.append(_leaf_sum(column[used : used + size]))
            used += size
        self.pending = column[used:]

    def result(self) -> np.ndarray:
        if self.width != 1:
            return self.total if self.total is not None else np.zeros(self.width)
        return np.array([_combine(self.count, self.sums, [0])])


def _mean_deviation(source: Source, which: str) -> tuple[np.ndarray, np.ndarray]:
    """``block.mean(axis=0)`` and ``block.std(axis=0)`` of the inputs or outputs of all
    ``source``'s patterns, as numpy computes them on the whole array (two passes)."""
    count = source.count or 0
    width = source.num_input if which == "inputs" else source.num_output
    sums = _ColumnSum(count, width)
    for part in source.blocks():
        sums.add(getattr(part, which))
    mean = np.true_divide(sums.result(), count)
    squares = _ColumnSum(count, width)
    for part in source.blocks():
        deviation = getattr(part, which) - mean
        squares.add(np.multiply(deviation, deviation))
    return mean, np.sqrt(np.true_divide(squares.result(), count))


def _scaling_from(source: Source, inputs, outputs) -> Scaling:
    """``fannctl.data.set_scaling_params``' parameters, computed in passes over blocks."""

    def params(which: str, width: int, span) -> tuple[np.ndarray, ...]:
        if not span:
            return _column_params(np.zeros((0, width)), -1, 1)
        if not source.count:
            return _column_params(np.zeros((0, width)), *span)
        mean, dev = _mean_deviation(source, which)
        dev = np.where(dev == 0, 1.0, dev)
        low, high = span
        return mean, dev, np.full(width, float(low)), np.full(width, (high - low) / 2.0)

    return Scaling(
        *params("inputs", source.num_input, inputs), *params("outputs", source.num_output, outputs)
    )


def scale_file(
    path: str,
    target: str,
    inputs: tuple[float, float] | None = None,
    outputs: tuple[float, float] | None = None,
    *,
    network: Network | None = None,
    output_columns: Columns = None,
    num_outputs: int | None = None,
    block_patterns: int | None = None,
) -> int:
    """``datatools.scale`` of a file: a network's stored scaling in one pass; scaling
    computed from the data in three (sums, squared deviations, then the scaled rows)."""
    if network is None and inputs is None and outputs is None:
        raise ParameterError("scale needs input or output ranges (MIN,MAX) or a network")

    def streamed() -> int:
        source = _open(path, output_columns, num_outputs, block_patterns)
        holder = datatools._ScalingHolder(source.num_input, source.num_output)
        if network is not None:
            probe = TrainingData(
                np.zeros((1, source.num_input)), np.zeros((1, source.num_output)), source.name
            )
            datatools.scale(probe, inputs, outputs, network=network)  # the same checks
            holder.scaling = network.scaling
        else:
            source = datastream.spooled(source, datastream.work_directory(target), block_patterns)
            holder.scaling = _scaling_from(source, inputs, outputs)
        source = _counted(source, target, block_patterns)
        output = Output(target, source.num_input, source.num_output, source.count)
        written = [0]

        def fill(writers: list[datastream.Writer]) -> None:
            for part in source.blocks():
                scaled = scale_data(holder, part)  # type: ignore[arg-type]
                writers[0].write(scaled.inputs, scaled.outputs)
            written[0] = writers[0].written

        try:
            datastream.write_outputs([output], fill)
        finally:
            source.close()
        return written[0]

    def whole() -> int:
        data = _load(path, output_columns, num_outputs)
        datatools.save(datatools.scale(data, inputs, outputs, network=network), target)
        return data.num_patterns

    return _streamed_or_whole(streamed, whole)


# ---------------------------------------------------------------- random order


def shuffle_file(
    path: str,
    target: str,
    seed: int | None = None,
    *,
    output_columns: Columns = None,
    num_outputs: int | None = None,
    block_patterns: int | None = None,
) -> int:
    """``datatools.shuffle`` of a file: the same permutation, rows fetched from a memory
    map (the ``.npy`` itself, or a spool of the patterns beside the output)."""

    def streamed() -> int:
        source = _open(path, output_columns, num_outputs, block_patterns)
        source = datastream.spooled(source, datastream.work_directory(target), block_patterns)
        assert source.count is not None and source.rows is not None
        order = datatools._rng(seed).permutation(source.count)
        size = datastream.block_size(block_patterns)
        output = Output(target, source.num_input, source.num_output, source.count)

        def fill(writers: list[datastream.Writer]) -> None:
            assert source.rows is not None
            for at in range(0, order.size, size):
                writers[0].write(*source.rows(order[at : at + size]))

        try:
            datastream.write_outputs([output], fill)
        finally:
            source.close()
        return source.count

    def whole() -> int:
        data = datatools.shuffle(_load(path, output_columns, num_outputs), seed)
        datatools.save(data, target)
        return data.num_patterns

    return _streamed_or_whole(streamed, whole)


def split_file(
    path: str,
    train_target: str,
    test_target: str,
    fraction: float,
    seed: int | None = None,
    *,
    stratify: bool | None = None,
    output_columns: Columns = None,
    num_outputs: int | None = None,
    block_patterns: int | None = None,
) -> tuple[int, int]:
    """``datatools.split`` of a file in two passes: the count and classes, then each
    pattern to its part in order. The patterns written to each part."""

    def streamed() -> tuple[int, int]:
        source = _open(path, output_columns, num_outputs, block_patterns)
        tally = _ClassTally(source.num_output, keep_rows=True)
        for part in source.blocks():
            tally.add(part.outputs)
        size = tally.seen
        test_rows = datatools.split_test_rows(
            source.name, size, tally.classes(), fraction, seed, stratify=stratify
        )
        is_test = np.zeros(size, dtype=bool)
        is_test[test_rows] = True
        counts = (size - test_rows.size, test_rows.size)
        outputs = [
            Output(train_target, source.num_input, source.num_output, counts[0]),
            Output(test_target, source.num_input, source.num_output, counts[1]),
        ]

        def fill(writers: list[datastream.Writer]) -> None:
            seen = 0
            for part in source.blocks():
                mask = is_test[seen : seen + part.num_patterns]
                writers[0].write(part.inputs[~mask], part.outputs[~mask])
                writers[1].write(part.inputs[mask], part.outputs[mask])
                seen += part.num_patterns
            if seen != size:
                raise FormatError(f"{source.name}: changed while it was read")

        datastream.write_outputs(outputs, fill)
        return counts

    def whole() -> tuple[int, int]:
        data = _load(path, output_columns, num_outputs)
        train, test = datatools.split(data, fraction, seed, stratify=stratify)
        datatools.save(train, train_target)
        datatools.save(test, test_target)
        return train.num_patterns, test.num_patterns

    return _streamed_or_whole(streamed, whole)


__all__ = [
    "convert_file",
    "info_file",
    "merge_files",
    "scale_file",
    "shuffle_file",
    "split_file",
    "subset_file",
]
