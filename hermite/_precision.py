"""JAX's 64-bit mode, which hermite, riccati and the simulator's exact observables need (docs/theory.md §1)."""

from __future__ import annotations

import jax

__all__ = ["enable_x64"]


def enable_x64() -> None:
    """Switch JAX to 64-bit mode (``jax_enable_x64 = True``) for the whole process; idempotent.

    The exact Hermite expansions and kernels (``hermite``), the theory solvers (``riccati``) and the simulator's
    risks, overlaps and drift (``sgd_check``) are compared in float64, which JAX only provides in x64 mode.
    ``import hermite`` calls this function, and so do ``riccati`` and ``sgd_check`` at import, by name, so that the
    requirement is visible where it is made. The flag is process-wide and cannot be scoped: after it, JAX's
    *default* dtype is float64 (``jnp.zeros(3)`` is float64) in the whole process. Code that wants float32 must ask
    for it explicitly; the simulator does (its float32 default comes from ``dtype="float32"`` in its configs,
    passed to every array it creates, not from JAX's default). Arrays created before the switch keep their dtype.

    Examples:
        >>> import hermite, jax
        >>> hermite.enable_x64()
        >>> jax.config.jax_enable_x64
        True
    """
    jax.config.update("jax_enable_x64", True)
