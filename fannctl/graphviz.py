"""A network as a Graphviz graph (``fannctl info --dot``): neurons by layer, every connection.

Layers are clusters from left to right, named with their activation functions
and steepnesses; bias neurons are boxes labelled 1 (FANN's bias is a neuron
whose output is always 1). Each connection is an edge coloured by the sign of
its weight (blue positive, red negative) and drawn thicker the larger it is;
small networks (up to ``LABELLED_CONNECTIONS``) also print each weight.

    fannctl info net.h5 --dot | dot -Tsvg > net.svg
"""

from __future__ import annotations

import numpy as np

from fannctl.activations import activation_name
from fannctl.network import Network, layer_counts

LABELLED_CONNECTIONS = 200
POSITIVE, NEGATIVE = "#1f77b4", "#d62728"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _layer_name(index: int, last: int) -> str:
    if index == 0:
        return "input"
    return "output" if index == last else f"hidden {index}"


def network_dot(net: Network, name: str = "network") -> str:
    """The Graphviz (DOT) text of ``net``."""
    counts = layer_counts(net.layers, net.network_type)
    firsts = net.layer_first()
    last = len(net.layers) - 1
    lines = [
        f"digraph {_quote(name)} {{",
        "  rankdir=LR;",
        "  splines=line;",
        "  nodesep=0.15;",
        '  node [shape=circle, fontsize=9, fixedsize=true, width=0.4, fontname="Helvetica"];',
        '  edge [arrowsize=0.4, fontsize=7, fontname="Helvetica"];',
    ]
    for index, (first, count) in enumerate(zip(firsts, counts, strict=True)):
        real = net.layers[index]
        label = _layer_name(index, last)
        if index > 0:
            functions = sorted(
                {
                    f"{activation_name(int(a))} ({float(s):g})"
                    for a, s in zip(
                        net.activation[first : first + real],
                        net.steepness[first : first + real],
                        strict=True,
                    )
                }
            )
            label += ": " + ", ".join(functions)
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={_quote(label)}; color=gray80; fontsize=9;")
        for j in range(real):
            text = f"x{j}" if index == 0 else ("y" if index == last else "h") + str(j)
            lines.append(f"    n{first + j} [label={_quote(text)}];")
        if count > real and index < last:  # the layer's bias neuron, last in FANN's order
            # (the output layer's, which FANN also keeps, feeds nothing: not drawn)
            lines.append(f'    n{first + real} [label="1", shape=box, width=0.3];')
        lines.append("  }")
    weights = np.asarray(net.weights, dtype=np.float64)
    largest = float(np.abs(weights).max()) if weights.size else 0.0
    labelled = weights.size <= LABELLED_CONNECTIONS
    starts = net.first_connection()
    for neuron in range(len(net.num_inputs)):
        start = int(starts[neuron])
        for k in range(start, start + int(net.num_inputs[neuron])):
            weight = float(weights[k])
            width = 0.4 + 2.6 * (abs(weight) / largest if largest else 0.0)
            attributes = [
                f"color={_quote(POSITIVE if weight >= 0 else NEGATIVE)}",
                f"penwidth={width:.2f}",
                f"tooltip={_quote(repr(weight))}",
            ]
            if labelled:
                attributes.append(f"label={_quote(f'{weight:.3g}')}")
            lines.append(f"  n{int(net.sources[k])} -> n{neuron} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


__all__ = ["LABELLED_CONNECTIONS", "network_dot"]
