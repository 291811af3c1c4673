"""fannctl's HDF5 network file: round trips with state, history and provenance; errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fannctl import __version__, network
from fannctl.errors import FannctlError, FormatError
from fannctl.io.fann_net import format_net, read_net
from fannctl.io.hdf5 import SCHEMA_VERSION, hdf5_bytes, read_hdf5, write_hdf5
from fannctl.network import Network, TrainState

FIXTURES = Path(__file__).parent / "fixtures"
FLOAT_NETS = (
    "xor_2_3_1.net",
    "shortcut_2_2_1.net",
    "sparse_0.5_4_4_2.net",
    "xor_scaled.net",
    "cascade_xor.net",
)


def trained_like_net(dtype: str = "float32") -> Network:
    """A network with every optional part filled in, as a trainer would leave it."""
    rng = np.random.default_rng(5)
    net = network.create([3, 4, 2], rng=rng, dtype=dtype)
    size = net.weights.size
    net.state = TrainState(
        slopes=rng.normal(size=size).astype(dtype),
        prev_steps=rng.uniform(0, 1, size).astype(dtype),
        prev_slopes=rng.normal(size=size).astype(dtype),
        prev_weight_deltas=None,
        sarprop_epoch=17,
        prev_error=0.125,
        rng_state=rng.bit_generator.state,
    )
    net.params = net.params.replace(
        learning_rate=0.123456789, rprop_variant="irprop+", sarprop_temperature=0.02
    )
    net.history = [
        {"epoch": 1, "mse": 0.3, "bit_fail": 4, "seconds": 0.01, "algorithm": "rprop"},
        {
            "epoch": 2,
            "mse": np.float32(0.25),
            "bit_fail": np.int64(3),
            "seconds": 0.02,
            "algorithm": "rprop",
            "test_mse": 0.5,
            "device": "numpy",
        },
        {"epoch": 3, "mse": None, "note": "diverged"},
        {"epoch": 4, "mse": float("nan"), "bit_fail": 0, "seconds": 0.0, "algorithm": "batch"},
    ]
    net.provenance = [
        {"fannctl": __version__, "command": "create --layers 3 4 2", "time": "2024-05-01T10:00"},
        {
            "fannctl": __version__,
            "command": "train",
            "data": "xor.data",
            "sha256": "ab" * 32,
            "time": "2024-05-01T10:01",
            "epochs": 4,
        },
    ]
    return net


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_keeps_everything(tmp_path: Path, dtype: str) -> None:
    """Catches any part of a network (arrays, params, state, history, provenance) lost."""
    net = trained_like_net(dtype)
    path = tmp_path / "net.h5"
    write_hdf5(net, path)
    again = read_hdf5(path)
    assert again.dtype == np.dtype(dtype)
    for field in ("activation", "steepness", "num_inputs", "sources", "weights"):
        np.testing.assert_array_equal(getattr(again, field), getattr(net, field))
        assert getattr(again, field).dtype == getattr(net, field).dtype
    assert again.layers == [3, 4, 2]
    assert again.params == net.params
    assert again.params.learning_rate == 0.123456789  # exact, not %f-rounded
    for name in ("slopes", "prev_steps", "prev_slopes"):
        np.testing.assert_array_equal(getattr(again.state, name), getattr(net.state, name))
        assert getattr(again.state, name).dtype == np.dtype(dtype)
    assert again.state.prev_weight_deltas is None
    assert again.state.sarprop_epoch == 17
    assert again.state.prev_error == 0.125
    assert again.provenance == net.provenance
    assert again.history[0] == net.history[0]
    assert again.history[1] == {
        "epoch": 2,
        "mse": 0.25,
        "bit_fail": 3,
        "seconds": 0.02,
        "algorithm": "rprop",
        "test_mse": 0.5,
        "device": "numpy",
    }
    assert again.history[2] == {"epoch": 3, "mse": None, "note": "diverged"}
    assert np.isnan(again.history[3]["mse"])
    assert again.history[3]["algorithm"] == "batch"


def test_rng_state_restores_the_same_stream(tmp_path: Path) -> None:
    """Catches an RNG state that does not survive (its 128-bit integers overflow)."""
    net = trained_like_net()
    rng = np.random.default_rng(99)
    rng.random(5)
    net.state.rng_state = rng.bit_generator.state
    write_hdf5(net, tmp_path / "n.h5")
    restored = np.random.default_rng()
    restored.bit_generator.state = read_hdf5(tmp_path / "n.h5").state.rng_state
    assert restored.random(3).tolist() == rng.random(3).tolist()


def test_empty_optional_parts(tmp_path: Path) -> None:
    """Catches a fresh network (no state, history, provenance, scaling) failing to store."""
    net = network.create([2, 2, 1], rng=np.random.default_rng(0), dtype="float64")
    write_hdf5(net, tmp_path / "n.h5")
    again = read_hdf5(tmp_path / "n.h5")
    assert again.state == TrainState()
    assert again.history == []
    assert again.provenance == []
    assert again.scaling is None


@pytest.mark.parametrize("name", FLOAT_NETS)
def test_net_to_h5_to_net_is_byte_identical(tmp_path: Path, name: str) -> None:
    """Catches HDF5 dropping or re-typing anything a .net file holds (scaling included)."""
    write_hdf5(read_net(FIXTURES / name), tmp_path / "n.h5")
    assert format_net(read_hdf5(tmp_path / "n.h5")) == (FIXTURES / name).read_text()


def test_layout_matches_schema_doc(tmp_path: Path) -> None:
    """Catches the file drifting from docs/HDF5_SCHEMA.md (what h5dump users rely on)."""
    write_hdf5(trained_like_net(), tmp_path / "n.h5")
    with h5py.File(tmp_path / "n.h5") as root:
        assert root.attrs["format"] == "fannctl-network"
        assert root.attrs["schema_version"] == SCHEMA_VERSION == 1
        assert root.attrs["fannctl_version"] == __version__
        assert root.attrs["dtype"] == "float32"
        assert root["network/weights"].dtype == np.float32
        assert root["network/weights"].shape == (4 * 4 + 2 * 5,)
        assert root["network/layers"][()].tolist() == [3, 4, 2]
        assert root["network"].attrs["network_type"] == 0
        assert root["params"].attrs["learning_rate"] == 0.123456789
        assert root["params"].attrs["rprop_variant"] == "irprop+"
        assert root["params/cascade_activation_functions"].shape == (10,)
        assert root["state"].attrs["sarprop_epoch"] == 17
        assert "prev_weight_deltas" not in root["state"]
        assert json.loads(root["state"].attrs["rng_state"])["bit_generator"] == "PCG64"
        assert root["history/epoch"][()].tolist() == [1, 2, 3, 4]
        assert root["history/algorithm"].asstr()[()].tolist()[0] == "rprop"
        record = json.loads(root["provenance"].asstr()[1])
        assert record["sha256"] == "ab" * 32
        assert "scaling" not in root


def test_file_objects(tmp_path: Path) -> None:
    """Catches stdin/stdout-style streams not supported (HDF5 from '-' is buffered)."""
    raw = hdf5_bytes(trained_like_net())
    assert raw.startswith(b"\x89HDF\r\n\x1a\n")
    again = read_hdf5(io.BytesIO(raw))
    assert again.state.sarprop_epoch == 17


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["epoch", "mse", "bit_fail", "seconds", "algorithm", "x", "y"]),
            st.one_of(
                st.integers(-(2**40), 2**40),
                st.floats(allow_nan=False),
                st.text(max_size=5),
                st.none(),
            ),
        ),
        max_size=5,
    )
)
def test_any_history_round_trips(history: list[dict]) -> None:
    """Catches history records changed by the column layout (types, missing keys)."""
    net = network.create([1, 1], rng=np.random.default_rng(0), dtype="float64")
    net.history = history
    again = read_hdf5(io.BytesIO(hdf5_bytes(net)))
    assert again.history == history
    for ours, theirs in zip(again.history, history, strict=True):
        for key, value in theirs.items():
            assert type(ours[key]) is type(value)


# ---------------------------------------------------------------- errors


def test_not_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "x.h5"
    path.write_text("FANN_FLO_2.1\n")
    with pytest.raises(FormatError, match=r"^.*x\.h5: not an HDF5 file$"):
        read_hdf5(path)


def test_truncated_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "cut.h5"
    path.write_bytes(hdf5_bytes(trained_like_net())[:600])
    with pytest.raises(FormatError, match=r"cut\.h5: "):
        read_hdf5(path)


def test_foreign_hdf5(tmp_path: Path) -> None:
    """Catches any HDF5 file being taken for a network."""
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as handle:
        handle["weights"] = np.zeros(3)
    with pytest.raises(FormatError, match=r"foreign\.h5: foreign HDF5 file \(no format="):
        read_hdf5(path)
    with h5py.File(path, "a") as handle:
        handle.attrs["format"] = "keras"
    with pytest.raises(FormatError, match='format="keras"'):
        read_hdf5(path)


def test_data_file_given_as_network(tmp_path: Path) -> None:
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["format"] = "fannctl-data"
    with pytest.raises(FormatError, match="is a fannctl data file, not a network file"):
        read_hdf5(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """Catches a newer file being half-read by an older fannctl."""
    path = tmp_path / "new.h5"
    write_hdf5(trained_like_net(), path)
    with h5py.File(path, "a") as handle:
        handle.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(FormatError, match="schema_version 2 is newer than this fannctl reads"):
        read_hdf5(path)


def test_missing_dataset(tmp_path: Path) -> None:
    path = tmp_path / "broken.h5"
    write_hdf5(trained_like_net(), path)
    with h5py.File(path, "a") as handle:
        del handle["network/sources"]
    with pytest.raises(FormatError, match="broken fannctl network file: missing"):
        read_hdf5(path)


def test_inconsistent_arrays(tmp_path: Path) -> None:
    path = tmp_path / "bad.h5"
    write_hdf5(trained_like_net(), path)
    with h5py.File(path, "a") as handle:
        del handle["network/weights"]
        handle["network/weights"] = np.zeros(5, np.float32)
    with pytest.raises(FormatError, match=r"bad\.h5: network declares 26 connections"):
        read_hdf5(path)


def test_state_that_does_not_fit(tmp_path: Path) -> None:
    """Catches training state of another network shape being accepted."""
    path = tmp_path / "state.h5"
    write_hdf5(trained_like_net(), path)
    with h5py.File(path, "a") as handle:
        del handle["state/prev_steps"]
        handle["state/prev_steps"] = np.zeros(3, np.float32)
    with pytest.raises(FormatError, match=r"/state/prev_steps has shape \(3,\)"):
        read_hdf5(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FannctlError, match="no such file"):
        read_hdf5(tmp_path / "none.h5")


def test_import_does_not_load_h5py() -> None:
    """Catches an eager h5py import that slows every command's start."""
    code = "import sys, fannctl.io, fannctl.io.hdf5; print('h5py' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
