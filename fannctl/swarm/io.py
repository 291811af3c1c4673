"""Swarm files: HDF5, schema ``fannctl-swarm`` version 1 (docs/HDF5_SCHEMA.md).

Written atomically (temp file, then rename), so a failed write leaves the old
file as it was. Arrays are stored agents first, uncompressed.

A swarm whose wide per-agent arrays exceed ``store.MEMORY_BUDGET`` loads with
them in scratch files (:class:`fannctl.swarm.store.AgentArray`): the guarded
child copies each dataset a chunk at a time into a scratch file the parent
opened, and a save copies them back a chunk at a time; neither holds the
arrays whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from fannctl.errors import FannctlError, FormatError
from fannctl.io._files import (
    HDF5_MAGIC,
    PathLike,
    atomic_write_path,
    display_name,
    read_head,
    run_guarded,
)
from fannctl.network import Network, Scaling, validate
from fannctl.params import TrainingParams
from fannctl.swarm import store
from fannctl.swarm.population import HYPERPARAMETERS, EventLog, InitialWeights, Swarm, Vary
from fannctl.swarm.topology import from_arrays

FORMAT = "fannctl-swarm"
SCHEMA_VERSION = 1
_STATE = (
    "prev_steps",
    "prev_slopes",
    "state_algorithm",
    "sarprop_epoch",
    "velocity",
    "best_weights",
    "best_error",
    "errors",
)
# the wide per-agent arrays, kept on disk when large: attribute -> dataset
_WIDE = {
    "weights": "agents/weights",
    "steepness": "agents/steepness",
    "prev_steps": "state/prev_steps",
    "prev_slopes": "state/prev_slopes",
    "velocity": "state/velocity",
    "best_weights": "state/best_weights",
}
_H5_ERRORS = (OSError, KeyError, RuntimeError, ValueError, TypeError, IndexError)


def is_swarm_file(path: PathLike) -> bool:
    """True when ``path`` is an HDF5 file whose root says ``format="fannctl-swarm"``.

    The attribute is read in a forked child (``run_guarded``), as every HDF5 read
    is: a damaged file on which the HDF5 library hangs or crashes becomes one
    FormatError naming it instead of a hung command.
    """
    if os.fspath(path) == "-" or not os.path.isfile(path):
        return False
    try:
        if not read_head(path, 8).startswith(HDF5_MAGIC):
            return False
    except FannctlError:
        return False
    size = os.path.getsize(path)
    return run_guarded(lambda: _format_attribute(path), display_name(path), size) == FORMAT


def _format_attribute(path: PathLike) -> str | None:
    """The root's ``format`` attribute (None when unreadable or absent)."""
    import h5py

    try:
        with h5py.File(path, "r") as root:
            return _format_of(root)
    except _H5_ERRORS:
        return None


def _format_of(root) -> str | None:
    """An open file's root ``format`` attribute, as text (None when absent)."""
    found = root.attrs.get("format")
    return found.decode() if isinstance(found, bytes) else None if found is None else str(found)


def save_swarm(swarm: Swarm, path: PathLike) -> None:
    """Write ``swarm`` to ``path`` atomically."""
    atomic_write_path(os.fspath(path), lambda tmp: _write(swarm, tmp))


def _write(swarm: Swarm, target: str) -> None:
    import h5py

    from fannctl import __version__

    net = swarm.template
    with h5py.File(target, "w") as root:
        root.attrs["format"] = FORMAT
        root.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
        root.attrs["fannctl_version"] = __version__
        root.attrs["dtype"] = swarm.dtype.name
        root.attrs["agents"] = np.int64(swarm.agents)
        root.attrs["seed"] = np.int64(swarm.seed)
        root.attrs["round"] = np.int64(swarm.round)
        root.attrs["vary"] = json.dumps([v.to_dict() for v in swarm.vary])
        shape = root.create_group("template")
        shape.attrs["network_type"] = np.int64(net.network_type)
        shape.attrs["connection_rate"] = np.float64(net.connection_rate)
        shape.attrs["params"] = json.dumps(net.params.to_dict())
        for name in ("layers", "activation", "num_inputs", "sources"):
            shape.create_dataset(name, data=np.asarray(getattr(net, name)))
        if net.scaling is not None:
            scaling = shape.create_group("scaling")
            for name in Scaling.FIELDS:
                scaling.create_dataset(name, data=np.asarray(getattr(net.scaling, name)))
        agents = root.create_group("agents")
        _put(agents, "weights", swarm.weights)
        _put(agents, "steepness", swarm.steepness)
        agents.create_dataset("algorithm", data=swarm.algorithm)
        hyper = agents.create_group("hyper")
        for name in HYPERPARAMETERS:
            hyper.create_dataset(name, data=swarm.hyper[name])
        state = root.create_group("state")
        for name in _STATE:
            value = getattr(swarm, name)
            if value is not None:
                _put(state, name, value)
        topo = root.create_group("topology")
        topo.attrs["spec"] = swarm.topology.spec
        if swarm.topology.offsets is not None:
            topo.create_dataset("offsets", data=swarm.topology.offsets)
            topo.create_dataset("neighbours", data=swarm.topology.neighbours)
        events = root.create_group("events")
        for name, column in swarm.events.columns().items():
            events.create_dataset(name, data=column)
        strings = h5py.string_dtype()
        rows = [json.dumps(r) for r in swarm.history]
        root.create_dataset("history", shape=(len(rows),), dtype=strings, data=rows or None)
        rows = [json.dumps(r) for r in swarm.provenance]
        root.create_dataset("provenance", shape=(len(rows),), dtype=strings, data=rows or None)


def _put(group: Any, name: str, value: Any) -> None:
    """A dataset from an array, or a chunk at a time from an AgentArray or lazy weights."""
    if isinstance(value, InitialWeights):
        dataset = group.create_dataset(name, shape=value.shape, dtype=value.dtype)
        for lo, hi, block in value.blocks():
            dataset[lo:hi] = block
    elif isinstance(value, store.AgentArray):
        dataset = group.create_dataset(name, shape=value.shape, dtype=value.dtype)
        for lo, hi, block in value.blocks():
            dataset[lo:hi] = block
    else:
        group.create_dataset(name, data=value)


def load_swarm(path: PathLike, meanwhile: Callable[[], object] | None = None) -> Swarm:
    """Read a swarm file; FormatError (one line, naming the file) if it is not one.
    The file is parsed in a forked child (``run_guarded``), as every HDF5 read is;
    wide arrays past ``store.MEMORY_BUDGET`` go to scratch files, not memory.
    ``meanwhile()`` runs in this process while the child reads (``swarm run
    --device`` opens its OpenCL device there)."""
    name = display_name(path)
    if not os.path.isfile(os.fspath(path)):
        raise FannctlError(f"{name}: no such file")
    if not read_head(path, 8).startswith(HDF5_MAGIC):
        raise _not_a_swarm(name)
    # the format attribute is checked in the same child that reads (``_open``): each
    # forked read costs ~30 ms of copy-on-write faults in a loaded process
    size = os.path.getsize(path)
    disk: dict[str, store.AgentArray] = {}
    if size > store.MEMORY_BUDGET:
        wide = run_guarded(lambda: _open(path, name, _wide_shapes), name, size)
        if sum(int(np.prod(s)) * np.dtype(d).itemsize for s, d in wide.values()) > (
            store.MEMORY_BUDGET
        ):
            where = os.path.dirname(os.path.abspath(os.fspath(path)))
            disk = {key: store.AgentArray(s, d, where) for key, (s, d) in wide.items()}
    swarm = run_guarded(
        lambda: _open(path, name, lambda root: _read(root, name, disk)), name, size, meanwhile
    )
    for key, array in disk.items():  # filled by the child through the inherited files
        setattr(swarm, key, array)
    return swarm


def _not_a_swarm(name: str) -> FormatError:
    return FormatError(f'{name}: not a fannctl swarm file (no format="{FORMAT}" attribute)')


def _open(path: PathLike, name: str, read: Any) -> Any:
    import h5py

    try:
        with h5py.File(path, "r") as root:
            if _format_of(root) != FORMAT:
                raise _not_a_swarm(name)
            version = int(root.attrs.get("schema_version", -1))
            if version > SCHEMA_VERSION or version < 1:
                raise FormatError(
                    f"{name}: swarm schema version {version} is newer than this fannctl reads "
                    f"({SCHEMA_VERSION})"
                )
            return read(root)
    except FannctlError:
        raise
    except _H5_ERRORS as error:
        raise FormatError(f"{name}: broken swarm file ({str(error).splitlines()[0]})") from None


def _wide_shapes(root: Any) -> dict[str, tuple[tuple[int, ...], str]]:
    """Shape and dtype of each wide per-agent dataset the file holds."""
    found = {}
    for key, where in _WIDE.items():
        if where in root and len(root[where].shape) == 2:
            found[key] = (tuple(int(n) for n in root[where].shape), root[where].dtype.str)
    return found


def _wide(root: Any, key: str, disk: dict[str, store.AgentArray]) -> Any:
    """A wide dataset: read whole, or copied a chunk at a time into its scratch file."""
    dataset = root[_WIDE[key]]
    if key not in disk:
        return dataset[()]
    target = disk[key]
    if dataset.shape != target.shape:
        raise FormatError(f"broken swarm file ({key} changed while read)")
    for lo in range(0, target.shape[0], target.block_rows()):
        target.write(lo, dataset[lo : lo + target.block_rows()])
    return target


def _read(root: Any, name: str, disk: dict[str, store.AgentArray] | None = None) -> Swarm:
    disk = disk or {}
    shape = root["template"]
    agents = root["agents"]
    weights = _wide(root, "weights", disk)
    steepness = _wide(root, "steepness", disk)
    scaling = None
    if "scaling" in shape:
        scaling = Scaling(*(shape["scaling"][f][()] for f in Scaling.FIELDS))
    template = Network(
        layers=[int(n) for n in shape["layers"][()]],
        network_type=int(shape.attrs["network_type"]),
        connection_rate=float(shape.attrs["connection_rate"]),
        activation=shape["activation"][()].astype(np.int32),
        steepness=steepness[0].copy(),
        num_inputs=shape["num_inputs"][()].astype(np.int64),
        sources=shape["sources"][()].astype(np.int64),
        weights=weights[0].copy(),
        params=TrainingParams.from_dict(json.loads(_text(shape.attrs["params"]))),
        scaling=scaling,
    )
    validate(template)
    n = int(root.attrs["agents"])
    if weights.shape != (n, template.weights.size) or steepness.shape != (
        n,
        template.total_neurons,
    ):
        raise FormatError(f"{name}: agent arrays do not match the template's shape")
    topo = root["topology"]
    spec = _text(topo.attrs["spec"])
    offsets = topo["offsets"][()] if "offsets" in topo else None
    neighbours = topo["neighbours"][()] if "neighbours" in topo else None
    swarm = Swarm(
        template=template,
        weights=weights,
        steepness=steepness,
        algorithm=agents["algorithm"][()].astype(np.int8),
        hyper={
            # absent from files written before weight decay: FANN's behaviour (0)
            k: agents["hyper"][k][()].astype(np.float64)
            if k in agents["hyper"]
            else np.zeros(int(root.attrs["agents"]))
            for k in HYPERPARAMETERS
        },
        topology=from_arrays(spec, n, offsets, neighbours),
        seed=int(root.attrs["seed"]),
        round=int(root.attrs["round"]),
        vary=[Vary.from_dict(d) for d in json.loads(_text(root.attrs["vary"]))],
    )
    for key in _STATE:
        if key in root["state"]:
            value = _wide(root, key, disk) if key in _WIDE else root["state"][key][()]
            setattr(swarm, key, value)
    events = EventLog()
    columns = {k: root["events"][k][()] for k in EventLog.COLUMNS}
    _check_shapes(swarm, columns, name)
    if columns["agent"].size:
        for k, v in columns.items():
            getattr(events, k).append(v)
    swarm.events = events
    swarm.history = (
        [json.loads(_text(r)) for r in root["history"][()]] if root["history"].shape[0] else []
    )
    if root["provenance"].shape[0]:
        swarm.provenance = [json.loads(_text(r)) for r in root["provenance"][()]]
    for key in disk:  # the parent holds these; the child sends back the rest
        setattr(swarm, key, None)
    return swarm


def _check_shapes(swarm: Swarm, columns: dict[str, np.ndarray], name: str) -> None:
    """Refuse a file whose per-agent arrays disagree with its agent count and shape
    (a damaged file would otherwise fail later, far from its cause)."""
    n, c = swarm.weights.shape
    expected = {
        "algorithm": (n,),
        "prev_steps": (n, c),
        "prev_slopes": (n, c),
        "state_algorithm": (n,),
        "sarprop_epoch": (n,),
        "velocity": (n, c),
        "best_weights": (n, c),
        "best_error": (n,),
        "errors": (n,),
    }
    wrong = [
        key
        for key, shape in expected.items()
        if getattr(swarm, key) is not None and getattr(swarm, key).shape != shape
    ]
    wrong += [key for key, values in swarm.hyper.items() if values.shape != (n,)]
    if swarm.topology.neighbours is not None and swarm.topology.neighbours.size:
        if swarm.topology.neighbours.min() < 0 or swarm.topology.neighbours.max() >= n:
            wrong.append("topology/neighbours")
    if len({column.shape for column in columns.values()}) > 1:
        wrong.append("events")
    if swarm.algorithm.size and not np.isin(swarm.algorithm, range(5)).all():
        wrong.append("algorithm (unknown numbers)")
    if wrong:
        raise FormatError(f"{name}: broken swarm file ({', '.join(wrong)} of the wrong shape)")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
