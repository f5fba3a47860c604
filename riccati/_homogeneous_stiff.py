"""Stiff solver of the two-homogeneous flow on reduced weights (docs/theory.md §3; issue 10 items 18-19).

The flow is the gradient flow dW/dt = −∇_W L of a loss that depends on W only through P = WΘ and C = WWᵀ, so the
part of W orthogonal to span(Θ) stays in the span of its initial rows: W = [P, Z]Bᵀ for a fixed orthonormal basis
B = [Θ, F] of span(Θ) + row span, and X = [P, Z] ∈ R^{N×(M+N)} obeys the same gradient flow exactly:
    dX/dt = −∇_X L(X),   L(X) = ½Σ_ij r_i r_j K(ρ_ij) − Σ_ip r_i ã_p K(m_ip) + ½K(1)Σ_p ã_p²,
with r_i = ‖x_i‖², m_ip = x_ip/‖x_i‖ (p < M), ρ_ij = x̄_i·x̄_j. Two reasons to integrate X instead of (r, m, ρ):
- every X is a network, so the risk has a zero gradient at a global minimum and a state error ε moves the risk by
  O(ε√R) instead of O(ε) (the (r, m, ρ) ODE drifts off the set of consistent states, docs/theory.md §3);
- the Jacobian is −∇²L, symmetric, and after alignment its stiff part (rates ≈ 4ã_p for h4) sits in the
  per-neuron diagonal blocks ∂²L/∂x_i².

Per-neuron Hessian (ψ(x) = w‖x‖²K(x·ȳ/‖x‖) for a unit ȳ, ρ = x̄·ȳ):
    ∇ψ  = w[(2K − ρK')x + ‖x‖K'ȳ]
    ∇²ψ = w[(2K − ρK')I − ρ(K' − ρK'')x̄x̄ᵀ + (K' − ρK'')(x̄ȳᵀ + ȳx̄ᵀ) + K''ȳȳᵀ],
summed over the other students (w = r_j, ȳ = x̄_j) and minus over the teacher (w = ã_p, ȳ = θ_p), plus the self
term ½K(1)‖x‖⁴ (gradient 2K(1)‖x‖²x, Hessian K(1)(2‖x‖²I + 4xxᵀ)). So each block is a scalar plus rank-one terms:
    H_i = S_i I + cx_i x̄_i x̄_iᵀ + x̄_i u_iᵀ + u_i x̄_iᵀ + Σ_j Bs_ij x̄_j x̄_jᵀ + Σ_p Bt_ip θ_p θ_pᵀ,
with Bs_ij = r_j K''(ρ_ij), Bt_ip = −ã_p K''(m_ip). K'' is small at small overlaps (∝ ρ^{k−2}), so most rank-one
terms are negligible, and a teacher term θ_pθ_pᵀ nearly cancels the term of the student aligned with θ_p (x̄_j ≈ θ_p,
r_j ≈ ã_p), so such mutual-best pairs are weighed by the norm of their sum. The Newton matrix keeps, per neuron,
the terms (and pairs) whose weights matter at the current step (dropped weights sum to ≤ eps·(1/c_ref + |S_i|),
eps = 0.2, c_ref = 4c, so the simplified Newton iteration contracts by ≲ eps per iteration); the x̄_i/u_i part is
diagonalised in closed form, and blocks with kept terms are orthonormalised (QR, k ≪ D columns, grouped by k) and
their small projected matrix diagonalised. Then (I + cH̃_i)⁻¹ costs two N×D×k products for any step coefficient c,
a Jacobian costs a few N×N and N×N×D products, and nothing of size N·D² is ever formed.

The integrator is scipy's BDF (variable order 1–5, Byrne–Hindmarsh/Shampine–Reichelt: scipy/integrate/_ivp/bdf.py,
BSD-3-Clause, © the SciPy developers), ported here with the structured Newton solve in place of dense LU;
step-size and order control are scipy's. Two changes:
- Error weights per neuron (issue 10 item 18): x_ij is weighed by rtol·|x_ij| + atol·‖x_i‖, so ``atol`` is an
  absolute tolerance on the direction x̄_i (the overlaps m_ip and cosines ρ_ij, the variables of the explicit
  solver) instead of on X. With an absolute weight on X, a neuron whose norm has shrunk (r_i ≈ 1/(4t) before it
  escapes; ~1e-5 at t ~ 1e5) had its O(1/√d) overlaps controlled only to atol/(√r_i m_ip) ≳ 1e-5 relative, and
  the escape time, ∝ m_ip^{−(k−2)}, moved by up to 4e-2 at N = M = 64, d = 1e4 (rtol 1e-8, atol 1e-10).
- The Newton convergence test is CVODE's instead of scipy's: the correction times the contraction rate (measured
  within the iteration, carried over steps, scaled by c_new/c_old when the same Jacobian is refactorised for a new
  step coefficient c, reset by a new Jacobian) must be ≤ 0.1 in the units of the error weights (scipy asks
  min(0.03, √rtol) with a rate measured afresh, i.e. ≥ 2 iterations per step). Most steps then take one
  right-hand side (1.56 per step at N = M = 64, rtol 1e-9, against 1.84 with the rate reset at each
  refactorisation, and 3.2 with scipy's test at rtol 1e-8). After a failed error test the rate is measured
  afresh (keeping it saves another 10% but let unconverged iterates through when the per-neuron Newton matrix is
  poor, and one run's step size collapsed). The Jacobian is re-evaluated when Newton fails or needed 4
  iterations.
The remaining error of late emergence times is set by rtol (not atol): at N = M = 64, d = 1e4 the last direction
is taken by a neuron that lost an earlier race for another direction, and its escape time depends on that race
(max relative error vs an rtol 1e-10 run: 4.9e-3 at rtol 1e-8, 6e-4 at rtol 1e-9; median 7e-7 and 7e-8). The
right-hand side is pure numpy (the kernel as polynomials in ρ when hermite gives its series, else one jitted jax
call per array): a step costs tens of numpy calls, not a jax dispatch per operation. At N = M = 64 a step is
memory- and call-bound (every array is 64 KiB), so the code counts passes over the state: the kernel is evaluated
once on W = [m | ρ] in reused buffers (three passes for a pure h_k activation, K = ρ^{2k}), c_i x_i rides in the
rhs matmul, the Newton solve is one padded batched projection, the error weights are kept over rtol (two passes),
the predictor and ψ come from one product, and emergence roots use regula falsi (Illinois) instead of 56 bisection
steps. Cost per step 0.93 → ≈0.65 ms (bench/riccati_bench.py --homogeneous --default-only; same step sequence up
to rounding).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------------------------------------------
# Kernel K, K', K'' in numpy
# ----------------------------------------------------------------------------------------------------------------


class _KernelNP:
    """K, K', K'' (and 2K − ρK') elementwise on numpy arrays.

    From the series K(ρ) = Σ_j b2_j ρ^j when given (Horner in s = ρ² for even kernels; arguments are cosines, |ρ| ≤ 1
    up to rounding), else through the kernel's own jnp functions (ρ clipped to [−1, 1], one jitted call per array).
    """

    def __init__(self, K, dK, b2: np.ndarray | None):
        self.mode = "jax"
        if b2 is not None:
            b2 = np.asarray(b2, dtype=np.float64)
            if np.all(np.abs(b2[1::2]) <= 1e-14 * np.sum(np.abs(b2))):
                e = b2[0::2].copy()
                e[0] = 0.0  # K(0) = c_0² = 0 for this model (validated to 1e-20·K(1)); exact zeros on ρ_ii := 0
                # K = Σ_k e_k s^k, s = ρ²; K' = ρ Σ_k 2k e_k s^{k−1}; K'' = Σ_k 2k(2k−1) e_k s^{k−1}
                k = np.arange(e.size)
                self.mode = "even"
                self.c = {"K": e, "P": (2 - 2 * k) * e, "Q": (2 * k * e)[1:], "K2": (2 * k * (2 * k - 1) * e)[1:]}
            else:
                j = np.arange(b2.size)
                self.mode = "poly"
                self.c = {"K": b2, "P": (2 - j) * b2, "K1": (j * b2)[1:], "K2": (j * (j - 1) * b2)[2:]}
            self.c = {key: self._trim(v) for key, v in self.c.items()}
        else:
            import jax
            import jax.numpy as jnp

            def k012(x):
                d2 = jax.jvp(dK, (x,), (jnp.ones_like(x),))[1]
                return K(x), dK(x), d2

            self._jax = jax.jit(k012)

    @staticmethod
    def _trim(c):
        """Ascending coefficients → highest degree first, leading zeros dropped."""
        nz = np.nonzero(c)[0]
        return c[: nz[-1] + 1][::-1].copy() if nz.size else np.zeros(1)

    @staticmethod
    def _horner(c, x):
        if c.size == 1:
            return np.full_like(x, c[0])
        acc = c[0] * x
        if c[1] != 0.0:
            acc += c[1]
        for ci in c[2:]:
            acc *= x
            if ci != 0.0:
                acc += ci
        return acc

    def _all(self, x):
        out = self._jax(np.clip(x, -1.0, 1.0))
        return tuple(np.array(v) for v in out)

    def k(self, x):
        """K(x)."""
        if self.mode == "jax":
            return self._all(x)[0]
        return self._horner(self.c["K"], x * x if self.mode == "even" else x)

    def pd(self, x):
        """(2K − xK', K') at x: what the gradient needs."""
        if self.mode == "jax":
            K, dK, _ = self._all(x)
            return 2.0 * K - x * dK, dK
        if self.mode == "even":
            s = x * x
            return self._horner(self.c["P"], s), x * self._horner(self.c["Q"], s)
        return self._horner(self.c["P"], x), self._horner(self.c["K1"], x)

    def pd_scaled(self, x, out_p=None, out_dk=None):
        """(P̃, K̃', f_P, f_K') with 2K − xK' = f_P·P̃ and K' = f_K'·K̃' (the constants are left to the caller).

        A single even monomial K = e s^k (s = x², the h_k activations) costs three elementwise passes, written into
        ``out_p``/``out_dk`` when given: P̃ = s^k, K̃' = x s^{k−1}, f_P = (2 − 2k)e, f_K' = 2ke; otherwise f = 1
        and pd(x) (new arrays)."""
        mono = getattr(self, "_mono", None)
        if mono is None:
            mono = self._mono = self._monomial()
        if mono is False:
            P, dK = self.pd(x)
            return P, dK, 1.0, 1.0
        k, e = mono
        s = np.multiply(x, x, out=out_p)
        if k == 1:
            dK = x.copy() if out_dk is None else np.copyto(out_dk, x) or out_dk
            return s, dK, 0.0, 2.0 * e
        if k > 2:
            np.power(s, k - 1, out=s)  # s^{k−1}
            dK = np.multiply(x, s, out=out_dk)
            np.multiply(s, x, out=s)
            np.multiply(s, x, out=s)  # s^{k−1}·x² = s^k
            return s, dK, (2.0 - 2.0 * k) * e, 2.0 * k * e
        dK = np.multiply(x, s, out=out_dk)
        np.multiply(s, s, out=s)
        return s, dK, (2.0 - 2.0 * k) * e, 2.0 * k * e

    def _monomial(self):
        """(k, e) when K = e ρ^{2k} exactly (k ≥ 1), else False."""
        if self.mode != "even":
            return False
        cK = self.c["K"]  # highest degree first
        if cK.size < 2 or np.any(cK[1:] != 0.0):
            return False
        return cK.size - 1, float(cK[0])

    def __call__(self, x, second: bool = False):
        """(K, K') or (K, K', K'') at x."""
        if self.mode == "jax":
            out = self._all(x)
        elif self.mode == "even":
            s = x * x
            h = self._horner
            out = (h(self.c["K"], s), x * h(self.c["Q"], s), h(self.c["K2"], s))
        else:
            h = self._horner
            out = (h(self.c["K"], x), h(self.c["K1"], x), h(self.c["K2"], x))
        return out if second else out[:2]


def kernel_series_b2(kern) -> np.ndarray | None:
    """b2_j with K(ρ) = Σ_j b2_j ρ^j for hermite kernels with coefficients (polynomials and series), else None.

    Checked against the kernel's own K and K' on a grid (agreement to 1e-12·K(1)); None if they differ.
    """
    co = getattr(kern, "coefficients", None)
    if co is None:
        return None
    b = np.asarray(co.values, dtype=np.float64)
    if str(getattr(co, "basis", "h")) == "He":
        b = b * np.sqrt([math.factorial(j) for j in range(b.size)])
    b2 = b * b
    x = np.linspace(-1.0, 1.0, 41)
    ke = _KernelNP(None, None, b2)
    K, dK = ke(x)
    P, dK2 = ke.pd(x)
    if not (np.allclose(P, 2 * K - x * dK, atol=1e-14 * b2.size) and np.array_equal(dK, dK2)):
        return None
    K1 = float(kern.K1)
    if not (
        np.allclose(K, np.asarray(kern.K(x)), rtol=0, atol=1e-12 * max(K1, 1e-300))
        and np.allclose(dK, np.asarray(kern.dK(x)), rtol=0, atol=1e-11 * max(K1, 1e-300) * max(b2.size, 1))
    ):
        return None
    return b2


# ----------------------------------------------------------------------------------------------------------------
# −∇L(X), Hessian-block ingredients, observables (numpy)
# ----------------------------------------------------------------------------------------------------------------
class ReducedFlow:
    """−∇L(X), the per-neuron Hessian ingredients and (r, m, R) for X ∈ R^{N×(M+N)} (module docstring)."""

    def __init__(self, ke: _KernelNP, K1: float, a: np.ndarray):
        self.ke, self.K1, self.a = ke, float(K1), np.asarray(a, dtype=np.float64)
        self.M = self.a.size

    def _parts(self, X):
        r = np.einsum("ij,ij->i", X, X)
        nrm = np.sqrt(r)
        Xb = X / nrm[:, None]
        rho = Xb @ Xb.T
        np.fill_diagonal(rho, 0.0)  # off-diagonal cosines; the diagonal terms are written out exactly
        return r, nrm, Xb, rho, Xb[:, : self.M]

    def _buffers(self, N):
        """Work arrays of rhs, reused across calls (fresh 64 KiB temporaries cost more than the arithmetic)."""
        buf = getattr(self, "_buf", None)
        if buf is None or buf["G"].shape[0] != N:
            M = self.M
            buf = self._buf = {
                "G": np.empty((N, N)),
                "W": np.empty((N, M + N)),
                "S": np.empty((N, M + N)),
                "dK": np.empty((N, M + N)),
                "wv": np.empty(M + N),
            }
        return buf

    def rhs(self, X):
        """−∇L(X) = −nrm_i[Σ_j r_j K'(ρ_ij) x̄_j − Σ_p ã_p K'(m_ip) θ_p] − c_i x_i (c_i: the scalar part).

        The kernel is evaluated once on W = [m | ρ] (N × (M+N)): c = P(W)·[−ã; r] + 2K(1)r with P = 2K − ρK', and
        v = (K'(ρ)·nrm_j) X − [K'(m)·ã, 0], so one elementwise pass and one matrix-vector product serve both parts.
        Returns a new array; the temporaries live in reused buffers.
        """
        a, M = self.a, self.M
        N = X.shape[0]
        b = self._buffers(N)
        G, W, wv = b["G"], b["W"], b["wv"]
        np.matmul(X, X.T, out=G)
        r = G.diagonal().copy()
        nrm = np.sqrt(r)
        inv = 1.0 / nrm
        np.multiply(X[:, :M], inv[:, None], out=W[:, :M])
        np.multiply(G, inv[:, None], out=W[:, M:])
        W[:, M:] *= inv[None, :]
        diag = W.reshape(-1)[M :: M + N + 1]  # ρ_ii: off-diagonal cosines only, the diagonal terms are exact
        diag[...] = 0.0
        P, dK, fP, fdK = self.ke.pd_scaled(W, b["S"], b["dK"])  # P = fP·(2K − xK'), dK = fdK·K'
        if self.ke.mode != "even":
            P.reshape(-1)[M :: M + N + 1] = 0.0
            dK.reshape(-1)[M :: M + N + 1] = 0.0
        np.multiply(a, -fP, out=wv[:M])
        np.multiply(r, fP, out=wv[M:])
        c = P @ wv
        c += (2.0 * self.K1) * r
        np.multiply(a, fdK, out=wv[:M])
        np.multiply(nrm, fdK, out=wv[M:])
        dK *= wv[None, :]  # r_j K'(ρ_ij) x̄_j = nrm_j K'(ρ_ij) x_j; ã_p K'(m_ip)
        # the scalar part c_i x_i rides in the matmul on the (zero) diagonal: v_i = −nrm_i[Σ_j A_ij x_j − …]
        # with A_ii = c_i / nrm_i
        np.divide(c, nrm, out=dK.reshape(-1)[M :: M + N + 1])
        v = dK[:, M:] @ X
        v[:, :M] -= dK[:, :M]
        v *= -nrm[:, None]
        return v

    def hessian_parts(self, X):
        """(S, cx, u, Bs, Bt, Xb) of H_i = S_i I + cx_i x̄x̄ᵀ + x̄uᵀ + ux̄ᵀ + Σ_j Bs_ij x̄_jx̄_jᵀ + Σ_p Bt_ip θ_pθ_pᵀ."""
        a, M = self.a, self.M
        r, nrm, Xb, rho, m = self._parts(X)
        Kr, dKr, ddKr = self.ke(rho, second=True)
        Km, dKm, ddKm = self.ke(m, second=True)
        for A in (Kr, dKr, ddKr):
            np.fill_diagonal(A, 0.0)
        S = 2.0 * self.K1 * r + (2.0 * Kr - rho * dKr) @ r - (2.0 * Km - m * dKm) @ a
        cx = 4.0 * self.K1 * r - (rho * (dKr - rho * ddKr)) @ r + (m * (dKm - m * ddKm)) @ a
        u = ((dKr - rho * ddKr) * r[None, :]) @ Xb
        u[:, :M] -= (dKm - m * ddKm) * a[None, :]
        return S, cx, u, ddKr * r[None, :], -ddKm * a[None, :], Xb

    def observe(self, X):
        """r (N,), m (N, M), relative risk 2L/K(1) with K(ρ_ii) = K(1) exactly."""
        a, K1 = self.a, self.K1
        r, nrm, Xb, rho, m = self._parts(X)
        Kr = self.ke.k(rho)
        np.fill_diagonal(Kr, 0.0)
        Km = self.ke.k(m)
        L = 0.5 * (r @ (Kr @ r) + K1 * (r @ r)) - r @ (Km @ a) + 0.5 * K1 * float(a @ a)
        return r, m.copy(), 2.0 * L / K1


# ----------------------------------------------------------------------------------------------------------------
# Structured Newton matrix I + cH̃, H̃ = blockdiag(S_i I + Q_i diag(δ_i) Q_iᵀ)
# ----------------------------------------------------------------------------------------------------------------
class BlockJacobian:
    """The per-neuron Hessian blocks at one state, factorised for the Newton matrix I − cJ = I + cH (J = −H).

    ``factor(c)`` returns a solver of (I + cH̃)y = b. H̃_i keeps S_i I, the x̄_i/u_i terms, and the largest rank-one
    terms Bs_ij x̄_jx̄_jᵀ, Bt_ip θ_pθ_pᵀ; the dropped weights sum to at most eps·(1/c_ref + max(S_i, 0)), with
    c_ref = ``grow``·c. The low-rank part is rebuilt only when c exceeds c_ref (or on ``tighten``).
    """

    def __init__(self, parts, M: int, eps: float = 0.2, grow: float = 4.0):
        self.S, self.cx, self.u, Bs, Bt, self.Xb = parts
        self.M = M
        N = self.Xb.shape[0]
        self.coefs = np.concatenate([Bs, Bt], axis=1)  # (N, N + M) rank-one weights: students j, then teacher p
        # A student j aligned with θ_p nearly cancels the teacher's term for every other neuron (x̄_j ≈ θ_p,
        # r_j ≈ ã_p): mutual best pairs (j, p) are kept or dropped together, weighed by the norm of their sum.
        m2 = self.Xb[:, :M] ** 2
        jb = np.argmax(m2, axis=0)  # best student for each p
        pb = np.argmax(m2, axis=1)  # best direction for each student
        pp = np.nonzero(pb[jb] == np.arange(M))[0]
        self.pair_j, self.pair_p = jb[pp], N + pp
        al, be, g2 = Bs[:, jb[pp]], Bt[:, pp], m2[jb[pp], pp][None, :]
        # nonzero eigenvalues of α x̄x̄ᵀ + β θθᵀ (x̄·θ = g): ((α+β) ± √((α−β)² + 4αβg²))/2
        disc = np.sqrt(np.maximum((al - be) ** 2 + 4 * al * be * g2, 0.0))
        mag = np.abs(self.coefs)
        mag[:, self.pair_j] = 0.5 * (np.abs(al + be) + disc)
        mag[:, self.pair_p] = 0.0
        self.mag = mag
        self.eps, self.grow = eps, grow
        self.c_ref = -1.0
        self.rank = 0
        Q2, self._delta2 = self._rank_two()
        self.Q2 = np.ascontiguousarray(Q2)

    def tighten(self) -> bool:
        """Keep more terms (eps / 100); False when everything is already kept."""
        if self.rank >= self.coefs.shape[1] or self.eps < 1e-12:
            return False
        self.eps *= 1e-2
        self.c_ref = -1.0
        return True

    def _build(self, c_ref):
        N, D = self.Xb.shape
        M = self.M
        n_items = self.coefs.shape[1]
        tau = self.eps * (1.0 / c_ref + np.abs(self.S))
        srt = -np.sort(-self.mag, axis=1)  # descending
        tail = np.cumsum(srt[:, ::-1], axis=1)  # smallest first
        n_keep = n_items - np.sum(tail <= tau[:, None], axis=1)
        thr = np.where(n_keep > 0, srt[np.arange(N), np.maximum(n_keep - 1, 0)], np.inf)
        kept = self.mag >= thr[:, None]  # (ties keep a few extra terms: only more accurate)
        kept[:, self.pair_p] = kept[:, self.pair_j]
        counts = kept.sum(axis=1)
        self.rank = int(counts.max())
        cand = np.zeros((N + M, D))
        cand[:N] = self.Xb
        cand[N + np.arange(M), np.arange(M)] = 1.0
        # blocks with kept rank-one terms: QR + eigh of their low-rank part, grouped by size (powers of 2)
        size = np.where(counts > 0, 2 ** np.ceil(np.log2(np.maximum(counts, 1))).astype(int), 0)
        self.buckets = []
        for kk in np.unique(size[size > 0]):
            nb = np.nonzero(size == kk)[0]
            kk = int(min(kk, n_items))
            idx = np.argsort(~kept[nb], axis=1, kind="stable")[:, :kk]
            U = np.concatenate([self.Xb[nb, None, :], self.u[nb, None, :], cand[idx]], axis=1)
            w = np.where(np.take_along_axis(kept[nb], idx, axis=1), np.take_along_axis(self.coefs[nb], idx, 1), 0.0)
            k = U.shape[1]
            C = np.zeros((nb.size, k, k))
            C[:, 0, 0] = self.cx[nb]
            C[:, 0, 1] = C[:, 1, 0] = 1.0
            C[:, np.arange(2, k), np.arange(2, k)] = w
            Q, R = np.linalg.qr(np.swapaxes(U, 1, 2))  # Q (nb, D, q), R (nb, q, k)
            A = R @ C @ np.swapaxes(R, 1, 2)
            delta, Wv = np.linalg.eigh(0.5 * (A + np.swapaxes(A, 1, 2)))
            self.buckets.append((nb, np.ascontiguousarray(np.swapaxes(Q @ Wv, 1, 2)), delta))  # Qb (nb, q, D)
        # One padded batch (N, k_max, D) when padding costs little (zero rows/eigenvalues add exactly nothing),
        # else one batch per size; the blocks without kept terms use their closed-form x̄/u pair (Q2, δ2).
        rest = np.nonzero(counts == 0)[0]
        kq = np.full(N, 2)
        for nb, Qb, _ in self.buckets:
            kq[nb] = Qb.shape[1]
        k_max = int(kq.max())
        if N * k_max <= 3 * int(kq.sum()):
            Qa, da = np.zeros((N, k_max, D)), np.zeros((N, k_max))
            Qa[rest, :2], da[rest, :2] = self.Q2[rest], self._delta2[rest]
            for nb, Qb, dl in self.buckets:
                Qa[nb, : Qb.shape[1]], da[nb, : dl.shape[1]] = Qb, dl
            self.groups = [(None, Qa, da)]
        else:
            self.groups = [(nb, Qb, dl) for nb, Qb, dl in self.buckets]
            if rest.size:
                self.groups.append((rest, np.ascontiguousarray(self.Q2[rest]), self._delta2[rest]))
        self.c_ref = c_ref

    def _rank_two(self):
        """Closed-form eigenpairs of cx x̄x̄ᵀ + x̄uᵀ + ux̄ᵀ (span{x̄, u}): rows Q2 (N, 2, D), eigenvalues (N, 2)."""
        Xb, u = self.Xb, self.u
        beta = np.einsum("nd,nd->n", u, Xb)
        wv = u - beta[:, None] * Xb
        gam = np.sqrt(np.einsum("nd,nd->n", wv, wv))
        e2 = np.divide(wv, gam[:, None], out=np.zeros_like(wv), where=gam[:, None] > 0)
        a = self.cx + 2.0 * beta  # the 2×2 matrix in (x̄, e2) is [[a, γ], [γ, 0]]
        th = 0.5 * np.arctan2(2.0 * gam, a)
        cs, sn = np.cos(th), np.sin(th)
        Q2 = np.stack([cs[:, None] * Xb + sn[:, None] * e2, -sn[:, None] * Xb + cs[:, None] * e2], axis=1)
        lam = np.stack([a * cs * cs + 2 * gam * sn * cs, a * sn * sn - 2 * gam * sn * cs], axis=1)
        return Q2, lam

    def factor(self, c: float):
        if c > self.c_ref:
            self._build(self.grow * c)
        S = self.S
        g0 = 1.0 / (1.0 + c * S)  # (N,)
        N, D = self.Xb.shape
        g0c = g0[:, None]
        # (1 + c(S_i + δ))⁻¹ − (1 + cS_i)⁻¹ per kept eigenvector (exactly 0 on padding, where δ = 0)
        gr = [
            (
                nb,
                Qb,
                (1.0 / (1.0 + c * (S[:, None] + dl)) - g0c)
                if nb is None
                else 1.0 / (1.0 + c * (S[nb, None] + dl)) - g0[nb, None],
            )
            for nb, Qb, dl in self.groups
        ]

        def solve(b):
            B = b.reshape(N, D)
            y = B * g0c
            for nb, Qb, gb in gr:
                n, k = gb.shape
                if nb is None:
                    z = np.matmul(Qb, B[:, :, None]).reshape(n, k)
                    z *= gb
                    y += np.matmul(z.reshape(n, 1, k), Qb).reshape(n, D)
                else:
                    z = np.matmul(Qb, B[nb, :, None]).reshape(n, k)
                    z *= gb
                    y[nb] += np.matmul(z.reshape(n, 1, k), Qb).reshape(n, D)
            return y.reshape(-1)

        return solve


# ----------------------------------------------------------------------------------------------------------------
# BDF (port of scipy.integrate.BDF with a structured Newton solve)
# ----------------------------------------------------------------------------------------------------------------
MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR = 0.2
MAX_FACTOR = 10
_EPS = np.finfo(float).eps


def _norm(x):
    return float(np.sqrt(np.dot(x, x) / x.size))


def _wnorm(x, u, buf, f):
    """RMS norm of f·x/u (u: error weights over rtol, f = 1/rtol), through the work array ``buf``."""
    np.divide(x, u, out=buf)
    return f * float(np.sqrt(np.dot(buf, buf) / buf.size))


def _compute_R(order, factor):
    i = np.arange(1, order + 1)[:, None]
    j = np.arange(1, order + 1)
    Mx = np.zeros((order + 1, order + 1))
    Mx[1:, 1:] = (i - 1 - factor * j) / i
    Mx[0] = 1
    return np.cumprod(Mx, axis=0)


_R1 = {k: _compute_R(k, 1) for k in range(1, MAX_ORDER + 1)}  # R(order, 1): constant per order


def _change_D(D, order, factor):
    RU = _compute_R(order, factor).dot(_R1[order])
    D[: order + 1] = np.dot(RU.T, D[: order + 1])


class BlockBDF:
    """Variable-order BDF (scipy's algorithm) for y' = fun(y) with Newton matrix from ``jac(y)`` (BlockJacobian).

    Besides scipy's rule (a new Jacobian when Newton fails to converge), the Jacobian is re-evaluated at the start
    of a step when the previous step needed ``REFRESH_ITER`` Newton iterations or more. Error weights:
    atol + rtol·|y|, or with ``rows=(N, D)`` (y = X.ravel()) atol·‖x_i‖ + rtol·|x_ij| (module docstring).

    Attributes after each ``step()``: t, y, t_old, status ("running", "finished", "failed"), counters nfev, njev,
    nlu (Newton-matrix factorisations), n_newton (Newton iterations), n_reject (rejected step attempts).
    """

    REFRESH_ITER = 4
    NEWTON_TOL = 0.1

    def __init__(self, fun, jac, t0, y0, t_bound, rtol, atol, rows=None):
        self.fun, self.jac = fun, jac
        self.rows = rows  # None: atol absolute; (N, D): atol times each row's norm (y = X.ravel(), X ∈ R^{N×D})
        self.t, self.y, self.t_bound, self.t_old = float(t0), np.array(y0, dtype=np.float64), float(t_bound), None
        self.rtol, self.atol = max(rtol, 100 * _EPS), atol
        self._irtol = 1.0 / self.rtol
        self.nfev = self.njev = self.nlu = self.n_newton = self.n_reject = 0
        self._rb, self._nb = np.empty(self.y.size), np.empty(self.y.size)  # Newton residual, norm work array
        self.status = "running" if t_bound > t0 else "finished"
        f = self._f(self.y)
        self.h_abs = self._initial_step(f)
        self.newton_tol = self.NEWTON_TOL
        self.crate = 1.0
        self.J = self._jac(self.y)
        kappa = np.array([0, -0.1850, -1 / 9, -0.0823, -0.0415, 0])
        self.gamma = np.hstack((0, np.cumsum(1 / np.arange(1, MAX_ORDER + 1))))
        self.alpha = (1 - kappa) * self.gamma
        self.error_const = kappa * self.gamma + 1 / np.arange(1, MAX_ORDER + 2)
        self._pred = {
            k: np.vstack([np.ones(k + 1), np.hstack([0.0, self.gamma[1 : k + 1] / self.alpha[k]])])
            for k in range(1, MAX_ORDER + 1)
        }
        D = np.empty((MAX_ORDER + 3, self.y.size))
        D[0] = self.y
        D[1] = f * self.h_abs
        self.D = D
        self.order = 1
        self.n_equal_steps = 0
        self.LU = None
        self.J_lu, self.c_lu = None, 1.0  # Jacobian and step coefficient c of the last factorisation
        self.last_iter = 0

    def _scale(self, y):
        """Error weights atol_i + rtol·|y|: atol_i = atol, or atol·‖x_i‖ on the row of X holding y's entry."""
        if self.rows is None:
            return self.atol + self.rtol * np.abs(y)
        X = y.reshape(self.rows)
        w = np.abs(X)
        w *= self.rtol
        w += (self.atol * np.sqrt(np.einsum("ij,ij->i", X, X)))[:, None]
        return w.reshape(-1)

    def _uscale(self, y):
        """The error weights over rtol, u = _scale(y)/rtol = atol_i/rtol + |y| (two passes over y; the norms
        divide by u and multiply by 1/rtol)."""
        if self.rows is None:
            return np.abs(y) + self.atol / self.rtol
        X = y.reshape(self.rows)
        u = np.abs(X)
        u += ((self.atol / self.rtol) * np.sqrt(np.einsum("ij,ij->i", X, X)))[:, None]
        return u.reshape(-1)

    def _f(self, y):
        self.nfev += 1
        return self.fun(y)

    def _jac(self, y):
        self.njev += 1
        self.crate = 1.0
        return self.jac(y)

    def _initial_step(self, f0):
        """Hairer–Nørsett–Wanner initial step (scipy's select_initial_step, order 1)."""
        y0 = self.y
        span = self.t_bound - self.t
        if span <= 0:
            return 0.0
        scale = self._scale(y0)
        d0, d1 = _norm(y0 / scale), _norm(f0 / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, span)
        f1 = self._f(y0 + h0 * f0)
        d2 = _norm((f1 - f0) / scale) / h0
        if d1 <= 1e-15 and d2 <= 1e-15:
            h1 = max(1e-6, h0 * 1e-3)
        else:
            h1 = (0.01 / max(d1, d2)) ** 0.5
        return min(100 * h0, h1, span)

    def _newton(self, t_new, y_predict, c, psi, solve, uscale):
        """Simplified Newton iteration for the BDF equations; converged when the correction, times the contraction
        rate (estimated within the iteration and carried over steps, as in CVODE), is below ``NEWTON_TOL``.
        ``uscale``: error weights over rtol (_uscale)."""
        d = None  # sum of the corrections (the first correction's array, then accumulated in place)
        y = y_predict  # replaced by y_predict + d after the first correction (y_predict is never written)
        rb, nb = self._rb, self._nb
        dy_norm_old = None
        crate = self.crate
        tol = self.newton_tol
        for k in range(NEWTON_MAXITER):
            self.n_newton += 1
            f = self._f(y)
            np.multiply(f, c, out=rb)
            rb -= psi
            if d is not None:
                rb -= d
            dy = solve(rb)
            dy_norm = _wnorm(dy, uscale, nb, self._irtol)
            if not np.isfinite(dy_norm) or (dy_norm_old is not None and dy_norm > 2.0 * dy_norm_old):
                break
            if dy_norm_old is not None:
                crate = max(0.3 * crate, dy_norm / dy_norm_old)
            if d is None:
                y = y_predict + dy
                d = dy
            else:
                y += dy
                d += dy
            if dy_norm * min(1.0, crate) <= tol:
                self.crate = crate
                return True, k + 1, y, d
            dy_norm_old = dy_norm
        self.crate = 1.0
        return False, k + 1, y, (np.zeros_like(y) if d is None else d)

    def step(self):
        if self.status != "running":
            raise RuntimeError("step() on a finished solver")
        t, D = self.t, self.D
        min_step = 10 * abs(np.nextafter(t, np.inf) - t)
        if self.h_abs < min_step:
            h_abs = min_step
            _change_D(D, self.order, min_step / self.h_abs)
            self.n_equal_steps = 0
        else:
            h_abs = self.h_abs
        order = self.order
        alpha, error_const = self.alpha, self.error_const
        J, LU = self.J, self.LU
        current_jac = False
        if self.last_iter >= self.REFRESH_ITER:
            J, LU, current_jac = self._jac(self.y), None, True
        while True:
            if h_abs < min_step:
                self.status = "failed"
                return "required step size is less than spacing between numbers"
            t_new = t + h_abs
            if t_new - self.t_bound > 0:
                t_new = self.t_bound
                _change_D(D, order, abs(t_new - t) / h_abs)
                self.n_equal_steps = 0
                LU = None
            h = t_new - t
            h_abs = abs(h)
            # predictor Σ_{i≤k} D_i and ψ = Σ_{1≤i≤k} γ_i D_i / α_k in one product
            y_predict, psi = self._pred[order] @ D[: order + 1]
            uscale = self._uscale(y_predict)
            c = h / alpha[order]
            converged = False
            while not converged:
                if LU is None:
                    self.nlu += 1
                    LU = J.factor(c)
                    # Same Jacobian, new step coefficient c: the contraction rate of the simplified Newton
                    # iteration, ≈ ‖(I − cJ̃)⁻¹c(J − J̃)‖, grows at most ∝ c, so the carried rate is scaled
                    # instead of reset (a new Jacobian resets it to 1 in _jac)
                    self.crate = min(1.0, self.crate * max(1.0, c / self.c_lu)) if J is self.J_lu else 1.0
                    self.J_lu, self.c_lu = J, c
                converged, n_iter, y_new, d = self._newton(t_new, y_predict, c, psi, LU, uscale)
                if not converged:
                    if current_jac:
                        if J.tighten():  # keep more rank-one terms before shrinking the step
                            LU = None
                            continue
                        break
                    J = self._jac(y_predict)
                    LU = None
                    current_jac = True
            if not converged:
                self.n_reject += 1
                factor = 0.5
                h_abs *= factor
                _change_D(D, order, factor)
                self.n_equal_steps = 0
                LU = None
                continue
            self.last_iter = n_iter
            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            uscale = self._uscale(y_new)
            error_norm = abs(error_const[order]) * _wnorm(d, uscale, self._nb, self._irtol)
            if error_norm > 1:
                self.n_reject += 1
                self.crate = 1.0  # measure the rate afresh: a wrong carried rate would pass unconverged iterates
                factor = max(MIN_FACTOR, safety * error_norm ** (-1 / (order + 1)))
                h_abs *= factor
                _change_D(D, order, factor)
                self.n_equal_steps = 0
            else:
                break
        self.n_equal_steps += 1
        self.t_old, self.t, self.y = t, t_new, y_new
        self.h_abs, self.J, self.LU = h_abs, J, LU
        if self.t >= self.t_bound:
            self.status = "finished"
        np.subtract(d, D[order + 1], out=D[order + 2])
        D[order + 1] = d
        for i in reversed(range(order + 1)):
            D[i] += D[i + 1]
        if self.n_equal_steps < order + 1:
            return None
        nb = self._nb
        f = self._irtol
        error_m_norm = abs(error_const[order - 1]) * _wnorm(D[order], uscale, nb, f) if order > 1 else np.inf
        error_p_norm = (
            abs(error_const[order + 1]) * _wnorm(D[order + 2], uscale, nb, f) if order < MAX_ORDER else np.inf
        )
        factors = [
            math.inf if e == 0.0 else e ** (-1.0 / p)
            for e, p in zip((error_m_norm, error_norm, error_p_norm), (order, order + 1, order + 2), strict=True)
        ]
        best = max(range(3), key=factors.__getitem__)  # the first maximum, as np.argmax
        order += best - 1
        self.order = order
        self.h_abs *= min(MAX_FACTOR, safety * factors[best])
        _change_D(D, order, self.h_abs / h_abs)
        self.n_equal_steps = 0
        self.LU = None
        return None

    def dense(self, ts):
        """The step's interpolating polynomial at times ts (k,) inside [t_old, t] → (k, n)."""
        t, h, order = self.t, self.h_abs, self.order
        D = self.D[: order + 1]
        ts = np.atleast_1d(np.asarray(ts, dtype=np.float64))
        x = (ts[None, :] - (t - h * np.arange(order))[:, None]) / (h * (1 + np.arange(order)))[:, None]
        p = np.cumprod(x, axis=0)  # (order, k)
        return (D[1:].T @ p).T + D[0][None, :]


# ----------------------------------------------------------------------------------------------------------------
# Driver: outputs at requested times, emergence times on the interpolant
# ----------------------------------------------------------------------------------------------------------------
def _root(g, t_lo: float, t_hi: float, n: int) -> np.ndarray:
    """Roots of n functions (g(ts) → (n,), g(t_lo) < 0 ≤ g(t_hi) per entry) bracketed in [t_lo, t_hi], to the
    bracket's last few ulps: Illinois (regula falsi, halving the stale end's value), with a bisection step whenever
    the secant point is not strictly inside; 56 bisection steps at most."""
    lo, hi = np.full(n, t_lo), np.full(n, t_hi)
    glo, ghi = g(lo), g(hi)
    side = np.zeros(n)  # +1: the last update moved hi, −1: lo
    for _ in range(56):
        done = hi - lo <= 4 * np.spacing(hi)
        if np.all(done):
            break
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            ts = hi - ghi * (hi - lo) / (ghi - glo)
        ok = np.isfinite(ts) & (ts > lo) & (ts < hi) & np.isfinite(glo) & (glo < 0) & (ghi >= 0)
        ts = np.where(ok, ts, mid)
        gt = g(ts)
        above = gt >= 0
        # Illinois: the end that stays for a second time has its value halved
        glo = np.where(above & (side > 0), 0.5 * glo, glo)
        ghi = np.where(~above & (side < 0), 0.5 * ghi, ghi)
        lo, glo = np.where(done | above, lo, ts), np.where(done | above, glo, gt)
        hi, ghi = np.where(~done & above, ts, hi), np.where(~done & above, gt, ghi)
        side = np.where(above, 1.0, -1.0)
    return 0.5 * (lo + hi)


def solve_stiff(flow: ReducedFlow, X0: np.ndarray, t: np.ndarray, rtol: float, atol: float, max_steps: int):
    """Integrate dX/dt = −∇L(X); observe (r, m, R) at ``t`` and the emergence times (root of max_i m_ip² − ½ on
    the step's interpolating polynomial, same order as the step, by bisection). Returns r_t, m_t, risk, em, stats."""
    N, D = X0.shape
    M = flow.M

    def qmax(Xs):  # (k, N, D) -> (k, M): max_i m_ip²
        return np.max(Xs[:, :, :M] ** 2 / np.einsum("knd,knd->kn", Xs, Xs)[:, :, None], axis=1)

    T = t.size
    r_t, m_t, risk = np.empty((T, N)), np.empty((T, N, M)), np.empty(T)
    em = np.full(M, np.nan)

    def save(k, X):
        r_t[k], m_t[k], risk[k] = flow.observe(X)

    em[qmax(X0[None])[0] >= 0.5] = t[0]
    k = 0
    while k < T and t[k] <= t[0]:
        save(k, X0)
        k += 1
    stats: dict[str, Any] = {"num_steps": 0, "nfev": 0, "njev": 0, "n_newton": 0, "n_reject": 0, "max_rank": 0}
    if k == T:
        return r_t, m_t, risk, em, stats
    max_rank = 0

    def fun(y):
        return flow.rhs(y.reshape(N, D)).reshape(-1)

    def jac(y):
        return BlockJacobian(flow.hessian_parts(y.reshape(N, D)), M)

    solver = BlockBDF(fun, jac, float(t[0]), X0.reshape(-1), float(t[-1]), rtol, atol, rows=(N, D))
    steps = 0
    while solver.status == "running":
        if steps >= max_steps:
            raise RuntimeError(
                f"overlap flow (stiff BDF) stopped at t={solver.t:.6g} < {t[-1]:g}: max_steps={max_steps} reached; "
                "raise max_steps or loosen rtol"
            )
        msg = solver.step()
        steps += 1
        max_rank = max(max_rank, solver.J.rank)
        if solver.status == "failed":
            raise RuntimeError(f"overlap flow (stiff BDF) failed at t={solver.t:.6g}: {msg}; loosen rtol/atol")
        t_old, t_new = solver.t_old, solver.t
        open_p = np.nonzero(np.isnan(em))[0]  # directions not yet learned: only these are tested
        if open_p.size:
            Y = solver.y.reshape(N, D)
            # max_i m_ip² ≥ ½ ⇔ some x_ip² ≥ ½‖x_i‖²
            hit = np.any(np.square(Y[:, :M]) >= (0.5 * np.einsum("nd,nd->n", Y, Y))[:, None], axis=0)
            cross = open_p[hit[open_p]]
        else:
            cross = open_p
        if cross.size:
            em[cross] = _root(
                lambda ts, cross=cross: (
                    qmax(solver.dense(ts).reshape(cross.size, N, D))[np.arange(cross.size), cross] - 0.5
                ),
                t_old,
                t_new,
                cross.size,
            )
        while k < T and t[k] <= t_new:
            X = solver.y if t[k] == t_new else solver.dense(t[k])[0]
            save(k, X.reshape(N, D))
            k += 1
    stats.update(
        num_steps=steps,
        nfev=solver.nfev,
        njev=solver.njev,
        n_newton=solver.n_newton,
        n_reject=solver.n_reject,
        max_rank=max_rank,
    )
    return r_t, m_t, risk, em, stats
