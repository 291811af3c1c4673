"""Shared plumbing for the format modules: reading bytes, gzip, atomic writes, numbers."""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from fannctl.errors import FannctlError, FormatError

PathLike = str | os.PathLike
T = TypeVar("T")

GZIP_MAGIC = b"\x1f\x8b"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
STDIN_NAME = "<stdin>"

# A decimal number as C's strtod reads it, plus nan/inf (which callers may reject).
NUMBER = r"[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|(?i:inf(?:inity)?|nan))"
NUMBER_RE = re.compile(NUMBER)
FINITE_RE = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
# Characters a file of finite decimal numbers can hold (the fast parsing paths check this).
PLAIN_NUMERIC_TEXT = re.compile(r"[0-9eE+\-.\s]*")


def display_name(path: PathLike) -> str:
    """The name used in messages: the path as given, ``<stdin>`` for ``-``."""
    text = os.fspath(path)
    return STDIN_NAME if text == "-" else str(text)


@contextlib.contextmanager
def _reading(path: PathLike):
    """Turn an OS error while reading ``path`` into one-line FannctlError."""
    try:
        yield
    except FileNotFoundError:
        raise FannctlError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FannctlError(f"{path}: is a directory, not a file") from None
    except OSError as error:
        raise FannctlError(f"{path}: cannot read: {error.strerror or error}") from None


def read_bytes(path: PathLike) -> bytes:
    """Read a whole file (``-`` = stdin); raise FannctlError with one line on failure."""
    if os.fspath(path) == "-":
        return sys.stdin.buffer.read()
    with _reading(path):
        return Path(path).read_bytes()


def read_head(path: PathLike, size: int = 8) -> bytes:
    """Read the first ``size`` bytes of a file (for telling formats apart)."""
    with _reading(path), open(path, "rb") as handle:
        return handle.read(size)


def gunzip_if_needed(data: bytes, name: str) -> bytes:
    """Decompress gzip data (detected by its magic bytes); return other data unchanged."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise FormatError(f"{name}: corrupt gzip data ({error})") from None


def decode_text(data: bytes) -> str:
    """Decode a text file; undecodable bytes become U+FFFD and fail number parsing later."""
    return data.decode("utf-8", errors="replace")


def line_number(text: str, pos: int) -> int:
    """1-based number of the line holding character ``pos``."""
    return text.count("\n", 0, pos) + 1


def last_line_number(text: str) -> int:
    """Number of the last line that holds anything but whitespace (1 for an empty text)."""
    stripped = text.rstrip()
    return stripped.count("\n") + 1


def snippet(text: str, limit: int = 40) -> str:
    """A short quotable piece of ``text`` for an error message."""
    text = text.strip().splitlines()[0] if text.strip() else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_number_fields(
    fields: list[str], name: str, number: int, label: str = "value"
) -> list[float]:
    """Convert one line's fields to finite floats; raise FormatError naming FILE:LINE."""
    values = []
    for column, raw in enumerate(fields, start=1):
        field = raw.strip()
        where = f"{name}:{number}: {label} {column}"
        if not FINITE_RE.fullmatch(field):
            if not field:
                raise FormatError(f"{where}: empty value")
            if NUMBER_RE.fullmatch(field):
                raise FormatError(f"{where}: '{field}' (NaN and Inf are not allowed)")
            raise FormatError(f"{where}: '{snippet(field)}' is not a number")
        value = float(field)
        if value in (float("inf"), float("-inf")):
            raise FormatError(f"{where}: '{snippet(field)}' is out of range")
        values.append(value)
    return values


def _mode_for_new_file(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path: PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Write a file through ``write(handle)`` atomically: temp file, fsync, rename.

    If ``write`` raises, the temp file is removed and an existing ``path`` is left
    untouched; the exception propagates.
    """
    atomic_write_path(path, lambda tmp: _write_through_handle(tmp, write))


def _write_through_handle(tmp: str, write: Callable[[BinaryIO], None]) -> None:
    with open(tmp, "wb") as handle:
        write(handle)
        handle.flush()


def atomic_write_path(path: PathLike, write_to: Callable[[str], None]) -> None:
    """Like :func:`atomic_write`, for writers that need a file name (``write_to(tmp)``)."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(
            dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
        )
    except FileNotFoundError:
        raise FannctlError(f"{target}: cannot write: no such directory") from None
    except OSError as error:
        raise FannctlError(f"{target}: cannot write: {error.strerror or error}") from None
    os.close(fd)
    try:
        write_to(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, _mode_for_new_file(target))
        os.replace(tmp, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise FannctlError(f"{target}: cannot write: {error.strerror or error}") from None
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_text_output(path: PathLike, text: str) -> None:
    """Write text to ``path`` atomically, or to stdout for ``-``."""
    if os.fspath(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    atomic_write(path, lambda handle: handle.write(text.encode("ascii")))


# The HDF5 library can loop forever or crash on a damaged file (found by
# fuzzing: a corrupt attribute message hangs H5Aread; other damage segfaults).
# Neither can be caught in-process, so HDF5 files are parsed in a forked child:
# a hang or a crash there becomes one FormatError here.
GUARD_SECONDS = 10.0
GUARD_SECONDS_PER_MB = 0.5
GUARD = True  # False: read in-process (a library user who trusts the files)


def run_guarded(
    read: Callable[[], T],
    name: str,
    size: int = 0,
    meanwhile: Callable[[], object] | None = None,
) -> T:
    """``read()`` in a forked child (where fork exists), its result or error passed back.

    A child that crashes, or runs past GUARD_SECONDS (plus GUARD_SECONDS_PER_MB
    per MB of ``size``), is reported as a FormatError naming the file.
    ``meanwhile()``, if given, runs in this process while the child reads (the
    two overlap on two cores); an error it raises ends the child and is raised.
    """
    import pickle
    import select
    import signal
    import time

    if not GUARD or not hasattr(os, "fork"):
        value = read()
        if meanwhile is not None:
            meanwhile()
        return value
    import h5py  # noqa: F401  # every guarded read is HDF5's: loaded once here, not in each child

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read, send back, leave without cleanup handlers
        import faulthandler

        faulthandler.disable()  # a crash here is the parent's to report, in one line
        for crash in (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL):
            # default actions: a handler another library installed in this process
            # (LLVM's, once PoCL has compiled a kernel) would let the child go on
            signal.signal(crash, signal.SIG_DFL)
        os.close(reader)
        try:
            try:
                payload = pickle.dumps(("ok", read()))
            except BaseException as error:  # passed back to the parent as is
                try:
                    payload = pickle.dumps(("error", error))
                except Exception:
                    payload = pickle.dumps(("error", FormatError(f"{name}: {error}")))
            with os.fdopen(writer, "wb") as out:
                out.write(payload)
        finally:
            os._exit(0)
    os.close(writer)
    if meanwhile is not None:
        try:
            meanwhile()
        except BaseException:
            os.close(reader)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
    limit = GUARD_SECONDS + GUARD_SECONDS_PER_MB * size / 1e6
    deadline = time.monotonic() + limit
    chunks = []
    try:
        while True:
            left = deadline - time.monotonic()
            ready = select.select([reader], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise FormatError(
                    f"{name}: damaged HDF5 file (the HDF5 library was still reading it "
                    f"after {limit:.0f} s)"
                )
            chunk = os.read(reader, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(reader)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else "no result"
        raise FormatError(f"{name}: damaged HDF5 file (the HDF5 library crashed reading it: {how})")
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise value
    return value
