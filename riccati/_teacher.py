"""Teacher coefficients and argument checks shared by the quadratic and homogeneous models (docs/theory.md §2-§3)."""

from __future__ import annotations

import numpy as np

from hermite.validation import require_int, require_real

__all__ = [
    "teacher_coefficients",
    "normalise_teacher",
    "require_times",
    "TIME_LABEL_QUADRATIC",
    "TIME_LABEL_HOMOGENEOUS",
]

# Short axis labels of the two time conventions (the full sentences are TIME_UNIT_QUADRATIC / _HOMOGENEOUS).
TIME_LABEL_QUADRATIC = "t = 4cη·steps"
TIME_LABEL_HOMOGENEOUS = "t = η·steps"


def teacher_coefficients(beta: float, M: int) -> np.ndarray:
    """Normalised power-law teacher ã_m = m^{-β} / ‖(m^{-β})_{m≤M}‖₂, m = 1..M (docs/theory.md §0).

    Args:
        beta: power-law exponent β ≥ 0 (the talk's β; BEVW call it α).
        M: teacher width M ≥ 1.

    Returns:
        float64 array of shape (M,), non-increasing, with Σ ã_m² = 1.

    Raises:
        ValueError/TypeError: for β < 0, non-finite β, or M < 1.

    Examples:
        >>> teacher_coefficients(0.0, 4)
        array([0.5, 0.5, 0.5, 0.5])
    """
    beta = require_real("beta", beta, lo=0.0, fix="use a power-law exponent β ≥ 0, e.g. --beta 1")
    M = require_int("M", M, lo=1, fix="the teacher needs at least one direction")
    m = np.arange(1, M + 1, dtype=np.float64)
    a = np.exp(-beta * np.log(m))
    return a / np.linalg.norm(a)


def normalise_teacher(a) -> np.ndarray:
    """Validate raw teacher coefficients a_m ≥ 0 (shape (M,)) and return ã = a/‖a‖₂ as float64."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`a` must be a 1-D array of real teacher coefficients; got {type(a).__name__}") from exc
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"`a` must be a 1-D array with M ≥ 1 entries; got shape {arr.shape}; pass shape (M,)")
    if not np.all(np.isfinite(arr)):
        raise ValueError("`a` has non-finite entries; pass finite teacher coefficients a_m ≥ 0")
    if np.any(arr < 0):
        i = int(np.argmin(arr))
        raise ValueError(
            f"`a`[{i}]={arr[i]:g} is negative: teacher coefficients need a_m ≥ 0; flip the sign of that direction"
        )
    norm = np.linalg.norm(arr)
    if norm == 0:
        raise ValueError("`a` is all zeros: a teacher needs at least one a_m > 0")
    return arr / norm


def require_times(times, name: str = "times") -> np.ndarray:
    """Validate a 1-D array of non-negative, non-decreasing finite times; return it as float64."""
    try:
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a 1-D array of real times; got {type(times).__name__}") from exc
    if t.ndim != 1 or t.size < 1:
        raise ValueError(f"`{name}` must be a non-empty 1-D array; got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"`{name}` has non-finite entries; pass finite times ≥ 0")
    if np.any(t < 0):
        i = int(np.argmin(t))
        raise ValueError(f"`{name}`[{i}]={t[i]:g} is negative: need times ≥ 0; drop negative times")
    if np.any(np.diff(t) < 0):
        i = int(np.argmax(np.diff(t) < 0))
        raise ValueError(
            f"`{name}` must be sorted non-decreasingly; entry {i + 1} ({t[i + 1]:g}) < entry {i} ({t[i]:g}); sort them"
        )
    return t
