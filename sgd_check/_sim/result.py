"""The result of a simulation (:class:`SimulationResult`) and its assembly from the engine's logs.

Risks are relative population risks computed exactly from the state (docs/theory.md §2-§3); a seed's curves are
NaN from the step at which it diverged on; means and standard deviations are over the seeds that never diverged.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from .config import QuadraticSGDConfig

__all__ = ["SimulationResult", "assemble_result", "nan_to_none"]


@dataclasses.dataclass(frozen=True)
class SimulationResult:
    """Curves and final state of one ``simulate`` run (S seeds, T logged steps).

    ``steps`` (T,) logged SGD steps (0 first); ``t`` (T,) flow time (``time_unit``: quadratic ``4cη·steps``,
    homogeneous ``η·steps``; with an ``eta_schedule`` ``4c Σ_n η_n`` resp. ``Σ_n η_n``, ``config.flow_time``);
    ``risk`` (S, T) relative population risk computed exactly from the state
    (quadratic: ``1 − tr(ÃGÃG)``, the risk with the optimal radial part; homogeneous: ``2L/K(1)``), NaN at and
    after a seed's divergence; ``risk_mean``/``risk_std`` (T,) over the seeds that never diverged (NaN if none);
    ``diverged`` (S,) bool, ``diverged_at`` (S,) step of failure or -1; ``suggested_eta`` (a smaller η, or None);
    ``G_diag`` (S, T, M) quadratic diagonal overlaps ``G_mm``; ``risk_student`` (S, T) quadratic Phase-I
    student's own relative risk; ``risk_phase2`` quadratic Phase-II least-squares risk, (S,) at the end or
    (S, T) at logged steps, or None; ``overlaps`` (S, T, N, M) homogeneous ``m_ip``; ``norms`` (S, T, N)
    homogeneous ``‖w_i‖²``; ``initial_state`` ``{"Y0": (S, M, N)}`` (``Y0 = U0[:M]`` = ``ΘᵀU0``) or
    ``{"W0": (S, N, d)}``; ``final_state`` ``{"U": (S, d, N)}`` or ``{"W": (S, N, d)}`` (working dtype);
    ``stiefel_drift`` (S,) largest ``‖UᵀU − I‖_F`` seen before a re-orthonormalisation
    (quadratic; 0 for homogeneous); ``samples_per_second`` sample-steps per second of the whole call (seeds ×
    batch × steps run by this call / ``seconds``, compilation, setup and Phase II included);
    ``engine_samples_per_second`` the same over the stepping loop alone; ``seconds`` total wall time;
    ``compile_seconds``; ``phase2`` (quadratic, ``phase2="end"``): ``n_prime``, ``target_excess``, the mean
    fitted and oracle risks side by side and their ratio, CG iterations, seconds. ``params["engine"]`` names the
    engine used (``"full"`` or ``"reduced"``; with ``"reduced"`` ``final_state`` holds frame coordinates
    ``{"X": (S, D, N)}`` or ``{"W_c": (S, N, D)}`` and the homogeneous ``initial_state`` is
    ``{"P0": (S, N, M), "Q0": (S, N, N)}``, ``P0 = W0Θ``, ``Q0 = W0W0ᵀ``).
    """

    model: str
    params: dict
    time_unit: str
    steps: np.ndarray
    t: np.ndarray
    risk: np.ndarray
    risk_mean: np.ndarray
    risk_std: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    suggested_eta: float | None
    initial_state: dict
    G_diag: np.ndarray | None = None
    risk_student: np.ndarray | None = None
    risk_phase2: np.ndarray | None = None
    overlaps: np.ndarray | None = None
    norms: np.ndarray | None = None
    stiefel_drift: np.ndarray | None = None
    final_state: dict | None = None
    samples_per_second: float = float("nan")
    seconds: float = float("nan")
    compile_seconds: float = float("nan")
    device: str = ""
    resumed: bool = False
    engine_samples_per_second: float = float("nan")
    phase2: dict | None = None

    def summary(self) -> dict:
        """A JSON-ready dict: the scalar fields and the per-seed curves (no overlaps or initial states)."""
        out = {
            "model": self.model,
            "params": self.params,
            "time_unit": self.time_unit,
            "steps": self.steps.tolist(),
            "t": self.t.tolist(),
            "risk": nan_to_none(self.risk),
            "risk_mean": nan_to_none(self.risk_mean),
            "risk_std": nan_to_none(self.risk_std),
            "diverged": self.diverged.tolist(),
            "diverged_at": self.diverged_at.tolist(),
            "suggested_eta": self.suggested_eta,
            "samples_per_second": self.samples_per_second,
            "seconds": self.seconds,
            "compile_seconds": self.compile_seconds,
            "engine_samples_per_second": self.engine_samples_per_second,
            "device": self.device,
            "resumed": self.resumed,
        }
        if self.phase2 is not None:
            out["phase2"] = self.phase2
        if self.risk_student is not None:
            out["risk_student"] = nan_to_none(self.risk_student)
        if self.risk_phase2 is not None:
            out["risk_phase2"] = nan_to_none(self.risk_phase2)
        if self.stiefel_drift is not None:
            out["stiefel_drift_max"] = float(np.max(self.stiefel_drift))
        return out


def nan_to_none(a):
    """``a`` as nested lists of floats with every NaN/inf replaced by ``None`` (JSON-ready)."""
    a = np.asarray(a, dtype=np.float64)
    return (
        [None if not np.isfinite(v) else float(v) for v in a.ravel()]
        if a.ndim <= 1
        else [nan_to_none(row) for row in a]
    )


def assemble_result(
    cfg,
    params_dict,
    sched,
    log_steps,
    logs,
    died_at,
    drift_max,
    final,
    initial_state,
    run_seconds,
    seconds,
    compile_seconds,
    resumed,
    final_state,
    samples_done,
) -> SimulationResult:
    """A :class:`SimulationResult` from the logged observables of every seed (``logs[q]``: one dict per logged
    step), the divergence steps, drift maxima, the Phase II fit at the end (``final``) and the timings."""
    steps = np.asarray(log_steps, dtype=np.int64)
    if not np.array_equal(steps, sched):  # pragma: no cover - engine invariant
        raise RuntimeError(f"logged steps {steps.tolist()} differ from the schedule {sched.tolist()}")
    stacked = {k: np.stack([lg[k] for lg in logs], axis=1) for k in logs[0]}  # (S, T, ...)
    diverged = died_at >= 0
    dead_mask = diverged[:, None] & (steps[None, :] >= np.where(diverged, died_at, 0)[:, None])
    for k, v in stacked.items():
        v = v.astype(np.float64)
        v[dead_mask] = np.nan
        stacked[k] = v
    risk = stacked["risk"]
    ok = ~diverged
    if ok.any():
        risk_mean = risk[ok].mean(axis=0)
        risk_std = risk[ok].std(axis=0, ddof=1) if ok.sum() > 1 else np.zeros(len(steps))
    else:
        risk_mean = np.full(len(steps), np.nan)
        risk_std = np.full(len(steps), np.nan)
    suggested = float(cfg.eta / 4.0) if diverged.any() else None
    quad = isinstance(cfg, QuadraticSGDConfig)
    phase2 = None
    if quad and cfg.phase2 == "logged":
        phase2 = stacked["risk_phase2"]
    elif quad and cfg.phase2 == "end":
        phase2 = np.where(diverged, np.nan, final["risk_phase2"].astype(np.float64))
    phase2_info = None
    if quad and cfg.phase2 == "end":
        oracle = np.where(diverged, np.nan, final["risk_oracle"].astype(np.float64))
        good = ~diverged
        fit_m = float(np.mean(phase2[good])) if good.any() else float("nan")
        orc_m = float(np.mean(oracle[good])) if good.any() else float("nan")
        phase2_info = {
            "n_prime": cfg.n_prime,
            "target_excess": cfg.phase2_target,
            "risk_fitted_mean": fit_m,
            "risk_oracle_mean": orc_m,
            "excess_over_oracle": (fit_m - orc_m) / orc_m if orc_m > 0 else float("nan"),
            "risk_fitted": nan_to_none(phase2),
            "risk_oracle": nan_to_none(oracle),
            "cg_iterations_max": int(np.max(final["cg_iterations"])),
            "seconds": float(final["seconds"]),
            "method": "least squares on n_prime fresh samples drawn in the (M+N)-dim frame, conjugate gradients "
            "on He2 features from the population optimum; risks exact (relative)",
        }
    total = cfg.seeds * cfg.batch * cfg.steps
    return SimulationResult(
        model=cfg.model,
        params=params_dict,
        time_unit=cfg.time_unit,
        steps=steps,
        t=cfg.flow_time(steps),
        risk=risk,
        risk_mean=risk_mean,
        risk_std=risk_std,
        diverged=diverged,
        diverged_at=died_at.astype(np.int64),
        suggested_eta=suggested,
        initial_state=initial_state,
        G_diag=stacked.get("G_diag"),
        risk_student=stacked.get("risk_student"),
        risk_phase2=phase2,
        overlaps=stacked.get("overlaps"),
        norms=stacked.get("norms"),
        stiefel_drift=drift_max if quad else np.zeros(cfg.seeds),
        final_state=final_state,
        samples_per_second=float(samples_done / seconds) if seconds > 0 else float("nan"),
        engine_samples_per_second=float(total / run_seconds) if run_seconds > 0 else float("nan"),
        phase2=phase2_info,
        seconds=float(seconds),
        compile_seconds=float(compile_seconds),
        device=str(jax.devices()[0].platform)
        if jax.config.jax_default_device is None
        else str(jax.config.jax_default_device),
        resumed=resumed,
    )
