"""Haar-random initial overlaps without any d×N array (docs/theory.md §2.7)."""

from __future__ import annotations

import numbers

import numpy as np

from hermite.validation import require_int, require_width

__all__ = ["sample_initial_overlap", "as_generator", "gaussian_gram_blocks"]


def as_generator(seed_or_key) -> np.random.Generator:
    """Turn an int seed, a numpy ``Generator`` or a JAX PRNG key into a numpy ``Generator`` (deterministically)."""
    if isinstance(seed_or_key, np.random.Generator):
        return seed_or_key
    if isinstance(seed_or_key, numbers.Integral) and not isinstance(seed_or_key, bool):
        if seed_or_key < 0:
            raise ValueError(f"`seed`={seed_or_key} is negative: need an integer seed ≥ 0")
        return np.random.default_rng(int(seed_or_key))
    try:  # a JAX key (raw uint32 pair or typed key)
        import jax

        arr = seed_or_key
        if hasattr(arr, "dtype") and jax.dtypes.issubdtype(arr.dtype, jax.dtypes.prng_key):
            arr = jax.random.key_data(arr)
        words = np.asarray(arr, dtype=np.uint32).ravel()
        if words.size >= 1:
            return np.random.default_rng([int(w) for w in words])
    except (TypeError, ValueError):
        pass
    raise TypeError(f"`seed` must be an int ≥ 0, a numpy Generator or a JAX PRNG key; got {type(seed_or_key).__name__}")


def _wishart_bartlett(rng: np.random.Generator, dof: int, N: int) -> np.ndarray:
    """W ~ Wishart_N(dof, I) as an N×N matrix; Bartlett (dof ≥ N) costs O(N³) whatever ``dof`` is."""
    if dof < N:  # singular Wishart: sample the (dof × N) Gaussian factor directly (dof is small here)
        X = rng.standard_normal((dof, N))
        return X.T @ X
    A = np.tril(rng.standard_normal((N, N)), -1)
    A[np.diag_indices(N)] = np.sqrt(rng.chisquare(dof - np.arange(N)))
    return A @ A.T


def gaussian_gram_blocks(rng: np.random.Generator, d: int, M: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """For X ∈ R^{d×N} i.i.d. N(0,1), return (Z, XᵀX) where Z = X[:M] (M×N), without forming X.

    XᵀX = ZᵀZ + W with W = X[M:]ᵀX[M:] ~ Wishart_N(d − M, I), sampled by the Bartlett decomposition.
    """
    Z = rng.standard_normal((M, N))
    return Z, Z.T @ Z + _wishart_bartlett(rng, d - M, N)


def sample_initial_overlap(seed_or_key, d: int, M: int, N: int) -> np.ndarray:
    """Sample Y0 = ΘᵀU0 (M×N) for U0 Haar-distributed on the Stiefel manifold St(d, N).

    Uses Y0 = Z (ZᵀZ + W)^{-1/2} with Z ∈ R^{M×N} i.i.d. N(0,1) and W ~ Wishart_N(d − M, I) (Bartlett), i.e.
    U0 = X(XᵀX)^{-1/2} for a Gaussian X ∈ R^{d×N} restricted to the teacher rows; no d×N array is formed, so
    the cost O(MN² + N³) does not depend on d (d = 10⁹ costs what d = 10³ does). Entries of Y0 are ≈ N(0, 1/d)
    and E[Y0 Y0ᵀ] = (N/d) I_M. docs/theory.md §2.

    Args:
        seed_or_key: int seed ≥ 0, numpy Generator, or JAX PRNG key.
        d: ambient dimension, d ≥ max(M, N).
        M: teacher width ≥ 1.   N: student width ≥ 1.

    Returns:
        float64 array (M, N) with singular values in [0, 1].

    Examples:
        >>> sample_initial_overlap(0, 1000, 3, 2).shape
        (3, 2)
    """
    M = require_int("M", M, lo=1, fix="the teacher needs at least one direction")
    N = require_int("N", N, lo=1, fix="the student needs at least one neuron")
    d = require_int("d", d, lo=1)
    require_width("M", M, d)
    require_width("N", N, d)
    rng = as_generator(seed_or_key)
    Z, gram = gaussian_gram_blocks(rng, d, M, N)
    lam, V = np.linalg.eigh(gram)
    return Z @ (V / np.sqrt(lam)) @ V.T
