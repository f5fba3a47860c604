"""Homogeneous-model simulator pieces against independent truth (docs/theory.md §3): autodiff, Monte Carlo, riccati."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgd_check._sim import homogeneous as hm


@pytest.fixture(scope="module")
def h4():
    return hm.make_fns("h4")


def test_step_is_sgd_on_the_batch_loss(rng, h4):
    """The hand-written update equals W − η ∇_W mean_b ½(f − y)² computed by autodiff (float64), B = 1 and 4."""
    sigma, dsigma = h4[0], h4[1]
    d, N, M, eta = 7, 3, 2, 0.05
    a = jnp.asarray([0.8, 0.6])
    W = jnp.asarray(rng.standard_normal((N, d)) * 0.7)

    @jax.jit
    def autodiff(W, X):
        def loss(W):
            n = jnp.linalg.norm(W, axis=1)
            f = jnp.sum(n**2 * sigma((X @ W.T) / n), axis=1)
            return 0.5 * jnp.mean((f - jnp.sum(a * sigma(X[:, :M]), axis=1)) ** 2)

        return W - eta * jax.grad(loss)(W)

    step = jax.jit(lambda W, X, live: hm.homogeneous_step(W, X, a, eta, sigma, dsigma, live))
    for B in (1, 4):
        X = jnp.asarray(rng.standard_normal((B, d)))
        got, ok = step(W, X, True)
        assert bool(ok)
        np.testing.assert_allclose(np.asarray(got), np.asarray(autodiff(W, X)), rtol=1e-12, atol=1e-13)
    frozen, _ = step(W, X, False)
    assert np.array_equal(np.asarray(frozen), np.asarray(W))


@pytest.mark.parametrize("spec", ["h4", "relu"])
def test_exact_risk_matches_monte_carlo(rng, spec):
    """2L/K(1) from the overlaps through the kernel vs a Monte Carlo estimate of E(f − y)²/K(1)."""
    sigma, _, kernel = hm.make_fns(spec)
    K1 = float(kernel.K1)
    d, N, M = 5, 2, 2
    a = np.array([0.8, 0.6])
    W = rng.standard_normal((N, d)) * 0.6
    W[1, :M] += 0.9  # some alignment, so that the teacher cross terms matter
    risk = float(hm.observe(jnp.asarray(W), jnp.asarray(a), kernel)["risk"])
    n = 400_000
    X = rng.standard_normal((n, d))
    nrm = np.linalg.norm(W, axis=1)
    f = np.sum(nrm**2 * np.asarray(sigma(jnp.asarray(X @ W.T / nrm))), axis=1)
    y = np.asarray(sigma(jnp.asarray(X[:, :M]))) @ a
    e = (f - y) ** 2 / K1
    assert abs(risk - e.mean()) < 5 * e.std() / np.sqrt(n), (risk, e.mean())


@pytest.mark.parametrize("spec", ["h4", "relu"])
def test_student_equal_to_teacher_has_zero_risk(spec):
    """Known limit: w_p = √ã_p e_p (N = M) is the teacher itself, so the exact risk is 0, for c_0 = 0 (h4) and
    for c_0 ≠ 0 (ReLU, where the teacher cross terms ½K(0)Σ_{p≠q}ã_pã_q must be counted: without them
    R = −0.96·K(0)/K(1))."""
    import hermite
    import riccati

    a = np.array([0.8, 0.6])
    W = np.zeros((2, 5))
    W[0, 0], W[1, 1] = np.sqrt(a)
    r, m, rho = hm.overlaps(jnp.asarray(W), 2)
    assert abs(float(riccati.homogeneous_risk(hermite.kernel(spec), a, r, m, rho))) < 1e-14
    _, _, kernel = hm.make_fns(spec)
    assert abs(float(hm.observe(jnp.asarray(W, jnp.float32), jnp.asarray(a, jnp.float32), kernel)["risk"])) < 1e-6


def test_zero_activation_is_rejected():
    with pytest.raises(ValueError, match="activation"):
        hm.make_fns("0*z")
