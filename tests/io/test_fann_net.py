"""FANN .net reader and writer: libfann's files, byte-exact rewrites, malformed input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fannctl import network
from fannctl.errors import FormatError
from fannctl.io.fann_net import format_net, parse_net, read_net, write_net
from fannctl.network import Scaling
from fannctl.params import TrainingParams

FIXTURES = Path(__file__).parent / "fixtures"
FLOAT_NETS = (
    "xor_2_3_1.net",
    "shortcut_2_2_1.net",
    "sparse_0.5_4_4_2.net",
    "xor_scaled.net",
    "cascade_xor.net",
)
XOR_TEXT = (FIXTURES / "xor_2_3_1.net").read_text()
XOR_LINES = XOR_TEXT.split("\n")
NEURONS_LINE, CONNECTIONS_LINE = 35, 36


def f32(x: float) -> float:
    return float(np.float32(x))


# ---------------------------------------------------------------- libfann's files


def test_xor_2_3_1_layout() -> None:
    """Catches bias neurons counted into layers, or flat arrays read out of order."""
    net = read_net(FIXTURES / "xor_2_3_1.net")
    assert net.layers == [2, 3, 1]
    assert net.network_type == network.LAYER
    assert net.connection_rate == 1.0
    assert net.total_neurons == 9
    assert net.total_connections == 13
    assert net.num_inputs.tolist() == [0, 0, 0, 3, 3, 3, 0, 4, 0]
    assert net.activation.tolist() == [0, 0, 0, 5, 5, 5, 5, 5, 5]
    assert net.steepness.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert net.sources.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 4, 5, 6]
    assert net.weights.dtype == np.float64
    assert net.weights[0] == -4.66530054807662963867e-01
    assert net.weights[-1] == -1.82139724493026733398e-01
    assert net.scaling is None


def test_xor_2_3_1_params() -> None:
    """Catches a key read into the wrong TrainingParams field."""
    p = read_net(FIXTURES / "xor_2_3_1.net").params
    assert p.learning_rate == 0.7
    assert p.training_algorithm == 2
    assert p.train_error_function == 1
    assert p.quickprop_decay == -0.0001
    assert p.rprop_delta_max == 50.0
    assert p.cascade_max_out_epochs == 150
    assert p.cascade_min_cand_epochs == 50
    assert p.bit_fail_limit == f32(0.35)
    assert p.cascade_weight_multiplier == f32(0.4)
    assert p.cascade_activation_functions == [3, 5, 7, 8, 10, 11, 14, 15, 16, 17]
    assert p.cascade_activation_steepnesses == [0.25, 0.5, 0.75, 1.0]
    # not in .net files: defaults kept
    assert p.rprop_variant == TrainingParams().rprop_variant
    assert p.sarprop_temperature == TrainingParams().sarprop_temperature


def test_sparse_layout() -> None:
    """Catches sparse sources read positionally instead of explicitly."""
    net = read_net(FIXTURES / "sparse_0.5_4_4_2.net")
    assert net.layers == [4, 4, 2]
    assert net.connection_rate == 0.5
    assert net.is_sparse
    assert net.total_neurons == 13
    assert net.total_connections == 18
    assert net.num_inputs.tolist() == [0, 0, 0, 0, 0, 3, 3, 3, 3, 0, 3, 3, 0]
    assert net.sources[:6].tolist() == [4, 3, 1, 4, 0, 2]
    assert net.sources[-6:].tolist() == [9, 5, 7, 9, 6, 8]


def test_shortcut_layout() -> None:
    """Catches SHORTCUT nets given a bias in every layer."""
    net = read_net(FIXTURES / "shortcut_2_2_1.net")
    assert net.layers == [2, 2, 1]
    assert net.network_type == network.SHORTCUT
    assert net.total_neurons == 6
    assert net.total_connections == 11
    assert net.num_inputs.tolist() == [0, 0, 0, 3, 3, 5]
    assert net.sources[-5:].tolist() == [0, 1, 2, 3, 4]


def test_scaled_net_has_scaling() -> None:
    """Catches the 8 scale_* lines skipped or assigned to the wrong field."""
    net = read_net(FIXTURES / "xor_scaled.net")
    assert net.scaling is not None
    assert net.scaling.mean_in.tolist() == [0.0, 0.0]
    assert net.scaling.deviation_in.tolist() == [1.0, 1.0]
    assert net.scaling.new_min_in.tolist() == [-1.0, -1.0]
    assert net.scaling.factor_in.tolist() == [1.0, 1.0]
    assert net.scaling.mean_out.tolist() == [0.0]
    assert net.scaling.new_min_out.tolist() == [-1.0]
    assert net.layers == [2, 3, 1]


def test_cascade_net() -> None:
    """Catches a cascade-grown shortcut net (one hidden neuron per layer) misread."""
    net = read_net(FIXTURES / "cascade_xor.net")
    assert net.layers == [2, 1, 1]
    assert net.network_type == network.SHORTCUT
    assert net.total_neurons == 5
    assert net.total_connections == 7
    assert net.activation.tolist() == [0, 0, 0, 8, 5]
    assert net.steepness.tolist() == [0, 0, 0, 1.0, 0.5]
    assert net.sources.tolist() == [0, 1, 2, 0, 1, 2, 3]
    assert net.weights[-1] == 2.35187072753906250000e01


@pytest.mark.parametrize("name", FLOAT_NETS)
def test_rewrite_is_byte_identical(name: str, tmp_path: Path) -> None:
    """Catches any formatting drift from libfann's writer (%f, %.20e, trailing spaces)."""
    original = (FIXTURES / name).read_bytes()
    out = tmp_path / name
    write_net(read_net(FIXTURES / name), out)
    assert out.read_bytes() == original


@pytest.mark.parametrize("name", FLOAT_NETS)
def test_read_write_read_is_lossless(name: str) -> None:
    """Catches values that change on a second pass (rounding in the writer)."""
    first = read_net(FIXTURES / name)
    second = parse_net(format_net(first))
    for field in ("activation", "steepness", "num_inputs", "sources", "weights"):
        np.testing.assert_array_equal(getattr(second, field), getattr(first, field))
        assert getattr(second, field).dtype == getattr(first, field).dtype
    assert second.layers == first.layers
    assert second.params == first.params
    assert second.connection_rate == first.connection_rate
    assert (second.scaling is None) == (first.scaling is None)


def test_float32_network_writes_fann_type_as_float() -> None:
    """Catches a float32 net writing bit_fail_limit 0.35 as a double (libfann: float)."""
    net = network.create([2, 3, 1], rng=np.random.default_rng(1), dtype="float32")
    text = format_net(net)
    assert "bit_fail_limit=3.49999994039535522461e-01\n" in text
    assert "cascade_weight_multiplier=4.00000005960464477539e-01\n" in text
    as_double = format_net(net.astype("float64"))
    assert "bit_fail_limit=3.49999999999999977796e-01\n" in as_double


def test_float_params_are_written_as_c_floats() -> None:
    """Catches %f precision handling: libfann saves 0.123456789 as 0.123457."""
    net = read_net(FIXTURES / "xor_2_3_1.net")
    net.params.learning_rate = 0.123456789
    text = format_net(net)
    assert "\nlearning_rate=0.123457\n" in text
    assert parse_net(text).params.learning_rate == 0.123457


def test_float64_weights_round_trip_exactly() -> None:
    """Catches weights written with float precision (doublefann reads %le)."""
    net = read_net(FIXTURES / "xor_2_3_1.net")
    net.weights[:] = [1 / 3, np.pi, -1e-300, 5e-324, 1.7976931348623157e308, *range(8)]
    again = parse_net(format_net(net))
    np.testing.assert_array_equal(again.weights, net.weights)


def test_write_to_file_objects_and_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """Catches write_net failing on file objects, or '-' written to a file named '-'."""
    net = read_net(FIXTURES / "xor_2_3_1.net")
    text_out, binary_out = io.StringIO(), io.BytesIO()
    write_net(net, text_out)
    write_net(net, binary_out)
    assert text_out.getvalue() == XOR_TEXT
    assert binary_out.getvalue() == XOR_TEXT.encode()
    write_net(net, "-")
    assert capsys.readouterr().out == XOR_TEXT
    assert not Path("-").exists()


# ---------------------------------------------------------------- flexible input


def test_fann_flo_2_0_without_scale_line() -> None:
    """Catches FANN_FLO_2.0 (no scale_included line) being rejected."""
    lines = [line for line in XOR_LINES if not line.startswith("scale_included")]
    lines[0] = "FANN_FLO_2.0"
    net = parse_net("\n".join(lines))
    assert net.layers == [2, 3, 1]
    assert net.scaling is None
    assert format_net(net) == XOR_TEXT  # written back as 2.1, like libfann


def test_whitespace_is_flexible() -> None:
    """Catches a reader stricter than libfann's fscanf (spaces, tabs, CRLF, split lists)."""
    text = XOR_TEXT.replace("=", "= ").replace("\n", "\r\n\n")
    text = text.replace(") (", ")\n\t(").replace(", ", ",")
    net = parse_net(text)
    assert format_net(net) == XOR_TEXT


def test_fixed_point_file_is_rejected() -> None:
    """Catches FANN_FIX files being read as floats (weights would be 2^14 too large)."""
    with pytest.raises(FormatError, match=r"xor_2_3_1_fixed\.net:1: .*fixed-point"):
        read_net(FIXTURES / "xor_2_3_1_fixed.net")


# ---------------------------------------------------------------- malformed input


def _replace_line(number: int, new: str | None) -> str:
    lines = list(XOR_LINES)
    if new is None:
        del lines[number - 1]
    else:
        lines[number - 1] = new
    return "\n".join(lines)


def _neurons_without_last() -> str:
    line = XOR_LINES[NEURONS_LINE - 1]
    return _replace_line(NEURONS_LINE, line[: line.rstrip().rfind(" (")] + " ")


def _connections_without_last() -> str:
    line = XOR_LINES[CONNECTIONS_LINE - 1]
    return _replace_line(CONNECTIONS_LINE, line[: line.rstrip().rfind(" (")] + " ")


MALFORMED = {
    "missing key": (
        lambda: _replace_line(12, None),
        12,
        "expected 'quickprop_mu=', found 'rprop_increase_factor=1.200000'",
    ),
    "keys out of order": (
        lambda: "\n".join([*XOR_LINES[:2], XOR_LINES[3], XOR_LINES[2], *XOR_LINES[4:]]),
        3,
        "expected 'learning_rate='",
    ),
    "non-numeric value": (
        lambda: _replace_line(3, "learning_rate=fast"),
        3,
        "learning_rate: expected a number, found 'fast'",
    ),
    "non-integer count": (
        lambda: _replace_line(21, "cascade_max_out_epochs=1.5"),
        21,
        "cascade_max_out_epochs: expected a non-negative integer",
    ),
    "network_type out of range": (
        lambda: _replace_line(5, "network_type=7"),
        5,
        "network_type: 7 is not valid",
    ),
    "too few layer sizes": (
        lambda: _replace_line(33, "layer_sizes=3 4 "),
        33,
        "layer_sizes: expected 3 values, found 2",
    ),
    "too many layer sizes": (
        lambda: _replace_line(33, "layer_sizes=3 4 2 2 "),
        33,
        "layer_sizes: expected 3 values, found more",
    ),
    "empty layer": (
        lambda: _replace_line(33, "layer_sizes=3 1 2 "),
        33,
        "layer 1 has size 1",
    ),
    "too few neurons": (_neurons_without_last, NEURONS_LINE, "expected 9 entries, found 8"),
    "too many neurons": (
        lambda: _replace_line(NEURONS_LINE, XOR_LINES[NEURONS_LINE - 1] + "(0, 0, 0.0) "),
        NEURONS_LINE,
        "neurons: expected 9 entries, found more",
    ),
    "too few connections": (
        _connections_without_last,
        CONNECTIONS_LINE,
        "connections: expected 13 entries, found 12",
    ),
    "too many connections": (
        lambda: _replace_line(CONNECTIONS_LINE, XOR_LINES[CONNECTIONS_LINE - 1] + "(1, 0.5) "),
        CONNECTIONS_LINE,
        "connections: expected 13 entries, found more",
    ),
    "non-numeric weight": (
        lambda: XOR_TEXT.replace("(1, 3.63622367382049560547e-01)", "(1, heavy)"),
        CONNECTIONS_LINE,
        "connections: malformed entry 8: '(1, heavy)",
    ),
    "unknown activation": (
        lambda: XOR_TEXT.replace("(4, 5, 1.0", "(4, 99, 1.0"),
        NEURONS_LINE,
        "neuron 7: unknown activation function 99",
    ),
    "source out of range": (
        lambda: XOR_TEXT.replace("(6, -1.82139724493026733398e-01)", "(60, -0.5)"),
        CONNECTIONS_LINE,
        "connection 12 comes from neuron 60",
    ),
    "inconsistent inputs per neuron": (
        lambda: XOR_TEXT.replace("(3, 5,", "(4, 5,", 1).replace("(3, 5,", "(2, 5,", 1),
        NEURONS_LINE,
        "layer 1: neurons have [2, 3, 4] inputs, expected 3",
    ),
    "truncated in the header keys": (
        lambda: "\n".join(XOR_LINES[:20]) + "\n",
        20,
        "file ends early: expected 'cascade_max_out_epochs='",
    ),
    "truncated mid connections": (
        lambda: XOR_TEXT[: XOR_TEXT.index("(5, 2.6538")],
        CONNECTIONS_LINE,
        "connections: expected 13 entries, found 11",
    ),
    "truncated mid entry": (
        lambda: XOR_TEXT[: XOR_TEXT.index("(5, 2.6538") + 6],
        CONNECTIONS_LINE,
        "connections: malformed entry 12: '(5, 2.",
    ),
    "no connections line": (
        lambda: "\n".join(XOR_LINES[:NEURONS_LINE]) + "\n",
        NEURONS_LINE,
        "file ends early: expected 'connections (connected_to_neuron, weight)='",
    ),
    "bad scale count": (
        lambda: _replace_line(34, "scale_included=1\nscale_mean_in=0.0 \n"),
        35,
        "scale_mean_in: expected 2 values, found 1",
    ),
    "not a net file": (lambda: "hello world\n", 1, "not a FANN .net file"),
    "empty file": (lambda: "", 1, "not a FANN .net file"),
    "old version": (lambda: "FANN_FLO_1.1\n" + XOR_TEXT, 1, "unsupported FANN version"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_names_file_and_line(case: str, tmp_path: Path) -> None:
    """Catches malformed .net files crashing or blaming the wrong line."""
    make_text, line, message = MALFORMED[case]
    path = tmp_path / "bad.net"
    path.write_text(make_text())
    with pytest.raises(FormatError) as caught:
        read_net(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:{line}: "), text
    assert message in text
    assert "\n" not in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.integers(0, len(XOR_TEXT) - 1),
    length=st.integers(0, 40),
    insert=st.text(alphabet="0123456789 -+.e()=,\nxabc", max_size=8),
)
def test_mutated_file_parses_or_raises_format_error(start: int, length: int, insert: str) -> None:
    """Catches crashes (IndexError, ValueError...) on damaged files: FormatError or a network."""
    text = XOR_TEXT[:start] + insert + XOR_TEXT[start + length :]
    try:
        net = parse_net(text, "fuzz.net")
    except FormatError as error:
        assert str(error).startswith("fuzz.net:")
    else:
        network.validate(net)


# ---------------------------------------------------------------- property: round trips


@st.composite
def networks(draw: st.DrawFn) -> network.Network:
    kind = draw(st.sampled_from(["layer", "sparse", "shortcut"]))
    layers = draw(st.lists(st.integers(1, 5), min_size=2, max_size=4))
    rate = draw(st.floats(0.2, 0.9)) if kind == "sparse" else 1.0
    net = network.create(
        layers,
        shortcut=kind == "shortcut",
        connection_rate=rate,
        rng=np.random.default_rng(draw(st.integers(0, 2**32 - 1))),
        dtype="float64",
    )
    finite = st.floats(allow_nan=False, allow_infinity=False)
    net.weights[:] = draw(st.lists(finite, min_size=net.weights.size, max_size=net.weights.size))
    net.steepness[:] = draw(
        st.lists(st.floats(0.01, 10), min_size=net.steepness.size, max_size=net.steepness.size)
    )
    net.activation[:] = draw(
        st.lists(st.integers(0, 17), min_size=net.total_neurons, max_size=net.total_neurons)
    )
    net.params = net.params.replace(
        learning_rate=draw(st.floats(0, 10)),
        training_algorithm=draw(st.integers(0, 4)),
        bit_fail_limit=draw(st.floats(0, 1)),
        cascade_activation_steepnesses=draw(st.lists(st.floats(0.01, 4), max_size=5)),
        cascade_activation_functions=draw(st.lists(st.integers(0, 17), max_size=5)),
    )
    if draw(st.booleans()):
        vec = st.floats(-1e4, 1e4)
        arrays = [
            np.array(draw(st.lists(vec, min_size=size, max_size=size)))
            for size in [net.num_input] * 4 + [net.num_output] * 4
        ]
        net.scaling = Scaling(*arrays)
    return net


@settings(max_examples=60, deadline=None)
@given(networks())
def test_write_read_round_trip(net: network.Network) -> None:
    """Catches lossy weights, misplaced sources or a writer that is not idempotent."""
    text = format_net(net)
    again = parse_net(text)
    np.testing.assert_array_equal(again.weights, net.weights)
    np.testing.assert_array_equal(again.steepness, net.steepness)
    np.testing.assert_array_equal(again.sources, net.sources)
    np.testing.assert_array_equal(again.num_inputs, net.num_inputs)
    np.testing.assert_array_equal(again.activation, net.activation)
    assert again.layers == net.layers
    assert again.network_type == net.network_type
    assert again.params.training_algorithm == net.params.training_algorithm
    assert again.params.cascade_activation_functions == net.params.cascade_activation_functions
    assert again.params.learning_rate == float(f"{f32(net.params.learning_rate):f}")
    assert format_net(again) == text
