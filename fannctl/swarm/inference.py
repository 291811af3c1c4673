"""Using a swarm: predictions (ensemble mean, majority vote, one agent), export, describe."""

from __future__ import annotations

import numpy as np

from fannctl import activations
from fannctl.data import descale_outputs, scale_inputs
from fannctl.errors import ParameterError
from fannctl.network import Network
from fannctl.params import ALGORITHMS
from fannctl.swarm import batched
from fannctl.swarm.population import EVENT_KINDS, VARIABLE, Swarm
from fannctl.swarm.rounds import ensemble_outputs


def resolve_agent(swarm: Swarm, agent: int | str) -> int:
    """An agent number from ``7`` or ``"best"`` (the lowest recorded error)."""
    if isinstance(agent, str):
        if agent.strip().lower() == "best":
            return swarm.best_agent()
        try:
            agent = int(agent)
        except ValueError:
            raise ParameterError(f"--agent must be a number or 'best', got {agent!r}") from None
    if not 0 <= int(agent) < swarm.agents:
        raise ParameterError(f"agent {agent} does not exist (agents 0..{swarm.agents - 1})")
    return int(agent)


def export_agent(swarm: Swarm, agent: int | str) -> Network:
    """One agent as a plain network: exactly its weights, steepness, parameters and state."""
    return swarm.agent_network(resolve_agent(swarm, agent))


def predict(
    swarm: Swarm, inputs: np.ndarray, agent: int | str | None = None, vote: bool = False
) -> np.ndarray:
    """Outputs (P, n_out) for raw inputs: the ensemble mean, a majority vote, or one agent.

    Scaling stored with the swarm applies as in ``fannctl run``. ``vote``: each
    agent votes for its highest output (one output: above or below the middle
    of the output activation's range); the winner's output is the range's top,
    the others its bottom.
    """
    template = swarm.template
    x = scale_inputs(template, np.asarray(inputs, dtype=swarm.dtype))
    shape = batched.Shape.of(template)
    if agent is not None:
        if vote:
            raise ParameterError("--vote combines all agents; it cannot be used with --agent")
        row = resolve_agent(swarm, agent)
        out = batched.outputs(
            shape, swarm.weights[row : row + 1], swarm.steepness[row : row + 1], x
        )[0]
    elif vote:
        out = _vote(swarm, shape, x)
    else:
        out = ensemble_outputs(swarm, shape, x).astype(swarm.dtype)
    return descale_outputs(template, np.ascontiguousarray(out))


def score(
    swarm: Swarm,
    inputs: np.ndarray,
    targets: np.ndarray,
    agent: int | str | None = None,
    vote: bool = False,
) -> tuple[float, int, int]:
    """FANN-style sum of squared errors (symmetric outputs halved), bit fail and count
    of the predictions (ensemble, vote or one agent) against raw ``targets``."""
    values = predict(swarm, inputs, agent=agent, vote=vote)
    err = np.asarray(targets, dtype=np.float64) - values
    halve = [activations.is_symmetric(a) for a in swarm.template.output_activation()]
    err[:, np.asarray(halve, dtype=bool)] /= 2.0
    fails = int(np.count_nonzero(np.abs(err) >= swarm.template.params.bit_fail_limit))
    return float((err * err).sum()), fails, int(err.size)


def _vote(swarm: Swarm, shape: batched.Shape, x: np.ndarray) -> np.ndarray:
    low = -1.0 if shape.halve.all() else 0.0
    middle = (low + 1.0) / 2.0
    n_out = shape.num_output
    tally = np.zeros((x.shape[0], max(2, n_out)), dtype=np.int64)
    step = shape.chunk_agents(x.shape[0], swarm.dtype.itemsize)
    for lo in range(0, swarm.agents, step):
        out = batched.outputs(
            shape, swarm.weights[lo : lo + step], swarm.steepness[lo : lo + step], x
        )
        if n_out == 1:
            above = (out[:, :, 0] > middle).sum(axis=0)
            tally[:, 1] += above
            tally[:, 0] += out.shape[0] - above
        else:
            winners = out.argmax(axis=2)
            for cls in range(n_out):
                tally[:, cls] += (winners == cls).sum(axis=0)
    if n_out == 1:
        return np.where(tally[:, 1:2] > tally[:, 0:1], 1.0, low).astype(swarm.dtype)
    result = np.full((x.shape[0], n_out), low, dtype=swarm.dtype)
    result[np.arange(x.shape[0]), tally.argmax(axis=1)] = 1.0
    return result


def describe(swarm: Swarm, path: str | None = None, top: int = 5) -> dict:
    """Plain data about a swarm: shape, topology, per-round history, best agents, lineage."""
    net = swarm.template
    order = (
        np.argsort(np.where(np.isfinite(swarm.errors), swarm.errors, np.inf))
        if (swarm.errors is not None)
        else np.arange(min(top, swarm.agents))
    )
    best = []
    for agent in order[:top]:
        entry = {
            "agent": int(agent),
            "algorithm": ALGORITHMS[int(swarm.algorithm[agent])],
            "learning_rate": float(swarm.hyper["learning_rate"][agent]),
        }
        if swarm.errors is not None:
            entry["error"] = float(swarm.errors[agent])
        best.append(entry)
    columns = swarm.events.columns()
    kinds = {k: int(np.count_nonzero(columns["kind"] == i)) for i, k in enumerate(EVENT_KINDS)}
    recent = []
    copies = np.flatnonzero(columns["kind"] == EVENT_KINDS.index("copy"))[-top:]
    for row in copies:
        recent.append(
            {
                "round": int(columns["round"][row]),
                "agent": int(columns["agent"][row]),
                "source": int(columns["source"][row]),
            }
        )
    algorithms, counts = np.unique(swarm.algorithm, return_counts=True)
    return {
        "path": path,
        "kind": "swarm",
        "agents": swarm.agents,
        "layers": net.layers,
        "network_type": "shortcut" if net.network_type else "layer",
        "connections": net.total_connections,
        "dtype": swarm.dtype.name,
        "activations": {
            "hidden": [
                activations.activation_name(a)
                for a in sorted(
                    set(net.activation[net.layer_first()[1] : net.layer_first()[-1]].tolist())
                )
            ]
            if len(net.layers) > 2
            else [],
            "output": activations.activation_name(int(net.output_activation()[0])),
        },
        "topology": swarm.topology.spec,
        "seed": swarm.seed,
        "rounds": swarm.round,
        "algorithms": {ALGORITHMS[int(a)]: int(c) for a, c in zip(algorithms, counts, strict=True)},
        "vary": [v.to_dict() for v in swarm.vary],
        "history": swarm.history,
        "best_agents": best,
        "lineage": {"events": len(swarm.events), "by_kind": kinds, "recent_copies": recent},
        "varied_parameters": [v.name for v in swarm.vary if v.name in VARIABLE],
    }
