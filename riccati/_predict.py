"""Asymptotic predictions (docs/theory.md §2-§3, §6) and power-law fits of learning curves: the one home of every
prediction the toolkit makes (``sgd_check`` and the CLI call these).

All quadratic-model times are canonical Riccati times t = 4cτ; homogeneous times are t = η·steps; risks are
relative. Exponents and plateaus are d → ∞ (or M → ∞) statements; compare them with the exact flow through
:func:`fit_flow_power_law` on a window chosen by the number of emergences it spans (docs/theory.md §4).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from hermite.validation import require_choice, require_int, require_real

from ._quadratic import width_floor
from ._teacher import require_times, teacher_coefficients

__all__ = [
    "anchored_power_law",
    "PowerLawFit",
    "NoPowerLawWindow",
    "fit_power_law",
    "fit_flow_power_law",
    "fit_quadratic_flow",
    "power_law_window",
    "ScalingPredictions",
    "scaling_predictions",
    "QuadraticPredictions",
    "quadratic_predictions",
    "floor_euler_maclaurin",
    "escape_factor",
    "predicted_emergence_from_overlaps",
    "step_size_parameter",
    "eta_for_step_parameter",
]

_CI_LEVEL = 0.95


# ----------------------------------------------------------------------------------------------------------------
# Power-law fits
# ----------------------------------------------------------------------------------------------------------------
class NoPowerLawWindow(ValueError):
    """Raised when a curve has no window on which the d → ∞ power law applies; the message says why."""


@dataclasses.dataclass(frozen=True)
class PowerLawFit:
    """Least-squares fit log R = log C + p log t on ``window`` = (t_lo, t_hi).

    Attributes:
        exponent: p. prefactor: C. window: (t_lo, t_hi), the first and last time used.
        stderr: OLS standard error of p from the residuals (for a deterministic curve the residuals are the
            departure from a pure power law within the window, i.e. curvature, not noise).
        ci: (lo, hi), two-sided ``ci_level`` interval p ± q·stderr with q the Student-t quantile on n − 2 degrees
            of freedom (a regression interval: the range of slopes compatible with the window's points).
        ci_level: confidence level of ``ci`` (0.95).
        local_range: (min, max) of the slopes fitted separately on the two halves of the window (in log t): how
            much the local exponent drifts across the window. None with fewer than 6 points.
        n_points: number of time points used. n_emergences: emergences inside the window (None if not known).
        rule: how the window was chosen.
    """

    exponent: float
    prefactor: float
    window: tuple[float, float]
    stderr: float
    n_points: int
    rule: str
    ci: tuple[float, float] = (math.nan, math.nan)
    ci_level: float = _CI_LEVEL
    local_range: tuple[float, float] | None = None
    n_emergences: int | None = None


def _ols(x, y):
    """Slope, intercept, slope standard error of y on x (OLS)."""
    n = x.size
    xm = x.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - y.mean())) / sxx) if sxx > 0 else math.nan
    icpt = float(y.mean() - slope * xm)
    resid = y - (icpt + slope * x)
    se = math.sqrt(float(resid @ resid) / max(n - 2, 1) / sxx) if sxx > 0 else math.inf
    return slope, icpt, se


def fit_power_law(t, risk, window=None, *, floor: float = 0.0, floor_factor: float = 3.0, drop: float = 0.5):
    """Fit R(t) ≈ C t^p by ordinary least squares in log–log coordinates, with a regression interval for p.

    Args:
        t: (T,) increasing times > 0 are used (t = 0 is skipped).
        risk: (T,) positive risks (relative). For SGD curves pass the seed mean.
        window: (t_lo, t_hi) to fit on, or None to choose automatically: points after the initial plateau
            (R ≤ ``drop``·R(first)) and before the width floor (R ≥ ``floor_factor``·floor); the rule used is
            reported in the result. For exact flows prefer :func:`fit_flow_power_law`, which chooses the window
            by the emergences it spans and refuses curves without a power-law window.
        floor: known risk floor (e.g. the width floor Σ_{N<m≤M} ã_m²); 0 if none.

    Returns:
        :class:`PowerLawFit` (``ci`` is p ± t_{0.975, n−2}·stderr). Raises ValueError if fewer than 3 points fall
        in the window.

    Examples:
        >>> f = fit_power_law(np.geomspace(1, 100, 20), 2 * np.geomspace(1, 100, 20) ** -1.0, window=(1, 100))
        >>> round(f.exponent, 12), round(f.prefactor, 12)
        (-1.0, 2.0)
    """
    from scipy import stats

    t = require_times(t, "t")
    R = np.asarray(risk, dtype=np.float64)
    if R.shape != t.shape:
        raise ValueError(f"`risk` has shape {R.shape}; expected {t.shape} to match `t`")
    floor = require_real("floor", floor, lo=0.0)
    ok = (t > 0) & np.isfinite(R) & (R > 0)
    if window is None:
        first = R[ok][0] if ok.any() else np.nan
        sel = ok & (R <= drop * first)
        if floor > 0:
            sel &= R >= floor_factor * floor
        rule = f"auto: R <= {drop:g}*R(t_first) and R >= {floor_factor:g}*floor (floor={floor:.6g})"
    else:
        lo, hi = (float(w) for w in window)
        if not (0 < lo < hi):
            raise ValueError(f"`window`=({lo:g}, {hi:g}) must satisfy 0 < t_lo < t_hi")
        sel = ok & (t >= lo) & (t <= hi)
        rule = "given"
    n = int(sel.sum())
    if n < 3:
        raise ValueError(f"only {n} points in the fit window ({rule}); pass more time points or an explicit `window`")
    x, y = np.log(t[sel]), np.log(R[sel])
    slope, icpt, se = _ols(x, y)
    q = float(stats.t.ppf(0.5 + _CI_LEVEL / 2, max(n - 2, 1)))
    local = None
    if n >= 6:
        half = x <= 0.5 * (x[0] + x[-1])
        if half.sum() >= 3 and (~half).sum() >= 3:
            s1 = _ols(x[half], y[half])[0]
            s2 = _ols(x[~half], y[~half])[0]
            local = (min(s1, s2), max(s1, s2))
    return PowerLawFit(
        exponent=slope,
        prefactor=float(math.exp(icpt)),
        window=(float(t[sel][0]), float(t[sel][-1])),
        stderr=se,
        n_points=n,
        rule=rule,
        ci=(slope - q * se, slope + q * se),
        local_range=local,
    )


def power_law_window(
    emergence_times, N: int, M: int, *, m_lo: int = 2, min_emergences: int = 8, width_fraction: float = 0.25
):
    """Window [T_{m_lo}, T_{m_hi}] of a flow's power-law decay, chosen by the emergences it spans.

    The law R ∝ t^{(1−2β)/β} (docs/theory.md §2-§3) holds while directions emerge one by one, past the initial plateau
    (m ≥ ``m_lo``) and well before the width edge (N < M: the risk bends onto the floor) or the teacher's last
    direction (N ≥ M: the exponential cut-off after T_M): m ≤ m_hi = ⌊width_fraction·min(N, M)⌋. The window must
    span at least ``min_emergences`` emergences (m_hi − m_lo + 1 ≥ min_emergences), so min(N, M) ≥ 36 with the
    defaults. ``emergence_times`` are sorted first (the m-th emergence, whatever direction it is).

    Returns (t_lo, t_hi, m_lo, m_hi). Raises :class:`NoPowerLawWindow` with the reason otherwise.
    """
    em = np.sort(np.asarray(emergence_times, dtype=np.float64))
    n = min(int(N), int(M))
    m_hi = int(width_fraction * n)
    if m_hi - m_lo + 1 < min_emergences:
        raise NoPowerLawWindow(
            f"no power-law window: min(N, M) = {n} allows emergences {m_lo}..{m_hi} "
            f"({max(m_hi - m_lo + 1, 0)} < {min_emergences}) between the initial plateau and "
            f"{width_fraction:g}·min(N, M) (width edge / exponential cut-off); use min(N, M) ≥ "
            f"{math.ceil((m_lo + min_emergences - 1) / width_fraction)}"
        )
    if m_hi > em.size or not np.isfinite(em[m_hi - 1]):
        raise NoPowerLawWindow(
            f"no power-law window yet: the {m_hi}-th emergence is not within the solved times; extend the times"
        )
    lo, hi = float(em[m_lo - 1]), float(em[m_hi - 1])
    if not (0 < lo < hi):
        raise NoPowerLawWindow(f"no power-law window: emergences {m_lo} and {m_hi} are at t = {lo:g}, {hi:g}")
    return lo, hi, m_lo, m_hi


def fit_flow_power_law(
    t,
    risk,
    emergence_times,
    N: int,
    M: int,
    beta: float,
    *,
    min_emergences: int = 8,
    m_lo: int = 2,
    width_fraction: float = 0.25,
) -> PowerLawFit:
    """Fit an exact flow's R(t) on the power-law window of :func:`power_law_window` (both models).

    ``beta`` = inf skips the β rule. Raises :class:`NoPowerLawWindow` (a ValueError, with the reason) when no power law
    applies: β ≤ 1/2 (the risk
    tends to a plateau, docs/theory.md §2), fewer than ``min_emergences`` emergences between the initial plateau and
    the width edge or exponential cut-off (small min(N, M)), or too few time points in the window.
    """
    beta = float(beta)
    if not beta > 0.5:
        raise NoPowerLawWindow(
            f"no power law for β = {beta:g} ≤ 1/2: the risk approaches the plateau 1 − φ^(1−2β) (docs/theory.md §2)"
        )
    lo, hi, m_lo, m_hi = power_law_window(
        emergence_times, N, M, m_lo=m_lo, min_emergences=min_emergences, width_fraction=width_fraction
    )
    try:
        f = fit_power_law(t, risk, window=(lo, hi))
    except ValueError as exc:
        raise NoPowerLawWindow(f"{exc} (window of emergences {m_lo}..{m_hi})") from None
    if f.n_points < 5:
        raise NoPowerLawWindow(
            f"only {f.n_points} time points between emergences {m_lo} and {m_hi} (t = {lo:.4g}..{hi:.4g}); "
            "use more time points"
        )
    em = np.asarray(emergence_times, dtype=np.float64)
    n_em = int(np.sum((em >= lo) & (em <= hi)))
    return dataclasses.replace(
        f,
        n_emergences=n_em,
        rule=f"emergences {m_lo}..{m_hi} of the exact flow (≥ {min_emergences}; m ≤ {width_fraction:g}·min(N, M))",
    )


def fit_quadratic_flow(
    sol, *, beta: float | None = None, m_lo: int = 2, width_fraction: float = 0.25, min_emergences: int = 8
) -> PowerLawFit:
    """:func:`fit_flow_power_law` on a :class:`QuadraticSolution`.

    β is ``beta`` or ``sol.params['beta']`` (set by :class:`QuadraticFlow`); when neither is known the β ≤ 1/2
    rule is not applied. Directions learned from the start (t ≤ t_0, e.g. M + N > d) carry no dynamics and are
    skipped. Raises :class:`NoPowerLawWindow` when no power-law window exists (see there).
    """
    em = np.asarray(sol.emergence_times, dtype=np.float64)
    em = em[~(em <= sol.t[0])]  # directions learned from the start (e.g. M + N > d) carry no dynamics
    if beta is None:
        beta = sol.params.get("beta")
    return fit_flow_power_law(
        sol.t,
        sol.risk,
        em,
        int(sol.params["N"]),
        int(sol.params["M"]),
        math.inf if beta is None else beta,
        m_lo=m_lo,
        width_fraction=width_fraction,
        min_emergences=min_emergences,
    )


# ----------------------------------------------------------------------------------------------------------------
# Scaling predictions (both models) and the finite-M floor
# ----------------------------------------------------------------------------------------------------------------
def _em_partial_sum(n: float, s: float) -> float:
    """Euler–Maclaurin expansion of S(n) = Σ_{m≤n} m^{−s}: ζ(s) + n^{1−s}/(1−s) + n^{−s}/2 − s n^{−s−1}/12
    (s ≠ 1; the constant is ζ(s) for every s ≠ 1, analytic continuation for s < 1), and
    log n + γ + 1/(2n) − 1/(12n²) at s = 1. Error O(n^{−s−3})."""
    from scipy.special import zeta

    if abs(s - 1.0) < 1e-12:
        return math.log(n) + np.euler_gamma + 1.0 / (2 * n) - 1.0 / (12 * n * n)
    return float(zeta(s)) + n ** (1 - s) / (1 - s) + 0.5 * n ** (-s) - s * n ** (-s - 1) / 12.0


def floor_euler_maclaurin(beta: float, M: int, N: int) -> float:
    """Width floor Σ_{N<m≤M} ã_m² of the power-law teacher, from the Euler–Maclaurin expansion (M cut-off kept).

    Floor = 1 − S(N)/S(M) with S(n) = Σ_{m≤n} m^{−2β} ≈ ζ(2β) + n^{1−2β}/(1−2β) + n^{−2β}/2 − 2β n^{−2β−1}/12
    (log n + γ + 1/(2n) − 1/(12n²) at β = 1/2); 0 if N ≥ M. This is the floor *itself* at finite N and M, so its
    ratio to the M → ∞ law (1 − φ^{1−2β} for β < 1/2, N^{1−2β}/((2β−1)ζ(2β)) for β > 1/2) is the finite-M
    correction of that law, with both N- and M-terms (docs/theory.md §6 item 8). Relative error vs the exact sum below
    ~2e−3 for N ≥ 4 (tests/test_riccati_predict.py).

    Examples:
        >>> round(floor_euler_maclaurin(0.8, 64, 8), 4)
        0.151
    """
    beta = require_real("beta", beta, lo=0.0)
    M = require_int("M", M, lo=1)
    N = require_int("N", N, lo=1)
    if N >= M:
        return 0.0
    s = 2.0 * beta
    return float(1.0 - _em_partial_sum(N, s) / _em_partial_sum(M, s))


_REGIME_LAW = {
    "beta>1/2": "R(t) ≈ (t/log d)^((1−2β)/β) ∨ N^(1−2β): power-law decay, then the width floor",
    "beta<1/2": (
        "R(t) ≈ [(1 − s(t)^(1−2β)) ∨ (1 − φ^(1−2β))]_+, s(t) the learned fraction: no power law in t; the plateau "
        "1 − φ^(1−2β) (φ = N/M) is approached on the time scale √M·log d (canonical time)"
    ),
    "beta=1/2": "R ≈ 1 − log(min(x(t), N))/log M: logarithmic decay, no power law in t",
}


@dataclasses.dataclass(frozen=True)
class ScalingPredictions:
    """Scaling-law predictions shared by both models for a power-law teacher ã_m ∝ m^{−β}, m ≤ M, width N
    (docs/theory.md §2, §3, §6). Exponents are None where the regime has no power law (β ≤ 1/2).

    Attributes:
        regime: "beta>1/2", "beta<1/2" or "beta=1/2"; regime_law: the law in words.
        time_exponent: (1 − 2β)/β, R ∝ t^{…} before the floor (β > 1/2), else None.
        compute_exponent: (1 − 2β)/(1 + β) (β > 1/2), compute counted as C = N·t, t the canonical (quadratic) or
            η·steps (homogeneous) time; see ``compute_exponent_definition``.
        sgd_flops_exponent: (1 − 2β)/(1 + 2β) (β > 1/2): SGD floating-point operations of the quadratic model with
            c = 1/√N and the flow-tracking step size η ∝ ã_N/(c·d) (fixed ε of :func:`step_size_parameter`), so
            that steps ∝ t·d·N^β and FLOPs ∝ steps·d·N ∝ t·N^{1+β} at fixed d; −1/3 at β = 1.
        emergence_slope: β, slope of log T_m against log m (T_m ∝ 1/ã_m ∝ m^β).
        phi: N/M. floor: exact Σ_{N<m≤M} ã_m². floor_asymptotic: :func:`floor_euler_maclaurin`.
        plateau: the M → ∞ law of the floor: 1 − φ^{1−2β} (β < 1/2, fixed φ), N^{1−2β}/((2β−1)ζ(2β)) (β > 1/2,
            fixed N); None at β = 1/2 or N ≥ M. plateau_law: its formula.
        plateau_correction: floor_asymptotic/plateau − 1, the finite-(N, M) relative correction of the law
            (Euler–Maclaurin of Σ_{N<m≤M} m^{−2β}/Σ_{m≤M} m^{−2β}); None when ``plateau`` is None.
    """

    beta: float
    M: int
    N: int
    regime: str
    regime_law: str
    time_exponent: float | None
    time_exponent_formula: str
    compute_exponent: float | None
    compute_exponent_definition: str
    sgd_flops_exponent: float | None
    sgd_flops_exponent_definition: str
    emergence_slope: float
    phi: float
    floor: float
    floor_asymptotic: float
    plateau: float | None
    plateau_law: str
    plateau_correction: float | None

    def as_dict(self) -> dict:
        """A plain JSON-able dict of the fields."""
        return dataclasses.asdict(self)


def scaling_predictions(beta: float, M: int, N: int) -> ScalingPredictions:
    """:class:`ScalingPredictions` for β ≥ 0, teacher width M ≥ 1, student width N ≥ 1.

    Examples:
        >>> p = scaling_predictions(1.0, 2400, 200)
        >>> p.time_exponent, round(p.compute_exponent, 6), round(p.sgd_flops_exponent, 6)
        (-1.0, -0.5, -0.333333)
        >>> scaling_predictions(0.3, 100, 50).time_exponent is None
        True
    """
    from scipy.special import zeta

    beta = require_real("beta", beta, lo=0.0, fix="use a power-law exponent β ≥ 0")
    M = require_int("M", M, lo=1)
    N = require_int("N", N, lo=1)
    floor = width_floor(teacher_coefficients(beta, M), N)
    phi = N / M
    if beta > 0.5:
        regime = "beta>1/2"
        te = (1 - 2 * beta) / beta
        ce = (1 - 2 * beta) / (1 + beta)
        fe = (1 - 2 * beta) / (1 + 2 * beta)
        te_f = "(1-2β)/β"
        plateau = float(N ** (1 - 2 * beta) / ((2 * beta - 1) * zeta(2 * beta))) if N < M else None
        law = "N^(1-2β)/((2β-1)ζ(2β)) (M → ∞ at fixed N)"
    else:
        regime = "beta<1/2" if beta < 0.5 else "beta=1/2"
        te = ce = fe = None
        te_f = f"none: no power law in t for β ≤ 1/2 ({_REGIME_LAW[regime]})"
        if beta < 0.5 and N < M:
            plateau = float(1 - phi ** (1 - 2 * beta))
            law = "1-φ^(1-2β), φ = N/M (M → ∞ at fixed φ)"
        else:
            plateau, law = None, "none at β = 1/2 (logarithmic)"
    if N >= M:
        plateau, law = None, "none: N ≥ M, no width floor"
    fa = floor_euler_maclaurin(beta, M, N)
    return ScalingPredictions(
        beta=beta,
        M=M,
        N=N,
        regime=regime,
        regime_law=_REGIME_LAW[regime],
        time_exponent=te,
        time_exponent_formula=te_f,
        compute_exponent=ce,
        compute_exponent_definition=(
            "L ∝ C^((1-2β)/(1+β)) on the compute-optimal frontier with C = N·t (t canonical Riccati time for the "
            "quadratic model, η·steps for the homogeneous one): balance t^((1-2β)/β) = N^(1-2β) ⇒ t = N^β"
        ),
        sgd_flops_exponent=fe,
        sgd_flops_exponent_definition=(
            "quadratic SGD FLOPs with c = 1/√N and the flow-tracking step η ∝ ã_N/(c·d) (fixed ε): steps to reach "
            "canonical time t = t/(4cη) ∝ t·d·N^β, cost d·N per step ⇒ C ∝ t·d²·N^(1+β); at fixed d and t = N^β, "
            "L = N^(1-2β) ∝ C^((1-2β)/(1+2β))"
        ),
        emergence_slope=beta,
        phi=phi,
        floor=floor,
        floor_asymptotic=fa,
        plateau=plateau,
        plateau_law=law,
        plateau_correction=(fa / plateau - 1.0) if plateau else None,
    )


# ----------------------------------------------------------------------------------------------------------------
# Quadratic model (d-dependent predictions)
# ----------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class QuadraticPredictions:
    """Predictions of docs/theory.md §2 for a power-law teacher (canonical time t = 4cτ, relative risk).

    Attributes:
        scaling: the model-independent :class:`ScalingPredictions` (exponents — None for β ≤ 1/2 —, regime,
            plateau law, exact and Euler–Maclaurin floors). Its fields are also readable directly
            (``pred.time_exponent``, ``pred.floor``, ...).
        d: ambient dimension. g0: typical initial overlap N/d.
        emergence_times: (M,) additive-model t_m = log(1/g0)/(2ã_m); emergence_rule: that rule in words.
    """

    beta: float
    M: int
    N: int
    d: int
    scaling: ScalingPredictions
    g0: float
    emergence_times: np.ndarray
    emergence_rule: str = "t_m = log(1/g0)/(2 ã_m), g0 = N/d (additive model, docs/theory.md §2)"

    def __getattr__(self, name):
        # only reached for names not found normally: delegate to the scaling predictions (never for dunders or
        # "scaling" itself, so copying and unpickling cannot recurse)
        if name.startswith("__") or name == "scaling":
            raise AttributeError(name)
        return getattr(self.scaling, name)

    def additive_curve(self, t) -> np.ndarray:
        """Additive model R(t) = Σ ã_m² over directions not yet learned (t_m > t) or beyond the width (m > N)."""
        t = np.asarray(t, dtype=np.float64)
        a2 = teacher_coefficients(self.beta, self.M) ** 2
        learned = (self.emergence_times[None, :] <= t[:, None]) & (np.arange(self.M) < self.N)[None, :]
        return 1.0 - learned.astype(float) @ a2

    def logistic_curve(self, t) -> np.ndarray:
        """Smooth additive model 1 − Σ_{m≤N} ã_m² g_m(t)², g_m = 1/(1 + (1/g0 − 1) e^{−2ã_m t}) (no interactions)."""
        t = np.asarray(t, dtype=np.float64)
        a = teacher_coefficients(self.beta, self.M)[: self.N]
        g = 1.0 / (1.0 + (1.0 / self.g0 - 1.0) * np.exp(-2.0 * a[None, :] * t[:, None]))
        return 1.0 - (g * g) @ (a * a)


def quadratic_predictions(beta: float, M: int, N: int, d: int) -> QuadraticPredictions:
    """Predictions for the quadratic model with ã_m ∝ m^{−β} (docs/theory.md §2); see :class:`QuadraticPredictions`.

    Examples:
        >>> quadratic_predictions(1.0, 100, 10, 1000).time_exponent
        -1.0
    """
    beta = require_real("beta", beta, lo=0.0, fix="use a power-law exponent β ≥ 0")
    M = require_int("M", M, lo=1)
    N = require_int("N", N, lo=1)
    d = require_int("d", d, lo=max(M, N))
    a = teacher_coefficients(beta, M)
    g0 = N / d
    if g0 >= 1:
        raise ValueError(f"`N`={N} equals `d`={d}: emergence needs g0 = N/d < 1; raise d")
    return QuadraticPredictions(
        beta=beta,
        M=M,
        N=N,
        d=d,
        scaling=scaling_predictions(beta, M, N),
        g0=g0,
        emergence_times=np.log(1.0 / g0) / (2.0 * a),
    )


# ----------------------------------------------------------------------------------------------------------------
# Emergence of one direction from its initial overlap, and the step-size parameter
# ----------------------------------------------------------------------------------------------------------------
def escape_factor(model: str, s0, k: int = 4) -> np.ndarray:
    """Initial-overlap factor L(s0) of the decoupled emergence time T = L(s0)/ã of one direction.

    Quadratic (docs/theory.md §2.8, logistic G_mm): T = log((1−g0)/g0)/(2ã), so L = ½ log((1−s0)/s0), s0 = G_mm(0).
    Homogeneous with σ = h_k (docs/theory.md §3.4, ds/dt = 2kã s^{k/2}(1−s)): L = ∫_{s0}^{1/2} ds/(2k s^{k/2}(1−s)),
    closed form for k = 4: (1/s0 − 2 + log((1−s0)/s0))/8. NaN where s0 ≥ 1/2 or s0 ≤ 0.
    """
    require_choice("model", model, ("quadratic", "homogeneous"))
    s0 = np.asarray(s0, dtype=np.float64)
    ok = (s0 > 0) & (s0 < 0.5)
    s = np.where(ok, s0, 0.25)
    if model == "quadratic":
        L = 0.5 * np.log((1 - s) / s)
    elif k == 4:
        L = (1 / s - 2 + np.log((1 - s) / s)) / 8
    else:
        from scipy.integrate import quad

        L = np.vectorize(lambda x: quad(lambda u: 1 / (2 * k * u ** (k / 2) * (1 - u)), x, 0.5)[0])(s)
    return np.where(ok, L, np.nan)


def predicted_emergence_from_overlaps(a, m0, k: int, bk2: float = 1.0) -> np.ndarray:
    """Predicted emergence time of each teacher direction of the homogeneous model from the actual initial
    overlaps (docs/theory.md §3), time t = η·steps.

    Direction p is taken by the neuron with the largest initial overlap, s0_p = max_i m_ip(0)², which escapes
    first: T_p = L(s0_p)/(b_k² ã_p) with L the single-direction factor of :func:`escape_factor`
    (ds/dt = 2k b_k² ã s^{k/2}(1 − s), from s0 to 1/2). The rule s0 = 1/d of
    ``predicted_emergence_homogeneous`` uses a typical neuron instead and comes out ≈ 2× too large at N = 6.

    Args:
        a: teacher coefficients (M,), normalised to ã. m0: (N, M) initial overlaps m_ip = ⟨w̄_i, θ_p⟩.
        k: information exponent (≥ 3 for this law). bk2: h-basis b_k² of σ (1 for σ = h_k).

    Returns:
        (M,) times; inf where ã_p = 0, NaN where s0_p ≥ 1/2.
    """
    from ._teacher import normalise_teacher

    a = normalise_teacher(a)
    m0 = np.asarray(m0, dtype=np.float64)
    if m0.ndim != 2 or m0.shape[1] != a.size:
        raise ValueError(f"`m0` has shape {m0.shape}; expected (N, M) with M = {a.size}")
    k = require_int("k", k, lo=3, fix="the escape law s^{k/2} needs an information exponent k ≥ 3")
    bk2 = require_real("bk2", bk2, lo=0.0, lo_open=True)
    s0 = np.max(m0 * m0, axis=0)
    with np.errstate(divide="ignore"):
        return escape_factor("homogeneous", s0, k) / (bk2 * a)


def step_size_parameter(model: str, params: dict, a) -> tuple[float, str]:
    """Dimensionless step size ε: the ratio of the O(η²) noise drift to the slowest signal drift, and its formula.

    Quadratic (docs/theory.md §2): ε = η·c·d·ℓ0/(B·ã_n), ℓ0 = 2(c²N + 1) the initial per-sample squared error,
    n = min(N, M), c = 1/√N unless ``params['c']`` is given. Homogeneous (§3): ε = η·d^{k/2}·K(1)/(B·k·ã_min),
    k = ``params['information_exponent']`` (default 4), K(1) = ``params['K1']`` (default 1). η is in the
    code's convention (per-sample loss ½(f − y)²; the talk's η is half of it).

    ``params`` holds eta, d, N, M and optionally batch, c, information_exponent, K1. Linear in η.
    """
    require_choice("model", model, ("quadratic", "homogeneous"))
    a = np.asarray(a, dtype=np.float64)
    eta, d, N, M = float(params["eta"]), int(params["d"]), int(params["N"]), int(params["M"])
    B = int(params.get("batch", 1) or 1)
    if model == "quadratic":
        c = float(params.get("c") or 1.0 / math.sqrt(N))
        n = min(N, M)
        ell0 = 2.0 * (c * c * N + 1.0)
        eps = float(eta * c * d * ell0 / (B * a[n - 1]))
        return eps, f"ε = η·c·d·ℓ0/(B·ã_{n}) with ℓ0 = 2(c²N+1) = {ell0:.3g}, ã_{n} = {a[n - 1]:.3g}"
    k = int(params.get("information_exponent") or 4)
    K1 = float(params.get("K1") or 1.0)
    amin = float(a[min(N, M) - 1])
    eps = float(eta * d ** (k / 2) * K1 / (B * k * amin))
    return eps, f"ε = η·d^(k/2)·K(1)/(B·k·ã_min) with k = {k}, K(1) = {K1:.3g}, ã_min = {amin:.3g}"


def eta_for_step_parameter(model: str, epsilon: float, params: dict, a) -> float:
    """The step size η (code convention, loss ½(f − y)²) whose :func:`step_size_parameter` equals ``epsilon``.

    ``params`` as for :func:`step_size_parameter` without ``eta``. ε is linear in η, so η = ε/ε(η = 1).

    Examples:
        >>> a = teacher_coefficients(1.0, 16)
        >>> p = {"d": 100, "M": 16, "N": 4}
        >>> eta = eta_for_step_parameter("quadratic", 0.1, p, a)
        >>> round(step_size_parameter("quadratic", dict(p, eta=eta), a)[0], 12)
        0.1
    """
    epsilon = require_real("epsilon", epsilon, lo=0.0, lo_open=True, fix="a target ε > 0, e.g. 0.1")
    unit, _ = step_size_parameter(model, dict(params, eta=1.0), a)
    return float(epsilon / unit)


def anchored_power_law(t, risk, exponent: float, window, n: int = 20):
    """A predicted power law C·t^p drawn through a curve: C is chosen so that C·t_c^p = R(t_c) at the window's
    geometric centre t_c = √(lo·hi), R interpolated linearly in (log t, log R). For plotting a predicted slope
    next to an exact or simulated risk curve.

    Args:
        t: times of the curve, shape (T,); only entries with t > 0 and R > 0 are used.
        risk: the curve R(t), shape (T,).
        exponent: the power p (e.g. the predicted −(2β − 1)/β of docs/theory.md §2).
        window: (lo, hi), 0 < lo < hi, the time range on which to draw the line.
        n: number of log-spaced points of the line (default 20).

    Returns:
        (tg, C·tg^p): two float64 arrays of shape (n,), tg log-spaced from lo to hi.

    Examples:
        >>> tg, line = anchored_power_law([1.0, 10.0, 100.0], [1.0, 0.1, 0.01], -1.0, (1.0, 100.0), n=3)
        >>> [round(float(v), 12) for v in line]
        [1.0, 0.1, 0.01]
    """
    lo, hi = (float(w) for w in window)
    tc = math.sqrt(lo * hi)
    t = np.asarray(t, dtype=np.float64)
    R = np.asarray(risk, dtype=np.float64)
    ok = (t > 0) & (R > 0)
    Rc = math.exp(float(np.interp(math.log(tc), np.log(t[ok]), np.log(R[ok]))))
    tg = np.geomspace(lo, hi, n)
    return tg, Rc * (tg / tc) ** exponent
