"""Exact and numeric Hermite expansions, information exponents and Gaussian kernels (docs/theory.md §1).

Public API: ``activation``, ``coefficients``, ``information_exponent``, ``kernel`` and their result types.
Conventions: σ = Σ c_j He_j ("He" basis, monic probabilists' Hermite) or σ = Σ b_j h_j ("h" basis,
orthonormal, b_j = √(j!) c_j); z ~ N(0, 1).
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from ._activation import Activation, Z, activation  # noqa: E402
from ._coefficients import HermiteCoefficients, coefficients, information_exponent  # noqa: E402
from ._kernel import GaussianKernel, kernel  # noqa: E402

__all__ = [
    "Activation",
    "GaussianKernel",
    "HermiteCoefficients",
    "Z",
    "activation",
    "coefficients",
    "information_exponent",
    "kernel",
]
