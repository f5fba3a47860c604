"""Exact and numeric Hermite expansions, information exponents and Gaussian kernels (THEORY.md §1)."""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

__all__: list[str] = []
