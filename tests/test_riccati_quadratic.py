"""Quadratic model (docs/theory.md §2): closed form vs independent truths (reference iteration, plain formula,
ODE solver, t = 0 and t → ∞ limits, exact Haar moments)."""

from __future__ import annotations

import numpy as np
import pytest

import riccati
from riccati import quadratic_flow, quadratic_risk_from_G, sample_initial_overlap, teacher_coefficients

TIMES = np.concatenate([[0.0], np.geomspace(0.05, 2e4, 25)])


def _plain_G(a, Y0, t):
    """Textbook formula G = B (BᵀB + C)⁻¹ Bᵀ, B = e^{Ãt} Y0, C = I − Y0ᵀY0 (fine while ã_1 t is small)."""
    B = np.exp(a * t)[:, None] * Y0
    C = np.eye(Y0.shape[1]) - Y0.T @ Y0
    return B @ np.linalg.solve(B.T @ B + C, B.T)


@pytest.mark.parametrize(
    "d,M,N,beta",
    [(100, 20, 5, 1.0), (100, 20, 20, 1.0), (60, 20, 30, 0.3), (30, 20, 20, 1.0), (25, 12, 20, 0.7)],
)
def test_fast_methods_match_reference_iteration(d, M, N, beta):
    """graded / lyapunov / dual vs slow orthogonal iteration (independent algorithm), to 1e-12 absolute."""
    a = teacher_coefficients(beta, M)
    Y0 = sample_initial_overlap(1, d, M, N)
    ref = quadratic_flow(a, Y0, TIMES, method="reference")
    methods = ["graded"] + (["lyapunov", "dual"] if N >= M else [])
    for m in methods:
        sol = quadratic_flow(a, Y0, TIMES, method=m)
        # round-off of Householder QR / Cholesky on O(1) entries: 1e-12 leaves ~100x margin over measured 1e-14
        np.testing.assert_allclose(sol.risk, ref.risk, rtol=0, atol=1e-12)
        np.testing.assert_allclose(sol.G_diag, ref.G_diag, rtol=0, atol=1e-12)


def test_plain_formula_at_small_times():
    """Where nothing overflows (ã_1 t ≤ 6) the textbook formula is an independent truth for G and R."""
    a = teacher_coefficients(1.0, 10)
    Y0 = sample_initial_overlap(3, 40, 10, 4)
    ts = np.array([0.0, 0.5, 2.0, 7.0])
    sol = quadratic_flow(a, Y0, ts)
    for k, t in enumerate(ts):
        G = _plain_G(a, Y0, t)
        np.testing.assert_allclose(sol.G_diag[k], np.diag(G), atol=1e-13)
        assert sol.risk[k] == pytest.approx(float(quadratic_risk_from_G(a, G)), abs=1e-13)


def test_t0_limit_is_G0_and_order_of_a_is_respected():
    rng = np.random.default_rng(5)
    a = rng.uniform(0.1, 1.0, 7)  # unsorted on purpose
    Y0 = sample_initial_overlap(5, 50, 7, 3)
    sol = quadratic_flow(a, Y0, [0.0, 1.0])
    G0 = Y0 @ Y0.T
    np.testing.assert_allclose(sol.G_diag[0], np.diag(G0), atol=1e-14)
    assert sol.risk[0] == pytest.approx(float(quadratic_risk_from_G(a, G0)), abs=1e-14)
    # permuting the teacher permutes the answer
    p = rng.permutation(7)
    sol_p = quadratic_flow(a[p], Y0[p], [0.0, 1.0])
    np.testing.assert_allclose(sol_p.G_diag, sol.G_diag[:, p], atol=1e-13)


@pytest.mark.parametrize("N", [3, 8, 11])
def test_t_infinity_limit_is_top_N_projector(N):
    """t → ∞: G → projector onto the top-min(N, M) directions, R → floor Σ_{m>N} ã_m²; no overflow at t = 1e6."""
    M = 8
    a = teacher_coefficients(1.0, M)
    Y0 = sample_initial_overlap(2, 40, M, N)
    sol = quadratic_flow(a, Y0, [1e6])
    expect = np.r_[np.ones(min(N, M)), np.zeros(max(M - N, 0))]
    np.testing.assert_allclose(sol.G_diag[0], expect, atol=1e-12)
    assert sol.floor == pytest.approx(float(np.sum(a[N:] ** 2)), abs=1e-15)
    assert sol.risk[0] == pytest.approx(sol.floor, abs=1e-12)
    assert np.all(np.isfinite(sol.G_diag))


def test_bevw_self_check_no_underflow():
    """docs/theory.md §2.6 trap 2: d=3200, M=2400, N=200, β=1, t=1024 gives R ≈ 0.003003, not the floor 0.00278."""
    a = teacher_coefficients(1.0, 2400)
    Y0 = sample_initial_overlap(0, 3200, 2400, 200)
    sol = quadratic_flow(a, Y0, [1024.0], emergence="interp")
    assert sol.floor == pytest.approx(0.0027795, abs=1e-7)
    # seed fluctuations of R at this size are ~1e-6 (measured over seeds); 2e-5 separates it from the floor by 10x
    assert sol.risk[0] == pytest.approx(0.003003, abs=2e-5)


def test_closed_form_matches_diffrax_ode_and_general_S():
    """Closed form vs numerical Riccati ODE (diffrax, from full-rank G0) to 1e-9; rotated S gives the same risk."""
    M = 6
    a = teacher_coefficients(1.0, M)
    Y0 = sample_initial_overlap(4, 30, M, M)
    ts = np.array([0.0, 1.0, 10.0, 100.0, 400.0])
    cf = quadratic_flow(a, Y0, ts)
    ode = riccati.riccati_ode(a, Y0 @ Y0.T, ts)
    np.testing.assert_allclose(np.diagonal(ode.G, axis1=1, axis2=2), cf.G_diag, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ode.risk, cf.risk, rtol=0, atol=1e-9)
    # general symmetric PSD teacher: rotate everything, the risk is invariant
    V = np.linalg.qr(np.random.default_rng(0).standard_normal((M, M)))[0]
    ode_rot = riccati.riccati_ode(V @ np.diag(a) @ V.T, V @ Y0 @ Y0.T @ V.T, ts)
    np.testing.assert_allclose(ode_rot.risk, cf.risk, rtol=0, atol=1e-9)


def test_ode_rejects_rank_deficient_G0():
    Y0 = sample_initial_overlap(0, 30, 5, 2)
    with pytest.raises(ValueError, match="full rank"):
        riccati.riccati_ode(teacher_coefficients(1.0, 5), Y0 @ Y0.T, [0.0, 1.0])


def test_haar_sampler_moments_exact_and_vs_qr_sampling():
    """E[G0] = (N/d) I and E[G0_11²] = N(N+2)/(d(d+2)) (G0_11 ~ Beta(N/2,(d−N)/2)); compare with direct QR."""
    d, M, N, S = 12, 3, 2, 5000
    rng = np.random.default_rng(11)
    G = np.array([(lambda Y: Y @ Y.T)(sample_initial_overlap(rng, d, M, N)) for _ in range(S)])
    Q, R = np.linalg.qr(rng.standard_normal((S, d, N)))  # batched direct Haar sampling
    U = Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]
    Gq = U[:, :M] @ np.swapaxes(U[:, :M], 1, 2)
    mean = G.mean(0)
    # Monte-Carlo tolerance: 5 standard errors of the mean
    se = G.std(0) / np.sqrt(S)
    assert np.all(np.abs(mean - N / d * np.eye(M)) < 5 * se + 1e-15)
    m2, m2q = (G[:, 0, 0] ** 2).mean(), (Gq[:, 0, 0] ** 2).mean()
    se2 = (G[:, 0, 0] ** 2).std() / np.sqrt(S)
    assert abs(m2 - N * (N + 2) / (d * (d + 2))) < 5 * se2
    assert abs(m2 - m2q) < 5 * np.sqrt(2) * se2
    off, offq = (G[:, 0, 1] ** 2).mean(), (Gq[:, 0, 1] ** 2).mean()
    assert abs(off - offq) < 5 * np.sqrt(2) * (G[:, 0, 1] ** 2).std() / np.sqrt(S)


def test_haar_sampler_cost_independent_of_d():
    """d = 1e9 works without a d×N array; d·E[G0_mm] ≈ N at any d."""
    for d in (10**3, 10**9):
        Y = sample_initial_overlap(0, d, 50, 40)
        assert Y.shape == (50, 40)
        assert d * np.mean(np.sum(Y * Y, axis=1)) == pytest.approx(40, rel=0.15)
        assert np.linalg.svd(Y, compute_uv=False).max() <= 1.0 + 1e-12


def test_emergence_times_ordered_and_exact():
    """Emergence ordered by ã; at the reported time G_mm = 1/2; near the logistic prediction log(1/g0)/(2ã)."""
    M = N = 8
    d = 10**6
    a = teacher_coefficients(1.0, M)
    Y0 = sample_initial_overlap(7, d, M, N)
    ts = np.geomspace(1, 1e3, 40)
    sol = quadratic_flow(a, Y0, ts)
    em = sol.emergence_times
    assert np.all(np.isfinite(em)) and np.all(np.diff(em) > 0)
    at = quadratic_flow(a, Y0, em)
    np.testing.assert_allclose(np.diag(at.G_diag), 0.5, atol=1e-9)
    g0 = N / d
    pred = np.log(1 / g0) / (2 * a)
    # initial overlaps fluctuate (G0_mm ~ g0·χ²_N/N), so log-time agreement is O(1/log(1/g0)): 20% is generous
    np.testing.assert_allclose(em, pred, rtol=0.2)
    interp = quadratic_flow(a, Y0, ts, emergence="interp").emergence_times
    np.testing.assert_allclose(interp, em, rtol=2e-2)


def test_population_risk_helpers_agree_numpy_and_jax():
    import jax

    a = teacher_coefficients(0.6, 5)
    Y = sample_initial_overlap(1, 9, 5, 3)
    r1 = float(quadratic_risk_from_G(a, Y @ Y.T))
    r2 = float(riccati.quadratic_risk_from_Y(a, Y))
    r3 = float(jax.jit(riccati.quadratic_risk_from_Y)(a, jax.numpy.asarray(Y)))
    # direct definition ‖S − ΠSΠ‖²/‖S‖² in the (M+N)-dimensional frame where U's span is explicit
    P = Y @ Y.T
    assert r1 == pytest.approx(1 - np.trace(np.diag(a) @ P @ np.diag(a) @ P), abs=1e-14)
    assert r2 == pytest.approx(r1, abs=1e-14) and r3 == pytest.approx(r1, abs=1e-14)
    assert 0 <= r1 <= 1


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(a=[1.0, -1.0]), "negative"),
        (dict(Y0=np.zeros((3, 2))), "shape"),
        (dict(Y0=2 * np.eye(2)), "singular value"),
        (dict(times=[1.0, 0.5]), "sorted"),
        (dict(times=[-1.0]), "negative"),
        (dict(d=1), "exceeds"),
        (dict(method="nope"), "method"),
    ],
)
def test_bad_input_messages(kwargs, match):
    args = dict(a=[1.0, 0.5], Y0=0.1 * np.eye(2), times=[0.0, 1.0])
    args.update(kwargs)
    times = args.pop("times")
    with pytest.raises((ValueError, TypeError), match=match):
        quadratic_flow(args.pop("a"), args.pop("Y0"), times, **args)


def test_sampler_and_config_bad_input():
    with pytest.raises(ValueError, match="N"):
        sample_initial_overlap(0, 10, 3, 11)
    with pytest.raises(ValueError, match="beta"):
        teacher_coefficients(-0.5, 3)
    with pytest.raises(ValueError, match="M"):
        riccati.QuadraticFlow(d=10, M=11, N=2, beta=1.0)
    cfg = riccati.QuadraticFlow(d=50, M=4, N=2, beta=1.0, seed=3)
    sol = cfg.solve([0.0, 5.0])
    np.testing.assert_allclose(sol.G_diag[0], np.diag(cfg.initial_overlap() @ cfg.initial_overlap().T), atol=1e-14)


def test_lyapunov_and_graded_agree_at_scale():
    """N ≥ M fast path vs graded path on a larger, ill-conditioned case (d close to M + N)."""
    M, N, d = 120, 150, 280
    a = teacher_coefficients(1.0, M)
    Y0 = sample_initial_overlap(9, d, M, N)
    ts = np.geomspace(1, 5e3, 6)
    g = quadratic_flow(a, Y0, ts, method="graded", emergence="interp")
    ly = quadratic_flow(a, Y0, ts, method="lyapunov", emergence="interp")
    np.testing.assert_allclose(ly.risk, g.risk, atol=1e-11)
    np.testing.assert_allclose(ly.G_diag, g.G_diag, atol=1e-10)


def test_dual_small_risk_has_relative_accuracy():
    """N ≥ M: the dual method computes I − G directly, so R → 0 keeps relative accuracy (here vs the
    leading-order expansion R ≈ 2 Σ ã_m² Δ_mm with Δ_mm from the same basis is not independent, so compare
    the decay rate instead: R(t) ∝ e^{−2 ã_M t} at late times)."""
    M, N, d = 6, 8, 20
    a = teacher_coefficients(1.0, M)
    Y0 = sample_initial_overlap(3, d, M, N)
    ts = np.array([400.0, 450.0])
    sol = quadratic_flow(a, Y0, ts, method="dual")
    assert 0 < sol.risk[1] < sol.risk[0] < 1e-20
    rate = np.log(sol.risk[0] / sol.risk[1]) / (ts[1] - ts[0])
    assert rate == pytest.approx(2 * a[-1], rel=1e-3)


def test_float32_round_off_in_Y0_is_accepted_and_larger_violations_rejected():
    """M = d with a float32 Stiefel state gives singular values 1 + O(1e-7): accept them (set to 1), with the
    flow equal to the exact-Y0 flow to float32 accuracy; a 1% violation is still an error."""
    import riccati

    a = riccati.teacher_coefficients(1.0, 16)
    U, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((16, 8)))
    Y = U.astype(np.float32).astype(np.float64) * (1 + 2e-7)
    assert np.linalg.svd(Y, compute_uv=False)[0] > 1.0
    times = [0.0, 1.0, 10.0]
    got = riccati.quadratic_flow(a, Y, times).risk
    ref = riccati.quadratic_flow(a, U, times).risk
    np.testing.assert_allclose(got, ref, atol=1e-6)  # float32 input carries ~1e-7 relative error
    with pytest.raises(ValueError, match="singular value"):
        riccati.quadratic_flow(a, Y * 1.01, times)


@pytest.mark.parametrize("d,M,N", [(100, 20, 5), (60, 40, 17), (3200, 300, 40)])
def test_graded_cholesky_matches_householder_qr(d, M, N):
    """The per-time Gram/Cholesky evaluation of the graded method (K = A'ᵀA' + e^{−2Ã_N t}, Q_top = A_t C⁻¹) vs an
    independent factorisation: Householder QR of the (M + N) × N graded matrix of [Y0; C^{1/2}] (the previous
    algorithm), at times from 0 to where e^{ã_1 t} overflows by far, to 1e-13 (measured ~1e-15)."""
    from riccati._quadratic import _Core

    a = teacher_coefficients(1.0, M)
    core = _Core(a, sample_initial_overlap(4, d, M, N), "graded")
    for t in [0.0, 0.3, 7.0, 90.0, 2e3, 1e5]:
        r1, g1, s1 = core._eval_basis(core._graded_basis(t), slope=True)
        r2, g2, s2 = core._eval_basis(core._graded_basis(t, householder=True), slope=True)
        assert r1 == pytest.approx(r2, abs=1e-13)
        np.testing.assert_allclose(g1, g2, rtol=0, atol=1e-13)
        np.testing.assert_allclose(s1, s2, rtol=0, atol=1e-12)


def test_dual_cholesky_matches_householder_qr_with_relative_accuracy():
    """Dual method (M + N > d): Cholesky of the complement's Gram matrix vs Householder QR of the same (M + r) × r
    matrix; diag(I − G) agrees to 1e-12 *relative* (measured 8e-16), also where 1 − G_mm is 1e-273 (t = 400)."""
    from riccati._quadratic import _Core

    M, N, d = 40, 50, 70
    a = teacher_coefficients(1.0, M)
    core = _Core(a, sample_initial_overlap(6, d, M, N), "dual")
    assert 0 < core.r < M
    for t in [0.0, 1.0, 30.0, 400.0, 3000.0]:
        q1, q2 = core._dual_basis(t), core._dual_basis(t, householder=True)
        d1, d2 = np.einsum("ij,ij->i", q1, q1), np.einsum("ij,ij->i", q2, q2)
        np.testing.assert_allclose(d1, d2, rtol=1e-12, atol=1e-300)


def test_graded_work_buffers_reused_across_times_leave_nothing_stale():
    """The graded method reuses two (M, N) buffers across times, and the one that holds A_t is overwritten by Q_top.
    Evaluating times in any order on one core must give the same numbers as a fresh core per time (t = 1e5 has
    many column blocks and exactly-zero negligible rows; t = 0.3 one block and none)."""
    from threadpoolctl import threadpool_limits

    from riccati._quadratic import _Core

    a = teacher_coefficients(1.0, 120)
    Y0 = sample_initial_overlap(2, 400, 120, 20)
    with threadpool_limits(limits=1, user_api="blas"):  # as quadratic_flow does
        core = _Core(a, Y0, "graded")
        for t in [0.3, 1e5, 1.0, 2e3, 1e5, 0.3]:
            r1, g1, _ = core.evaluate(t)
            r2, g2, _ = _Core(a, Y0, "graded").evaluate(t)
            assert r1 == r2
            np.testing.assert_array_equal(g1, g2)
