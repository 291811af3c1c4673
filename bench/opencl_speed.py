"""Training on OpenCL beside libfann 2.2:
``fannctl bench --case 'train/*' --device cl --against-libfann``.

Thin wrapper, kept so the old name still works: the cases, their warm-up,
repeats, medians and the libfann side live in ``fannctl.bench`` now. Extra
arguments go to ``fannctl bench`` (--suite quick|standard|full, --json,
--markdown, -o FILE, --repeats N, --threads N; see ``fannctl bench --help``).

    .venv/bin/python bench/opencl_speed.py [fannctl bench options]
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
    "train/*",
    "--device",
    "cl",
    "--against-libfann",
    *sys.argv[1:],
]
os.execve(sys.executable, command, env)
