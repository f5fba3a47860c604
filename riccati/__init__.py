"""Deterministic gradient-flow theory for quadratic and two-homogeneous networks (docs/theory.md §2-§3).

Quadratic model [BEVW25]: exact Riccati flow of the overlap G(t) = ΘᵀUUᵀΘ in canonical time t = 4cτ
(:func:`quadratic_flow`, :func:`sample_initial_overlap`, :func:`quadratic_risk_from_G`, :func:`riccati_ode`).
Two-homogeneous model [RNWL25]: exact overlap flow in t = η·steps (:func:`homogeneous_flow`,
:func:`homogeneous_risk`).
Risks are relative risks E(f − f_*)²/E f_*² unless a name says otherwise. Computations are float64: importing
riccati enables JAX's x64 mode for the process (:func:`hermite.enable_x64`).
"""

import hermite as _hermite

from ._crossing import first_crossing_index
from ._haar import sample_initial_overlap
from ._homogeneous import (
    TIME_UNIT_HOMOGENEOUS,
    HomogeneousSolution,
    greedy_emergence_homogeneous,
    homogeneous_activation_info,
    homogeneous_flow,
    homogeneous_risk,
    homogeneous_state,
    predicted_emergence_homogeneous,
    sample_homogeneous_state,
)
from ._ode import RiccatiODESolution, riccati_ode
from ._predict import (
    NoPowerLawWindow,
    PowerLawFit,
    QuadraticPredictions,
    ScalingPredictions,
    anchored_power_law,
    escape_factor,
    eta_for_step_parameter,
    fit_flow_power_law,
    fit_power_law,
    fit_quadratic_flow,
    floor_euler_maclaurin,
    power_law_window,
    predicted_emergence_from_overlaps,
    quadratic_predictions,
    scaling_predictions,
    step_size_parameter,
)
from ._quadratic import (
    TIME_UNIT_QUADRATIC,
    QuadraticFlow,
    QuadraticSolution,
    quadratic_flow,
    quadratic_risk_from_G,
    quadratic_risk_from_Y,
    width_floor,
)
from ._teacher import TIME_LABEL_HOMOGENEOUS, TIME_LABEL_QUADRATIC, teacher_coefficients

# The theory is float64. Importing hermite (above) has already switched JAX to x64 for the process; the call is
# repeated by name so that the requirement is stated where it is made (see hermite.enable_x64).
_hermite.enable_x64()

__all__ = [
    "NoPowerLawWindow",
    "PowerLawFit",
    "QuadraticPredictions",
    "ScalingPredictions",
    "anchored_power_law",
    "escape_factor",
    "eta_for_step_parameter",
    "first_crossing_index",
    "fit_flow_power_law",
    "fit_power_law",
    "fit_quadratic_flow",
    "floor_euler_maclaurin",
    "power_law_window",
    "predicted_emergence_from_overlaps",
    "greedy_emergence_homogeneous",
    "quadratic_predictions",
    "scaling_predictions",
    "step_size_parameter",
    "TIME_UNIT_HOMOGENEOUS",
    "HomogeneousSolution",
    "homogeneous_activation_info",
    "homogeneous_flow",
    "homogeneous_risk",
    "homogeneous_state",
    "predicted_emergence_homogeneous",
    "sample_homogeneous_state",
    "TIME_UNIT_QUADRATIC",
    "TIME_LABEL_QUADRATIC",
    "TIME_LABEL_HOMOGENEOUS",
    "QuadraticFlow",
    "QuadraticSolution",
    "RiccatiODESolution",
    "quadratic_flow",
    "quadratic_risk_from_G",
    "quadratic_risk_from_Y",
    "riccati_ode",
    "sample_initial_overlap",
    "teacher_coefficients",
    "width_floor",
]
