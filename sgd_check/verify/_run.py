"""Run claims, gate them, and write ``report.json``, per-claim data and figures (atomic writes)."""

from __future__ import annotations

import os
import time
import traceback

from hermite.validation import require_choice, require_int

from .._outdir import to_jsonable, write_json
from ._registry import SIZES, select_claims
from ._sgd_claims import reduced_engine_available
from ._stats import gate

_REDUCED_CACHE: list[bool] = []


def _reduced() -> bool:
    if not _REDUCED_CACHE:
        _REDUCED_CACHE.append(reduced_engine_available())
    return _REDUCED_CACHE[0]


__all__ = ["verify"]


class _Ctx:
    """What a claim's experiment sees: seeds derived from the base seed, a shared cache, a progress callback."""

    def __init__(self, seed: int, progress, claim_id: str, t0: float):
        self.seed = seed
        self.cache: dict = {}
        self._progress = progress
        self._id = claim_id
        self._t0 = t0

    def seed_for(self, size_index: int, replicate: int) -> int:
        """Seed of replicate ``replicate`` at size ``size_index``: distinct, reproducible, < 2³²."""
        return (self.seed * 1_000_003 + size_index * 10_007 + replicate) % (2**32)

    def progress(self, msg: str) -> None:
        if self._progress is not None:
            self._progress(f"[{time.perf_counter() - self._t0:6.1f} s] claim {self._id}: {msg}")


def _judge(meas: dict) -> tuple[dict, dict]:
    """(verdict, control) of one measurement: the gate on the prediction, and the same gate on a wrong one."""
    ex, tol = meas["extrapolated"], meas["tolerance"]
    ctl = meas["control"]
    if meas.get("exact"):
        ok = list(ex["value"]) == list(meas["predicted"])
        ctl_pass = list(ex["value"]) == list(ctl["prediction"])
    else:
        ok = gate(ex["ci"], meas["predicted"], tol)
        c_ex = ctl.get("extrapolated", ex)
        ctl_pass = gate(c_ex["ci"], ctl["prediction"], tol)
    why = meas["why"]
    conds = meas.get("conditions", [])
    for c in conds:
        if not c["pass"]:
            ok = False
            why += f"; FAILED condition: {c['name']}"
    if ctl_pass:
        why += "; the negative control also passes, so this gate does not discriminate: FAIL"
    verdict = {"pass": bool(ok and not ctl_pass), "gate_pass": bool(ok), "tolerance": tol, "why": why}
    control = {"prediction": ctl["prediction"], "what": ctl.get("what", ""), "pass": bool(ctl_pass)}
    if "extrapolated" in ctl:
        control["extrapolated"] = ctl["extrapolated"]
    return verdict, control


def verify(
    claims=None, *, size: str = "quick", out: str | None = None, seed: int = 0, progress=None, figures: bool = True
) -> dict:
    """Check the talk's claims (docs/theory.md §6) at growing size, each with a gate and a negative control.

    For each selected claim: the experiment over growing sizes with several seeds, the measured value per size with
    a 95% interval over seeds, a weighted linear extrapolation in the variable in which the finite-size correction
    is known, the prediction and a gate (pass when the prediction lies in the extrapolation's interval widened by
    the stated tolerance), and the same data judged against a deliberately wrong prediction (it must fail; if it
    passes, the claim fails). Claims that need engines not available yet are reported with verdict null.

    Args:
        claims: ids ("1", "4a", "8", ...; a bare number selects all its parts) or None for all.
        size: "quick" (≤ 10 min on 2 cores), "standard" (≤ 60 min), "full" (larger; run locally until the sweeps
            engine can schedule it), or "test" (the subset the test suite runs).
        out: folder for ``report.json``, ``claim_<id>.json`` (data) and figures; None writes nothing.
        seed: base seed ≥ 0 (every run's seed is derived from it).
        progress: callable(str) for progress lines, or None.
        figures: draw the figures (PNG) when ``out`` is given.

    Returns:
        The report dict: ``claims`` (list of {id, title, statement, model, status, points, extrapolated,
        predicted, verdict, control, figure, seconds}), ``verdict`` {pass, n_pass, n_fail, n_not_run}, ``size``,
        ``seed``, ``seconds``, conventions.
    """
    require_choice("size", size, SIZES, fix="use --size quick, standard or full")
    seed = require_int("seed", seed, lo=0, hi=2**31 - 1, fix="use a seed in [0, 2^31)")
    selected = select_claims(claims)
    if out is not None:
        if not isinstance(out, str | os.PathLike) or not str(out).strip():
            raise ValueError(f"`out`={out!r} is not a folder path; give a folder name, e.g. --out verify-out")
        if os.path.exists(out) and not os.path.isdir(out):
            raise ValueError(f"`out`={out!r} exists and is not a folder; choose another --out")
        os.makedirs(out, exist_ok=True)
    t_start = time.perf_counter()
    rows = []
    shared_cache: dict = {}
    for claim in selected:
        row = {"id": claim.id, "title": claim.title, "statement": claim.statement, "model": claim.model}
        t0 = time.perf_counter()
        c0 = time.process_time()
        if claim.run is None or (claim.requires == "reduced" and not _reduced()):
            row.update(
                status="not run",
                reason=claim.needs,
                points=[],
                extrapolated=None,
                predicted=None,
                verdict={"pass": None, "tolerance": None, "why": claim.needs},
                control={"prediction": None, "pass": None},
                figure=None,
                seconds=0.0,
            )
            rows.append(row)
            if progress:
                progress(f"claim {claim.id}: {claim.needs}")
            continue
        ctx = _Ctx(seed, progress, claim.id, t_start)
        ctx.cache = shared_cache.setdefault(id(claim.sizes), {})
        sz = claim.sizes[size]
        try:
            meas = claim.run(sz, ctx)
        except Exception as exc:  # an experiment that breaks is a failed claim, reported, not a crash of the suite
            msg = f"experiment raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            if os.environ.get("SHALLOWLAWS_DEBUG"):
                traceback.print_exc()
            row.update(
                status="error",
                points=[],
                extrapolated=None,
                predicted=None,
                verdict={"pass": False, "tolerance": None, "why": msg},
                control={"prediction": None, "pass": None},
                figure=None,
                seconds=time.perf_counter() - t0,
                cpu_seconds=time.process_time() - c0,
            )
            rows.append(row)
            continue
        verdict, control = _judge(meas)
        row.update(
            status="run",
            sizes=sz,
            points=meas["points"],
            extrapolated=meas["extrapolated"],
            predicted=meas["predicted"],
            verdict=verdict,
            control=control,
            figure=None,
        )
        if "side" in meas:
            row["side"] = meas["side"]
        row["seconds"] = time.perf_counter() - t0
        row["cpu_seconds"] = time.process_time() - c0  # all threads of this process: the fair figure on a shared box
        if out is not None:
            data_path = os.path.join(out, f"claim_{claim.id}.json")
            write_json(data_path, to_jsonable({"claim": row, "plot_data": meas.get("plot", {})}))
            row["data"] = os.path.basename(data_path)
            if figures:
                from ._plot import plot_claim

                row["figure"] = os.path.basename(plot_claim(row, meas.get("plot", {}), out))
        rows.append(row)
        if progress:
            v = "PASS" if verdict["pass"] else "FAIL"
            progress(f"[{time.perf_counter() - t_start:6.1f} s] claim {claim.id}: {v} in {row['seconds']:.1f} s")
    run_rows = [r for r in rows if r["verdict"]["pass"] is not None]
    n_pass = sum(bool(r["verdict"]["pass"]) for r in run_rows)
    report = {
        "tool": "shallowlaws verify",
        "size": size,
        "seed": seed,
        "conventions": {
            "quadratic_time": "canonical Riccati time t = 4*c*eta*steps, c = 1/sqrt(N)",
            "homogeneous_time": "t = eta*steps",
            "risk": "relative risk E(f - f*)^2 / E f*^2",
            "hermite_basis": "He (probabilists'); IE is basis independent",
            "intervals": "95%: Student t over seeds; extrapolation by weighted least squares (errors inflated by "
            "sqrt(reduced chi^2) when > 1)",
            "gate": "pass when the prediction lies in the extrapolated interval widened by the tolerance, and the "
            "negative control (same data, wrong prediction) fails",
        },
        "claims": rows,
        "verdict": {
            "pass": bool(run_rows) and n_pass == len(run_rows),
            "n_pass": n_pass,
            "n_fail": len(run_rows) - n_pass,
            "n_not_run": len(rows) - len(run_rows),
            "note": "claims not run are excluded from the verdict, not counted as passes",
        },
        "seconds": time.perf_counter() - t_start,
    }
    if out is not None:
        if figures:
            from ._plot import plot_summary

            report["figure"] = os.path.basename(plot_summary(report, out))
        write_json(os.path.join(out, "report.json"), to_jsonable(report))
    return report
