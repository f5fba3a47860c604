"""The two-homogeneous flow on reduced weights X as a stiff problem: the kernel in numpy, the right-hand side −∇L(X)
with its Hessian-block ingredients, and the structured Newton matrix I + cH̃ (the maths: riccati/_homogeneous_stiff.py).
"""

from __future__ import annotations

import math

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
        self._buf = None

    def _parts(self, X):
        r = np.einsum("ij,ij->i", X, X)
        nrm = np.sqrt(r)
        Xb = X / nrm[:, None]
        rho = Xb @ Xb.T
        np.fill_diagonal(rho, 0.0)  # off-diagonal cosines; the diagonal terms are written out exactly
        return r, nrm, Xb, rho, Xb[:, : self.M]

    def _buffers(self, N):
        """Work arrays of rhs and their views, reused across calls (fresh 64 KiB temporaries and views cost more
        than the arithmetic at N = M = 64): X̄, W = [m | ρ] (views: m part, ρ part, ρ's diagonal), the kernel
        outputs, the weights [−ã f_P, r f_P] and [ã f_K', ‖x‖ f_K'] (views: r / ‖x‖ parts)."""
        buf = self._buf
        if buf is None or buf[0].shape[0] != N:
            M = self.M
            D = M + N
            Xb, W, S, dK = (np.empty((N, D)) for _ in range(4))
            wp, wd = np.empty(D), np.empty(D)
            mono = self.ke._monomial() if self.ke.mode == "even" else False
            fP, fdK = ((2.0 - 2.0 * mono[0]) * mono[1], 2.0 * mono[0] * mono[1]) if mono else (1.0, 1.0)
            wp[:M], wd[:M] = self.a * -fP, self.a * fdK  # constant parts
            diag = slice(M, None, D + 1)  # ρ_ii in the flat W / dK
            buf = (Xb, W, W[:, :M], W[:, M:], W.reshape(-1)[diag], S, dK, dK[:, :M], dK[:, M:])
            buf = self._buf = buf + (dK.reshape(-1)[diag], wp, wp[M:], wd, wd[M:], fP, fdK)
        return buf

    def rhs(self, X):
        """−∇L(X) = −nrm_i[Σ_j r_j K'(ρ_ij) x̄_j − Σ_p ã_p K'(m_ip) θ_p] − c_i x_i (c_i: the scalar part).

        The kernel is evaluated once on W = [m | ρ] (N × (M+N), from X̄ = X/‖x_i‖: m = X̄[:, :M], ρ = X̄X̄ᵀ):
        c = P(W)·[−ã; r] + 2K(1)r with P = 2K − ρK', and v = (K'(ρ)·nrm_j) X − [K'(m)·ã, 0], so one elementwise
        pass and one matrix-vector product serve both parts. Returns a new array; the temporaries live in reused
        buffers.
        """
        N = X.shape[0]
        Xb, W, Wm, Wr, Wdiag, S, dKb, dKm, dKr, dKdiag, wp, wpr, wd, wdr, fP, fdK = self._buffers(N)
        r = np.vecdot(X, X)
        nrm = np.sqrt(r)
        np.multiply(X, (1.0 / nrm)[:, None], out=Xb)
        np.matmul(Xb, Xb.T, out=Wr)
        np.copyto(Wm, Xb[:, : self.M])
        Wdiag.fill(0.0)  # ρ_ii: off-diagonal cosines only, the diagonal terms are exact
        P, dK, _, _ = self.ke.pd_scaled(W, S, dKb)  # P = fP·(2K − xK'), dK = fdK·K' (constants, in _buffers)
        if dK is not dKb:  # general kernels: new arrays, diagonal zeroed unless the series is even (exact zeros)
            if self.ke.mode != "even":
                P.reshape(-1)[self.M :: self.M + N + 1] = 0.0
            np.copyto(dKb, dK)
        np.multiply(r, fP, out=wpr)
        c = P @ wp
        c += (2.0 * self.K1) * r
        np.multiply(nrm, fdK, out=wdr)
        dKb *= wd  # r_j K'(ρ_ij) x̄_j = nrm_j K'(ρ_ij) x_j; ã_p K'(m_ip)
        # the scalar part c_i x_i rides in the matmul on the (zero) diagonal: v_i = −nrm_i[Σ_j A_ij x_j − …]
        # with A_ii = c_i / nrm_i
        np.divide(c, nrm, out=dKdiag)
        v = dKr @ X
        v[:, : self.M] -= dKm
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
                if nb is None:
                    z = np.matvec(Qb, B)
                    z *= gb
                    y += np.vecmat(z, Qb)
                else:
                    z = np.matvec(Qb, B[nb])
                    z *= gb
                    y[nb] += np.vecmat(z, Qb)
            return y.reshape(-1)

        return solve
