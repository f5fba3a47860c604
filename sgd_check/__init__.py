"""Online-SGD simulator and theory-vs-SGD checks (THEORY.md §2-§4)."""

from ._sim_config import HomogeneousSGDConfig, QuadraticSGDConfig, steps_for_time
from ._simulate import SimulationResult, simulate

__all__ = [
    "HomogeneousSGDConfig",
    "QuadraticSGDConfig",
    "SimulationResult",
    "simulate",
    "steps_for_time",
]
