"""The modelling workflow around a training run: a validation split, sample weights.

``validation_split`` takes the test set out of the training data with the
seeded generator, exactly as ``fannctl data split --fraction F --seed N``
would (stratified for class targets); ``load_sample_weights`` reads one
weight per pattern from a text file, or one column of a CSV/TSV table.
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np

from fannctl.data import TrainingData
from fannctl.errors import FormatError, ParameterError


def validation_split(
    data: TrainingData,
    fraction: float,
    seed: int | None,
    weights: np.ndarray | None = None,
) -> tuple[TrainingData, TrainingData, np.ndarray | None]:
    """(train, test, train's sample weights): ``fraction`` of the patterns held out.

    The rows are those ``datatools.split`` picks for the same fraction and seed
    (each part keeps the patterns' order); the held-out patterns' weights are
    dropped (the test error is unweighted).
    """
    from fannctl import datatools

    if not (isinstance(fraction, float | int) and 0.0 < fraction < 1.0):
        raise ParameterError(
            f"--validation-split must lie strictly between 0 and 1, got {fraction!r}"
        )
    rows = np.arange(data.num_patterns, dtype=np.float64)[:, np.newaxis]
    train_rows, test_rows = datatools.split(
        TrainingData(rows, data.outputs, data.source), fraction, seed
    )
    keep = train_rows.inputs[:, 0].astype(np.int64)
    held = test_rows.inputs[:, 0].astype(np.int64)
    source = data.source or "data"
    train = TrainingData(data.inputs[keep], data.outputs[keep], source)
    test = TrainingData(data.inputs[held], data.outputs[held], f"{source} (validation split)")
    return train, test, None if weights is None else np.asarray(weights)[keep]


def load_sample_weights(path: str | os.PathLike[str], column: str | None = None) -> np.ndarray:
    """One weight per pattern: a number per line (``#`` comments and blank lines
    skipped), or with ``column`` (a header name or a 0-based index) that column of
    a CSV/TSV file whose first row is a header. FormatError names FILE:LINE."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except OSError as exc:
        raise FormatError(f"{name}: cannot read sample weights ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise FormatError(f"{name}: not a text file") from None
    values: list[float] = []
    if column is None:
        for number, line in enumerate(text.splitlines(), 1):
            item = line.split("#", 1)[0].strip()
            if item:
                values.append(_weight(item, name, number))
    else:
        delimiter = (
            "\t" if name.endswith((".tsv", ".tab")) or "\t" in text.split("\n", 1)[0] else ","
        )
        rows = csv.reader(text.splitlines(), delimiter=delimiter)
        header = next(rows, None)
        if header is None:
            raise FormatError(f"{name}: empty file")
        index = _column_index(header, column, name)
        for number, row in enumerate(rows, 2):
            if not row or not any(cell.strip() for cell in row):
                continue
            if index >= len(row):
                raise FormatError(f"{name}:{number}: no column {column!r}")
            values.append(_weight(row[index].strip(), name, number))
    if not values:
        raise FormatError(f"{name}: no sample weights")
    return np.asarray(values, dtype=np.float64)


def _weight(text: str, name: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"{name}:{line}: sample weight {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise FormatError(f"{name}:{line}: sample weight {text!r} must be finite and >= 0")
    return value


def _column_index(header: list[str], column: str, name: str) -> int:
    names = [cell.strip() for cell in header]
    if column in names:
        return names.index(column)
    if column.isdigit() and int(column) < len(names):
        return int(column)
    raise FormatError(f"{name}:1: no column {column!r} (header: {', '.join(names)})")
