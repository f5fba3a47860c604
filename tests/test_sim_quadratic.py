"""Quadratic-model simulator pieces vs independent truth (docs/theory.md §2): dense polar retraction, Monte Carlo."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgd_check._sim import quadratic as q

_step = jax.jit(q.stiefel_step)
_block_step = jax.jit(q.block_step)


def _haar(rng, d, N):
    Q, R = np.linalg.qr(rng.standard_normal((d, N)))
    return Q * np.sign(np.diag(R))


def _dense_step(U, X, a, c, eta):
    """Textbook step: Euclidean gradient, tangent projection, polar retraction by a dense SVD."""
    B, d = X.shape
    N = U.shape[1]
    M = a.size
    GE = np.zeros_like(U)
    for x in X:
        h = U.T @ x
        r = c * (h @ h - N) - a @ (x[:M] ** 2 - 1.0)
        GE += 2.0 * c * r * np.outer(x, h) / B  # ∂/∂U of ½(f − y)², f = c Σ (u_iᵀx)² − cN
    g = GE - U @ (0.5 * (U.T @ GE + GE.T @ U))  # embedded-metric Riemannian gradient
    W, _, Vt = np.linalg.svd(U - eta * g, full_matrices=False)
    return W @ Vt


@pytest.mark.parametrize("B", [1, 3])
def test_closed_form_step_matches_dense_svd_polar_retraction(rng, B):
    d, N, c = 7, 3, 0.6
    a = np.array([0.8, 0.6])
    for eta in (1e-3, 0.05, 0.4):  # up to large steps, where the retraction matters at O(1)
        U = _haar(rng, d, N)
        X = rng.standard_normal((B, d))
        got, ok = _step(jnp.asarray(U), jnp.asarray(X), jnp.asarray(a), c, eta)
        want = _dense_step(U, X, a, c, eta)
        assert bool(ok)
        # float64 round-off of O(d N) operations on O(1) entries
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-13, rtol=0)
        np.testing.assert_allclose(np.asarray(got).T @ np.asarray(got), np.eye(N), atol=1e-13)


def test_blocked_steps_equal_direct_steps(rng):
    """The blocked form (U = U0 R + XᵀQ) is the same map as repeated closed-form steps (float64)."""
    d, N, M, k, c, eta = 9, 3, 2, 6, 0.5, 0.08
    a = jnp.asarray([0.8, 0.6])
    U0 = jnp.asarray(_haar(rng, d, N))
    X = jnp.asarray(rng.standard_normal((k, d)))
    U = U0
    for j in range(k):
        U, _ = _step(U, X[j : j + 1], a, c, eta)
    Z, Gam, y = q.block_begin(U0, X, a)
    Rt, Qt = jnp.eye(N), jnp.zeros((N, k))
    for j in range(k):
        Rt, Qt, ok = _block_step(Rt, Qt, Z[j], Gam[:, j], y[j], j, c, eta, True)
        assert bool(ok)
    Uk = np.asarray(q.block_end(U0, X, Rt, Qt))
    np.testing.assert_allclose(Uk, np.asarray(U), atol=1e-13)
    np.testing.assert_allclose(np.asarray(q.block_top(U0[:M], X[:, :M], Rt, Qt)), Uk[:M], atol=1e-14)


def test_frozen_or_bad_step_leaves_U_unchanged(rng):
    U = jnp.asarray(_haar(rng, 6, 2))
    X = jnp.asarray(rng.standard_normal((1, 6)))
    a = jnp.asarray([1.0])
    same, ok = _step(U, X, a, 0.7, 0.1, False)
    assert bool(ok) and np.array_equal(np.asarray(same), np.asarray(U))
    huge, ok = _step(U, X, a, 0.7, 1e8)  # turns the span by ~90°: flagged, not applied
    assert not bool(ok) and np.array_equal(np.asarray(huge), np.asarray(U))


def test_exact_risks_match_monte_carlo(rng):
    """1 − tr(ÃGÃG) (optimal radial part) and the Phase-I student's risk vs a Monte Carlo estimate."""
    d, N, M, c = 6, 2, 3, 0.9
    a = np.array([3.0, 2.0, 1.0])
    a /= np.linalg.norm(a)
    U = _haar(rng, d, N)
    obs = q.observe(jnp.asarray(U[:M]), jnp.asarray(a), c)
    n = 400_000
    X = rng.standard_normal((n, d))
    y = (X[:, :M] ** 2 - 1.0) @ a
    H = X @ U
    Om = U[:M].T @ (a[:, None] * U[:M])  # Ω* = UᵀSU
    f_opt = np.einsum("ni,ij,nj->n", H, Om, H) - np.trace(Om)
    f_stu = c * (np.sum(H * H, axis=1) - N)
    Ef2 = 2.0  # E f_*² = 2‖S‖_F² = 2
    for exact, f in ((obs["risk"], f_opt), (obs["risk_student"], f_stu)):
        e = (f - y) ** 2 / Ef2
        se = e.std() / np.sqrt(n)
        assert abs(float(exact) - e.mean()) < 5 * se, (float(exact), e.mean(), se)
    G = U[:M] @ U[:M].T
    np.testing.assert_allclose(np.asarray(obs["G_diag"]), np.diag(G), atol=1e-15)


@pytest.mark.slow
def test_phase2_least_squares_approaches_oracle(rng):
    """Phase II risk ≥ oracle 1 − tr(ÃGÃG) always (exact evaluation), and → oracle as n′ grows."""
    d, N, M = 8, 2, 2
    a = jnp.asarray([0.8, 0.6])
    U = jnp.asarray(_haar(rng, d, N))
    oracle = float(q.observe(U[:M], a, 0.7)["risk"])
    key = jax.random.key(3)
    gaps = []
    for n_prime in (12, 20_000):
        risk, Om = q.phase2_fit(U, key, a, n_prime, block=4096)
        assert float(risk) >= oracle - 1e-12
        np.testing.assert_allclose(np.asarray(Om), np.asarray(Om).T, atol=0)
        gaps.append(float(risk) - oracle)
    # least-squares excess risk ~ p/n′ (p = 3 features): 20 000 samples leave ≲ 1e-3
    assert gaps[1] < 3e-3 and gaps[1] < gaps[0]
