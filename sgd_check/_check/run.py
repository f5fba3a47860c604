"""Orchestration of a check: simulate, replay the exact flow from each seed's own initial state, judge, write.

:func:`check` = :func:`run_check` (SGD + :func:`replay_flow`) → ``compare`` → :func:`write_outputs`;
:func:`check_from_dir` re-judges and re-draws a saved ``data.npz`` without SGD (docs/theory.md §4).
"""

from __future__ import annotations

import os

import numpy as np

import riccati
from hermite.validation import require_real

from .._outdir import software_versions, to_jsonable
from .data import CheckData
from .report import save_report
from .verdict import Tolerances, compare

__all__ = ["run_check", "replay_flow", "check", "check_from_dir", "write_outputs", "output_names"]

_TIME_MAP_FIX = "1 is the stated time map"


def _homogeneous_start(res, s: int):
    """Seed ``s``'s initial state for ``riccati.homogeneous_flow``: ``W0`` (full engine) or ``(r, m, ρ)`` read off
    ``(P0, Q0)`` (reduced engine: ``r_i = Q0_ii``, ``m_ip = P0_ip/√r_i``, ``ρ_ij = Q0_ij/√(r_i r_j)``)."""
    st = res.initial_state
    if "W0" in st:
        return st["W0"][s]
    P, Q = np.asarray(st["P0"][s], np.float64), np.asarray(st["Q0"][s], np.float64)
    r = np.diag(Q).copy()
    n = np.sqrt(r)
    rho = Q / n[:, None] / n[None, :]
    np.fill_diagonal(rho, 1.0)
    return r, P / n[:, None], rho


def run_check(
    config, *, time_map_factor: float = 1.0, progress: bool = False, annotations: dict | None = None
) -> CheckData:
    """Run SGD for ``config`` and the exact flow from each seed's own initial state; return the paired data.

    ``config`` is a :class:`QuadraticSGDConfig` or :class:`HomogeneousSGDConfig`. See :func:`replay_flow`.
    """
    from sgd_check import simulate

    require_real("time_map_factor", time_map_factor, lo=0.0, lo_open=True, fix=_TIME_MAP_FIX)
    return replay_flow(
        config, simulate(config, progress=progress), time_map_factor=time_map_factor, annotations=annotations
    )


def replay_flow(config, result, *, time_map_factor: float = 1.0, annotations: dict | None = None) -> CheckData:
    """Pair a finished simulation with the exact flow replayed from each seed's own initial state.

    The SGD curve is put on the flow-time axis through the stated time map (quadratic ``t = 4cη·steps``,
    homogeneous ``t = η·steps``, i.e. ``result.t``) multiplied by ``time_map_factor`` (1 = the correct map;
    other values exist to show that a wrong map fails the check). The flow is evaluated at exactly those
    times (quadratic: closed form, riccati ``quadratic_flow`` from Y0 = ΘᵀU0; homogeneous: the overlap ODE,
    riccati ``homogeneous_flow`` from W0). ``params`` (``result.params``, the run's configuration) name the loss
    convention of ``eta`` (the code's ½(f − y)²); ``annotations`` (e.g. the η as given in the talk's convention)
    are added to them.
    """
    import time as _time

    import hermite

    factor = require_real("time_map_factor", time_map_factor, lo=0.0, lo_open=True, fix=_TIME_MAP_FIX)
    res = result
    a = np.asarray(config.teacher(), dtype=np.float64)
    t = np.asarray(res.t, dtype=np.float64) * factor
    S = res.risk.shape[0]
    params = dict(res.params)
    params["time_map_factor"] = factor
    params.setdefault("loss_convention", "half")
    params.setdefault("loss", "per-sample loss ½(f − y)² (the code's convention; η as given)")
    params.update(annotations or {})
    t0 = _time.perf_counter()
    if config.model == "quadratic":
        sols = [
            riccati.quadratic_flow(a, res.initial_state["Y0"][s], t, d=config.d, emergence="exact") for s in range(S)
        ]
        flow_dir = np.stack([s.G_diag for s in sols])
        sgd_dir = np.asarray(res.G_diag, dtype=np.float64)
        floor = sols[0].floor
    else:
        ker = hermite.kernel(config.activation)
        params["information_exponent"] = hermite.information_exponent(config.activation)
        params["K1"] = float(ker.K1)
        starts = [_homogeneous_start(res, s) for s in range(S)]  # W0 array (full engine) or (r, m, ρ) tuple
        kw = [{"state": x} if isinstance(x, tuple) else {"W0": x} for x in starts]
        sols = [riccati.homogeneous_flow(config.activation, a, times=t, d=config.d, **k) for k in kw]
        flow_dir = np.stack([np.max(s.overlaps**2, axis=1) for s in sols])
        sgd_dir = np.max(np.asarray(res.overlaps, dtype=np.float64) ** 2, axis=2)
        floor = riccati.width_floor(a, config.N)
    flow_seconds = _time.perf_counter() - t0
    extra = {
        "samples_per_second": res.samples_per_second,
        "sgd_seconds": res.seconds,
        "compile_seconds": res.compile_seconds,
        "flow_seconds": flow_seconds,
        "device": res.device,
        "diverged_at": res.diverged_at,
        "suggested_eta": res.suggested_eta,
        "stiefel_drift_max": None if res.stiefel_drift is None else float(np.max(res.stiefel_drift)),
        "versions": software_versions(),
    }
    return CheckData(
        model=config.model,
        params=to_jsonable(params, strict=True),
        a=a,
        t=t,
        steps=res.steps,
        sgd_risk=res.risk,
        flow_risk=np.stack([s.risk for s in sols]),
        sgd_dir=sgd_dir,
        flow_dir=flow_dir,
        diverged=res.diverged,
        floor=floor,
        time_unit=config.time_unit + ("" if factor == 1.0 else f" (SGD axis multiplied by {factor:g})"),
        extra=to_jsonable(extra, strict=True),
        flow_emergence=np.stack([s.emergence_times for s in sols]),
    )


_FIGURES = ("risk", "staircase", "emergence", "summary")
_WIDTHS = ("", "_1col", "_2col")  # dashboard names, then the paper style's column widths


def output_names() -> tuple[str, ...]:
    """Every file name a check may write into its folder (report, data, figures in both styles and formats)."""
    figures = (f"{n}{w}.{e}" for n in _FIGURES for w in _WIDTHS for e in ("png", "pdf"))
    return ("report.json", "data.npz", *figures)


def write_outputs(
    report: dict, data: CheckData | None, out: str | os.PathLike, *, pdf: bool = False, style: str = "dashboard"
) -> dict:
    """Write ``report.json``, ``data.npz`` (if ``data``) and the figures (``style``: "dashboard" or "paper",
    ``sgd_check.plots.render_all``) into ``out``; return the paths."""
    from sgd_check.plots import render_all

    out = os.fspath(out)
    os.makedirs(out, exist_ok=True)
    paths = {"report": os.path.join(out, "report.json")}
    if data is not None:
        paths["data"] = os.path.join(out, "data.npz")
        data.save(paths["data"])
    paths["figures"] = render_all(report, out, pdf=pdf, style=style)
    save_report(paths["report"], report)
    return paths


def check(
    config,
    *,
    out: str | os.PathLike | None = None,
    time_map_factor: float = 1.0,
    tolerances: Tolerances | None = None,
    pdf: bool = False,
    progress: bool = False,
    annotations: dict | None = None,
    style: str = "dashboard",
) -> dict:
    """Run SGD and the exact flow from the same initial states, compare them, and return the report.

    With ``out`` the report (``report.json``), the raw paired curves (``data.npz``, enough to re-judge and
    re-draw without SGD: :func:`check_from_dir`) and the figures are written there (``style``: "dashboard"
    panels, or "paper" single panels at 3.4 in / 7 in as PDF + PNG; ``sgd_check.plots.render_all``).
    ``report["verdict"]["pass"]`` is True iff every gated row passed (``compare`` for the tolerances).
    """
    data = run_check(config, time_map_factor=time_map_factor, progress=progress, annotations=annotations)
    report = compare(data, tolerances=tolerances)
    if out is not None:
        write_outputs(report, data, out, pdf=pdf, style=style)
    return report


def check_from_dir(
    directory: str | os.PathLike, *, tolerances: Tolerances | None = None, pdf: bool = False, style: str = "dashboard"
) -> dict:
    """Re-judge and re-draw a saved check from ``directory/data.npz`` without rerunning SGD; rewrite the outputs.

    Data of a newer schema than this version reads is refused with the version it needs (``CheckData.load``).
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"`--from-dir`={directory!r} is not a folder; give the --out folder of a check")
    data = CheckData.load(os.path.join(directory, "data.npz"))
    report = compare(data, tolerances=tolerances)
    write_outputs(report, None, directory, pdf=pdf, style=style)
    return report
