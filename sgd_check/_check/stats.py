"""Curve statistics of a check: emergence times, power-law fits and their windows, Student-t intervals.

Plain numpy (float64) on the logged grid, so they can be tested on synthetic curves (docs/theory.md §4). A direction
is *learned* when its curve (G_mm or max_i m_ip²) first reaches 1/2 (``riccati.first_crossing_index`` finds the
step); here the crossing is interpolated linearly in log t, as the emergence is a logistic in log-time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import riccati

__all__ = [
    "LEVEL_LEARNED",
    "emergence_times",
    "fit_exponent",
    "choose_fit_window",
    "t_interval",
    "t_quantile",
    "geomean",
    "late_window",
    "emergence_slope_fit",
    "time_exponent_fit",
    "rise_times",
    "pooled_log_ratio",
]

#: "Direction learned": its curve reaches 1/2 (docs/theory.md §2-§3).
LEVEL_LEARNED = 0.5


def emergence_times(t, curves, *, level: float = LEVEL_LEARNED) -> np.ndarray:
    """First upward crossing of ``level`` by each curve, interpolated linearly in log t.

    Parameters
    ----------
    t : (T,) increasing times ≥ 0 (flow time).
    curves : (..., T, M) direction curves (G_mm or m_ip²).
    level : crossing level, default 1/2 ("direction learned", docs/theory.md §2-§3).

    Returns
    -------
    (..., M) crossing times; NaN where the curve never reaches ``level``; ``t[0]`` where it starts above it.
    Between t_j > 0 and t_{j+1} the crossing is found by linear interpolation of the curve in log t (the
    emergence is a logistic in log-time); next to t = 0 linearly in t.
    """
    t = np.asarray(t, dtype=np.float64)
    c = np.asarray(curves, dtype=np.float64)
    j = riccati.first_crossing_index(c, level)  # (..., M), −1 where never reached
    reached = j >= 0
    j = np.maximum(j, 0)
    c = np.moveaxis(c, -2, -1)  # (..., M, T)
    jm = np.maximum(j - 1, 0)
    c1 = np.take_along_axis(c, j[..., None], axis=-1)[..., 0]
    c0 = np.take_along_axis(c, jm[..., None], axis=-1)[..., 0]
    t1, t0 = t[j], t[jm]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip(np.where(c1 > c0, (level - c0) / (c1 - c0), 1.0), 0.0, 1.0)
        logt = np.exp(np.log(np.where(t0 > 0, t0, 1.0)) * (1 - frac) + np.log(np.where(t1 > 0, t1, 1.0)) * frac)
    out = np.where(t0 > 0, logt, t0 + frac * (t1 - t0))
    out = np.where(j == 0, t[0], out)
    return np.where(reached, out, np.nan)


def rise_times(t, curves, *, lo: float = 0.25, hi: float = 0.75) -> np.ndarray:
    """Duration of each emergence: the time the curve takes from ``lo`` to ``hi`` (first crossings, interpolated
    linearly in log t like :func:`emergence_times`).

    The escape from a small initial overlap is where SGD noise acts most (it sets *when* a direction emerges);
    the rise itself is driven by the signal, so its duration is a clean measure of the time scale (the clock).
    Returns (..., M); NaN where the curve starts at or above ``lo`` or never reaches ``hi``.
    """
    t = np.asarray(t, dtype=np.float64)
    c = np.asarray(curves, dtype=np.float64)
    t_lo = emergence_times(t, c, level=lo)
    t_hi = emergence_times(t, c, level=hi)
    starts_below = c[..., 0, :] < lo
    with np.errstate(invalid="ignore"):
        return np.where(starts_below & (t_hi > t_lo), t_hi - t_lo, np.nan)


def pooled_log_ratio(x, w, level: float) -> dict:
    """Weighted mean over (seed, direction) pairs of log ratios ``x`` (S, n), weight ``w`` (n,) per direction,
    with its standard error and Student-t quantile.

    The pooled mean is Σ w_m x_sm / (S Σ w_m). Its standard error is the larger of two estimates: the pair-level
    (sandwich) one, Σ w² (x − x̄)² / (Σ w)² · n/(n − 1) over the n = S·n_dir pairs (valid when the pairs are
    independent: each direction escapes on its own noise), and the seed-level one, the standard error over the S
    per-seed weighted means (valid whatever the correlation between directions of one seed). ``q`` is the
    two-sided Student-t quantile at ``level`` with n_eff − 1 degrees of freedom, n_eff = (Σ W)²/Σ W² (Kish) over
    the pairs. Returns ``{"mean", "se", "se_pairs", "se_seeds", "n_pairs", "n_eff", "q"}``; with fewer than 2
    seeds ``se`` is NaN and ``q`` 0 (no noise estimate).
    """
    from scipy import stats

    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    S, n = x.shape
    W = np.broadcast_to(w, x.shape).ravel()
    xs = x.ravel()
    mean = float(np.sum(W * xs) / np.sum(W))
    out: dict[str, Any] = {"mean": mean, "n_pairs": int(xs.size), "n_eff": float(np.sum(W) ** 2 / np.sum(W**2))}
    if S < 2:
        out.update(se=math.nan, se_pairs=math.nan, se_seeds=math.nan, q=0.0)
        return out
    se_pairs = math.sqrt(np.sum(W**2 * (xs - mean) ** 2) / np.sum(W) ** 2 * xs.size / (xs.size - 1))
    per_seed = (x * w).sum(axis=1) / w.sum()
    se_seeds = float(per_seed.std(ddof=1) / math.sqrt(S))
    q = float(stats.t.ppf(0.5 + level / 2, max(out["n_eff"] - 1.0, 1.0)))
    out.update(se=max(se_pairs, se_seeds), se_pairs=se_pairs, se_seeds=se_seeds, q=q)
    return out


def fit_exponent(t, y, window) -> tuple[float, float, int]:
    """Least-squares slope of log y against log t over ``window = (t_lo, t_hi)`` (``riccati.fit_power_law``).

    Returns ``(exponent, log_prefactor, n_points)``: y ≈ exp(log_prefactor)·t^exponent on the window. NaN if
    fewer than 3 positive points lie in the window.
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    lo, hi = window
    try:
        f = riccati.fit_power_law(t, y, window=(lo, hi))
    except ValueError:
        return math.nan, math.nan, int(np.sum((t >= lo) & (t <= hi) & (t > 0) & np.isfinite(y) & (y > 0)))
    return f.exponent, math.log(f.prefactor), f.n_points


def choose_fit_window(t, risk, floor: float, *, start: float = 0.8, floor_factor: float = 2.0):
    """Window for the time-exponent fit of a decaying risk curve (``riccati.fit_power_law``'s automatic rule).

    The power law of the additive picture (docs/theory.md §2) holds after the first directions are learned and
    before the width floor is felt: the logged times where ``risk`` ≤ ``start``·risk(t_first) and
    ``risk`` ≥ ``floor_factor``·floor. Returns ``(t_lo, t_hi)`` or ``None`` if fewer than 3 points qualify.
    """
    t = np.asarray(t, dtype=np.float64)
    r = np.asarray(risk, dtype=np.float64)
    try:
        f = riccati.fit_power_law(t, r, floor=floor, floor_factor=floor_factor, drop=start)
    except ValueError:
        return None
    return f.window


def t_interval(x, level: float = 0.95) -> dict:
    """Mean of the finite values of ``x`` with its two-sided Student-t confidence interval over samples.

    Returns ``{"mean", "se", "lo", "hi", "n", "level"}``; ``se``, ``lo``, ``hi`` are NaN when n < 2.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return {"mean": math.nan, "se": math.nan, "lo": math.nan, "hi": math.nan, "n": 0, "level": level}
    mean = float(x.mean())
    if n < 2:
        return {"mean": mean, "se": math.nan, "lo": math.nan, "hi": math.nan, "n": 1, "level": level}
    se = float(x.std(ddof=1) / math.sqrt(n))
    q = t_quantile(n, level)
    return {"mean": mean, "se": se, "lo": mean - q * se, "hi": mean + q * se, "n": n, "level": level}


def t_quantile(n: int, level: float) -> float:
    """Two-sided Student-t quantile at ``level`` with n − 1 degrees of freedom; 0 for n < 2 (no noise estimate)."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, n - 1)) if n >= 2 else 0.0


def geomean(T) -> np.ndarray:
    """Geometric mean over axis 0 (seeds) of positive times ``T``; NaN where any seed's time is not finite."""
    T = np.asarray(T, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        lg = np.log(T)
        ok = np.isfinite(lg)
        n = ok.sum(axis=0)
        s = np.where(ok, lg, 0.0).sum(axis=0)
        return np.where(n == T.shape[0], np.exp(s / np.maximum(n, 1)), np.nan)


def late_window(t, late_fraction: float) -> slice:
    """The late-time window: logged times t ≥ ``late_fraction``·t_end, at least the last 3 logged points."""
    t = np.asarray(t)
    n_late = max(3, int(np.sum(t >= late_fraction * t[-1])))
    return slice(t.size - n_late, t.size)


def emergence_slope_fit(Ts, Tf, learned, beta: float, level: float) -> dict:
    """Slope of log T_m vs log m over the ``learned`` directions, SGD (``Ts``) and flow (``Tf``), (S, M) each.

    Pooled: least squares of mean_s log T_m on log m; per-seed fits give the CIs (Student-t at ``level``),
    ``per_seed_diff_ci`` the paired SGD − flow difference. ``predicted_line`` is slope β drawn through the flow's
    fitted line at the geometric middle direction. Fewer than 3 directions: NaN slopes and a note.
    """
    m = np.flatnonzero(learned) + 1
    out: dict[str, Any] = {"predicted": beta, "directions": m.tolist(), "n_directions": int(m.size)}
    if m.size < 3:
        out.update(sgd=math.nan, flow=math.nan, note="fewer than 3 directions learned by every seed")
        return out
    x = np.log(m.astype(np.float64))
    ls, lf = np.log(Ts[:, learned]), np.log(Tf[:, learned])
    ps = np.array([np.polyfit(x, row, 1)[0] for row in ls])
    pf = np.array([np.polyfit(x, row, 1)[0] for row in lf])
    ps_pool, cs = np.polyfit(x, ls.mean(axis=0), 1)
    pf_pool, cf = np.polyfit(x, lf.mean(axis=0), 1)
    out.update(
        sgd=float(ps_pool),
        flow=float(pf_pool),
        sgd_log_prefactor=float(cs),
        flow_log_prefactor=float(cf),
        sgd_ci=t_interval(ps, level),
        flow_ci=t_interval(pf, level),
        per_seed_diff_ci=t_interval(ps - pf, level),
        fit="least squares of mean_s log T_m on log m; CIs from per-seed fits",
    )
    xm = 0.5 * (x[0] + x[-1])
    ym = pf_pool * xm + cf
    out["predicted_line"] = {
        "m": [float(m[0]), float(m[-1])],
        "T": [math.exp(ym + beta * (x[0] - xm)), math.exp(ym + beta * (x[-1] - xm))],
    }
    return out


def time_exponent_fit(t, sr, fr, floor: float, predicted, level: float, directions_in_window=None) -> dict:
    """Time exponent of log R vs log t, SGD (``sr``) and flow (``fr``), (S, T) each, on :func:`choose_fit_window`
    of the mean flow risk.

    Pooled fits on the seed-mean curves, CIs (Student-t at ``level``) from per-seed fits, ``diff_ci`` the paired
    SGD − flow difference. With a ``predicted`` exponent, ``predicted_line`` is that power law drawn through the
    mean flow at the window's geometric midpoint. No window: a note and an empty ``diff_ci``.
    """
    window = choose_fit_window(t, fr.mean(axis=0), floor)
    out: dict[str, Any] = {"predicted": predicted, "window": window}
    if window is None:
        out.update(note="no decay window between the initial plateau and 2× the floor", diff_ci=t_interval([]))
        return out
    fs = np.array([fit_exponent(t, r, window)[0] for r in sr])
    ff = np.array([fit_exponent(t, r, window)[0] for r in fr])
    ps, cs, n = fit_exponent(t, sr.mean(axis=0), window)
    pf, cf, _ = fit_exponent(t, fr.mean(axis=0), window)
    mean_f = fr.mean(axis=0)
    sel = (t >= window[0]) & (t <= window[1])
    directions_in_window = int(directions_in_window) if directions_in_window is not None else 0
    if predicted is not None:
        tm = math.sqrt(window[0] * window[1])
        rm = math.exp(np.interp(math.log(tm), np.log(t[sel]), np.log(mean_f[sel])))
        lo, hi = max(window[0] / 2, t[t > 0][0]), min(window[1] * 2, t[-1])
        lo = max(lo, tm * (min(1.0, 1.2 * float(mean_f[sel].max())) / rm) ** (1 / predicted))
        out["predicted_line"] = {
            "t": [lo, hi],
            "risk": [rm * (lo / tm) ** predicted, rm * (hi / tm) ** predicted],
        }
    out.update(
        sgd=ps,
        flow=pf,
        sgd_log_prefactor=cs,
        flow_log_prefactor=cf,
        n_points=n,
        sgd_ci=t_interval(fs, level),
        flow_ci=t_interval(ff, level),
        diff_ci=t_interval(fs - ff, level),
        risk_range_in_window=[float(mean_f[sel].max()), float(mean_f[sel].min())],
        directions_in_window=directions_in_window,
        fit="least squares of log R on log t over the window; CIs from per-seed fits",
    )
    return out
