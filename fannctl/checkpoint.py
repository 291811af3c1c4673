"""Interrupt and resume: stop requests from signals, checkpoint cadence, run records.

SIGINT or SIGTERM during a run sets a :class:`StopRequest`; the training loop
reads it between epochs, so the run ends after the epoch in progress with a
consistent network (weights and training state of the same epoch), which the
caller saves. A second signal of the same kind is not caught: it ends the
process at once (the file on disk is still whole, writes being atomic).

A checkpoint is the network file itself, written atomically, with a
:class:`RunRecord` in its training state saying how far the run got. Resuming
reads it back: the epochs done count toward ``max_epochs``, and because the
file keeps every training array (and SARPROP's generator), a run interrupted
any number of times ends with the same weights as one that never was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

from fannctl.errors import FormatError, ParameterError
from fannctl.io._files import PathLike
from fannctl.network import Network

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class StopRequest:
    """Whether a stop was asked for (callable: ``if stop(): ...``), and by which signal."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self) -> bool:
        return self.signal is not None

    def request(self, signum: int = signal.SIGINT) -> None:
        """Ask the run to stop after the epoch in progress."""
        if self.signal is None:
            self.signal = signum

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM (128 + the signal number)."""
        return 128 + int(self.signal or signal.SIGINT)

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signal or signal.SIGINT).name


@contextlib.contextmanager
def stop_on_signals(
    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM),
) -> Iterator[StopRequest]:
    """Catch ``signals`` for the ``with`` block as a :class:`StopRequest`.

    The first signal only sets the request; the handler then puts the previous
    handler back, so a second one acts at once (Ctrl-C twice: stop now).
    Outside the main thread (where Python cannot catch signals) nothing is caught.
    """
    stop = StopRequest()
    previous: dict[int, object] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.request(signum)
        for number, old in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(number, old)  # type: ignore[arg-type]

    try:
        for number in signals:
            previous[number] = signal.signal(number, handler)
    except ValueError:  # not the main thread
        previous.clear()
    try:
        yield stop
    finally:
        for number, old in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(number, old)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CheckpointEvery:
    """How often a run saves as it goes: every ``epochs`` epochs or every ``seconds``."""

    epochs: int = 0
    seconds: float = 0.0

    def due(self, epochs_done: int, since_last: float) -> bool:
        """Whether to save after ``epochs_done`` epochs, ``since_last`` s after the last save."""
        if self.epochs:
            return epochs_done % self.epochs == 0
        return bool(self.seconds) and since_last >= self.seconds

    def __bool__(self) -> bool:
        return bool(self.epochs or self.seconds)


_EVERY_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?)\s*(s|m|h|epochs?)?\s*", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_every(text: str | None, what: str = "--checkpoint-every") -> CheckpointEvery:
    """``N`` (epochs, rounds) or a time such as ``30s``, ``5m``, ``1h``; None: never."""
    if text is None:
        return CheckpointEvery()
    match = _EVERY_RE.fullmatch(text)
    if not match:
        raise ParameterError(
            f"{what}: expected a count of epochs (100) or a time (30s, 5m, 1h), got {text!r}"
        )
    number, unit = match.group(1), (match.group(2) or "").lower()
    if unit in _UNIT_SECONDS:
        seconds = float(number) * _UNIT_SECONDS[unit]
        if not seconds > 0:
            raise ParameterError(f"{what}: the time must be above 0, got {text!r}")
        return CheckpointEvery(seconds=seconds)
    if "." in number or int(number) < 1:
        raise ParameterError(f"{what}: the epoch count must be a whole number >= 1, got {text!r}")
    return CheckpointEvery(epochs=int(number))


@dataclass
class RunRecord:
    """How far an interrupted (or checkpointed) run got; kept in the network file.

    ``offset``: epochs the network had before the run; ``epochs_done``: epochs
    this run has completed; ``max_epochs``: the run's limit, which the epochs
    done count toward on resume. For cascade, the steps are neurons and
    ``max_epochs`` is ``--max-neurons``; ``state`` keeps what else a run needs
    to go on exactly (cascade: its epochs so far and its generator).
    """

    epochs_done: int
    max_epochs: int
    offset: int = 0
    command: str = ""
    time: str = ""
    reason: str = "checkpoint"
    kind: str = "train"
    state: dict = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> RunRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        record = cls(**{k: v for k, v in values.items() if k in names})
        if (
            not isinstance(record.epochs_done, int)
            or not isinstance(record.max_epochs, int)
            or not isinstance(record.offset, int)
            or record.epochs_done < 0
            or record.offset < 0
        ):
            raise ValueError(f"bad run record {values!r}")
        return record


class Checkpointer:
    """The ``on_checkpoint`` callback of a run: saves the network with its RunRecord.

    The saved file is the network as it stands after ``epochs_done`` epochs
    (weights and training state of the same epoch), its history extended by the
    run's report points so far, written atomically to ``path``.
    """

    def __init__(
        self,
        net: Network,
        path: PathLike,
        *,
        max_epochs: int,
        offset: int,
        command: str,
        algorithm: str,
        device: str | None = None,
    ) -> None:
        self.net = net
        self.path = path
        self.max_epochs = max_epochs
        self.offset = offset
        self.command = command
        self.algorithm = algorithm
        self.device = device
        self.saved = 0

    def record(self, epochs_done: int, reason: str = "checkpoint") -> RunRecord:
        return RunRecord(epochs_done, self.max_epochs, self.offset, self.command, now(), reason)

    def __call__(self, epochs_done: int, reports: list, reason: str = "checkpoint") -> None:
        save_checkpoint(
            self.net,
            self.path,
            self.record(epochs_done, reason),
            reports,
            algorithm=self.algorithm,
            device=self.device,
        )
        self.saved += 1


def save_checkpoint(
    net: Network,
    path: PathLike,
    record: RunRecord,
    reports: list,
    *,
    algorithm: str,
    device: str | None = None,
) -> None:
    """Write ``net`` with ``record`` and the run's ``reports`` to ``path``, atomically.

    ``net`` itself is not changed (its history and state are copied).
    """
    from fannctl import io, provenance

    snapshot = dataclasses.replace(
        net,
        history=list(net.history),
        state=dataclasses.replace(net.state, run=record.to_dict()),
    )
    if record.kind == "cascade":
        provenance.add_cascade_history(snapshot, reports, algorithm, record.offset)
    else:
        provenance.add_history(snapshot, reports, algorithm, record.offset, device)
    io.save_network(snapshot, path)


def run_record(net: Network) -> RunRecord | None:
    """The unfinished run a network file holds, if any."""
    if net.state.run is None:
        return None
    try:
        return RunRecord.from_dict(net.state.run)
    except (TypeError, ValueError) as error:
        raise FormatError(f"the network's run record is broken ({error})") from None


def resume_from(net: Network, name: str, max_epochs: int, kind: str = "train") -> RunRecord:
    """The run to resume from ``net`` (read from ``name``); ParameterError if there is none."""
    record = run_record(net)
    if record is None:
        raise ParameterError(
            f"{name}: holds no interrupted run to resume (it finished, or ran without "
            f"--checkpoint-every and was not interrupted); {kind} without --resume"
        )
    if record.kind != kind:
        raise ParameterError(
            f"{name}: holds an interrupted {record.kind} run, not a {kind} run; "
            f"resume it with fannctl {record.kind} --resume"
        )
    steps, limit = ("neurons", "--max-neurons") if kind == "cascade" else ("epochs", "--max-epochs")
    if record.epochs_done > max_epochs:
        raise ParameterError(
            f"{name}: the interrupted run has done {record.epochs_done} {steps}, "
            f"more than {limit} {max_epochs}"
        )
    return record


def now() -> str:
    """The time as run records store it (UTC, ISO 8601)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def resume_hint(command: str) -> str:
    """The command that resumes an interrupted run: ``command`` with ``--resume``."""
    return command if " --resume" in f" {command}" else f"{command} --resume"


__all__ = [
    "EXIT_CODES",
    "CheckpointEvery",
    "Checkpointer",
    "RunRecord",
    "StopRequest",
    "now",
    "parse_every",
    "resume_from",
    "resume_hint",
    "run_record",
    "save_checkpoint",
    "stop_on_signals",
]
