"""Device names that stay the same, the ``--device`` grammar, and leaving devices out.

``cl:N`` numbers the OpenCL devices in the order the driver lists them, which
changes with context (``POCL_DEVICES``, a second ICD installed, ``--threads``).
Each device therefore also has a stable name, ``PLATFORM/DEVICE``: the
platform as a slug with PoCL's own version for PoCL (``pocl-3.1``,
``pocl-3.0-rc2``: two PoCLs can be installed side by side), and the device
as a slug of its name, which for PoCL includes the variant (``basic-...``,
``pthread-...``); a second device of the same name on one platform gets
``-2``, and so on. ``fannctl health`` prints both.

Leaving devices out: ``FANNCTL_DEVICE_EXCLUDE`` (comma-separated names or
shell patterns, ``pocl-3.0-rc2/*``) and the ``exclude`` entry of the
``[devices]`` section of the config file (``FANNCTL_CONFIG``, else
``$XDG_CONFIG_HOME/fannctl/config.ini``, else ``~/.config/fannctl/config.ini``).
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
from pathlib import Path

from fannctl.errors import ParameterError

KINDS = ("auto", "numpy", "cl")
ENV_DEVICE = "FANNCTL_DEVICE"
ENV_EXCLUDE = "FANNCTL_DEVICE_EXCLUDE"
ENV_CONFIG = "FANNCTL_CONFIG"


def slug(text: str) -> str:
    """Lower case, runs of anything but letters, digits, dots and dashes become one dash."""
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.") or "device"


def pocl_version(platform_version: str) -> str | None:
    """PoCL's version from its platform version string ('OpenCL 3.0 PoCL 3.1+debian ...')."""
    found = re.search(r"PoCL\s+(\d[\w.\-]*)", platform_version)
    if not found:
        return None
    return found.group(1).split("+")[0]


def llvm_version(platform_version: str) -> str | None:
    """The LLVM a PoCL was built on, from its platform version string."""
    found = re.search(r"LLVM\s+(\d[\d.]*)", platform_version)
    return found.group(1) if found else None


def platform_key(platform: str, platform_version: str) -> str:
    """``pocl-VERSION`` for PoCL, else the platform's name as a slug."""
    version = pocl_version(platform_version)
    if version is not None:
        return f"pocl-{slug(version)}"
    return slug(platform)


def stable_names(devices: list[tuple[str, str, str]]) -> list[str]:
    """Stable names for (platform, platform version, device name) triples, in order."""
    names: list[str] = []
    for platform, version, device in devices:
        base = f"{platform_key(platform, version)}/{slug(device)}"
        count = sum(1 for name in names if name == base or name.startswith(base + "-#"))
        names.append(base if count == 0 else f"{base}-#{count + 1}")
    return names


def parse(spec: str) -> tuple[str, int | str | None]:
    """A ``--device`` value as (kind, selector): ``auto``/``numpy``/``cl`` with no
    selector, ``cl:N`` as ("cl", N), a stable name as ("cl", name)."""
    key = spec.strip()
    lowered = key.lower()
    if lowered in KINDS:
        return lowered, None
    if lowered.startswith("cl:"):
        try:
            index = int(lowered[3:])
        except ValueError:
            index = -1
        if index >= 0:
            return "cl", index
    elif "/" in key and not key.startswith("/") and not key.endswith("/"):
        return "cl", lowered
    raise ParameterError(
        f"unknown device {spec!r}; valid: auto, numpy, cl, cl:N or a device's name "
        "(PLATFORM/DEVICE), as 'fannctl health' lists them"
    )


def config_path() -> Path:
    """Where the config file is read from (it need not exist)."""
    given = os.environ.get(ENV_CONFIG)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "fannctl" / "config.ini"


def exclude_patterns() -> list[str]:
    """Patterns of devices to leave out: the environment's, then the config file's."""
    patterns = _split(os.environ.get(ENV_EXCLUDE, ""))
    path = config_path()
    if path.is_file():
        parser = configparser.ConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError) as exc:
            raise ParameterError(f"{path}: not a valid config file ({exc})") from None
        patterns += _split(parser.get("devices", "exclude", fallback=""))
    return patterns


def _split(text: str) -> list[str]:
    return [part.strip().lower() for part in re.split(r"[,\n]", text) if part.strip()]


def is_excluded(name: str, patterns: list[str]) -> bool:
    """Whether a stable name matches one of the exclusion patterns."""
    return any(fnmatch.fnmatchcase(name.lower(), pattern) for pattern in patterns)
