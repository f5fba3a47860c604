"""Two-homogeneous model (THEORY.md §3): overlap ODE vs vector-level flow on W, single-neuron law, emergence."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import hermite
import riccati
from riccati import homogeneous_flow, homogeneous_risk, homogeneous_state
from riccati._homogeneous import _risk, _vector_field

H4 = hermite.kernel("h4")
N3, M2, D6 = 3, 2, 6
TIMES = np.linspace(0.0, 40.0, 16)  # shared shape: one compilation for the (N=3, M=2) tests


def _loss_W(a, M):
    def L(W):
        r = jnp.sum(W * W, axis=1)
        Wb = W / jnp.sqrt(r)[:, None]
        return 0.5 * _risk(H4.K, H4.K1, a, r, Wb[:, :M], Wb @ Wb.T)  # L = (K1/2)·R, K1 = 1 for h4

    return L


def _overlaps(W, M):
    r = np.sum(W * W, axis=1)
    Wb = W / np.sqrt(r)[:, None]
    return r, Wb[:, :M], Wb @ Wb.T


def test_vector_field_is_the_projected_gradient_flow():
    """(dr, dm, dρ) from the closed ODE = chain rule of dW/dt = −∇_W L (autodiff of L(P = WᵀΘ, C = WᵀW))."""
    rng = np.random.default_rng(0)
    a = jnp.array([0.8, 0.6])
    W = jnp.asarray(rng.standard_normal((N3, D6)))
    g = jax.grad(_loss_W(a, M2))(W)

    def state(W):
        r = jnp.sum(W * W, 1)
        Wb = W / jnp.sqrt(r)[:, None]
        return r, Wb[:, :M2], Wb @ Wb.T

    y, tang = jax.jvp(state, (W,), (-g,))
    out = _vector_field(H4.K, H4.dK)(0.0, y, a)
    for x, ref in zip(out, tang, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(ref), rtol=1e-12, atol=1e-12)


def test_overlap_ode_matches_vector_level_flow_on_W():
    """Integrate dW/dt = −∇L on W ∈ R^{3×6} (scipy DOP853) and compare r, m with the overlap ODE."""
    rng = np.random.default_rng(1)
    a = np.array([0.8, 0.6])
    W0 = rng.standard_normal((N3, D6)) * np.array([1.0, 0.7, 1.3])[:, None] / np.sqrt(D6)
    grad = jax.jit(jax.grad(_loss_W(jnp.asarray(a), M2)))
    rhs = lambda t, w: -np.asarray(grad(jnp.asarray(w.reshape(N3, D6)))).ravel()
    ref = solve_ivp(rhs, (0, TIMES[-1]), W0.ravel(), method="DOP853", t_eval=TIMES, rtol=1e-12, atol=1e-13)
    sol = homogeneous_flow("h4", a, W0, TIMES)
    for k in range(TIMES.size):
        r, m, _ = _overlaps(ref.y[:, k].reshape(N3, D6), M2)
        # both solvers at rtol ≤ 1e-10 over O(10) time: 1e-7 is well above their combined error
        np.testing.assert_allclose(sol.norms[k], r, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(sol.overlaps[k], m, rtol=1e-7, atol=1e-9)
    # the state-tuple input gives the same answer as the explicit weights (same compiled solver)
    st = homogeneous_flow("h4", a, homogeneous_state(W0, M2), TIMES, d=D6)
    np.testing.assert_allclose(st.risk, sol.risk, atol=1e-13)


def _single_neuron_time(s, s0, a):
    """Exact solution time of ds/dt = 8 a s²(1 − s) (σ = h4, k = 4) from s0 to s."""
    F = lambda x: -1.0 / x + np.log(x / (1.0 - x))
    return (F(s) - F(s0)) / (8.0 * a)


def test_single_neuron_law_h4():
    """One neuron, one direction: s = m² obeys ds/dt = 2kã s^{k/2}(1 − s), k = 4 (THEORY.md §3)."""
    m0 = 0.1
    ts = np.linspace(0.0, 15.0, 16)
    sol = homogeneous_flow("h4", [1.0], (np.array([0.3]), np.array([[m0]]), np.eye(1)), ts, d=100)
    s = sol.overlaps[:, 0, 0] ** 2
    t_exact = _single_neuron_time(s[1:], m0**2, 1.0)
    np.testing.assert_allclose(t_exact, ts[1:], rtol=1e-7)  # rtol 1e-10 solver; inverse map is well conditioned
    T_half = _single_neuron_time(0.5, m0**2, 1.0)
    assert sol.emergence_times[0] == pytest.approx(T_half, rel=1e-6)
    # the predicted escape law s0^{-(k-2)/2}/(k(k-2)ã) is the s → ∞ blow-up time: within 10% of T_half here
    assert riccati.predicted_emergence_homogeneous([1.0], 100, 4)[0] == pytest.approx(100 / 8)
    assert T_half == pytest.approx(1 / m0**2 / 8, rel=0.1)


def test_decoupled_neurons_emerge_in_order_of_a_at_exact_times():
    """Orthogonal neurons, neuron p overlapping only θ_p: the flow decouples into single-neuron laws, so the
    emergence times are exact and ordered by ã."""
    a = np.array([0.8, 0.6])
    m0 = 0.12
    m = np.array([[m0, 0.0], [0.0, m0], [0.0, 0.0]])
    state = (np.full(N3, 0.01), m, np.eye(N3))
    sol = homogeneous_flow("h4", a, state, TIMES * 3, d=D6)
    exact = _single_neuron_time(0.5, m0**2, a)
    np.testing.assert_allclose(sol.emergence_times, exact, rtol=1e-6)
    assert sol.emergence_times[0] < sol.emergence_times[1]


def test_risk_limits_and_definition():
    a = np.array([0.8, 0.6])
    # perfect student: r = ã, m = I, ρ = I → R = 0; zero student → R = 1
    assert float(homogeneous_risk(H4, a, a, np.eye(2), np.eye(2))) == pytest.approx(0.0, abs=1e-15)
    assert float(homogeneous_risk(H4, a, np.zeros(2), np.zeros((2, 2)), np.eye(2))) == pytest.approx(1.0)
    # relative risk = E(f − f*)²/E f*² by Monte Carlo (independent of the kernel formula), small d
    rng = np.random.default_rng(3)
    W = rng.standard_normal((3, 4))
    r, m, rho = _overlaps(W, 2)
    x = rng.standard_normal((400000, 4))
    h4 = lambda z: (z**4 - 6 * z**2 + 3) / np.sqrt(24)
    f = (h4((x @ W.T) / np.sqrt(r)) * r).sum(1)
    y = h4(x[:, :2]) @ a
    mc = np.mean((f - y) ** 2) / np.mean(y**2)
    assert float(homogeneous_risk(H4, a, r, m, rho)) == pytest.approx(mc, rel=0.05)  # MC error ~1% (h4 heavy tails)


def test_sampled_state_statistics_and_d_independence():
    d, M, N = 10**9, 5, 4
    r, m, rho = riccati.sample_homogeneous_state(0, d, M, N, init_scale=0.1)
    assert m.shape == (N, M) and rho.shape == (N, N)
    np.testing.assert_allclose(np.diag(rho), 1.0)
    assert np.all(np.abs(m) < 10 / np.sqrt(d))
    np.testing.assert_allclose(r, 0.01, rtol=1e-3)
    r2, m2, _ = riccati.sample_homogeneous_state(1, 400, 30, 50)
    assert np.mean(m2**2) * 400 == pytest.approx(1.0, rel=0.1)  # E m² = 1/d


@pytest.mark.parametrize("spec,match", [("relu", "even"), ("h3", "even"), ("z**2", "c_0")])
def test_rejects_odd_or_nonzero_mean_activation(spec, match):
    with pytest.raises(ValueError, match=match):
        homogeneous_flow(spec, [1.0], (np.ones(1), np.zeros((1, 1)), np.eye(1)), [0.0, 1.0])


def test_bad_weights_shape():
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        homogeneous_flow("h4", [1.0, 0.5, 0.2], np.ones((2, 2)), [0.0, 1.0])
