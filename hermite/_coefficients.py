"""Hermite coefficients of σ in the He or h basis, with exactness flags, and the information exponent.

Conventions (docs/theory.md §1): σ = Σ_j c_j He_j with c_j = E[σ He_j]/j!  ("He" basis, monic He_j);
σ = Σ_j b_j h_j with b_j = E[σ h_j] = √(j!) c_j  ("h" basis, orthonormal h_j = He_j/√(j!)).
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from contextlib import contextmanager
from math import factorial, sqrt

import numpy as np
import sympy as sp

from ._activation import Activation, Z, activation
from ._exact import NotSquareIntegrable, exact_coefficients
from ._numeric import _eval, gh_coefficients, require_l2
from .validation import require_choice, require_int, require_real

__all__ = ["HermiteCoefficients", "coefficients", "information_exponent", "MAX_DEGREE"]

MAX_DEGREE = 150
#: seconds allowed for the exact routes before falling back to numerics
EXACT_TIME_LIMIT = 5.0


@dataclasses.dataclass(frozen=True)
class HermiteCoefficients:
    """Hermite coefficients of an activation, j = 0..degree.

    Attributes:
        values: float64 array (degree+1,): c_j in the "He" basis or b_j = √(j!) c_j in the "h" basis.
        exact: list of sympy expressions (exact values) or ``None`` where only a numeric value is known.
        errors: float64 array (degree+1,): absolute error estimates, 0 where exact (float rounding aside).
        basis: "He" (monic, σ = Σ c_j He_j) or "h" (orthonormal, σ = Σ b_j h_j).
        degree: K, the highest degree.
        method: how the values were obtained (route name; says "numeric" when the fallback was used and why).
        activation: the ``Activation`` expanded.
    """

    values: np.ndarray
    exact: list
    errors: np.ndarray
    basis: str
    degree: int
    method: str
    activation: Activation = dataclasses.field(repr=False, compare=False)

    def __post_init__(self):
        require_choice("basis", self.basis, ("He", "h"))
        n = self.degree + 1
        if len(self.values) != n or len(self.exact) != n or len(self.errors) != n:
            raise ValueError(f"`values`, `exact`, `errors` must all have length degree+1 = {n}")

    @property
    def is_exact(self) -> np.ndarray:
        """Bool array: True where the coefficient is known exactly."""
        return np.array([e is not None for e in self.exact], dtype=bool)

    def to_basis(self, basis: str) -> HermiteCoefficients:
        """The same expansion in the other basis (b_j = √(j!) c_j)."""
        require_choice("basis", basis, ("He", "h"))
        if basis == self.basis:
            return self
        s = np.array([sqrt(factorial(j)) for j in range(self.degree + 1)])
        sym = [sp.sqrt(sp.factorial(j)) for j in range(self.degree + 1)]
        if basis == "h":
            vals, errs = self.values * s, self.errors * s
            ex = [None if e is None else sp.expand(e * q) for e, q in zip(self.exact, sym, strict=True)]
        else:
            vals, errs = self.values / s, self.errors / s
            ex = [None if e is None else sp.expand(e / q) for e, q in zip(self.exact, sym, strict=True)]
        return dataclasses.replace(self, values=vals, errors=errs, exact=ex, basis=basis)

    def l2_partial(self) -> float:
        """Σ_{j≤K} b_j² = Σ_{j≤K} j! c_j² (Parseval partial sum; equals E[σ²] in the limit K → ∞)."""
        b = self.to_basis("h").values
        return float(np.sum(b * b))


class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float):
    """Interrupt the block after ``seconds`` (SIGALRM on the main thread; no limit elsewhere)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def handler(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _label(act: Activation) -> str:
    return act.name


def _check_regular(act: Activation) -> None:
    """Raise ValueError naming the reason when σ's expression is not a function with finite values on R.

    (``activation`` already refuses ``DiracDelta``, a distribution.) Refused here: NaN values, and a real
    point z₀ where |σ| → ∞ (a pole such as 1/z or 1/z², a log singularity, tan's poles). Near z₀,
    |σ| ~ |z − z₀|^(−p): p ≥ 1/2 means E[σ²] = ∞; smaller p is square-integrable but unbounded, which
    Gauss–Hermite quadrature cannot resolve, so it is refused too. Removable points (sin(z)/z at 0) are
    accepted when sympy finds finite, equal one-sided limits.
    """
    expr = act.expr
    if expr is None:
        return
    label = _label(act)
    _eval(act.numpy, np.array([-19.0, -3.0, -1.0, -0.5, 0.5, 1.0, 3.0, 19.0]), label)  # NaN (log(z)) named first
    try:
        with _time_limit(EXACT_TIME_LIMIT):
            points = sp.singularities(expr, Z, sp.S.Reals)
    except _Timeout:
        return
    except Exception:  # sympy cannot decide for this expression: leave it to the numeric checks
        return
    if points is sp.S.EmptySet:
        return
    if not isinstance(points, sp.FiniteSet):
        raise ValueError(
            f"σ={label} has infinitely many real singularities ({points}): |σ| is unbounded there, so E[σ²] is "
            "infinite or cannot be computed; σ must be finite on R"
        )
    for z0 in sorted(points, key=lambda p: float(p)):
        reason = _singular_at(expr, z0)
        if reason:
            raise ValueError(f"σ={label} is singular at z={z0}: {reason}; σ must be finite on R (fix σ)")


def _singular_at(expr, z0) -> str | None:
    try:
        with _time_limit(EXACT_TIME_LIMIT):
            lims = [sp.limit(expr, Z, z0, d) for d in ("+", "-")]
            if all(v.is_finite and v.is_real for v in lims) and sp.simplify(lims[0] - lims[1]) == 0:
                return None  # removable; the numeric value at z0 itself is never sampled by the rules
            p = -sp.limit(sp.log(sp.Abs(expr)) / sp.log(sp.Abs(Z - z0)), Z, z0, "+")
    except Exception:
        return "|σ| is unbounded there (a pole or a jump to ±∞)"
    if p.is_number and p.is_finite and p >= sp.Rational(1, 2):
        return f"|σ| grows like |z − z₀|^(−{p}) there, so E[σ²] = ∞ under N(0,1) and σ has no Hermite expansion in L²"
    if p.is_number and p.is_finite and p > 0:
        return (
            f"|σ| grows like |z − z₀|^(−{p}) there: square-integrable but unbounded, which the quadrature cannot "
            "resolve"
        )
    return "|σ| is unbounded there (a logarithmic or other singularity)"


def _exact_or_none(act: Activation, K: int):
    if act.expr is None:
        return None, "callable: no expression"
    try:
        with _time_limit(EXACT_TIME_LIMIT):
            return exact_coefficients(act.expr, K)
    except NotSquareIntegrable:
        raise
    except _Timeout:
        return None, f"exact routes exceeded {EXACT_TIME_LIMIT:g} s"
    except Exception as exc:  # any sympy failure inside an exact route: fall back to numerics, say so
        return None, f"exact route failed ({type(exc).__name__})"


def coefficients(spec, degree: int, basis: str = "He", *, exact: bool = True) -> HermiteCoefficients:
    """Hermite coefficients of σ up to ``degree`` in the chosen basis (docs/theory.md §1).

    c_j = E[σ(z) He_j(z)]/j! ("He"), b_j = E[σ h_j] = √(j!) c_j ("h"), z ~ N(0, 1).
    Exact (sympy) values come from a change of basis (polynomials), truncated Gaussian moments (piecewise
    polynomials), or closed-form Gaussian expectations with Stein's identity (exp, sin, cos, sinh, cosh, erf,
    times polynomials); otherwise Gauss–Hermite quadrature at four orders gives ~1e-15 absolute accuracy for
    smooth σ with an error estimate (``.errors``), and ``.method`` says which route and why.

    Args:
        spec: anything ``activation`` accepts.
        degree: K ≥ 0 (integer, ≤ 150).
        basis: "He" or "h".
        exact: set False to skip the exact routes (numeric only).

    Raises:
        ValueError: negative/too large degree, σ not square-integrable under N(0,1), σ returning NaN/inf.
        TypeError: non-integer degree, bad spec kind.

    Examples:
        >>> coefficients("relu", 2).exact   # [1/√(2π), 1/2, 1/(2√(2π))]
        [sqrt(2)/(2*sqrt(pi)), 1/2, sqrt(2)/(4*sqrt(pi))]
    """
    K = require_int("degree", degree, lo=0, hi=MAX_DEGREE, fix="use a degree such as 10")
    require_choice("basis", basis, ("He", "h"), fix="He = monic probabilists' Hermite, h = orthonormal")
    act = activation(spec)
    label = _label(act)
    _check_regular(act)
    ex, how = (None, "exact routes skipped") if not exact else _exact_or_none(act, K)
    if ex is not None:
        vals = np.array([float(sp.N(e, 30)) for e in ex])
        if not np.all(np.isfinite(vals)):
            raise ValueError(f"σ={label}: coefficients overflow float64; rescale σ")
        res = HermiteCoefficients(
            values=vals,
            exact=list(ex),
            errors=np.zeros(K + 1),
            basis="He",
            degree=K,
            method=f"exact: {how}",
            activation=act,
        )
        return res.to_basis(basis)
    require_l2(act.numpy, label)
    b, err = gh_coefficients(act.numpy, K, label)
    res = HermiteCoefficients(
        values=b,
        exact=[None] * (K + 1),
        errors=err,
        basis="h",
        degree=K,
        method=f"numeric: Gauss–Hermite quadrature ({how})",
        activation=act,
    )
    return res.to_basis(basis)


def _is_zero(e, v: float, err: float, tol: float) -> bool:
    if e is not None:
        if e == 0 or e.is_zero is True:
            return True
        if e.is_zero is False:
            return False
        return abs(float(sp.N(e, 50))) < 1e-40
    return abs(v) <= max(tol, 10.0 * err)


def information_exponent(spec_or_coeffs, degree: int = 20, tol: float = 1e-10) -> int | None:
    """IE(σ) = min{j ≥ 1 : c_j ≠ 0} (Ben Arous–Gheissari–Jagannath 2021; docs/theory.md §1).

    Exact coefficients are tested for exact zero; numeric ones count as zero when |b_j| ≤ max(tol, 10·error)
    (b_j = √(j!) c_j, the orthonormal coefficient, so ``tol`` is basis independent).

    Args:
        spec_or_coeffs: an activation spec or a ``HermiteCoefficients``.
        degree: search up to this degree (ignored for ``HermiteCoefficients``).
        tol: absolute tolerance on |b_j| for numeric coefficients, > 0.

    Returns:
        the exponent, or ``None`` if c_1 = … = c_K = 0 (e.g. a constant, or IE > degree).

    Examples:
        >>> information_exponent("h4"), information_exponent("abs"), information_exponent("relu")
        (4, 2, 1)
    """
    require_real("tol", tol, lo=0.0, lo_open=True, fix="use e.g. 1e-10")
    if isinstance(spec_or_coeffs, HermiteCoefficients):
        co = spec_or_coeffs
    else:
        co = coefficients(spec_or_coeffs, degree)
    h = co.to_basis("h")
    for j in range(1, co.degree + 1):
        if not _is_zero(co.exact[j], h.values[j], h.errors[j], tol):
            return j
    return None
