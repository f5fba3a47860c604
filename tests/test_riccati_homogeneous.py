"""Two-homogeneous model (docs/theory.md §3): overlap ODE vs vector-level flow on W, single-neuron law, emergence."""

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
    st = homogeneous_flow("h4", a, times=TIMES, state=homogeneous_state(W0, M2), d=D6)
    np.testing.assert_allclose(st.risk, sol.risk, atol=1e-13)


def _single_neuron_time(s, s0, a):
    """Exact solution time of ds/dt = 8 a s²(1 − s) (σ = h4, k = 4) from s0 to s."""
    F = lambda x: -1.0 / x + np.log(x / (1.0 - x))
    return (F(s) - F(s0)) / (8.0 * a)


def test_single_neuron_law_h4():
    """One neuron, one direction: s = m² obeys ds/dt = 2kã s^{k/2}(1 − s), k = 4 (docs/theory.md §3)."""
    m0 = 0.1
    ts = np.linspace(0.0, 15.0, 16)
    sol = homogeneous_flow("h4", [1.0], times=ts, state=(np.array([0.3]), np.array([[m0]]), np.eye(1)), d=100)
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
    sol = homogeneous_flow("h4", a, times=TIMES * 3, state=state, d=D6)
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
        homogeneous_flow(spec, [1.0], times=[0.0, 1.0], state=(np.ones(1), np.zeros((1, 1)), np.eye(1)))


def test_bad_weights_shape():
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        homogeneous_flow("h4", [1.0, 0.5, 0.2], np.ones((2, 2)), [0.0, 1.0])


def test_weights_and_state_have_their_own_arguments():
    """Issue 9 item 5: W0 is weights only; the (r, m, ρ) state goes to state=; exactly one of them."""
    st = (np.full(2, 0.01), np.array([[0.1, 0.0], [0.0, 0.1]]), np.eye(2))
    W0 = np.eye(2, 6) * 0.1
    with pytest.raises(ValueError, match="exactly one.*got both"):
        homogeneous_flow("h4", [1.0, 0.5], W0, [0.0, 1.0], state=st)
    with pytest.raises(ValueError, match="exactly one.*got neither"):
        homogeneous_flow("h4", [1.0, 0.5], times=[0.0, 1.0])
    with pytest.raises(TypeError, match="state="):
        homogeneous_flow("h4", [1.0, 0.5], st, [0.0, 1.0])
    with pytest.raises(TypeError, match="`times` is required"):
        homogeneous_flow("h4", [1.0, 0.5], W0)
    # the state of W0 gives the same flow as W0 itself
    a = homogeneous_flow("h4", [1.0, 0.5], W0, [0.0, 1.0])
    b = homogeneous_flow("h4", [1.0, 0.5], times=[0.0, 1.0], state=homogeneous_state(W0, 2), d=6)
    np.testing.assert_allclose(b.risk, a.risk, rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# Stiff solver on the reduced weights X = [WΘ, Z] (issue 10, items 18-19)
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("numpy_kernel", [True, False], ids=["series-numpy", "jax-kernel"])
def test_reduced_field_and_hessian_blocks_match_autodiff(numpy_kernel):
    """−∇L(X) and the per-neuron blocks ∂²L/∂x_i² (analytic, numpy) against jax.grad / jax.hessian of L(X), with
    the kernel as a numpy polynomial (h4's series) and through hermite's jnp K, K' (fallback for closed forms)."""
    from riccati._homogeneous_stiff import ReducedFlow, _KernelNP, kernel_series_b2

    N, M = 3, 2
    D = M + N
    a = jnp.array([0.8, 0.6])
    X = np.random.default_rng(4).standard_normal((N, D)) * 0.5
    b2 = kernel_series_b2(H4)
    np.testing.assert_allclose(b2, [0, 0, 0, 0, 1], atol=1e-15)  # h4: K = ρ⁴
    flow = ReducedFlow(_KernelNP(H4.K, H4.dK, b2 if numpy_kernel else None), H4.K1, np.asarray(a))

    def L(X):
        r = jnp.sum(X * X, axis=1)
        Xb = X / jnp.sqrt(r)[:, None]
        return 0.5 * _risk(H4.K, H4.K1, a, r, Xb[:, :M], Xb @ Xb.T)

    np.testing.assert_allclose(flow.rhs(X), -np.asarray(jax.grad(L)(jnp.asarray(X))), rtol=1e-12, atol=1e-14)
    S, cx, u, Bs, Bt, Xb = flow.hessian_parts(X)
    Hfull = np.asarray(jax.hessian(L)(jnp.asarray(X))).reshape(N * D, N * D)
    for i in range(N):
        H = S[i] * np.eye(D) + cx[i] * np.outer(Xb[i], Xb[i]) + np.outer(Xb[i], u[i]) + np.outer(u[i], Xb[i])
        H += (Xb.T * Bs[i]) @ Xb
        H[np.arange(M), np.arange(M)] += Bt[i]
        np.testing.assert_allclose(H, Hfull[i * D : (i + 1) * D, i * D : (i + 1) * D], rtol=1e-11, atol=1e-13)
    # the risk from X equals the kernel formula on the overlaps of X
    r, m, R = flow.observe(X)
    np.testing.assert_allclose(float(R), 2 * float(L(jnp.asarray(X))), rtol=1e-13)


@pytest.mark.parametrize(
    "b2",
    [[0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0.5, 0, 0.5], [0, 0.2, 0.3, 0, 0.5]],
    ids=["rho2", "rho6", "even", "odd"],
)
def test_reduced_field_other_kernels_match_autodiff(b2):
    """rhs's kernel paths besides h4 (monomials ρ², ρ⁶ take the three-pass path, a mixed even series Horner, a
    series with an odd term the general polynomial) against jax.grad of L(X) with K written out in jnp."""
    from riccati._homogeneous_stiff import ReducedFlow, _KernelNP

    b2 = np.asarray(b2, dtype=np.float64)
    N, M = 4, 3
    a = jnp.array([0.7, 0.5, 0.3])
    X = np.random.default_rng(5).standard_normal((N, M + N)) * 0.5
    ke = _KernelNP(None, None, b2)
    flow = ReducedFlow(ke, float(b2.sum()), np.asarray(a))

    def K(x):
        return sum(float(c) * x**j for j, c in enumerate(b2) if c != 0.0)

    def L(X):
        r = jnp.sum(X * X, axis=1)
        Xb = X / jnp.sqrt(r)[:, None]
        return 0.5 * _risk(K, float(b2.sum()), a, r, Xb[:, :M], Xb @ Xb.T)

    want = -np.asarray(jax.grad(L)(jnp.asarray(X)))
    np.testing.assert_allclose(flow.rhs(X), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(flow.rhs(X), want, rtol=1e-12, atol=1e-14)  # again, through the reused buffers


def test_emergence_root_finder_matches_closed_form_roots():
    """_root (Illinois on a bracket) against closed-form roots: t² − c (simple), (t − c)³ + 1e-6(t − c) (nearly
    flat at the root), a steep logistic; to a few ulps of the root."""
    from riccati._homogeneous_stiff import _root

    c = np.array([0.3, 0.7, 1.3])

    def g(ts):
        return np.array([ts[0] ** 2 - c[0], (ts[1] - c[1]) ** 3 + 1e-6 * (ts[1] - c[1]), np.tanh(50 * (ts[2] - c[2]))])

    t = _root(g, 0.1, 1.9, 3)
    np.testing.assert_allclose(t, [np.sqrt(c[0]), c[1], c[2]], rtol=1e-14)


def test_bdf_change_D_matches_scipy():
    """_change_D (one vector-matrix product per row of the upper-triangular (RU)ᵀ) against scipy's own BDF
    change_D (dense (RU)ᵀD), every order and step ratios from MIN_FACTOR to MAX_FACTOR."""
    from scipy.integrate._ivp.bdf import change_D

    from riccati._bdf import MAX_ORDER, _change_D

    rng = np.random.default_rng(3)
    for order in range(1, MAX_ORDER + 1):
        for factor in (0.2, 0.5, 0.93, 1.0, 1.3, 4.0, 10.0):
            D = rng.standard_normal((MAX_ORDER + 3, 50))
            want = D.copy()
            change_D(want, order, factor)
            _change_D(D, order, factor)
            np.testing.assert_allclose(D, want, rtol=0, atol=1e-13 * np.abs(want).max())


def test_structured_newton_solve_matches_dense_block_solve():
    """(I + cH̃)⁻¹ from the kept rank-one terms vs a dense solve with the exact blocks: exact when every term is
    kept (tiny eps), and otherwise within c‖E_i‖‖A_i⁻¹‖, E the dropped terms (weights ≤ eps·(1/c_ref + S_i)))."""
    from riccati._homogeneous_stiff import BlockJacobian, ReducedFlow, _KernelNP, kernel_series_b2

    N, M = 5, 4
    D = M + N
    rng = np.random.default_rng(7)
    a = np.array([0.6, 0.5, 0.4, 0.3])
    X = rng.standard_normal((N, D)) * 0.3
    X[0, 0] = 2.0  # one neuron nearly aligned: large K'' terms next to small ones
    flow = ReducedFlow(_KernelNP(H4.K, H4.dK, kernel_series_b2(H4)), H4.K1, a)
    parts = flow.hessian_parts(X)
    S, cx, u, Bs, Bt, Xb = parts
    blocks = []
    for i in range(N):
        H = S[i] * np.eye(D) + cx[i] * np.outer(Xb[i], Xb[i]) + np.outer(Xb[i], u[i]) + np.outer(u[i], Xb[i])
        H += (Xb.T * Bs[i]) @ Xb
        H[np.arange(M), np.arange(M)] += Bt[i]
        blocks.append(H)
    b = rng.standard_normal(N * D)
    for c in (0.1, 3.0, 50.0):
        exact = np.concatenate(
            [np.linalg.solve(np.eye(D) + c * H, bi) for H, bi in zip(blocks, b.reshape(N, D), strict=True)]
        )
        full = BlockJacobian(parts, M, eps=1e-300)
        np.testing.assert_allclose(full.factor(c)(b), exact, rtol=1e-10, atol=1e-12)
        approx = BlockJacobian(parts, M, eps=0.02)
        y = approx.factor(c)(b)
        assert approx.rank < N + M  # something was dropped
        # y − exact = A⁻¹ c E exact with ‖E_i‖ ≤ τ_i (dropped weights, c_ref = 4c), ‖A_i⁻¹‖ ≤ 1/(s_i − cτ_i)
        tau = 0.02 * (1 / (4 * c) + np.maximum(S, 0))
        s_min = np.array([np.abs(np.linalg.eigvalsh(np.eye(D) + c * H)).min() for H in blocks])
        err = np.linalg.norm((y - exact).reshape(N, D), axis=1) / np.linalg.norm(exact.reshape(N, D), axis=1)
        ok = s_min > 2 * c * tau
        assert ok.sum() >= 3
        assert np.all(err[ok] <= (c * tau / (s_min - c * tau))[ok])
        assert err.max() > 1e-9  # the dropped terms do change the solve (so the bound is tested, not trivial)


def test_stiff_and_explicit_solvers_agree_on_a_small_case():
    """Same flow, two formulations and two integrators: overlap ODE (Tsit5) and reduced weights (BDF)."""
    rng = np.random.default_rng(5)
    a = np.array([0.8, 0.6])
    W0 = rng.standard_normal((N3, D6)) * 0.3 / np.sqrt(D6)
    ts = np.linspace(0.0, 60.0, 16)
    ex = homogeneous_flow("h4", a, W0, ts, method="explicit")
    st = homogeneous_flow("h4", a, W0, ts, method="stiff", rtol=1e-10, atol=1e-12)
    assert np.isfinite(st.emergence_times).sum() == 2  # both directions emerge inside the window
    # both at rtol 1e-10 over O(60) time; 1e-7 is well above their combined error
    np.testing.assert_allclose(st.norms, ex.norms, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(st.overlaps, ex.overlaps, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(st.risk, ex.risk, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(st.emergence_times, ex.emergence_times, rtol=1e-6)
    # the (r, m, ρ) state input builds the same reduced weights (up to a rotation of the orthogonal frame)
    st2 = homogeneous_flow("h4", a, times=ts, state=homogeneous_state(W0, 2), d=D6, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(st2.risk, st.risk, rtol=1e-8, atol=1e-12)


def test_risk_keeps_relative_accuracy_when_small():
    """Issue 10 item 19: d = 40, M = 3, N = 4, β = 1, h4, from explicit weights. Truth: the gradient flow on
    W ∈ R^{4×40} itself (autodiff gradient, diffrax Dopri8, rtol 1e-10, float64; a Tsit5 run at rtol 1e-12 agrees to
    4e-10 relative up to t = 300). Target: relative error ≤ 1e-6 wherever R ≥ 1e-8. The (r, m, ρ) ODE misses this
    at t = 100 by 2.6e-4 (states off consistency move R at first order); the reduced-weights solver does not."""
    import diffrax

    d, M, N = 40, 3, 4
    a = riccati.teacher_coefficients(1.0, M)
    an = jnp.asarray(a / np.linalg.norm(a))
    W0 = np.random.default_rng(0).standard_normal((N, d)) * 0.1 / np.sqrt(d)
    ts = np.array([0.0, 30.0, 100.0, 300.0])

    def loss(W):
        r = jnp.sum(W * W, axis=1)
        Wb = W / jnp.sqrt(r)[:, None]
        return 0.5 * _risk(H4.K, H4.K1, an, r, Wb[:, :M], Wb @ Wb.T)

    ref = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, W, _: -jax.grad(loss)(W)),
        diffrax.Dopri8(),
        0.0,
        ts[-1],
        None,
        jnp.asarray(W0),
        saveat=diffrax.SaveAt(ts=jnp.asarray(ts), fn=lambda t, W, _: 2.0 * loss(W)),
        stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-13),
        max_steps=20_000,
    )
    R_ref = np.asarray(ref.ys)
    assert R_ref[-1] < 1e-6 and R_ref[2] < 1e-5  # small-risk window (the reference's explicit steps stall beyond)
    sol = homogeneous_flow("h4", a, W0, ts)
    np.testing.assert_allclose(sol.risk, R_ref, rtol=1e-6, atol=0)


def test_greedy_emergence_from_initial_overlaps_tracks_the_flow():
    """Escape-order prediction from the actual m0 vs the flow's emergence times (N = M = 6, d = 400, h4)."""
    from riccati._homogeneous import greedy_emergence_homogeneous

    d, M = 400, 6
    a = riccati.teacher_coefficients(1.0, M)
    state = riccati.sample_homogeneous_state(3, d, M, M)
    pred = greedy_emergence_homogeneous(a, state[1], 4)
    sol = homogeneous_flow("h4", a, times=[0.0, 3.0 * np.max(pred)], state=state, d=d, rtol=1e-8, atol=1e-10)
    assert np.all(np.isfinite(sol.emergence_times))  # 3× the last predicted time reaches every emergence
    np.testing.assert_allclose(sol.emergence_times, pred, rtol=0.08)  # seen: ≤ 4.4%; the s0 = 1/d rule is 2-6x off


def test_late_emergence_accurate_whatever_the_initial_norm():
    """Issue 10 item 18: the stiff solver's error weights scale with each neuron's norm, so tiny overlaps keep their
    relative accuracy. N = M = 3, d = 400, h4, β = 1, init_scale 1e-8 (‖x_i‖ ~ 1e-8, overlap coordinates ~ 5e-10):
    with atol on X itself (the previous weights) the default tolerance moved the emergence times by 3.7-3.9%.
    Truth: the overlap ODE (Tsit5, rtol 1e-11, atol 1e-14; overlaps are O(1/√d) whatever the norm), 20000-point
    emergence grid; seen agreement 4e-8."""
    d, M = 400, 3
    a = riccati.teacher_coefficients(1.0, M)
    st = riccati.sample_homogeneous_state(0, d, M, M, init_scale=1e-8)
    ts = np.array([0.0, 820.0])  # 2× the last greedy prediction; the last emergence is at ≈ 408
    ex = homogeneous_flow(
        "h4", a, times=ts, state=st, d=d, method="explicit", rtol=1e-11, atol=1e-14, emergence_grid=20000
    )
    sf = homogeneous_flow("h4", a, times=ts, state=st, d=d)  # stiff, default tolerance
    assert np.all(np.isfinite(ex.emergence_times)) and np.nanmax(ex.emergence_times) > 300
    np.testing.assert_allclose(sf.emergence_times, ex.emergence_times, rtol=1e-6)
