"""Online-SGD simulator and theory-vs-SGD checks (docs/theory.md §2-§4)."""

from ._sim import HomogeneousSGDConfig, QuadraticSGDConfig, SimulationResult, simulate, steps_for_time

__all__ = [
    "HomogeneousSGDConfig",
    "QuadraticSGDConfig",
    "SimulationResult",
    "simulate",
    "steps_for_time",
]

# Theory-vs-SGD checks (issue 5): data, statistics, verdict, report and orchestration in the subpackage _check,
# the demo suite in _demo; figures in the public module ``sgd_check.plots``.
from ._check import CheckData, Tolerances, check, check_from_dir, compare  # noqa: E402
from ._demo import run_demo  # noqa: E402

__all__ += ["CheckData", "Tolerances", "check", "check_from_dir", "compare", "run_demo"]
