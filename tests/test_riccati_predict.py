"""Predictions (THEORY.md §2) vs the exact flow, and the power-law fit helper."""

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
