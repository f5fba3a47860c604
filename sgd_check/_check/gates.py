"""What every gate family shares: the tolerances, the predictions, the frozen verdict row and the paired
SGD-vs-flow data of the live seeds with its Student-t band (docs/theory.md §4.2; how the bands are set is in
:mod:`sgd_check._check.verdict`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

import riccati
from hermite.validation import require_choice, require_real

from .data import CheckData
from .stats import (
    emergence_times,
    late_window,
    t_quantile,
)

__all__ = ["Family", "Tolerances", "VerdictRow", "predictions"]


# ----------------------------------------------------------------------------------------------------------------
# constants, predictions, the verdict row
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tolerances:
    """Constants of the SGD-vs-flow tolerances ``q·SE + κ·ε + δ`` (see the module docstring).

    Attributes
    ----------
    level : two-sided confidence level of the Student-t band over seeds, in (0, 1).
    kappa_gap : κ for the relative risk gap |R_sgd − R_flow| / R_flow.
    kappa_time : κ for the emergence-time log-ratio |log(T_sgd/T_flow)|.
    kappa_exponent : κ for the difference of fitted time exponents (or emergence slopes).
    delta_gap, delta_time, delta_exponent : the fixed allowances δ (float32, logging-grid resolution).
    delta_clock : δ of the two pooled clock gates (``emergence_clock``, ``rise_time_ratio``): a mean over every
        (seed, direction) pair, interpolated on the same grid for SGD and flow, needs less grid allowance.
    late_fraction : the late-time window is t ∈ [late_fraction·t_end, t_end] (at least the last 3 logged points).
    epsilon_cap : the O(ε) allowance uses min(ε, epsilon_cap): the first-order error model holds only for ε ≪ 1,
        so a step size far too large gets no more slack than this and a gap of order one fails.
    """

    level: float = 0.99
    kappa_gap: float = 1.0
    kappa_time: float = 1.0
    kappa_exponent: float = 1.0
    delta_gap: float = 0.05
    delta_time: float = 0.05
    delta_exponent: float = 0.05
    delta_clock: float = 0.02
    late_fraction: float = 0.5
    epsilon_cap: float = 0.25

    def __post_init__(self):
        require_real("level", self.level, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        for name in (
            "kappa_gap",
            "kappa_time",
            "kappa_exponent",
            "delta_gap",
            "delta_time",
            "delta_exponent",
            "delta_clock",
        ):
            require_real(name, getattr(self, name), lo=0.0)
        require_real("late_fraction", self.late_fraction, lo=0.0, hi=1.0, lo_open=True)
        require_real("epsilon_cap", self.epsilon_cap, lo=0.0)


def predictions(model: str, beta: float, M: int, N: int, a=None) -> dict:
    """Asymptotic predictions for the scaling regime of (model, β, M, N), from ``riccati.scaling_predictions``
    (the one home of the formulas; docs/theory.md §2, §3, §6), as a JSON-able dict.

    * ``time_exponent``: (1−2β)/β for β > 1/2, None for β ≤ 1/2 (``regime_law`` says what holds instead);
    * ``plateau``: the M → ∞ law of the width floor — 1 − φ^{1−2β} (β < 1/2, φ = N/M) or
      N^{1−2β}/((2β−1)ζ(2β)) (β > 1/2) —, None at β = 1/2 or N ≥ M; ``plateau_correction`` its finite-(N, M)
      relative correction from the Euler–Maclaurin expansion of the floor itself;
    * ``floor``: the exact width floor Σ_{N<m≤M} ã_m² (``riccati.width_floor`` of ``a`` when given);
      ``floor_asymptotic`` its Euler–Maclaurin value;
    * ``emergence_slope``: β; ``compute_exponent``, ``sgd_flops_exponent`` with their definitions.
    """
    require_choice("model", model, ("quadratic", "homogeneous"))
    sp = riccati.scaling_predictions(beta, M, N).as_dict()
    out: dict[str, Any] = dict(sp)
    if a is not None:
        out["floor"] = riccati.width_floor(a, N)
    out["plateau_formula"] = sp["plateau_law"]
    out["plateau_kind"] = None if sp["plateau"] is None else ("value" if beta < 0.5 else "scaling")
    return out


@dataclass(frozen=True)
class VerdictRow:
    """One row of the verdict: a named comparison, its ``value``, the ``tolerance`` it is held to, and ``why``.

    ``passed`` is the outcome; ``gated`` rows make the verdict (their AND), ungated ones are reported only. In the
    report a row is the dict :meth:`as_dict` (key ``pass``), listed under ``verdict.checks`` (schema 1).
    """

    name: str
    passed: bool
    value: Any
    tolerance: Any
    why: str
    gated: bool = True

    def as_dict(self) -> dict:
        """The row as stored in ``report["verdict"]["checks"]``."""
        return {
            "name": self.name,
            "pass": bool(self.passed),
            "value": self.value,
            "tolerance": self.tolerance,
            "why": self.why,
            "gated": bool(self.gated),
        }


# ----------------------------------------------------------------------------------------------------------------
# the paired live seeds every family judges
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Paired:
    """The live seeds of one check with everything the gate families share: ε, the Student-t quantile, the
    predictions and (computed once, on first use) the emergence times."""

    data: CheckData
    tol: Tolerances
    eps: float  # ε used in the allowances: min(ε, ε_cap)
    eps_formula: str
    q: float
    pred: dict

    @classmethod
    def of(cls, data: CheckData, tol: Tolerances) -> tuple[_Paired, dict]:
        """The paired view and the comparison's header entries (seeds, ε, tolerances, predictions)."""
        p = data.params
        beta, M, N = float(p["beta"]), int(p["M"]), int(p["N"])
        S = int(data.alive.sum())
        pred = predictions(data.model, beta, M, N, data.a)
        pred["floor"] = data.floor  # the exact floor of the flow code wins over the recomputed one
        eps_raw, eps_formula = riccati.step_size_parameter(data.model, p, data.a)
        eps = min(eps_raw, tol.epsilon_cap)
        if eps_raw > tol.epsilon_cap:
            eps_formula += f"; ε = {eps_raw:.3g} exceeds the linear-response range, allowance capped at ε = {eps:g}"
        header = {
            "seeds": data.sgd_risk.shape[0],
            "seeds_alive": S,
            "diverged": data.diverged.tolist(),
            "step_size_parameter": {"epsilon": eps_raw, "epsilon_used": eps, "formula": eps_formula},
            "tolerances": dataclasses.asdict(tol),
            "predicted": pred,
        }
        return cls(data, tol, eps, eps_formula, t_quantile(S, tol.level), pred), header

    # -- sizes ---------------------------------------------------------------------------------------------------
    @property
    def S(self) -> int:
        return int(self.data.alive.sum())

    @property
    def beta(self) -> float:
        return float(self.data.params["beta"])

    @property
    def M(self) -> int:
        return int(self.data.params["M"])

    @property
    def N(self) -> int:
        return int(self.data.params["N"])

    @property
    def t(self) -> np.ndarray:
        return self.data.t

    @property
    def sr(self) -> np.ndarray:
        return self.data.sgd_risk[self.data.alive]

    @property
    def fr(self) -> np.ndarray:
        return self.data.flow_risk[self.data.alive]

    @property
    def late(self) -> slice:
        return late_window(self.t, self.tol.late_fraction)

    # -- the two halves of every tolerance -------------------------------------------------------------------------
    def band(self, se):
        """The seed-noise band q·SE of the Student-t interval over the S live seeds; 0 when S < 2 (no estimate)."""
        return self.q * se if self.S >= 2 else 0.0

    def allowance(self, kind: str) -> float:
        """The bias allowance κ·ε + δ of ``kind`` ("gap", "time" or "exponent")."""
        return getattr(self.tol, f"kappa_{kind}") * self.eps + getattr(self.tol, f"delta_{kind}")

    @property
    def noise_why(self) -> str:
        if self.S >= 2:
            return (
                f"S = {self.S} live seeds: Student-t {self.tol.level:.0%} band q·SE with q = {self.q:.3g} "
                f"(S−1 = {self.S - 1} d.o.f.)"
            )
        return "S = 1: no seed-noise estimate, bias allowance only"

    # -- emergence times -------------------------------------------------------------------------------------------
    @cached_property
    def Ts(self) -> np.ndarray:
        """(S, M) SGD emergence times, interpolated on the logged grid."""
        return emergence_times(self.t, self.data.sgd_dir[self.data.alive])

    @cached_property
    def Tf(self) -> np.ndarray:
        """(S, M) flow emergence times: its dense output when saved (a crossing before the first logged time is
        reported at t[0], as for SGD), else the logged grid like SGD's."""
        if self.data.flow_emergence is None:
            return emergence_times(self.t, self.data.flow_dir[self.data.alive])
        Tf = self.data.flow_emergence[self.data.alive]
        return np.where(np.isfinite(Tf) & (Tf < self.t[0]), self.t[0], Tf)

    @property
    def learned_by_all(self) -> np.ndarray:
        """(M,) directions learned by every live seed, in SGD and in the flow."""
        return (np.isfinite(self.Ts) & np.isfinite(self.Tf)).all(axis=0)

    @property
    def edge_m(self) -> int:
        """Directions m ≤ max(3, N/2) are well inside the student's width (used when N < M)."""
        return max(3, self.N // 2)

    @property
    def away_from_edge(self) -> np.ndarray:
        """(M,) directions judged on timing and identity: all when N ≥ M, else m ≤ max(3, N/2). At the width edge
        (m near N) near-degenerate directions compete for the last student slots and SGD noise may pick another
        one of them, or the same one later, at no cost in risk."""
        inside = np.ones(self.M, dtype=bool)
        if self.N < self.M:
            inside[self.edge_m :] = False
        return inside


# ----------------------------------------------------------------------------------------------------------------
# one function per family: each returns (comparison entries, verdict rows)
# ----------------------------------------------------------------------------------------------------------------
Family = tuple[dict, list[VerdictRow]]
