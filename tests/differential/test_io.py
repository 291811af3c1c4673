"""Differential tests: .net files written by the real libfann 2.2 (float64), read by fannctl.

libfann builds (standard, sparse, shortcut), sets activations with its own
setters, trains and saves; fannctl loads the file and must hold the same
weights, sources, activations and steepnesses and give libfann's outputs. The
reverse direction (fannctl writes, libfann reads) is covered by every other
differential test; here fannctl also re-saves a libfann file, which libfann must
load back to the same network. These catch a reader that misplaces bias neurons,
sparse sources or shortcut connections, or loses precision.
"""

from __future__ import annotations

from pathlib import Path

import libfann as lf
import numpy as np
import pytest

pytestmark = pytest.mark.libfann

XOR = Path(__file__).resolve().parents[2] / "datasets" / "xor.data"
RTOL, ATOL = 1e-9, 1e-12
# libfann keeps stored scaling parameters (and casts the values it scales) in C floats
SCALED_RTOL = 1e-6
KINDS = ("standard", "sparse", "shortcut")
PROBE_NETS = (
    "xor_2_3_1.net",
    "shortcut_2_2_1.net",
    "sparse_0.5_4_4_2.net",
    "xor_scaled.net",
    "cascade_xor.net",
)


def libfann_trained_net(kind: str, tmp_path: Path) -> tuple[lf.LibFann, Path]:
    """A 2-4-3-1 (shortcut 2-3-1) net made, trained 10 RPROP epochs and saved by libfann."""
    layers = [2, 3, 1] if kind == "shortcut" else [2, 4, 3, 1]
    if kind == "standard":
        ann = lf.LibFann.create_standard(layers)
    elif kind == "sparse":
        ann = lf.LibFann.create_sparse(0.5, layers)
    else:
        ann = lf.LibFann.create_shortcut(layers)
    ann.set_activation_function_layer(5, 1)  # SIGMOID_SYMMETRIC
    ann.set_activation_steepness_layer(0.8, 1)
    if kind != "shortcut":
        ann.set_activation_function_layer(10, 2)  # ELLIOT
        ann.set_activation_function(16, 2, 1)  # one SIN neuron
        ann.set_activation_steepness(1.3, 2, 1)
    ann.set_activation_function_layer(11, len(layers) - 1)  # ELLIOT_SYMMETRIC
    lf.libc_srand(17)
    ann.randomize_weights(-0.9, 0.9)
    ann.set_learning_rate(0.25)
    ann.set_bit_fail_limit(0.125)
    with lf.TrainData.read(XOR) as data:
        for _ in range(10):
            ann.train_epoch(data)
    path = tmp_path / f"libfann_{kind}.net"
    ann.save(path)
    return ann, path


def grid_inputs(n_in: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(0.0, 2.0, (30, n_in)), rng.uniform(-500, 500, (4, n_in))])


@pytest.mark.parametrize("kind", KINDS)
def test_fannctl_reads_libfann_saved_net(tmp_path: Path, kind: str) -> None:
    from fannctl import runner
    from fannctl.io import load_network

    ann, path = libfann_trained_net(kind, tmp_path)
    with ann:
        net = load_network(path).astype("float64")
        assert net.weights.dtype == np.float64
        # doublefann writes %.20e: fannctl must read every weight back exactly
        np.testing.assert_array_equal(net.weights, ann.get_weights())
        np.testing.assert_array_equal(net.sources, ann.get_sources())
        assert net.layers == ann.get_layer_array()
        assert net.network_type == ann.get_network_type()
        assert net.connection_rate == pytest.approx(ann.get_connection_rate())
        assert net.params.learning_rate == pytest.approx(0.25)
        assert net.params.bit_fail_limit == 0.125
        inputs = grid_inputs(net.num_input)
        theirs = ann.run(inputs)
    ours = runner.run(net, inputs)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", KINDS)
def test_libfann_reads_fannctl_resave_of_libfann_net(tmp_path: Path, kind: str) -> None:
    """libfann file -> fannctl load -> fannctl save -> libfann load: same network."""
    from fannctl.io import load_network, save_network

    ann, path = libfann_trained_net(kind, tmp_path)
    with ann:
        net = load_network(path).astype("float64")
        resaved = tmp_path / "resaved.net"
        save_network(net, resaved)
        with lf.LibFann.create_from_file(resaved) as again:
            np.testing.assert_array_equal(again.get_weights(), ann.get_weights())
            np.testing.assert_array_equal(again.get_sources(), ann.get_sources())
            assert again.get_bit_fail_limit() == ann.get_bit_fail_limit()
            inputs = grid_inputs(net.num_input, 1)
            np.testing.assert_array_equal(again.run(inputs), ann.run(inputs))


@pytest.mark.parametrize("kind", KINDS)
def test_fannctl_rewrites_libfann_net_byte_for_byte(tmp_path: Path, kind: str) -> None:
    """fannctl's .net writer produces exactly the bytes libdoublefann wrote."""
    from fannctl.io import load_network, save_network

    ann, path = libfann_trained_net(kind, tmp_path)
    ann.destroy()
    resaved = tmp_path / "resaved.net"
    save_network(load_network(path).astype("float64"), resaved)
    ours = resaved.read_text().splitlines()
    theirs = path.read_text().splitlines()
    for number, (a, b) in enumerate(zip(ours, theirs, strict=False), start=1):
        assert a == b, f"line {number} differs:\n fannctl: {a[:200]}\n libfann: {b[:200]}"
    assert len(ours) == len(theirs)


@pytest.mark.parametrize("name", PROBE_NETS)
def test_probe_nets_run_like_libfann(name: str) -> None:
    """The shared probe files (written by float libfann) give libdoublefann's outputs."""
    from fannctl import runner
    from fannctl.io import load_network

    path = lf.probe_dir() / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    net = load_network(path).astype("float64")
    inputs = grid_inputs(net.num_input, 2)
    with lf.LibFann.create_from_file(path) as ann:
        theirs = ann.run_scaled(inputs) if net.scaling is not None else ann.run(inputs)
        np.testing.assert_array_equal(net.weights, ann.get_weights())
    rtol = SCALED_RTOL if net.scaling is not None else RTOL
    np.testing.assert_allclose(runner.run(net, inputs), theirs, rtol=rtol, atol=ATOL)


def test_stored_scaling_matches_libfann(tmp_path: Path) -> None:
    """A net with fann_set_scaling_params: runner.run = scale_input, run, descale_output."""
    from fannctl import runner
    from fannctl.io import load_network

    rng = np.random.default_rng(3)
    x = rng.normal([3.0, -20.0], [2.0, 5.0], (16, 2))
    y = np.column_stack([x[:, 0] * 0.1 + 4.0])
    with lf.LibFann.create_standard([2, 3, 1]) as ann, lf.TrainData.from_arrays(x, y) as data:
        ann.set_activation_function_layer(5, 1)
        ann.set_activation_function_layer(0, 2)
        lf.libc_srand(4)
        ann.randomize_weights(-1.0, 1.0)
        ann.set_scaling_params(data, (-1.0, 1.0), (-0.5, 0.5))
        path = tmp_path / "scaled.net"
        ann.save(path)
    net = load_network(path).astype("float64")
    assert net.scaling is not None
    inputs = rng.normal([3.0, -20.0], [2.0, 5.0], (10, 2))
    # compare with the file as libfann reads it back (scale params are saved with %f)
    with lf.LibFann.create_from_file(path) as reloaded:
        theirs = reloaded.run_scaled(inputs)
    np.testing.assert_allclose(runner.run(net, inputs), theirs, rtol=SCALED_RTOL, atol=ATOL)
