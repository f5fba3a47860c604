"""Statistics shared by the claims: intervals over seeds, extrapolation to the limit, the gate (docs/theory.md §6).

Conventions: every interval is a two-sided 95% interval. Over seeds it is Student's t on the seed mean; an
extrapolation is a weighted least-squares line through the per-size means (weights 1/se²), evaluated at the
limit value 0 of the extrapolation variable (1/log d, 1/d, M^{-(1-2β)}, η, ...). When the points scatter about the
line more than their own errors allow (reduced χ² > 1), the standard errors are inflated by √χ²_red, so a model
that does not fit widens the interval instead of hiding.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["mean_ci", "extrapolate_linear", "gate", "Z95"]

Z95 = float(stats.norm.ppf(0.975))


def mean_ci(values) -> tuple[float, float, float, float]:
    """(mean, lo, hi, se) of the finite entries of ``values``: 95% Student-t interval over seeds.

    One finite value gives an interval of zero width only if it is exact; callers with one seed get se = inf.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    m = float(v.mean())
    if v.size == 1:
        return m, -math.inf, math.inf, math.inf
    se = float(v.std(ddof=1) / math.sqrt(v.size))
    h = float(stats.t.ppf(0.975, v.size - 1)) * se
    return m, m - h, m + h, se


def extrapolate_linear(x, y, se) -> dict:
    """Weighted least-squares line y = c₀ + c₁·x; returns the value at x = 0 with its 95% interval.

    Args:
        x: (n,) extrapolation variable at each size (the limit is x → 0).
        y: (n,) measured value at each size.   se: (n,) standard errors of y (> 0; tiny ones are floored at
            1e-12·max|y| so exact data do not divide by zero).

    Returns:
        dict with ``value`` (c₀), ``ci`` [lo, hi], ``se``, ``slope`` (c₁), ``slope_se``, ``chi2_red`` (reduced χ²
        of the fit; the errors were inflated by √χ²_red when it exceeded 1), ``n``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(se)
    x, y, se = x[ok], y[ok], se[ok]
    n = x.size
    if n < 2:
        raise ValueError(f"extrapolation needs ≥ 2 sizes with finite values; got {n}")
    se = np.maximum(se, 1e-12 * max(float(np.max(np.abs(y))), 1e-300))
    w = 1.0 / se**2
    A = np.vstack([np.ones_like(x), x]).T
    AtW = A.T * w
    cov = np.linalg.inv(AtW @ A)
    coef = cov @ (AtW @ y)
    resid = y - A @ coef
    dof = n - 2
    chi2_red = float(np.sum(w * resid**2) / dof) if dof > 0 else math.nan
    infl = math.sqrt(chi2_red) if dof > 0 and chi2_red > 1 else 1.0
    # with dof > 0 and inflation the interval uses Student t on dof; otherwise the normal quantile
    q = float(stats.t.ppf(0.975, dof)) if (dof > 0 and infl > 1.0) else Z95
    s0 = math.sqrt(cov[0, 0]) * infl
    return {
        "value": float(coef[0]),
        "ci": [float(coef[0] - q * s0), float(coef[0] + q * s0)],
        "se": s0,
        "slope": float(coef[1]),
        "slope_se": math.sqrt(cov[1, 1]) * infl,
        "chi2_red": chi2_red,
        "n": int(n),
    }


def gate(ci, predicted: float, tolerance: float, bound: str = "equal") -> bool:
    """Is the claim about the limit consistent with its interval ``ci`` = [lo, hi], widened by ``tolerance``?

    ``bound="equal"``: the limit equals ``predicted`` (``predicted`` lies in [lo − tol, hi + tol]).
    ``"at most"``: the limit is ≤ ``predicted`` (lo − tol ≤ predicted: the data do not put it clearly above).
    ``"at least"``: the limit is ≥ ``predicted`` (predicted ≤ hi + tol).
    """
    lo, hi = float(ci[0]), float(ci[1])
    if not (math.isfinite(lo) or math.isfinite(hi)):
        return False  # no information: an infinitely wide interval cannot pass a gate
    p = float(predicted)
    if bound == "at most":
        return bool(lo - tolerance <= p)
    if bound == "at least":
        return bool(p <= hi + tolerance)
    if bound != "equal":
        raise ValueError(f"`bound`={bound!r} is not one of 'equal', 'at most', 'at least'")
    return bool(lo - tolerance <= p <= hi + tolerance)
