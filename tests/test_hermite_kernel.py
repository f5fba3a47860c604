"""Gaussian kernels (closed forms vs series vs Monte Carlo), K(1) = E[σ²], derivatives, JAX activations."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si
import scipy.special as sps

import hermite

RHOS = np.array([-1.0, -0.8, -0.3, 0.0, 0.25, 0.6, 0.95, 1.0])


def _second_moment(f):
    v, _ = si.quad(
        lambda x: f(x) ** 2 * math.exp(-x * x / 2) / math.sqrt(2 * math.pi),
        -60,
        60,
        epsabs=1e-14,
        epsrel=1e-13,
        limit=200,
        points=[0.0],
    )
    return v


@pytest.mark.parametrize(
    ("spec", "numpy_f"),
    [
        ("relu", lambda x: max(x, 0.0)),
        ("abs", abs),
        ("sign", np.sign),
        ("erf", math.erf),
        ("erf(2*z)", lambda x: math.erf(2 * x)),
        ("3*Max(z,0) - 1", lambda x: 3 * max(x, 0.0) - 1),
        ("exp(z/2)", lambda x: math.exp(x / 2)),
        ("heaviside", lambda x: float(x > 0)),
        ("h4", lambda x: (x**4 - 6 * x**2 + 3) / math.sqrt(24)),
        ("tanh", math.tanh),
        ("softplus", lambda x: np.logaddexp(0.0, x)),
        ("Abs(z)**3", lambda x: abs(x) ** 3),
    ],
)
def test_K1_equals_second_moment(spec, numpy_f):
    ker = hermite.kernel(spec)
    m2 = _second_moment(numpy_f)
    assert ker.K1 == pytest.approx(m2, rel=1e-10)
    # K(1) from the jnp function: exact for closed forms, within the tail bound for series
    assert abs(float(ker.K(1.0)) - m2) <= ker.tail_bound + 1e-10 * m2


@pytest.mark.parametrize("spec", ["relu", "abs", "erf", "erf(z/3) + 2", "exp(z/3)", "sign", "heaviside"])
def test_closed_form_matches_series_from_exact_coefficients(spec):
    closed = hermite.kernel(spec)
    assert closed.closed_form is not None and closed.tail_bound == 0.0
    series = hermite.kernel(spec, degree=40)
    assert series.closed_form is None
    r = np.linspace(-0.85, 0.85, 13)  # the series converges geometrically inside |ρ| < 1
    kc, ks = np.asarray(closed.K(r)), np.asarray(series.K(r))
    assert np.max(np.abs(kc - ks)) < 1e-5
    assert np.max(np.abs(kc - ks)) <= series.tail_bound + 1e-14
    assert closed.c0 == pytest.approx(series.c0, abs=1e-14)


def test_polynomial_kernels_exact():
    for spec, poly in [("h4", [0, 0, 0, 0, 1]), ("He4", [0, 0, 0, 0, 24]), ("z**3 + z", [0, 16, 0, 6])]:
        ker = hermite.kernel(spec)
        want = np.polynomial.polynomial.polyval(RHOS, poly)
        assert np.asarray(ker.K(RHOS)) == pytest.approx(want, abs=1e-13)
        dwant = np.polynomial.polynomial.polyval(RHOS, np.polynomial.polynomial.polyder(poly))
        assert np.asarray(ker.dK(RHOS)) == pytest.approx(dwant, abs=1e-12)
        assert ker.tail_bound == 0.0


@pytest.mark.parametrize("spec", ["relu", "erf", "tanh", "h4", "abs"])
def test_kernel_against_monte_carlo(spec, rng):
    act = hermite.activation(spec)
    ker = hermite.kernel(spec)
    n = 200_000
    z = rng.standard_normal(n)
    e = rng.standard_normal(n)
    for rho in (-0.7, 0.0, 0.5, 0.9):
        zp = rho * z + math.sqrt(1 - rho * rho) * e
        prod = act.numpy(z) * act.numpy(zp)
        mc, se = prod.mean(), prod.std() / math.sqrt(n)
        assert abs(float(ker.K(rho)) - mc) < 5 * se + ker.tail_bound, (spec, rho)


@pytest.mark.parametrize("spec", ["relu", "abs", "sign", "erf", "exp(z/2)", "tanh", "h4"])
def test_dK_is_derivative_and_finite_at_the_ends(spec):
    ker = hermite.kernel(spec)
    r = np.linspace(-0.9, 0.9, 8)
    h = 1e-6
    fd = (np.asarray(ker.K(r + h)) - np.asarray(ker.K(r - h))) / (2 * h)
    assert np.asarray(ker.dK(r)) == pytest.approx(fd, rel=1e-6, abs=1e-8)
    ends = np.asarray(ker.dK(np.array([-1.0, 1.0, -1.5, 1.5, 0.0, 0.0, 0.0, 0.0])))  # clipped beyond ±1
    assert np.all(np.isfinite(ends))
    assert float(ker.K(1.5)) == pytest.approx(float(ker.K(1.0)), rel=1e-15)


@pytest.mark.parametrize("spec", ["relu", "tanh"])
def test_dK_matches_autodiff(spec):
    ker = hermite.kernel(spec)
    r = jnp.linspace(-0.9, 0.9, 8)
    g = jax.jit(jax.vmap(jax.grad(ker.K)))(r)
    assert np.asarray(ker.dK(r)) == pytest.approx(np.asarray(g), rel=1e-12, abs=1e-14)


def test_kernel_closed_forms_specific_values():
    relu = hermite.kernel("relu")
    assert float(relu.K(0.0)) == pytest.approx(1 / (2 * math.pi), rel=1e-15)  # = c_0² (independent z, z')
    assert float(relu.K(-1.0)) == pytest.approx(0.0, abs=1e-15)  # relu(z)relu(−z) = 0
    assert float(relu.dK(1.0)) == pytest.approx(0.5, rel=1e-15)  # K'(1) = Σ j b_j² = E[σ'²] = 1/2
    erf = hermite.kernel("erf")
    assert float(erf.K(0.5)) == pytest.approx(2 / math.pi * math.asin(1 / 3), rel=1e-15)
    sign = hermite.kernel("sign")
    assert float(sign.dK(1.0)) == pytest.approx(2 / math.pi / math.sqrt(np.finfo(np.float64).eps), rel=1e-12)


def test_kernel_jit_vmap_dtypes():
    ker = hermite.kernel("h4")
    f = jax.jit(jax.vmap(lambda m: ker.K(m) + 2 * ker.dK(m)))
    r = jnp.array([0.1, 0.5, -1.0])
    assert np.asarray(f(r)) == pytest.approx(np.asarray(r) ** 4 + 8 * np.asarray(r) ** 3, rel=1e-14)
    assert ker.K(jnp.ones((2, 3), jnp.float32)).dtype == jnp.float32
    assert ker.K(jnp.ones((2, 3, 4))).shape == (2, 3, 4)
    relu = hermite.kernel("relu")
    assert relu.K(jnp.array([1.0, -1.0], jnp.float32)).dtype == jnp.float32
    assert np.all(np.isfinite(np.asarray(jax.jit(relu.dK)(jnp.array([1.0, -1.0], jnp.float32)))))


@pytest.mark.parametrize(
    ("spec", "ref"),
    [
        ("relu", lambda x: np.maximum(x, 0)),
        ("tanh", np.tanh),
        ("sigmoid", sps.expit),
        ("gelu", lambda x: x * (1 + sps.erf(x / math.sqrt(2))) / 2),
        ("h4", lambda x: (x**4 - 6 * x**2 + 3) / math.sqrt(24)),
        ("Abs(z)**3 - sin(z)", lambda x: np.abs(x) ** 3 - np.sin(x)),
        ("Piecewise((z, z > 1), (0, True))", lambda x: np.where(x > 1, x, 0.0)),
    ],
)
def test_activation_fn_dfn(spec, ref):
    act = hermite.activation(spec)
    x = np.array([-2.3, -1.1, -0.4, 0.3, 0.7, 1.6, 2.9])
    assert np.asarray(act.fn(x)) == pytest.approx(ref(x), rel=1e-13, abs=1e-14)
    h = 1e-6
    fd = (ref(x + h) - ref(x - h)) / (2 * h)
    assert np.asarray(act.dfn(x)) == pytest.approx(fd, rel=1e-6, abs=1e-7)
    x32 = jnp.asarray(x, jnp.float32).reshape(7, 1)
    y = jax.jit(act.fn)(x32)
    assert y.dtype == jnp.float32 and y.shape == (7, 1)
    assert act.dfn(x32).dtype == jnp.float32


def test_activation_parity_and_callable():
    assert hermite.activation("h4").is_even and not hermite.activation("h4").is_odd
    assert hermite.activation("tanh").is_odd
    relu = hermite.activation("relu")
    assert relu.is_even is False and relu.is_odd is False
    act = hermite.activation(lambda x: jnp.sin(x) ** 2)
    assert act.is_even and act.expr is None
    x = jnp.array([0.3, -1.2])
    assert np.asarray(act.dfn(x)) == pytest.approx(np.sin(2 * np.asarray(x)), rel=1e-12)
