"""Tools for training data sets: describe, shuffle, split, subset, merge, scale, convert.

Each function takes and returns :class:`~fannctl.data.TrainingData`; randomness
comes only from a generator seeded by the caller. ``save`` writes any format
atomically (FANN ``.data`` with exact values, CSV/TSV, ``.npy``, ``.npz``, HDF5).
"""

from __future__ import annotations

import io as _io
import os
from dataclasses import dataclass

import numpy as np

from fannctl.data import TrainingData, scale_data, set_scaling_params
from fannctl.errors import FannctlError, ParameterError, ShapeError
from fannctl.metrics import is_class_target
from fannctl.network import Network, Scaling

NPY_EXTENSION = ".npy"
CLASS_LEVELS = ((0.0, 1.0), (-1.0, 1.0))


def _rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(seed)


def _take(data: TrainingData, rows: np.ndarray, source: str | None = None) -> TrainingData:
    return TrainingData(
        np.ascontiguousarray(data.inputs[rows]),
        np.ascontiguousarray(data.outputs[rows]),
        source if source is not None else data.source,
    )


# ---------------------------------------------------------------- info


def class_of_rows(outputs: np.ndarray) -> np.ndarray | None:
    """Each row's class when the outputs are class targets (one-hot, or one binary
    column) at 0/1 or -1/1; None for anything else (a regression target)."""
    for levels in CLASS_LEVELS:
        if is_class_target(outputs, levels):
            if outputs.shape[1] == 1:
                return (outputs[:, 0] == levels[1]).astype(np.int64)
            return np.argmax(outputs, axis=1).astype(np.int64)
    return None


def _columns(block: np.ndarray, prefix: str) -> list[dict]:
    if block.shape[0] == 0:
        return []
    low, high = block.min(axis=0), block.max(axis=0)
    mean, std = block.mean(axis=0), block.std(axis=0)
    return [
        {
            "column": f"{prefix}{k}",
            "min": float(low[k]),
            "max": float(high[k]),
            "mean": float(mean[k]),
            "std": float(std[k]),
            "constant": bool(low[k] == high[k]),
        }
        for k in range(block.shape[1])
    ]


def info(data: TrainingData) -> dict:
    """Patterns, sizes, per-column ranges, constant columns and class balance."""
    inputs = np.asarray(data.inputs, dtype=np.float64)
    outputs = np.asarray(data.outputs, dtype=np.float64)
    columns = _columns(inputs, "x") + _columns(outputs, "y")
    classes = class_of_rows(outputs) if outputs.shape[1] else None
    balance = None
    if classes is not None:
        counts = np.bincount(classes, minlength=max(2, outputs.shape[1]))
        balance = [
            {"class": k, "patterns": int(n), "fraction": float(n) / data.num_patterns}
            for k, n in enumerate(counts)
        ]
    return {
        "source": data.source,
        "patterns": data.num_patterns,
        "inputs": data.num_input,
        "outputs": data.num_output,
        "columns": columns,
        "constant_columns": [c["column"] for c in columns if c["constant"]],
        "task": "classify" if classes is not None else "regress",
        "class_balance": balance,
    }


# ---------------------------------------------------------------- reordering and parts


def shuffle(data: TrainingData, seed: int | None = None) -> TrainingData:
    """The patterns in a random order (FANN's ``fann_shuffle_train_data``, seeded)."""
    return _take(data, _rng(seed).permutation(data.num_patterns))


def _check_fraction(fraction: float) -> None:
    if not (0.0 < fraction < 1.0):
        raise ParameterError(f"--fraction must lie strictly between 0 and 1, got {fraction!r}")


def _stratified_test_rows(classes: np.ndarray, fraction: float, rng) -> np.ndarray:
    """Per class, its share of the test rows (largest remainders make up the total)."""
    counts = np.bincount(classes)
    exact = counts * fraction
    share = np.floor(exact).astype(np.int64)
    missing = round(classes.size * fraction) - int(share.sum())
    order = np.argsort(-(exact - share), kind="stable")
    for k in order[: max(missing, 0)]:
        share[k] += 1
    chosen = []
    for k, n in enumerate(share):
        rows = np.flatnonzero(classes == k)
        chosen.append(rng.choice(rows, size=int(n), replace=False))
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)


def split(
    data: TrainingData,
    fraction: float,
    seed: int | None = None,
    *,
    stratify: bool | None = None,
) -> tuple[TrainingData, TrainingData]:
    """(train, test): a random ``fraction`` of the patterns goes to test.

    Stratified (each class keeps its share, within one pattern) when the
    outputs are class targets, unless ``stratify`` says otherwise; each part
    keeps the patterns' original order.
    """
    classes = class_of_rows(np.asarray(data.outputs)) if data.num_output else None
    test_rows = split_test_rows(
        data.source or "data", data.num_patterns, classes, fraction, seed, stratify=stratify
    )
    is_test = np.zeros(data.num_patterns, dtype=bool)
    is_test[test_rows] = True
    return _take(data, np.flatnonzero(~is_test)), _take(data, np.flatnonzero(is_test))


def split_test_rows(
    name: str,
    size: int,
    classes: np.ndarray | None,
    fraction: float,
    seed: int | None = None,
    *,
    stratify: bool | None = None,
) -> np.ndarray:
    """The test part's rows of a split of ``size`` patterns (``classes``: each row's
    class, None for regression targets), as :func:`split` draws them."""
    _check_fraction(fraction)
    if stratify and classes is None:
        raise ParameterError(
            f"{name}: cannot stratify: the outputs are not class targets "
            "(one-hot or one binary column, at 0/1 or -1/1)"
        )
    rng = _rng(seed)
    if classes is not None and stratify is not False:
        test_rows = _stratified_test_rows(classes, fraction, rng)
    else:
        test_rows = rng.choice(size, size=round(size * fraction), replace=False)
    if test_rows.size == 0 or test_rows.size == size:
        raise ParameterError(
            f"{name}: a fraction of {fraction} of {size} patterns leaves one part empty"
        )
    return test_rows


def fold_of_rows(
    data: TrainingData, folds: int, seed: int | None = None, *, stratify: bool | None = None
) -> np.ndarray:
    """Each pattern's fold (0..folds-1) for K-fold cross-validation, at random.

    Fold sizes differ by at most one; for class targets (unless ``stratify`` is
    False) each class is dealt out in turn, so every fold holds each class's
    share within one pattern.
    """
    name = data.source or "data"
    size = data.num_patterns
    if folds < 2 or folds > size:
        raise ParameterError(f"{name}: cannot make {folds} folds of {size} patterns (2 to {size})")
    classes = class_of_rows(np.asarray(data.outputs)) if data.num_output else None
    if stratify and classes is None:
        raise ParameterError(f"{name}: cannot stratify: the outputs are not class targets")
    rng = _rng(seed)
    order = rng.permutation(size)
    if classes is not None and stratify is not False:
        order = order[np.argsort(classes[order], kind="stable")]  # by class, random within
    fold = np.empty(size, dtype=np.int64)
    fold[order] = np.arange(size) % folds
    return fold


def kfold(
    data: TrainingData, folds: int, seed: int | None = None, *, stratify: bool | None = None
) -> list[tuple[TrainingData, TrainingData]]:
    """K (train, test) pairs: each pattern is in exactly one test part."""
    fold = fold_of_rows(data, folds, seed, stratify=stratify)
    return [
        (_take(data, np.flatnonzero(fold != k)), _take(data, np.flatnonzero(fold == k)))
        for k in range(folds)
    ]


def subset(data: TrainingData, start: int, count: int) -> TrainingData:
    """``count`` patterns from ``start`` (0-based), as FANN's ``fann_subset_train_data``."""
    name = data.source or "data"
    if start < 0 or count < 1 or start + count > data.num_patterns:
        raise ParameterError(
            f"{name}: cannot take {count} patterns from position {start}: it has "
            f"{data.num_patterns} (positions 0 to {data.num_patterns - 1})"
        )
    return _take(data, np.arange(start, start + count))


def merge(parts: list[TrainingData]) -> TrainingData:
    """The patterns of every part in order (FANN's ``fann_merge_train_data``)."""
    if not parts:
        raise ParameterError("merge needs at least one data set")
    first = parts[0]
    for part in parts[1:]:
        if part.num_input != first.num_input or part.num_output != first.num_output:
            raise ShapeError(
                f"{part.source or 'data'}: has {part.num_input} inputs and "
                f"{part.num_output} outputs, but {first.source or 'the first set'} has "
                f"{first.num_input} and {first.num_output}; they cannot be merged"
            )
    return TrainingData(
        np.concatenate([p.inputs for p in parts]),
        np.concatenate([p.outputs for p in parts]),
        None,
    )


# ---------------------------------------------------------------- scaling


@dataclass
class _ScalingHolder:
    """Just what ``fannctl.data``'s scaling functions read and write of a network."""

    num_input: int
    num_output: int
    scaling: Scaling | None = None


def scale(
    data: TrainingData,
    inputs: tuple[float, float] | None = None,
    outputs: tuple[float, float] | None = None,
    *,
    network: Network | None = None,
) -> TrainingData:
    """Scale data as training does with FANN's stored scaling.

    With ``network``: its stored parameters (the scaling ``train
    --scale-inputs/--scale-outputs`` saved), e.g. for a test set. Otherwise
    parameters computed from ``data`` itself (``fann_set_scaling_params``:
    mean ± one deviation maps to MIN..MAX per column; a constant column goes to
    the middle of MIN..MAX).
    """
    name = data.source or "data"
    if network is not None:
        if inputs is not None or outputs is not None:
            raise ParameterError("give either a network's stored scaling or ranges, not both")
        if network.scaling is None:
            raise ParameterError("the network stores no scaling (train it with --scale-inputs)")
        if data.num_input != network.num_input or data.num_output != network.num_output:
            raise ShapeError(
                f"{name}: has {data.num_input} inputs and {data.num_output} outputs, but "
                f"the network has {network.num_input} and {network.num_output}"
            )
        return scale_data(network, data)
    if inputs is None and outputs is None:
        raise ParameterError("scale needs input or output ranges (MIN,MAX) or a network")
    holder = _ScalingHolder(data.num_input, data.num_output)
    set_scaling_params(holder, data, inputs, outputs)  # type: ignore[arg-type]
    return scale_data(holder, data)  # type: ignore[arg-type]


# ---------------------------------------------------------------- writing


def check_target(path: str | os.PathLike) -> None:
    """Fail before any work when data could not be written at ``path``."""
    target = os.fspath(path)
    if target == "-":
        return
    if os.path.isdir(target):
        raise ParameterError(f"{target}: is a directory")
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise FannctlError(f"{target}: cannot write: no such directory")


def save(data: TrainingData, path: str | os.PathLike) -> None:
    """Write data atomically in the format its name says, every value exact.

    ``.npy``: one array, the inputs' columns then the outputs'; ``.npz`` and
    ``.h5``/``.hdf5``: arrays ``inputs`` and ``outputs``; ``.csv``/``.tsv``:
    a table with a header (x0.., y0..); anything else (``.data``, ``.gz``, ``-``):
    FANN's ``.data``.
    """
    from fannctl.io import atomic_write, save_data

    target = os.fspath(path)
    if target.lower().endswith(NPY_EXTENSION):
        block = np.hstack([np.asarray(data.inputs), np.asarray(data.outputs)]).astype(np.float64)
        buffer = _io.BytesIO()
        np.save(buffer, block, allow_pickle=False)
        payload = buffer.getvalue()
        atomic_write(target, lambda handle: handle.write(payload))
        return
    save_data(data, target, exact=True)


def load(
    path: str | os.PathLike,
    *,
    output_columns: list[int | str] | None = None,
    num_outputs: int | None = None,
) -> TrainingData:
    """Read any data format ``fannctl`` reads (see ``fannctl.io.load_data``)."""
    from fannctl.io import load_data

    return load_data(path, output_columns=output_columns, num_outputs=num_outputs)


__all__ = [
    "check_target",
    "class_of_rows",
    "fold_of_rows",
    "info",
    "kfold",
    "load",
    "merge",
    "save",
    "scale",
    "shuffle",
    "split",
    "split_test_rows",
    "subset",
]
