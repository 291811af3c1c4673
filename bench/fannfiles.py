"""Just enough FANN file I/O for the benchmarks, used until ``fannctl.io`` lands.

``load_data`` reads FANN's training-data format (gzipped or not) into float32
arrays; ``save_network`` writes a float ``.net`` file (FANN_FLO_2.1) following
FANN_REFERENCE.md section 5, so that libfann's ``fann_create_from_file`` loads
exactly the starting weights fannctl trains from. When ``fannctl.io`` provides
``load_data`` / ``save_network`` those are used instead.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from fannctl.data import TrainingData
from fannctl.network import SHORTCUT, Network, layer_counts


def _open_text(path: Path):
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)


def read_data(path: str | Path, dtype=np.float32) -> TrainingData:
    """Read a FANN ``.data`` file (``.gz`` allowed) with the benchmark's own parser."""
    path = Path(path)
    with _open_text(path) as handle:
        values = handle.read().split()
    pairs, n_in, n_out = (int(v) for v in values[:3])
    flat = np.array(values[3:], dtype=np.float64)
    if flat.size != pairs * (n_in + n_out):
        raise ValueError(f"{path}: expected {pairs * (n_in + n_out)} values, got {flat.size}")
    rows = flat.reshape(pairs, n_in + n_out)
    return TrainingData(
        np.ascontiguousarray(rows[:, :n_in], dtype=dtype),
        np.ascontiguousarray(rows[:, n_in:], dtype=dtype),
        str(path),
    )


def load_data(path: str | Path, dtype=np.float32) -> TrainingData:
    """``fannctl.io.load_data`` when it exists, else :func:`read_data`."""
    try:
        from fannctl.io import load_data as io_load_data  # type: ignore[attr-defined]
    except ImportError:
        return read_data(path, dtype)
    try:
        data = io_load_data(path)
    except Exception:  # the io module is still being written; fall back quietly
        return read_data(path, dtype)
    return data.astype(dtype)


def write_data(data: TrainingData, path: str | Path) -> None:
    """Write plain FANN training data (full float precision, ``%.9g``)."""
    with open(path, "w") as handle:
        handle.write(f"{data.num_patterns} {data.num_input} {data.num_output}\n")
        for x, y in zip(data.inputs, data.outputs, strict=True):
            handle.write(" ".join(f"{v:.9g}" for v in x) + " \n")
            handle.write(" ".join(f"{v:.9g}" for v in y) + " \n")


def _e20(x: float) -> str:
    return f"{float(x):.20e}"


def write_network(net: Network, path: str | Path) -> None:
    """Write ``net`` as a FANN_FLO_2.1 ``.net`` file (no scaling block)."""
    p = net.params
    counts = layer_counts(net.layers, net.network_type)
    lines = [
        "FANN_FLO_2.1",
        f"num_layers={len(net.layers)}",
        f"learning_rate={p.learning_rate:f}",
        f"connection_rate={net.connection_rate:f}",
        f"network_type={net.network_type}",
        f"learning_momentum={p.learning_momentum:f}",
        f"training_algorithm={p.training_algorithm}",
        f"train_error_function={p.train_error_function}",
        f"train_stop_function={p.train_stop_function}",
        f"cascade_output_change_fraction={p.cascade_output_change_fraction:f}",
        f"quickprop_decay={p.quickprop_decay:f}",
        f"quickprop_mu={p.quickprop_mu:f}",
        f"rprop_increase_factor={p.rprop_increase_factor:f}",
        f"rprop_decrease_factor={p.rprop_decrease_factor:f}",
        f"rprop_delta_min={p.rprop_delta_min:f}",
        f"rprop_delta_max={p.rprop_delta_max:f}",
        f"rprop_delta_zero={p.rprop_delta_zero:f}",
        f"cascade_output_stagnation_epochs={p.cascade_output_stagnation_epochs}",
        f"cascade_candidate_change_fraction={p.cascade_candidate_change_fraction:f}",
        f"cascade_candidate_stagnation_epochs={p.cascade_candidate_stagnation_epochs}",
        f"cascade_max_out_epochs={p.cascade_max_out_epochs}",
        f"cascade_min_out_epochs={p.cascade_min_out_epochs}",
        f"cascade_max_cand_epochs={p.cascade_max_cand_epochs}",
        f"cascade_min_cand_epochs={p.cascade_min_cand_epochs}",
        f"cascade_num_candidate_groups={p.cascade_num_candidate_groups}",
        f"bit_fail_limit={_e20(np.float32(p.bit_fail_limit))}",
        f"cascade_candidate_limit={_e20(np.float32(p.cascade_candidate_limit))}",
        f"cascade_weight_multiplier={_e20(np.float32(p.cascade_weight_multiplier))}",
        f"cascade_activation_functions_count={len(p.cascade_activation_functions)}",
        "cascade_activation_functions=" + "".join(f"{f} " for f in p.cascade_activation_functions),
        f"cascade_activation_steepnesses_count={len(p.cascade_activation_steepnesses)}",
        "cascade_activation_steepnesses="
        + "".join(f"{_e20(np.float32(s))} " for s in p.cascade_activation_steepnesses),
        "layer_sizes=" + "".join(f"{c} " for c in counts),
        "scale_included=0",
        "neurons (num_inputs, activation_function, activation_steepness)="
        + "".join(
            f"({int(n)}, {int(a)}, {_e20(s)}) "
            for n, a, s in zip(net.num_inputs, net.activation, net.steepness, strict=True)
        ),
        "connections (connected_to_neuron, weight)="
        + "".join(f"({int(s)}, {_e20(w)}) " for s, w in zip(net.sources, net.weights, strict=True)),
    ]
    if net.network_type == SHORTCUT and counts[0] != net.layers[0] + 1:
        raise ValueError("unexpected shortcut layout")
    Path(path).write_text("\n".join(lines) + "\n")


def save_network(net: Network, path: str | Path) -> str:
    """Save with ``fannctl.io.save_network`` when it exists, else :func:`write_network`.

    Returns which writer was used.
    """
    try:
        from fannctl.io import save_network as io_save  # type: ignore[attr-defined]
    except ImportError:
        write_network(net, path)
        return "bench/fannfiles.py"
    try:
        io_save(net, path)
    except Exception:  # the io module is still being written; fall back quietly
        write_network(net, path)
        return "bench/fannfiles.py (fannctl.io.save_network failed)"
    return "fannctl.io.save_network"
