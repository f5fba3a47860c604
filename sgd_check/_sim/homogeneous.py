"""Two-homogeneous network [RNWL25]: one online-SGD step and exact observables (docs/theory.md §3).

All functions act on ONE seed and are pure and jittable; the engine (``engine``) vmaps them over seeds.
``sigma``/``dsigma`` are elementwise JAX callables (``hermite.activation(spec).fn``/``.dfn``); ``kernel`` is the
Gaussian kernel ``K(ρ) = E[σ(z)σ(z')]`` (``hermite.kernel(spec)``, float64) through which the risk is exact.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

_HI = lax.Precision.HIGHEST


def _mm(a, b):
    return jnp.matmul(a, b, precision=_HI)


def gaussian_init(key, d: int, N: int, scale: float, dtype) -> jnp.ndarray:
    """``W0`` (N, d) with i.i.d. ``N(0, scale²/d)`` entries (drawn in float64, then cast), so ``‖w_i‖ ≈ scale``."""
    g = jax.random.normal(key, (N, d), dtype=jnp.float64)
    return (g * (scale / jnp.sqrt(d))).astype(dtype)


def homogeneous_step(W, X, a, eta, sigma, dsigma, live=True, noise=None):
    """One plain online-SGD step on ``W`` (N, d) for the batch-mean loss ``½(f − y)²``, inputs ``X`` (B, d).

    ``f(x) = Σ_i n_i² σ(z_i)`` with ``n_i = ‖w_i‖``, ``z_i = ⟨w_i, x⟩/n_i``; label ``y = Σ_p ã_p σ(x_p) + noise``
    (``noise`` (B,): the label noise ``σ_ε ε_b`` of each sample, already scaled; ``None``: noise-free labels, and
    no addition is compiled).
    ``∂f/∂w_i = (2σ(z_i) − z_i σ'(z_i)) w_i + n_i σ'(z_i) x``, so with residuals ``r_b = f_b − y_b`` the step is
    ``W⁺ = W − η [α ⊙ W + βᵀ X]``, ``α_i = mean_b r_b (2σ − zσ')_{bi}``, ``β_{bi} = r_b n_i σ'(z_{bi}) / B``:
    cost O(N d B). Returns ``(W⁺, ok)``; ``W⁺ = W`` unless ``live & ok``; ``ok`` is False when the update is non-finite.
    """
    B = X.shape[0]
    M = a.shape[0]
    n = jnp.sqrt(jnp.sum(W * W, axis=1))  # (N,)
    P = jnp.sum(X[0][None, :] * W, axis=1)[None, :] if B == 1 else _mm(X, W.T)  # (B, N); B=1 fuses on CPU
    z = P / n[None, :]
    s = sigma(z)
    ds = dsigma(z)
    f = jnp.sum((n * n)[None, :] * s, axis=1)
    y = jnp.sum(a[None, :] * sigma(X[:, :M]), axis=1)
    if noise is not None:
        y = y + noise
    r = f - y  # (B,)
    alpha = jnp.sum(r[:, None] * (2.0 * s - z * ds), axis=0) / B  # (N,)
    beta = (r[:, None] * ds) * (n[None, :] / B)  # (B, N)
    ok = jnp.all(jnp.isfinite(alpha)) & jnp.all(jnp.isfinite(beta))
    alpha = jnp.where(ok & live, alpha, 0.0)  # a frozen (diverged) seed or a bad step leaves W unchanged
    beta = jnp.where(ok & live, beta, 0.0)
    upd = alpha[:, None] * W + (beta[0][:, None] * X[0][None, :] if B == 1 else _mm(beta.T, X))
    return W - eta * upd, ok


def model_step(sigma, dsigma, noisy: bool):
    """The engines' per-seed step ``(W, X, live, hp) -> (W⁺, ok)`` (``chunk.Model.step``, full and reduced engine):
    :func:`homogeneous_step` with ``hp["a"]``, ``hp["eta"]``. With ``noisy`` the step's input is a pair
    ``(X (B, d), ε (B,))``, ε the standard normals of the label noise, scaled here by ``hp["label_noise"]``;
    without it the input is ``X`` alone and nothing about noise is compiled."""
    if not noisy:
        return lambda W, X, live, hp: homogeneous_step(W, X, hp["a"], hp["eta"], sigma, dsigma, live)

    def step(W, inputs, live, hp):
        X, eps = inputs
        return homogeneous_step(W, X, hp["a"], hp["eta"], sigma, dsigma, live, noise=hp["label_noise"] * eps)

    return step


def overlaps(W, M: int):
    """``(r, m, ρ)``: ``r_i = ‖w_i‖²`` (N,), ``m_ip = ⟨w̄_i, e_p⟩`` (N, M), ``ρ_ij = ⟨w̄_i, w̄_j⟩`` (N, N), float64."""
    W64 = W.astype(jnp.float64)
    r = jnp.sum(W64 * W64, axis=1)
    Wb = W64 / jnp.sqrt(r)[:, None]
    rho = jnp.clip(_mm(Wb, Wb.T), -1.0, 1.0)
    rho = rho.at[jnp.diag_indices(W.shape[0])].set(1.0)
    return r, Wb[:, :M], rho


def observe(W, a, kernel):
    """Logged quantities of one seed: ``risk`` (relative, exact: ``riccati.homogeneous_risk`` on the overlaps, in
    float64 whatever the working dtype), ``overlaps`` m (N, M), ``norms`` r (N,)."""
    import riccati

    r, m, rho = overlaps(W, a.shape[0])
    risk = riccati.homogeneous_risk(kernel, a.astype(jnp.float64), r, m, rho)
    return {"risk": risk, "overlaps": m, "norms": r}


def make_fns(activation):
    """``(sigma, dsigma, kernel)`` for a ``hermite`` activation spec (``kernel = hermite.kernel(activation)``);
    raises naming ``activation`` if unusable."""
    import hermite

    act = hermite.activation(activation)
    ker = hermite.kernel(activation)
    if not float(ker.K1) > 0.0:
        raise ValueError(
            f"`activation`={activation!r} has E[σ(z)²] = {float(ker.K1):g}: the relative risk 2L/K(1) is undefined "
            "for σ ≡ 0; choose a non-zero activation such as h4"
        )
    return act.fn, act.dfn, ker
