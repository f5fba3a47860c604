"""Predictions (docs/theory.md §2) vs the exact flow, and the power-law fit helper."""

from __future__ import annotations

import numpy as np
import pytest

import riccati


def test_fit_power_law_recovers_exact_power_law_and_reports_window():
    t = np.geomspace(0.1, 1e4, 50)
    R = np.minimum(1.0, 3.0 * t**-0.75) + 1e-3  # plateau at 1, power law, floor 1e-3
    f = riccati.fit_power_law(t, 3.0 * t**-0.75, window=(10, 100))  # exact power law: exact fit
    assert f.exponent == pytest.approx(-0.75, abs=1e-12) and f.prefactor == pytest.approx(3.0, rel=1e-12)
    assert f.window[0] >= 10 and f.window[1] <= 100 and f.stderr < 1e-10
    auto = riccati.fit_power_law(t, R, floor=1e-3)
    assert auto.window[0] > 3.0 ** (1 / 0.75)  # past the plateau
    assert 3.0 * auto.window[1] ** -0.75 >= 2e-3  # before the floor dominates
    assert auto.exponent == pytest.approx(-0.75, abs=0.1) and "auto" in auto.rule
    with pytest.raises(ValueError, match="points"):
        riccati.fit_power_law(t, R, window=(10, 11))


def test_prediction_constants():
    p = riccati.quadratic_predictions(1.0, 100, 10, 1000)
    assert p.time_exponent == -1.0 and p.compute_exponent == pytest.approx(-0.5)
    assert riccati.quadratic_predictions(0.8, 100, 10, 1000).compute_exponent == pytest.approx(-1 / 3)
    a = riccati.teacher_coefficients(1.0, 100)
    assert p.floor == pytest.approx(np.sum(a[10:] ** 2))
    np.testing.assert_allclose(p.emergence_times, np.log(100) / (2 * a))
    # additive curve: 1 before anything emerges, the width floor after everything learnable emerged
    assert p.additive_curve([0.0])[0] == pytest.approx(1.0)
    assert p.additive_curve([1e9])[0] == pytest.approx(p.floor)


def test_fitted_exponent_of_exact_flow_matches_prediction_beta_1():
    """β = 1, N = M = 200, d = 1e8: the exact flow's fitted exponent is within 0.15 of (1−2β)/β = −1
    (finite-M and log(d) corrections; measured −1.06)."""
    M = N = 200
    d = 10**8
    a = riccati.teacher_coefficients(1.0, M)
    sol = riccati.quadratic_flow(
        a, riccati.sample_initial_overlap(0, d, M, N), np.geomspace(1, 1e5, 40), emergence="interp"
    )
    f = riccati.fit_quadratic_flow(sol)
    assert f.exponent == pytest.approx(-1.0, abs=0.15)
    assert f.window[0] < f.window[1] and f.n_points >= 5


def test_width_plateau_and_additive_model_vs_exact_flow():
    """N < M: R(∞) is the width floor; β < 1/2 floor ≈ 1 − φ^{1−2β}; logistic additive curve tracks R(t)."""
    M, N, d, beta = 200, 100, 10**6, 0.3
    a = riccati.teacher_coefficients(beta, M)
    t = np.geomspace(1, 1e5, 40)
    sol = riccati.quadratic_flow(a, riccati.sample_initial_overlap(1, d, M, N), t, emergence="interp")
    p = riccati.quadratic_predictions(beta, M, N, d)
    assert sol.risk[-1] == pytest.approx(p.floor, abs=1e-9)
    # continuum vs discrete sums at M = 200: within 0.03 absolute
    assert p.floor_asymptotic == pytest.approx(p.floor, abs=0.03)
    # β = 1, N < M: logistic (no-interaction) model within 30% of the exact risk over the decay window
    M, N = 300, 60
    a = riccati.teacher_coefficients(1.0, M)
    sol = riccati.quadratic_flow(a, riccati.sample_initial_overlap(2, d, M, N), t, emergence="interp")
    p = riccati.quadratic_predictions(1.0, M, N, d)
    win = (sol.risk < 0.5) & (sol.risk > 2 * sol.floor)
    assert win.sum() >= 5
    np.testing.assert_allclose(p.logistic_curve(t[win]), sol.risk[win], rtol=0.3)


# ---- issue 10: predictions at finite M and N --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("beta", "M", "N"), [(0.8, 64, 8), (0.8, 2400, 200), (1.0, 100, 10), (2.0, 64, 8), (0.3, 64, 32), (0.5, 100, 10)]
)
def test_floor_asymptotic_keeps_the_teacher_cutoff(beta, M, N):
    """Independent truth: the exact sum Σ_{N<m≤M} ã_m². The old M → ∞ formula gave 0.2227 (exact 0.151) at M = 64,
    N = 8, β = 0.8 and 0.0306 (exact 0.0236) at M = 2400, N = 200."""
    a = riccati.teacher_coefficients(beta, M)
    exact = float(np.sum(a[N:] ** 2))
    p = riccati.quadratic_predictions(beta, M, N, 10 * M)
    assert p.floor == pytest.approx(exact, rel=1e-13)
    assert p.floor_asymptotic == pytest.approx(exact, rel=2e-3)
    assert riccati.floor_euler_maclaurin(beta, M, N) == p.floor_asymptotic


@pytest.mark.parametrize("beta", [0.3, 0.5])
def test_no_exponents_for_beta_at_most_one_half(beta):
    """β ≤ 1/2 has no power law in t: exponents are None and the regime names its plateau law (was 1.333, 0.308)."""
    p = riccati.quadratic_predictions(beta, 100, 50, 10**4)
    assert p.time_exponent is None and p.compute_exponent is None and p.sgd_flops_exponent is None
    assert p.regime == ("beta<1/2" if beta < 0.5 else "beta=1/2") and "no power law" in p.regime_law
    if beta < 0.5:
        assert p.plateau == pytest.approx(1 - 0.5 ** (1 - 2 * beta)) and "φ" in p.plateau_law


def test_compute_exponents_from_their_definitions():
    """Both compute exponents, checked by minimising L = t^{(1−2β)/β} ∨ N^{1−2β} over (N, t) at fixed compute
    numerically (independent of the closed forms): canonical C = N·t, and SGD FLOPs C = t·N^{1+β} (c = 1/√N,
    flow-tracking η ∝ ã_N/(c d) ∝ N^{−β}·√N/d ⇒ steps ∝ t·N^β·d, d·N flops per step)."""
    for beta in (0.8, 1.0, 1.5):
        p = riccati.scaling_predictions(beta, 10**6, 10)
        logN = np.linspace(0, 40, 40001)

        def best(logC, cost_power, beta=beta, logN=logN):
            logt = logC - cost_power * logN  # C = t·N^{cost_power}
            L = np.maximum((1 - 2 * beta) / beta * logt, (1 - 2 * beta) * logN)
            return L.min()

        for cost_power, expo in ((1.0, p.compute_exponent), (1.0 + beta, p.sgd_flops_exponent)):
            slope = (best(60.0, cost_power) - best(30.0, cost_power)) / 30.0
            assert slope == pytest.approx(expo, abs=1e-3)
    assert riccati.scaling_predictions(1.0, 100, 10).sgd_flops_exponent == pytest.approx(-1 / 3)


def test_step_size_helper_inverts_the_step_size_parameter():
    a = riccati.teacher_coefficients(1.0, 32)
    p = {"d": 500, "M": 32, "N": 8, "batch": 2}
    for model in ("quadratic", "homogeneous"):
        eta = riccati.eta_for_step_parameter(model, 0.05, p, a)
        assert riccati.step_size_parameter(model, dict(p, eta=eta), a)[0] == pytest.approx(0.05, rel=1e-14)
    # quadratic closed form: ε = η c d ℓ0/(B ã_n), c = 1/√8, ℓ0 = 2(c²N + 1) = 4
    eta = riccati.eta_for_step_parameter("quadratic", 0.05, p, a)
    assert eta == pytest.approx(0.05 * 2 * a[7] / (500 * 4 / np.sqrt(8)), rel=1e-14)


def test_flow_fit_window_spans_enough_emergences_or_reports_none():
    """N = M = 8 (the README's size) has no power-law window: the old rule fitted between emergences 2 and 3 (one
    emergence); now it is refused with a reason. β ≤ 1/2: refused. A wide flow gets ≥ 8 emergences and a regression
    interval equal to scipy's linregress SE times the Student-t quantile."""
    from scipy import stats

    d = 10**6
    t = np.geomspace(1, 1e5, 60)
    a = riccati.teacher_coefficients(1.0, 8)
    sol = riccati.quadratic_flow(a, riccati.sample_initial_overlap(0, d, 8, 8), t)
    with pytest.raises(riccati.NoPowerLawWindow, match="no power-law window"):
        riccati.fit_quadratic_flow(sol, beta=1.0)
    with pytest.raises(riccati.NoPowerLawWindow, match="β = 0.3"):
        riccati.fit_quadratic_flow(sol, beta=0.3)
    M = N = 64
    a = riccati.teacher_coefficients(1.0, M)
    sol = riccati.quadratic_flow(a, riccati.sample_initial_overlap(0, d, M, N), t)
    f = riccati.fit_quadratic_flow(sol, beta=1.0)
    assert f.n_emergences >= 8 and sol.time_label == "t = 4cη·steps"  # short axis label (item 17)
    sel = (t >= f.window[0]) & (t <= f.window[1])
    lr = stats.linregress(np.log(t[sel]), np.log(sol.risk[sel]))
    q = stats.t.ppf(0.975, sel.sum() - 2)
    assert f.exponent == pytest.approx(lr.slope, rel=1e-12)
    assert f.ci[0] == pytest.approx(lr.slope - q * lr.stderr, rel=1e-9)
    assert f.ci[1] == pytest.approx(lr.slope + q * lr.stderr, rel=1e-9)
    assert f.local_range is not None and f.local_range[0] < f.local_range[1]


def test_homogeneous_emergence_from_actual_initial_overlaps():
    """Item 7: the first neuron to escape is the one with the largest initial overlap. Predicting each direction
    from s0 = max_i m_ip(0)² matches the exact flow's emergence (median |log ratio| < 0.05 over 3 seeds × 2
    directions); the typical-neuron rule s0 = 1/d is off by factors 0.25–6 (median |log ratio| > 0.5)."""
    d = 200
    a = riccati.teacher_coefficients(1.0, 2)
    new, old = [], []
    for seed in range(3):
        st = riccati.sample_homogeneous_state(seed, d, 2, 3)  # (N=3, M=2, 16 times): the compiled test shape
        Tn = riccati.predicted_emergence_from_overlaps(a, st[1], 4)
        To = riccati.predicted_emergence_homogeneous(a, d, 4)
        sol = riccati.homogeneous_flow("h4", a, times=np.linspace(0, 4 * To.max(), 16), state=st, d=d)
        ok = np.isfinite(sol.emergence_times)
        new += list(np.log(Tn[ok] / sol.emergence_times[ok]))
        old += list(np.log(To[ok] / sol.emergence_times[ok]))
    assert len(new) >= 5
    assert np.median(np.abs(new)) < 0.05 and np.max(np.abs(new)) < 0.1
    assert np.median(np.abs(old)) > 0.5
