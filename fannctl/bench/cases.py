"""The named cases of ``fannctl bench``, in the order they run.

``training`` (each algorithm on FANN's data sets, cascade, swarms) and
``inference`` (``run`` on ``.npy``, text and a pipe, one pattern, start-up)
define them; ``case`` holds what they are made of. Every case runs on FANN's
data sets as shipped in ``datasets/``.
"""

from __future__ import annotations

from fannctl.bench.case import SUITES, Case, Context, Trial, default_data_dir
from fannctl.bench.inference import inference_cases
from fannctl.bench.training import cascade_cases, swarm_cases, training_cases

CASES: dict[str, Case] = {
    case.name: case
    for case in [*training_cases(), *cascade_cases(), *inference_cases(), *swarm_cases()]
}

__all__ = ["CASES", "SUITES", "Case", "Context", "Trial", "default_data_dir"]
