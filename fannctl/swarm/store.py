"""Per-agent arrays kept on disk, read and written a block of agents at a time.

A swarm's wide per-agent arrays (weights, steepness, training state, PSO's
velocities and bests: ``(agents, k)``) are plain numpy arrays while they fit
in ``MEMORY_BUDGET``; past it, :func:`fannctl.swarm.io.load_swarm` puts them in
:class:`AgentArray`\\ s: an unlinked scratch file next to the swarm file (so it
vanishes with the process, even under ``kill -9``), read with ``preadv`` and
written with ``pwrite`` ``CHUNK_BYTES`` at a time. Page cache is not the
process's memory, so the coordinator's footprint is the chunks it holds, not
the swarm. Per-agent scalars (errors, hyperparameters, algorithm: ~150 bytes an
agent) stay in memory; they are what evolve ranks and PSO picks bests by.

Why disk rather than Dask arrays kept on the workers: the swarm file is the
checkpoint, and on a cluster it is rewritten after every round, so every
agent's arrays pass through the coordinator each round anyway; keeping them on
the workers would only add a second copy that dies with its worker (Dask
cannot recompute scattered state), and the exchange (neighbour rows fetched by
index, means over everyone) would become graph operations whose reduction
order Dask chooses. On disk, the same chunked code runs in-process and on a
cluster, reductions add fixed blocks of ``REDUCE_ROWS`` agents in order, and
the bits do not depend on where or in what chunks anything ran.

An :class:`AgentArray` answers the indexing the swarm code uses (a row, a run
of rows, rows by index or mask, ``[rows, columns]``) with fresh ndarrays and
takes assignments the same way; ``np.asarray`` reads it whole (for callers
that need it all: unbounded, as before).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

MEMORY_BUDGET = 256 * 2**20  # bytes of wide per-agent arrays kept in memory
CHUNK_BYTES = 32 * 2**20  # bytes of one array read or written at once
REDUCE_ROWS = 4096  # agents per block of a mean over everyone (a fixed order)


class AgentArray:
    """A ``(rows, *row_shape)`` array in an unlinked scratch file (zeros when new).

    Indexes as numpy does for what the swarm uses: an int, a slice, a 1-D index
    array or a full-length mask for the rows, then columns. Not numpy's (never
    used, so not built): paired index arrays (``a[[0, 1], [2, 3]]`` selects the
    outer product), index arrays of more than one dimension (flattened), and
    negative indices in ``take``/``put``/``copy_rows``.
    """

    def __init__(self, shape: tuple[int, ...], dtype, directory: str | None = None) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.directory = directory
        self._file = _scratch_file(directory)
        self._fd = self._file.fileno()
        self.row_shape = self.shape[1:]
        self.row_bytes = int(np.prod(self.row_shape, dtype=np.int64)) * self.dtype.itemsize
        os.ftruncate(self._fd, self.nbytes)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.row_bytes

    def __len__(self) -> int:
        return self.shape[0]

    def __getstate__(self):
        raise TypeError("an AgentArray lives in this process's scratch file")

    def close(self) -> None:
        self._file.close()

    # -- rows ----------------------------------------------------------------------

    def block_rows(self) -> int:
        """Rows per read or write of ``CHUNK_BYTES``."""
        return rows_per_chunk(self.row_bytes)

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Rows lo..hi as a new array."""
        out = np.empty((max(0, hi - lo), *self.row_shape), dtype=self.dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
        offset, done = lo * self.row_bytes, 0
        while done < len(view):
            got = os.preadv(self._fd, [view[done:]], offset + done)
            if got <= 0:
                raise OSError(f"scratch file ended at byte {offset + done}")
            done += got
        return out

    def write(self, lo: int, values) -> None:
        """Rows from ``lo`` on take ``values`` (broadcast to whole rows)."""
        values = np.asarray(values)
        rows = values.shape[0] if values.ndim == len(self.shape) else 1
        block = np.ascontiguousarray(
            np.broadcast_to(values, (rows, *self.row_shape)), dtype=self.dtype
        )
        view = memoryview(block.reshape(-1).view(np.uint8))
        offset, done = lo * self.row_bytes, 0
        while done < len(view):
            done += os.pwrite(self._fd, view[done:], offset + done)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Rows by index (repeats allowed), each distinct row read once, runs at once."""
        rows = np.asarray(rows, dtype=np.int64)
        unique, inverse = np.unique(rows, return_inverse=True)
        found = np.empty((unique.size, *self.row_shape), dtype=self.dtype)
        for start, stop in _runs(unique):
            found[start:stop] = self.read(int(unique[start]), int(unique[stop - 1]) + 1)
        return found[inverse.reshape(-1)]

    def put(self, rows: np.ndarray, values) -> None:
        """Rows by index take ``values`` (one per row, or broadcast); runs at once."""
        rows = np.asarray(rows, dtype=np.int64)
        values = np.broadcast_to(np.asarray(values, dtype=self.dtype), (rows.size, *self.row_shape))
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        for start, stop in _runs(ordered):
            self.write(int(ordered[start]), values[order[start:stop]])

    # -- numpy-style indexing ------------------------------------------------------

    def __getitem__(self, key):
        rows, rest = _split_key(key, self.shape[0])
        if isinstance(rows, (int, np.integer)):
            return self.read(int(rows), int(rows) + 1)[(0, *rest)]
        if isinstance(rows, slice):
            lo, hi = rows.start, rows.stop
            if not rest:
                return self.read(lo, hi)
            step = self.block_rows()
            parts = [
                self.read(a, min(hi, a + step))[(slice(None), *rest)] for a in range(lo, hi, step)
            ]
            return np.concatenate(parts) if parts else self.read(0, 0)[(slice(None), *rest)]
        return self.take(rows)[(slice(None), *rest)] if rest else self.take(rows)

    def __setitem__(self, key, value) -> None:
        rows, rest = _split_key(key, self.shape[0])
        if isinstance(rows, (int, np.integer)):
            rows = slice(int(rows), int(rows) + 1)
            value = np.asarray(value)[None]
        if isinstance(rows, slice):
            lo, hi = rows.start, rows.stop
            value = np.asarray(value, dtype=self.dtype)
            if not rest and value.ndim < len(self.shape):  # a row (or scalar) for all
                for a in range(lo, hi, self.block_rows()):
                    b = min(hi, a + self.block_rows())
                    self.write(a, np.broadcast_to(value, (b - a, *self.row_shape)))
                return
            index = np.arange(lo, hi)
        else:
            index = rows
        if not rest:
            # numpy's rule: the value broadcasts to the rows, or it is an error (never
            # fewer or more rows written than the key names)
            value = np.broadcast_to(
                np.asarray(value, dtype=self.dtype), (index.size, *self.row_shape)
            )
            if isinstance(rows, slice):
                self.write(rows.start, value)
            else:
                self.put(index, value)
            return
        # [rows, columns] = value: read, change, write back, a block at a time
        selected = np.empty((index.size, *self.row_shape), dtype=self.dtype)[(slice(None), *rest)]
        value = np.broadcast_to(np.asarray(value, dtype=self.dtype), selected.shape)
        step = self.block_rows()
        for a in range(0, index.size, step):
            part = index[a : a + step]
            block = self.take(part)
            block[(slice(None), *rest)] = value[a : a + step]
            self.put(part, block)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self.read(0, self.shape[0])
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def blocks(self, rows: int | None = None):
        """(lo, hi, rows lo..hi) over the whole array, ``rows`` (or a chunk's) at a time."""
        step = rows or self.block_rows()
        for lo in range(0, self.shape[0], step):
            hi = min(self.shape[0], lo + step)
            yield lo, hi, self.read(lo, hi)


def _scratch_file(directory: str | None):
    """An unlinked temporary file in ``directory``, else in the system's temp folder."""
    if directory is not None:
        try:
            return tempfile.TemporaryFile(dir=directory, prefix=".fannctl-swarm-")
        except OSError:
            pass
    return tempfile.TemporaryFile(prefix="fannctl-swarm-")


def _runs(ordered: np.ndarray):
    """(start, stop) of each run of consecutive numbers in a sorted index array."""
    if ordered.size == 0:
        return
    breaks = np.flatnonzero(np.diff(ordered) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [ordered.size]])
    yield from zip(starts.tolist(), stops.tolist(), strict=True)


def _split_key(key, rows: int):
    """(row selection, the rest of the key): an int, a unit-step slice made explicit,
    or an index array (masks become indices)."""
    rest: tuple = ()
    if isinstance(key, tuple):
        key, rest = (key[0], key[1:]) if key else (slice(None), ())
    if key is Ellipsis:
        key = slice(None)
    if isinstance(key, slice):
        lo, hi, step = key.indices(rows)
        if step == 1:
            return slice(lo, max(lo, hi)), rest
        return np.arange(lo, hi, step), rest
    if isinstance(key, (int, np.integer)):
        index = int(key)
        if not -rows <= index < rows:
            raise IndexError(f"agent {index} out of range for {rows} agents")
        return index % rows, rest
    key = np.asarray(key)
    if key.dtype == bool:
        return np.flatnonzero(key), rest
    key = key.astype(np.int64).reshape(-1)
    if key.size and (key.min() < -rows or key.max() >= rows):
        raise IndexError(f"agent index out of range for {rows} agents")
    return np.where(key < 0, key + rows, key), rest


# -- what the swarm code calls (ndarray or AgentArray alike) -----------------------


def rows_per_chunk(row_bytes: int) -> int:
    """Agents whose rows of ``row_bytes`` fill CHUNK_BYTES (at least one)."""
    return max(1, CHUNK_BYTES // max(1, int(row_bytes)))


def on_disk(array) -> bool:
    return isinstance(array, AgentArray)


def zeros_like(array):
    """Zeros of ``array``'s shape and dtype, where ``array`` lives (memory or disk)."""
    if isinstance(array, AgentArray):
        return AgentArray(array.shape, array.dtype, array.directory)
    return np.zeros_like(array)


def copy(array):
    """A copy of ``array``, where it lives (on disk: a chunk at a time)."""
    if not isinstance(array, AgentArray):
        return array.copy()
    out = AgentArray(array.shape, array.dtype, array.directory)
    for lo, _, block in array.blocks():
        out.write(lo, block)
    return out


def write_rows(array, lo: int, values: np.ndarray) -> None:
    """Rows from ``lo`` take ``values``; nothing to do where ``values`` is a view of them."""
    if isinstance(array, AgentArray):
        array.write(lo, values)
        return
    target = array[lo : lo + values.shape[0]]
    if not np.may_share_memory(target, values):
        target[...] = values


def copy_rows(array, targets: np.ndarray, sources: np.ndarray) -> None:
    """``array[targets] = array[sources]`` as numpy does it (every source read before
    any target is written), on disk a chunk of targets at a time; the sources that
    are also targets are kept aside first (on disk too)."""
    if not isinstance(array, AgentArray):
        array[targets] = array[sources]
        return
    targets = np.asarray(targets, dtype=np.int64)
    sources = np.asarray(sources, dtype=np.int64)
    overwritten = np.intersect1d(sources, targets)
    kept = AgentArray((overwritten.size, *array.row_shape), array.dtype, array.directory)
    step = array.block_rows()
    for lo in range(0, overwritten.size, step):
        kept.write(lo, array.take(overwritten[lo : lo + step]))
    for lo in range(0, targets.size, step):
        part = sources[lo : lo + step]
        rows = array.take(part)
        aside = np.isin(part, overwritten)
        if aside.any():
            rows[aside] = kept.take(np.searchsorted(overwritten, part[aside]))
        array.put(targets[lo : lo + step], rows)
    kept.close()


def copy_where(target, source, mask: np.ndarray) -> None:
    """``target[mask] = source[mask]`` for rows, a chunk at a time on disk."""
    if not isinstance(target, AgentArray) and not isinstance(source, AgentArray):
        target[mask] = source[mask]
        return
    step = rows_per_chunk(target.shape[1] * target.dtype.itemsize if target.ndim > 1 else 8)
    for lo in range(0, mask.size, step):
        rows = lo + np.flatnonzero(mask[lo : lo + step])
        if rows.size:
            target[rows] = source[rows]


def row_sum(array) -> np.ndarray:
    """The sum of every row in float64, added one row after another in agent order
    (the bits of ``array.sum(axis=0, dtype=np.float64)``), a chunk at a time."""
    total = np.zeros(array.shape[1:])
    step = rows_per_chunk(total.nbytes * 2)
    for lo in range(0, array.shape[0], step):
        block = np.asarray(array[lo : lo + step], dtype=np.float64)
        total = np.add.reduce(np.concatenate([total[None], block]), axis=0)
    return total
