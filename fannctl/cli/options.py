"""Options shared by several commands, defined once."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or report lines.")]
Seed = Annotated[
    int | None,
    typer.Option(
        "--seed",
        metavar="N",
        help="Seed for every random draw (runs repeat exactly). Default: a fresh seed.",
    ),
]
Dtype = Annotated[
    str | None,
    typer.Option(
        "--dtype",
        metavar="NAME",
        help="Compute in float32 (FANN's float build) or float64. Default: the network "
        "file's own (float32 for a new network and for a .net of float32 values).",
    ),
]


def _render_fallbacks(ctx: typer.Context, value: str | None) -> str | None:
    """Device fallbacks become one 'fannctl: warning:' line on stderr (not a Python
    warning); a first compile of the kernels is announced there too, unless the
    command runs with --quiet or --json."""
    from fannctl import devices

    devices.on_fallback(
        lambda message: print(f"fannctl: warning: {message}", file=sys.stderr, flush=True)
    )

    def compiling(device: str) -> None:
        if not (ctx.params.get("quiet") or ctx.params.get("json_out")):
            print(
                f"fannctl: compiling the OpenCL kernels for {device} (first use; a few seconds)",
                file=sys.stderr,
                flush=True,
            )

    devices.on_compile(compiling)
    return value


def _device_option(help: str):
    """``--device``/``-d`` (or FANNCTL_DEVICE), its fallback warnings rendered."""
    return Annotated[
        str | None,
        typer.Option(
            "--device", "-d", envvar="FANNCTL_DEVICE", callback=_render_fallbacks, help=help
        ),
    ]


Device = _device_option(
    "Compute device: auto (default: numpy unless a measured OpenCL device is "
    "faster), numpy, cl (OpenCL: a GPU if there is one, else the CPU device) or cl:N "
    "(numbered as `fannctl health` lists them). A failing device falls back to the "
    "next, down to numpy, with one warning."
)
CascadeDevice = _device_option(
    "Where the candidate epochs' elementwise work runs: auto (default: an OpenCL "
    "device's kernel when trial epochs on the first pool show it faster than numpy), "
    "numpy, cl (the fastest device that agrees with numpy) or cl:N. Runs repeat exactly "
    "on numpy or on one device."
)
Output = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the result here (.h5/.hdf5 or .net) instead of replacing the network file.",
    ),
]
MaxEpochs = Annotated[int, typer.Option("--max-epochs", help="Stop after this many epochs.")]
DesiredError = Annotated[
    float, typer.Option("--desired-error", help="Stop when the error reaches this (MSE or bits).")
]


def parse_pair(text: str | None, what: str) -> tuple[float, float] | None:
    """Parse 'MIN,MAX'."""
    from fannctl.errors import ParameterError

    if text is None:
        return None
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise ParameterError(f"{what} takes MIN,MAX (two numbers), got {text!r}") from None
    if not low < high:
        raise ParameterError(f"{what}: MIN must be below MAX, got {text!r}")
    return low, high


def parse_int_list(text: str, what: str) -> list[int]:
    """Parse comma-separated integers such as '2,3,1'."""
    return _parse_list(text, what, int, "integers")


def parse_float_list(text: str, what: str) -> list[float]:
    """Parse comma-separated numbers such as '0.25,0.5'."""
    return _parse_list(text, what, float, "numbers")


def _parse_list(text: str, what: str, kind: type, noun: str) -> list:
    from fannctl.errors import ParameterError

    try:
        values = [kind(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise ParameterError(f"{what} takes comma-separated {noun}, got {text!r}") from None
    if not values:
        raise ParameterError(f"{what} needs at least one number")
    return values


# ---------------------------------------------------------------- shared help texts
#
# What each option does and its default, in one place. ``apply_shared_help`` puts
# these on every command built from the typer app (``cli/main.py`` calls it), so
# an option declared without help (or with an older text) still shows this one.
# Defaults are FANN 2.2's, as ``fannctl/params.py`` holds them (a test checks).

ACTIVATION_NAMES = (
    "linear threshold threshold_symmetric sigmoid sigmoid_stepwise sigmoid_symmetric "
    "sigmoid_symmetric_stepwise gaussian gaussian_symmetric gaussian_stepwise elliot "
    "elliot_symmetric linear_piece linear_piece_symmetric sin_symmetric cos_symmetric sin "
    "cos linear_piece_rect linear_piece_rect_leaky"
)
_STORED = "Default: what NET stores (a new network: {})."

HELP: dict[str, tuple[str, str]] = {
    # option: (placeholder, help)
    "--output": ("FILE", "Write the result to FILE (.h5/.hdf5 or .net). Default: replace NET."),
    "--algorithm": (
        "NAME",
        "Training algorithm: incremental, batch, rprop, quickprop or sarprop. "
        + _STORED.format("rprop"),
    ),
    "--max-epochs": ("N", "Stop after N epochs."),
    "--desired-error": (
        "X",
        "Stop when the error (MSE, or bits with --stop-function bit) is at most X.",
    ),
    "--stop-function": (
        "NAME",
        "What --desired-error limits: mse (the mean square error) or bit (the bit-fail count). "
        + _STORED.format("mse"),
    ),
    "--bit-fail-limit": (
        "X",
        "An output whose error is at least X counts as a bit fail. " + _STORED.format("0.35"),
    ),
    "--error-function": (
        "NAME",
        "Error backpropagated from the outputs: tanh (FANN's, grows near +-1) or linear. "
        + _STORED.format("tanh"),
    ),
    "--learning-rate": (
        "X",
        "Step size of incremental, batch and QuickProp training. " + _STORED.format("0.7"),
    ),
    "--momentum": ("X", "Learning momentum (incremental training). " + _STORED.format("0")),
    "--rprop-variant": (
        "NAME",
        "fann (FANN's RPROP: after a sign change the weight still moves), irprop- or irprop+. "
        + _STORED.format("fann"),
    ),
    "--rprop-increase-factor": (
        "X",
        "RPROP: a step grows by X while the slope keeps its sign. " + _STORED.format("1.2"),
    ),
    "--rprop-decrease-factor": (
        "X",
        "RPROP: a step shrinks by X when the slope changes sign. " + _STORED.format("0.5"),
    ),
    "--rprop-delta-min": ("X", "RPROP: the smallest step. " + _STORED.format("0")),
    "--rprop-delta-max": ("X", "RPROP: the largest step. " + _STORED.format("50")),
    "--rprop-delta-zero": ("X", "RPROP: every weight's first step. " + _STORED.format("0.1")),
    "--quickprop-decay": (
        "X",
        "QuickProp: weight decay (negative; keeps weights small). " + _STORED.format("-0.0001"),
    ),
    "--quickprop-mu": (
        "X",
        "QuickProp: the largest factor a step may grow by. " + _STORED.format("1.75"),
    ),
    "--sarprop-weight-decay-shift": (
        "X",
        "SARPROP: the weight decay is 2^(X - T*epoch), T the temperature. "
        + _STORED.format("-6.644"),
    ),
    "--sarprop-step-error-threshold-factor": (
        "X",
        "SARPROP: a step smaller than X times the MSE gets a random kick when its slope "
        "changes sign. " + _STORED.format("0.1"),
    ),
    "--sarprop-step-error-shift": (
        "X",
        "SARPROP: the random kick is up to RMSE times 2^(X - T*epoch). " + _STORED.format("1.385"),
    ),
    "--sarprop-temperature": (
        "X",
        "SARPROP: T, how fast the weight decay and the random kicks shrink with the "
        "epochs. " + _STORED.format("0.015"),
    ),
    "--report-every": ("N", "A report line every N epochs (0: none)."),
    "--test": (
        "FILE",
        "Also report the MSE and bit fail on this labelled data at every report point "
        "(kept in the file's history). Default: none.",
    ),
    "--scale-inputs": (
        "MIN,MAX",
        "Store FANN's input scaling (each column's mean -+ one deviation to MIN..MAX) and "
        "train with it; run applies it. Default: none (or what NET stores).",
    ),
    "--scale-outputs": (
        "MIN,MAX",
        "Store FANN's output scaling to MIN..MAX; run descales outputs. Default: none "
        "(or what NET stores).",
    ),
    "--output-columns": (
        "COLS",
        "CSV/TSV: which columns are desired outputs (0-based indices or header names, "
        "comma-separated). Default: the last ones, as many as the network's outputs.",
    ),
    "--checkpoint-every": (
        "N|TIME",
        "Save the run as it goes: every N epochs, or every TIME (30s, 5m, 1h). Default: "
        "only when Ctrl-C or SIGTERM stops the run.",
    ),
    "--seed": ("N", "Seed for every random draw (runs repeat exactly). Default: a fresh seed."),
    "--dtype": (
        "NAME",
        "float32 (FANN's float build) or float64. Default: the network file's own "
        "(float32 for create and for a .net of float32 values).",
    ),
    "--layers": ("N,N,...", "Neurons per layer, inputs first, e.g. 2,3,1."),
    "--connection-rate": (
        "X",
        "Fraction of the possible connections (below 1: sparse, as FANN picks them).",
    ),
    "--hidden-activation": (
        "NAME",
        f"Activation of the hidden neurons, one of: {ACTIVATION_NAMES}. Default: sigmoid_stepwise.",
    ),
    "--output-activation": (
        "NAME",
        "Activation of the output neurons (names as --hidden-activation, or softmax: "
        "fannctl's own, trained with cross-entropy, not expressible in .net). "
        "Default: sigmoid_stepwise.",
    ),
    "--hidden-steepness": ("X", "Steepness of the hidden activation. Default: 0.5."),
    "--output-steepness": ("X", "Steepness of the output activation. Default: 0.5."),
    "--init": ("NAME", "Initial weights: uniform (in +-0.1, FANN's) or widrow (Widrow-Nguyen)."),
    "--init-data": ("FILE", "Data whose input range --init widrow uses. Default: none."),
    "--max-neurons": ("N", "Install at most N hidden neurons."),
    "--neurons-between-reports": ("N", "A report line every N neurons (0: none)."),
    "--output-change-fraction": (
        "X",
        "Output training stagnates when the MSE improves by less than this fraction within "
        "--output-stagnation-epochs. " + _STORED.format("0.01"),
    ),
    "--output-stagnation-epochs": (
        "N",
        "Epochs without enough output improvement before output training stops. "
        + _STORED.format("12"),
    ),
    "--candidate-change-fraction": (
        "X",
        "Candidate training stagnates when the best score improves by less than this "
        "fraction within --candidate-stagnation-epochs. " + _STORED.format("0.01"),
    ),
    "--candidate-stagnation-epochs": (
        "N",
        "Epochs without enough candidate improvement before candidate training stops. "
        + _STORED.format("12"),
    ),
    "--min-out-epochs": (
        "N",
        "Train the outputs at least N epochs a round. " + _STORED.format("50"),
    ),
    "--max-out-epochs": (
        "N",
        "Train the outputs at most N epochs a round. " + _STORED.format("150"),
    ),
    "--min-cand-epochs": (
        "N",
        "Train the candidates at least N epochs a round. " + _STORED.format("50"),
    ),
    "--max-cand-epochs": (
        "N",
        "Train the candidates at most N epochs a round. " + _STORED.format("150"),
    ),
    "--candidate-limit": (
        "X",
        "Stop candidate training when the best score exceeds X times the outputs' "
        "summed squared error. " + _STORED.format("1000"),
    ),
    "--weight-multiplier": (
        "X",
        "The installed neuron's output weights are its trained ones times X. "
        + _STORED.format("0.4"),
    ),
    "--activation-functions": (
        "NAMES",
        "Candidate activations, comma-separated (names as create's --hidden-activation). "
        + _STORED.format(
            "sigmoid, sigmoid_symmetric, gaussian, gaussian_symmetric, elliot, "
            "elliot_symmetric, sin_symmetric, cos_symmetric, sin, cos"
        ),
    ),
    "--activation-steepnesses": (
        "X,X,...",
        "Candidate steepnesses, comma-separated. " + _STORED.format("0.25, 0.5, 0.75, 1"),
    ),
    "--num-candidate-groups": (
        "N",
        "Candidates of each activation and steepness pair. " + _STORED.format("2"),
    ),
    "--threads": (
        "N",
        "Compute threads for BLAS, numexpr and the OpenCL CPU device. Default: what "
        "OPENBLAS_NUM_THREADS/OMP_NUM_THREADS say, else 1. Also FANNCTL_THREADS.",
    ),
}
"""Placeholder and help of every option whose text is shared by several commands."""

_OUTPUTS = (
    "N",
    "Tables and .npy: how many last columns are desired outputs. Default: 1 (a FANN "
    ".data file's header says; --output-columns picks them by name).",
)

# Where a command means something else by the same option.
COMMAND_HELP: dict[tuple[str, str], tuple[str, str]] = {
    ("cascade", "--algorithm"): (
        "NAME",
        "Algorithm for output and candidate training: rprop, quickprop or sarprop. "
        + _STORED.format("rprop"),
    ),
    ("train", "--output-activation"): (
        "NAME",
        "Set every output neuron's activation (names as create's, or softmax: "
        "fannctl's own, trained with cross-entropy, numpy only, not expressible in .net). "
        "Default: what NET stores.",
    ),
    ("train", "--validation-split"): (
        "X",
        "Hold out this fraction of DATA as the test set (seeded by --seed, stratified for "
        "class targets, as 'fannctl data split'). Default: none (all of DATA trains).",
    ),
    ("cascade", "--validation-split"): (
        "X",
        "Hold out this fraction of DATA as the test set (seeded by --seed, as 'fannctl "
        "data split'). Default: none (all of DATA trains).",
    ),
    ("train", "--cv"): (
        "K",
        "K-fold cross-validation instead: K networks from NET's weights, each trained "
        "--max-epochs on all but one fold (one batched computation) and scored on it; prints "
        "the mean and spread of the test metrics; NET unchanged. Default: none (train NET).",
    ),
    ("train", "--sample-weights"): (
        "FILE",
        "One weight per training pattern: a number per line, or a CSV/TSV column with "
        "--sample-weight-column (batch-family algorithms; numpy only). Default: every "
        "pattern weighs 1.",
    ),
    ("train", "--sample-weight-column"): (
        "COLUMN",
        "The column of the --sample-weights CSV/TSV file (header name or 0-based index). "
        "Default: none (the file holds one number a line).",
    ),
    ("run", "--output-columns"): (
        "COLS",
        "A labelled table (CSV/TSV, .npy): its desired-output columns, as train takes them "
        "(0-based indices or header names, comma-separated); they are left out of the "
        "inputs. The table is read whole. Default: none (the input is streamed).",
    ),
    ("data scale", "--scale-inputs"): (
        "MIN,MAX",
        "Scale inputs to MIN,MAX (FANN's rule). Default: inputs unscaled.",
    ),
    ("data scale", "--scale-outputs"): (
        "MIN,MAX",
        "Scale outputs to MIN,MAX. Default: outputs unscaled.",
    ),
    ("data scale", "--network"): (
        "NET",
        "Use the scaling this network stores (train --scale-inputs). Default: none.",
    ),
    ("swarm spawn", "--layers"): (
        "N,N,...",
        "Neurons per layer, inputs first: 2,3,1. Default: --from's shape (one of the two "
        "is needed).",
    ),
    ("swarm spawn", "--from"): (
        "NET",
        "Start every agent from this network. Default: new random weights (--layers).",
    ),
    ("swarm spawn", "--vary"): (
        "PARAM=LO:HI",
        "Per-agent value: PARAM=LO:HI (uniform), PARAM=LO:HI:log, or "
        "algorithm=rprop,quickprop. Repeatable. Default: every agent alike.",
    ),
    ("swarm spawn", "--algorithm"): (
        "NAME",
        "incremental, batch, rprop, quickprop or sarprop. Default: --from's, else rprop.",
    ),
    ("swarm spawn", "--param"): (
        "NAME=VALUE",
        "A training parameter for every agent (repeatable). Default: FANN's (or --from's).",
    ),
    ("swarm run", "--test"): (
        "FILE",
        "Validation data: ranks agents, scores the ensemble. Default: none (agents are "
        "ranked by their error on DATA).",
    ),
    ("swarm run", "--algorithm"): (
        "NAME",
        "Set every agent's algorithm. Default: each agent keeps its own.",
    ),
    ("swarm run", "--pso-inertia"): (
        "X",
        "PSO: the inertia weight, the share of its velocity a particle keeps each move.",
    ),
    ("swarm run", "--pso-cognitive"): (
        "X",
        "PSO: the pull towards the particle's own best position (times a random draw).",
    ),
    ("swarm run", "--pso-social"): (
        "X",
        "PSO: the pull towards the best position among its neighbours (times a random draw).",
    ),
    ("swarm run", "--pso-max-velocity"): (
        "X",
        "PSO: the largest velocity of a weight per move (clamped).",
    ),
    ("swarm run", "--chunk-agents"): (
        "N",
        "Agents per batched computation. Default: as many as keep the work arrays within "
        "16 MiB (in cache). On a Dask cluster also the agents per task (default: about "
        "1/256 of the swarm, at least 8).",
    ),
    ("cascade", "--test"): (
        "FILE",
        "Report the MSE and bit fail on this labelled data at every report point "
        "(kept in the file's history) and at the end. Default: none.",
    ),
}

COMMAND_HELP.update(
    {
        (f"data {command}", "--outputs"): _OUTPUTS
        for command in ("info", "shuffle", "split", "subset", "merge", "scale", "convert")
    }
)

SHARED_BY = ("create", "train", "cascade")
"""Commands whose options take their texts from HELP even where they declare one;
elsewhere HELP only fills an option declared without help."""


def _placeholder(param) -> str:
    """N for a count, X for a number, else the option's name in capitals (--device DEVICE)."""
    import typing

    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    kinds = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    if kinds == [int]:
        return "N"
    if kinds == [float]:
        return "X"
    longest = max(param.opts, key=len)
    return longest.lstrip("-").upper()


def apply_shared_help(command, name: str = "") -> None:
    """Give each option of ``command`` (and of its subcommands) the shared help and
    placeholder above, and a placeholder by type where none is shared. ``name`` is
    the command's path below fannctl ("train", "swarm run")."""
    for param in command.params:
        if getattr(param, "param_type_name", "") == "argument" and param.metavar is None:
            param.metavar = (param.name or "value").upper()
        if getattr(param, "param_type_name", "") != "option" or not param.opts:
            continue
        specific = next(
            (COMMAND_HELP[(name, opt)] for opt in param.opts if (name, opt) in COMMAND_HELP), None
        )
        shared = next((HELP[opt] for opt in param.opts if opt in HELP), None)
        if specific is not None or (shared is not None and name in SHARED_BY):
            param.metavar, param.help = specific or shared
        elif shared is not None:
            param.metavar = param.metavar or shared[0]
            param.help = param.help or shared[1]
        elif param.metavar is None and not getattr(param, "is_flag", False):
            param.metavar = _placeholder(param)
    for sub_name, sub in getattr(command, "commands", {}).items():
        apply_shared_help(sub, f"{name} {sub_name}".strip())


def _configure_threads(ctx, param, value: int | None) -> int | None:
    """Set the compute threads, from this command's --threads or the root's, before
    the command loads numpy (every command imports it lazily)."""
    from fannctl import threads

    if value is None:
        value = ctx.find_root().params.get("threads")
    threads.configure(value)
    return value


def add_threads_option(root) -> None:
    """Accept --threads after the command name too: a copy of the root's option on
    every command and subcommand, applied before the command runs."""
    import copy

    option = next(param for param in root.params if "--threads" in getattr(param, "opts", ()))

    def add(group) -> None:
        for sub in group.commands.values():
            if getattr(sub, "commands", None) is not None:
                add(sub)
            elif not any("--threads" in getattr(param, "opts", ()) for param in sub.params):
                mine = copy.copy(option)
                mine.callback = _configure_threads
                mine.expose_value = False
                mine.is_eager = True
                sub.params.append(mine)

    add(root)
