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
        bound = meas.get("bound", "equal")
        ok = gate(ex["ci"], meas["predicted"], tol, bound)
        c_ex = ctl.get("extrapolated", ex)
        ctl_pass = gate(c_ex["ci"], ctl["prediction"], tol, ctl.get("bound", "equal"))
    why = meas["why"]
    conds = meas.get("conditions", [])
    for c in conds:
        if not c["pass"]:
            ok = False
            why += f"; FAILED condition: {c['name']}"
    if ctl_pass:
        why += "; the negative control also passes, so this gate does not discriminate: FAIL"
    verdict = {"pass": bool(ok and not ctl_pass), "gate_pass": bool(ok), "tolerance": tol, "why": why}
    if meas.get("bound", "equal") != "equal":
        verdict["bound"] = meas["bound"]
    control = {"prediction": ctl["prediction"], "what": ctl.get("what", ""), "pass": bool(ctl_pass)}
    if ctl.get("bound", "equal") != "equal":
        control["bound"] = ctl["bound"]
    if "extrapolated" in ctl:
        control["extrapolated"] = ctl["extrapolated"]
    return verdict, control


def verify(
    claims=None,
    *,
    size: str = "quick",
    out: str | None = None,
    seed: int = 0,
    progress=None,
    figures: bool = True,
    client=None,
) -> dict:
    """Check the talk's claims (docs/theory.md §6) at growing size, each with a gate and a negative control.

    For each selected claim: the experiment over growing sizes with several seeds, the measured value per size with
    a 95% interval over seeds, a weighted linear extrapolation in the variable in which the finite-size correction
    is known, the prediction and a gate (pass when the prediction lies in the extrapolation's interval widened by
    the stated tolerance), and the same data judged against a deliberately wrong prediction (it must fail; if it
    passes, the claim fails). Claims that need engines not available yet are reported with verdict null.

    Args:
        claims: ids ("1", "4a", "8", ...; a bare number selects all its parts) or None for all.
        size: "quick" (≤ 10 min on 2 cores), "standard" (≤ 60 min), "full" (cluster scale: pass ``client``
            to spread the claims over Dask workers), or "test" (the subset the test suite runs).
        out: folder for ``report.json``, ``claim_<id>.json`` (data) and figures; None writes nothing.
        seed: base seed ≥ 0 (every run's seed is derived from it).
        progress: callable(str) for progress lines, or None.
        figures: draw the figures (PNG) when ``out`` is given.
        client: a ``distributed.Client``: run the claims as parallel Dask tasks on its workers (a LocalCluster, or
            a Slurm/PBS cluster from dask-jobqueue); None runs them one after another here. Each task writes its
            own ``claim_<id>`` files, so ``out`` must be a folder every worker can reach.

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
    if client is None:
        shared_cache: dict = {}
        rows = [
            _run_claim(claim, size, seed, out, figures, progress, t_start, shared_cache.setdefault(id(claim.sizes), {}))
            for claim in selected
        ]
    else:
        rows = _run_on_client(client, selected, size, seed, out, figures, progress, t_start)
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


def _run_claim(claim, size, seed, out, figures, progress, t_start, cache) -> dict:
    """One claim's report row: not run (with the reason), error (a failed claim), or measured, gated and drawn."""
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
        if progress:
            progress(f"claim {claim.id}: not run (reason in the report and the summary below)")
        return row
    ctx = _Ctx(seed, progress, claim.id, t_start)
    ctx.cache = cache
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
        return row
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
    if progress:
        v = "PASS" if verdict["pass"] else "FAIL"
        progress(f"[{time.perf_counter() - t_start:6.1f} s] claim {claim.id}: {v} in {row['seconds']:.1f} s")
    return row


def _claim_on_worker(claim_id: str, size, seed, out, figures) -> dict:
    """Run one claim in a Dask worker (looked up by id there; no progress lines, a fresh cache)."""
    (claim,) = select_claims([claim_id])
    return _run_claim(claim, size, seed, out, figures, None, time.perf_counter(), {})


def _run_on_client(client, selected, size, seed, out, figures, progress, t_start) -> list[dict]:
    """Run the claims as Dask tasks on ``client`` (one task per claim); rows come back in the claims' order."""
    from distributed import as_completed

    futures = {
        client.submit(_claim_on_worker, c.id, size, seed, out, figures, key=f"verify-{c.id}-{seed}", pure=False): c
        for c in selected
    }
    rows = {}
    for fut in as_completed(futures):
        row = fut.result()
        rows[row["id"]] = row
        if progress:
            v = {True: "PASS", False: "FAIL", None: "not run"}[row["verdict"]["pass"]]
            progress(f"[{time.perf_counter() - t_start:6.1f} s] claim {row['id']}: {v} in {row['seconds']:.1f} s")
    return [rows[c.id] for c in selected]
