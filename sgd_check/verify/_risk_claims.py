"""Claim 5b and 5c (docs/theory.md §6 claim 5): the RNWL risk exponent, gated against the decoupled law's finite-M
exponent from the same initial state, and the risk floor ∝ N^(1−2β), on the exact two-homogeneous flow and the
decoupled law (``riccati.greedy_emergence_homogeneous``). Time t = η·steps; risk is the relative risk 2L/K(1).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

import riccati

from ._quadratic_claims import _ex, _points, tail_restored_risk
from ._stats import Z95, extrapolate_linear, mean_ci

__all__ = ["claim_5_exponent", "claim_5_floor", "decoupled_risk"]


def decoupled_risk(a, T, t) -> np.ndarray:
    """Risk of the decoupled law: R(t) = Σ_{p: T_p > t} ã_p² (directions never learned, T_p = nan, count forever).

    T are the escape times of :func:`riccati.greedy_emergence_homogeneous` (each direction learned at once by one
    neuron at T_p, automatic deflation; the descent after an escape lasts O(1/ã_p) ≪ T_p and is dropped).
    Relative risk, time t = η·steps."""
    a = np.asarray(a, dtype=np.float64)
    T = np.where(np.isfinite(T), np.asarray(T, dtype=np.float64), np.inf)
    order = np.argsort(T)
    learned = np.concatenate([[0.0], np.cumsum(a[order] ** 2)])
    return float(np.sum(a**2)) - learned[np.searchsorted(T[order], np.asarray(t, dtype=np.float64), side="right")]


def _window(sz, M):
    """Fit window in emergence ranks (m_lo, m_hi), proportional to M: lo_frac·M .. hi_frac·M."""
    return max(2, round(sz["lo_frac"] * M)), round(sz["hi_frac"] * M)


def _window_exponent(t, risk, em, beta, M, m_lo, m_hi):
    """Exponent of the tail-restored risk R(t) + Σ_{m>M} ã_m² fitted by riccati.fit_power_law between the sorted
    emergences m_lo and m_hi (nan when the window did not fill or holds < 3 time points)."""
    em = np.sort(np.where(np.isfinite(em), em, np.inf))
    if not np.isfinite(em[m_hi - 1]):
        return math.nan
    Rc = tail_restored_risk(risk, beta, M, M)
    try:
        return riccati.fit_power_law(t, Rc, window=(em[m_lo - 1], em[m_hi - 1])).exponent
    except ValueError:
        return math.nan


def _risk_grid(sz, a, scale):
    k = sz["k"]
    tau = np.geomspace(0.01 / (k * (k - 2) * a[0]), sz["horizon"] / (k * (k - 2) * a[-1]), sz["n_times"])
    return tau, tau * scale


def _decoupled_exponent(sz, beta, M, st, m_lo, m_hi):
    """The decoupled law's exponent for one initial state (N = M), on its own time grid and window."""
    k, d = sz["k"], int(sz["d"])
    a = riccati.teacher_coefficients(beta, M)
    _, t = _risk_grid(sz, a, d ** (k / 2 - 1))
    T = riccati.greedy_emergence_homogeneous(a, st[1], k)
    return _window_exponent(t, decoupled_risk(a, T, t), T, beta, M, m_lo, m_hi)


def claim_5_exponent(sz, ctx) -> dict:
    """RNWL risk exponent at finite M: the exact flow's exponent of R(t) (N = M, fitted between the emergences
    lo_frac·M and hi_frac·M) equals that of the decoupled law from the same initial state; the decoupled law's
    exponent is computed at larger M to show its approach to the limit (1−2β)/β."""
    act, k, beta, d = sz["activation"], sz["k"], sz["beta"], int(sz["d"])
    beta_c = beta + 0.5
    scale = d ** (k / 2 - 1)
    diff: dict[int, list[float]] = {}
    diff_c: dict[int, list[float]] = {}
    flow_e: dict[int, list[float]] = {}
    dec_e: dict[int, list[float]] = {}
    curves = []
    for mi, M in enumerate(sz["M"]):
        a = riccati.teacher_coefficients(beta, M)
        m_lo, m_hi = _window(sz, M)
        tau, t = _risk_grid(sz, a, scale)
        for s in range(sz["seeds"]):
            st = riccati.sample_homogeneous_state(ctx.seed_for(mi, s), d, M, M)
            sol = riccati.homogeneous_flow(act, a, times=t, state=st, d=d, rtol=1e-8, atol=1e-14)
            e_f = _window_exponent(t, sol.risk, sol.emergence_times, beta, M, m_lo, m_hi)
            e_d = _decoupled_exponent(sz, beta, M, st, m_lo, m_hi)
            e_c = _decoupled_exponent(sz, beta_c, M, st, m_lo, m_hi)
            flow_e.setdefault(M, []).append(e_f)
            dec_e.setdefault(M, []).append(e_d)
            diff.setdefault(M, []).append(e_f - e_d)
            diff_c.setdefault(M, []).append(e_f - e_c)
            if s == 0:
                T = riccati.greedy_emergence_homogeneous(a, st[1], k)
                curves.append({"M": M, "tau": tau, "risk_restored": tail_restored_risk(sol.risk, beta, M, M)})
                curves.append(
                    {"M": M, "tau": tau, "decoupled": tail_restored_risk(decoupled_risk(a, T, t), beta, M, M)}
                )
            ctx.progress(f"homogeneous flow N = M = {M} seed {s + 1}/{sz['seeds']}")
    # the decoupled law alone at larger M (cheap: no ODE), seeds distinct from the flows'
    limit = []
    for li, M in enumerate(sz["limit_M"]):
        m_lo, m_hi = _window(sz, M)
        vals = [
            _decoupled_exponent(
                sz, beta, M, riccati.sample_homogeneous_state(ctx.seed_for(100 + li, s), d, M, M), m_lo, m_hi
            )
            for s in range(sz["limit_seeds"])
        ]
        m, lo, hi, _ = mean_ci(vals)
        limit.append({"M": M, "seeds": len(vals), "value": m, "ci": [lo, hi]})
        ctx.progress(f"decoupled law M = {M}: exponent {m:.3f}")
    params = lambda M: {"M": M, "N": M, "d": d, "beta": beta, "k": k, "window": list(_window(sz, M))}  # noqa: E731
    pts, x, y, se = _points(diff, params, lambda M: 1.0 / M)
    for p in pts:
        M = p["params"]["M"]
        p["flow_exponent"] = mean_ci(flow_e[M])[:3]
        p["decoupled_exponent"] = mean_ci(dec_e[M])[:3]
    ex = extrapolate_linear(x, y, se)
    _, _, yc, sec = _points(diff_c, lambda M: {}, lambda M: 1.0 / M)
    exc = extrapolate_linear(x, yc, sec)
    p_inf = (1 - 2 * beta) / beta
    per_m = "; ".join(
        f"M = {p['params']['M']}: flow {p['flow_exponent'][0]:.3f}, decoupled {p['decoupled_exponent'][0]:.3f}"
        for p in pts
    )
    lim = ", ".join(f"{r['value']:.3f} (M = {r['M']})" for r in limit)
    return {
        "points": pts,
        "extrapolated": {**_ex(ex), "variable": "1/M → 0 (paired difference flow − decoupled law, same state)"},
        "predicted": 0.0,
        "tolerance": sz["tolerance"],
        "why": (
            f"σ = {act} (k = {k}), β = {beta:g}, N = M, d = {d:g}; per seed the exponent of R(t) + Σ_(m>M) ã_m² "
            f"fitted between the sorted emergences {sz['lo_frac']:g}·M and {sz['hi_frac']:g}·M, on the exact flow "
            "(stiff BDF, rtol 1e-8) and on the decoupled law R(t) = Σ_(p: T_p > t) ã_p² with T_p from the same "
            "initial overlaps (riccati.greedy_emergence_homogeneous: escapes in order of |m_ip|^(2−k)/(k(k−2)ã_p), "
            "deflation); gated: their paired difference → 0. Seed means: "
            f"{per_m}. The decoupled law's exponent, seed means at larger M: {lim}; it tends to the limit "
            f"(1−2β)/β = {p_inf:g} only slowly (the pool of free neurons shrinks from 7M/8 to M/2 across the "
            "window, so the largest initial overlap among them, ≈ 2 log F, falls), hence the finite-M prediction. "
            f"Tolerance {sz['tolerance']:g}: the residual coupling of the directions at d = {d:g} (escape times "
            "within ≈ 5% of the decoupled ones)"
        ),
        "control": {
            "prediction": 0.0,
            "what": f"the flow against the decoupled law of the wrong β = {beta_c:g} (same states): the difference "
            f"extrapolates to {exc['value']:.3g} [{exc['ci'][0]:.3g}, {exc['ci'][1]:.3g}]",
            "extrapolated": {"value": exc["value"], "ci": exc["ci"]},
        },
        "side": {"limit": {"predicted": p_inf, "decoupled_exponent": limit}},
        "plot": {
            "kind": "curves+extrapolation",
            "curves": curves,
            "x": x,
            "y": y,
            "se": se,
            "y_control": yc,
            "xlabel": "1/M",
            "ylabel": "exponent: flow − decoupled law",
            "curve_x": "τ = t·d^(1−k/2)",
            "curve_y": "R(τ) + Σ_(m>M) ã_m² (flow; decoupled law)",
        },
    }


def _fmt(vals) -> str:
    return ", ".join(f"{v:.4g}" for v in vals)


def _slope_fit(logN, logR, se):
    """Weighted least-squares slope of logR on logN with its 95% interval (errors inflated by √χ²_red when > 1,
    then Student t on n − 2 degrees of freedom, as in extrapolate_linear)."""
    ex = extrapolate_linear(logN, logR, se)
    dof = ex["n"] - 2
    q = float(stats.t.ppf(0.975, dof)) if (dof > 0 and ex["chi2_red"] > 1) else Z95
    return ex["slope"], [ex["slope"] - q * ex["slope_se"], ex["slope"] + q * ex["slope_se"]], ex


def _decoupled_floor(seed, a, d, N, k):
    """Late risk of the decoupled law for one initial state: Σ_{p not learned} ã_p² (greedy escape order)."""
    st = riccati.sample_homogeneous_state(seed, d, a.size, N)
    T = riccati.greedy_emergence_homogeneous(a, st[1], k)
    return float(np.sum(a[~np.isfinite(T)] ** 2))


def claim_5_floor(sz, ctx) -> dict:
    """RNWL floor: at N < M the late risk scales like N^{1−2β} across N.

    Two parts. (i) Exact flows at M = floor_M, N ∈ floor_N, each run to floor_horizon × the decoupled law's last
    escape from its own initial state: its late risk must equal the decoupled floor Σ_{p not learned} ã_p², the
    directions the greedy escape order leaves (conditions). (ii) The decoupled floor's N-law at large M
    (limit_floor_M, Monte Carlo over seeds): local exponents d log E[floor]/d log N between consecutive N, minus the
    top-N floor's known cut-off correction (its local exponent − (1 − 2β)), extrapolated in N^{−1/2} → 1 − 2β."""
    act, k, beta, d, M = sz["activation"], sz["k"], sz["beta"], int(sz["d"]), sz["floor_M"]
    a = riccati.teacher_coefficients(beta, M)
    late: dict[int, list[float]] = {}
    rel_err, settle = [], []
    for ni, N in enumerate(sz["floor_N"]):
        for s in range(sz["floor_seeds"]):
            st = riccati.sample_homogeneous_state(ctx.seed_for(50 + ni, s), d, M, N)
            T = riccati.greedy_emergence_homogeneous(a, st[1], k)
            H = sz["floor_horizon"] * float(np.nanmax(T))
            t = np.geomspace(H / 1e3, H, 24)
            sol = riccati.homogeneous_flow(act, a, times=t, state=st, d=d, rtol=1e-8, atol=1e-14)
            floor_dec = float(np.sum(a[~np.isfinite(T)] ** 2))
            late.setdefault(N, []).append(float(sol.risk[-1]))
            rel_err.append(abs(sol.risk[-1] / floor_dec - 1))
            settle.append(abs(sol.risk[-4] / sol.risk[-1] - 1))  # t ≈ 0.74·H against H
            ctx.progress(f"homogeneous flow M = {M}, N = {N} seed {s + 1}/{sz['floor_seeds']}")
    flow_pts = []
    for N in sorted(late):
        m, lo, hi, _ = mean_ci(late[N])
        flow_pts.append({"M": M, "N": N, "late_risk": m, "ci": [lo, hi], "top_N_floor": float(np.sum(a[N:] ** 2))})

    # (ii) the decoupled floor's N-law at large M
    ML, Ns = sz["limit_floor_M"], sorted(sz["limit_floor_N"])
    aL = riccati.teacher_coefficients(beta, ML)
    mean_f, se_log, top = [], [], []
    for ni, N in enumerate(Ns):
        fl = [_decoupled_floor(ctx.seed_for(200 + ni, s), aL, d, N, k) for s in range(sz["floor_mc_seeds"])]
        m, _, _, s_ = mean_ci(fl)
        mean_f.append(m)
        se_log.append(s_ / m)
        top.append(float(np.sum(aL[N:] ** 2)))
        ctx.progress(f"decoupled floor M = {ML}, N = {N}: {m:.4g} (top-N floor {top[-1]:.4g})")
    p_inf = 1 - 2 * beta
    per: dict[float, list[float]] = {}
    x, y, se, pts = [], [], [], []
    for j in range(len(Ns) - 1):
        L = math.log(Ns[j + 1] / Ns[j])
        s_dec = math.log(mean_f[j + 1] / mean_f[j]) / L
        s_top = math.log(top[j + 1] / top[j]) / L
        val = s_dec - (s_top - p_inf)  # the M cut-off's exact effect on the local exponent removed
        e = math.hypot(se_log[j], se_log[j + 1]) / L
        Ng = math.sqrt(Ns[j] * Ns[j + 1])
        pts.append(
            {
                "params": {"M": ML, "N_pair": [Ns[j], Ns[j + 1]], "beta": beta, "k": k, "seeds": sz["floor_mc_seeds"]},
                "value": val,
                "ci": [val - Z95 * e, val + Z95 * e],
                "local_exponent": s_dec,
                "top_N_local_exponent": s_top,
            }
        )
        per[Ng] = [val]
        x.append(Ng**-0.5)
        y.append(val)
        se.append(e)
    x, y, se = np.array(x), np.array(y), np.array(se)
    ex = extrapolate_linear(x, y, se)
    # the extrapolation variable is measured, not derived: the same fit in 1/N gives the model uncertainty
    ex_alt = extrapolate_linear(x**2, y, se)
    model_unc = abs(ex["value"] - ex_alt["value"])
    tol = sz["tolerance"] + model_unc
    beta_c = beta + 0.5
    ok_floor = max(rel_err) <= 1e-6
    ok_settle = max(settle) <= 1e-6
    ratio = [f / t_ for f, t_ in zip(mean_f, top, strict=True)]
    return {
        "points": pts,
        "extrapolated": {**_ex(ex), "variable": "N^(−1/2) → 0 (N at the geometric mean of each pair)"},
        "predicted": p_inf,
        "tolerance": tol,
        "why": (
            f"σ = {act} (k = {k}), β = {beta:g}, d = {d:g}. (i) Exact flows, M = {M}, N = {sorted(late)}, "
            f"{sz['floor_seeds']} seeds, each run to {sz['floor_horizon']:g}× the last escape of the decoupled law "
            "from its own initial state: the late risk equals the decoupled floor Σ_(p not learned) ã_p² of the "
            f"same state (max rel. error {max(rel_err):.1e}; seed means "
            f"{_fmt(p['late_risk'] for p in flow_pts)} against the top-N floor Σ_(N<m≤M) ã_m² "
            f"{_fmt(p['top_N_floor'] for p in flow_pts)}): the neurons take the directions the greedy escape order "
            "gives them, not the N strongest. (ii) That floor's N-law at M = "
            f"{ML} (riccati.greedy_emergence_homogeneous, {sz['floor_mc_seeds']} seeds per N = {Ns}): seed means "
            f"{_fmt(mean_f)}, ratio to the top-N floor {_fmt(ratio)} (→ 1); local exponent between consecutive N "
            "minus the top-N floor's exact cut-off correction, extrapolated in N^(−1/2) (the ratio's measured "
            f"decay), against 1 − 2β; tolerance {sz['tolerance']:g} + {model_unc:.3f}, the latter the distance to the "
            f"same extrapolation in 1/N ({ex_alt['value']:.3f} [{ex_alt['ci'][0]:.3f}, {ex_alt['ci'][1]:.3f}]): "
            "the variable is measured, not derived"
        ),
        "conditions": [
            {
                "name": "flow late risk = decoupled floor Σ_(p not learned) ã_p² (rel. 1e-6) in every run",
                "pass": ok_floor,
            },
            {"name": "flow late risk settled (rel. change ≤ 1e-6 over the last quarter of the run)", "pass": ok_settle},
        ],
        "control": {"prediction": 1 - 2 * beta_c, "what": f"N-exponent for the wrong β = {beta_c:g}"},
        "side": {
            "flows": flow_pts,
            "max_rel_floor_error": max(rel_err),
            "decoupled_floor": mean_f,
            "ratio": ratio,
            "extrapolated_in_1_over_N": {"value": ex_alt["value"], "ci": ex_alt["ci"]},
        },
        "plot": {
            "kind": "curves+extrapolation",
            "curves": [
                {
                    "label": f"decoupled-law floor, seed mean (M = {ML})",
                    "N_values": np.array(Ns, dtype=float),
                    "decoupled_floor": np.array(mean_f),
                },
                {
                    "label": f"top-N floor Σ_(N<m≤M) ã_m² (M = {ML})",
                    "N_values": np.array(Ns, dtype=float),
                    "top_N_floor": np.array(top),
                },
            ],
            "x": x,
            "y": y,
            "se": se,
            "xlabel": "N^(−1/2)",
            "ylabel": "local N-exponent of the floor (cut-off removed)",
            "curve_x": "N",
            "curve_y": "late risk (decoupled law; top-N floor)",
        },
    }
