"""FANN's activation functions: value and training derivative, side by side.

Ids and names are FANN 2.2's (0-17) plus the later ReLU ids 18 and 19. Every
function takes ``t``, the neuron's sum already multiplied by its steepness and
clamped to +-150/steepness (FANN stores that ``t`` as the neuron's sum), and
the derivative takes the steepness ``s``, the value ``y`` and ``t``, exactly the
three numbers FANN's derivative sees. Quirks are kept where FANN has them (the
gaussian and sine derivatives apply the steepness twice); ReLU's derivative,
which FANN gets wrong, is done right here.

``softmax`` (id 20) is fannctl's own, beyond FANN: an output layer's
``exp(t_k) / sum_j exp(t_j)`` over all its outputs (the last axis), paired
with the cross-entropy error. Its training derivative is the steepness (as
linear's): with the raw output error ``target - y`` as the factor (no tanh
error function, no halving), ``s (target - y)`` is exactly minus the
derivative of ``-sum target log y`` by the neuron's unscaled sum.
"""

from __future__ import annotations

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
SOFTMAX = 20  # fannctl's own (see the module docstring); not in FANN's .net format
# Beyond FANN's ids (``NAMES`` stays FANN's own list, which the kernels mirror).
EXTRA_NAMES = {SOFTMAX: "softmax"}

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
    for ident, extra in EXTRA_NAMES.items():
        if key in (extra, str(ident)) or name == ident:
            return ident
    raise ParameterError(
        f"unknown activation function {name!r}; valid names: "
        f"{', '.join([*NAMES, *EXTRA_NAMES.values()])}"
    )


def activation_name(ident: int) -> str:
    """Return the lower-case FANN name of an activation id (or fannctl's own name)."""
    return EXTRA_NAMES.get(int(ident)) or NAMES[int(ident)]


def is_known(ident: int) -> bool:
    """Whether ``ident`` is one of FANN's activation ids or fannctl's own."""
    return 0 <= int(ident) < len(NAMES) or int(ident) in EXTRA_NAMES


# FANN clips y with float constants (0.01f, 0.99f, 0.98f) in both builds.
_F001, _F099, _F098 = (float(np.float32(x)) for x in (0.01, 0.99, 0.98))


# -- evaluation -------------------------------------------------------------------
#
# Each function is written as in-place ufunc steps into the caller's arrays, in
# FANN's order of operations (every step's rounding is the one the plain
# formula in the comment makes; tests/test_activations.py holds the plain
# formulas and checks these against them bit for bit). ``t`` and ``out`` must
# not overlap; ``s`` broadcasts against ``out``; scratch is an array of out's
# shape and dtype (allocated when not given).


def _stepwise_table(knots: tuple, levels: tuple, low: float) -> dict:
    """Per-segment tables, with the two flat ends as segments of their own."""
    v, r = np.asarray(knots), np.asarray(levels)
    # FANN evaluates (r[k+1]-r[k]) and (v[k+1]-v[k]) in double: same numbers.
    return {
        "knots": v,
        # float32 sums compare with the knots in double; x >= v exactly when x >=
        # the smallest float32 not below v, so float32 sums compare in float32.
        "knots32": np.array(
            [
                np.nextafter(np.float32(k), np.float32(np.inf))
                if float(np.float32(k)) < k
                else np.float32(k)
                for k in knots
            ],
            dtype=np.float32,
        ),
        "start": np.concatenate([[v[0]], v[:-1], [v[-1]]]),
        "rise": np.concatenate([[0.0], r[1:] - r[:-1], [0.0]]),
        "run": np.concatenate([[1.0], v[1:] - v[:-1], [1.0]]),
        "level": np.concatenate([[low], r[:-1], [1.0]]),
    }


_STEPWISE_TABLES = {
    SIGMOID_STEPWISE: _stepwise_table(_KNOTS_SIGMOID, _LEVELS_SIGMOID, 0.0),
    SIGMOID_SYMMETRIC_STEPWISE: _stepwise_table(_KNOTS, _LEVELS_SYMMETRIC, -1.0),
}


def _stepwise_into(t: Array, ident: int, out: Array) -> None:
    """FANN's piecewise-linear sigmoid: (dr*(x-v))/dv + r on x's segment, in double.

    Segment k (0..6) is the number of knots at or below t; segments 0 and 6 are
    the flat ends, computed at x clipped to the knots as 0/1 + low and 0/1 + 1.
    """
    if t.ndim == 2 and not t.flags.c_contiguous and t.T.flags.c_contiguous:
        _stepwise_into(t.T, ident, out.T)  # elementwise: work in memory order
        return
    table = _STEPWISE_TABLES[ident]
    v = table["knots"]
    knots = table["knots32"] if t.dtype == np.float32 else v
    # k = 6 - (knots above t): a NaN sum compares false everywhere and lands in
    # the top segment, 1.0, as FANN's nested comparisons give.
    k = np.full(t.shape, 6, dtype=np.int8)
    for knot in knots:
        np.subtract(k, t < knot, out=k, casting="unsafe")  # int8: a third of intp's cost
    k = k.astype(np.intp)
    x = np.fmax(t, v[0], dtype=np.float64)  # fmax/fmin: a NaN becomes a knot
    np.fmin(x, v[-1], out=x)
    x -= np.take(table["start"], k)
    x *= np.take(table["rise"], k)
    x /= np.take(table["run"], k)
    x += np.take(table["level"], k)
    out[...] = x


def _one_plus_abs(t: Array, out: Array, scratch: Array | None) -> Array:
    """1 + |t| (Elliot's denominator) in ``scratch``, or a new array like ``out``."""
    w = np.empty_like(out) if scratch is None else scratch
    np.absolute(t, out=w)
    return np.add(w, 1.0, out=w)


def value_into(ident: int, t: Array, out: Array, scratch: Array | None = None) -> None:
    """Write activation ``ident`` of ``t`` into ``out`` (FANN's value)."""
    if ident in (SIGMOID, SIGMOID_SYMMETRIC):  # 1/(1+exp(-2t)), 2/(1+exp(-2t))-1
        np.multiply(t, -2.0, out=out)
        np.exp(out, out=out)
        np.add(out, 1.0, out=out)
        if ident == SIGMOID:
            np.divide(1.0, out, out=out)
        else:
            np.divide(2.0, out, out=out)
            np.subtract(out, 1.0, out=out)
    elif ident in (GAUSSIAN, GAUSSIAN_SYMMETRIC):  # exp(-t*t), 2*exp(-t*t)-1
        np.negative(t, out=out)
        np.multiply(out, t, out=out)
        np.exp(out, out=out)
        if ident == GAUSSIAN_SYMMETRIC:
            np.multiply(out, 2.0, out=out)
            np.subtract(out, 1.0, out=out)
    elif ident in (ELLIOT, ELLIOT_SYMMETRIC):  # (t/2)/(1+|t|)+0.5, t/(1+|t|)
        w = _one_plus_abs(t, out, scratch)
        if ident == ELLIOT:
            np.divide(t, 2.0, out=out)
            np.divide(out, w, out=out)
            np.add(out, 0.5, out=out)
        else:
            np.divide(t, w, out=out)
    elif ident in (SIN_SYMMETRIC, SIN):  # sin(t), sin(t)/2+0.5
        np.sin(t, out=out)
        if ident == SIN:
            np.divide(out, 2.0, out=out)
            np.add(out, 0.5, out=out)
    elif ident in (COS_SYMMETRIC, COS):  # cos(t), cos(t)/2+0.5
        np.cos(t, out=out)
        if ident == COS:
            np.divide(out, 2.0, out=out)
            np.add(out, 0.5, out=out)
    elif ident in _STEPWISE_TABLES:
        _stepwise_into(t, ident, out)
    elif ident == LINEAR:
        out[...] = t
    elif ident in (THRESHOLD, THRESHOLD_SYMMETRIC):  # t < 0 ? low : 1
        out.fill(1.0)
        np.copyto(out, 0.0 if ident == THRESHOLD else -1.0, where=t < 0)
    elif ident == LINEAR_PIECE:
        np.clip(t, 0.0, 1.0, out=out)
    elif ident == LINEAR_PIECE_SYMMETRIC:
        np.clip(t, -1.0, 1.0, out=out)
    elif ident == RELU:
        np.maximum(t, 0.0, out=out)
    elif ident == LEAKY_RELU:  # t < 0 ? 0.01 t : t
        np.multiply(t, 0.01, out=out)
        np.copyto(out, t, where=t >= 0)
    elif ident == SOFTMAX:  # over the last axis (a layer's outputs), shifted by the max
        np.subtract(t, np.max(t, axis=-1, keepdims=True), out=out)
        np.exp(out, out=out)
        np.divide(out, np.sum(out, axis=-1, keepdims=True), out=out)
    else:  # GAUSSIAN_STEPWISE: FANN never implemented it and gives 0
        out.fill(0.0)


def derivative_into(
    ident: int, s: Array, y: Array, t: Array, out: Array, scratch: Array | None = None
) -> None:
    """Write FANN's training derivative of ``ident`` into ``out``, given the
    steepness ``s``, the value ``y`` and the sum ``t``."""
    if ident in (SIGMOID, SIGMOID_STEPWISE):  # 2 s y' (1-y'), y' = clip(y, 0.01f, 0.99f)
        w = np.empty_like(out) if scratch is None else scratch
        np.clip(y, _F001, _F099, out=w)
        np.multiply(s, w, out=out)  # 2 s y' is (s y') 2 exactly: no temporary 2s array
        np.multiply(out, 2.0, out=out)
        np.subtract(1.0, w, out=w)
        np.multiply(out, w, out=out)
    elif ident in (SIGMOID_SYMMETRIC, SIGMOID_SYMMETRIC_STEPWISE):  # s (1-y'^2), y' in +-0.98f
        np.clip(y, -_F098, _F098, out=out)
        np.multiply(out, out, out=out)
        np.subtract(1.0, out, out=out)
        np.multiply(s, out, out=out)
    elif ident in (GAUSSIAN, GAUSSIAN_SYMMETRIC):  # -2 t y s s, -2 t (y+1) s s
        _gaussian_times_s(ident, s, y, t, out, scratch)
        np.multiply(out, s, out=out)
    elif ident in (ELLIOT, ELLIOT_SYMMETRIC):  # s/(2(1+|t|)(1+|t|)), s/((1+|t|)(1+|t|))
        w = _one_plus_abs(t, out, scratch)
        if ident == ELLIOT:
            np.multiply(w, 2.0, out=out)
            np.multiply(out, w, out=out)
        else:
            np.multiply(w, w, out=out)
        np.divide(s, out, out=out)
    elif ident in (SIN_SYMMETRIC, SIN, COS_SYMMETRIC, COS):  # FANN applies s twice
        np.multiply(s, t, out=out)
        _sine_at(ident, s, out, out)
    elif ident in (LINEAR, LINEAR_PIECE, LINEAR_PIECE_SYMMETRIC, SOFTMAX):
        out[...] = s  # softmax: paired with cross-entropy (see the module docstring)
    elif ident == RELU:  # FANN tests y < 0, never true; the right test is on t
        out[...] = s  # t > 0 ? s : 0 s (NaN sums give 0 s too)
        np.copyto(out, np.multiply(0.0, s, dtype=out.dtype), where=~(t > 0))
    elif ident == LEAKY_RELU:  # t < 0 ? 0.01 s : s
        out[...] = s
        np.copyto(out, np.multiply(0.01, s, dtype=out.dtype), where=t < 0)
    else:  # THRESHOLD (refused before training), THRESHOLD_SYMMETRIC, GAUSSIAN_STEPWISE
        out.fill(0.0)


def _gaussian_times_s(ident: int, s: Array, y: Array, t: Array, out: Array, scratch) -> None:
    """-2 t y s (gaussian), -2 t (y+1) s (symmetric): FANN's derivative but one s."""
    np.multiply(t, -2.0, out=out)
    if ident == GAUSSIAN:
        np.multiply(out, y, out=out)
    else:
        w = np.empty_like(out) if scratch is None else scratch
        np.add(y, 1.0, out=w)
        np.multiply(out, w, out=out)
    np.multiply(out, s, out=out)


def _sine_at(ident: int, s: Array, x: Array, out: Array) -> None:
    """s cos x, s cos(x)/2, -s sin x, -s sin(x)/2 (``x`` may be ``out``)."""
    if ident in (SIN_SYMMETRIC, SIN):
        np.cos(x, out=out)
        np.multiply(s, out, out=out)
    else:
        np.sin(x, out=out)
        np.multiply(s, out, out=out)  # (-s) x is -(s x) exactly
        np.negative(out, out=out)
    if ident in (SIN, COS):
        np.divide(out, 2.0, out=out)


def derivative_at_unscaled_into(
    ident: int, s: Array, y: Array, t: Array, out: Array, scratch: Array | None = None
) -> None:
    """FANN's derivative at the *unscaled* sum ``t / s``, from the scaled sum ``t``.

    Cascade candidates call FANN's derivative with the sum before the
    steepness is applied (FANN's quirk); a caller that only has ``t = s x sum``
    gets the same numbers up to rounding without dividing where the formula
    allows: gaussian -2 (t/s) y s s = -2 t y s, sine s cos(s (t/s)) = s cos t.
    """
    if ident in (GAUSSIAN, GAUSSIAN_SYMMETRIC):
        _gaussian_times_s(ident, s, y, t, out, scratch)
    elif ident in (SIN_SYMMETRIC, SIN, COS_SYMMETRIC, COS):
        _sine_at(ident, s, t, out)
    elif ident in (ELLIOT, ELLIOT_SYMMETRIC, RELU, LEAKY_RELU):  # these need t/s itself
        w = np.empty_like(out) if scratch is None else scratch
        with np.errstate(divide="ignore", invalid="ignore"):
            unscaled = np.divide(t, s, out=w)
        if not np.all(s):  # s = 0: every one of these derivatives is 0
            np.copyto(unscaled, 0.0, where=np.equal(s, 0))
        derivative_into(ident, s, y, unscaled, out)
    else:  # from y or s alone
        derivative_into(ident, s, y, t, out, scratch)


def scale_and_clamp(net: Array, steepness: Array, out: Array | None = None) -> Array:
    """FANN's stored sum ``t``: steepness times net, clamped to +-150/s (into ``out``).

    ``steepness`` is one number or one per neuron, broadcasting against ``net``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.multiply(net, steepness, out=out)
        limit = 150.0 / steepness
        if np.ndim(limit) == 0 and limit >= 0:
            np.clip(t, -limit, limit, out=t)  # one number: numpy's fast clip
        else:
            limit = np.asarray(limit, dtype=t.dtype)
            np.minimum(t, limit, out=t)
            np.maximum(t, -limit, out=t)
    return t


_GROUPS: dict[bytes, list[tuple[int, slice | np.ndarray]]] = {}


def _per_group(ids: npt.NDArray[np.integer]):
    """(activation id, column selector) for each function used in a layer.

    A function whose columns are contiguous (the usual case, and always so for
    cascade candidates, which are ordered by function) gets a slice, so no copy.
    Layers are few and small, so the answer is memoised per id sequence.
    """
    key = np.ascontiguousarray(ids, dtype=np.int64).tobytes()
    groups = _GROUPS.get(key)
    if groups is None:
        groups = []
        unique = sorted(set(np.asarray(ids).tolist()))  # np.unique would load numpy.ma (8 ms)
        for ident in unique:
            cols = np.flatnonzero(ids == ident)
            if len(unique) == 1:
                groups.append((int(ident), slice(None)))
            elif cols[-1] - cols[0] + 1 == cols.size:
                groups.append((int(ident), slice(int(cols[0]), int(cols[-1]) + 1)))
            else:
                groups.append((int(ident), cols))
        if len(_GROUPS) > 4096:
            _GROUPS.clear()
        _GROUPS[key] = groups
    return groups


def value(
    ids: npt.NDArray[np.integer], t: Array, out: Array | None = None, scratch: Array | None = None
) -> Array:
    """Apply each column's activation (``ids`` per column of the last axis) to ``t``.

    ``out`` may be ``t`` itself (the steps need them apart: a copy is made).
    """
    ids = np.asarray(ids)
    if out is not None and np.may_share_memory(out, t):
        out[...] = value(ids, t.copy(), scratch=scratch)
        return out
    out = np.empty_like(t) if out is None else out
    with np.errstate(over="ignore", under="ignore"):
        for ident, cols in _per_group(ids):
            if isinstance(cols, slice):
                w = None if scratch is None else scratch[..., cols]
                value_into(ident, t[..., cols], out[..., cols], w)
            else:
                block = np.empty_like(t[..., cols])
                value_into(ident, t[..., cols], block)
                out[..., cols] = block
    return out


def derivative(
    ids: npt.NDArray[np.integer],
    steepness: Array,
    y: Array,
    t: Array,
    out: Array | None = None,
    scratch: Array | None = None,
) -> Array:
    """FANN's training derivative per column, given steepness, value and sum.

    ``steepness`` is one number, one per column, or (faster than one per
    column: numpy's loops over a broadcast column run at half speed) one per
    element of ``t``. ``out`` may be ``y`` or ``t`` (a copy is made then).
    """
    ids = np.asarray(ids)
    steepness = np.asarray(steepness, dtype=t.dtype)
    if out is not None and (np.may_share_memory(out, t) or np.may_share_memory(out, y)):
        out[...] = derivative(ids, steepness, y.copy(), t.copy(), scratch=scratch)
        return out
    out = np.empty_like(t) if out is None else out
    for ident, cols in _per_group(ids):
        s = steepness[..., cols] if steepness.ndim else steepness
        if isinstance(cols, slice):
            w = None if scratch is None else scratch[..., cols]
            derivative_into(ident, s, y[..., cols], t[..., cols], out[..., cols], w)
        else:
            block = np.empty_like(t[..., cols])
            derivative_into(ident, s, y[..., cols], t[..., cols], block)
            out[..., cols] = block
    return out


def is_symmetric(ident: int) -> bool:
    """True when FANN halves this output's error (a symmetric function)."""
    return int(ident) in SYMMETRIC
