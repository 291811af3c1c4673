"""Data-set tools (fannctl.datatools): round trips, stratification, seeds, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fannctl import datatools, io
from fannctl.data import TrainingData, scale_data, set_scaling_params
from fannctl.errors import ParameterError, ShapeError
from fannctl.network import build

ROOT = Path(__file__).resolve().parents[1]
THYROID = ROOT / "datasets" / "thyroid.train.gz"


def _rows(data: TrainingData) -> np.ndarray:
    """Patterns as sorted rows: the multiset of patterns, order ignored."""
    block = np.hstack([data.inputs, data.outputs])
    return block[np.lexsort(block.T[::-1])]


def _classes(n: int, weights: list[float], seed: int) -> TrainingData:
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(weights), size=n, p=weights)
    return TrainingData(rng.normal(size=(n, 4)), np.eye(len(weights))[labels], "classes")


def _regression(n: int = 37, seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    return TrainingData(rng.normal(size=(n, 3)), rng.normal(size=(n, 2)) * 100, "reg")


@pytest.mark.parametrize("data", [_classes(101, [0.7, 0.2, 0.1], 1), _regression()])
def test_split_then_merge_gives_the_same_patterns(data: TrainingData) -> None:
    """Nothing lost, nothing duplicated, for stratified and plain splits."""
    train, test = datatools.split(data, 0.3, seed=4)
    assert train.num_patterns + test.num_patterns == data.num_patterns
    assert test.num_patterns == round(0.3 * data.num_patterns)
    np.testing.assert_array_equal(_rows(datatools.merge([train, test])), _rows(data))


@pytest.mark.parametrize("seed", range(5))
def test_stratified_split_keeps_class_shares_within_one_pattern(seed: int) -> None:
    """A rare class keeps its share in the test part (a plain split can drop it)."""
    data = _classes(203, [0.85, 0.1, 0.05], seed)
    counts = data.outputs.sum(axis=0)
    _, test = datatools.split(data, 0.25, seed=seed)
    test_counts = test.outputs.sum(axis=0)
    assert np.all(np.abs(test_counts - 0.25 * counts) < 1.0), (test_counts, counts)


def test_stratified_on_a_single_binary_output() -> None:
    """One 0/1 output column is a two-class target too."""
    y = np.array([[1.0]] * 10 + [[0.0]] * 30)
    data = TrainingData(np.arange(40.0).reshape(40, 1), y, "bin")
    _, test = datatools.split(data, 0.5, seed=0)
    assert int(test.outputs.sum()) == 5 and test.num_patterns == 20


def test_same_seed_same_result_other_seed_other_result() -> None:
    data = _regression(50)
    a_train, a_test = datatools.split(data, 0.2, seed=11)
    b_train, b_test = datatools.split(data, 0.2, seed=11)
    np.testing.assert_array_equal(a_test.inputs, b_test.inputs)
    np.testing.assert_array_equal(a_train.inputs, b_train.inputs)
    _, c_test = datatools.split(data, 0.2, seed=12)
    assert not np.array_equal(a_test.inputs, c_test.inputs)
    np.testing.assert_array_equal(
        datatools.shuffle(data, 3).inputs, datatools.shuffle(data, 3).inputs
    )
    assert not np.array_equal(datatools.shuffle(data, 3).inputs, datatools.shuffle(data, 4).inputs)


def test_shuffle_is_a_permutation_of_whole_patterns() -> None:
    """Inputs and outputs move together."""
    data = _regression(30)
    mixed = datatools.shuffle(data, 1)
    assert not np.array_equal(mixed.inputs, data.inputs)
    np.testing.assert_array_equal(_rows(mixed), _rows(data))


def test_split_keeps_the_original_order_in_each_part() -> None:
    data = TrainingData(np.arange(20.0).reshape(20, 1), np.zeros((20, 1)) + 0.5, "seq")
    train, test = datatools.split(data, 0.3, seed=2)
    assert np.all(np.diff(train.inputs[:, 0]) > 0) and np.all(np.diff(test.inputs[:, 0]) > 0)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, 0.001, 0.999])
def test_bad_fractions_are_refused(fraction: float) -> None:
    """Outside (0, 1), or so small/large that one part would be empty."""
    with pytest.raises(ParameterError):
        datatools.split(_regression(20), fraction, seed=0)


def test_stratify_refused_for_regression_targets() -> None:
    with pytest.raises(ParameterError, match="cannot stratify"):
        datatools.split(_regression(), 0.2, seed=0, stratify=True)


def test_subset_is_fanns_position_and_length() -> None:
    data = _regression(10)
    part = datatools.subset(data, 3, 4)
    np.testing.assert_array_equal(part.inputs, data.inputs[3:7])
    np.testing.assert_array_equal(part.outputs, data.outputs[3:7])
    for start, count in ((8, 3), (-1, 2), (0, 0)):
        with pytest.raises(ParameterError, match="cannot take"):
            datatools.subset(data, start, count)


def test_merge_of_incompatible_sets_names_the_file() -> None:
    a = _regression(5)
    b = TrainingData(np.zeros((2, 3)), np.zeros((2, 1)), "other.data")
    with pytest.raises(ShapeError, match=r"other\.data: has 3 inputs and 1 outputs"):
        datatools.merge([a, b])


def test_scale_from_the_data_is_fanns_rule() -> None:
    """Equal to what train --scale-inputs stores and applies (fannctl.data), by column."""
    data = _regression(40)
    scaled = datatools.scale(data, (-1.0, 1.0), (0.0, 1.0))
    mean, std = data.inputs.mean(axis=0), data.inputs.std(axis=0)
    np.testing.assert_allclose(scaled.inputs, (data.inputs - mean) / std, atol=1e-12)
    ymean, ystd = data.outputs.mean(axis=0), data.outputs.std(axis=0)
    np.testing.assert_allclose(scaled.outputs, ((data.outputs - ymean) / ystd + 1) / 2, atol=1e-12)


def test_scale_with_a_networks_stored_parameters() -> None:
    """A test set scaled with the training set's parameters, as run would."""
    train, test = datatools.split(_regression(60), 0.25, seed=0)
    net = build([3, 2], output_activation="linear", dtype="float64")
    set_scaling_params(net, train, (-1.0, 1.0), (-1.0, 1.0))
    expected = scale_data(net, test)
    got = datatools.scale(test, network=net)
    np.testing.assert_array_equal(got.inputs, expected.inputs)
    np.testing.assert_array_equal(got.outputs, expected.outputs)
    with pytest.raises(ParameterError, match="stores no scaling"):
        datatools.scale(test, network=build([3, 2]))
    with pytest.raises(ParameterError, match="ranges"):
        datatools.scale(test)


def test_info_reports_constant_columns_and_class_balance() -> None:
    data = _classes(50, [0.5, 0.5], 2)
    data.inputs[:, 2] = 7.0
    report = datatools.info(data)
    assert report["constant_columns"] == ["x2"]
    assert report["task"] == "classify"
    counts = data.outputs.sum(axis=0).astype(int).tolist()
    assert [c["patterns"] for c in report["class_balance"]] == counts
    assert report["columns"][2]["min"] == report["columns"][2]["max"] == 7.0
    assert datatools.info(_regression())["class_balance"] is None


def test_thyroid_info() -> None:
    """The shipped thyroid set: 3600 patterns, three classes, as the .data says."""
    report = datatools.info(io.load_data(THYROID))
    assert report["patterns"] == 3600 and report["inputs"] == 21 and report["outputs"] == 3
    assert sum(c["patterns"] for c in report["class_balance"]) == 3600


@pytest.mark.parametrize(
    "name", ["a.data", "a.data.gz", "a.csv", "a.tsv", "a.npy", "a.npz", "a.h5"]
)
def test_every_format_round_trips_exactly(tmp_path: Path, name: str) -> None:
    """Values written and read back are the same float64 numbers, in every format."""
    data = _regression(9, seed=5)
    data.inputs[0, 0] = 1e-300
    data.outputs[1, 1] = -0.1
    path = tmp_path / name
    datatools.save(data, path)
    back = datatools.load(path, num_outputs=2 if name.endswith((".csv", ".tsv", ".npy")) else None)
    np.testing.assert_array_equal(back.inputs, data.inputs)
    np.testing.assert_array_equal(back.outputs, data.outputs)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_check_target_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no such directory"):
        datatools.check_target(tmp_path / "nope" / "x.data")
    with pytest.raises(ParameterError, match="is a directory"):
        datatools.check_target(tmp_path)


@pytest.mark.parametrize("seed", range(3))
def test_kfold_covers_every_pattern_once_and_stratifies(seed: int) -> None:
    """Each pattern is tested exactly once; every fold holds each class's share within one."""
    data = _classes(97, [0.6, 0.3, 0.1], seed)
    pairs = datatools.kfold(data, 5, seed=seed)
    tests = datatools.merge([test for _, test in pairs])
    np.testing.assert_array_equal(_rows(tests), _rows(data))
    counts = data.outputs.sum(axis=0)
    sizes = [test.num_patterns for _, test in pairs]
    assert max(sizes) - min(sizes) <= 1
    for train, test in pairs:
        assert train.num_patterns + test.num_patterns == 97
        assert np.all(np.abs(test.outputs.sum(axis=0) - counts / 5) < 1)


def test_kfold_is_seeded_and_checks_k() -> None:
    data = _regression(20)
    first = datatools.fold_of_rows(data, 4, seed=1)
    np.testing.assert_array_equal(first, datatools.fold_of_rows(data, 4, seed=1))
    assert not np.array_equal(first, datatools.fold_of_rows(data, 4, seed=2))
    for folds in (1, 21):
        with pytest.raises(ParameterError, match="folds"):
            datatools.kfold(data, folds, seed=0)
