"""Start-up time: ``fannctl bench --case cli/help --case run/one-pattern``.

Thin wrapper, kept so the old name still works: the cases, their warm-up,
repeats, medians and the libfann side live in ``fannctl.bench`` now. Extra
arguments go to ``fannctl bench`` (--suite quick|standard|full, --json,
--markdown, -o FILE, --repeats N, --threads N; see ``fannctl bench --help``).

    .venv/bin/python bench/help_time.py [fannctl bench options]
"""

import os
import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
env = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
}
command = [
    sys.executable,
    "-m",
    "fannctl",
    "bench",
    "--case",
    "cli/help",
    "--case",
    "run/one-pattern",
    *sys.argv[1:],
]
os.execve(sys.executable, command, env)
