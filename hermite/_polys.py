"""Exact integer tables for probabilists' Hermite polynomials He_j (docs/theory.md §1).

He_0 = 1, He_1 = z, He_{j+1} = z He_j − j He_{j−1};  E[He_j He_k] = j! δ_jk for z ~ N(0, 1).
All tables hold Python ints (exact), indexed by monomial power.
"""

from __future__ import annotations

from functools import cache
from math import factorial

__all__ = ["he_coeffs", "mono_to_he", "poly_to_he", "poly_mul"]


@cache
def he_coeffs(j: int) -> tuple[int, ...]:
    """Monomial coefficients of He_j: He_j(z) = Σ_n he_coeffs(j)[n] z^n (exact ints)."""
    if j == 0:
        return (1,)
    if j == 1:
        return (0, 1)
    a, b = he_coeffs(j - 1), he_coeffs(j - 2)
    out = [0] * (j + 1)
    for n, v in enumerate(a):
        out[n + 1] += v
    for n, v in enumerate(b):
        out[n] -= (j - 1) * v
    return tuple(out)


@cache
def mono_to_he(n: int) -> tuple[int, ...]:
    """He-basis coefficients of z^n: z^n = Σ_k n!/(2^k k! (n−2k)!) He_{n−2k} (exact ints, index = He degree)."""
    out = [0] * (n + 1)
    for k in range(n // 2 + 1):
        out[n - 2 * k] = factorial(n) // (2**k * factorial(k) * factorial(n - 2 * k))
    return tuple(out)


def poly_to_he(coeffs) -> list:
    """He-basis coefficients of the polynomial Σ_n coeffs[n] z^n (coefficients may be sympy numbers)."""
    out = [0] * max(len(coeffs), 1)
    for n, a in enumerate(coeffs):
        if a == 0:
            continue
        for k, t in enumerate(mono_to_he(n)):
            if t:
                out[k] = out[k] + a * t
    return out


def poly_mul(p, q) -> list:
    """Product of two monomial coefficient lists."""
    out = [0] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        if a == 0:
            continue
        for k, b in enumerate(q):
            if b:
                out[i + k] = out[i + k] + a * b
    return out
