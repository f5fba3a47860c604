"""Quadratic-network claims (docs/theory.md §2, §6 claims 7 and 8), measured on the exact Riccati flow and on SGD.

Every function takes the size table of its claim and a context (seed, progress) and returns a measurement dict
(see ``_registry.Measurement``): per-size points with 95% intervals over seeds, the extrapolation, the
prediction, the gate tolerance with its reason, a wrong prediction for the negative control, and plot data.
Times are canonical Riccati times t = 4cη·steps; risks are relative risks 1 − tr(ÃGÃG).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

import riccati

from ._stats import Z95, extrapolate_linear, mean_ci

__all__ = [
    "claim_8_exponent",
    "claim_8_emergence",
    "claim_8_plateau",
    "claim_7_gap",
    "gap_time_average",
    "tail_restored_risk",
]


def _floor_and_tail(beta: float, M: int, N: int) -> tuple[float, float]:
    """(Σ_{N<m≤M} ã_m², Σ_{m>N} m^{−2β}/Z_M): the exact width floor with the M cut-off (riccati.width_floor), and
    the same tail with M → ∞ (Hurwitz ζ(2β, N+1)), both in units of the normalised teacher ã_m = m^{−β}/√Z_M of
    width M (riccati.teacher_coefficients; Z_M = Σ_{m≤M} m^{−2β} = 1/ã_1²)."""
    a = riccati.teacher_coefficients(beta, M)
    floor = riccati.width_floor(a, N)
    tail = float(special.zeta(2 * beta, N + 1) * a[0] ** 2)
    return floor, tail


def tail_restored_risk(risk, beta: float, M: int, N: int):
    """R(t) − Σ_{N<m≤M} ã_m² + Σ_{m>N}^{∞} ã_m² = R(t) + Σ_{m>M} ã_m²: the flow's risk with its width floor (exact,
    with its M cut-off) replaced by the tail of an infinite teacher, i.e. the additive-model risk Σ_{m>x(t)} ã_m² of
    docs/theory.md §2 without the N and M cut-offs: the bare power law t^((1−2β)/β) while x(t) < N.

    Why not R − Σ_{N<m≤M} ã_m² (the finite-M floor alone): before the floor R ≈ Σ_{x<m≤M} ã_m², so subtracting the
    floor leaves Σ_{x<m≤N} ã_m², which bends down as x → N. On the exact flow (β = 0.8, d = 1e12, window 8..24,
    M = 128, N = 64) the fitted exponents are −0.733 here, −1.21 with the floor subtracted and −0.99 on the raw R,
    against (1−2β)/β = −0.75."""
    floor, tail = _floor_and_tail(beta, M, N)
    return np.asarray(risk, dtype=np.float64) - floor + tail


def _additive_times(beta: float, M: int, N: int, d: float) -> np.ndarray:
    a = riccati.teacher_coefficients(beta, M)
    return math.log(d / N) / (2.0 * a)


def _bevw_runs(sz, ctx, key="8-flow"):
    """Exact flows for the β > 1/2 claims (shared by 8a and 8c): per d and seed, R(t) on a log grid covering the
    emergences m_lo..m_hi, and the emergence times. Cached in ``ctx`` so both claims use the same data."""
    if key in ctx.cache:
        return ctx.cache[key]
    beta, M, N = sz["beta"], sz["M"], sz["N"]
    a = riccati.teacher_coefficients(beta, M)
    runs = []
    for di, d in enumerate(sz["d"]):
        tm = _additive_times(beta, M, N, d)
        ts = np.geomspace(0.3 * tm[0], 2.5 * tm[sz["m_hi"] - 1], sz["n_times"])
        for s in range(sz["seeds"]):
            Y0 = riccati.sample_initial_overlap(ctx.seed_for(di, s), int(d), M, N)
            sol = riccati.quadratic_flow(a, Y0, ts, d=int(d), emergence="interp")
            runs.append({"d": d, "seed": s, "t": ts, "risk": sol.risk, "em": np.sort(sol.emergence_times)})
            ctx.progress(f"flow d={d:.0e} seed {s + 1}/{sz['seeds']}")
    ctx.cache[key] = runs
    return runs


def claim_8_exponent(sz, ctx) -> dict:
    """BEVW β > 1/2: R(t) ~ t^{(1−2β)/β}, fitted on a window of ≥ 8 emergences, extrapolated in 1/log(d/N)."""
    beta, M, N, m_lo, m_hi = sz["beta"], sz["M"], sz["N"], sz["m_lo"], sz["m_hi"]
    runs = _bevw_runs(sz, ctx)
    per_d: dict[float, list[float]] = {}
    curves = []
    for r in runs:
        win = (r["em"][m_lo - 1], r["em"][m_hi - 1])
        Rc = tail_restored_risk(r["risk"], beta, M, N)
        fit = riccati.fit_power_law(r["t"], Rc, window=win)
        per_d.setdefault(r["d"], []).append(fit.exponent)
        if r["seed"] == 0:
            curves.append(
                {
                    "d": r["d"],
                    "t_over_logd": r["t"] / math.log(r["d"] / N),
                    "risk_restored": Rc,
                    "window": [w / math.log(r["d"] / N) for w in win],
                    "fit_exponent": fit.exponent,
                    "fit_prefactor": fit.prefactor * math.log(r["d"] / N) ** fit.exponent,
                }
            )
    pts, x, y, se = _points(per_d, lambda d: {"d": d, "M": M, "N": N, "beta": beta}, lambda d: 1 / math.log(d / N))
    ex = extrapolate_linear(x, y, se)
    p_inf = (1 - 2 * beta) / beta
    # bias of the ideal (additive, continuum) law over the same window: R ∝ (x+½)^{1−2β} with x ∝ t^{1/β}
    bias = abs(p_inf) * (1 - math.log((m_hi + 0.5) / (m_lo + 0.5)) / math.log(m_hi / m_lo))
    tol = 0.03 + bias
    beta_c = beta + 0.2
    return {
        "points": pts,
        "extrapolated": {**_ex(ex), "variable": "1/log(d/N) → 0"},
        "predicted": p_inf,
        "tolerance": tol,
        "why": (
            f"fit window: emergences {m_lo}..{m_hi} ({m_hi - m_lo} emergences) of the exact flow; the floor "
            f"Σ_(N<m≤M) ã_m² (M={M}, N={N}) is replaced by the infinite-teacher tail so the window sees the bare law; "
            f"tolerance = 0.03 + {bias:.3f} (the ½-offset bias of the continuum law (x+½)^(1−2β) over this window)"
        ),
        "control": {"prediction": (1 - 2 * beta_c) / beta_c, "what": f"exponent for the wrong β = {beta_c:g}"},
        "plot": {
            "kind": "curves+extrapolation",
            "curves": curves,
            "x": x,
            "y": y,
            "se": se,
            "xlabel": "1/log(d/N)",
            "ylabel": "fitted exponent of R(t)",
            "curve_x": "t/log(d/N)",
            "curve_y": "R(t) − floor + infinite tail",
        },
    }


def claim_8_emergence(sz, ctx) -> dict:
    """BEVW emergence: t_m ∝ m^β (slope of log t_m in log m over the window), overshoot ∝ 1/log(d/N)."""
    beta, N, m_lo, m_hi = sz["beta"], sz["N"], sz["m_lo"], sz["m_hi"]
    runs = _bevw_runs(sz, ctx)
    per_d: dict[float, list[float]] = {}
    curves = []
    m = np.arange(m_lo, m_hi + 1)
    for r in runs:
        tm = r["em"][m_lo - 1 : m_hi]
        slope = float(np.polyfit(np.log(m), np.log(tm), 1)[0])
        per_d.setdefault(r["d"], []).append(slope)
        if r["seed"] == 0:
            curves.append({"d": r["d"], "m": m, "t_m_over_logd": tm / math.log(r["d"] / N), "slope": slope})
    pts, x, y, se = _points(
        per_d, lambda d: {"d": d, "M": sz["M"], "N": N, "beta": beta}, lambda d: 1 / math.log(d / N)
    )
    ex = extrapolate_linear(x, y, se)
    return {
        "points": pts,
        "extrapolated": {**_ex(ex), "variable": "1/log(d/N) → 0"},
        "predicted": beta,
        "tolerance": 0.03,
        "why": (
            f"slope of log t_m vs log m over m = {m_lo}..{m_hi} (exact flow, emergence G_mm = 1/2); it overshoots β "
            "by ≈ c/log(d/N) at finite d, so it is extrapolated linearly in 1/log(d/N); 0.03 allows the residual "
            "curvature of that correction"
        ),
        "control": {"prediction": beta + 0.15, "what": f"slope for the wrong β = {beta + 0.15:g}"},
        "plot": {
            "kind": "curves+extrapolation",
            "curves": curves,
            "x": x,
            "y": y,
            "se": se,
            "xlabel": "1/log(d/N)",
            "ylabel": "slope of log t_m in log m",
            "curve_x": "m",
            "curve_y": "t_m/log(d/N)",
        },
    }


def claim_8_plateau(sz, ctx) -> dict:
    """BEVW β < 1/2: R(t*) at t* = κ·√M·log(d/N) → 1 − φ^{1−2β} as M → ∞ at fixed φ = N/M."""
    beta, phi, d, kappa = sz["beta"], sz["phi"], sz["d"], sz["kappa"]
    per_M: dict[int, list[float]] = {}
    curves = []
    for mi, M in enumerate(sz["M"]):
        N = int(round(phi * M))
        a = riccati.teacher_coefficients(beta, M)
        t_star = kappa * math.sqrt(M) * math.log(d / N)
        ts = np.concatenate([np.geomspace(1e-2 * t_star, t_star, 40)])
        for s in range(sz["seeds"]):
            Y0 = riccati.sample_initial_overlap(ctx.seed_for(mi, s), int(d), M, N)
            sol = riccati.quadratic_flow(a, Y0, ts, d=int(d), emergence="interp")
            per_M.setdefault(M, []).append(float(sol.risk[-1]))
            if s == 0:
                curves.append(
                    {
                        "M": M,
                        "t_over_sqrtM_logd": ts / (math.sqrt(M) * math.log(d / N)),
                        "risk": sol.risk,
                        "floor": _floor_and_tail(beta, M, N)[0],
                    }
                )
            ctx.progress(f"flow M={M} seed {s + 1}/{sz['seeds']}")
    expo = 1 - 2 * beta
    pts, x, y, se = _points(
        per_M, lambda M: {"M": M, "N": int(round(phi * M)), "d": d, "beta": beta}, lambda M: M ** (-expo)
    )
    ex = extrapolate_linear(x, y, se)
    beta_c = beta + 0.15
    return {
        "points": pts,
        "extrapolated": {**_ex(ex), "variable": f"M^-(1-2β) = M^{-expo:.2g} → 0"},
        "predicted": 1 - phi**expo,
        "tolerance": 0.02,
        "why": (
            f"risk of the exact flow at t* = {kappa:g}·√M·log(d/N) (canonical time), φ = N/M = {phi:g}, d = {d:.0e}; "
            "the finite-M floor differs from 1 − φ^(1−2β) by O(M^-(1−2β)) (Euler–Maclaurin), hence the variable; "
            "0.02 allows the directions near the width cut-off, whose gaps ã_N − ã_(N+1) ∝ 1/N are not yet resolved "
            "at t*"
        ),
        "control": {"prediction": 1 - phi ** (1 - 2 * beta_c), "what": f"plateau for the wrong β = {beta_c:g}"},
        "plot": {
            "kind": "curves+extrapolation",
            "curves": curves,
            "x": x,
            "y": y,
            "se": se,
            "xlabel": "M^-(1-2β)",
            "ylabel": "R(t*)",
            "curve_x": "t/(√M log(d/N))",
            "curve_y": "R(t)",
        },
    }


def gap_time_average(t, gap) -> np.ndarray:
    """Time average (1/(t[-1] − t[0]))·∫ gap(t) dt by the trapezoid rule over the logged times (last axis); the
    simulator logs from t[0] = 0, so this is (1/t_max)·∫_0^t_max gap dt.

    A fixed functional of the gap curve, whatever the logging grid. The plain mean over the logged times is not:
    the simulator logs at steps geomspace(1, steps), i.e. at times t_max·(4cη/t_max)^(1−i/(n−1)), so halving η
    adds log-range at early times where the gap is ≈ 0 and lowers that mean by ≈ log(t_max/4cη) / log(t_max/2cη)
    (≈ 8%, a +0.12 bias in the fitted order at d = 24, t_max = 12, η = 0.5–2·10⁻³)."""
    t = np.asarray(t, dtype=np.float64)
    g = np.asarray(gap, dtype=np.float64)
    if t.ndim != 1 or t.size < 2 or g.shape[-1] != t.size or not np.all(np.diff(t) > 0):
        raise ValueError(f"`t` must be ≥ 2 increasing times matching gap's last axis; got {t.shape}, {g.shape}")
    integral = np.sum(0.5 * (g[..., 1:] + g[..., :-1]) * np.diff(t), axis=-1)
    return integral / (t[-1] - t[0])


def claim_7_gap(sz, ctx, engine: str | None = None) -> dict:
    """Quadratic SGD vs its exact Riccati flow from the same U0: the mean gap is O(η) (log–log slope 1 in η)."""
    from sgd_check import QuadraticSGDConfig, simulate, steps_for_time

    d, M, N, beta, t_max, S = sz["d"], sz["M"], sz["N"], sz["beta"], sz["t_max"], sz["seeds"]
    per_eta: dict[float, list[float]] = {}
    curves = []
    for ei, eta in enumerate(sz["eta"]):
        kw = {"engine": engine} if engine else {}
        cfg = QuadraticSGDConfig(
            d=d,
            M=M,
            N=N,
            beta=beta,
            eta=eta,
            steps=1,
            seeds=S,
            phase2="none",
            n_log=sz["n_log"],
            seed=ctx.seed_for(ei, 0),
            **kw,
        )
        cfg = cfg.replace(steps=steps_for_time(t_max, cfg.time_per_step))
        res = simulate(cfg, progress=False)
        Y0 = np.asarray(res.initial_state["Y0"])
        flow = np.array([riccati.quadratic_flow(cfg.teacher(), Y0[s], res.t).risk for s in range(S)])
        gap = res.risk - flow  # (S, T): SGD minus its own flow, paired by initial state
        per_seed = gap_time_average(res.t, gap)  # (1/t_max)∫ gap dt: the same functional at every η
        per_eta[eta] = per_seed.tolist()
        curves.append({"eta": eta, "t": res.t, "gap_mean": np.nanmean(gap, axis=0), "steps": cfg.steps})
        ctx.progress(f"SGD η={eta:.2g}: {cfg.steps} steps × {S} seeds, mean gap {np.nanmean(per_seed):.3g}")
    etas = sorted(per_eta)
    stats_ = [mean_ci(per_eta[e]) for e in etas]
    pts = [
        {"params": {"eta": e, "d": d, "M": M, "N": N, "beta": beta, "seeds": S}, "value": st[0], "ci": [st[1], st[2]]}
        for e, st in zip(etas, stats_, strict=True)
    ]
    D = np.array([st[0] for st in stats_])
    if np.any(D <= 0):
        raise RuntimeError(f"mean SGD–flow gap not positive at some η ({D}); cannot fit its order in η")
    lx = np.log(etas)
    ly = np.log(D)
    lse = np.array([st[3] for st in stats_]) / D  # delta method: se(log D) = se(D)/D
    ex = extrapolate_linear(lx - lx.max(), ly, lse)  # slope of log gap vs log η
    slope, slope_se = ex["slope"], ex["slope_se"]
    q = Z95  # slope_se is already inflated by √χ²_red when the points scatter
    return {
        "points": pts,
        "extrapolated": {
            "value": slope,
            "ci": [slope - q * slope_se, slope + q * slope_se],
            "variable": "order p in gap ∝ η^p (weighted log–log fit over η)",
        },
        "predicted": 1.0,
        "tolerance": 0.1,
        "why": (
            f"gap = mean over seeds of the time average (1/t_max)∫_0^t_max (R_SGD − R_flow) dt, t_max = {t_max:g} "
            f"(trapezoid over {sz['n_log']} log-spaced logged times; the same functional at every η, unlike a mean "
            f"over the logged times), the flow started from each seed's own U0 (d={d}, M={M}, N={N}, β={beta:g}, "
            f"{S} seeds, batch 1); 0.1 allows a correction to the leading order that these η do not resolve (at "
            "standard size a fit with an O(η²) term finds no curvature, so it is not the largest η alone: "
            "docs/verify.md)"
        ),
        "control": {"prediction": 0.5, "what": "order ½: the gap would be SGD fluctuation (∝ √η), not a bias"},
        "plot": {
            "kind": "curves+extrapolation",
            "curves": curves,
            "x": lx,
            "y": ly,
            "se": lse,
            "xlabel": "log η",
            "ylabel": "log mean gap",
            "curve_x": "t",
            "curve_y": "R_SGD − R_flow",
            "loglog_fit": True,
        },
    }


def _points(per, params, var):
    keys = sorted(per)
    pts, x, y, se = [], [], [], []
    for k in keys:
        m, lo, hi, s = mean_ci(per[k])
        pts.append({"params": {**params(k), "seeds": len(per[k])}, "value": m, "ci": [lo, hi]})
        x.append(var(k))
        y.append(m)
        se.append(s)
    return pts, np.array(x), np.array(y), np.array(se)


def _ex(ex: dict) -> dict:
    return {"value": ex["value"], "ci": ex["ci"], "se": ex["se"], "fit_slope": ex["slope"], "chi2_red": ex["chi2_red"]}
