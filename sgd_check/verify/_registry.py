"""The claim registry (docs/theory.md §6): ids, statements, sizes, the experiment of each claim, and its status.

A claim that cannot be run honestly with today's engines is registered with ``needs`` set: it is reported with
verdict null ("not run") and left out of the suite verdict, never passed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import hermite

from . import _homogeneous_claims as hc
from . import _phase2_claims as pc
from . import _quadratic_claims as qc
from . import _schedule_claims as stc
from . import _sgd_claims as sc

__all__ = ["Claim", "CLAIMS", "SIZES", "select_claims", "ie_table"]

SIZES = ("quick", "standard", "full", "test")  # "test": the subset the test suite runs (Python API only)

# Activations with their information exponent from closed forms (docs/theory.md §1 examples and Hermite algebra).
IE_TABLE = (
    ("z", 1, "He_1"),
    ("relu", 1, "c_1 = 1/2"),
    ("abs", 2, "even, c_2 = 1/√(2π)"),
    ("sign", 1, "c_1 = √(2/π)"),
    ("tanh", 1, "odd, c_1 = E[tanh'] > 0"),
    ("erf", 1, "c_1 = 2/√(3π)"),
    ("z**2 - 1", 2, "He_2"),
    ("z**3", 1, "He_3 + 3 He_1"),
    ("He3", 3, "He_3"),
    ("He4", 4, "He_4"),
    ("h6", 6, "He_6/√720"),
    ("cos(z) - exp(-1/2)", 2, "c_2 = −e^(−1/2)/2, odd part 0"),
    ("He2 + He5", 2, "lowest degree 2"),
)


def ie_table():
    """The table of (activation, information exponent, reason) that claim 1 checks."""
    return IE_TABLE


def _claim_1(sz, ctx) -> dict:
    table = IE_TABLE[: sz["n"]]
    measured = []
    pts = []
    for spec, _, _ in table:
        ie = hermite.information_exponent(spec, degree=sz["degree"])
        measured.append(ie)
        pts.append({"params": {"activation": spec}, "value": ie, "ci": [ie, ie]})
        ctx.progress(f"IE({spec}) = {ie}")
    pred = [k for _, k, _ in table]
    return {
        "points": pts,
        "extrapolated": {"value": measured, "ci": [measured, measured], "variable": "none (exact, per activation)"},
        "predicted": pred,
        "tolerance": 0,
        "why": (
            "IE = first degree j ≥ 1 with c_j ≠ 0 (hermite.information_exponent, exact coefficients where closed "
            "forms exist); prediction: the exponents known in closed form (table in docs/verify.md); exact equality "
            "for every activation"
        ),
        "control": {"prediction": [k + 1 for k in pred], "what": "every exponent shifted by one"},
        "exact": True,
        "plot": {"kind": "table", "labels": [s for s, _, _ in table], "measured": measured, "predicted": pred},
    }


@dataclasses.dataclass(frozen=True)
class Claim:
    """One gated claim: ``run(sizes, ctx) -> measurement dict`` or ``needs`` (why it is not run today)."""

    id: str
    title: str
    statement: str
    model: str
    sizes: dict
    run: Callable | None = None
    needs: str | None = None
    requires: str | None = None  # "reduced": run only when the reduced SGD engine (issue 11) is available


_HOM = {
    "activation": "h4",
    "k": 4,
    "beta": 1.0,
    "M": 6,
    "N": 8,
    "horizon": 8.0,
    "n_times": 240,
    "levels": [0.6, 0.3, 0.1, 0.05],
}
_HOM_SIZES = {
    "test": {**_HOM, "d": [100, 200, 400], "seeds": 2, "n_times": 120},
    "quick": {**_HOM, "d": [100, 316, 1000, 3162], "seeds": 4},
    "standard": {**_HOM, "d": [100, 316, 1000, 3162, 10000], "seeds": 8},
    "full": {**_HOM, "d": [100, 316, 1000, 3162, 10000, 31623], "seeds": 16},
}
_RISK = {
    "activation": "h4",
    "k": 4,
    "beta": 1.0,
    "d": 1e4,
    "horizon": 3.0,
    "n_times": 160,
    "tolerance": 0.05,
    "lo_frac": 0.125,
    "hi_frac": 0.5,
    "floor_horizon": 3.0,
}
_RISK_SIZES = {  # 5b: N = M, fit window M/8 .. M/2 emergences; 5c: fixed M = floor_M, N < M
    "test": {
        **_RISK,
        "M": [8, 16],  # the widest lever arm in 1/M the test budget allows (window 2..4 and 2..8)
        "seeds": 3,
        "limit_M": [16, 64],
        "limit_seeds": 20,
        "floor_M": 16,
        "floor_N": [2, 4],
        "floor_seeds": 2,
        "limit_floor_M": 256,
        "limit_floor_N": [8, 16, 32, 64],
        "floor_mc_seeds": 200,
    },
    "quick": {
        **_RISK,
        "M": [16, 32, 64],
        "seeds": 4,
        "limit_M": [16, 64, 256],
        "limit_seeds": 100,
        "floor_M": 32,
        "floor_N": [2, 4, 8],
        "floor_seeds": 3,
        "limit_floor_M": 1024,
        "limit_floor_N": [8, 16, 32, 64, 128],
        "floor_mc_seeds": 400,
    },
    "standard": {  # M = 96 flows (1377 s CPU for 5b with them) and N = 256 (> 15 min) put standard over 60 min
        **_RISK,
        "M": [16, 32, 64],
        "seeds": 8,
        "limit_M": [16, 64, 256, 512],
        "limit_seeds": 200,
        "floor_M": 64,
        "floor_N": [2, 4, 8, 16],
        "floor_seeds": 4,
        "limit_floor_M": 2048,
        "limit_floor_N": [8, 16, 32, 64, 128],
        "floor_mc_seeds": 1000,
    },
    "full": {
        **_RISK,
        "M": [16, 32, 64, 96, 128],
        "seeds": 16,
        "limit_M": [16, 64, 256, 512, 1024],
        "limit_seeds": 400,
        "floor_M": 128,
        "floor_N": [2, 4, 8, 16, 32],
        "floor_seeds": 8,
        "limit_floor_M": 4096,
        "limit_floor_N": [8, 16, 32, 64, 128, 256, 512],
        "floor_mc_seeds": 2000,
    },
}
_BEVW = {"beta": 0.8, "n_times": 100}
_BEVW_SIZES = {
    "test": {**_BEVW, "M": 64, "N": 32, "m_lo": 4, "m_hi": 12, "d": [1e4, 1e7, 1e12], "seeds": 2, "n_times": 60},
    "quick": {**_BEVW, "M": 128, "N": 64, "m_lo": 8, "m_hi": 24, "d": [1e4, 1e6, 1e9, 1e12], "seeds": 4},
    "standard": {**_BEVW, "M": 512, "N": 256, "m_lo": 8, "m_hi": 40, "d": [1e4, 1e6, 1e9, 1e12, 1e15], "seeds": 8},
    "full": {**_BEVW, "M": 1024, "N": 512, "m_lo": 8, "m_hi": 64, "d": [1e4, 1e6, 1e9, 1e12, 1e15], "seeds": 16},
}
_PLATEAU = {"beta": 0.3, "phi": 0.5, "d": 1e6, "kappa": 8.0}
_PLATEAU_SIZES = {
    "test": {**_PLATEAU, "M": [32, 64, 128], "seeds": 2},
    "quick": {**_PLATEAU, "M": [32, 64, 128, 256], "seeds": 3},
    "standard": {**_PLATEAU, "M": [32, 64, 128, 256, 512], "seeds": 6},
    "full": {**_PLATEAU, "M": [64, 128, 256, 512, 1024], "seeds": 12},
}
# n_log 60: the late log-spaced logs are ≈ 15% apart, so the trapezoid time average of the gap is resolved
_GAP = {"d": 24, "M": 4, "N": 2, "beta": 1.0, "t_max": 12.0, "n_log": 60}
_GAP_SIZES = {
    "test": {**_GAP, "eta": [2e-3, 1e-3], "seeds": 64},
    "quick": {**_GAP, "eta": [2e-3, 1e-3, 5e-4], "seeds": 512},
    "standard": {**_GAP, "eta": [2e-3, 1e-3, 5e-4, 2.5e-4], "seeds": 1024},
    "full": {**_GAP, "eta": [2e-3, 1e-3, 5e-4, 2.5e-4, 1.25e-4], "seeds": 4096},
}
_SEARCH = {
    "activation": "h4",
    "k": 4,
    "delta": 0.1,
    "level": 3.0,
    "horizon": 13.0,
    "select": 6.0,
    "descent": [0.2, 0.8],
    "sharp_tol": 0.25,
    "n_log": 4000,
    "reduced_from": 96,
}
_SEARCH_SIZES = {
    # two sizes: the fit has no degrees of freedom left (normal interval, no χ² inflation); ≈ 20 s idle
    "test": {**_SEARCH, "d": [20, 32], "seeds": 48},
    # five sizes: the weighted fit keeps 3 degrees of freedom, so a scatter above the seed errors widens the interval
    # by t₃ = 3.18, not t₂ = 4.30; 46.6M samples
    "quick": {**_SEARCH, "d": [24, 28, 32, 36, 40], "seeds": 48},
    "standard": {**_SEARCH, "d": [24, 28, 32, 40, 48, 56, 64], "seeds": 96},
    "full": {**_SEARCH, "d": [24, 32, 48, 64, 96, 128], "seeds": 256},
}
_ETAD = {"beta": 0.8, "M": 8, "N": 4, "delta": 0.5, "t_factor": 2.0, "n_log": 40}
_ETAD_SIZES = {
    "test": {**_ETAD, "d": [16, 32, 64], "seeds": 8},
    "quick": {**_ETAD, "d": [128, 512, 2048, 8192], "seeds": 16},
    "standard": {**_ETAD, "d": [128, 512, 2048, 8192, 32768], "seeds": 32},
    "full": {**_ETAD, "d": [128, 512, 2048, 8192, 32768, 131072], "seeds": 64},
}
_PHASE2 = {"c": [1, 4, 16, 64], "c_collapse": 16, "c_law": 4, "d": 1e4, "beta": 1.0, "M_over_N": 2, "K": 2.0}
_PHASE2_SIZES = {
    "test": {**_PHASE2, "N": [4, 6, 8], "seeds": 32},
    "quick": {**_PHASE2, "N": [4, 6, 8, 12], "seeds": 64},
    "standard": {**_PHASE2, "N": [4, 6, 8, 12, 16], "seeds": 128},
    "full": {**_PHASE2, "N": [4, 6, 8, 12, 16, 24], "seeds": 256},
}
_IE_SIZES = {s: {"n": len(IE_TABLE), "degree": 12} for s in SIZES}

_REDUCED = "not run: needs the exact reduced-state SGD engine (issue 11) to reach the sizes the claim is about"
_STAGED = {
    "activation": "h4",
    "k": 4,
    "beta": 1.0,
    "M": 5,
    "N": 8,
    "delta": 0.5,
    "c0": 0.3,
    "horizon": 2.5,
    "pieces_per_e": 4,
    "window": [1, 4],
    "n_log": 400,
    "tolerance": 0.15,
    "d_tolerance": 0.3,
    "bootstrap": 400,
}
_STAGED_SIZES = {
    "test": {**_STAGED, "d": [24, 32], "seeds": 8, "gate_d_min": 0, "bootstrap": 100},
    "quick": {**_STAGED, "d": [32, 48, 64], "seeds": 32, "gate_d_min": 48},
    "standard": {**_STAGED, "d": [32, 48, 64], "seeds": 64, "gate_d_min": 48},
    "full": {**_STAGED, "d": [32, 48, 64, 96], "seeds": 128, "gate_d_min": 48},
}
_FIXED = {
    "activation": "h4",
    "k": 4,
    "beta": 1.0,
    "M": 8,
    "N": 10,
    "delta": 0.025,
    "noise": 12.0,
    "noise_ratio": 2.0,
    "horizon": 1.0,
    "n_log": 40,
    "tolerance": 0.2,
    "bootstrap": 400,
}
_FIXED_SIZES = {
    "test": {**_FIXED, "d": [20], "seeds": 8, "horizon": 0.5, "bootstrap": 200},
    "quick": {**_FIXED, "d": [24, 32], "seeds": 12, "horizon": 0.5},
    "standard": {**_FIXED, "d": [24, 32, 40], "seeds": 24, "horizon": 0.5},
    "full": {**_FIXED, "d": [24, 32, 40, 48], "seeds": 48},
}

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "1",
        "information exponent",
        "IE(σ) = first nonzero Hermite degree, on a table of activations",
        "hermite",
        _IE_SIZES,
        _claim_1,
    ),
    Claim(
        "2",
        "single-index search phase",
        "single index, IE k: SGD escape needs n ≍ d^(k−1) samples at η ≍ d^(−k/2); the descent after it takes a "
        "vanishing fraction of the escape",
        "homogeneous SGD",
        _SEARCH_SIZES,
        sc.claim_2_search,
        needs=_REDUCED,
        requires="reduced",
    ),
    Claim(
        "3",
        "automatic deflation",
        "N ≥ M, all neurons trained together: each direction taken by exactly one neuron, ‖w_ι(p)‖² → ã_p, "
        "cross-overlaps small, extra neurons' norms → 0",
        "homogeneous flow",
        _HOM_SIZES,
        hc.claim_3_deflation,
    ),
    Claim(
        "4a",
        "RNWL emergence in m",
        "T_m ≍ ã_m^(−1) η^(−1) d^(k/2−1): slope of log T_m in log m → β",
        "homogeneous flow",
        _HOM_SIZES,
        hc.claim_4_m_slope,
    ),
    Claim(
        "4b",
        "RNWL emergence in d",
        "T_m ≍ ã_m^(−1) η^(−1) d^(k/2−1): slope of log T_m in log d → k/2 − 1",
        "homogeneous flow",
        _HOM_SIZES,
        hc.claim_4_d_slope,
    ),
    Claim(
        "5a",
        "RNWL risk collapse",
        "L(t) collapses across d in the rescaled time t·η·d^(1−k/2)",
        "homogeneous flow",
        _HOM_SIZES,
        hc.claim_5_collapse,
    ),
    Claim(
        "5b",
        "RNWL risk exponent",
        "exponent of L(t) → (1−2β)/β as M grows with many emergences in the fit window; at finite M the exact flow "
        "has the exponent of the decoupled law (independent escapes, automatic deflation) from the same state",
        "homogeneous flow",
        _RISK_SIZES,
        hc.claim_5_exponent,
    ),
    Claim(
        "5c",
        "RNWL risk floor",
        "at N < M the late risk scales like N^(1−2β) across N (fixed M)",
        "homogeneous flow",
        _RISK_SIZES,
        hc.claim_5_floor,
    ),
    Claim(
        "6a",
        "staged step size: the sample curve",
        "with the staged rate η_m ≍ ã_m d^(−k/2), SGD learns direction m when the gradient flow does, after "
        "n_m = n(T_m) ~ m^(2β) d^(k−1) samples, so L(n) ~ (n/d^(k−1))^((1−2β)/(2β))",
        "homogeneous SGD (reduced engine, step-size schedule)",
        _STAGED_SIZES,
        stc.claim_6_staged,
    ),
    Claim(
        "6b",
        "fixed step size: the largest learned m saturates",
        "at fixed η, directions with small ã_m are not learned stably (the largest learned m saturates): direction m "
        "needs η d^(k/2) E(f−y)² ≲ ã_m, so the learned set depends on ã_m/(η d^(k/2) σ_ε²) only",
        "homogeneous SGD (reduced engine, fixed η, Gaussian label noise)",
        _FIXED_SIZES,
        stc.claim_6_fixed,
    ),
    Claim(
        "7",
        "Riccati flow and the O(η) gap",
        "G follows the matrix Riccati flow; SGD's gap to it is O(η) (halving η halves the gap)",
        "quadratic SGD (full engine) vs exact flow",
        _GAP_SIZES,
        qc.claim_7_gap,
    ),
    Claim(
        "8a",
        "BEVW flow exponent (β > 1/2)",
        "L(t log d) ~ t^((1−2β)/β) ∨ N^(1−2β), the floor Σ_(N<m≤M) ã_m² with its M cut-off",
        "quadratic flow",
        _BEVW_SIZES,
        qc.claim_8_exponent,
    ),
    Claim(
        "8b",
        "BEVW plateau (β < 1/2)",
        "β < 1/2: plateau 1 − φ^(1−2β) approached as M → ∞ at fixed φ = N/M, on the time scale √M·log d",
        "quadratic flow",
        _PLATEAU_SIZES,
        qc.claim_8_plateau,
    ),
    Claim(
        "8c",
        "BEVW emergence slope",
        "emergence times t_m ∝ m^β (additive model t_m ≈ log(d/N)/(2ã_m))",
        "quadratic flow",
        _BEVW_SIZES,
        qc.claim_8_emergence,
    ),
    Claim(
        "9",
        "BEVW SGD: η versus d",
        "β > 1/2: η^(−1) ≍ d·polylog d suffices (the SGD–flow gap stays bounded as d grows at η = δ/(d log d))",
        "quadratic SGD",
        _ETAD_SIZES,
        sc.claim_9_eta_vs_d,
        needs=_REDUCED,
        requires="reduced",
    ),
    Claim(
        "10a",
        "Phase II n′: collapse in n′/N²",
        "the fitted second layer's excess risk over the oracle is a function of n′/N² (collapse across N)",
        "quadratic Phase II (least squares on the exact-flow Phase I state)",
        _PHASE2_SIZES,
        pc.claim_10_collapse,
    ),
    Claim(
        "10b",
        "Phase II n′: the least-squares law",
        "excess/oracle ≈ p/(n′ − p − 1) with p = N(N+1)/2 → (N²/2)/n′: small once n′ ≳ N²",
        "quadratic Phase II (least squares on the exact-flow Phase I state)",
        _PHASE2_SIZES,
        pc.claim_10_law,
    ),
)


def select_claims(ids=None) -> list[Claim]:
    """Claims by id; a bare number selects all its parts ("4" → 4a, 4b). Unknown ids raise ValueError."""
    if not ids:
        return list(CLAIMS)
    out: list[Claim] = []
    known = [c.id for c in CLAIMS]
    for raw in ids:
        s = str(raw).strip().lower()
        hit = [c for c in CLAIMS if c.id == s or (c.id.rstrip("abc") == s and s.isdigit())]
        if not hit:
            raise ValueError(f"`claim`={raw!r} is not a claim id; choose from {', '.join(known)} (or 1..10)")
        out.extend(c for c in hit if c not in out)
    return out
