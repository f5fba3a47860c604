"""Exact and numeric Hermite expansions, information exponents and Gaussian kernels (docs/theory.md §1).

Public API: ``activation``, ``coefficients``, ``information_exponent``, ``kernel`` and their result types;
``enable_x64``; argument validation shared by every package in the submodule ``hermite.validation``
(``require_int``, ``require_real``, ``require_choice``, ``require_width``).
Conventions: σ = Σ c_j He_j ("He" basis, monic probabilists' Hermite) or σ = Σ b_j h_j ("h" basis,
orthonormal, b_j = √(j!) c_j); z ~ N(0, 1).

Precision: importing ``hermite`` switches JAX to 64-bit mode for the whole process (:func:`enable_x64`): its
numerics, riccati's theory and the simulator's exact observables need float64, and JAX's x64 flag is
process-wide. JAX's default dtype is then float64; code that wants float32 asks for it explicitly, as the
simulator does (``dtype="float32"`` by default in its configs).
"""

from ._precision import enable_x64

enable_x64()  # before any array is created: everything below computes in float64

from . import validation  # noqa: E402,F401  (public submodule: argument validation)
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
    "enable_x64",
    "information_exponent",
    "kernel",
]
