"""One writer per file: an advisory lock on a file that a run will replace.

A command that replaces a network (``train``, ``cascade``, ``create``) holds the
lock for its whole run. The lock is ``fcntl.flock`` on a sidecar file
``.NAME.lock`` beside the target, holding the holder's pid and command line, so
a second writer can say who holds it. Readers never take it: they see whole
files anyway (writes are temp file + rename). The kernel drops a ``flock`` when
its process dies, so a sidecar left behind by a killed run (``kill -9``) is
stale: the next writer takes it over and says so in ``WriterLock.taken_over``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass

from fannctl.errors import FannctlError
from fannctl.io._files import PathLike


class LockedError(FannctlError):
    """Another process is writing the same file (exit 1: try again later)."""

    exit_code = 1


@dataclass
class WriterLock:
    """A held lock: the target, its sidecar, and a note when a stale lock was taken over."""

    target: str
    lock_path: str
    fd: int
    taken_over: str | None = None


def lock_path_for(path: PathLike) -> str:
    """The sidecar lock file of ``path``: ``.NAME.lock`` in the same folder."""
    target = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(target)
    return os.path.join(folder, f".{name}.lock")


def _describe(content: str) -> tuple[int | None, str]:
    """(pid, command) from a lock file's text (``pid`` line, then the command)."""
    first, _, rest = content.partition("\n")
    try:
        pid = int(first.strip())
    except ValueError:
        pid = None
    return pid, rest.strip() or "unknown command"


def _read_text(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 65536).decode("utf-8", errors="replace")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire(path: PathLike, command: str) -> WriterLock:
    """Take the writer lock of ``path`` at once, or raise LockedError naming the holder.

    Also fails (FannctlError, exit 2) when the folder of ``path`` is missing or
    not writable, so a run learns that before any work.
    """
    target = os.fspath(path)
    sidecar = lock_path_for(target)
    while True:
        try:
            fd = os.open(sidecar, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            raise FannctlError(f"{target}: cannot write: no such directory") from None
        except OSError as error:
            raise FannctlError(
                f"{target}: cannot write: {error.strerror or error} "
                f"(cannot create the lock file {sidecar})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            text = _read_text(fd)
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise FannctlError(f"{target}: cannot lock: {error.strerror or error}") from None
            pid, holder = _describe(text)
            who = f"pid {pid}" if pid is not None else "another process"
            raise LockedError(
                f"{target}: another fannctl is writing it ({who}: {holder}); "
                "wait for it to finish, or stop it"
            ) from None
        # The holder may have removed the sidecar between our open and our flock;
        # then we locked a file nobody else will look at: start again.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(sidecar))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    note = None
    previous = _read_text(fd)
    if previous.strip():
        pid, holder = _describe(previous)
        if pid != os.getpid():
            state = "still running but not holding it" if pid and _pid_alive(pid) else "gone"
            note = (
                f"took over a stale lock on {target} left by pid {pid} ({holder}), "
                f"a process now {state}"
            )
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"{os.getpid()}\n{command}\n".encode("utf-8", errors="replace"))
    if note is not None:
        removed = remove_stale_temp_files(target)
        if removed:
            note += f"; removed {removed} temp file(s) its interrupted write left"
    return WriterLock(target, sidecar, fd, note)


def remove_stale_temp_files(path: PathLike) -> int:
    """Remove ``.NAME.*.tmp`` beside ``path`` (atomic writes' temp files); how many.

    Only for a writer that holds the lock after a stale one: any such file was
    left by a writer killed mid-write.
    """
    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    removed = 0
    for candidate in glob.glob(
        os.path.join(glob.escape(folder), glob.escape(f".{name}.") + "*.tmp")
    ):
        with contextlib.suppress(OSError):
            os.unlink(candidate)
            removed += 1
    return removed


def release(lock: WriterLock) -> None:
    """Drop the lock and remove its sidecar (while still holding it, so no race)."""
    with contextlib.suppress(OSError):
        os.unlink(lock.lock_path)
    with contextlib.suppress(OSError):
        os.close(lock.fd)


@contextlib.contextmanager
def writer_lock(path: PathLike, command: str) -> Iterator[WriterLock]:
    """Hold the writer lock of ``path`` for the ``with`` block (see :func:`acquire`)."""
    lock = acquire(path, command)
    try:
        yield lock
    finally:
        release(lock)


__all__ = ["LockedError", "WriterLock", "acquire", "lock_path_for", "release", "writer_lock"]
