"""The network model: FANN's flat neuron and connection arrays, and how to build them.

A :class:`Network` holds exactly what a FANN ``.net`` file holds (layer sizes,
per-neuron activation and steepness, per-connection source and weight, the
training parameters and the optional stored scaling) plus fannctl's extras:
training state, history and provenance. It is data only; the per-layer dense
view the backends compute with comes from :func:`layer_views`.

Layout (FANN's): neurons are numbered layer by layer. In a LAYER network every
layer, the output layer included, ends with a bias neuron; in a SHORTCUT
network only the input layer has one. A neuron owns a contiguous run of
connections; in a fully connected LAYER network its sources are the previous
layer in order with the bias last, in a SHORTCUT network every earlier neuron,
and in a sparse network (``connection_rate < 1``) the bias first and then the
sources listed explicitly.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from fannctl import activations
from fannctl.errors import FormatError, ParameterError
from fannctl.params import Algorithm, TrainingParams, check_seed, fann_float

LAYER, SHORTCUT = 0, 1
DTYPES = {"float32": np.float32, "float64": np.float64}

Uniform = Callable[[], float]
"""A source of uniform numbers in [0, 1), one per call (FANN's rand()/2^31)."""


@dataclass
class Scaling:
    """FANN's stored per-column scaling (``fann_set_scaling_params``)."""

    mean_in: np.ndarray
    deviation_in: np.ndarray
    new_min_in: np.ndarray
    factor_in: np.ndarray
    mean_out: np.ndarray
    deviation_out: np.ndarray
    new_min_out: np.ndarray
    factor_out: np.ndarray
    # fannctl's own: each input column's (min, max) in the data the scaling was
    # computed from, shape (2, inputs); FANN keeps no such thing (not in a .net)
    input_range: np.ndarray | None = None

    FIELDS = (
        "mean_in",
        "deviation_in",
        "new_min_in",
        "factor_in",
        "mean_out",
        "deviation_out",
        "new_min_out",
        "factor_out",
    )


@dataclass
class TrainState:
    """What a trainer carries from one epoch to the next (FANN's training arrays).

    FANN loses this when a network is saved; fannctl keeps it, so two runs of
    N epochs equal one of 2N.
    """

    slopes: np.ndarray | None = None
    prev_steps: np.ndarray | None = None
    prev_slopes: np.ndarray | None = None
    prev_weight_deltas: np.ndarray | None = None
    sarprop_epoch: int = 0
    prev_error: float | None = None
    rng_state: dict | None = None
    # An interrupted or checkpointed run's progress (checkpoint.RunRecord as a dict).
    run: dict | None = None

    ARRAYS = ("slopes", "prev_steps", "prev_slopes", "prev_weight_deltas")


@dataclass
class Network:
    """A FANN network: flat neuron and connection arrays plus parameters."""

    layers: list[int]
    network_type: int
    connection_rate: float
    activation: npt.NDArray[np.int32]
    steepness: np.ndarray
    num_inputs: npt.NDArray[np.int64]
    sources: npt.NDArray[np.int64]
    weights: np.ndarray
    params: TrainingParams = field(default_factory=TrainingParams)
    scaling: Scaling | None = None
    state: TrainState = field(default_factory=TrainState)
    history: list[dict] = field(default_factory=list)
    provenance: list[dict] = field(default_factory=list)

    @property
    def dtype(self) -> np.dtype:
        return self.weights.dtype

    @property
    def num_input(self) -> int:
        return self.layers[0]

    @property
    def num_output(self) -> int:
        return self.layers[-1]

    @property
    def total_neurons(self) -> int:
        """Neurons in the flat array, bias neurons included (FANN's internal count)."""
        return int(sum(layer_counts(self.layers, self.network_type)))

    @property
    def total_connections(self) -> int:
        return int(self.weights.size)

    @property
    def is_sparse(self) -> bool:
        return self.connection_rate < 1.0

    def layer_first(self) -> list[int]:
        """Flat index of the first neuron of every layer."""
        counts = layer_counts(self.layers, self.network_type)
        return [0, *itertools.accumulate(int(n) for n in counts[:-1])]

    def first_connection(self) -> npt.NDArray[np.int64]:
        """Index of each neuron's first connection (FANN's ``first_con``)."""
        return np.concatenate([[0], np.cumsum(self.num_inputs)[:-1]]).astype(np.int64)

    def output_activation(self) -> np.ndarray:
        first = self.layer_first()[-1]
        return self.activation[first : first + self.num_output]

    def astype(self, dtype: str | np.dtype) -> Network:
        """Return this network with weights and steepness in another float type."""
        try:
            dt = np.dtype(DTYPES.get(str(dtype), dtype))
        except TypeError:
            dt = None
        if dt is None or dt.name not in DTYPES:
            raise ParameterError(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
        if dt == self.dtype:
            return self
        self.weights = self.weights.astype(dt)
        self.steepness = self.steepness.astype(dt)
        for name in TrainState.ARRAYS:
            arr = getattr(self.state, name)
            if arr is not None:
                setattr(self.state, name, arr.astype(dt))
        return self

    def copy(self) -> Network:
        import copy

        return copy.deepcopy(self)


def layer_counts(layers: list[int], network_type: int) -> list[int]:
    """Neurons per layer in the flat array: bias neurons counted where FANN has them."""
    if network_type == SHORTCUT:
        return [layers[0] + 1, *layers[1:]]
    return [n + 1 for n in layers]


@dataclass(frozen=True)
class LayerView:
    """One non-input layer as the backends see it: a dense block of weights.

    The layer's inputs are the columns ``[src_start, src_start + src_count)`` of
    the flat activation array; its connections are ``[con_start, con_end)``.
    For fully connected layers the weights are that run reshaped to
    ``(size, src_count)``; sparse layers scatter to ``rows, cols``.
    """

    index: int
    first: int
    size: int
    src_start: int
    src_count: int
    con_start: int
    con_end: int
    rows: npt.NDArray[np.int64] | None = None
    cols: npt.NDArray[np.int64] | None = None

    @property
    def dense(self) -> bool:
        return self.rows is None


def layer_views(net: Network) -> list[LayerView]:
    """Describe every non-input layer of ``net`` for dense computation."""
    firsts = net.layer_first()
    first_con = net.first_connection()
    views = []
    for index in range(1, len(net.layers)):
        first, size = firsts[index], net.layers[index]
        if net.network_type == SHORTCUT:
            src_start, src_count = 0, first
        else:
            src_start, src_count = firsts[index - 1], net.layers[index - 1] + 1
        con_start = int(first_con[first])
        counts = net.num_inputs[first : first + size]
        con_end = con_start + int(counts.sum())
        rows = cols = None
        if net.is_sparse:
            rows = np.repeat(np.arange(size), counts)
            cols = net.sources[con_start:con_end] - src_start
            if cols.size and (cols.min() < 0 or cols.max() >= src_count):
                raise FormatError(f"layer {index}: a connection comes from outside its layer")
        elif np.any(counts != src_count):
            raise FormatError(
                f"layer {index}: neurons have {sorted(set(counts.tolist()))} inputs, "
                f"expected {src_count} for a fully connected layer"
            )
        views.append(
            LayerView(index, first, size, src_start, src_count, con_start, con_end, rows, cols)
        )
    return views


def numpy_uniform(rng: np.random.Generator) -> Uniform:
    """A uniform source drawing from a seeded numpy generator."""
    return lambda: float(rng.random())


def fann_rand(uniform: Uniform, low: float, high: float) -> float:
    """FANN's ``fann_rand(low, high)``: low + (high - low) * u."""
    return low + (high - low) * uniform()


def create(
    layers: list[int],
    *,
    shortcut: bool = False,
    connection_rate: float = 1.0,
    rng: np.random.Generator | None = None,
    uniform: Uniform | None = None,
    dtype: str = "float32",
) -> Network:
    """Build a standard, sparse or shortcut network as FANN does, weights in +-0.1."""
    if len(layers) < 2 or any(int(n) < 1 for n in layers):
        raise ParameterError(f"--layers needs at least two positive sizes, got {layers}")
    if not 0 < connection_rate <= 1:
        raise ParameterError(
            f"--connection-rate must be above 0 and at most 1, got {connection_rate}"
        )
    layers = [int(n) for n in layers]
    check_fits_in_memory(layers, shortcut, connection_rate, dtype)
    if uniform is None:
        uniform = numpy_uniform(rng if rng is not None else np.random.default_rng())
    rate = min(float(connection_rate), 1.0)
    if shortcut:
        rate = 1.0
        network_type = SHORTCUT
    else:
        network_type = LAYER
    counts = layer_counts(layers, network_type)
    total = sum(counts)
    firsts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
    num_inputs = np.zeros(total, dtype=np.int64)
    sources: list[int] = []
    weights: list[float] = []
    for index in range(1, len(layers)):
        first, size = int(firsts[index]), layers[index]
        if network_type == SHORTCUT:
            layer_sources = list(range(first))
            for _ in range(size):
                sources.extend(layer_sources)
                weights.extend(fann_rand(uniform, -0.1, 0.1) for _ in layer_sources)
            num_inputs[first : first + size] = first
        elif rate >= 1.0:
            prev = int(firsts[index - 1])
            layer_sources = list(range(prev, prev + layers[index - 1] + 1))
            for _ in range(size):
                sources.extend(layer_sources)
                weights.extend(fann_rand(uniform, -0.1, 0.1) for _ in layer_sources)
            num_inputs[first : first + size] = len(layer_sources)
        else:
            s, w, n = _sparse_layer(layers[index - 1], size, int(firsts[index - 1]), rate, uniform)
            sources.extend(s)
            weights.extend(w)
            num_inputs[first : first + size] = n
    activation = np.zeros(total, dtype=np.int32)
    steepness = np.zeros(total)
    for index in range(1, len(layers)):
        first = int(firsts[index])
        activation[first : first + layers[index]] = activations.SIGMOID_STEPWISE
        steepness[first : first + layers[index]] = 0.5
    dt = np.dtype(DTYPES[dtype])
    return Network(
        layers=layers,
        network_type=network_type,
        connection_rate=rate,
        activation=activation,
        steepness=steepness.astype(dt),
        num_inputs=num_inputs,
        sources=np.asarray(sources, dtype=np.int64),
        weights=np.asarray(weights, dtype=dt),
    )


def parse_layer_sizes(text: str) -> list[int]:
    """``--layers``: sizes separated by commas or blanks ("2,3,1", "2 3 1"), each >= 1.

    An empty size ("2,,1") or a zero, negative or fractional one is an error,
    not something to skip or read as another number.
    """
    fields = re.split(r"\s*,\s*|\s+", text.strip())
    sizes = []
    for position, field_text in enumerate(fields, start=1):
        if not field_text:
            raise ParameterError(f"--layers {text!r}: layer {position} is empty")
        if not re.fullmatch(r"[+-]?[0-9]+", field_text):
            raise ParameterError(
                f"--layers {text!r}: layer {position} size {field_text!r} is not a whole number"
            )
        size = int(field_text)
        if size < 1:
            raise ParameterError(
                f"--layers {text!r}: layer {position} has {size} neurons; every layer needs "
                "at least 1"
            )
        sizes.append(size)
    if len(sizes) < 2:
        raise ParameterError(f"--layers {text!r}: a network needs at least 2 layers (2,3,1)")
    return sizes


def connection_count(layers: list[int], shortcut: bool = False, rate: float = 1.0) -> int:
    """How many connections FANN gives such a network (bias connections included)."""
    total = 0
    for index in range(1, len(layers)):
        if shortcut:
            total += (sum(layers[:index]) + 1) * layers[index]
        elif rate >= 1:
            total += (layers[index - 1] + 1) * layers[index]
        else:
            n_in, n_out = layers[index - 1], layers[index]
            total += max(max(n_in, n_out), int(0.5 + rate * n_in * n_out)) + n_out
    return total


def available_memory() -> int | None:
    """Bytes of memory a new allocation can get now (Linux MemAvailable), if known."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


# Bytes per connection while creating and training: the weight and its source,
# the four training arrays, and creation's Python lists (a float and an int each).
BYTES_PER_CONNECTION = {"float32": 8 + 4 * 5 + 64, "float64": 8 + 8 * 5 + 64}


def check_fits_in_memory(
    layers: list[int], shortcut: bool = False, rate: float = 1.0, dtype: str = "float32"
) -> None:
    """ParameterError when a network's weights would not fit in memory, saying how many bytes."""
    connections = connection_count(layers, shortcut, rate)
    needed = connections * BYTES_PER_CONNECTION.get(str(dtype), BYTES_PER_CONNECTION["float64"])
    available = available_memory()
    if available is not None and needed > available:
        shape = ",".join(str(n) for n in layers)
        raise ParameterError(
            f"--layers {shape}: {connections:,} connections would need about "
            f"{needed / 1e9:.1f} GB to create and train, but {available / 1e9:.1f} GB "
            "of memory is available"
        )


def _sparse_layer(
    n_in: int, n_out: int, prev_first: int, rate: float, uniform: Uniform
) -> tuple[list[int], list[float], list[int]]:
    """One sparse layer, FANN's way: counts, bias first, random sources."""
    total = max(max(n_in, n_out), int(0.5 + rate * n_in * n_out)) + n_out
    base = total // n_out
    counts, running = [], 0
    for i in range(n_out):
        running += base
        extra = 1 if running < (total * (i + 1)) // n_out else 0
        running += extra
        counts.append(base + extra)
    bias = prev_first + n_in
    slots: list[list[int | None]] = [[bias] + [None] * (c - 1) for c in counts]
    wts: list[list[float]] = [[fann_rand(uniform, -0.1, 0.1)] + [0.0] * (c - 1) for c in counts]
    for src in range(n_in):
        while True:
            target = int(0.5 + fann_rand(uniform, 0, n_out - 1))
            if slots[target][-1] is None:
                break
        slot = slots[target].index(None)
        slots[target][slot] = prev_first + src
        wts[target][slot] = fann_rand(uniform, -0.1, 0.1)
    for target in range(n_out):
        for slot, value in enumerate(slots[target]):
            if value is not None:
                continue
            while True:
                src = prev_first + int(0.5 + fann_rand(uniform, 0, n_in - 1))
                if src not in slots[target]:
                    break
            slots[target][slot] = src
            wts[target][slot] = fann_rand(uniform, -0.1, 0.1)
    flat_sources = [int(s) for row in slots for s in row]  # type: ignore[arg-type]
    flat_weights = [w for row in wts for w in row]
    return flat_sources, flat_weights, counts


def set_activation(
    net: Network, layer_index: int, ident: int | str, steepness: float | None = None
) -> None:
    """Set a layer's activation (and steepness), its bias neuron included, as FANN does."""
    ident = activations.activation_id(ident)
    counts = layer_counts(net.layers, net.network_type)
    first = net.layer_first()[layer_index]
    stop = first + counts[layer_index]
    net.activation[first:stop] = ident
    if steepness is not None:
        net.steepness[first:stop] = steepness


def set_steepness(net: Network, layer_index: int, steepness: float) -> None:
    """Set a layer's steepness, its bias neuron included, as FANN does."""
    counts = layer_counts(net.layers, net.network_type)
    first = net.layer_first()[layer_index]
    net.steepness[first : first + counts[layer_index]] = steepness


def randomize_weights(net: Network, low: float, high: float, uniform: Uniform) -> None:
    """FANN's ``fann_randomize_weights``: a fresh uniform draw per weight."""
    net.weights[:] = [fann_rand(uniform, low, high) for _ in range(net.weights.size)]
    net.state = TrainState()


def init_weights(net: Network, input_min: float, input_max: float, uniform: Uniform) -> None:
    """FANN's ``fann_init_weights`` (Widrow-Nguyen style) from the data's input range."""
    hidden = net.total_neurons - net.num_input - net.num_output - len(net.layers)
    spread = input_max - input_min
    if spread == 0:
        raise ParameterError("--init widrow needs input data with more than one value")
    scale = float(np.power(np.float32(0.7) * max(hidden, 0), 1.0 / net.num_input) / spread)
    if scale == 0:
        scale = 1.0 / spread
    firsts = net.layer_first()
    first_con = net.first_connection()
    new = np.empty(net.weights.size)
    for index in range(1, len(net.layers)):
        if net.network_type == SHORTCUT:
            bias = net.num_input
        else:
            bias = firsts[index - 1] + net.layers[index - 1]
        for neuron in range(firsts[index], firsts[index] + net.layers[index]):
            start = first_con[neuron]
            for c in range(start, start + net.num_inputs[neuron]):
                if net.sources[c] == bias:
                    new[c] = fann_rand(uniform, -scale, scale)
                else:
                    new[c] = fann_rand(uniform, 0.0, scale)
    net.weights[:] = new
    net.state = TrainState()


def validate(net: Network) -> None:
    """Check that the flat arrays are consistent; raise FormatError if not."""
    total = net.total_neurons
    for name in ("activation", "steepness", "num_inputs"):
        if getattr(net, name).shape != (total,):
            raise FormatError(
                f"network has {total} neurons but {name} has {getattr(net, name).size}"
            )
    if int(net.num_inputs.sum()) != net.weights.size or net.sources.shape != net.weights.shape:
        raise FormatError(
            f"network declares {int(net.num_inputs.sum())} connections "
            f"but holds {net.weights.size} weights and {net.sources.size} sources"
        )
    if net.sources.size and (net.sources.min() < 0 or net.sources.max() >= total):
        raise FormatError("a connection refers to a neuron that does not exist")
    # (sorted(set(...)), not np.unique: that loads numpy.ma, 16 ms of a one-pattern run)
    bad = [a for a in sorted(set(net.activation.tolist())) if not activations.is_known(a)]
    if bad:
        raise FormatError(f"unknown activation function id(s) {bad}")
    layer_views(net)
    softmax = np.flatnonzero(net.activation == activations.SOFTMAX)
    first = int(net.layer_first()[-1])
    outputs = net.activation[first : first + net.num_output]  # (the layer's bias may follow)
    if softmax.size and (softmax[0] < first or np.any(outputs != activations.SOFTMAX)):
        raise FormatError("softmax can only be the activation of all the outputs, not hidden ones")


def build(
    layers: list[int],
    *,
    shortcut: bool = False,
    connection_rate: float = 1.0,
    hidden_activation: str | int | None = None,
    output_activation: str | int | None = None,
    hidden_steepness: float | None = None,
    output_steepness: float | None = None,
    seed: int | None = None,
    dtype: str = "float32",
    widrow_input_range: tuple[float, float] | None = None,
) -> Network:
    """Create a network and apply FANN's setters, as ``fannctl create`` does.

    Activations and steepnesses are applied only when given, like FANN's
    ``set_activation_*_hidden/_output`` (which also touch the layer's bias).
    With ``widrow_input_range`` the weights come from ``fann_init_weights``.
    """
    if dtype not in DTYPES:
        raise ParameterError(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
    hidden_id = None if hidden_activation is None else activations.activation_id(hidden_activation)
    output_id = None if output_activation is None else activations.activation_id(output_activation)
    check_seed(seed)
    for option, value in (
        ("--hidden-steepness", hidden_steepness),
        ("--output-steepness", output_steepness),
    ):
        if value is not None and not np.isfinite(value):
            raise ParameterError(f"{option} must be a finite number, got {value}")
    rng = np.random.default_rng(seed)
    uniform = numpy_uniform(rng)
    net = create(
        layers, shortcut=shortcut, connection_rate=connection_rate, uniform=uniform, dtype=dtype
    )
    last = len(net.layers) - 1
    for index in range(1, last):
        if hidden_id is not None:
            set_activation(net, index, hidden_id)
        if hidden_steepness is not None:
            set_steepness(net, index, hidden_steepness)
    if output_id is not None:
        set_activation(net, last, output_id)
    if output_steepness is not None:
        set_steepness(net, last, output_steepness)
    if widrow_input_range is not None:
        init_weights(net, *widrow_input_range, uniform)
    return net


# -- the training arrays (FANN allocates them on first use) -------------------------


def prepare_state(net: Network) -> None:
    """Allocate the training arrays the way FANN does on first use."""
    state = net.state
    size = net.weights.size
    algorithm = net.params.training_algorithm
    if state.slopes is None or state.slopes.size != size:
        state.slopes = np.zeros_like(net.weights)
    if algorithm in (Algorithm.RPROP, Algorithm.QUICKPROP, Algorithm.SARPROP) and (
        state.prev_slopes is None or state.prev_slopes.size != size
    ):
        clear_train_arrays(net)


def clear_train_arrays(net: Network) -> None:
    """FANN's ``fann_clear_train_arrays``: zero slopes; steps to delta_zero for RPROP."""
    state = net.state
    state.slopes = np.zeros_like(net.weights)
    state.prev_slopes = np.zeros_like(net.weights)
    zero = (
        fann_float(net.params.rprop_delta_zero)
        if net.params.training_algorithm == Algorithm.RPROP
        else 0.0
    )
    state.prev_steps = np.full_like(net.weights, zero)
    if net.params.rprop_variant != "fann":
        state.prev_weight_deltas = np.zeros_like(net.weights)
