"""Asymptotic predictions (THEORY.md §2-§3) and power-law fits of learning curves.

All quadratic-model times are canonical Riccati times t = 4cτ; risks are relative. These are d → ∞ statements;
compare them with the exact flow through :func:`fit_power_law` on a reported window (THEORY.md §4).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from hermite._validate import check_int, check_real

from ._teacher import check_times, teacher_coefficients

__all__ = ["PowerLawFit", "fit_power_law", "fit_quadratic_flow", "QuadraticPredictions", "quadratic_predictions"]


@dataclasses.dataclass(frozen=True)
class PowerLawFit:
    """Least-squares fit log R = log C + p log t on ``window`` = (t_lo, t_hi).

    Attributes: ``exponent`` p, ``prefactor`` C, ``window`` (t_lo, t_hi), ``stderr`` (OLS standard error of p;
    for deterministic curves it measures curvature within the window, not noise), ``n_points``, ``rule`` (how the
    window was chosen).
    """

    exponent: float
    prefactor: float
    window: tuple[float, float]
    stderr: float
    n_points: int
    rule: str


def fit_power_law(t, risk, window=None, *, floor: float = 0.0, floor_factor: float = 3.0, drop: float = 0.5):
    """Fit R(t) ≈ C t^p by ordinary least squares in log–log coordinates.

    Args:
        t: (T,) increasing times > 0 are used (t = 0 is skipped).
        risk: (T,) positive risks (relative). For SGD curves pass the seed mean.
        window: (t_lo, t_hi) to fit on, or None to choose automatically: points after the initial plateau
            (R ≤ ``drop``·R(first)) and before the width floor (R ≥ ``floor_factor``·floor); the rule used is
            reported in the result.
        floor: known risk floor (e.g. the width floor Σ_{m>N} ã_m²); 0 if none.

    Returns:
        :class:`PowerLawFit`. Raises ValueError if fewer than 3 points fall in the window.

    Example:
        >>> f = fit_power_law(np.geomspace(1, 100, 20), 2 * np.geomspace(1, 100, 20) ** -1.0, window=(1, 100))
        >>> round(f.exponent, 12), round(f.prefactor, 12)
        (-1.0, 2.0)
    """
    t = check_times(t, "t")
    R = np.asarray(risk, dtype=np.float64)
    if R.shape != t.shape:
        raise ValueError(f"`risk` has shape {R.shape}; expected {t.shape} to match `t`")
    floor = check_real("floor", floor, lo=0.0)
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
    A = np.vstack([np.ones_like(x), x]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    dof = max(n - 2, 1)
    sxx = np.sum((x - x.mean()) ** 2)
    se = math.sqrt(float(resid @ resid) / dof / sxx) if sxx > 0 else math.inf
    return PowerLawFit(
        exponent=float(coef[1]),
        prefactor=float(math.exp(coef[0])),
        window=(float(t[sel][0]), float(t[sel][-1])),
        stderr=se,
        n_points=n,
        rule=rule,
    )


@dataclasses.dataclass(frozen=True)
class QuadraticPredictions:
    """Predictions of THEORY.md §2 for a power-law teacher (canonical time t = 4cτ, relative risk).

    Attributes:
        time_exponent: (1 − 2β)/β, exponent of R(t) before the width floor.
        compute_exponent: (1 − 2β)/(1 + β), compute-optimal frontier L ∝ C^{…} with compute C ∝ N·t.
        regime: "beta>1/2", "beta<1/2" or "beta=1/2".
        phi: N/M.
        floor: exact width floor Σ_{m>N} ã_m².
        floor_asymptotic: N^{1−2β}/((2β−1)Z) for β > 1/2, 1 − φ^{1−2β} for β < 1/2, 1 − log N/log M at β = 1/2
            (Z = Σ_{m≤M} m^{−2β}).
        g0: typical initial overlap N/d.
        emergence_times: (M,) additive-model t_m = log(1/g0)/(2ã_m).
    """

    beta: float
    M: int
    N: int
    d: int
    time_exponent: float
    compute_exponent: float
    regime: str
    phi: float
    floor: float
    floor_asymptotic: float
    g0: float
    emergence_times: np.ndarray

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

    def regime_curve(self, t) -> np.ndarray:
        """Continuum regime formula of THEORY.md §2 with explicit constants.

        Directions with t_m ≤ t are learned, i.e. m ≤ x(t) = (2t/(√Z log(1/g0)))^{1/β}. Then
        β > 1/2: R ≈ x^{1−2β}/((2β−1)Z) ∨ floor  (the (t/log d)^{(1−2β)/β} ∨ N^{1−2β} law);
        β < 1/2: R ≈ 1 − min(x/M, φ)^{1−2β};   β = 1/2: R ≈ 1 − log(min(x, N))/log M. Clipped to [0, 1].
        """
        t = np.asarray(t, dtype=np.float64)
        b = self.beta
        Z = float(np.sum(np.arange(1, self.M + 1, dtype=np.float64) ** (-2 * b)))
        with np.errstate(divide="ignore"):
            x = (2.0 * t / (math.sqrt(Z) * math.log(1.0 / self.g0))) ** (1.0 / b) if b > 0 else np.full_like(t, np.inf)
        x = np.maximum(x, 1.0)
        if b > 0.5:
            R = np.maximum(x ** (1 - 2 * b) / ((2 * b - 1) * Z), self.floor_asymptotic)
        elif b < 0.5:
            R = 1.0 - np.minimum(x / self.M, self.phi) ** (1 - 2 * b)
        else:
            R = 1.0 - np.log(np.minimum(x, self.N)) / math.log(self.M)
        return np.clip(R, 0.0, 1.0)


def quadratic_predictions(beta: float, M: int, N: int, d: int) -> QuadraticPredictions:
    """Predictions for the quadratic model with ã_m ∝ m^{−β} (THEORY.md §2); see :class:`QuadraticPredictions`.

    Example:
        >>> quadratic_predictions(1.0, 100, 10, 1000).time_exponent
        -1.0
    """
    beta = check_real("beta", beta, lo=0.0, lo_open=True, fix="power-law predictions need β > 0")
    M = check_int("M", M, lo=1)
    N = check_int("N", N, lo=1)
    d = check_int("d", d, lo=max(M, N))
    a = teacher_coefficients(beta, M)
    g0 = N / d
    if g0 >= 1:
        raise ValueError(f"`N`={N} equals `d`={d}: emergence needs g0 = N/d < 1; raise d")
    Z = float(np.sum(np.arange(1, M + 1, dtype=np.float64) ** (-2 * beta)))
    phi = N / M
    floor = float(np.sum(a[N:] ** 2))
    if beta > 0.5:
        fa = N ** (1 - 2 * beta) / ((2 * beta - 1) * Z) if N < M else 0.0
        regime = "beta>1/2"
    elif beta < 0.5:
        fa = max(1.0 - min(phi, 1.0) ** (1 - 2 * beta), 0.0)
        regime = "beta<1/2"
    else:
        fa = max(1.0 - math.log(min(N, M)) / math.log(M), 0.0) if M > 1 else 0.0
        regime = "beta=1/2"
    return QuadraticPredictions(
        beta=beta,
        M=M,
        N=N,
        d=d,
        time_exponent=(1 - 2 * beta) / beta,
        compute_exponent=(1 - 2 * beta) / (1 + beta),
        regime=regime,
        phi=phi,
        floor=floor,
        floor_asymptotic=float(fa),
        g0=g0,
        emergence_times=np.log(1.0 / g0) / (2.0 * a),
    )


def fit_quadratic_flow(sol, *, m_lo: int = 2, width_fraction: float = 0.25) -> PowerLawFit:
    """Fit the exact quadratic flow's R(t) on the window between two emergence times, chosen by the code.

    Window: [t_{m_lo}, t_{m_hi}] with t_m the exact emergence times of ``sol`` (G_mm = 1/2) and
    m_hi = ⌊width_fraction · min(N, M)⌋ (past the initial plateau, well before the width / teacher-size cutoff,
    where the d → ∞ law R ∝ t^{(1−2β)/β} applies). Raises ValueError if those directions have not emerged
    within the solved times (extend the times) or if fewer than 3 time points fall in the window.
    """
    em = np.sort(np.asarray(sol.emergence_times))
    em = em[~(em <= sol.t[0])]  # directions learned from the start (e.g. M + N > d) carry no dynamics
    n = min(int(sol.params["N"]), int(sol.params["M"]), em.size)
    m_hi = max(int(width_fraction * n), m_lo + 1)
    if m_hi > em.size or not np.isfinite(em[m_hi - 1]) or em[m_hi - 1] <= em[m_lo - 1]:
        raise ValueError(f"direction {m_hi} has not emerged by t={sol.t[-1]:g}: extend the times to fit the power law")
    f = fit_power_law(sol.t, sol.risk, window=(em[m_lo - 1], em[m_hi - 1]))
    return dataclasses.replace(f, rule=f"emergence of directions {m_lo}..{m_hi} (exact flow)")


def anchored_power_law(t, risk, exponent: float, window, n: int = 20):
    """Curve C·t^exponent on ``window``, with C chosen so it passes through R at the window's geometric centre
    (log-linear interpolation of ``risk``). For plotting a predicted slope next to an exact curve."""
    lo, hi = (float(w) for w in window)
    tc = math.sqrt(lo * hi)
    t = np.asarray(t, dtype=np.float64)
    R = np.asarray(risk, dtype=np.float64)
    ok = (t > 0) & (R > 0)
    Rc = math.exp(float(np.interp(math.log(tc), np.log(t[ok]), np.log(R[ok]))))
    tg = np.geomspace(lo, hi, n)
    return tg, Rc * (tg / tc) ** exponent
