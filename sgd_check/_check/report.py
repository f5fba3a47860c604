"""Report assembly: the JSON document of one check (schema :data:`REPORT_SCHEMA_VERSION`) and its file.

The report holds the curves the figures need (``theory``, ``sgd``, ``staircase``), the ``comparison`` the verdict
computed, and the ``verdict`` {pass, checks: [rows]}; ``sgd_check.plots`` draws it without numerics of its own.
NaN and ±inf are stored as JSON ``null``.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .._outdir import to_jsonable, write_json
from .data import REPORT_SCHEMA_VERSION, CheckData

__all__ = ["build_report", "save_report", "load_report"]


def build_report(data: CheckData, comparison: dict, rows: list[dict], n_staircase: int) -> dict:
    """The report of ``data`` judged as ``comparison`` with verdict ``rows`` (dicts with ``pass`` and ``gated``).

    ``verdict.pass`` is the AND of the gated rows. ``staircase`` holds the first ``n_staircase`` directions' curves:
    their means over live seeds, and one seed against its own flow (a mean over seeds would blur each sharp
    emergence into a ramp). Every array becomes a list, every non-finite number ``None``.
    """
    alive = data.alive
    sr = data.sgd_risk[alive] if alive.any() else data.sgd_risk
    fr = data.flow_risk[alive] if alive.any() else data.flow_risk
    k = min(n_staircase, data.a.size)
    seed = int(np.flatnonzero(alive)[0]) if alive.any() else None
    report = {
        "schema": REPORT_SCHEMA_VERSION,
        "model": data.model,
        "params": data.params,
        "time_unit": data.time_unit,
        "teacher": {"a": data.a},
        "theory": {"t": data.t, "risk": fr.mean(axis=0), "risk_per_seed": data.flow_risk},
        "sgd": {
            "t": data.t,
            "steps": data.steps,
            "risk_mean": sr.mean(axis=0),
            "risk_std": sr.std(axis=0, ddof=1) if sr.shape[0] > 1 else np.zeros(sr.shape[1]),
            "risk": data.sgd_risk,
        },
        "staircase": {
            "curve": "G_mm" if data.model == "quadratic" else "max_i m_ip^2",
            "directions": list(range(1, k + 1)),
            "sgd_mean": data.sgd_dir[alive][:, :, :k].mean(axis=0) if seed is not None else None,
            "flow_mean": data.flow_dir[alive][:, :, :k].mean(axis=0) if seed is not None else None,
            "seed": seed,
            "sgd_seed": data.sgd_dir[seed, :, :k] if seed is not None else None,
            "flow_seed": data.flow_dir[seed, :, :k] if seed is not None else None,
        },
        "comparison": comparison,
        "verdict": {"pass": bool(all(r["pass"] for r in rows if r["gated"])), "checks": rows},
        "extra": data.extra,
    }
    return to_jsonable(report, strict=True)


def save_report(path: str | os.PathLike, report: dict) -> None:
    """Write ``report`` as JSON (NaN/inf → null), atomically (write then rename)."""
    write_json(path, to_jsonable(report, strict=True))


def load_report(path: str | os.PathLike) -> dict:
    """Read a report written by :func:`save_report` (nulls stay ``None``)."""
    with open(os.fspath(path), encoding="utf-8") as fh:
        return json.load(fh)
