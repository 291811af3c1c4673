"""FANN's text network file (``.net``, ``FANN_FLO_2.1``): reader and byte-exact writer.

The reader follows libfann's ``fscanf`` rules: keys in a fixed order, whitespace
flexible. The writer reproduces libfann's float writer byte for byte (``%f`` for
the C ``float`` parameters, ``%.20e`` for ``fann_type`` values, a space after every
list item), except that weights and steepnesses are printed from the network's own
dtype, so a float64 network survives a write and read exactly (as with doublefann).
"""

from __future__ import annotations

import io
import os
import re
import sys
from typing import IO

import numpy as np

from fannctl import activations
from fannctl.errors import FormatError, ParameterError, ShapeError
from fannctl.io._files import (
    NUMBER,
    NUMBER_RE,
    PathLike,
    atomic_write,
    decode_text,
    display_name,
    last_line_number,
    line_number,
    read_bytes,
    snippet,
)
from fannctl.network import SHORTCUT, Network, Scaling, layer_counts, validate
from fannctl.params import TrainingParams

HEADER = "FANN_FLO_2.1"
READABLE_HEADERS = ("FANN_FLO_2.1", "FANN_FLO_2.0")
NEURONS_KEY = "neurons (num_inputs, activation_function, activation_steepness)="
CONNECTIONS_KEY = "connections (connected_to_neuron, weight)="

# The scalar keys after num_layers, in file order. Kinds: "f" a C float printed with
# %f, "u" an unsigned int, "e" a fann_type printed with %.20e. Owner: "net" keys are
# Network fields, the others TrainingParams fields of the same name.
SCALAR_KEYS: tuple[tuple[str, str, str], ...] = (
    ("learning_rate", "f", "params"),
    ("connection_rate", "f", "net"),
    ("network_type", "u", "net"),
    ("learning_momentum", "f", "params"),
    ("training_algorithm", "u", "params"),
    ("train_error_function", "u", "params"),
    ("train_stop_function", "u", "params"),
    ("cascade_output_change_fraction", "f", "params"),
    ("quickprop_decay", "f", "params"),
    ("quickprop_mu", "f", "params"),
    ("rprop_increase_factor", "f", "params"),
    ("rprop_decrease_factor", "f", "params"),
    ("rprop_delta_min", "f", "params"),
    ("rprop_delta_max", "f", "params"),
    ("rprop_delta_zero", "f", "params"),
    ("cascade_output_stagnation_epochs", "u", "params"),
    ("cascade_candidate_change_fraction", "f", "params"),
    ("cascade_candidate_stagnation_epochs", "u", "params"),
    ("cascade_max_out_epochs", "u", "params"),
    ("cascade_min_out_epochs", "u", "params"),
    ("cascade_max_cand_epochs", "u", "params"),
    ("cascade_min_cand_epochs", "u", "params"),
    ("cascade_num_candidate_groups", "u", "params"),
    ("bit_fail_limit", "e", "params"),
    ("cascade_candidate_limit", "e", "params"),
    ("cascade_weight_multiplier", "e", "params"),
)
# Largest valid value of the enumerated keys (libfann would take anything).
ENUM_LIMITS = {
    "network_type": 1,
    "training_algorithm": 4,
    "train_error_function": 1,
    "train_stop_function": 1,
}
SCALE_KEYS = tuple(f"scale_{name}" for name in Scaling.FIELDS)

_SPACE_RE = re.compile(r"\s*")
_TOKEN_RE = re.compile(r"\S+")
_UNSIGNED_RE = re.compile(r"[0-9]+(?=\s|\Z)")
_SIGNED_RE = re.compile(r"[-+]?[0-9]+(?=\s|\Z)")
_FLOAT_RE = re.compile(NUMBER + r"(?=\s|\Z)")
_NEURON_RE = re.compile(rf"\s*\(\s*([0-9]+)\s*,\s*([0-9]+)\s*,\s*({NUMBER})\s*\)")
_CONNECTION_RE = re.compile(rf"\s*\(\s*([-+]?[0-9]+)\s*,\s*({NUMBER})\s*\)")


def _literal_re(literal: str) -> re.Pattern[str]:
    """A regex for a fscanf literal: each blank in it matches any run of whitespace."""
    return re.compile(r"\s*".join(re.escape(part) for part in literal.split()))


_KEY_RES: dict[str, re.Pattern[str]] = {}


def _key_re(key: str) -> re.Pattern[str]:
    if key not in _KEY_RES:
        literal = key if key.endswith("=") else key + "="
        _KEY_RES[key] = _literal_re(literal)
    return _KEY_RES[key]


class _Scanner:
    """A cursor over the file text that reads what libfann's fscanf calls read."""

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self.pos = 0
        self.key_pos = 0

    def error(self, message: str, pos: int | None = None) -> FormatError:
        where = self.pos if pos is None else pos
        if where >= len(self.text.rstrip()):
            line = last_line_number(self.text)
        else:
            line = line_number(self.text, where)
        return FormatError(f"{self.name}:{line}: {message}")

    def key_error(self, message: str) -> FormatError:
        return self.error(message, self.key_pos)

    def skip_space(self) -> None:
        match = _SPACE_RE.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text)

    def next_token(self) -> str:
        match = _TOKEN_RE.match(self.text, self.pos)
        return match.group() if match else ""

    def try_key(self, key: str) -> bool:
        """Consume ``key=`` if it comes next."""
        self.skip_space()
        match = _key_re(key).match(self.text, self.pos)
        if not match:
            return False
        self.key_pos = self.pos
        self.pos = match.end()
        return True

    def expect_key(self, key: str) -> None:
        shown = key if key.endswith("=") else key + "="
        if self.try_key(key):
            return
        if self.at_end():
            raise self.error(f"file ends early: expected '{shown}'")
        newline = self.text.find("\n", self.pos)
        rest = self.text[self.pos : newline if newline >= 0 else len(self.text)]
        raise self.error(f"expected '{shown}', found '{snippet(rest)}'")

    def value(self, key: str, kind: str) -> float | int:
        """Read the value of ``key`` (kind "u", "d", "f" or "e")."""
        self.skip_space()
        pattern = {"u": _UNSIGNED_RE, "d": _SIGNED_RE}.get(kind, _FLOAT_RE)
        match = pattern.match(self.text, self.pos)
        if not match:
            token = self.next_token()
            if not token:
                raise self.key_error(f"{key}: value missing at end of file")
            wanted = "a non-negative integer" if kind in "ud" else "a number"
            raise self.key_error(f"{key}: expected {wanted}, found '{snippet(token)}'")
        self.pos = match.end()
        if kind in "ud":
            return int(match.group())
        return float(match.group())

    def values(self, key: str, kind: str, count: int) -> list:
        """Read exactly ``count`` values after ``key=`` (a list line)."""
        items = []
        for index in range(count):
            before = self.pos
            self.skip_space()
            token = self.next_token()
            on_new_line = "\n" in self.text[before : self.pos]
            if not token or (not NUMBER_RE.match(token) and (on_new_line or "=" in token)):
                raise self.key_error(f"{key}: expected {count} values, found {index}")
            items.append(self.value(key, kind))
        self.skip_space()
        token = self.next_token()
        if token and NUMBER_RE.fullmatch(token):
            raise self.key_error(f"{key}: expected {count} values, found more")
        return items


def read_net(path: PathLike) -> Network:
    """Read a FANN float ``.net`` file (``FANN_FLO_2.1`` or ``2.0``; ``-`` = stdin)."""
    return parse_net(decode_text(read_bytes(path)), display_name(path))


def parse_net(text: str, name: str = "<net>") -> Network:
    """Parse the text of a FANN float ``.net`` file; ``name`` is used in messages."""
    scan = _Scanner(text, name)
    _check_header(scan)
    scan.expect_key("num_layers")
    num_layers = int(scan.value("num_layers", "d"))
    if num_layers < 2:
        raise scan.key_error(f"num_layers: a network needs at least 2 layers, got {num_layers}")
    params: dict[str, object] = {}
    net_fields: dict[str, object] = {}
    for key, kind, owner in SCALAR_KEYS:
        scan.expect_key(key)
        value = scan.value(key, kind)
        if key in ENUM_LIMITS and value > ENUM_LIMITS[key]:
            raise scan.key_error(f"{key}: {value} is not valid (0 to {ENUM_LIMITS[key]})")
        (net_fields if owner == "net" else params)[key] = value
    for key, kind in (
        ("cascade_activation_functions", "u"),
        ("cascade_activation_steepnesses", "e"),
    ):
        scan.expect_key(key + "_count")
        count = int(scan.value(key + "_count", "u"))
        scan.expect_key(key)
        params[key] = scan.values(key, kind, count)
    for ident in params["cascade_activation_functions"]:  # type: ignore[union-attr]
        if ident >= len(activations.NAMES):
            raise scan.key_error(f"cascade_activation_functions: unknown activation {ident}")

    network_type = int(net_fields["network_type"])  # type: ignore[call-overload]
    scan.expect_key("layer_sizes")
    sizes = [int(n) for n in scan.values("layer_sizes", "d", num_layers)]
    layers = _real_layers(scan, sizes, network_type)
    scaling = _read_scaling(scan, layers)
    activation, steepness, num_inputs, neurons_pos = _read_neurons(scan, sum(sizes))
    sources, weights, connections_pos = _read_connections(scan, int(num_inputs.sum()))

    bad = np.flatnonzero(activation >= len(activations.NAMES))
    if bad.size:
        raise scan.error(
            f"neuron {int(bad[0])}: unknown activation function {int(activation[bad[0]])}",
            neurons_pos,
        )
    if sources.size and (sources.min() < 0 or sources.max() >= sum(sizes)):
        index = int(np.flatnonzero((sources < 0) | (sources >= sum(sizes)))[0])
        raise scan.error(
            f"connection {index} comes from neuron {int(sources[index])}, "
            f"but the network has {sum(sizes)} neurons",
            connections_pos,
        )
    net = Network(
        layers=layers,
        network_type=network_type,
        connection_rate=float(net_fields["connection_rate"]),  # type: ignore[arg-type]
        activation=activation,
        steepness=steepness,
        num_inputs=num_inputs,
        sources=sources,
        weights=weights,
        params=TrainingParams.from_dict(params),
        scaling=scaling,
    )
    try:
        validate(net)
    except FormatError as error:
        raise scan.error(str(error), neurons_pos) from None
    return net


def _check_header(scan: _Scanner) -> None:
    first = scan.text.split("\n", 1)[0].strip()
    if first in READABLE_HEADERS:
        scan.pos = len(scan.text.split("\n", 1)[0])
        return
    if first.startswith("FANN_FIX"):
        raise scan.error(
            f"'{first}' is a fixed-point network (fann_save_to_fixed); "
            "fannctl reads float networks only (FANN_FLO_2.1)",
            0,
        )
    if first.startswith("FANN_FLO"):
        raise scan.error(
            f"unsupported FANN version '{snippet(first)}' (readable: FANN_FLO_2.1, FANN_FLO_2.0)",
            0,
        )
    raise scan.error(f"not a FANN .net file: first line is '{snippet(first)}', not FANN_FLO_2.1", 0)


def _real_layers(scan: _Scanner, sizes: list[int], network_type: int) -> list[int]:
    """Turn the file's layer sizes (bias neurons counted) into real neurons per layer."""
    if network_type == SHORTCUT:
        layers = [sizes[0] - 1, *sizes[1:]]
    else:
        layers = [n - 1 for n in sizes]
    for index, size in enumerate(layers):
        if size < 1:
            kind = "shortcut" if network_type == SHORTCUT else "layered"
            raise scan.key_error(
                f"layer_sizes: layer {index} has size {sizes[index]}, "
                f"too small for a {kind} network (the bias neuron is counted)"
            )
    return layers


def _read_scaling(scan: _Scanner, layers: list[int]) -> Scaling | None:
    if not scan.try_key("scale_included"):
        return None
    included = int(scan.value("scale_included", "u"))
    if included > 1:
        raise scan.key_error(f"scale_included: expected 0 or 1, got {included}")
    if not included:
        return None
    arrays = []
    for key in SCALE_KEYS:
        scan.expect_key(key)
        count = layers[0] if key.endswith("_in") else layers[-1]
        arrays.append(np.asarray(scan.values(key, "f", count), dtype=np.float64))
    return Scaling(*arrays)


def _parse_entries(
    scan: _Scanner, pattern: re.Pattern[str], what: str, count: int, end: int
) -> list[tuple[str, ...]]:
    """Read exactly ``count`` parenthesised entries between ``scan.pos`` and ``end``."""
    segment = scan.text[scan.pos : end]
    entries = pattern.findall(segment)
    if len(entries) == count and not pattern.sub("", segment).strip():
        scan.pos = end
        return entries
    # Slow path: walk entry by entry to say where it goes wrong.
    pos = scan.pos
    for index in range(count):
        match = pattern.match(scan.text, pos, end)
        if not match:
            rest = scan.text[pos:end]
            if not rest.strip():
                raise scan.key_error(f"{what}: expected {count} entries, found {index}")
            start = pos + len(rest) - len(rest.lstrip())
            raise scan.error(f"{what}: malformed entry {index + 1}: '{snippet(rest)}'", start)
        pos = match.end()
    rest = scan.text[pos:end]
    start = pos + len(rest) - len(rest.lstrip())
    if pattern.match(scan.text, pos, end):
        raise scan.key_error(f"{what}: expected {count} entries, found more")
    raise scan.error(f"{what}: unexpected text after {count} entries: '{snippet(rest)}'", start)


def _read_neurons(scan: _Scanner, total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    scan.expect_key(NEURONS_KEY)
    where = scan.key_pos
    found = _key_re(CONNECTIONS_KEY).search(scan.text, scan.pos)
    end = found.start() if found else len(scan.text)
    entries = _parse_entries(scan, _NEURON_RE, "neurons", total, end)
    columns = list(zip(*entries, strict=True)) if entries else [(), (), ()]
    try:
        num_inputs = np.array(columns[0], dtype=np.int64)
        activation = np.array(columns[1], dtype=np.int64)
    except OverflowError:
        raise scan.error("neurons: integer too large", where) from None
    if activation.size and activation.max() > np.iinfo(np.int32).max:
        raise scan.error("neurons: activation function id too large", where)
    steepness = np.array(columns[2], dtype=np.float64)
    return activation.astype(np.int32), steepness, num_inputs, where


def _read_connections(scan: _Scanner, total: int) -> tuple[np.ndarray, np.ndarray, int]:
    scan.expect_key(CONNECTIONS_KEY)
    where = scan.key_pos
    entries = _parse_entries(scan, _CONNECTION_RE, "connections", total, len(scan.text))
    columns = list(zip(*entries, strict=True)) if entries else [(), ()]
    try:
        sources = np.array(columns[0], dtype=np.int64)
    except OverflowError:
        raise scan.error("connections: neuron index too large", where) from None
    weights = np.array(columns[1], dtype=np.float64)
    return sources, weights, where


def check_expressible(net: Network, name: str = ".net") -> None:
    """ParameterError when FANN's format cannot hold ``net``: fannctl's own softmax
    outputs or weight decay (a .net file has no place for either)."""
    uses = []
    if np.any(net.activation == activations.SOFTMAX):
        uses.append("softmax outputs")
    if net.params.weight_decay:
        uses.append(f"weight decay {net.params.weight_decay:g}")
    if uses:
        raise ParameterError(
            f"{name}: the network uses {' and '.join(uses)}, which FANN's .net format "
            "cannot express; save it as .h5"
        )


def format_net(net: Network) -> str:
    """Return the ``.net`` text libfann would write for ``net`` (see module docstring)."""
    validate(net)
    check_expressible(net)
    fann_type = np.float32 if net.dtype == np.float32 else np.float64

    def c_float(value: float) -> str:
        return f"{float(np.float32(value)):f}"

    def fann_value(value: float) -> str:
        return f"{float(fann_type(value)):.20e}"

    p = net.params
    lines = [HEADER, f"num_layers={len(net.layers)}"]
    for key, kind, owner in SCALAR_KEYS:
        value = getattr(net if owner == "net" else p, key)
        if kind == "f":
            text = c_float(value)
        elif kind == "e":
            text = fann_value(value)
        else:
            text = f"{int(value):d}"
        lines.append(f"{key}={text}")
    functions = [int(x) for x in p.cascade_activation_functions]
    steepnesses = list(p.cascade_activation_steepnesses)
    lines.append(f"cascade_activation_functions_count={len(functions)}")
    lines.append("cascade_activation_functions=" + "".join(f"{x} " for x in functions))
    lines.append(f"cascade_activation_steepnesses_count={len(steepnesses)}")
    lines.append(
        "cascade_activation_steepnesses=" + "".join(fann_value(x) + " " for x in steepnesses)
    )
    sizes = layer_counts(net.layers, net.network_type)
    lines.append("layer_sizes=" + "".join(f"{n} " for n in sizes))
    lines.append(f"scale_included={0 if net.scaling is None else 1}")
    if net.scaling is not None:
        lines.extend(_format_scaling(net))
    neurons = "".join(
        f"({count:d}, {ident:d}, {steep:.20e}) "
        for count, ident, steep in zip(
            net.num_inputs.tolist(), net.activation.tolist(), net.steepness.tolist(), strict=True
        )
    )
    lines.append(NEURONS_KEY + neurons)
    connections = "".join(
        f"({source:d}, {weight:.20e}) "
        for source, weight in zip(net.sources.tolist(), net.weights.tolist(), strict=True)
    )
    lines.append(CONNECTIONS_KEY + connections)
    return "\n".join(lines) + "\n"


def _format_scaling(net: Network) -> list[str]:
    scaling = net.scaling
    assert scaling is not None
    lines = []
    for field, key in zip(Scaling.FIELDS, SCALE_KEYS, strict=True):
        values = np.asarray(getattr(scaling, field), dtype=np.float64).ravel()
        wanted = net.num_input if field.endswith("_in") else net.num_output
        if values.size != wanted:
            side = "inputs" if field.endswith("_in") else "outputs"
            raise ShapeError(
                f"scaling {field} has {values.size} values but the network has {wanted} {side}"
            )
        lines.append(key + "=" + "".join(f"{float(np.float32(v)):f} " for v in values))
    return lines


def write_net(net: Network, path_or_file: PathLike | IO) -> None:
    """Write ``net`` as a FANN ``.net`` file (atomically to a path; ``-`` = stdout)."""
    text = format_net(net)
    if hasattr(path_or_file, "write"):
        handle = path_or_file
        if isinstance(handle, io.TextIOBase):
            handle.write(text)
        else:
            handle.write(text.encode("ascii"))  # type: ignore[call-overload]
        return
    target = os.fspath(path_or_file)
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    atomic_write(target, lambda out: out.write(text.encode("ascii")))


__all__ = ["format_net", "parse_net", "read_net", "write_net"]
