"""Numerical Riccati solver (diffrax, float64) for cross-checks and general teacher matrices (docs/theory.md §2).

dG/dt = SG + GS − 2GSG, S symmetric PSD (M×M) normalised to ‖S‖_F = 1, canonical time t. Integrating from a
rank-deficient G0 is unstable (round-off in the null space of G0 grows like e^{2λt}, docs/theory.md §2.6 trap 3), so the
solver requires a full-rank G0 with 0 < G0 ≤ I (N ≥ M students with Haar U0 give this); use
:func:`riccati.quadratic_flow` for N < M.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import diffrax
import equinox as eqx
import jax.numpy as jnp
import numpy as np

from hermite.validation import require_int, require_real

from ._quadratic import TIME_UNIT_QUADRATIC
from ._teacher import require_times

__all__ = ["RiccatiODESolution", "riccati_ode"]


@dataclasses.dataclass(frozen=True)
class RiccatiODESolution:
    """Numerical Riccati flow: ``t`` (T,), ``G`` (T, M, M), ``risk`` (T,) = 1 − tr(SGSG)/tr(S²), ``params``."""

    t: np.ndarray
    G: np.ndarray
    risk: np.ndarray
    time_unit: str
    params: dict[str, Any]


_SOLVERS: dict[Any, Any] = {}


def _vf(t, G, S):
    SG = S @ G
    return SG + SG.T - 2.0 * G @ SG


def _solver(rtol: float, atol: float, max_steps: int):
    key = (rtol, atol, max_steps)
    if key not in _SOLVERS:

        @eqx.filter_jit
        def solve(S, G0, ts):
            sol = diffrax.diffeqsolve(
                diffrax.ODETerm(_vf),
                diffrax.Dopri8(),
                t0=ts[0],
                t1=ts[-1],
                dt0=None,
                y0=G0,
                args=S,
                saveat=diffrax.SaveAt(ts=ts),
                stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
                max_steps=max_steps,
                throw=False,
            )
            return sol.ys, sol.result == diffrax.RESULTS.successful, sol.stats["num_steps"]

        _SOLVERS[key] = solve
    return _SOLVERS[key]


def riccati_ode(
    S, G0, times, *, rtol: float = 1e-12, atol: float = 1e-14, max_steps: int = 100_000
) -> RiccatiODESolution:
    """Solve dG/dt = SG + GS − 2GSG numerically (diffrax Dopri8, adaptive, float64) from a full-rank G0.

    Args:
        S: symmetric PSD teacher matrix (M, M) (a vector is taken as diag(ã)); normalised to ‖S‖_F = 1.
        G0: initial overlap Gram matrix (M, M), symmetric with eigenvalues in (0, 1] (full rank: see module doc).
        times: (T,) non-decreasing canonical times, first entry the start time (usually 0).
        rtol, atol: step-size controller tolerances (defaults reach ~1e-10 relative on G).

    Returns:
        :class:`RiccatiODESolution` with G at every time and the relative risk 1 − tr(SGSG)/tr(S²).

    Examples:
        >>> import numpy as np
        >>> riccati_ode([1.0, 0.5], 0.1 * np.eye(2), [0.0, 1.0]).G.shape
        (2, 2, 2)
    """
    S = np.asarray(S, dtype=np.float64)
    if S.ndim == 1:
        if np.any(S < 0):
            raise ValueError("`S` as a vector must have entries ≥ 0 (teacher coefficients)")
        S = np.diag(S)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 1:
        raise ValueError(f"`S` has shape {S.shape}; expected a square (M, M) matrix or an (M,) vector")
    if not np.allclose(S, S.T, atol=1e-12 * np.abs(S).max()):
        raise ValueError("`S` must be symmetric; pass (S + S.T)/2")
    S = 0.5 * (S + S.T)
    lam = np.linalg.eigvalsh(S)
    if lam[0] < -1e-12 * max(abs(lam[-1]), 1e-300):
        raise ValueError(f"`S` has a negative eigenvalue {lam[0]:.3g}: a teacher matrix must be PSD")
    nS = np.linalg.norm(S)
    if nS == 0:
        raise ValueError("`S` is zero: the teacher needs at least one non-zero direction")
    S = S / nS
    M = S.shape[0]
    G0 = np.asarray(G0, dtype=np.float64)
    if G0.shape != (M, M):
        raise ValueError(f"`G0` has shape {G0.shape}; expected ({M}, {M}) to match S")
    if not np.allclose(G0, G0.T, atol=1e-12):
        raise ValueError("`G0` must be symmetric")
    ev = np.linalg.eigvalsh(0.5 * (G0 + G0.T))
    if ev[0] <= 1e-10 or ev[-1] > 1 + 1e-10:
        raise ValueError(
            f"`G0` eigenvalues span [{ev[0]:.3g}, {ev[-1]:.3g}]; the ODE solver needs 0 < G0 ≤ I (full rank, "
            "else round-off grows like e^(2λt)); use riccati.quadratic_flow for N < M"
        )
    t = require_times(times)
    rtol = require_real("rtol", rtol, lo=0.0, lo_open=True)
    atol = require_real("atol", atol, lo=0.0, lo_open=True)
    max_steps = require_int("max_steps", max_steps, lo=1)
    ys, ok, nsteps = _solver(rtol, atol, max_steps)(jnp.asarray(S), jnp.asarray(G0), jnp.asarray(t))
    if not bool(ok):
        raise RuntimeError(f"Riccati ODE solve failed (max_steps={max_steps}); raise max_steps or loosen rtol")
    G = np.asarray(ys)
    G = 0.5 * (G + np.swapaxes(G, -1, -2))
    SG = S @ G
    risk = 1.0 - np.einsum("tij,tji->t", SG, SG)
    return RiccatiODESolution(
        t=t,
        G=G,
        risk=risk,
        time_unit=TIME_UNIT_QUADRATIC,
        params={"M": M, "rtol": rtol, "atol": atol, "num_steps": int(nsteps), "solver": "diffrax Dopri8, float64"},
    )
