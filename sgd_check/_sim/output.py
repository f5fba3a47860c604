"""Write a simulation's results as data: ``result.npz`` (curves, overlaps, initial states), ``result.json``
(configuration, software versions, seeds, summary) and ``result.png`` (drawn by ``plot``, no numerics).

Every file is written atomically (``_outdir``: temporary file in the same folder, fsync, ``os.replace``)."""

from __future__ import annotations

import os

import numpy as np

from .._outdir import atomic_path, software_versions, to_jsonable, write_json, write_npz
from .result import SimulationResult

__all__ = ["save_result"]


def save_result(res: SimulationResult, out: str, *, plot: bool = True) -> dict[str, str]:
    """Save ``res`` under folder ``out``; returns ``{"npz": path, "json": path, "plot": path or absent}``.

    NPZ keys: ``steps``, ``t``, ``risk`` (S, T), ``risk_mean``, ``risk_std``, ``diverged``, ``diverged_at``,
    ``stiefel_drift`` and, where present, ``G_diag`` (S, T, M), ``risk_student``, ``risk_phase2``,
    ``overlaps`` (S, T, N, M), ``norms`` (S, T, N), and the initial state ``Y0`` (S, M, N) or ``W0`` (S, N, d)
    (float64) from which ``riccati`` can replay the flow.
    """
    os.makedirs(out, exist_ok=True)
    arrays = {
        "steps": res.steps,
        "t": res.t,
        "risk": res.risk,
        "risk_mean": res.risk_mean,
        "risk_std": res.risk_std,
        "diverged": res.diverged,
        "diverged_at": res.diverged_at,
    }
    for name in ("G_diag", "risk_student", "risk_phase2", "overlaps", "norms", "stiefel_drift"):
        v = getattr(res, name)
        if v is not None:
            arrays[name] = np.asarray(v)
    arrays.update({k: np.asarray(v) for k, v in res.initial_state.items()})
    paths = {"npz": os.path.join(out, "result.npz"), "json": os.path.join(out, "result.json")}
    write_npz(paths["npz"], **arrays)
    meta = {"summary": res.summary(), "versions": software_versions(), "npz_keys": sorted(arrays)}
    write_json(paths["json"], to_jsonable(meta, strict=True))
    if plot:
        from .plot import plot_result

        paths["plot"] = os.path.join(out, "result.png")
        with atomic_path(paths["plot"]) as tmp:
            plot_result(res, tmp)
    return paths
