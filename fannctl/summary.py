"""A plain-data description of a network, for ``fannctl info`` and monitoring."""

from __future__ import annotations

import numpy as np

from fannctl import activations
from fannctl.network import SHORTCUT, Network, layer_counts
from fannctl.params import ERROR_FUNCTIONS, STOP_FUNCTIONS


def describe(net: Network, path: str | None = None, file_format: str | None = None) -> dict:
    """Layers, connections, activations, parameters, scaling and training history."""
    firsts = net.layer_first()
    counts = layer_counts(net.layers, net.network_type)
    layers = []
    for index, size in enumerate(net.layers):
        first = firsts[index]
        ids = net.activation[first : first + size]
        steep = net.steepness[first : first + size]
        entry: dict[str, object] = {
            "index": index,
            "kind": "input"
            if index == 0
            else "output"
            if index == len(net.layers) - 1
            else "hidden",
            "neurons": size,
            "bias": counts[index] > size,
        }
        if index > 0:
            entry["connections"] = int(net.num_inputs[first : first + size].sum())
            pairs = sorted({(int(a), float(s)) for a, s in zip(ids, steep, strict=True)})
            entry["activations"] = [
                {"function": activations.activation_name(a), "steepness": s} for a, s in pairs
            ]
        layers.append(entry)
    params = net.params.to_dict()
    params["training_algorithm"] = net.params.algorithm_name
    params["train_error_function"] = ERROR_FUNCTIONS[net.params.train_error_function]
    params["train_stop_function"] = STOP_FUNCTIONS[net.params.train_stop_function]
    params["cascade_activation_functions"] = [
        activations.activation_name(a) for a in net.params.cascade_activation_functions
    ]
    out: dict[str, object] = {
        "path": path,
        "format": file_format,
        "network_type": "shortcut" if net.network_type == SHORTCUT else "layer",
        "sparse": net.is_sparse,
        "connection_rate": net.connection_rate,
        "dtype": str(net.dtype),
        "num_input": net.num_input,
        "num_output": net.num_output,
        "total_neurons": net.total_neurons,
        "total_connections": net.total_connections,
        "layers": layers,
        "weights": {
            "min": float(net.weights.min()) if net.weights.size else 0.0,
            "max": float(net.weights.max()) if net.weights.size else 0.0,
            "finite": bool(np.all(np.isfinite(net.weights))),
        },
        "parameters": params,
        "scaling": None,
        "training_state": {
            "kept": net.state.prev_slopes is not None or net.state.prev_weight_deltas is not None,
            "sarprop_epoch": net.state.sarprop_epoch,
        },
        "history": net.history,
        "provenance": net.provenance,
    }
    if net.scaling is not None:
        out["scaling"] = {
            name: np.asarray(getattr(net.scaling, name)).tolist() for name in net.scaling.FIELDS
        }
    return out
