"""Quadratic network [BEVW25]: one online-SGD step on St(d, N), observables, Phase II radial fit (docs/theory.md §2).

All functions act on ONE seed and are pure and jittable; the engine (``engine``) vmaps them over seeds.
Matrix products use ``precision=HIGHEST`` so that float32 on accelerators never silently drops to TF32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from riccati import quadratic_risk_from_G  # one formula for theory and simulation (jittable)

_HI = lax.Precision.HIGHEST
_STEP_ANGLE_LIMIT = 1e4  # η²‖g‖²: above this the step turns the span by > 89.4°; treated as divergence


def _mm(a, b):
    return jnp.matmul(a, b, precision=_HI)


def haar_stiefel(key, d: int, N: int, dtype) -> jnp.ndarray:
    """Haar-random ``U ∈ St(d, N)``: QR of a float64 Gaussian ``d×N`` with the sign of ``diag R`` fixed, cast."""
    g = jax.random.normal(key, (d, N), dtype=jnp.float64)
    q, r = jnp.linalg.qr(g)
    q = q * jnp.where(jnp.diagonal(r) < 0, -1.0, 1.0)[None, :]
    return q.astype(dtype)


def _psi(s, eta):
    """``((1 + η² s)^{-1/2} − 1)/s`` evaluated stably (finite at s = 0, where it equals −η²/2)."""
    q = jnp.sqrt(1.0 + eta * eta * s)
    return -(eta * eta) / (q * (1.0 + q))


def stiefel_step(U, X, a, c, eta, live=True):
    """One Riemannian SGD step with the closed-form polar retraction, batch ``B`` (docs/theory.md §2.12).

    ``U`` (d, N) on St(d, N); ``X`` (B, d) fresh inputs; ``a`` (M,) teacher ``ã`` (directions = first M axes).
    With ``H = UᵀXᵀ`` (N, B), residuals ``r_b = c(‖h_b‖² − N) − Σ_m ã_m He_2(x_bm)``, ``D = diag(2 c r_b / B)``
    and ``V = (I − UUᵀ)Xᵀ``, the Riemannian gradient of the batch-mean loss ``½(f − y)²`` is ``g = V D Hᵀ``
    (rank ≤ B) and ``Uᵀg = 0``, so the polar retraction is ``(U − ηg)(I + η² gᵀg)^{-1/2}`` with
    ``gᵀg = H A Hᵀ``, ``A = D VᵀV D``. Writing ``F = H A^{1/2}`` and ``FᵀF = Q diag(s) Qᵀ`` (B×B),
    ``(I + η² F Fᵀ)^{-1/2} = I + H K Hᵀ`` with ``K = A^{1/2} Q diag(ψ(s)) Qᵀ A^{1/2}``,
    ``ψ(s) = ((1 + η²s)^{-1/2} − 1)/s``. Hence, using ``UH = Xᵀ − V``,
    ``U⁺ = U + [−η V D + (Xᵀ − V − η V D HᵀH) K] Hᵀ``: cost O(d N B), only B×B eigenproblems.

    Returns ``(U⁺, ok)``; ``U⁺ = U`` unless ``live & ok``. ``ok`` is False when the update is non-finite or
    the step turns the span by more than ~89° (``η² ‖g‖² > 1e4``), the signature of a step size far too large.
    """
    B = X.shape[0]
    dt = U.dtype
    M = a.shape[0]
    Xt = X.T  # (d, B)
    H = _mm(U.T, Xt)  # (N, B)
    N = U.shape[1]
    f = c * (jnp.sum(H * H, axis=0) - N)
    xm = X[:, :M]
    y = jnp.sum(a[None, :] * (xm * xm - 1.0), axis=1)
    r = f - y  # (B,)
    V = Xt - _mm(U, H)  # (d, B)
    dcoef = (2.0 * c / B) * r  # diag of D
    if B == 1:
        v = V[:, 0]
        h = H[:, 0]
        dd = dcoef[0]
        vv = jnp.sum(v * v)
        hh = jnp.sum(h * h)
        A = dd * dd * vv  # 1x1 A
        s = A * hh  # ‖g‖²
        k = A * _psi(s, eta)  # 1x1 K
        coef = -eta * dd * v + k * (Xt[:, 0] - v - (eta * dd * hh) * v)
        P = coef[:, None]
        gnorm2 = s
    else:
        VtV = _mm(V.T, V)
        A = dcoef[:, None] * VtV * dcoef[None, :]
        lam, E = jnp.linalg.eigh(A)
        Ahalf = _mm(E * jnp.sqrt(jnp.clip(lam, 0.0))[None, :], E.T)
        HtH = _mm(H.T, H)
        T = _mm(_mm(Ahalf, HtH), Ahalf)
        s, Q = jnp.linalg.eigh(T)
        s = jnp.clip(s, 0.0)
        K = _mm(_mm(Ahalf, Q * _psi(s, eta)[None, :]), _mm(Q.T, Ahalf))
        VD = V * dcoef[None, :]
        P = -eta * VD + _mm(Xt - V - eta * _mm(VD, HtH), K)
        gnorm2 = jnp.sum(s)
    ok = jnp.all(jnp.isfinite(P)) & jnp.all(jnp.isfinite(H)) & (eta * eta * gnorm2 < _STEP_ANGLE_LIMIT)
    P = jnp.where(ok & live, P, 0.0)  # a frozen (diverged) seed or a bad step leaves U unchanged, at O(dB) cost
    Unew = U + _mm(P, H.T).astype(dt)
    return Unew, ok


def reorthonormalise(U):
    """One Newton-Schulz polar correction ``U ← U − ½ U (UᵀU − I)``; returns ``(U, ‖UᵀU − I‖_F before)``.

    The Gram matrix is formed in the working dtype at HIGHEST precision: in float32 its round-off on ``‖UᵀU − I‖_F``
    is ~ε₃₂·N ≈ 1e-7·(N/16), far below the 1e-5 being controlled (a float64 Gram measured the same drifts and cost
    ~20% of a d=1024, N=64 run). The correction squares the drift (ε → ~ε²), so one pass per chunk keeps
    ``‖UᵀU − I‖_F`` at the rounding level.
    """
    E = _mm(U.T, U) - jnp.eye(U.shape[1], dtype=U.dtype)
    drift = jnp.sqrt(jnp.sum(E.astype(jnp.float64) ** 2))
    Unew = U - 0.5 * _mm(U, E)
    return Unew, drift


def observe(Utop, a, c):
    """Logged quantities of one seed, computed exactly (float64) from ``U_top = U[:M]`` (M, N).

    ``risk`` = ``1 − tr(ÃGÃG)`` with ``G = U_top U_topᵀ``; ``G_diag`` (M,); ``risk_student`` = relative risk
    of the Phase-I student itself, ``‖cUUᵀ − S‖_F²/‖ã‖² = c²N − 2c tr(ÃG) + 1`` (Σ ã² = 1).
    """
    N = Utop.shape[1]
    Ut = Utop.astype(jnp.float64)
    G = _mm(Ut, Ut.T)
    a64 = a.astype(jnp.float64)
    risk = quadratic_risk_from_G(a64, G)
    risk_student = c * c * N - 2.0 * c * jnp.sum(a64 * jnp.diagonal(G)) + jnp.sum(a64 * a64)
    return {"risk": risk, "G_diag": jnp.diagonal(G), "risk_student": risk_student}


def _sym_features(H):
    """Least-squares features for symmetric Ω: ``hᵀΩh − tr Ω = Σ_{i≤j} Ω_ij φ_ij``, ``H`` (n, N) -> (n, N(N+1)/2)."""
    N = H.shape[1]
    iu, ju = np.triu_indices(N)
    prod = H[:, iu] * H[:, ju]
    diag = iu == ju
    return jnp.where(diag[None, :], prod - 1.0, 2.0 * prod), iu, ju


def phase2_fit(U, key, a, n_prime: int, block: int = 4096):
    """Phase II radial fit [BEVW25]: least-squares Ω on ``n_prime`` fresh samples, risk evaluated exactly.

    Student ``f_Ω(x) = hᵀΩh − tr Ω`` with ``h = Uᵀx`` (i.e. ``W = UΩ^{1/2}``), Ω symmetric, fitted by
    minimising ``Σ_n (f_Ω(x_n) − y_n)²`` through the normal equations in float64 (accumulated over sample
    blocks, so memory stays O(block · N²)). The fitted model's relative risk is exact:
    ``‖UΩUᵀ − S‖_F²/‖S‖_F² = ‖Ω‖_F² − 2 tr(Ω U_topᵀ Ã U_top) + 1``; its minimum over Ω is ``1 − tr(ÃGÃG)``.
    Returns ``(risk, Omega)``.
    """
    d, N = U.shape
    M = a.shape[0]
    U64 = U.astype(jnp.float64)
    a64 = a.astype(jnp.float64)
    p = N * (N + 1) // 2
    block = min(block, n_prime)
    nblocks = -(-n_prime // block)

    def body(carry, j):
        Gm, rhs = carry
        X = jax.random.normal(jax.random.fold_in(key, j), (block, d), dtype=jnp.float64)
        valid = (j * block + jnp.arange(block)) < n_prime
        H = _mm(X, U64)
        Phi, _, _ = _sym_features(H)
        Phi = Phi * valid[:, None]
        y = jnp.sum(a64[None, :] * (X[:, :M] ** 2 - 1.0), axis=1) * valid
        return (Gm + _mm(Phi.T, Phi), rhs + _mm(Phi.T, y)), None

    init = (jnp.zeros((p, p), jnp.float64), jnp.zeros((p,), jnp.float64))
    (Gm, rhs), _ = lax.scan(body, init, jnp.arange(nblocks))
    coef = jnp.linalg.solve(Gm, rhs)
    iu, ju = np.triu_indices(N)
    Om = jnp.zeros((N, N), jnp.float64).at[iu, ju].set(coef)
    Om = Om + Om.T - jnp.diag(jnp.diagonal(Om))
    Ut = U64[:M]
    StopS = _mm(Ut.T * a64[None, :], Ut)  # U_topᵀ Ã U_top
    risk = jnp.sum(Om * Om) - 2.0 * jnp.sum(Om * StopS) + jnp.sum(a64 * a64)
    return risk, Om


# ------------------------------------------------------------------------------------------------------------------
# Blocked form of the batch-1 step (same map, level-3 arithmetic). Within a block of k steps with inputs
# X (k, d) the iterate is kept as U_j = U0 R_j + Xᵀ Q_j (R_j N×N, Q_j k×N): each step then costs O(N² + kN) in
# these coordinates, and the d-dimensional work is four matrix products per block (X U0, X Xᵀ, U0 R, Xᵀ Q).


def block_begin(U0, X, a):
    """Per-block precomputation: ``Z = (X U0)`` (k, N), ``Γ = X Xᵀ`` (k, k), labels ``y`` (k,)."""
    M = a.shape[0]
    Z = _mm(X, U0)
    Gam = _mm(X, X.T)
    xm = X[:, :M]
    y = jnp.sum(a[None, :] * (xm * xm - 1.0), axis=1)
    return Z, Gam, y


def block_step(Rt, Qt, z, gam, y, j, c, eta, live):
    """One batch-1 step in block coordinates; ``Rt = Rᵀ`` (N, N), ``Qt = Qᵀ`` (N, k); returns ``(Rt, Qt, ok)``.

    With ``h = U_jᵀx_j = Rt z + Qt γ`` and ``U_j`` orthonormal (so ``‖v‖² = ‖x‖² − ‖h‖²``) the step of
    :func:`stiefel_step` reads ``U_{j+1} = U_j + p hᵀ``, ``p = κ x + μ v``, ``κ = A ψ(A‖h‖²)``,
    ``μ = −η D − κ(1 + η D ‖h‖²)``, ``D = 2cr``, ``A = D²‖v‖²``; in coordinates ``p = Xᵀa + U0 b`` with
    ``a = (κ + μ) e_j − μ Q h``, ``b = −μ R h``, so ``Rᵀ += h bᵀ`` and ``Qᵀ += h aᵀ``.
    """
    N = Rt.shape[0]
    k = Qt.shape[1]
    h = jnp.sum(Rt * z[None, :], axis=1) + jnp.sum(Qt * gam[None, :], axis=1)
    hh = jnp.sum(h * h)
    r = c * (hh - N) - y
    dd = 2.0 * c * r
    vv = jnp.maximum(gam[j] - hh, 0.0)
    A = dd * dd * vv
    s = A * hh
    kap = A * _psi(s, eta)
    mu = -eta * dd - kap * (1.0 + eta * dd * hh)
    Rh = jnp.sum(Rt * h[:, None], axis=0)
    Qh = jnp.sum(Qt * h[:, None], axis=0)
    avec = (kap + mu) * (jnp.arange(k) == j).astype(Rt.dtype) - mu * Qh
    bvec = -mu * Rh
    ok = jnp.all(jnp.isfinite(avec)) & jnp.all(jnp.isfinite(bvec)) & (eta * eta * s < _STEP_ANGLE_LIMIT)
    good = ok & live
    avec = jnp.where(good, avec, 0.0)
    bvec = jnp.where(good, bvec, 0.0)
    return Rt + h[:, None] * bvec[None, :], Qt + h[:, None] * avec[None, :], ok


def block_top(U0top, Xtop, Rt, Qt):
    """``U_j[:M] = U0[:M] R + X[:, :M]ᵀ Q`` (M, N) for logging inside a block."""
    return _mm(U0top, Rt.T) + _mm(Xtop.T, Qt.T)


def block_end(U0, X, Rt, Qt):
    """``U_k = U0 R + Xᵀ Q`` (d, N)."""
    return (_mm(U0, Rt.T) + _mm(X.T, Qt.T)).astype(U0.dtype)
