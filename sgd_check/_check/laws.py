"""Gate families that judge SGD and the flow against the d → ∞ laws: emergence slope in m, the risk's time
exponent and the plateau / width floor (docs/theory.md §4.3)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import riccati

from .gates import Family, VerdictRow, _Paired
from .stats import (
    choose_fit_window,
    emergence_slope_fit,
    geomean,
    t_interval,
    time_exponent_fit,
)

_PLATEAU_EM_TOL = 0.02  # remainder of the Euler–Maclaurin floor (riccati.floor_euler_maclaurin): ≤ 2e-3 for N ≥ 4
_FLOW_EXPONENT_TOL = 0.25  # the flow's fitted exponent vs (1−2β)/β: the law holds up to log factors


def _slope_prediction_tolerance(n_dir: int) -> float:
    # Finite-size slope errors shrink like 1/sqrt(#directions) at best; 0.15 floor for log corrections.
    return float(0.15 + 0.5 / math.sqrt(n_dir))


def _emergence_slope(p: _Paired) -> Family:
    """Slope of log T_m vs log m: SGD vs flow (gated), and the flow's initial-overlap-normalised slope vs β
    (reported)."""
    tol, beta, Ts, Tf = p.tol, p.beta, p.Ts, p.Tf
    slope_set = p.learned_by_all.copy()
    slope_note = "all directions learned by every seed in both"
    if p.data.model == "quadratic" and p.N < p.M:
        # the additive law t_m ≈ log(1/g0)/(2ã_m) holds for directions well inside the student's width; near
        # m ≈ N the time is set by the competition for the last slots (gap ã_m − ã_(N+1)), not by ã_m alone
        slope_set[p.edge_m :] = False
        slope_note = f"directions m ≤ max(3, N/2) = {p.edge_m} learned by every seed (m near N compete for slots)"
    es = emergence_slope_fit(Ts, Tf, slope_set, beta, tol.level)
    es["selection"] = slope_note
    # the same with each time divided by its seed's initial-overlap factor L(s0) (decoupled law T = L(s0)/ã_m):
    # the random initial overlap, not ã_m, dominates T_m at finite d; dividing it out leaves the m^β law
    k_ie = int(p.data.params.get("information_exponent") or 4)
    L = riccati.escape_factor(p.data.model, p.data.flow_dir[p.data.alive][:, 0, :], k_ie)
    okL = np.all(np.isfinite(L) & (L > 0), axis=0)
    Lbar = float(np.exp(np.mean(np.log(L[:, okL])))) if okL.any() else 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        esn = emergence_slope_fit(Ts / L * Lbar, Tf / L * Lbar, slope_set & okL, beta, tol.level)
    esn["sgd_geomean"] = geomean(np.where(okL, Ts / np.where(okL, L, 1.0) * Lbar, np.nan))
    esn["flow_geomean"] = geomean(np.where(okL, Tf / np.where(okL, L, 1.0) * Lbar, np.nan))
    esn["L_geomean"] = Lbar
    esn["definition"] = (
        "T_m · L̄ / L(s0_m): L(s0) = ½ log((1−s0)/s0) (quadratic, s0 = G_mm(0)) or ∫_{s0}^{1/2} ds/(2k s^{k/2}(1−s)) "
        "(homogeneous, s0 = max_i m_im(0)²), so that the decoupled single-direction law reads T_m = L(s0_m)/ã_m; "
        "L̄ is the geometric mean of L over seeds and directions (keeps the time unit)"
    )
    es["normalised"] = esn
    rows = []
    if es["n_directions"] >= 3:
        rows.append(
            _paired_exponent_row(
                p,
                "emergence_slope_sgd_vs_flow",
                es["per_seed_diff_ci"],
                "|slope_sgd − slope_flow| of log T_m vs log m",
            )
        )
    if esn["n_directions"] >= 3:
        pt = _slope_prediction_tolerance(esn["n_directions"])
        val = abs(esn["flow"] - beta)
        rows.append(
            VerdictRow(
                "emergence_slope_flow_vs_beta",
                val <= pt,
                val,
                pt,
                f"exact flow's slope of the initial-overlap-normalised T_m vs log m (raw slope {es['flow']:.3g}) vs "
                f"the d→∞ prediction β = {beta:g}; interactions between directions and log factors shift it: loose "
                f"tolerance 0.15 + 0.5/√n = {pt:.3g} over n = {esn['n_directions']} directions. Reported, not gated",
                gated=False,
            )
        )
    return {"emergence_slope": es}, rows


def _paired_exponent_row(p: _Paired, name: str, diff: dict, what: str) -> VerdictRow:
    """Gate |mean of per-seed SGD − flow differences| of an exponent or slope ≤ q·SE + κ·ε + δ (docs/theory.md §4.2)."""
    band = p.band(diff["se"])
    etol = p.allowance("exponent")
    return VerdictRow(
        name,
        abs(diff["mean"]) <= etol + band,
        abs(diff["mean"]),
        etol + band,
        f"{what} (mean of per-seed differences) ≤ q·SE + κ·ε + δ, "
        f"κ·ε + δ = {p.tol.kappa_exponent:g}·{p.eps:.3g} + {p.tol.delta_exponent:g}, seed band {band:.3g}; "
        f"{p.noise_why}",
    )


def _time_exponent(p: _Paired) -> Family:
    """Time exponent of the risk: SGD vs flow on the automatic window, and the flow vs (1−2β)/β on a power-law
    window (≥ 8 emergences between the initial plateau and the width edge, ``riccati.fit_flow_power_law``)."""
    t, tol, pred, fr = p.t, p.tol, p.pred, p.fr
    win = choose_fit_window(t, fr.mean(axis=0), p.data.floor)
    n_in = None
    if win is not None:
        tf_mean = geomean(p.Tf)
        n_in = int(np.sum((tf_mean >= win[0]) & (tf_mean <= win[1])))
    te = time_exponent_fit(t, p.sr, fr, p.data.floor, pred["time_exponent"], tol.level, n_in)
    rows = []
    if te.get("window") is not None and np.isfinite(te["diff_ci"]["mean"]):
        rows.append(
            _paired_exponent_row(
                p,
                "time_exponent_sgd_vs_flow",
                te["diff_ci"],
                f"|exponent_sgd − exponent_flow| of log R vs log t on the window "
                f"[{te['window'][0]:.3g}, {te['window'][1]:.3g}]",
            )
        )
    # the flow against the d → ∞ exponent: only on a power-law window, never on a plateau or an exponential tail
    if pred["time_exponent"] is not None:
        try:
            fp = riccati.fit_flow_power_law(t, fr.mean(axis=0), geomean(p.Tf), p.N, p.M, p.beta)
        except ValueError as exc:
            te["flow_power_law"] = {"exponent": None, "reason": str(exc)}
        else:
            te["flow_power_law"] = {
                "exponent": fp.exponent,
                "window": list(fp.window),
                "ci": list(fp.ci),
                "n_emergences": fp.n_emergences,
                "rule": fp.rule,
            }
            val = abs(fp.exponent - pred["time_exponent"])
            ptol = _FLOW_EXPONENT_TOL
            rows.append(
                VerdictRow(
                    "time_exponent_flow_vs_predicted",
                    val <= ptol,
                    val,
                    ptol,
                    f"exact flow's fitted exponent {fp.exponent:.3g} (seed-mean curve, window "
                    f"[{fp.window[0]:.3g}, {fp.window[1]:.3g}] spanning {fp.n_emergences} emergences, {fp.rule}) vs "
                    f"the d→∞ prediction (1−2β)/β = {pred['time_exponent']:.3g}; the law holds up to log factors and "
                    f"the window edges, so the tolerance is a loose {ptol:g}",
                )
            )
    return {"time_exponent": te}, rows


def _plateau(p: _Paired) -> Family:
    """The late risk: SGD vs the exact width floor (when the flow reaches it), and the exact floor vs its M → ∞ law
    with the finite-(N, M) Euler–Maclaurin correction."""
    floor, pred, tol = p.data.floor, p.pred, p.tol
    sgd_late = p.sr[:, p.late].mean(axis=1)
    flow_late = p.fr[:, p.late].mean(axis=1)
    plat: dict[str, Any] = {
        "predicted": pred.get("plateau"),
        "predicted_formula": pred.get("plateau_formula"),
        "predicted_kind": pred.get("plateau_kind"),
        "exact_floor": floor,
        "sgd_late": float(sgd_late.mean()),
        "flow_late": float(flow_late.mean()),
        "flow_reached_floor": bool(floor > 0 and abs(flow_late.mean() / floor - 1) <= 0.05),
    }
    if floor > 0:
        plat["sgd_over_floor_ci"] = t_interval(sgd_late / floor, tol.level)
    if pred.get("plateau") is not None:
        plat["floor_over_prediction"] = floor / pred["plateau"]
        plat["finite_M_correction"] = pred["plateau_correction"]
        plat["floor_asymptotic"] = pred["floor_asymptotic"]
    rows = []
    if floor > 0 and plat["flow_reached_floor"]:
        gap_tol = p.allowance("gap")
        dev = abs(plat["sgd_over_floor_ci"]["mean"] - 1)
        band = p.band(plat["sgd_over_floor_ci"]["se"])
        rows.append(
            VerdictRow(
                "plateau_sgd_vs_exact_floor",
                dev <= gap_tol + band,
                dev,
                gap_tol + band,
                f"|late SGD risk / exact floor Σ_(m>N) ã_m² − 1| (floor {floor:.4g}) ≤ q·SE + κ·ε + δ, "
                f"κ·ε + δ = {gap_tol:.3g}, seed band {band:.3g} (the flow reaches the floor in the run); {p.noise_why}",
            )
        )
    if pred.get("plateau") is not None and floor > 0:
        corr = pred["plateau_correction"]
        ptol = _PLATEAU_EM_TOL
        corrected = pred["plateau"] * (1.0 + corr)
        val = abs(floor / corrected - 1)
        rows.append(
            VerdictRow(
                "plateau_floor_vs_asymptotic",
                val <= ptol,
                val,
                ptol,
                f"exact floor {floor:.4g} vs the M→∞ law {pred['plateau_formula']} = {pred['plateau']:.4g} "
                f"times 1 + δ, δ = {corr:.3g} its finite-(N, M) correction (Euler–Maclaurin of Σ_(N<m≤M) m^-2β / "
                f"Σ_(m≤M) m^-2β, riccati.floor_euler_maclaurin): relative difference from {corrected:.4g} within "
                f"{ptol:g} (the expansion's remainder: below 2e-3 for N ≥ 4, 1.4% at N = 1)",
            )
        )
    return {"plateau": plat}, rows
