"""Quadratic networks [BEVW25]: exact, overflow- and underflow-safe closed form of the Riccati flow (docs/theory.md §2).

Time is the canonical Riccati time t = 4cτ (online SGD with step η: t = 4cη·steps); risks are relative risks.

Method ("graded", default for N < M). With Y0 = ΘᵀU0 (M×N, rows sorted by decreasing ã) and any R with
RᵀR = C = I − Y0ᵀY0, G(t) is the teacher block of the projector onto span(D_t X0), X0 = [Y0; R] (orthonormal
columns), D_t = diag(e^{ã t}, 1, …, 1). Write X0 V = [L; R V] with Y0 V = L lower trapezoidal (an LQ factorisation of
Y0, done once). Row scaling keeps L lower trapezoidal, so span(D_t X0) = span(D_t X0 V D_N^{-1}) where D_N scales
column j by its own leading factor e^{-ã_j t}. The teacher rows A_t = e^{Ãt} L D_N^{-1} have entries
e^{(ã_i − ã_j)t} L_ij with i ≥ j, all of modulus ≤ |L_ij|: nothing overflows, and what underflows is below e^{-150}
relative to the column's own diagonal entry, i.e. exactly negligible (unlike a global e^{-ã_1 t} rescaling, which
zeroes whole rows: docs/theory.md §2.6 trap 2). Because X0 V has orthonormal columns, its Gram matrix after scaling
needs only L: K = A'ᵀA' + e^{-2Ã_N t}, A' = diag(√(1 − e^{-2ãt})) A_t (positive terms, entries ≤ 1). One Cholesky
K = CᵀC gives the teacher rows of an orthonormal basis, Q_top = A_t C⁻¹; G = Q_top Q_topᵀ is never formed: the
risk is 1 − ‖Q_topᵀ Ã Q_top‖_F² and G_mm = ‖(Q_top)_m‖². Cost per time, independent of t: three level-3 BLAS
calls of M·N² flops each (syrk, trsm, syrk), versus 2(M + N)N² for a Householder QR of the stacked matrix
(the previous algorithm, kept as the fallback when the Cholesky fails). Its error is ~ε κ², κ the condition number of
the column-scaled matrix, measured ≤ 25 on the BEVW set; it agrees with Householder QR to ~2e-15.

Method ("lyapunov", default for N ≥ M with full-rank G0): G(t) = H^{-1}, H = E G0^{-1} E + I − E², E = e^{-Ãt}
(H obeys a linear Lyapunov ODE). E ≤ 1, so nothing overflows; entries of E that underflow belong to directions with
G_mm = 1 − O(e^{-2ã_m t}), where the exact contribution is below round-off. Cost O(M³) per time (syrk + Cholesky +
inverse). For N > M the student only matters through the M-dimensional span of Y0ᵀ, so N is reduced to M first.

Method ("dual", N ≥ M, invertible G0): the orthogonal complement of span(D_t X0) in the (M + r)-dimensional
augmented space (r = number of singular values of Y0 below 1) is span(D_t⁻¹ X0⊥), and D_t⁻¹ ≤ 1. A basis X0⊥
(Householder Q of X0 applied to [0; I_r], then an LQ so that its C rows form an r × r triangle L_C) is built once;
per time, the Cholesky of L_CᵀL_C + BᵀB, B = e^{-Ãt} L_T (teacher rows), gives I − G = Q⊥ Q⊥ᵀ with Q⊥ = B C⁻¹, so
1 − G_mm and small risks have full relative accuracy (column-scaled condition number ≤ 2 on the BEVW set). Cost
3·M·r² flops per time: cheaper than Lyapunov when M + N > d makes r = d − N < M.

Method ("reference"): orthogonal iteration on the span (docs/theory.md §2): march through the sorted times multiplying
the teacher rows by e^{ãΔt} with ã_1Δt ≤ 30 and re-orthonormalising by Householder QR. Slow; used as the baseline.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.linalg as sla
from scipy.linalg import blas, lapack

from hermite.validation import require_choice, require_int, require_real, require_width

from ._crossing import first_crossing_index
from ._haar import sample_initial_overlap
from ._teacher import TIME_LABEL_QUADRATIC, normalise_teacher, require_times, teacher_coefficients

__all__ = [
    "QuadraticSolution",
    "QuadraticFlow",
    "quadratic_flow",
    "quadratic_risk_from_G",
    "quadratic_risk_from_Y",
    "width_floor",
    "TIME_UNIT_QUADRATIC",
]

TIME_UNIT_QUADRATIC = "canonical Riccati time t = 4*c*tau (online SGD: t = 4*c*eta*steps)"

_METHODS = ("auto", "graded", "lyapunov", "dual", "reference")
_Y0_ROUND_TOL = 1e-5  # singular values of Y0 in (1, 1 + this] are float32 round-off, set to 1
_ONE_TOL = 1e-13  # singular values of Y0 with 1 − s² below this are exactly 1 (span(U0) ∩ span(Θ), M + N > d)
_GRADE_SPAN = 400.0  # graded method: largest spread of ã_j t within one column block (factors ≤ e^400, finite)
_NEGLIGIBLE = 150.0  # graded method: entries below e^{-150} times their column's diagonal scale are exactly 0
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


def quadratic_risk_from_G(a, G):
    """Relative population risk of the quadratic model, R = 1 − tr(ÃGÃG) (docs/theory.md §2.4, Phase II optimal).

    Args:
        a: teacher coefficients, shape (M,), a_m ≥ 0 (normalised here to ã = a/‖a‖₂).
        G: overlap Gram matrix G = ΘᵀUUᵀΘ, shape (..., M, M) (numpy or JAX; JAX input stays jittable).

    Returns:
        R with shape G.shape[:-2]; R = E(f − f_*)²/E f_*² with the optimal radial part Ω* = UᵀSU.

    Examples:
        >>> round(float(quadratic_risk_from_G([1.0, 1.0], np.diag([1.0, 0.0]))), 12)
        0.5
    """
    xp = _xp(G)
    a = xp.asarray(a)
    a = a / xp.sqrt(xp.sum(a * a))
    AG = a[:, None] * G
    return 1.0 - xp.einsum("...ij,...ji->...", AG, AG)


def quadratic_risk_from_Y(a, Y):
    """Same as :func:`quadratic_risk_from_G` from the overlap Y = ΘᵀU (shape (..., M, N)), in O(MN²): 1 − ‖YᵀÃY‖_F²."""
    xp = _xp(Y)
    a = xp.asarray(a)
    a = a / xp.sqrt(xp.sum(a * a))
    P = xp.einsum("...mi,m,...mj->...ij", Y, a, Y)
    return 1.0 - xp.sum(P * P, axis=(-2, -1))


def width_floor(a, N: int) -> float:
    """Width floor Σ_{m>N} ã_m² over the M − N weakest directions (0 if N ≥ M); docs/theory.md §2."""
    a = np.sort(normalise_teacher(a))[::-1]
    N = require_int("N", N, lo=1)
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
        self._sqrt_a = np.sqrt(a_sorted)
        self._work_arrays = None
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
                r = int(np.sum((1.0 - s) * (1.0 + s) > _ONE_TOL))
                dual_cheaper = M > 256 and 4.0 * (M + r) * r * r < 1.3 * M**3
                if dual_cheaper and s[-1] > 1e-6 * max(s[0], 1e-300):
                    method = "dual"  # G0 clearly invertible (s from eigh resolves 1e-8 relative): no QR check needed
                else:
                    diag = np.abs(np.diag(np.linalg.qr(Y.T, mode="r")))
                    if diag.min() > 1e-10 * max(diag.max(), 1e-300):
                        method = "dual" if dual_cheaper else "lyapunov"
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
                # Orthonormal basis of the complement of span(X0), X0 = [Y; R] ((M + r) × M): the last r columns of
                # the Householder Q of X0, applied to [0; I_r] (geqrf + ormqr; forming all of Q costs ~2x more).
                X0 = np.vstack([Y, R])
                qr, tau, _, info = lapack.dgeqrf(X0, lwork=64 * M, overwrite_a=1)  # blocked: lwork ≥ nb·n
                E0 = np.zeros((M + r, r), order="F")
                E0[M:] = np.eye(r)
                lwork = max(1, r * 64)
                Qc, _, info2 = lapack.dormqr("L", "N", qr, tau, E0, lwork, overwrite_c=1)
                if info != 0 or info2 != 0:
                    raise np.linalg.LinAlgError(f"QR of [Y0; C^1/2] failed (LAPACK info={info}, {info2})")
                order = np.r_[M + np.arange(r), np.arange(M)[::-1]]  # C rows, then teacher rows by increasing ã
                Ld = np.linalg.qr(Qc[order].T, mode="r").T  # complement basis, lower trapezoidal
                self.LdC = np.asfortranarray(Ld[:r])  # C rows, r × r lower triangular (time-independent)
                self.LdT = np.asfortranarray(Ld[r:])  # teacher rows by increasing ã, M × r
                self.KC = np.asfortranarray(self.LdC.T @ self.LdC)
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
            self._Y = Y
            self._X0 = None
            self._Lfull = None
            if method == "graded":
                # LQ of Y0 alone: Y0 V = L_y lower trapezoidal (M × Ne). Because X0 = [Y0; C^{1/2}] has orthonormal
                # columns, only L_y is needed per time (Gram identity in _graded_basis).
                self.Ly = np.asfortranarray(np.linalg.qr(Y.T, mode="r").T)
                self._negx = -self.a  # ascending, for searchsorted on −ã t

    @property
    def X0(self) -> np.ndarray:
        """[Y0; C^{1/2}] ((M + Ne) × Ne, orthonormal columns), C = I − Y0ᵀY0; built on first use."""
        if self._X0 is None:
            _, sv, Vt = np.linalg.svd(self._Y, full_matrices=False)
            R = np.sqrt(np.clip((1.0 - sv) * (1.0 + sv), 0.0, None))[:, None] * Vt  # RᵀR = I − YᵀY
            self._X0 = np.vstack([self._Y, R])
        return self._X0

    # -- per-time evaluation -------------------------------------------------------------------------------------
    def evaluate(self, t: float, slope: bool = False):
        """(risk, G_diag, dG_diag/dt or None) at time t, rows in sorted order."""
        if self.method == "lyapunov":
            return self._eval_lyapunov(t, slope)
        if self.method == "dual":
            return self._eval_dual(t, slope)
        work = self._work()
        return self._eval_basis(self._graded_basis(t, work=work), slope, work=work[1])

    def _work(self):
        """Two reused Fortran-order (M, n) work arrays (n = Ne graded, r dual), allocated once per core: fresh
        arrays of this size cost page faults on every time (measured 2x the whole evaluation at N = 50)."""
        if self._work_arrays is None:
            n = self.r if self.method == "dual" else self.Ne
            self._work_arrays = (np.zeros((self.M, n), order="F"), np.zeros((self.M, n), order="F"))
        return self._work_arrays

    def _eval_dual(self, t: float, slope: bool = False):
        """Complement of the span: span(D_t⁻¹ X0⊥), D_t⁻¹ = diag(1, e^{−ãt}) ≤ 1, so I − G = Q⊥_top Q⊥_topᵀ.

        With X0⊥ = [L_C; L_T] (C rows r × r lower triangular, teacher rows M × r) and B = e^{−Ãt} L_T, the Gram
        matrix is K = L_CᵀL_C + BᵀB (L_CᵀL_C precomputed) = CᵀC (Cholesky) and Q⊥_top = B C⁻¹ (see
        :meth:`_graded_basis` for the accuracy argument; the column-scaled condition number stays below ~2 here).
        """
        a, M, r = self.a, self.M, self.r
        if r == 0:
            return 0.0, np.ones(M), (np.zeros(M) if slope else None)
        work = self._work()
        Qt = self._dual_basis(t, work=work[0])[::-1]  # sorted order
        delta = np.einsum("ij,ij->i", Qt, Qt)  # (I − G)_mm, accurate even when tiny
        np.multiply(Qt, self._sqrt_a[:, None], out=work[1][::-1])
        S = work[1]  # √Ã Q⊥ in the unsorted row order: P = SᵀS does not depend on the order of the rows
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

    def _dual_basis(self, t: float, householder: bool = False, work: np.ndarray | None = None) -> np.ndarray:
        """Q⊥_top (M × r, teacher rows by increasing ã): Cholesky of K = L_CᵀL_C + BᵀB, or Householder QR of
        [L_C; B] when ``householder`` or when the Cholesky fails (K singular in floating point)."""
        r = self.r
        E = np.exp(-self.a[::-1] * t)
        E[E < 1e-150] = 0.0  # below round-off relative to the O(1) C-rows; keeps subnormals out of LAPACK
        B = np.multiply(self.LdT, E[:, None], out=work)  # Fortran order (LdT is); result in ``work`` if given
        if not householder:
            K = blas.dsyrk(1.0, B, trans=1, beta=1.0, c=self.KC, lower=0)
            C, info = lapack.dpotrf(K, lower=0, clean=1, overwrite_a=1)
            if info == 0:
                return blas.dtrsm(1.0, C, B, side=1, lower=0, overwrite_b=1)
        Mt = np.vstack([self.LdC, B])
        top = B.copy()
        R = _qr_r(Mt, r)
        return sla.solve_triangular(R, top.T, trans="T", lower=False, check_finite=False).T

    def _graded_top(self, t: float, out: np.ndarray | None = None) -> np.ndarray:
        """A_t = D_t L_y D_N⁻¹ (M × Ne, Fortran order): A_mj = e^{(ã_m − ã_j)t} (L_y)_mj, all |A_mj| ≤ |(L_y)_mj|.

        Computed by column blocks J = [j0, j1) whose exponents ã_j t span at most _GRADE_SPAN: A_mJ =
        e^{(ã_m − ã_j0)t} L_mJ e^{(ã_j0 − ã_J)t}, so a block costs (rows) + |J| exponentials instead of rows·|J|.
        Rows whose factor is below e^{−(150 + span)} (every ratio in the block below e^{−150}, i.e. < 1e-65 relative
        to the column's own diagonal entry, far below round-off) are exactly 0: no subnormal numbers reach BLAS.
        ``out``: optional Fortran-order (M, Ne) work array to fill (reused buffers avoid page faults on fresh memory).
        """
        Ne, L = self.Ne, self.Ly
        x = self.a * t
        negx = self._negx * t
        if out is None:
            A = np.zeros(L.shape, order="F")
        else:
            A = out
            A.fill(0.0)
        j0 = 0
        while j0 < Ne:
            xr = x[j0]
            j1 = max(int(np.searchsorted(negx[:Ne], _GRADE_SPAN - xr, side="right")), j0 + 1)
            span = xr - x[j1 - 1]
            m1 = int(np.searchsorted(negx, _NEGLIGIBLE + span - xr, side="right"))
            r = np.exp(x[j0:m1] - xr)
            c = np.exp(xr - x[j0:j1])
            blk = A[j0:m1, j0:j1]
            np.multiply(L[j0:m1, j0:j1], c, out=blk)
            blk *= r[:, None]
            j0 = j1
        return A

    def _graded_basis(self, t: float, householder: bool = False, work=None) -> np.ndarray:
        """Q_top (M × Ne): teacher rows of an orthonormal basis of span(D_t X0), X0 = [Y0; C^{1/2}] (module docstring).

        With X0 V = [L_y; R'] (orthonormal columns) and M_t = D_t X0 V D_N⁻¹, the Gram matrix needs only L_y:
        M_tᵀM_t = D_N⁻¹(I + L_yᵀ(e^{2Ãt} − I)L_y)D_N⁻¹ = A'ᵀA' + e^{−2Ã_N t},  A' = diag(√(1 − e^{−2ãt})) A_t,
        a sum of positive semidefinite terms with entries ≤ 1 (no cancellation, no overflow). Cholesky K = CᵀC and
        Q_top = A_t C⁻¹ (the teacher rows of M_t C⁻¹, orthonormal). Cost: syrk + trsm, 2MNe² flops, versus
        2(M + Ne)Ne² − 2Ne³/3 for a Householder QR of M_t and MNe² more to recover Q_top. Accuracy: Cholesky and
        triangular solves are invariant under column scaling, so the error in G is ~ε κ², κ the condition number of
        M_t with unit columns; it is ≤ 25 (unscaled) on the BEVW set (docs/theory.md §2.6). A failed Cholesky
        (K singular in floating point, e.g. a zero singular value of Y0 at large t) falls back to Householder QR.
        ``work``: optional pair of Fortran-order (M, Ne) arrays; the result then lives in ``work[0]``.
        """
        if householder:
            return self._graded_basis_householder(t)
        A = self._graded_top(t, None if work is None else work[0])
        x = self.a * t
        rho = np.sqrt(-np.expm1(-2.0 * x))
        Ap = np.multiply(A, rho[:, None], out=None if work is None else work[1])
        K = blas.dsyrk(1.0, Ap, trans=1, lower=0)
        dN = np.exp(-2.0 * x[: self.Ne])
        dN[dN < 1e-300] = 0.0
        K[np.diag_indices_from(K)] += dN
        C, info = lapack.dpotrf(K, lower=0, clean=1, overwrite_a=1)
        if info != 0:
            return self._graded_basis_householder(t)
        return blas.dtrsm(1.0, C, A, side=1, lower=0, overwrite_b=1)

    def _graded_basis_householder(self, t: float) -> np.ndarray:
        """Householder fallback: QR of the graded (M + Ne) × Ne matrix D_t L D_N⁻¹, X0 = L Vᵀ (LQ of X0)."""
        if self._Lfull is None:
            self._Lfull = np.linalg.qr(self.X0.T, mode="r").T  # X0 = L Vᵀ, L lower trapezoidal
        Ne = self.Ne
        logd = np.concatenate([self.a * t, np.zeros(Ne)])
        expo = np.minimum(logd[:, None] - logd[None, :Ne], 0.0)  # ≤ 0 on and below the diagonal (rows sorted)
        expo[expo < -150.0] = -np.inf  # ratios below e^{-150}: exactly 0 (no subnormals reach LAPACK)
        Mt = np.exp(expo, out=expo)
        Mt *= self._Lfull
        top = Mt[: self.M].copy()
        R = _qr_r(Mt, Ne)
        return sla.solve_triangular(R, top.T, trans="T", lower=False, check_finite=False).T

    def _eval_basis(self, Qt: np.ndarray, slope: bool = False, work: np.ndarray | None = None):
        a = self.a
        S = np.multiply(Qt, self._sqrt_a[:, None], out=work)
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
        d = require_int("d", d, lo=1)
        require_width("M", M, d)
        require_width("N", N, d)
    t = require_times(times)
    require_choice("method", method, _METHODS)
    require_choice("emergence", emergence, ("auto", "exact", "interp"))
    if blas_threads is not None:
        blas_threads = require_int("blas_threads", blas_threads, lo=1, fix="use 1 (default) or None for all cores")
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
    floor = width_floor(a_s, N)
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
        object.__setattr__(self, "M", require_int("M", self.M, lo=1, fix="the teacher needs at least one direction"))
        object.__setattr__(self, "N", require_int("N", self.N, lo=1, fix="the student needs at least one neuron"))
        object.__setattr__(self, "d", require_int("d", self.d, lo=1))
        object.__setattr__(self, "beta", require_real("beta", self.beta, lo=0.0, fix="use β ≥ 0"))
        object.__setattr__(self, "seed", require_int("seed", self.seed, lo=0))
        require_width("M", self.M, self.d)
        require_width("N", self.N, self.d)

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
