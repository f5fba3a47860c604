"""Quadratic networks [BEVW25]: exact, overflow- and underflow-safe closed form of the Riccati flow (docs/theory.md §2).

Time is the canonical Riccati time t = 4cτ (online SGD with step η: t = 4cη·steps); risks are relative risks.

Method ("graded", default for N < M). With Y0 = ΘᵀU0 (M×N, rows sorted by decreasing ã) and any R with
RᵀR = C = I − Y0ᵀY0, G(t) is the teacher block of the projector onto span(D_t X0), X0 = [Y0; R] (orthonormal
columns), D_t = diag(e^{ã t}, 1, …, 1). Write X0 = L Vᵀ with L lower trapezoidal (an LQ factorisation, done once).
Row scaling keeps L lower trapezoidal, so span(D_t X0) = span(D_t L D_N^{-1}) where D_N scales column j by its own
leading factor e^{-ã_j t}. The entries of that matrix are e^{(ã_i − ã_j)t} L_ij with i ≥ j, all of modulus ≤ |L_ij|:
nothing overflows, and what underflows is below 2⁻¹⁰⁷⁴ relative to the column's own diagonal entry, i.e. exactly
negligible (unlike a global e^{-ã_1 t} rescaling, which zeroes whole rows: docs/theory.md §2.6 trap 2). One Householder
QR per time then gives an orthonormal basis Q; G = Q_top Q_topᵀ is never formed: the risk is
1 − ‖Q_topᵀ Ã Q_top‖_F² and G_mm = ‖(Q_top)_m‖².  Cost O((M+N)N²) per time, independent of t.

Method ("lyapunov", default for N ≥ M with full-rank G0): G(t) = H^{-1}, H = E G0^{-1} E + I − E², E = e^{-Ãt}
(H obeys a linear Lyapunov ODE). E ≤ 1, so nothing overflows; entries of E that underflow belong to directions with
G_mm = 1 − O(e^{-2ã_m t}), where the exact contribution is below round-off. Cost O(M³) per time (syrk + Cholesky +
inverse). For N > M the student only matters through the M-dimensional span of Y0ᵀ, so N is reduced to M first.

Method ("dual", N ≥ M, invertible G0): the orthogonal complement of span(D_t X0) in the (M + r)-dimensional
augmented space (r = number of singular values of Y0 below 1) is span(D_t⁻¹ X0⊥), and D_t⁻¹ ≤ 1. Householder QR
of that (M + r)×r matrix gives I − G directly, so 1 − G_mm and small risks have full relative accuracy. Cost
O((M + r) r²) per time: cheaper than Lyapunov when M + N > d makes r = d − N < M.

Method ("reference"): orthogonal iteration on the span (docs/theory.md §2): march through the sorted times multiplying
the teacher rows by e^{ãΔt} with ã_1Δt ≤ 30 and re-orthonormalising by Householder QR. Slow; used as the baseline.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.linalg as sla
from scipy.linalg import blas, lapack

from hermite._validate import check_choice, check_int, check_real, check_width

from ._crossing import first_crossing_index
from ._haar import sample_initial_overlap
from ._teacher import TIME_LABEL_QUADRATIC, check_times, normalise_teacher, teacher_coefficients

__all__ = [
    "QuadraticSolution",
    "QuadraticFlow",
    "quadratic_flow",
    "quadratic_risk",
    "quadratic_risk_from_overlap",
    "width_floor",
    "TIME_UNIT_QUADRATIC",
]

TIME_UNIT_QUADRATIC = "canonical Riccati time t = 4*c*tau (online SGD: t = 4*c*eta*steps)"

_METHODS = ("auto", "graded", "lyapunov", "dual", "reference")
_Y0_ROUND_TOL = 1e-5  # singular values of Y0 in (1, 1 + this] are float32 round-off, set to 1
_ONE_TOL = 1e-13  # singular values of Y0 with 1 − s² below this are exactly 1 (span(U0) ∩ span(Θ), M + N > d)
_REF_STEP = 30.0  # bound on ã_1 Δt per orthogonal-iteration sub-step of the reference method
# BLAS/LAPACK threads used by quadratic_flow (argument ``blas_threads``; default 1). On a machine whose cores are
# busy, OpenBLAS threads wait for cores: measured at load 10-12 on 2 cores, dgeqrt 3200×800 took 3.1 s on 2
# threads vs 0.49 s on one, M = 100, N = 75 took 1.5 s vs 0.017 s per time, and the one-off factorisations of the
# N = 2400 dual method ran ~10x slower threaded. On an idle multi-core machine pass blas_threads=None (all cores).
_DEFAULT_BLAS_THREADS = 1


def _qr_r(A: np.ndarray, n: int) -> np.ndarray:
    """Upper-triangular R (n × n) of the Householder QR of the tall matrix A (m × n, m ≥ n), A overwritten.

    LAPACK dgeqrt (blocked, recursive panel dgeqrt3, block 64) rather than dgeqrf: its panel is level-3, which
    made the per-time QR 2-4x faster single-threaded at the BEVW sizes (bench/riccati_bench.py, section 1).
    """
    qr, _, info = lapack.dgeqrt(min(64, n), A, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"Householder QR failed (LAPACK dgeqrt info={info})")
    return np.triu(qr[:n])


def _blas_threads(threads: int | None):
    """Context limiting BLAS/LAPACK to ``threads`` threads (None: leave the library's default)."""
    import contextlib

    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


# ----------------------------------------------------------------------------------------------------------------
# Population risk (shared with the simulator)
# ----------------------------------------------------------------------------------------------------------------
def _xp(x):
    mod = type(x).__module__
    if mod.startswith("jax") or mod.startswith("jaxlib"):
        import jax.numpy as jnp

        return jnp
    return np


def quadratic_risk(a, G):
    """Relative population risk of the quadratic model, R = 1 − tr(ÃGÃG) (docs/theory.md §2.4, Phase II optimal).

    Args:
        a: teacher coefficients, shape (M,), a_m ≥ 0 (normalised here to ã = a/‖a‖₂).
        G: overlap Gram matrix G = ΘᵀUUᵀΘ, shape (..., M, M) (numpy or JAX; JAX input stays jittable).

    Returns:
        R with shape G.shape[:-2]; R = E(f − f_*)²/E f_*² with the optimal radial part Ω* = UᵀSU.

    Examples:
        >>> float(quadratic_risk([1.0, 1.0], np.diag([1.0, 0.0])))
        0.5
    """
    xp = _xp(G)
    a = xp.asarray(a)
    a = a / xp.sqrt(xp.sum(a * a))
    AG = a[:, None] * G
    return 1.0 - xp.einsum("...ij,...ji->...", AG, AG)


def quadratic_risk_from_overlap(a, Y):
    """Same as :func:`quadratic_risk` from the overlap Y = ΘᵀU (shape (..., M, N)), in O(MN²): 1 − ‖YᵀÃY‖_F²."""
    xp = _xp(Y)
    a = xp.asarray(a)
    a = a / xp.sqrt(xp.sum(a * a))
    P = xp.einsum("...mi,m,...mj->...ij", Y, a, Y)
    return 1.0 - xp.sum(P * P, axis=(-2, -1))


def width_floor(a, N: int) -> float:
    """Width floor Σ_{m>N} ã_m² over the M − N weakest directions (0 if N ≥ M); docs/theory.md §2."""
    a = np.sort(normalise_teacher(a))[::-1]
    N = check_int("N", N, lo=1)
    return float(np.sum(a[N:] ** 2))


# ----------------------------------------------------------------------------------------------------------------
# Result and configuration objects
# ----------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class QuadraticSolution:
    """Exact Riccati flow of the quadratic model at requested times (docs/theory.md §2).

    Attributes:
        t: (T,) canonical Riccati times (see ``time_unit``).
        risk: (T,) relative risk 1 − tr(ÃGÃG); absolute accuracy ~1e-14 (relative accuracy degrades below ~1e-8).
        G_diag: (T, M) diagonal G_mm(t), teacher directions in the order of ``a``.
        floor: width floor Σ_{m>N} ã_m² (0 if N ≥ M), the t → ∞ limit of ``risk``.
        emergence_times: (M,) first time G_mm crosses 1/2 (nan if not within [0, t_max]).
        time_unit: description of the time convention (a sentence).
        params: dict with M, N, d, method, emergence_method, ...
        time_label: short axis label of the same convention, "t = 4cη·steps".
    """

    t: np.ndarray
    risk: np.ndarray
    G_diag: np.ndarray
    floor: float
    emergence_times: np.ndarray
    time_unit: str
    params: dict[str, Any]
    time_label: str = TIME_LABEL_QUADRATIC


# ----------------------------------------------------------------------------------------------------------------
# Core evaluators (rows sorted by decreasing ã)
# ----------------------------------------------------------------------------------------------------------------
class _Core:
    """Precomputed factorisations for one (ã, Y0); ``evaluate(t) -> (risk, G_diag, dG_diag/dt)``, sorted order."""

    def __init__(self, a_sorted: np.ndarray, Y: np.ndarray, method: str):
        self.a = a_sorted
        M, N = Y.shape
        self.M = M
        # Reduce N > M: only span(Y0ᵀ) ⊂ R^N couples to the teacher; Y0 = L_y Q_yᵀ, keep L_y (M×M).
        if N > M:
            Y = np.linalg.qr(Y.T, mode="r").T  # lower triangular M×M with Y Yᵀ unchanged
            # sign choice of QR is irrelevant: only Y Yᵀ and YᵀY's spectrum matter
        self.Ne = Y.shape[1]
        lam, Vg = np.linalg.eigh(Y.T @ Y)  # squared singular values (ascending) and right singular vectors
        s = np.sqrt(np.clip(lam[::-1], 0.0, None))
        if s.size and 1.0 < s[0] <= 1.0 + _Y0_ROUND_TOL:
            # Round-off from a float32 Stiefel state (‖UᵀU − I‖ ≤ 1e-5): pull singular values > 1 back to exactly 1.
            Y = Y @ ((Vg / np.maximum(np.sqrt(np.clip(lam, 0.0, None)), 1.0)) @ Vg.T)
            lam = np.minimum(lam, 1.0)
            s = np.sqrt(np.clip(lam[::-1], 0.0, None))
        if s.size and s[0] > 1.0 + _Y0_ROUND_TOL:
            raise ValueError(
                f"`Y0` has a singular value {s[0]:.6g} > 1: it must be ΘᵀU0 for an orthonormal U0 (entries ≈ 1/√d); "
                "sample it with riccati.sample_initial_overlap or check the file"
            )
        if method == "auto":
            method = "graded"
            if self.Ne == M:
                diag = np.abs(np.diag(np.linalg.qr(Y.T, mode="r")))
                if diag.min() > 1e-10 * max(diag.max(), 1e-300):
                    method = "lyapunov"
                    r = int(np.sum((1.0 - s) * (1.0 + s) > _ONE_TOL))
                    if M > 256 and 4.0 * (M + r) * r * r < 1.3 * M**3:
                        method = "dual"
        self.method = method
        if method == "dual":
            if self.Ne != M:
                raise ValueError(f"`method`='dual' needs N ≥ M; got N={N} < M={M}; use method='graded'")
            one_minus = 1.0 - lam  # 1 − s², absolute accuracy ~1e-16 from eigh of YᵀY (as from an SVD)
            keep = one_minus > _ONE_TOL
            R = np.sqrt(one_minus[keep])[:, None] * Vg[:, keep].T
            r = int(keep.sum())
            self.r = r
            if r:
                Qf = np.linalg.qr(np.vstack([Y, R]), mode="complete")[0]
                order = np.r_[M + np.arange(r), np.arange(M)[::-1]]  # C rows, then teacher rows by increasing ã
                self.Ld = np.linalg.qr(Qf[order, M:].T, mode="r").T  # complement basis, lower trapezoidal
            return
        if method == "lyapunov":
            if self.Ne != M:
                raise ValueError(
                    f"`method`='lyapunov' needs N ≥ M (full-rank G0); got N={N} < M={M}; use method='graded'"
                )
            Ly = np.linalg.qr(Y.T, mode="r").T  # G0 = Ly Lyᵀ
            dg = np.abs(np.diag(Ly))
            if dg.min() <= 1e-12 * max(dg.max(), 1e-300):
                raise ValueError("`method`='lyapunov' needs an invertible G0 = Y0 Y0ᵀ; use method='graded'")
            Linv = sla.solve_triangular(Ly, np.eye(M), lower=True, check_finite=False)
            self.Gamma = np.asfortranarray(Linv.T @ Linv)  # G0^{-1}
        else:
            _, sv, Vt = np.linalg.svd(Y, full_matrices=False)
            R = np.sqrt(np.clip((1.0 - sv) * (1.0 + sv), 0.0, None))[:, None] * Vt  # RᵀR = I − YᵀY
            self.X0 = np.vstack([Y, R])  # (M+Ne) × Ne, orthonormal columns
            if method == "graded":
                self.L = np.linalg.qr(self.X0.T, mode="r").T  # X0 = L Vᵀ, L lower trapezoidal

    # -- per-time evaluation -------------------------------------------------------------------------------------
    def evaluate(self, t: float, slope: bool = False):
        """(risk, G_diag, dG_diag/dt or None) at time t, rows in sorted order."""
        if self.method == "lyapunov":
            return self._eval_lyapunov(t, slope)
        if self.method == "dual":
            return self._eval_dual(t, slope)
        return self._eval_basis(self._graded_basis(t), slope)

    def _eval_dual(self, t: float, slope: bool = False):
        """Complement of the span: span(D_t⁻¹ X0⊥), D_t⁻¹ = diag(e^{−ãt}, 1) ≤ 1, so I − G = Q⊥_top Q⊥_topᵀ."""
        a, M, r = self.a, self.M, self.r
        if r == 0:
            return 0.0, np.ones(M), (np.zeros(M) if slope else None)
        E = np.exp(-a[::-1] * t)
        E[E < 1e-150] = 0.0  # below round-off relative to the O(1) C-rows; keeps subnormals out of LAPACK
        Mt = self.Ld.copy()
        Mt[r:] *= E[:, None]
        top = Mt[r:].copy()
        Rf = _qr_r(Mt, r)
        Qt = sla.solve_triangular(Rf, top.T, trans="T", lower=False, check_finite=False).T[::-1]  # sorted order
        delta = np.einsum("ij,ij->i", Qt, Qt)  # (I − G)_mm, accurate even when tiny
        S = np.sqrt(a)[:, None] * Qt
        P = blas.dsyrk(1.0, S, trans=1, lower=1)
        P2 = P * P
        # R = 1 − tr(Ã(I−Δ)Ã(I−Δ)) = 2 Σ ã_m² Δ_mm − tr(ÃΔÃΔ)   (Σ ã² = 1): no cancellation as R → 0
        risk = float(2.0 * np.sum(a * a * delta) - (2.0 * np.sum(P2) - np.trace(P2)))
        g = 1.0 - delta
        if not slope:
            return risk, g, None
        Pf = np.tril(P) + np.tril(P, -1).T
        dad = np.einsum("ij,ij->i", Qt @ Pf, Qt)
        gag = a - 2.0 * a * delta + dad
        return risk, g, 2.0 * a * g - 2.0 * gag

    def _graded_matrix(self, t: float) -> np.ndarray:
        Ne = self.Ne
        logd = np.concatenate([self.a * t, np.zeros(Ne)])
        expo = np.minimum(logd[:, None] - logd[None, :Ne], 0.0)  # ≤ 0 on and below the diagonal (rows sorted)
        # Ratios below e^{-150} (1e-65 relative to the column's own diagonal entry, far below round-off) are set to
        # exactly 0, so that no subnormal numbers reach LAPACK (they are ~100x slower and carry no information).
        expo[expo < -150.0] = -np.inf
        Mt = np.exp(expo, out=expo)
        Mt *= self.L
        return Mt

    def _graded_basis(self, t: float) -> np.ndarray:
        """Q_top (M × Ne): teacher rows of an orthonormal basis of span(D_t X0) (Householder R, then Q = M̃R⁻¹)."""
        Mt = self._graded_matrix(t)
        top = Mt[: self.M].copy()
        R = _qr_r(Mt, self.Ne)
        return sla.solve_triangular(R, top.T, trans="T", lower=False, check_finite=False).T

    def _eval_basis(self, Qt: np.ndarray, slope: bool = False):
        a = self.a
        S = np.sqrt(a)[:, None] * Qt
        P = blas.dsyrk(1.0, S, trans=1, lower=1)  # lower triangle of Q_topᵀ Ã Q_top
        P2 = P * P
        risk = 1.0 - float(2.0 * np.sum(P2) - np.trace(P2))
        g = np.einsum("ij,ij->i", Qt, Qt)
        if not slope:
            return risk, g, None
        Pf = np.tril(P) + np.tril(P, -1).T
        gag = np.einsum("ij,ij->i", Qt @ Pf, Qt)
        return risk, g, 2.0 * a * g - 2.0 * gag

    def _eval_lyapunov(self, t: float, slope: bool = False):
        a = self.a
        E = np.exp(-a * t)
        # E_m < 1e-60 contributes < 1e-48 (relative) to H, whose diagonal is ≥ 1 − E_m² ≈ 1 there: set it to 0 so
        # that no subnormal numbers reach LAPACK (slow, and below round-off anyway).
        E[E < 1e-60] = 0.0
        H = self.Gamma * E[:, None]
        H *= E[None, :]  # E G0^{-1} E (lower triangle is what LAPACK reads)
        H[np.diag_indices_from(H)] += -np.expm1(-2.0 * a * t)
        c, info = lapack.dpotrf(H, lower=1, clean=0, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"Cholesky of H failed (info={info}) at t={t:g}; use method='graded'")
        Gl, info = lapack.dpotri(c, lower=1, overwrite_c=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"inverse of H failed (info={info}) at t={t:g}; use method='graded'")
        G = np.tril(Gl)
        G2 = G * G
        G2 += np.tril(G2, -1).T  # full symmetric G∘G
        risk = 1.0 - float(a @ G2 @ a)
        g = np.diag(G).copy()
        if not slope:
            return risk, g, None
        return risk, g, 2.0 * a * g - 2.0 * (G2 @ a)

    def evaluate_many(self, times: np.ndarray):
        """Batched evaluation for small Lyapunov problems (one LAPACK call over all times); else a loop."""
        M = self.M
        if self.method != "lyapunov" or M > 256 or times.size * M * M > 2e7:
            return None
        a = self.a
        E = np.exp(-np.outer(times, a))
        E[E < 1e-60] = 0.0  # as in _eval_lyapunov: no subnormals, contribution below round-off
        H = self.Gamma[None, :, :] * E[:, :, None] * E[:, None, :]
        idx = np.arange(M)
        H[:, idx, idx] += -np.expm1(-2.0 * np.outer(times, a))
        Lc = np.linalg.cholesky(H)
        Linv = np.linalg.inv(Lc)  # triangular inverse (batched); G = L^{-T} L^{-1}
        G = np.swapaxes(Linv, 1, 2) @ Linv
        G2 = G * G
        risk = 1.0 - np.einsum("i,tij,j->t", a, G2, a)
        g = np.diagonal(G, axis1=1, axis2=2).copy()
        return risk, g

    # -- reference: orthogonal iteration, marching through sorted times ------------------------------------------
    def march_reference(self, times: np.ndarray):
        a, M = self.a, self.M
        Q = self.X0.copy()
        t_now = 0.0
        out = []
        amax = max(float(a[0]), 1e-300)
        for t in times:
            while t_now < t:
                dt = min(t - t_now, _REF_STEP / amax)
                Q[:M] *= np.exp(a * dt)[:, None]
                Q, _ = np.linalg.qr(Q)
                t_now += dt
            out.append(self._eval_basis(Q[:M], slope=True))
        return out


# ----------------------------------------------------------------------------------------------------------------
# Emergence times: G_mm(t) crosses 1/2
# ----------------------------------------------------------------------------------------------------------------
def _logit(g):
    g = np.clip(g, 1e-300, 1 - 1e-16)
    return np.log(g) - np.log1p(-g)


def _emergence(core: _Core, grid_t, grid_g, refine: bool):
    """First up-crossing of G_mm = 1/2: bracket on the grid, linear interpolation of logit G_mm in t (exact for the
    logistic law of docs/theory.md §2), then, if ``refine``, safeguarded Newton with exact values and slopes."""
    M = core.M
    first = first_crossing_index(grid_g)
    em = np.full(M, np.nan)
    em[first == 0] = grid_t[0]
    idx = np.nonzero(first > 0)[0]
    if idx.size == 0:
        return em
    j = first[idx]
    f0, f1 = _logit(grid_g[j - 1, idx]), _logit(grid_g[j, idx])
    ta, tb = grid_t[j - 1], grid_t[j]
    est = ta + (tb - ta) * (-f0) / np.where(f1 - f0 > 0, f1 - f0, 1.0)
    if refine:
        for k, m in enumerate(idx):
            lo, hi, tk = ta[k], tb[k], est[k]
            for _ in range(6):
                _, g, dg = core.evaluate(tk, slope=True)
                f = _logit(g[m])
                fp = dg[m] / max(g[m] * (1 - g[m]), 1e-300)
                if f < 0:
                    lo = tk
                else:
                    hi = tk
                tn = tk - f / fp if fp > 0 else 0.5 * (lo + hi)
                if not (lo <= tn <= hi):
                    tn = 0.5 * (lo + hi)
                done = abs(tn - tk) <= 1e-12 * max(tk, 1.0)
                tk = tn
                if done:
                    break
            est[k] = tk
    em[idx] = est
    return em


# ----------------------------------------------------------------------------------------------------------------
# Public entry point
# ----------------------------------------------------------------------------------------------------------------
def _check_Y0(Y0, M: int) -> np.ndarray:
    try:
        Y = np.asarray(Y0, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`Y0` must be a real (M, N) array; got {type(Y0).__name__}") from exc
    if Y.ndim != 2 or Y.shape[0] != M or Y.shape[1] < 1:
        raise ValueError(f"`Y0` has shape {Y.shape}; expected (M, N) = ({M}, N) with N ≥ 1 (Y0 = ΘᵀU0)")
    if not np.all(np.isfinite(Y)):
        raise ValueError("`Y0` has non-finite entries; pass a finite overlap matrix ΘᵀU0")
    return Y


def quadratic_flow(
    a,
    Y0,
    times,
    *,
    d: int | None = None,
    method: str = "auto",
    emergence: str = "auto",
    progress=None,
    blas_threads: int | None = _DEFAULT_BLAS_THREADS,
) -> QuadraticSolution:
    """Exact Riccati flow dG/dt = ÃG + GÃ − 2GÃG of the quadratic model, evaluated at ``times`` (docs/theory.md §2).

    G(t) = ΘᵀU(t)U(t)ᵀΘ is the teacher block of the projector onto span(e^{St}U0); it is evaluated by an exact
    closed form that neither overflows nor underflows at any t (module docstring: methods "graded" and
    "lyapunov"; "reference" is the slow orthogonal-iteration baseline). Risk is relative: R = 1 − tr(ÃGÃG).

    Args:
        a: teacher coefficients (M,), a_m ≥ 0 (any order; normalised to ã = a/‖a‖₂ internally).
        Y0: initial overlap ΘᵀU0, shape (M, N), singular values ≤ 1 (e.g. :func:`sample_initial_overlap`).
        times: (T,) non-negative, non-decreasing canonical times t = 4cτ.
        d: ambient dimension (optional; only validated, M ≤ d and N ≤ d, and recorded in ``params``).
        method: "auto" (N < M: graded; N ≥ M with invertible G0: lyapunov, or dual when the span of U0 meets
            the teacher span (M + N > d) and that is cheaper), "graded", "lyapunov", "dual", "reference".
        emergence: "auto" (Newton refinement on the exact flow when cheap, else linear interpolation of
            logit G_mm in t between the bracketing grid times), "exact" (always refine), or "interp" (never).
        progress: optional callable ``progress(done, total)`` called after each time point (for CLIs).
        blas_threads: BLAS/LAPACK threads (default 1: measured fastest on a shared, busy machine; None: the
            library's default, all cores, which helps only on an idle multi-core machine at large N).

    Returns:
        :class:`QuadraticSolution` (risk, G_diag, floor, emergence_times in the order of ``a``).

    Examples:
        >>> sol = quadratic_flow(teacher_coefficients(1.0, 4), sample_initial_overlap(0, 100, 4, 2), [0, 10, 100])
        >>> sol.risk.shape, sol.G_diag.shape
        ((3,), (3, 4))
    """
    a_n = normalise_teacher(a)
    M = a_n.size
    Y = _check_Y0(Y0, M)
    N = Y.shape[1]
    if d is not None:
        d = check_int("d", d, lo=1)
        check_width("M", M, d)
        check_width("N", N, d)
    t = check_times(times)
    check_choice("method", method, _METHODS)
    check_choice("emergence", emergence, ("auto", "exact", "interp"))
    if blas_threads is not None:
        blas_threads = check_int("blas_threads", blas_threads, lo=1, fix="use 1 (default) or None for all cores")
    M, N = Y.shape
    perm = np.argsort(-a_n, kind="stable")
    with _blas_threads(blas_threads):
        core = _Core(a_n[perm], Y[perm], "graded" if method == "reference" else method)
        if method == "reference":
            core.method = "reference"
        Ne = core.Ne
        if core.method == "lyapunov":
            cost = M**3
        elif core.method == "dual":
            cost = (M + core.r) * core.r**2
        else:
            cost = (M + Ne) * Ne * Ne
        return _quadratic_flow_impl(core, perm, N, t, d, emergence, progress, cost)


def _quadratic_flow_impl(core, perm, N, t, d, emergence, progress, cost) -> QuadraticSolution:
    M = core.M
    inv = np.argsort(perm)
    a_s = core.a

    grid = t if t[0] == 0.0 else np.concatenate([[0.0], t])
    batched = core.evaluate_many(grid) if core.method != "reference" else None
    if core.method == "reference":
        res = core.march_reference(grid)
    elif batched is not None:
        res = list(zip(batched[0], batched[1], [None] * grid.size, strict=True))
        if progress is not None:
            progress(grid.size, grid.size)
    else:
        res = []
        for i, tt in enumerate(grid):
            res.append(core.evaluate(float(tt)))
            if progress is not None:
                progress(i + 1, grid.size)
    risk = np.array([r[0] for r in res])
    g = np.array([r[1] for r in res])

    crossed = int(np.sum((g >= 0.5).any(axis=0)))
    refine = emergence == "exact" or (emergence == "auto" and core.method != "reference" and crossed * cost < 1e8)
    em = _emergence(core, grid, g, refine and core.method != "reference")
    sl = slice(0 if t[0] == 0.0 else 1, None)
    floor = float(np.sum(a_s[N:] ** 2))
    return QuadraticSolution(
        t=t,
        risk=risk[sl],
        G_diag=g[sl][:, inv],
        floor=floor,
        emergence_times=em[inv],
        time_unit=TIME_UNIT_QUADRATIC,
        params={
            "model": "quadratic",
            "M": M,
            "N": N,
            "d": d,
            "method": core.method,
            "emergence_method": "newton" if refine and core.method != "reference" else "logit-linear",
            "risk": "relative",
            **({"dual_r": core.r} if core.method == "dual" else {}),
        },
    )


@dataclasses.dataclass(frozen=True)
class QuadraticFlow:
    """Validated configuration of a quadratic-model flow: power-law teacher, Haar initialisation (docs/theory.md §2).

    Fields: d (≥ max(M, N)), M ≥ 1, N ≥ 1, beta ≥ 0, seed ≥ 0. ``solve(times)`` samples Y0 with
    :func:`sample_initial_overlap` and calls :func:`quadratic_flow`.
    """

    d: int
    M: int
    N: int
    beta: float
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "M", check_int("M", self.M, lo=1, fix="the teacher needs at least one direction"))
        object.__setattr__(self, "N", check_int("N", self.N, lo=1, fix="the student needs at least one neuron"))
        object.__setattr__(self, "d", check_int("d", self.d, lo=1))
        object.__setattr__(self, "beta", check_real("beta", self.beta, lo=0.0, fix="use β ≥ 0"))
        object.__setattr__(self, "seed", check_int("seed", self.seed, lo=0))
        check_width("M", self.M, self.d)
        check_width("N", self.N, self.d)

    @property
    def a(self) -> np.ndarray:
        """Normalised teacher ã (M,)."""
        return teacher_coefficients(self.beta, self.M)

    def initial_overlap(self) -> np.ndarray:
        """Y0 = ΘᵀU0 (M, N) for this seed."""
        return sample_initial_overlap(self.seed, self.d, self.M, self.N)

    def solve(self, times, **kwargs) -> QuadraticSolution:
        """Run :func:`quadratic_flow` at ``times``; records beta and seed in ``params``."""
        sol = quadratic_flow(self.a, self.initial_overlap(), times, d=self.d, **kwargs)
        sol.params.update(beta=self.beta, seed=self.seed)
        return sol
