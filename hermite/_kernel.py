"""Gaussian kernel K(ρ) = E[σ(z)σ(z')], corr(z, z') = ρ, as JAX-jittable K and K' (docs/theory.md §1, §3).

Mehler: K(ρ) = Σ_j j! c_j² ρ^j = Σ_j b_j² ρ^j. Closed forms used when σ = A·f(z) + B with f one of
  ReLU  max(z,0):  K_f = (√(1−ρ²) + (π − arccos ρ) ρ)/(2π),   K_f' = (π − arccos ρ)/(2π)   (arc-cosine kernel)
  |z|:             K_f = (2/π)(√(1−ρ²) + ρ arcsin ρ),          K_f' = (2/π) arcsin ρ
  sign(z) (Heaviside = (1+sign)/2): K_f = (2/π) arcsin ρ,       K_f' = (2/π)/√(1−ρ²)
  erf(az):         K_f = (2/π) arcsin(γρ), γ = 2a²/(1+2a²),     K_f' = (2/π) γ/√(1−γ²ρ²)  (arcsine kernel)
  exp(az):         K_f = exp(a²(1+ρ)),                          K_f' = a² exp(a²(1+ρ))
then K = A² K_f + 2AB E[f] + B², K' = A² K_f'. Polynomials give the exact finite sum. Otherwise K is the series
truncated at ``degree`` with the Parseval tail bound  sup_{|ρ|≤1} |K − K_trunc| ≤ E[σ²] − Σ_{j≤K} b_j².

ρ is clipped to [−1, 1]. The only derivative that is infinite at |ρ| = 1 is sign's (2/π)/√(1−ρ²): there
1 − ρ² is floored at the dtype's machine epsilon, so K'(±1) = (2/π)/√eps (≈ 4.2e7 in float64), finite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from ._activation import Activation, Z, activation
from ._coefficients import HermiteCoefficients, coefficients
from ._exact import exact_coefficients, rationalize
from ._numeric import require_l2, second_moment
from .validation import require_int

__all__ = ["GaussianKernel", "kernel"]

DEFAULT_DEGREE = 40
RHO = sp.Symbol("rho", real=True)


@dataclasses.dataclass(frozen=True)
class GaussianKernel:
    """K(ρ) = E[σ(z)σ(z')] for standard Gaussians with correlation ρ (docs/theory.md §1).

    Attributes:
        K: ``K(rho)`` elementwise, pure jnp (jit/vmap/grad-safe), any shape, ρ clipped to [−1, 1];
            float32 in → float32 out, float64 in → float64 out.
        dK: ``dK(rho)`` = K'(ρ), same conventions (finite at ρ = ±1, see module doc).
        K1: E[σ²] = K(1) (float; exact closed form or adaptive quadrature, independent of the series).
        c0: E[σ] = K(0)^{1/2} in sign, the He_0 coefficient (float).
        closed_form: K as a string in ``rho`` when a closed form is used, else ``None``.
        tail_bound: bound on sup_{|ρ|≤1} |K − K_series| (0 for closed forms), from Parseval.
        degree: truncation degree of the series (``None`` for closed forms).
        coefficients: ``HermiteCoefficients`` in the h basis used for the series (``None`` for non-polynomial
            closed forms).
    """

    K: Callable = dataclasses.field(repr=False)
    dK: Callable = dataclasses.field(repr=False)
    K1: float
    c0: float
    closed_form: str | None
    tail_bound: float
    degree: int | None = None
    coefficients: HermiteCoefficients | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self):
        if not (np.isfinite(self.K1) and self.K1 >= 0):
            raise ValueError(f"`K1`={self.K1} must be finite and ≥ 0")
        if not (self.tail_bound >= 0):
            raise ValueError(f"`tail_bound`={self.tail_bound} must be ≥ 0")


def _prep(rho):
    r = jnp.asarray(rho)
    if not jnp.issubdtype(r.dtype, jnp.floating):
        r = r.astype(jnp.result_type(float))
    return jnp.clip(r, -1.0, 1.0)


def _one_minus_sq(r):
    return jnp.maximum(1.0 - r * r, jnp.finfo(r.dtype).eps)


def _relu(r):
    return (jnp.sqrt(jnp.maximum(1.0 - r * r, 0.0)) + (jnp.pi - jnp.arccos(r)) * r) / (2 * jnp.pi)


def _relu_d(r):
    return (jnp.pi - jnp.arccos(r)) / (2 * jnp.pi)


def _abs(r):
    return (2 / jnp.pi) * (jnp.sqrt(jnp.maximum(1.0 - r * r, 0.0)) + r * jnp.arcsin(r))


def _abs_d(r):
    return (2 / jnp.pi) * jnp.arcsin(r)


def _sign(r):
    return (2 / jnp.pi) * jnp.arcsin(r)


def _sign_d(r):
    return (2 / jnp.pi) / jnp.sqrt(_one_minus_sq(r))


def _bases(expr):
    """Candidate (atom, family, parameter a) occurring in expr."""
    out = []
    for atom in expr.atoms(sp.Max):
        if set(atom.args) == {Z, sp.S.Zero}:
            out.append((atom, "relu", None))
    for atom in expr.atoms(sp.Abs):
        if atom.args[0] == Z:
            out.append((atom, "abs", None))
    for atom in expr.atoms(sp.sign):
        if atom.args[0] == Z:
            out.append((atom, "sign", None))
    for atom in expr.atoms(sp.erf, sp.exp):
        a = sp.simplify(atom.args[0] / Z)
        if not a.has(Z) and a.is_real and a != 0:
            out.append((atom, "erf" if isinstance(atom, sp.erf) else "exp", a))
    return out


def _family(fam, a):
    """(K_f, K_f', E f, E f² as sympy, string of K_f in rho)."""
    if fam == "relu":
        ks = (sp.sqrt(1 - RHO**2) + (sp.pi - sp.acos(RHO)) * RHO) / (2 * sp.pi)
        return _relu, _relu_d, 1 / sp.sqrt(2 * sp.pi), ks
    if fam == "abs":
        return _abs, _abs_d, sp.sqrt(2 / sp.pi), 2 / sp.pi * (sp.sqrt(1 - RHO**2) + RHO * sp.asin(RHO))
    if fam == "sign":
        return _sign, _sign_d, sp.S.Zero, 2 / sp.pi * sp.asin(RHO)
    af = float(a)
    if fam == "erf":
        gs = 2 * a**2 / (1 + 2 * a**2)
        g = float(gs)
        return (
            lambda r: (2 / jnp.pi) * jnp.arcsin(g * r),
            lambda r: (2 / jnp.pi) * g / jnp.sqrt(jnp.maximum(1.0 - (g * r) ** 2, jnp.finfo(r.dtype).eps)),
            sp.S.Zero,
            2 / sp.pi * sp.asin(gs * RHO),
        )
    # exp
    return (
        lambda r: jnp.exp(af * af * (1.0 + r)),
        lambda r: af * af * jnp.exp(af * af * (1.0 + r)),
        sp.exp(a**2 / 2),
        sp.exp(a**2 * (1 + RHO)),
    )


def _closed_affine(expr):
    """σ = A f + B with f a known family: returns (K, dK, K1, c0, string) or None."""
    e = expr.replace(lambda x: isinstance(x, sp.Heaviside) and x.args[0] == Z, lambda x: (1 + sp.sign(Z)) / 2)
    for atom, fam, a in _bases(e):
        X = sp.Dummy("X")
        e2 = sp.expand(e.xreplace({atom: X}))
        if e2.has(Z):
            continue
        A = sp.diff(e2, X)
        if A.has(X) or A == 0:
            continue
        B = sp.simplify(e2.subs(X, 0))
        Kf, dKf, Ef, ks = _family(fam, a)
        Af = float(A)
        cross = float(2 * A * B * Ef + B**2)

        @jax.jit
        def K(rho, Kf=Kf, Af=Af, cross=cross):
            r = _prep(rho)
            return (Af * Af * Kf(r) + cross).astype(r.dtype)

        @jax.jit
        def dK(rho, dKf=dKf, Af=Af):
            r = _prep(rho)
            return (Af * Af * dKf(r)).astype(r.dtype)

        kexpr = A**2 * ks + 2 * A * B * Ef + B**2
        K1 = float(sp.N(kexpr.subs(RHO, 1), 30))
        c0 = float(sp.N(A * Ef + B, 30))
        return K, dK, K1, c0, str(sp.simplify(kexpr))
    return None


def _horner(coef_desc: np.ndarray, r):
    """Σ_j coef[j] r^j, coefficients highest degree first (unrolled when short, else one lax.scan loop)."""
    if len(coef_desc) <= 16:  # short polynomials (h_k, He_k): unrolled, cheapest inside ODE right-hand sides
        acc = jnp.zeros_like(r)
        for ci in coef_desc:
            acc = acc * r + jnp.asarray(ci, dtype=r.dtype)
        return acc
    c = jnp.asarray(coef_desc, dtype=r.dtype)

    def body(acc, ci):
        return acc * r + ci, None

    acc, _ = jax.lax.scan(body, jnp.zeros_like(r), c)
    return acc


def _series(b2: np.ndarray):
    """K(ρ) = Σ_j b2[j] ρ^j and K'(ρ) = Σ_j j b2[j] ρ^{j−1} by Horner's rule."""
    coef = np.asarray(b2, dtype=np.float64)
    rev = coef[::-1].copy()
    drev = (coef[1:] * np.arange(1, coef.size))[::-1].copy()

    @jax.jit
    def K(rho):
        return _horner(rev, _prep(rho))

    @jax.jit
    def dK(rho):
        r = _prep(rho)
        return _horner(drev, r) if drev.size else jnp.zeros_like(r)

    return K, dK


def _second_moment_exact(act: Activation):
    """E[σ²] exactly when σ² is in a closed-form class, else None."""
    if act.expr is None:
        return None
    try:
        ex, _ = exact_coefficients(sp.expand(rationalize(act.expr) ** 2), 0)
    except Exception:
        return None
    return None if ex is None else float(sp.N(ex[0], 30))


def kernel(spec, degree: int | None = None) -> GaussianKernel:
    """The Gaussian kernel K(ρ) = E[σ(⟨u,x⟩)σ(⟨v,x⟩)], ρ = ⟨u, v⟩, of an activation (docs/theory.md §1).

    K(ρ) = Σ_j j! c_j² ρ^j (Mehler). Closed forms: polynomials (finite sum), A·ReLU + B (arc-cosine),
    A·|z| + B, A·sign + B, A·Heaviside + B (arcsine), A·erf(az) + B (arcsine), A·exp(az) + B. Otherwise the
    series truncated at ``degree`` (default 40) with a Parseval tail bound. With ``degree`` given, the series
    is used even when a closed form exists (except for polynomials of lower degree, which are exact).

    Args:
        spec: anything ``activation`` accepts.
        degree: truncation degree K ≥ 0 for the series, or None (closed form if known, else 40).

    Examples:
        >>> k = kernel("h4"); float(k.K(0.5)), k.closed_form     # h_4: K = ρ⁴
        (0.0625, 'rho**4')
    """
    act = activation(spec)
    if degree is not None:
        degree = require_int("degree", degree, lo=0, hi=150, fix="use e.g. 40")
    expr = None if act.expr is None else rationalize(act.expr)
    if expr is not None:
        pc = None
        if expr.is_polynomial(Z):
            pdeg = sp.Poly(expr, Z).degree() if expr.has(Z) else 0
            co = coefficients(expr, max(pdeg, 0), "He")
            b2 = [sp.factorial(j) * e**2 for j, e in enumerate(co.exact)]
            kexpr = sp.expand(sum(c * RHO**j for j, c in enumerate(b2)))
            K, dK = _series(np.array([float(sp.N(c, 30)) for c in b2]))
            return GaussianKernel(
                K=K,
                dK=dK,
                K1=float(sp.N(kexpr.subs(RHO, 1), 30)),
                c0=float(co.values[0]),
                closed_form=str(kexpr),
                tail_bound=0.0,
                degree=pdeg,
                coefficients=co.to_basis("h"),
            )
        if degree is None:
            pc = _closed_affine(expr)
        if pc is not None:
            K, dK, K1, c0, s = pc
            return GaussianKernel(K=K, dK=dK, K1=K1, c0=c0, closed_form=s, tail_bound=0.0)
    deg = DEFAULT_DEGREE if degree is None else degree
    co = coefficients(act, deg, "h")
    b = co.values
    K1 = _second_moment_exact(act)
    k1_err = 0.0
    if K1 is None:
        require_l2(act.numpy, act.name)
        K1, k1_err = second_moment(act.numpy, act.name)
    partial = float(np.sum(b * b))
    tail = max(K1 - partial, 0.0) + k1_err + float(np.sum(2 * np.abs(b) * co.errors + co.errors**2))
    K, dK = _series(b * b)
    c0 = float(co.values[0])
    return GaussianKernel(
        K=K, dK=dK, K1=float(K1), c0=c0, closed_form=None, tail_bound=tail, degree=deg, coefficients=co
    )
