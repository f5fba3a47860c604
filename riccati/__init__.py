"""Deterministic gradient-flow theory for quadratic and two-homogeneous networks (THEORY.md §2-§3)."""

import hermite as _hermite  # noqa: F401  (enables float64 for theory)

__all__: list[str] = []
