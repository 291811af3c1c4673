"""fannctl.graphviz: a network as DOT, every neuron and every connection (issue 13, item 5)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from fannctl import graphviz
from fannctl.network import build

EDGE = re.compile(r'  n(\d+) -> n(\d+) \[color="(#\w+)", penwidth=([\d.]+), tooltip="([^"]+)"')


def edges(text: str) -> list[tuple[int, int, str, float, float]]:
    return [
        (int(a), int(b), color, float(width), float(weight))
        for a, b, color, width, weight in EDGE.findall(text)
    ]


@pytest.mark.parametrize(
    ("layers", "options"),
    [
        ([2, 3, 1], {}),
        ([4, 4, 2], {"connection_rate": 0.5}),
        ([2, 3, 2, 1], {"shortcut": True}),
    ],
)
def test_every_connection_is_an_edge_with_its_weight(layers: list[int], options: dict) -> None:
    """Standard, sparse and shortcut layouts: each connection once, source to target,
    its exact weight in the tooltip, blue when positive and red when negative."""
    net = build(layers, seed=4, **options)
    found = edges(graphviz.network_dot(net, "n.h5"))
    assert len(found) == net.total_connections
    starts = net.first_connection()
    expected = []
    for neuron, count in enumerate(net.num_inputs):
        for k in range(int(starts[neuron]), int(starts[neuron]) + int(count)):
            expected.append((int(net.sources[k]), neuron, float(net.weights[k])))
    assert [(a, b, w) for a, b, _, _, w in found] == expected
    for _, _, color, width, weight in found:
        assert color == (graphviz.POSITIVE if weight >= 0 else graphviz.NEGATIVE)
        assert 0.4 <= width <= 3.0


def test_layers_bias_neurons_and_labels() -> None:
    net = build([2, 3, 1], seed=1, hidden_activation="sigmoid_symmetric")
    text = graphviz.network_dot(net, 'my "net"')
    assert text.startswith('digraph "my \\"net\\"" {')
    assert 'label="hidden 1: sigmoid_symmetric (0.5)"' in text
    assert 'label="output: sigmoid_stepwise (0.5)"' in text
    # the input and hidden layers' bias neurons, not the output layer's (it feeds nothing)
    assert text.count('[label="1", shape=box') == 2
    assert text.count("label=") == 2 + 3 + 1 + 2 + 3 + 13  # neurons, biases, layers, weights
    big = build([30, 10, 2], seed=1)
    assert big.total_connections > graphviz.LABELLED_CONNECTIONS
    assert ", label=" not in graphviz.network_dot(big)  # too many to print each weight


def test_graphviz_reads_it() -> None:
    dot = shutil.which("dot")
    if dot is None:
        pytest.skip("graphviz (dot) is not installed; the structure is checked above")
    net = build([3, 4, 2], seed=2, shortcut=True)
    done = subprocess.run(
        [dot, "-Tsvg"], input=graphviz.network_dot(net), capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.count('class="edge"') == net.total_connections
