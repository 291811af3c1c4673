"""FANN's activation functions: value and training derivative, side by side.

Ids and names are FANN 2.2's (0-17) plus the later ReLU ids 18 and 19. Every
function takes ``t``, the neuron's sum already multiplied by its steepness and
clamped to +-150/steepness (FANN stores that ``t`` as the neuron's sum), and
the derivative takes the steepness ``s``, the value ``y`` and ``t``, exactly the
three numbers FANN's derivative sees. Quirks are kept where FANN has them (the
gaussian and sine derivatives apply the steepness twice); ReLU's derivative,
which FANN gets wrong, is done right here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from fannctl.errors import ParameterError

Array = npt.NDArray[np.floating]

NAMES: tuple[str, ...] = (
    "linear",
    "threshold",
    "threshold_symmetric",
    "sigmoid",
    "sigmoid_stepwise",
    "sigmoid_symmetric",
    "sigmoid_symmetric_stepwise",
    "gaussian",
    "gaussian_symmetric",
    "gaussian_stepwise",
    "elliot",
    "elliot_symmetric",
    "linear_piece",
    "linear_piece_symmetric",
    "sin_symmetric",
    "cos_symmetric",
    "sin",
    "cos",
    "linear_piece_rect",
    "linear_piece_rect_leaky",
)
ALIASES = {"relu": 18, "leaky_relu": 19, "tanh": 5}

LINEAR, THRESHOLD, THRESHOLD_SYMMETRIC = 0, 1, 2
SIGMOID, SIGMOID_STEPWISE, SIGMOID_SYMMETRIC, SIGMOID_SYMMETRIC_STEPWISE = 3, 4, 5, 6
GAUSSIAN, GAUSSIAN_SYMMETRIC, GAUSSIAN_STEPWISE = 7, 8, 9
ELLIOT, ELLIOT_SYMMETRIC, LINEAR_PIECE, LINEAR_PIECE_SYMMETRIC = 10, 11, 12, 13
SIN_SYMMETRIC, COS_SYMMETRIC, SIN, COS = 14, 15, 16, 17
RELU, LEAKY_RELU = 18, 19

# Outputs of these functions have their error halved before MSE (FANN 2.2).
SYMMETRIC = frozenset(
    {
        LINEAR_PIECE_SYMMETRIC,
        THRESHOLD_SYMMETRIC,
        SIGMOID_SYMMETRIC,
        SIGMOID_SYMMETRIC_STEPWISE,
        ELLIOT_SYMMETRIC,
        GAUSSIAN_SYMMETRIC,
        SIN_SYMMETRIC,
        COS_SYMMETRIC,
    }
)
# Training through these raises an error in FANN (no usable derivative).
NOT_TRAINABLE = frozenset({THRESHOLD})

# The stepwise knots and levels as FANN's float build stores them.
_KNOTS = (
    -2.64665293693542480469,
    -1.47221934795379638672,
    -0.549306154251098632812,
    0.549306154251098632812,
    1.47221934795379638672,
    2.64665293693542480469,
)
_KNOTS_SIGMOID = (-2.64665246009826660156, -1.47221946716308593750, *_KNOTS[2:])
_LEVELS_SIGMOID = (
    4.99999988824129104614e-3,
    5.00000007450580596924e-2,
    0.25,
    0.75,
    9.49999988079071044922e-1,
    9.95000004768371582031e-1,
)
_LEVELS_SYMMETRIC = (
    -9.90000009536743164062e-1,
    -8.99999976158142089844e-1,
    -0.5,
    0.5,
    8.99999976158142089844e-1,
    9.90000009536743164062e-1,
)


def activation_id(name: str | int) -> int:
    """Return the FANN id of an activation given by name (any case) or id."""
    if isinstance(name, (int, np.integer)) and 0 <= int(name) < len(NAMES):
        return int(name)
    key = str(name).strip().lower().removeprefix("fann_")
    if key.isdigit() and int(key) < len(NAMES):
        return int(key)
    if key in NAMES:
        return NAMES.index(key)
    if key in ALIASES:
        return ALIASES[key]
    raise ParameterError(f"unknown activation function {name!r}; valid names: {', '.join(NAMES)}")


def activation_name(ident: int) -> str:
    """Return the lower-case FANN name of an activation id."""
    return NAMES[int(ident)]


def _stepwise(t: Array, knots: tuple, levels: tuple, low: float) -> Array:
    """FANN's piecewise-linear sigmoid, FANN's formula per segment (in double)."""
    v = np.asarray(knots)
    r = np.asarray(levels)
    # FANN evaluates (r[k+1]-r[k]) and (v[k+1]-v[k]) in double too: same numbers.
    rise, run = np.diff(r), np.diff(v)
    td = t.astype(np.float64)
    k = (td >= v[1]).astype(np.intp)  # segment [v_k, v_k+1) for v0 <= t < v5
    for j in (2, 3, 4):
        k += td >= v[j]
    out = td - np.take(v, k)
    out *= np.take(rise, k)
    out /= np.take(run, k)
    out += np.take(r, k)
    out[td < v[0]] = low
    out[td >= v[5]] = 1.0
    return out.astype(t.dtype, copy=False)


def _sigmoid(t: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-2.0 * t))


def _sigmoid_symmetric(t: Array) -> Array:
    return 2.0 / (1.0 + np.exp(-2.0 * t)) - 1.0


_VALUE: dict[int, Callable[[Array], Array]] = {
    LINEAR: lambda t: t,
    THRESHOLD: lambda t: np.where(t < 0, 0.0, 1.0).astype(t.dtype),
    THRESHOLD_SYMMETRIC: lambda t: np.where(t < 0, -1.0, 1.0).astype(t.dtype),
    SIGMOID: _sigmoid,
    SIGMOID_STEPWISE: lambda t: _stepwise(t, _KNOTS_SIGMOID, _LEVELS_SIGMOID, 0.0),
    SIGMOID_SYMMETRIC: _sigmoid_symmetric,
    SIGMOID_SYMMETRIC_STEPWISE: lambda t: _stepwise(t, _KNOTS, _LEVELS_SYMMETRIC, -1.0),
    GAUSSIAN: lambda t: np.exp(-t * t),
    GAUSSIAN_SYMMETRIC: lambda t: 2.0 * np.exp(-t * t) - 1.0,
    GAUSSIAN_STEPWISE: lambda t: np.zeros_like(t),
    ELLIOT: lambda t: (t / 2.0) / (1.0 + np.abs(t)) + 0.5,
    ELLIOT_SYMMETRIC: lambda t: t / (1.0 + np.abs(t)),
    LINEAR_PIECE: lambda t: np.clip(t, 0.0, 1.0),
    LINEAR_PIECE_SYMMETRIC: lambda t: np.clip(t, -1.0, 1.0),
    SIN_SYMMETRIC: np.sin,
    COS_SYMMETRIC: np.cos,
    SIN: lambda t: np.sin(t) / 2.0 + 0.5,
    COS: lambda t: np.cos(t) / 2.0 + 0.5,
    RELU: lambda t: np.maximum(t, 0.0),
    LEAKY_RELU: lambda t: np.where(t < 0, 0.01 * t, t),
}


# FANN clips y with float constants (0.01f, 0.99f, 0.98f) in both builds.
_F001, _F099, _F098 = (float(np.float32(x)) for x in (0.01, 0.99, 0.98))


def _sigmoid_derivative(s: Array, y: Array, t: Array) -> Array:
    y = np.clip(y, _F001, _F099)
    return 2.0 * s * y * (1.0 - y)


def _symmetric_derivative(s: Array, y: Array, t: Array) -> Array:
    y = np.clip(y, -_F098, _F098)
    return s * (1.0 - y * y)


def _constant_steepness(s: Array, y: Array, t: Array) -> Array:
    return np.broadcast_to(s, np.broadcast_shapes(np.shape(s), y.shape)) * np.ones_like(y)


_DERIVATIVE: dict[int, Callable[[Array, Array, Array], Array]] = {
    LINEAR: _constant_steepness,
    THRESHOLD: lambda s, y, t: np.zeros_like(y),
    THRESHOLD_SYMMETRIC: lambda s, y, t: np.zeros_like(y),
    SIGMOID: _sigmoid_derivative,
    SIGMOID_STEPWISE: _sigmoid_derivative,
    SIGMOID_SYMMETRIC: _symmetric_derivative,
    SIGMOID_SYMMETRIC_STEPWISE: _symmetric_derivative,
    GAUSSIAN: lambda s, y, t: -2.0 * t * y * s * s,
    GAUSSIAN_SYMMETRIC: lambda s, y, t: -2.0 * t * (y + 1.0) * s * s,
    GAUSSIAN_STEPWISE: lambda s, y, t: np.zeros_like(y),
    ELLIOT: lambda s, y, t: s * 1.0 / (2.0 * (1.0 + np.abs(t)) * (1.0 + np.abs(t))),
    ELLIOT_SYMMETRIC: lambda s, y, t: s * 1.0 / ((1.0 + np.abs(t)) * (1.0 + np.abs(t))),
    LINEAR_PIECE: _constant_steepness,
    LINEAR_PIECE_SYMMETRIC: _constant_steepness,
    SIN_SYMMETRIC: lambda s, y, t: s * np.cos(s * t),
    COS_SYMMETRIC: lambda s, y, t: -s * np.sin(s * t),
    SIN: lambda s, y, t: s * np.cos(s * t) / 2.0,
    COS: lambda s, y, t: -s * np.sin(s * t) / 2.0,
    # FANN's ReLU derivative tests y < 0, never true; the right one tests t.
    RELU: lambda s, y, t: np.where(t > 0, s, 0.0 * s) * np.ones_like(y),
    LEAKY_RELU: lambda s, y, t: np.where(t < 0, 0.01 * s, s) * np.ones_like(y),
}


def scale_and_clamp(net: Array, steepness: Array) -> Array:
    """Return FANN's stored sum ``t``: steepness times net, clamped to +-150/s."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = net * steepness
        limit = (150.0 / steepness).astype(net.dtype, copy=False)
        np.minimum(t, limit, out=t)
        np.maximum(t, -limit, out=t)
    return t


_GROUPS: dict[bytes, list[tuple[int, slice | np.ndarray]]] = {}


def _per_group(ids: npt.NDArray[np.integer], shape_cols: int):
    """(activation id, column selector) for each function used in a layer.

    A function whose columns are contiguous (the usual case, and always so for
    cascade candidates, which are ordered by function) gets a slice, so no copy.
    Layers are few and small, so the answer is memoised per id sequence.
    """
    key = np.ascontiguousarray(ids, dtype=np.int64).tobytes()
    groups = _GROUPS.get(key)
    if groups is None:
        groups = []
        unique = np.unique(ids)
        for ident in unique:
            cols = np.flatnonzero(ids == ident)
            if unique.size == 1:
                groups.append((int(ident), slice(None)))
            elif cols[-1] - cols[0] + 1 == cols.size:
                groups.append((int(ident), slice(int(cols[0]), int(cols[-1]) + 1)))
            else:
                groups.append((int(ident), cols))
        if len(_GROUPS) > 4096:
            _GROUPS.clear()
        _GROUPS[key] = groups
    return groups


def value(ids: npt.NDArray[np.integer], t: Array, out: Array | None = None) -> Array:
    """Apply each column's activation (``ids`` per column) to ``t`` (into ``out``)."""
    ids = np.asarray(ids)
    out = np.empty_like(t) if out is None else out
    with np.errstate(over="ignore", under="ignore"):
        for ident, cols in _per_group(ids, t.shape[-1]):
            out[..., cols] = _VALUE[ident](t[..., cols])
    return out


def derivative(
    ids: npt.NDArray[np.integer], steepness: Array, y: Array, t: Array, out: Array | None = None
) -> Array:
    """FANN's training derivative per column, given steepness, value and sum."""
    ids = np.asarray(ids)
    steepness = np.asarray(steepness, dtype=t.dtype)
    out = np.empty_like(t) if out is None else out
    for ident, cols in _per_group(ids, t.shape[-1]):
        s = steepness[cols] if steepness.ndim else steepness
        out[..., cols] = _DERIVATIVE[ident](s, y[..., cols], t[..., cols])
    return out


def is_symmetric(ident: int) -> bool:
    """True when FANN halves this output's error (a symmetric function)."""
    return int(ident) in SYMMETRIC
