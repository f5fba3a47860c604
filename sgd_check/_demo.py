"""The demo suite: one case per regime the talk states, sized to run in a few minutes on 2 CPU cores.

Cases (docs/theory.md §2-§3):

* ``quadratic-powerlaw``: quadratic model, β = 0.8 > 1/2, N = 8 < M = 64: the risk decays as
  t^{(1−2β)/β} = t^{−0.75} while directions emerge one by one, then stalls at the width floor Σ_{m>N} ã_m²
  (∝ N^{1−2β});
* ``quadratic-plateau``: quadratic model, β = 0.3 < 1/2, d = 128, M = 32, N = 16 (φ = N/M = 1/2): no power law;
  the risk drops to the plateau 1 − φ^{1−2β} (the exact floor at M = 32 matches it with its finite-(N, M)
  Euler–Maclaurin correction, ``riccati.floor_euler_maclaurin``);
* ``homogeneous-h4``: two-homogeneous model, σ = h_4 (information exponent 4), d = 24, M = 5, N = 10 (N = 2M),
  β = 1: sharp emergence of each direction, at times growing like m^β.

Step sizes are set from a target dimensionless step ε (``riccati.step_size_parameter``): small
enough that SGD tracks the flow within the stated tolerance, large enough to finish in the budget. d is small
(64–128): the SGD-vs-flow comparison is exact at any d (the flow is the population dynamics), while the d → ∞
predictions (exponents, emergence slopes) are compared with the flow with looser, stated tolerances.
"""

from __future__ import annotations

import dataclasses
import os
import time

from ._check import check, save_report
from ._check.run import output_names
from ._outdir import OutputFolder, to_jsonable
from ._sim import config_params

__all__ = ["DemoCase", "demo_cases", "run_demo", "eta_for_epsilon"]


@dataclasses.dataclass(frozen=True)
class DemoCase:
    """One demo case: a model, its sizes, the target dimensionless step ε and the flow time to reach."""

    name: str
    regime: str
    model: str
    sizes: dict
    epsilon: float
    t_max: float
    seeds: int = 4
    n_log: int = 150

    def config(self, *, seed: int = 0):
        """The simulator config (η from ε, steps from t_max)."""
        from ._sim import HomogeneousSGDConfig, QuadraticSGDConfig, steps_for_time

        eta = eta_for_epsilon(self.model, self.sizes, self.epsilon)
        kw = dict(self.sizes, eta=eta, steps=1, seeds=self.seeds, n_log=self.n_log, seed=seed)
        if self.model == "quadratic":
            cfg = QuadraticSGDConfig(phase2="none", **kw)
        else:
            cfg = HomogeneousSGDConfig(**kw)
        return cfg.replace(steps=steps_for_time(self.t_max, cfg.time_per_step))


def eta_for_epsilon(model: str, sizes: dict, epsilon: float) -> float:
    """The step size η (code convention, loss ½(f − y)²) whose dimensionless step ε equals ``epsilon``
    (``riccati.eta_for_step_parameter``; for the homogeneous model k and K(1) come from the activation)."""
    from riccati import eta_for_step_parameter, teacher_coefficients

    a = teacher_coefficients(sizes["beta"], sizes["M"])
    params = dict(sizes)
    if model == "homogeneous":
        import hermite

        act = sizes.get("activation", "h4")
        params["information_exponent"] = hermite.information_exponent(act)
        params["K1"] = float(hermite.kernel(act).K1)
    return eta_for_step_parameter(model, epsilon, params, a)


def demo_cases() -> list[DemoCase]:
    """The default suite (see the module docstring)."""
    return [
        DemoCase(
            name="quadratic-powerlaw",
            regime="β=0.8>1/2, N<M: power law t^((1-2β)/β), then width floor ∝ N^(1-2β)",
            model="quadratic",
            sizes=dict(d=96, M=64, N=8, beta=0.8),
            epsilon=0.1,
            t_max=150.0,
        ),
        DemoCase(
            name="quadratic-plateau",
            regime="β=0.3<1/2, φ=N/M=1/2: plateau 1-φ^(1-2β)",
            model="quadratic",
            sizes=dict(d=128, M=32, N=16, beta=0.3),
            epsilon=0.15,
            t_max=80.0,
        ),
        DemoCase(
            name="homogeneous-h4",
            regime="σ=h4 (IE 4), N=2M: sharp emergence, T_m ∝ m^β",
            model="homogeneous",
            sizes=dict(d=24, M=5, N=10, beta=1.0, activation="h4"),
            epsilon=0.02,
            t_max=40.0,
        ),
    ]


def _row(case: DemoCase, report: dict, out: str, seconds: float, style: str = "dashboard") -> dict:
    cm = report["comparison"]
    te, es, pl = cm.get("time_exponent", {}), cm.get("emergence_slope", {}), cm.get("plateau", {})
    return {
        "case": case.name,
        "regime": case.regime,
        "model": case.model,
        "pass": report["verdict"]["pass"],
        "failed_checks": [c["name"] for c in report["verdict"]["checks"] if c.get("gated", True) and not c["pass"]],
        "time_exponent": {"predicted": te.get("predicted"), "flow": te.get("flow"), "sgd": te.get("sgd")},
        "plateau": {
            "predicted": pl.get("predicted"),
            "formula": pl.get("predicted_formula"),
            "kind": pl.get("predicted_kind"),
            "exact_floor": pl.get("exact_floor"),
            "flow_late": pl.get("flow_late"),
            "sgd_late": pl.get("sgd_late"),
        },
        "emergence_slope": {
            "predicted": es.get("predicted"),
            "flow": es.get("normalised", {}).get("flow"),
            "sgd": es.get("normalised", {}).get("sgd"),
            "flow_raw": es.get("flow"),
            "sgd_raw": es.get("sgd"),
            "kind": "normalised: T_m·L̄/L(s0_m), initial overlap divided out (raw slopes in *_raw)",
        },
        "epsilon": cm["step_size_parameter"]["epsilon"],
        "eta": report["params"]["eta"],
        "steps": report["params"]["steps"],
        "seeds": report["params"]["seeds"],
        "seconds": seconds,
        "out": out,
        "figures": {
            k: os.path.join(
                out, f"{k}.png" if style == "dashboard" else f"{k}_{'2col' if k == 'summary' else '1col'}.png"
            )
            for k in ("summary", "risk", "staircase", "emergence")
        },
    }


def run_demo(
    out: str | os.PathLike = "shallowlaws-out",
    *,
    cases=None,
    pdf: bool = False,
    progress: bool = False,
    on_case=None,
    style: str = "dashboard",
    overwrite: bool = False,
) -> dict:
    """Run every case (``check`` with outputs under ``out/<case>``) and write the suite ``out/report.json``.

    The suite's ``verdict.pass`` is True only if every case passed; ``on_case(row)`` is called after each case
    (the CLI prints progress with it); ``style`` is the figure style of every case ("dashboard" default, or
    "paper"). Returns the suite report.

    ``out`` and each ``out/<case>`` are locked while the demo writes them (a second demo into the same folder
    is refused with "in use by PID …"). A folder that already holds a run is refused unless ``overwrite``, which
    first deletes that run's files (``make demo`` passes it, so it replaces its own previous output).
    """
    out = os.fspath(out)
    cases = demo_cases() if cases is None else cases
    t_start = time.perf_counter()
    rows = []
    params = {"cases": [c.name for c in cases], "pdf": pdf, "style": style}
    with OutputFolder(out, "demo", params, overwrite=overwrite) as folder:
        for case in cases:
            t0 = time.perf_counter()
            case_out = os.path.join(out, case.name)
            cfg = case.config()
            with OutputFolder(case_out, "check", config_params(cfg), overwrite=overwrite) as case_folder:
                report = check(cfg, out=case_out, pdf=pdf, progress=progress, style=style)
                case_folder.add(*output_names())
            rows.append(_row(case, report, case_out, time.perf_counter() - t0, style))
            if on_case is not None:
                on_case(rows[-1])
        suite = _suite(rows, t_start)
        save_report(os.path.join(out, "report.json"), suite)
        folder.add("report.json")
    return suite


def _suite(rows: list[dict], t_start: float) -> dict:
    suite = {
        "suite": "shallowlaws demo",
        "cases": rows,
        "verdict": {
            "pass": bool(all(r["pass"] for r in rows)),
            "checks": [
                {
                    "name": r["case"],
                    "pass": r["pass"],
                    "value": len(r["failed_checks"]),
                    "tolerance": 0,
                    "why": "number of failed gated checks in the case report "
                    + (f"({', '.join(r['failed_checks'])})" if r["failed_checks"] else ""),
                }
                for r in rows
            ],
        },
        "seconds": time.perf_counter() - t_start,
    }
    return to_jsonable(suite, strict=True)
