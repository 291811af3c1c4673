"""The Swarm: a population of same-shape networks, stacked agents first.

A :class:`Swarm` holds a template network (layout, activations, shared
training settings, scaling), every agent's weights (N, connections) and
steepness (N, neurons), per-agent hyperparameters (N,) and algorithm, the
training state the batch-family rules carry (RPROP/QuickProp/SARPROP steps
and slopes, PSO's velocities and bests), the topology, the per-round history
and the event log (the lineage). It is data; :func:`spawn` makes one.

Random numbers never come from one global stream: spawn draws agents' weights
and varied values in fixed blocks of ``AGENT_BLOCK`` agents, each block from
its own generator keyed by (seed, purpose, block); everything a round draws
comes from per-agent generators keyed by (seed, agent, round, purpose). So
results never depend on how agents are chunked for computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fannctl.errors import ParameterError
from fannctl.network import Network, build, layer_counts
from fannctl.params import ALGORITHMS, TrainingParams, algorithm_id
from fannctl.swarm import store
from fannctl.swarm.topology import Topology
from fannctl.swarm.topology import build as build_topology

AGENT_BLOCK = 1024
PURPOSE_WEIGHTS, PURPOSE_VARY, PURPOSE_NOISE = 1, 2, 3

HYPERPARAMETERS = (
    "learning_rate",
    "learning_momentum",
    "rprop_increase_factor",
    "rprop_decrease_factor",
    "rprop_delta_min",
    "rprop_delta_max",
    "rprop_delta_zero",
    "quickprop_decay",
    "quickprop_mu",
    "sarprop_weight_decay_shift",
    "sarprop_step_error_threshold_factor",
    "sarprop_step_error_shift",
    "sarprop_temperature",
    "weight_decay",
)
STEEPNESSES = ("hidden_steepness", "output_steepness")
VARIABLE = (*HYPERPARAMETERS, *STEEPNESSES, "algorithm")
SWARM_ALGORITHMS = ("incremental", "batch", "rprop", "quickprop", "sarprop")

# Event kinds in the lineage log.
EVENT_KINDS = ("spawn", "copy", "perturb", "redraw", "average", "pso")


@dataclass
class Vary:
    """One ``--vary`` range: uniform or log-uniform in [low, high], or a list of algorithms."""

    name: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        if self.choices:
            return {"name": self.name, "choices": list(self.choices)}
        return {"name": self.name, "low": self.low, "high": self.high, "log": self.log}

    @classmethod
    def from_dict(cls, d: dict) -> Vary:
        if "choices" in d:
            return cls(d["name"], choices=tuple(d["choices"]))
        return cls(d["name"], float(d["low"]), float(d["high"]), bool(d["log"]))

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Values for uniform numbers ``u`` in [0, 1)."""
        if self.choices:
            picks = np.minimum((u * len(self.choices)).astype(np.int64), len(self.choices) - 1)
            return np.array([algorithm_id(c) for c in self.choices])[picks]
        if self.log:
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)


def parse_vary(text: str) -> Vary:
    """``learning_rate=0.1:1.0[:log]`` or ``algorithm=rprop,quickprop``."""
    name, sep, spec = str(text).partition("=")
    name = name.strip().replace("-", "_")
    if name == "momentum":
        name = "learning_momentum"
    if not sep or not spec:
        raise ParameterError(f"--vary {text!r}: expected PARAM=LO:HI[:log]")
    if name not in VARIABLE:
        raise ParameterError(f"--vary: unknown parameter {name!r}; valid: {', '.join(VARIABLE)}")
    if name == "algorithm":
        choices = tuple(c.strip().lower() for c in spec.split(",") if c.strip())
        for choice in choices:
            if choice not in SWARM_ALGORITHMS:
                raise ParameterError(
                    f"--vary algorithm: {choice!r} cannot train in a swarm; "
                    f"valid: {', '.join(SWARM_ALGORITHMS)}"
                )
        if not choices:
            raise ParameterError("--vary algorithm= needs at least one algorithm")
        return Vary(name, choices=choices)
    parts = spec.split(":")
    log = len(parts) == 3 and parts[2].strip().lower() == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise ParameterError(f"--vary {text!r}: expected PARAM=LO:HI or PARAM=LO:HI:log")
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise ParameterError(f"--vary {text!r}: LO and HI must be numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ParameterError(f"--vary {text!r}: need finite LO <= HI")
    if log and low <= 0:
        raise ParameterError(f"--vary {text!r}: a log range needs LO > 0")
    return Vary(name, low, high, log)


@dataclass
class EventLog:
    """The lineage: one row per copy, perturbation, redraw or average."""

    round: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    agent: list[np.ndarray] = field(default_factory=list)
    source: list[np.ndarray] = field(default_factory=list)
    param: list[np.ndarray] = field(default_factory=list)
    value: list[np.ndarray] = field(default_factory=list)

    COLUMNS = ("round", "kind", "agent", "source", "param", "value")

    def add(self, round_index, kind: str, agent, source=-1, param=-1, value=np.nan) -> None:
        """Append rows (arrays broadcast against ``agent``)."""
        agent = np.atleast_1d(np.asarray(agent, dtype=np.int64))
        n = agent.size
        if n == 0:
            return
        self.round.append(np.full(n, round_index, dtype=np.int64))
        self.kind.append(np.full(n, EVENT_KINDS.index(kind), dtype=np.int8))
        self.agent.append(agent)
        self.source.append(np.broadcast_to(np.asarray(source, dtype=np.int64), n).copy())
        self.param.append(np.broadcast_to(np.asarray(param, dtype=np.int16), n).copy())
        self.value.append(np.broadcast_to(np.asarray(value, dtype=np.float64), n).copy())

    def columns(self) -> dict[str, np.ndarray]:
        """Every column as one array."""
        dtypes = {
            "round": np.int64,
            "kind": np.int8,
            "agent": np.int64,
            "source": np.int64,
            "param": np.int16,
            "value": np.float64,
        }
        return {
            name: np.concatenate(getattr(self, name))
            if getattr(self, name)
            else np.zeros(0, dtype=dtypes[name])
            for name in self.COLUMNS
        }

    def __len__(self) -> int:
        return int(sum(a.size for a in self.agent))


@dataclass
class Swarm:
    """A population of same-shape networks and everything needed to resume it."""

    template: Network
    # (agents, connections); InitialWeights straight from lazy spawn; the wide arrays
    # (weights, steepness, prev_*, velocity, best_weights) are store.AgentArrays when
    # a large swarm is loaded (read and written a chunk of agents at a time)
    weights: np.ndarray
    steepness: np.ndarray
    algorithm: np.ndarray
    hyper: dict[str, np.ndarray]
    topology: Topology
    seed: int
    round: int = 0
    vary: list[Vary] = field(default_factory=list)
    prev_steps: np.ndarray | None = None
    prev_slopes: np.ndarray | None = None
    state_algorithm: np.ndarray | None = None  # which algorithm the arrays belong to
    sarprop_epoch: np.ndarray | None = None
    velocity: np.ndarray | None = None
    best_weights: np.ndarray | None = None
    best_error: np.ndarray | None = None
    errors: np.ndarray | None = None
    history: list[dict] = field(default_factory=list)
    events: EventLog = field(default_factory=EventLog)
    provenance: list[dict] = field(default_factory=list)

    @property
    def agents(self) -> int:
        return int(self.weights.shape[0])

    @property
    def dtype(self) -> np.dtype:
        return self.weights.dtype

    def best_agent(self) -> int:
        """The agent with the lowest recorded error (agent 0 before any round)."""
        if self.errors is None or not np.isfinite(self.errors).any():
            return 0
        return int(np.nanargmin(self.errors))

    def ensure_state(self) -> None:
        """Allocate the training arrays (zeros; steps set per agent by the trainer)."""
        n = self.agents
        if self.prev_steps is None:  # where the weights live: memory or a scratch file
            self.prev_steps = store.zeros_like(self.weights)
            self.prev_slopes = store.zeros_like(self.weights)
            self.state_algorithm = np.full(n, -1, dtype=np.int8)
            self.sarprop_epoch = np.zeros(n, dtype=np.int64)

    def agent_network(self, agent: int) -> Network:
        """One agent as a plain network: its weights, steepness, parameters and state."""
        from fannctl.network import TrainState

        if not 0 <= agent < self.agents:
            raise ParameterError(f"agent {agent} does not exist (the swarm has {self.agents})")
        net = self.template.copy()
        net.weights = self.weights[agent].copy()
        net.steepness = self.steepness[agent].copy()
        net.params = net.params.replace(
            training_algorithm=int(self.algorithm[agent]),
            **{name: float(self.hyper[name][agent]) for name in HYPERPARAMETERS},
        )
        state = TrainState()
        kept = self.prev_steps is not None and self.state_algorithm[agent] == self.algorithm[agent]
        if kept and self.algorithm[agent] == 0:  # incremental: its previous changes
            state.prev_weight_deltas = self.prev_steps[agent].copy()
        elif kept:
            state.slopes = np.zeros_like(net.weights)
            state.prev_steps = self.prev_steps[agent].copy()
            state.prev_slopes = self.prev_slopes[agent].copy()
            state.sarprop_epoch = int(self.sarprop_epoch[agent])
        net.state = state
        return net


def block_uniform(
    seed: int, purpose: int, agents: int, width: int, dtype=np.float64, offset: int = 0
) -> np.ndarray:
    """(agents, width) uniform numbers, drawn in blocks of AGENT_BLOCK agents, each block
    from its own generator keyed by (seed, purpose, offset, block)."""
    out = np.empty((agents, width), dtype=dtype)
    for block, lo in enumerate(range(0, agents, AGENT_BLOCK)):
        out[lo : lo + AGENT_BLOCK] = _uniform_block(
            seed, purpose, offset, block, width, agents, dtype
        )
    return out


def _uniform_block(seed, purpose, offset, block, width, agents, dtype) -> np.ndarray:
    rows = min(AGENT_BLOCK, agents - block * AGENT_BLOCK)
    rng = np.random.Generator(np.random.PCG64([seed, purpose, offset, block]))
    return rng.random((rows, width), dtype=dtype)


@dataclass
class InitialWeights:
    """Spawn's weights, drawn a block of agents at a time when needed.

    Fresh weights are FANN's uniform +-0.1; weights from a network are its
    weights plus uniform noise in +-``noise``. ``save_swarm`` writes them block
    by block, so a large swarm is never held whole in memory just to be written.
    """

    seed: int
    agents: int
    base: np.ndarray | None  # None: fresh weights
    width: int
    dtype: np.dtype
    noise: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        return (self.agents, self.width)

    def blocks(self):
        """(lo, hi, block) for every block of agents, in order."""
        for block, lo in enumerate(range(0, self.agents, AGENT_BLOCK)):
            hi = min(self.agents, lo + AGENT_BLOCK)
            yield lo, hi, self.block(block)

    def block(self, block: int) -> np.ndarray:
        dt = self.dtype.type
        if self.base is None:
            w = _uniform_block(
                self.seed, PURPOSE_WEIGHTS, 0, block, self.width, self.agents, self.dtype
            )
            w *= dt(0.2)
            w -= dt(0.1)
            return w
        rows = min(AGENT_BLOCK, self.agents - block * AGENT_BLOCK)
        w = np.broadcast_to(self.base, (rows, self.width)).copy()
        if self.noise:
            u = _uniform_block(self.seed, PURPOSE_NOISE, 0, block, self.width, self.agents, float)
            w += (self.noise * (2.0 * u - 1.0)).astype(self.dtype)
        return w

    def materialize(self) -> np.ndarray:
        out = np.empty(self.shape, dtype=self.dtype)
        for lo, hi, block in self.blocks():
            out[lo:hi] = block
        return out


def spawn(
    agents: int,
    *,
    layers: list[int] | None = None,
    template: Network | None = None,
    noise: float = 0.0,
    shortcut: bool = False,
    connection_rate: float = 1.0,
    hidden_activation: str | None = None,
    output_activation: str | None = None,
    hidden_steepness: float | None = None,
    output_steepness: float | None = None,
    dtype: str = "float32",
    topology: str = "mesh",
    vary: list[Vary] | None = None,
    params: TrainingParams | None = None,
    seed: int = 0,
    lazy: bool = False,
) -> Swarm:
    """A new swarm: fresh FANN-style weights (+-0.1) per agent, or copies of ``template``
    (plus uniform noise in +-``noise``). ``lazy``: weights drawn only when saved."""
    if agents < 1:
        raise ParameterError(f"--agents must be at least 1, got {agents}")
    if seed < 0:
        raise ParameterError(f"--seed must be >= 0 for a swarm, got {seed}")
    if noise < 0:
        raise ParameterError(f"--noise must be >= 0, got {noise}")
    vary = vary or []
    names = [v.name for v in vary]
    if len(set(names)) != len(names):
        raise ParameterError("--vary names a parameter more than once")
    topo = build_topology(topology, agents, seed)
    if template is None:
        if layers is None:
            raise ParameterError("spawn needs --layers or --from NET")
        template = build(
            layers,
            shortcut=shortcut,
            connection_rate=connection_rate,
            hidden_activation=hidden_activation,
            output_activation=output_activation,
            hidden_steepness=hidden_steepness,
            output_steepness=output_steepness,
            seed=seed,
            dtype=dtype,
        )
        base = None
    else:
        template = template.copy()
        template.state = type(template.state)()
        base = template.weights
    weights: np.ndarray | InitialWeights = InitialWeights(
        seed, agents, base, template.weights.size, template.dtype, noise
    )
    if not lazy:
        weights = weights.materialize()
    if params is not None:
        template.params = params
    from fannctl.swarm.batched import Shape

    Shape.of(template)  # refuses what the batched trainer cannot compute (softmax)
    if template.params.rprop_variant != "fann":
        raise ParameterError("a swarm trains with FANN's RPROP variant only")
    if ALGORITHMS[template.params.training_algorithm] not in SWARM_ALGORITHMS:
        raise ParameterError(
            f"a swarm trains with {', '.join(SWARM_ALGORITHMS)}, not "
            f"{template.params.algorithm_name}"
        )
    steepness = np.broadcast_to(template.steepness, (agents, template.steepness.size)).copy()
    hyper = {
        name: np.full(agents, float(getattr(template.params, name))) for name in HYPERPARAMETERS
    }
    algorithm = np.full(agents, template.params.training_algorithm, dtype=np.int8)
    swarm = Swarm(template, weights, steepness, algorithm, hyper, topo, seed, vary=list(vary))
    for index, spec in enumerate(vary):
        u = block_uniform(seed, PURPOSE_VARY, agents, 1, offset=index)[:, 0]
        set_values(swarm, spec.name, np.arange(agents), spec.draw(u))
    swarm.events.add(0, "spawn", np.arange(agents))
    return swarm


def set_values(swarm: Swarm, name: str, rows: np.ndarray, values: np.ndarray) -> None:
    """Set a varied parameter for some agents (steepness names touch their layers)."""
    if name == "algorithm":
        swarm.algorithm[rows] = values
    elif name in HYPERPARAMETERS:
        swarm.hyper[name][rows] = values
    else:
        net = swarm.template
        last = len(net.layers) - 1
        layers = range(1, last) if name == "hidden_steepness" else [last]
        firsts = net.layer_first()
        counts = layer_counts(net.layers, net.network_type)
        for index in layers:
            cols = slice(firsts[index], firsts[index] + counts[index])
            swarm.steepness[rows, cols] = np.asarray(values, dtype=swarm.dtype)[:, None]


def get_values(swarm: Swarm, name: str) -> np.ndarray:
    """A varied parameter's value per agent (steepness: the layer's first neuron)."""
    if name == "algorithm":
        return swarm.algorithm.astype(np.float64)
    if name in HYPERPARAMETERS:
        return swarm.hyper[name]
    net = swarm.template
    index = 1 if name == "hidden_steepness" else len(net.layers) - 1
    return swarm.steepness[:, net.layer_first()[index]].astype(np.float64)
