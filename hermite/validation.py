"""Argument validation shared by every package: one clear line naming argument, range, value and fix.

These helpers raise ``ValueError`` (bad value) or ``TypeError`` (bad kind). The CLI turns either into a
single line on stderr and exit status 2 (see ``sgd_check.cli``).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["require_int", "require_real", "require_choice", "require_width"]


def _fmt(name: str) -> str:
    return f"`{name}`"


def require_int(name: str, value, *, lo: int | None = None, hi: int | None = None, fix: str = "") -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[lo, hi]``; raise an actionable error otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{_fmt(name)}={value!r} must be an integer{_range(lo, hi)}" + (f"; {fix}" if fix else ""))
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{_fmt(name)}={value} is out of range: need {_range(lo, hi, bare=True)}" + _fix(fix))
    return value


def require_real(
    name: str,
    value,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    fix: str = "",
) -> float:
    """Return ``value`` as a finite ``float`` in the given (open or closed) interval, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_fmt(name)}={value!r} must be a real number" + _fix(fix))
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{_fmt(name)}={value} must be finite" + _fix(fix))
    bad = (lo is not None and (value < lo or (lo_open and value == lo))) or (
        hi is not None and (value > hi or (hi_open and value == hi))
    )
    if bad:
        left = "" if lo is None else (f"{lo} <" if lo_open else f"{lo} ≤")
        right = "" if hi is None else (f"< {hi}" if hi_open else f"≤ {hi}")
        raise ValueError(f"{_fmt(name)}={value:g} is out of range: need {left} {name} {right}".rstrip() + _fix(fix))
    return value


def require_choice(name: str, value, choices, *, fix: str = ""):
    """Return ``value`` if it is one of ``choices``, else raise naming the allowed values."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{_fmt(name)}={value!r} is not one of {allowed}" + _fix(fix))
    return value


_WIDTH_WHY = {"M": "the teacher needs M ≤ d orthonormal directions", "N": "a Stiefel student needs N ≤ d"}


def require_width(name: str, value: int, d: int) -> int:
    """Raise unless the width ``value`` (``"M"`` teacher or ``"N"`` Stiefel student) fits in dimension ``d``."""
    if value > d:
        why = _WIDTH_WHY.get(name, f"need {name} ≤ d")
        raise ValueError(f"`{name}`={value} exceeds `d`={d}: {why}; raise --d or lower --{name}")
    return value


def _fix(fix: str) -> str:
    return f"; {fix}" if fix else ""


def _range(lo, hi, bare: bool = False) -> str:
    if lo is not None and hi is not None:
        s = f"{lo} ≤ value ≤ {hi}"
    elif lo is not None:
        s = f"value ≥ {lo}"
    elif hi is not None:
        s = f"value ≤ {hi}"
    else:
        return "" if not bare else "an integer"
    return s if bare else f" ({s})"
