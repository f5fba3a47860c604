"""Homogeneous-model simulator pieces against independent truth (docs/theory.md §3): autodiff, Monte Carlo, riccati."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sgd_check import _sim_homogeneous as hm


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
    sigma, _, K, K1, _, _ = hm.make_fns(spec)
    d, N, M = 5, 2, 2
    a = np.array([0.8, 0.6])
    W = rng.standard_normal((N, d)) * 0.6
    W[1, :M] += 0.9  # some alignment, so that the teacher cross terms matter
    risk = float(hm.observe(jnp.asarray(W), jnp.asarray(a), K, K1)["risk"])
    n = 400_000
    X = rng.standard_normal((n, d))
    nrm = np.linalg.norm(W, axis=1)
    f = np.sum(nrm**2 * np.asarray(sigma(jnp.asarray(X @ W.T / nrm))), axis=1)
    y = np.asarray(sigma(jnp.asarray(X[:, :M]))) @ a
    e = (f - y) ** 2 / K1
    assert abs(risk - e.mean()) < 5 * e.std() / np.sqrt(n), (risk, e.mean())


def test_risk_agrees_with_riccati(rng, h4):
    """One formula for flow and SGD: the simulator's risk equals riccati.homogeneous_risk on the same overlaps."""
    riccati = pytest.importorskip("riccati")
    if not hasattr(riccati, "homogeneous_risk"):
        from riccati._homogeneous import homogeneous_risk
    else:
        homogeneous_risk = riccati.homogeneous_risk
    import hermite

    W = jnp.asarray(rng.standard_normal((3, 6)))
    a = np.array([0.8, 0.6])
    r, m, rho = hm.overlaps(W, 2)
    ours = float(hm.homogeneous_risk_from_overlaps(h4[2], h4[3], jnp.asarray(a), r, m, rho))
    theirs = float(homogeneous_risk(hermite.kernel("h4"), a, r, m, rho))
    assert ours == pytest.approx(theirs, rel=1e-13, abs=1e-14)


def test_zero_activation_is_rejected():
    with pytest.raises(ValueError, match="activation"):
        hm.make_fns("0*z")
