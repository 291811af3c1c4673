"""Arrows point one way: CLI -> jobs -> devices -> core -> backends, and no module cycles.

The imports are read from the source (``ast``), at module level and inside
functions alike, so an import hidden in a function still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fannctl"

# The core: what a training run needs, below device choice and the commands.
CORE = (
    "fannctl.activations",
    "fannctl.cascade",
    "fannctl.data",
    "fannctl.errors",
    "fannctl.fann_error",
    "fannctl.io",
    "fannctl.network",
    "fannctl.params",
    "fannctl.provenance",
    "fannctl.runner",
    "fannctl.summary",
    "fannctl.train",
)
ABOVE_CORE = ("fannctl.cli", "fannctl.jobs", "fannctl.devices")
# Cascade takes its candidate engine from the device registry (CandidateChoice);
# devices never imports cascade, so this arrow closes no loop.
ALLOWED = {("fannctl.cascade", "fannctl.devices")}


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """The fannctl modules ``name`` imports anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {target for target in found if target in MODULES and target not in (name, "fannctl")}


def _in(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_core_imports_nothing_above_it() -> None:
    # Guards: a core module reaching up to device choice, the jobs or the CLI (a cycle
    # in waiting: devices drives the training loop).
    upward = {
        name: sorted(t for t in _imports(name) if _in(t, ABOVE_CORE) and (name, t) not in ALLOWED)
        for name in MODULES
        if _in(name, CORE)
    }
    assert {name: targets for name, targets in upward.items() if targets} == {}


def test_the_core_takes_no_arithmetic_from_a_backend() -> None:
    # Guards: FANN's error arithmetic drifting back into numpy_backend (issue 10).
    users = sorted(
        n for n in MODULES if _in(n, CORE) and "fannctl.backends.numpy_backend" in _imports(n)
    )
    assert users == []


def test_no_cycles_among_the_core_devices_and_the_numpy_backend() -> None:
    # Guards: imports hidden inside functions that close a loop (train <-> devices, ...).
    inside = (*CORE, "fannctl.devices", "fannctl.backends.numpy_backend", "fannctl.backends.base")
    members = [n for n in MODULES if _in(n, inside)]
    graph = {name: {t for t in _imports(name) if t in members} for name in members}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    # Guards: the check above passing because it cannot see a cycle at all.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
