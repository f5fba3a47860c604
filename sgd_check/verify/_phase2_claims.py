"""Phase II claims (docs/theory.md §2, §5, §6 claim 10): the least-squares second layer on n′ fresh samples.

Phase I state: the exact Riccati flow of the quadratic model (teacher width M = 2N, β = 1, U0 Haar at d = 10⁴) run
to t = K·t_N, K× the additive emergence time t_N = log(d/N)/(2ã_N) of the weakest direction the student can hold,
so that U spans (nearly) the top N teacher directions, as after a finished Phase I. From its overlap S = ΘᵀU
(M×N, taken from the flow's closed form: U U ᵀ projects onto span(e^{St}U0), docs/theory.md §2) the n′ Phase II
samples are drawn in the frame of §5: (a, z) = (Θᵀx, Uᵀx) jointly Gaussian with cov [[I, S], [Sᵀ, I]]. The fit is
ordinary least squares over symmetric Ω (f_Ω(x) = zᵀΩz − tr Ω; p = N(N+1)/2 unknowns, the He₂ features
Φ_ij = z_i z_j (i < j, counted twice) and z_i² − 1), solved here by dense normal equations in float64, a second
formulation of the simulator's conjugate-gradient fit (``QuadraticSGDConfig(phase2=...)``). Its relative risk is
exact: R(Ω̂) = R* + ‖Ω̂ − Ω*‖_F², Ω* = SᵀÃS, oracle R* = 1 − tr(ÃGÃG).

Law. When U spans the top N directions the misfit ε = Σ_{m>N} ã_m He₂(a_m) is independent of z, so Phase II is
least squares with noise independent of the design. For Gaussian features OLS gives E‖Ω̂ − Ω*‖² = σ²_rel·p/(n′−p−1)
exactly, so excess/oracle ≈ p/(n′ − p − 1) → (N²/2)/n′: a function of n′/N² in the limit N → ∞, with a known
1/N correction (p = N²/2 + N/2); the He₂ design is not Gaussian, which adds O(p/n′) to the ratio κ = excess·
(n′−p−1)/(p·oracle), so κ → 1 as p/n′ → 0.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

import riccati

from ._quadratic_claims import _ex
from ._stats import Z95, extrapolate_linear, mean_ci

__all__ = ["claim_10_collapse", "claim_10_law", "phase1_state", "phase2_excess"]


def phase1_state(seed: int, d: float, M: int, N: int, beta: float, K: float):
    """(ã, S, C): the Phase I state of the exact flow at t = K·log(d/N)/(2ã_N) from a Haar U0 (seed).

    S = ΘᵀU (M×N) and C (N×N) with SᵀS + CᵀC = I are the top and bottom blocks of an orthonormal basis Q of the
    column span of [e^{Ãt}Y0; (I − Y0ᵀY0)^{1/2}] (docs/theory.md §2 closed form: G = Q_top Q_topᵀ), computed by
    orthogonal iteration (multiply the teacher rows by e^{ãΔt}, re-orthonormalise; each step exact) so that
    neither overflow nor the collapse of all columns onto θ_1 loses the weak directions.
    """
    a = riccati.teacher_coefficients(beta, M)
    Y0 = riccati.sample_initial_overlap(int(seed), int(d), M, N)
    t = K * math.log(d / N) / (2.0 * a[N - 1])
    lam, V = np.linalg.eigh(np.eye(N) - Y0.T @ Y0)
    Q = np.vstack([Y0, (V * np.sqrt(np.clip(lam, 0.0, None))) @ V.T])  # orthonormal columns
    n_steps = max(1, math.ceil(a[0] * t / 20.0))  # orthogonal iteration, ã_1·Δt ≤ 20 per exact step
    grow = np.concatenate([np.exp(a * t / n_steps), np.ones(N)])
    for _ in range(n_steps):
        Q, R = np.linalg.qr(grow[:, None] * Q)
        Q = Q * np.sign(np.diag(R))[None, :]
    return a, Q[:M], Q[M:]


def phase2_excess(rng, a, S, C, n_prime: int) -> tuple[float, float]:
    """(excess, oracle): least squares Ω̂ on ``n_prime`` fresh samples, excess = ‖Ω̂ − Ω*‖_F² (relative risk
    above the oracle), oracle = 1 − ‖Ω*‖_F² = 1 − tr(ÃGÃG) (Σã² = 1), Ω* = SᵀÃS."""
    M, N = S.shape
    A = rng.standard_normal((n_prime, M))
    E = rng.standard_normal((n_prime, C.shape[0]))
    Z = A @ S + E @ C
    y = (A * A - 1.0) @ a
    iu, ju = np.triu_indices(N)
    Phi = Z[:, iu] * Z[:, ju]
    Phi = np.where(iu == ju, Phi - 1.0, 2.0 * Phi)
    coef = linalg.solve(Phi.T @ Phi, Phi.T @ y, assume_a="pos")
    Om = np.zeros((N, N))
    Om[iu, ju] = coef
    Om = Om + Om.T - np.diag(np.diag(Om))
    Om_star = (S.T * a) @ S
    return float(np.sum((Om - Om_star) ** 2)), float(1.0 - np.sum(Om_star * Om_star))


def _runs(sz, ctx):
    """Per (N, c = n′/N²): the per-seed ratios excess/oracle (cached: both parts of claim 10 use the same data)."""
    if "p2" in ctx.cache:
        return ctx.cache["p2"]
    out: dict[tuple[int, float], list[float]] = {}
    for i, N in enumerate(sz["N"]):
        M = sz["M_over_N"] * N
        for s in range(sz["seeds"]):
            seed = ctx.seed_for(i, s)
            a, S, C = phase1_state(seed, sz["d"], M, N, sz["beta"], sz["K"])
            rng = np.random.default_rng(seed)
            for c in sz["c"]:
                ex, orc = phase2_excess(rng, a, S, C, int(round(c * N * N)))
                out.setdefault((N, c), []).append(ex / orc)
        ctx.progress(f"Phase II N={N}: n′/N² = {sz['c']} × {sz['seeds']} seeds")
    ctx.cache["p2"] = out
    return out


def _law(N: int, n: float) -> float:
    p = N * (N + 1) / 2
    return p / (n - p - 1)


def _setting(sz) -> str:
    return (
        f"Phase I: exact Riccati flow, β = {sz['beta']:g}, M = {sz['M_over_N']}N, d = {sz['d']:.0e}, run to "
        f"{sz['K']:g}× the additive emergence time of direction N; Phase II: OLS over symmetric Ω (p = N(N+1)/2) on "
        f"n′ = c·N² fresh samples, c ∈ {list(sz['c'])}, N ∈ {list(sz['N'])}, {sz['seeds']} seeds"
    )


def _curves(per, sz):
    curves = []
    for N in sz["N"]:
        cs = np.array(sz["c"], dtype=float)
        curves.append({"N": N, "c": cs, "excess_over_oracle": np.array([np.mean(per[(N, c)]) for c in sz["c"]])})
    return curves


def _common_slope(per, Ns, cs):
    """Weighted LS of log κ(N, c) = log r + log((n′−p−1)/p) on log N with one intercept per c and a common slope;
    returns (slope, se, chi2_red, x, y_centred, se_y) (se inflated by √χ²_red when > 1)."""
    rows, ys, ws, xs, cid = [], [], [], [], []
    for j, c in enumerate(cs):
        for N in Ns:
            n = c * N * N
            m, _, _, s = mean_ci(per[(N, c)])
            ys.append(math.log(m / _law(N, n)))
            ws.append((m / s) ** 2)
            xs.append(math.log(N))
            cid.append(j)
            rows.append([1.0 if q == j else 0.0 for q in range(len(cs))] + [math.log(N)])
    A, y, w = np.array(rows), np.array(ys), np.array(ws)
    cov = np.linalg.inv((A.T * w) @ A)
    coef = cov @ ((A.T * w) @ y)
    resid = y - A @ coef
    dof = len(y) - A.shape[1]
    chi2 = float(np.sum(w * resid**2) / dof) if dof > 0 else math.nan
    infl = math.sqrt(chi2) if dof > 0 and chi2 > 1 else 1.0
    yc = y - coef[np.array(cid)]
    return float(coef[-1]), math.sqrt(cov[-1, -1]) * infl, chi2, np.array(xs), yc, 1.0 / np.sqrt(w)


def claim_10_collapse(sz, ctx) -> dict:
    """Excess/oracle is a function of n′/N²: at fixed c = n′/N² it does not depend on N once the exact finite-N
    factor of the OLS law is divided out (common log-slope in N → 0); a function of n′/N would give −1."""
    per = _runs(sz, ctx)
    Ns = sorted(sz["N"])
    cs = [c for c in sz["c"] if c >= sz["c_collapse"]]
    pts = []
    for N in Ns:
        for c in sz["c"]:
            m, lo, hi, _ = mean_ci(per[(N, c)])
            pts.append(
                {
                    "params": {"N": N, "c": c, "n_prime": int(round(c * N * N)), "seeds": len(per[(N, c)])},
                    "value": m,
                    "ci": [lo, hi],
                }
            )
    sl, ss, chi2, x, y, se = _common_slope(per, Ns, cs)
    return {
        "points": pts,
        "extrapolated": {
            "value": sl,
            "ci": [sl - Z95 * ss, sl + Z95 * ss],
            "se": ss,
            "chi2_red": chi2,
            "variable": "common slope of log(excess/oracle) in log N at fixed n′/N², after dividing by the exact "
            "finite-N factor (2c − 1)·p/(n′ − p − 1) of the OLS law (→ 1 as N → ∞)",
        },
        "predicted": 0.0,
        "tolerance": 0.1,
        "why": (
            f"{_setting(sz)}. Measured: excess/oracle r(N, c) per N and c = n′/N²; a function of n′/N² has r "
            "independent of N at fixed c as N → ∞; the finite-N part is known (p = N²/2 + N/2 in p/(n′ − p − 1)) "
            "and divided out instead of extrapolated; then one slope of log r in log N, common to all "
            f"c ≥ {sz['c_collapse']:g} (one intercept per c; smaller c are reported, not gated: there the "
            "non-Gaussian-design correction O(p/n′) still changes with N, e.g. κ = 1.43, 1.22, 1.14, 1.09 at c = 4, "
            "N = 4, 6, 8, 12); 0.1 (7% per doubling of N) allows what is left of it"
        ),
        "control": {
            "prediction": -1.0,
            "what": "collapse in n′/N instead: at fixed n′/N², n′/N = c·N grows with N and excess ∝ (n′/N)^(−1) "
            "would give slope −1",
        },
        "plot": {
            "kind": "curves+extrapolation",
            "curves": _curves(per, sz),
            "x": x,
            "y": y,
            "se": se,
            "xlabel": "log N",
            "ylabel": "log κ − intercept of its c",
            "loglog_fit": True,
            "curve_x": "n′/N²",
            "curve_y": "excess / oracle",
        },
    }


def claim_10_law(sz, ctx, wrong_p: bool = False) -> dict:
    """Excess/oracle ≈ p/(n′ − p − 1), p = N(N+1)/2: κ = ratio·(n′−p−1)/p → 1 as p/n′ → 0 (extrapolated in p/n′)."""
    per = _runs(sz, ctx)
    cs = [c for c in sz["c"] if c >= sz["c_law"]]

    def kappas(p_of_N):
        pts, x, y, se = [], [], [], []
        for N in sorted(sz["N"]):
            p = p_of_N(N)
            for c in cs:
                n = c * N * N
                k = np.asarray(per[(N, c)]) * (n - p - 1) / p
                m, lo, hi, s = mean_ci(k)
                pts.append(
                    {"params": {"N": N, "n_prime": int(round(n)), "c": c, "seeds": len(k)}, "value": m, "ci": [lo, hi]}
                )
                x.append(N * (N + 1) / 2 / n)
                y.append(m)
                se.append(s)
        return pts, np.array(x), np.array(y), np.array(se)

    pts, x, y, se = kappas(lambda N: N * (N + 1) / 2)
    ex = extrapolate_linear(x, y, se)
    _, _, yw, sew = kappas(lambda N: N * N)
    exw = extrapolate_linear(x, yw, sew)
    return {
        "points": pts,
        "extrapolated": {**_ex(ex), "variable": "p/n′ → 0 (p = N(N+1)/2)"},
        "predicted": 1.0,
        "tolerance": 0.1,
        "why": (
            f"{_setting(sz)}. Measured: κ = (excess/oracle)·(n′ − p − 1)/p per N and c ≥ {sz['c_law']:g}; "
            "prediction κ → 1: OLS with p unknowns and noise independent of the features (after Phase I the misfit "
            "Σ_(m>N) ã_m He₂(a_m) is independent of Uᵀx) has excess = σ²·p/(n′ − p − 1) for a Gaussian design; the "
            "He₂ design adds O(p/n′), hence the extrapolation in p/n′; 0.1 allows the residual mixing of direction N "
            "with N + 1 (it makes the misfit weakly heteroskedastic). So excess/oracle → (N²/2)/n′: small once "
            "n′ ≳ N² (extrapolated over N at c = "
            + ", ".join(f"{c:g}: {np.mean(per[(max(sz['N']), c)]):.3g}" for c in sz["c"])
            + " at the largest N)"
        ),
        "control": {
            "prediction": 1.0,
            "what": "the same law with p = N² unknowns (a general, non-symmetric N×N second layer): its κ "
            f"extrapolates to {exw['value']:.3g} [{exw['ci'][0]:.3g}, {exw['ci'][1]:.3g}]",
            "extrapolated": {"value": exw["value"], "ci": exw["ci"]},
        },
        "plot": {
            "kind": "curves+extrapolation",
            "curves": _curves(per, sz),
            "x": x,
            "y": y,
            "se": se,
            "y_control": yw,
            "xlabel": "p/n′",
            "ylabel": "κ = (excess/oracle)·(n′−p−1)/p",
            "curve_x": "n′/N²",
            "curve_y": "excess / oracle",
        },
    }
