"""Training parameters a network carries, with FANN 2.2's names and defaults.

A FANN ``.net`` file stores these with the network, and training uses them
unless told otherwise; fannctl does the same, in ``.net`` and HDF5 files alike.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from fannctl.errors import ParameterError


def fann_float(value: float) -> float:
    """A parameter as FANN holds it: a C float, even in the double build."""
    return float(np.float32(value))


class Algorithm(IntEnum):
    """FANN's training algorithms, numbered as ``FANN_TRAIN_*`` (and in ``.net`` files)."""

    INCREMENTAL = 0
    BATCH = 1
    RPROP = 2
    QUICKPROP = 3
    SARPROP = 4


class ErrorFunction(IntEnum):
    """FANN's training error functions (``FANN_ERRORFUNC_*``)."""

    LINEAR = 0
    TANH = 1


class StopFunction(IntEnum):
    """FANN's stop criteria (``FANN_STOPFUNC_*``): the MSE, or the bit-fail count."""

    MSE = 0
    BIT = 1


# The names the CLI and the files use, indexed by number (derived from the enums).
ALGORITHMS = tuple(member.name.lower() for member in Algorithm)
ERROR_FUNCTIONS = tuple(member.name.lower() for member in ErrorFunction)
STOP_FUNCTIONS = tuple(member.name.lower() for member in StopFunction)
RPROP_VARIANTS = ("fann", "irprop-", "irprop+")


@dataclass
class TrainingParams:
    """Every training parameter FANN keeps in a network (``.net`` key names)."""

    learning_rate: float = 0.7
    learning_momentum: float = 0.0
    # Stored as plain ints (FANN's numbers, as files hold them); compare with the enums.
    training_algorithm: int = int(Algorithm.RPROP)
    train_error_function: int = int(ErrorFunction.TANH)
    train_stop_function: int = int(StopFunction.MSE)
    bit_fail_limit: float = 0.35
    quickprop_decay: float = -0.0001
    quickprop_mu: float = 1.75
    rprop_increase_factor: float = 1.2
    rprop_decrease_factor: float = 0.5
    rprop_delta_min: float = 0.0
    rprop_delta_max: float = 50.0
    rprop_delta_zero: float = 0.1
    sarprop_weight_decay_shift: float = -6.644
    sarprop_step_error_threshold_factor: float = 0.1
    sarprop_step_error_shift: float = 1.385
    sarprop_temperature: float = 0.015
    # fannctl's own: which RPROP rule ("fann" is FANN's; textbook iRPROP-/+).
    rprop_variant: str = "fann"
    # fannctl's own: L2 weight decay for the batch-family rules (0: FANN's behaviour;
    # a .net file cannot hold it). See train.apply_weight_decay for where it enters.
    weight_decay: float = 0.0
    cascade_output_change_fraction: float = 0.01
    cascade_output_stagnation_epochs: int = 12
    cascade_candidate_change_fraction: float = 0.01
    cascade_candidate_stagnation_epochs: int = 12
    cascade_max_out_epochs: int = 150
    cascade_min_out_epochs: int = 50
    cascade_max_cand_epochs: int = 150
    cascade_min_cand_epochs: int = 50
    cascade_num_candidate_groups: int = 2
    cascade_candidate_limit: float = 1000.0
    cascade_weight_multiplier: float = 0.4
    cascade_activation_functions: list[int] = field(
        default_factory=lambda: [3, 5, 7, 8, 10, 11, 14, 15, 16, 17]
    )
    cascade_activation_steepnesses: list[float] = field(
        default_factory=lambda: [0.25, 0.5, 0.75, 1.0]
    )

    @property
    def algorithm(self) -> Algorithm:
        """The training algorithm as an enum member."""
        return Algorithm(self.training_algorithm)

    @property
    def error_function(self) -> ErrorFunction:
        """The training error function as an enum member."""
        return ErrorFunction(self.train_error_function)

    @property
    def stop_function(self) -> StopFunction:
        """The stop criterion as an enum member."""
        return StopFunction(self.train_stop_function)

    @property
    def algorithm_name(self) -> str:
        return ALGORITHMS[self.training_algorithm]

    def replace(self, **changes: object) -> TrainingParams:
        """Return a copy with the given fields changed (None values ignored).

        The algorithm, error and stop functions may be given by name
        (``training_algorithm="rprop"``) or by FANN's number.
        """
        clean = {k: v for k, v in changes.items() if v is not None}
        for key, lookup in (
            ("training_algorithm", algorithm_id),
            ("train_error_function", error_function_id),
            ("train_stop_function", stop_function_id),
        ):
            if key in clean:
                clean[key] = lookup(clean[key])
        unknown = set(clean) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ParameterError(f"unknown training parameter(s): {sorted(unknown)}")
        return dataclasses.replace(self, **clean)

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> TrainingParams:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


@dataclass
class ParamOverrides:
    """Training parameters to change; each field left ``None`` keeps the network's own.

    One field per ``TrainingParams`` field, of the same name. The algorithm,
    error and stop functions take an enum member, FANN's number or a name
    (``"rprop"``); candidate activation functions take ids or names.
    """

    learning_rate: float | None = None
    learning_momentum: float | None = None
    training_algorithm: Algorithm | int | str | None = None
    train_error_function: ErrorFunction | int | str | None = None
    train_stop_function: StopFunction | int | str | None = None
    bit_fail_limit: float | None = None
    quickprop_decay: float | None = None
    quickprop_mu: float | None = None
    rprop_increase_factor: float | None = None
    rprop_decrease_factor: float | None = None
    rprop_delta_min: float | None = None
    rprop_delta_max: float | None = None
    rprop_delta_zero: float | None = None
    sarprop_weight_decay_shift: float | None = None
    sarprop_step_error_threshold_factor: float | None = None
    sarprop_step_error_shift: float | None = None
    sarprop_temperature: float | None = None
    rprop_variant: str | None = None
    weight_decay: float | None = None
    cascade_output_change_fraction: float | None = None
    cascade_output_stagnation_epochs: int | None = None
    cascade_candidate_change_fraction: float | None = None
    cascade_candidate_stagnation_epochs: int | None = None
    cascade_max_out_epochs: int | None = None
    cascade_min_out_epochs: int | None = None
    cascade_max_cand_epochs: int | None = None
    cascade_min_cand_epochs: int | None = None
    cascade_num_candidate_groups: int | None = None
    cascade_candidate_limit: float | None = None
    cascade_weight_multiplier: float | None = None
    cascade_activation_functions: list[int | str] | None = None
    cascade_activation_steepnesses: list[float] | None = None

    def changes(self) -> dict[str, object]:
        """The fields that are set, activation names turned into FANN's ids."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out = {key: value for key, value in out.items() if value is not None}
        if "cascade_activation_functions" in out:
            from fannctl.activations import activation_id

            out["cascade_activation_functions"] = [
                activation_id(name) for name in out["cascade_activation_functions"]
            ]
        return out

    def apply(self, params: TrainingParams) -> TrainingParams:
        """A copy of ``params`` with the set fields changed."""
        return params.replace(**self.changes())


def algorithm_id(name: str | int) -> int:
    """Return FANN's training-algorithm number for a name such as ``rprop``."""
    return _lookup(name, ALGORITHMS, "training algorithm")


def error_function_id(name: str | int) -> int:
    """Return FANN's error-function number (0 linear, 1 tanh)."""
    return _lookup(name, ERROR_FUNCTIONS, "error function")


def stop_function_id(name: str | int) -> int:
    """Return FANN's stop-function number (0 mse, 1 bit)."""
    return _lookup(name, STOP_FUNCTIONS, "stop function")


def _lookup(name: str | int, names: tuple[str, ...], what: str) -> int:
    if isinstance(name, int) and 0 <= name < len(names):
        return int(name)  # an enum member is stored as its plain number
    key = str(name).strip().lower().removeprefix("fann_train_")
    key = key.removeprefix("fann_errorfunc_").removeprefix("fann_stopfunc_")
    if key in names:
        return names.index(key)
    raise ParameterError(f"unknown {what} {name!r}; valid: {', '.join(names)}")


# What each value may be: (lowest, lowest allowed itself, highest or None). Every
# value must also be finite. FANN itself takes anything; these are the values
# with which its update rules still make sense.
_RANGES: dict[str, tuple[float, bool, float | None]] = {
    "learning_rate": (0.0, True, None),
    "learning_momentum": (0.0, True, None),
    "bit_fail_limit": (0.0, True, None),
    "quickprop_decay": (float("-inf"), False, None),
    "quickprop_mu": (0.0, False, None),
    "rprop_increase_factor": (0.0, False, None),
    "rprop_decrease_factor": (0.0, False, None),
    "rprop_delta_min": (0.0, True, None),
    "rprop_delta_max": (0.0, False, None),
    "rprop_delta_zero": (0.0, False, None),
    "sarprop_weight_decay_shift": (float("-inf"), False, None),
    "sarprop_step_error_threshold_factor": (0.0, True, None),
    "sarprop_step_error_shift": (float("-inf"), False, None),
    "sarprop_temperature": (0.0, True, None),
    "weight_decay": (0.0, True, None),
    "cascade_output_change_fraction": (0.0, True, 1.0),
    "cascade_candidate_change_fraction": (0.0, True, 1.0),
    "cascade_candidate_limit": (0.0, False, None),
    "cascade_weight_multiplier": (float("-inf"), False, None),
}
_COUNTS = (
    "cascade_output_stagnation_epochs",
    "cascade_candidate_stagnation_epochs",
    "cascade_max_out_epochs",
    "cascade_min_out_epochs",
    "cascade_max_cand_epochs",
    "cascade_min_cand_epochs",
    "cascade_num_candidate_groups",
)
_OPTION_NAMES = {"learning_momentum": "momentum"}


def option_name(field_name: str) -> str:
    """The command-line option that sets a parameter (``--learning-rate``)."""
    name = _OPTION_NAMES.get(field_name, field_name.removeprefix("cascade_"))
    return "--" + name.replace("_", "-")


def check_seed(seed: object) -> None:
    """ParameterError unless ``seed`` is None or a whole number >= 0 (numpy's seeds)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"--seed must be a whole number >= 0, got {seed}")


def check_params(params: TrainingParams) -> None:
    """Raise ParameterError naming the option of the first value that cannot work.

    NaN, infinite and out-of-range rates, factors and fractions (a NaN learning
    rate trained all-NaN weights), negative counts, unknown enum numbers.
    """
    import math

    for key, (low, low_ok, high) in _RANGES.items():
        value = getattr(params, key)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{option_name(key)}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise ParameterError(f"{option_name(key)}: must be a finite number, got {value}")
        if number < low or (number == low and not low_ok) or (high is not None and number > high):
            bound = f">= {low:g}" if low_ok else f"> {low:g}"
            if high is not None:
                bound += f" and <= {high:g}"
            raise ParameterError(f"{option_name(key)}: must be {bound}, got {value}")
    if float(params.rprop_delta_max) < float(params.rprop_delta_min):
        raise ParameterError(
            f"--rprop-delta-max ({params.rprop_delta_max}) is below "
            f"--rprop-delta-min ({params.rprop_delta_min})"
        )
    for key in _COUNTS:
        value = getattr(params, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParameterError(f"{option_name(key)}: must be a whole number >= 0, got {value}")
    if params.cascade_num_candidate_groups < 1:
        raise ParameterError("--num-candidate-groups: must be at least 1, got 0")
    for key, names in (
        ("training_algorithm", ALGORITHMS),
        ("train_error_function", ERROR_FUNCTIONS),
        ("train_stop_function", STOP_FUNCTIONS),
    ):
        value = getattr(params, key)
        if not isinstance(value, int) or not 0 <= value < len(names):
            raise ParameterError(f"{key}: {value!r} is not one of {', '.join(names)}")
    for steepness in params.cascade_activation_steepnesses:
        if not (math.isfinite(float(steepness)) and float(steepness) > 0):
            raise ParameterError(
                f"--activation-steepnesses: each must be a finite number > 0, got {steepness}"
            )
