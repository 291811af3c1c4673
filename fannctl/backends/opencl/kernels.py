"""The OpenCL kernel sources: where they live, and building them once.

The ``.cl`` files sit in the top-level ``kernels/`` folder of a source
checkout; a wheel carries them as ``fannctl/kernels/`` (pyproject maps one to
the other). ``FANNCTL_KERNEL_DIR`` points elsewhere (kernel development, and
the tests' broken-kernel faults). Only this module knows where they are.

A program is built once per (context, source, options) and kept with its
kernel objects. Binaries are cached on disk under
``FANNCTL_CACHE_DIR``, else ``$XDG_CACHE_HOME/fannctl`` (``~/.cache/fannctl``),
keyed by the source, the options, the device, its driver and pyopencl's
version; ``FANNCTL_NO_CACHE=1`` turns that off. A failed build raises
``DeviceError`` with the full build log. ``on_compile``, when set, hears of
each build from source (the CLI says on stderr that kernels are compiling,
since that takes seconds).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fannctl.errors import DeviceError

# The files one program is made of, in order (each may use the ones before).
PROGRAM_FILES = (
    "common",
    "activations",
    "pattern",
    "update",
    "layered",
    "dense",
    "infer",
    "fused",
)
KERNEL_NAMES = (
    "pattern_pass",
    "accumulate_slopes",
    "finish_epoch",
    "update_weights",
    "update_sarprop",
    "train_epochs",
    "dense_init",
    "dense_forward",
    "dense_output_delta",
    "dense_backprop",
    "dense_slopes",
    "dense_infer",
)
# cascade's fused candidate kernel: its own small program, built per output count
CANDIDATE_FILES = ("common", "activations", "candidates")
CANDIDATE_KERNELS = ("candidate_errors",)


def kernel_dir() -> Path:
    """The folder holding the ``.cl`` files (``FANNCTL_KERNEL_DIR`` overrides)."""
    override = os.environ.get("FANNCTL_KERNEL_DIR")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parents[2]  # fannctl/
    for candidate in (package / "kernels", package.parent / "kernels"):
        if (candidate / "common.cl").is_file():
            return candidate
    raise DeviceError(
        f"OpenCL kernels not found (looked in {package / 'kernels'} and "
        f"{package.parent / 'kernels'}); reinstall fannctl or set FANNCTL_KERNEL_DIR"
    )


def kernel_files() -> list[Path]:
    """Every ``.cl`` file fannctl ships."""
    return sorted(kernel_dir().glob("*.cl"))


def load(*names: str) -> str:
    """The source of the named kernel files, concatenated in order."""
    folder = kernel_dir()
    parts = []
    for name in names:
        path = folder / f"{name}.cl"
        try:
            parts.append(f'#line 1 "{name}.cl"\n' + path.read_text())
        except OSError as exc:
            raise DeviceError(f"cannot read kernel {path}: {exc.strerror or exc}") from None
    return "\n".join(parts)


on_compile: Callable[[str], None] | None = None
"""Called with the device's name before a build from source (not from the cache)."""


def cache_dir() -> Path | None:
    """Where built binaries go, or None when ``FANNCTL_NO_CACHE`` is set."""
    if os.environ.get("FANNCTL_NO_CACHE", "").strip() not in ("", "0"):
        return None
    given = os.environ.get("FANNCTL_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fannctl"


def source_digest() -> str:
    """A digest of every kernel file (a verdict holds for these sources only)."""
    digest = hashlib.sha256()
    try:
        for path in kernel_files():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    except (OSError, DeviceError):
        digest.update(b"unreadable")
    return digest.hexdigest()[:16]


@dataclass
class Program:
    """A built program and its kernel objects (each looked up once)."""

    program: object
    kernels: dict[str, object] = field(default_factory=dict)
    from_cache: bool = False
    log: str = ""

    def kernel(self, name: str):
        """The kernel object ``name`` (created on first use, then reused)."""
        found = self.kernels.get(name)
        if found is None:
            import pyopencl as cl

            try:
                found = self.kernels[name] = cl.Kernel(self.program, name)
            except cl.Error as exc:
                raise DeviceError(f"kernel {name!r} is not in the built program: {exc}") from None
        return found


_BUILT: dict[tuple, Program] = {}
_LOCK = threading.Lock()


def _cache_key(device, source: str, options: str) -> str:
    import pyopencl as cl

    parts = [
        source,
        options,
        device.name,
        device.vendor,
        device.version,
        device.driver_version,
        device.platform.name,
        device.platform.version,
        cl.VERSION_TEXT,
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def build(
    context, device, source: str, options: str, names: tuple[str, ...] = KERNEL_NAMES
) -> Program:
    """Build ``source`` for ``device`` once (memory, then disk cache); DeviceError on
    failure, or when a kernel in ``names`` is missing from the result."""
    key = (context.int_ptr, hashlib.sha256(source.encode()).hexdigest(), options)
    with _LOCK:
        found = _BUILT.get(key)
        if found is not None:
            return found
        program = _build(context, device, source, options, names)
        _BUILT[key] = program
        return program


def _build(context, device, source: str, options: str, names: tuple[str, ...]) -> Program:
    import pyopencl as cl

    folder = cache_dir()
    cache_file = folder / f"{_cache_key(device, source, options)}.bin" if folder else None
    opts = options.encode()
    if cache_file is not None and cache_file.is_file():
        try:
            binary = cache_file.read_bytes()
            prg = cl._cl._Program(context, [device], [binary])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", cl.CompilerWarning)
                prg.build(opts, [device])
            _check_kernels(prg, names)
            return Program(prg, from_cache=True)
        except (cl.Error, OSError, ValueError):
            pass  # a stale or unreadable binary: build from source instead
    if on_compile is not None:
        on_compile(device.name.strip())
    prg = cl._cl._Program(context, source)
    try:
        with warnings.catch_warnings():
            # the build log is kept (Program.log); pyopencl must not print it
            warnings.simplefilter("ignore", cl.CompilerWarning)
            prg.build(opts, [device])
    except cl.Error as exc:
        log = _build_log(prg, device)
        raise DeviceError(
            f"OpenCL build failed on {device.name.strip()} (options {options!r}, "
            f"error {getattr(exc, 'code', '?')}): {str(exc).splitlines()[0]}\n"
            f"--- build log ---\n{log.strip()}"
        ) from None
    log = _build_log(prg, device)
    try:
        _check_kernels(prg, names)
    except DeviceError as exc:
        raise DeviceError(f"{exc}\n--- build log ---\n{log.strip()}") from None
    if cache_file is not None:
        _store(cache_file, prg)
    return Program(prg, log=log)


def _check_kernels(prg, expected: tuple[str, ...]) -> None:
    """A build that 'succeeds' without kernels (a silent codegen failure) is a failure."""
    import pyopencl as cl

    names = set(str(prg.get_info(cl.program_info.KERNEL_NAMES)).split(";"))
    missing = [name for name in expected if name not in names]
    if missing:
        raise DeviceError(f"OpenCL build produced no kernel {', '.join(missing)}")


def _build_log(prg, device) -> str:
    import pyopencl as cl

    try:
        return str(prg.get_build_info(device, cl.program_build_info.LOG))
    except cl.Error:
        return "(no build log available)"


def _store(path: Path, prg) -> None:
    """Write the program's binary atomically; a cache that cannot be written is skipped."""
    import pyopencl as cl

    try:
        binaries = prg.get_info(cl.program_info.BINARIES)
        if not binaries or not binaries[0]:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".bin")
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(binaries[0]))
        os.replace(tmp, path)
    except (OSError, cl.Error):
        return


def forget() -> None:
    """Drop the built programs kept in memory (tests; a lost context)."""
    with _LOCK:
        _BUILT.clear()
