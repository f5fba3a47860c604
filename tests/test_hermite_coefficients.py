"""Hermite coefficients against independently derived expansions, Parseval, reconstruction, exact vs numeric."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.integrate as si
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import hermite
from hermite import Z

SQ2PI = sp.sqrt(2 * sp.pi)
K = 30


def _same(a, b, digits=35):
    """Exact expressions agree to `digits` significant digits (far beyond float64)."""
    d = sp.N(a - b, digits + 10)
    scale = 1 + abs(sp.N(b, digits + 10))
    return abs(d) <= 10 ** (-digits) * scale


def _he0(n):
    return sp.hermite_prob(n, 0)


# Independent derivations (integration by parts with He_j φ = (−1)^j φ^{(j)}):
#   ReLU:  c_j = He_{j−2}(0) φ(0)/j! (j ≥ 2);  |z|: twice that;  sign: c_j = 2 He_{j−1}(0) φ(0)/j! (j odd);
#   exp(az): c_j = a^j e^{a²/2}/j!;  sin/cos: e^{−1/2} sin(jπ/2)/j!, e^{−1/2} cos(jπ/2)/j!.
TRUTH = {
    "relu": lambda j: 1 / SQ2PI if j == 0 else sp.Rational(1, 2) if j == 1 else _he0(j - 2) / SQ2PI / sp.factorial(j),
    "abs": lambda j: sp.sqrt(2 / sp.pi) if j == 0 else 0 if j == 1 else 2 * _he0(j - 2) / SQ2PI / sp.factorial(j),
    "sign": lambda j: 0 if j % 2 == 0 else 2 * _he0(j - 1) / SQ2PI / sp.factorial(j),
    "exp(z)": lambda j: sp.exp(sp.Rational(1, 2)) / sp.factorial(j),
    "exp(-z/3)": lambda j: sp.Rational(-1, 3) ** j * sp.exp(sp.Rational(1, 18)) / sp.factorial(j),
    "sin(z)": lambda j: sp.exp(sp.Rational(-1, 2)) * sp.sin(j * sp.pi / 2) / sp.factorial(j),
    "cos(z)": lambda j: sp.exp(sp.Rational(-1, 2)) * sp.cos(j * sp.pi / 2) / sp.factorial(j),
    "heaviside": lambda j: sp.Rational(1, 2) if j == 0 else TRUTH["sign"](j) / 2,
}


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_exact_coefficients_match_independent_formulas(name):
    co = hermite.coefficients(name, K)
    assert co.is_exact.all() and co.method.startswith("exact")
    for j in range(K + 1):
        assert _same(co.exact[j], TRUTH[name](j)), (name, j, co.exact[j])
        assert co.values[j] == pytest.approx(float(sp.N(TRUTH[name](j), 30)), rel=1e-14, abs=1e-300)


def test_relu_low_order_symbolic():
    ex = hermite.coefficients("Max(z, 0)", 4).exact
    truth = [1 / SQ2PI, sp.Rational(1, 2), 1 / (2 * SQ2PI), 0, -1 / (24 * SQ2PI)]
    assert all(sp.simplify(a - b) == 0 for a, b in zip(ex, truth, strict=True))


def test_erf_and_piecewise_against_high_precision_quadrature():
    mp.mp.dps = 20
    cases = {
        "erf": lambda x: mp.erf(x),
        "Piecewise((z**2, z > 1), (-z, z < -1/2), (0, True))": lambda x: x**2 if x > 1 else (-x if x < -0.5 else 0),
        "Max(Abs(z) - 1, 0)": lambda x: max(abs(x) - 1, 0),
        "gelu": lambda x: x * (1 + mp.erf(x / mp.sqrt(2))) / 2,
        "z**2*exp(z/2) + sinh(z/3)": lambda x: x**2 * mp.exp(x / 2) + mp.sinh(x / 3),
    }
    for spec, f in cases.items():
        co = hermite.coefficients(spec, 7)
        assert co.is_exact.all(), spec
        for j in (0, 1, 6):
            he = sp.lambdify(Z, sp.hermite_prob(j, Z), "mpmath")
            pts = [-12, -1, -0.5, 0, 1, 12]  # breakpoints as nodes; |z| > 12 contributes < 1e-30
            ref = mp.quad(lambda x, f=f, he=he: f(x) * he(x) * mp.npdf(x), pts) / math.factorial(j)
            assert abs(co.values[j] - float(ref)) < 1e-14 * (1 + abs(float(ref))), (spec, j)


@given(st.lists(st.integers(-20, 20), min_size=1, max_size=9))
@settings(max_examples=25, deadline=None)
def test_polynomial_reconstructed_from_its_coefficients(ints):
    p = sum(sp.Integer(a) * Z**n for n, a in enumerate(ints))
    deg = len(ints) - 1
    co = hermite.coefficients(p if p != 0 else sp.S.Zero, deg + 2)
    recon = sum(c * sp.hermite_prob(j, Z) for j, c in enumerate(co.exact))
    assert sp.expand(recon - p) == 0
    assert all(c == 0 for c in co.exact[deg + 1 :])
    # Parseval for a polynomial is exact: Σ j! c_j² = E[p²] from Gaussian moments E z^{2k} = (2k−1)!!
    p2 = sp.Poly(sp.expand(p * p), Z).all_coeffs()[::-1]
    moment = sum(c * (sp.factorial2(n - 1) if n % 2 == 0 else 0) for n, c in enumerate(p2))
    assert sum(sp.factorial(j) * c**2 for j, c in enumerate(co.exact)) == moment


def _second_moment_quad(f):
    v, _ = si.quad(
        lambda x: f(x) ** 2 * math.exp(-x * x / 2) / math.sqrt(2 * math.pi),
        -np.inf,
        np.inf,
        epsabs=1e-14,
        epsrel=1e-13,
        limit=200,
    )
    return v


@pytest.mark.parametrize(
    ("spec", "second_moment", "degree", "tol"),
    [
        ("exp(z/2)", math.e**0.5, 30, 1e-14),  # E e^z = e^{1/2}; tail (1/4)^j/j! negligible
        ("erf", 2 / math.pi * math.asin(2 / 3), 50, 1e-8),  # arcsine kernel at ρ = 1; tail ~ (2/3)^50/50
        ("sin(z)", (1 - math.exp(-2)) / 2, 30, 1e-14),  # E sin² = (1 − e^{−2})/2
        ("tanh", _second_moment_quad(math.tanh), 80, 1e-8),  # numeric; tail bound from kernel(80)
        ("relu", 0.5, 60, 3e-4),  # algebraic decay b_j² ~ j^{−5/2}: tail Σ_{j>60} ≈ 2e-4
    ],
)
def test_parseval(spec, second_moment, degree, tol):
    co = hermite.coefficients(spec, degree, basis="h")
    partial = float(np.sum(co.values**2))
    assert partial <= second_moment + 1e-13
    assert second_moment - partial < tol
    # and the truncation error bound reported by the kernel is honest
    ker = hermite.kernel(spec, degree=degree)
    assert ker.K1 == pytest.approx(second_moment, rel=1e-12, abs=1e-13)
    assert second_moment - partial <= ker.tail_bound + 1e-13


@pytest.mark.parametrize("spec", ["erf", "gelu", "sin(z)", "exp(z/2)", "z**3 - z + 2", "erf(z/2)*z**2"])
def test_exact_agrees_with_numeric(spec):
    ex = hermite.coefficients(spec, 40, basis="h")
    nu = hermite.coefficients(spec, 40, basis="h", exact=False)
    assert ex.is_exact.all() and not nu.is_exact.any()
    diff = np.abs(ex.values - nu.values)
    assert diff.max() < 1e-12
    assert np.all(diff <= nu.errors + 1e-15)  # the error estimate covers the actual error


def test_basis_conversion_and_callable_route():
    co = hermite.coefficients("h4", 6, basis="h")
    assert co.values == pytest.approx([0, 0, 0, 0, 1, 0, 0], abs=1e-15)
    he = hermite.coefficients("h4", 6, basis="He")
    assert he.values[4] == pytest.approx(1 / math.sqrt(24), rel=1e-15)
    f = hermite.coefficients(lambda x: x**3 - 3 * x, 5)
    assert not f.is_exact.any() and f.method.startswith("numeric")
    assert f.values == pytest.approx([0, 0, 0, 1, 0, 0], abs=1e-13)


IE_TABLE = [
    ("z", 1),
    ("relu", 1),
    ("abs", 2),
    ("He4", 4),
    ("h4", 4),
    ("z**2 - 1", 2),
    ("sin(z)", 1),
    ("cos(z) - exp(-1/2)", 2),
    ("sign", 1),
    ("He3 + He5", 3),
    ("tanh", 1),
    ("Abs(z)**3", 2),
    ("exp(z)", 1),
    ("3", None),
    ("He6/2 - 7*He8", 6),
    ("sigmoid", 1),
    ("gelu", 1),
]


@pytest.mark.parametrize(("spec", "ie"), IE_TABLE)
def test_information_exponent_table(spec, ie):
    assert hermite.information_exponent(spec, degree=10) == ie


def test_information_exponent_numeric_tolerance_and_coeffs_input():
    # an even callable: odd coefficients are numerically ~1e-16, below tol
    co = hermite.coefficients(lambda x: np.cos(x) - math.exp(-0.5), 8)
    assert hermite.information_exponent(co) == 2
    assert hermite.information_exponent(lambda x: np.cos(x) - math.exp(-0.5), degree=8, tol=1e-3) == 2
    assert hermite.information_exponent("He6", degree=4) is None  # IE beyond the searched degree


def test_irrational_breakpoint_and_mixed_sum():
    r2 = sp.sqrt(2)
    phi = sp.exp(-(r2**2) / 2) / SQ2PI
    Phi = (1 + sp.erf(r2 / sp.sqrt(2))) / 2
    co = hermite.coefficients("Max(z, sqrt(2))", 2)
    # E max(z, a) = φ(a) + a Φ(a);  c_1 = E[σ'] = P(z > a);  c_2 = E[σ'']/2 = φ(a)/2
    for got, want in zip(co.exact, [phi + r2 * Phi, 1 - Phi, phi / 2], strict=True):
        assert _same(got, want)
    mixed = hermite.coefficients("gelu(z) + relu(z) + sin(z)", 9)
    parts = [hermite.coefficients(s, 9) for s in ("gelu", "relu", "sin(z)")]
    assert mixed.is_exact.all()
    for j in range(10):
        assert _same(mixed.exact[j], sum(p.exact[j] for p in parts))


@pytest.mark.parametrize("spec", ["Min(z, 1)", "sign(z - 1)", "Abs(z**2 - 2)"])
def test_numeric_error_estimate_covers_kinks_and_jumps(spec):
    ex = hermite.coefficients(spec, 12, basis="h")
    nu = hermite.coefficients(spec, 12, basis="h", exact=False)
    assert ex.is_exact.all()
    assert np.all(np.abs(ex.values - nu.values) <= nu.errors)
