"""``shallowlaws theory quadratic|homogeneous ...``: predicted learning curves from the exact gradient flow.

Thin wiring over the ``riccati`` public API: parse, validate, call, write JSON / NPZ / plot, print a summary.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np

from ._common import parse_times, print_json, to_jsonable

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``theory`` subcommand with ``quadratic`` and ``homogeneous`` models."""
    p = subparsers.add_parser(
        "theory",
        help="predicted learning curve (exact population gradient flow) for quadratic or 2-homogeneous networks",
        description=(
            "Exact gradient-flow theory (THEORY.md §2-§3). quadratic: Riccati flow of G = ΘᵀUUᵀΘ in canonical "
            "time t = 4cτ (SGD: t = 4cη·steps). homogeneous: overlap ODE in t = η·steps. Risks are relative."
        ),
    )
    p.add_argument("model", choices=("quadratic", "homogeneous"), help="which model")
    # each of --d/--M/--N/--beta also takes a comma list (one of them): one run per value, then one overlay
    p.add_argument("--d", type=_int_list("d"), required=True, help="input dimension d ≥ max(M, N); or a list")
    p.add_argument("--M", type=_int_list("M"), required=True, help="teacher width M ≥ 1; or a list")
    p.add_argument("--N", type=_int_list("N"), required=True, help="student width N ≥ 1; or a list 50,200,800")
    p.add_argument(
        "--beta",
        type=_float_list("beta"),
        default=1.0,
        help="teacher power law a_m = m^-β, β ≥ 0 (default 1); or a list 0.3,0.8,1",
    )
    p.add_argument(
        "--activation",
        default="h4",
        metavar="EXPR",
        help="homogeneous only: even σ with c_0 = 0 (default h4 = He4/√24)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random initialisation (default 0)")
    p.add_argument(
        "--init-scale",
        type=float,
        default=0.1,
        help="homogeneous only: W0 entries N(0, s²/d), ‖w_i‖ ≈ s (default 0.1, as the simulator)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--init-overlap", metavar="FILE.npy", help="quadratic: initial overlap Y0 = ΘᵀU0, shape (M, N)")
    g.add_argument(
        "--init-weights",
        metavar="FILE.npy",
        help="homogeneous: initial weights W0, shape (N, d), teacher = first M axes",
    )
    p.add_argument("--times", metavar="GRID", help="times: '0,1,10', 'START:STOP:NUM' or 'log:START:STOP:NUM'")
    p.add_argument(
        "--t-max",
        type=float,
        help="last time (default: past the predicted emergence of the weakest learnable direction)",
    )
    p.add_argument("--points", type=int, default=60, help="number of log-spaced times with --t-max (default 60)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", metavar="DIR", help="write theory.json, curves.npz and risk.png into DIR")
    p.add_argument(
        "--style",
        choices=("dashboard", "paper"),
        default="dashboard",
        help="figures: dashboard (risk.png) or paper (3.4 in and 7 in wide, PDF + PNG)",
    )
    p.set_defaults(func=run_lists)


def _load_npy(path: str, flag: str, shape_text: str) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{flag} {path!r}: cannot read a .npy array ({exc}); expected shape {shape_text}") from None
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{flag} {path!r}: not a numeric array; expected shape {shape_text}")
    return np.asarray(arr, dtype=np.float64)


def _times(args, default_tmax: float) -> np.ndarray:
    if args.times is not None:
        if args.t_max is not None:
            raise ValueError("give either --times or --t-max/--points, not both")
        return parse_times(args.times)
    tmax = default_tmax if args.t_max is None else args.t_max
    if not (math.isfinite(tmax) and tmax > 0):
        raise ValueError(f"`--t-max`={tmax:g} must be a finite time > 0")
    if args.points < 3:
        raise ValueError(f"`--points`={args.points} is out of range: need ≥ 3")
    return np.geomspace(tmax * 1e-4, tmax, args.points)


def _validate_sizes(args) -> None:
    from hermite._validate import check_int, check_real, check_width

    check_real("beta", args.beta, lo=0.0, fix="use --beta ≥ 0")
    check_int("M", args.M, lo=1, fix="use --M ≥ 1")
    check_int("N", args.N, lo=1, fix="use --N ≥ 1")
    check_int("d", args.d, lo=1, fix="use --d ≥ 1")
    check_width("M", args.M, args.d)
    check_width("N", args.N, args.d)


class _Progress:
    """Transient progress line on stderr (rich when stderr is a terminal, silent otherwise)."""

    def __init__(self, label: str):
        self.label = label
        self.enabled = sys.stderr.isatty()
        self._status = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console

            self._status = Console(stderr=True).status(self.label)
            self._status.__enter__()
        return self

    def update(self, done: int, total: int) -> None:
        if self._status is not None:
            self._status.update(f"{self.label} {done}/{total}")

    def __exit__(self, *exc):
        if self._status is not None:
            self._status.__exit__(*exc)
        return False


def _fit(sol, beta: float):
    import riccati

    if beta <= 0.5:
        return {"time_exponent": None, "window": None, "reason": "no power-law decay of R(t) for β ≤ 1/2"}
    try:
        f = riccati.fit_quadratic_flow(sol)
    except ValueError as exc:
        try:
            f = riccati.fit_power_law(sol.t, sol.risk, floor=sol.floor)
        except ValueError:
            return {"time_exponent": None, "window": None, "reason": str(exc)}
    return {
        "time_exponent": f.exponent,
        "window": list(f.window),
        "stderr": f.stderr,
        "prefactor": f.prefactor,
        "n_points": f.n_points,
        "rule": f.rule,
    }


def _run_quadratic(args):
    import riccati

    a = riccati.teacher_coefficients(args.beta, args.M)
    if args.init_weights:
        raise ValueError("--init-weights is for the homogeneous model; use --init-overlap FILE.npy (shape (M, N))")
    if args.init_overlap:
        Y0 = _load_npy(args.init_overlap, "--init-overlap", f"(M, N) = ({args.M}, {args.N})")
        if Y0.shape != (args.M, args.N):
            raise ValueError(f"--init-overlap has shape {Y0.shape}; expected (M, N) = ({args.M}, {args.N})")
        init = f"file {args.init_overlap}"
    else:
        Y0 = riccati.sample_initial_overlap(args.seed, args.d, args.M, args.N)
        init = f"Haar U0, seed {args.seed}"
    pred = riccati.quadratic_predictions(max(args.beta, 1e-12), args.M, args.N, args.d) if args.N < args.d else None
    n_learn = min(args.M, args.N)
    default_tmax = 3.0 * math.log(args.d / max(min(args.N, args.d - 1), 1)) / (2.0 * a[n_learn - 1])
    t = _times(args, default_tmax)
    with _Progress("Riccati closed form") as prog:
        sol = riccati.quadratic_flow(a, Y0, t, d=args.d, progress=prog.update)
    predicted = {"time_exponent": (1 - 2 * args.beta) / args.beta if args.beta > 0 else None}
    extra = {}
    if pred is not None:
        predicted.update(
            compute_exponent=pred.compute_exponent,
            regime=pred.regime,
            phi=pred.phi,
            floor_asymptotic=pred.floor_asymptotic,
            g0=pred.g0,
            emergence_times=pred.emergence_times,
            emergence_rule="t_m = log(1/g0)/(2 a_m), g0 = N/d",
        )
        extra = {"additive": pred.additive_curve(t), "logistic": pred.logistic_curve(t), "regime": pred.regime_curve(t)}
    params = dict(sol.params, beta=args.beta, seed=args.seed, init=init, c="1/sqrt(N) (time is canonical)")
    return sol, params, predicted, extra, {"G_diag": sol.G_diag}


def _run_homogeneous(args):
    import riccati

    if args.init_overlap:
        raise ValueError("--init-overlap is for the quadratic model; use --init-weights FILE.npy (shape (N, d))")
    a = riccati.teacher_coefficients(args.beta, args.M)
    if args.init_weights:
        W0 = _load_npy(args.init_weights, "--init-weights", f"(N, d) = ({args.N}, {args.d})")
        if W0.shape != (args.N, args.d):
            raise ValueError(f"--init-weights has shape {W0.shape}; expected (N, d) = ({args.N}, {args.d})")
        state, init = W0, f"file {args.init_weights}"
    else:
        state = riccati.sample_homogeneous_state(args.seed, args.d, args.M, args.N, init_scale=args.init_scale)
        init = f"W0 ~ N(0, s^2/d), s = {args.init_scale:g}, seed {args.seed}"
    # validate the activation first (one clear line) and get the predicted escape times for the default grid
    info = riccati.homogeneous_activation_info(args.activation)
    k = info["information_exponent"] or 2
    T_pred = riccati.predicted_emergence_homogeneous(a, args.d, max(k, 2), info["b_k^2"] or 1.0)
    n_learn = min(args.M, args.N)
    t = _times(args, 3.0 * float(T_pred[n_learn - 1]))
    with _Progress("overlap ODE (diffrax; first call compiles)"):
        sol = riccati.homogeneous_flow(args.activation, a, state, t, d=args.d)
    floor = float(np.sum(a[args.N :] ** 2))
    sol_view = _HomView(sol, floor)
    predicted = {
        "time_exponent": (1 - 2 * args.beta) / args.beta if args.beta > 0 else None,
        "emergence_times": sol.predicted_emergence,
        "emergence_rule": "T_m = d^(k/2-1)/(k(k-2) b_k^2 a_m) (k > 2), log(d)/(4 b_2^2 a_m) (k = 2)",
        "information_exponent": info["information_exponent"],
    }
    params = dict(sol.params, beta=args.beta, seed=args.seed, init=init)
    return sol_view, params, predicted, {}, {"overlaps": sol.overlaps, "norms": sol.norms}


class _HomView:
    """Adapter giving a HomogeneousSolution the ``floor`` field used by the shared output code."""

    def __init__(self, sol, floor):
        self._sol, self.floor = sol, floor

    def __getattr__(self, name):
        return getattr(self._sol, name)


def run(args, _collect: list | None = None) -> int:
    """Solve, then print / write the results; returns the exit status (``_collect``: append the result)."""
    _validate_sizes(args)
    if args.model == "quadratic":
        sol, params, predicted, extra, arrays = _run_quadratic(args)
    else:
        sol, params, predicted, extra, arrays = _run_homogeneous(args)
    fit = _fit(sol, args.beta)
    result = {
        "model": args.model,
        "params": params,
        "time_unit": sol.time_unit,
        "t": sol.t,
        "risk": sol.risk,
        "floor": sol.floor,
        "emergence_times": sol.emergence_times,
        "predicted": predicted,
        "fit": fit,
    }
    if _collect is not None:
        _collect.append(result)
    if args.out:
        _write_out(args.out, result, extra, arrays, style=getattr(args, "style", "dashboard"))
    if args.json:
        print_json(result)
    else:
        em = np.asarray(sol.emergence_times)
        print(f"{args.model}: d={args.d} M={args.M} N={args.N} beta={args.beta:g}  [{sol.time_unit}]")
        print(
            f"  R(t={sol.t[0]:.4g}) = {sol.risk[0]:.6g}   R(t={sol.t[-1]:.4g}) = {sol.risk[-1]:.6g}   "
            f"floor = {sol.floor:.6g}"
        )
        print(
            f"  emerged: {int(np.isfinite(em).sum())}/{em.size} directions; predicted exponent "
            f"{predicted['time_exponent']}, fitted {fit.get('time_exponent')} on window {fit.get('window')}"
        )
        if args.out:
            print(f"  wrote {os.path.join(args.out, 'theory.json')}, curves.npz, risk.png")
    return 0


def _write_out(out: str, result: dict, extra: dict, arrays: dict, style: str = "dashboard") -> None:
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "theory.json"), "w", encoding="utf-8") as fh:
        json.dump(to_jsonable(result), fh, indent=2, allow_nan=False, ensure_ascii=False)
    np.savez(
        os.path.join(out, "curves.npz"),
        t=result["t"],
        risk=result["risk"],
        emergence_times=result["emergence_times"],
        **{k: np.asarray(v) for k, v in extra.items()},
        **{k: np.asarray(v) for k, v in arrays.items()},
    )
    from sgd_check.plots import write_theory_figures

    write_theory_figures(to_jsonable(result), out, style=style)


# ---- lists of settings → one run each, then one overlay (figure + CSV/JSON table) ------------------------------
_MAX_LIST = 8  # distinct colour + marker + line style per setting; larger grids belong to the sweep machinery


def _parse_list(name: str, text: str, kind) -> int | float | list:
    """Strictly parse ``"50,200,800"`` (or one number) into numbers of ``kind``; never evaluates the text."""
    import re

    pattern = r"[+-]?\d+" if kind is int else r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
    what = "integers" if kind is int else "numbers"
    items = [s.strip() for s in str(text).split(",")]
    if not items or any(not re.fullmatch(pattern, s) for s in items):
        raise argparse.ArgumentTypeError(
            f"`--{name}`={text!r} is not a number or a comma list of {what}; e.g. --{name} "
            + ("50,200,800" if kind is int else "0.3,0.8,1")
        )
    vals = [kind(s) for s in items]
    if len(set(vals)) != len(vals):
        raise argparse.ArgumentTypeError(f"`--{name}`={text!r} repeats a value; give each setting once")
    if len(vals) > _MAX_LIST:
        raise argparse.ArgumentTypeError(
            f"`--{name}` lists {len(vals)} settings; an overlay takes at most {_MAX_LIST} (use the sweep command)"
        )
    return vals[0] if len(vals) == 1 else vals


def _int_list(name: str):
    f = lambda text: _parse_list(name, text, int)  # noqa: E731
    f.__name__ = f"{name} (integer or comma list)"
    return f


def _float_list(name: str):
    f = lambda text: _parse_list(name, text, float)  # noqa: E731
    f.__name__ = f"{name} (number or comma list)"
    return f


def run_lists(args) -> int:
    """``run`` for each value of the one listed option (--d/--M/--N/--beta), then one overlay figure + table.

    With ``--out DIR``: each setting in ``DIR/<name>=<value>/`` (as a single run), and ``DIR/overlay.png``
    (paper: ``overlay_1col``/``overlay_2col`` .pdf/.png), ``DIR/overlay.csv``, ``DIR/overlay.json``.
    """
    listed = [k for k in ("d", "M", "N", "beta") if isinstance(getattr(args, k), list)]
    if not listed:
        return run(args)
    if len(listed) > 1:
        raise ValueError(
            f"lists given for {', '.join('--' + k for k in listed)}: an overlay varies one option; "
            "give a list for one of them (grids belong to the sweep command)"
        )
    name = listed[0]
    results: list = []
    for v in getattr(args, name):
        sub = argparse.Namespace(**{**vars(args), name: v})
        sub.out = os.path.join(args.out, f"{name}={v:g}") if args.out else None
        sub.json = False
        if args.json:
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):
                run(sub, _collect=results)
        else:
            run(sub, _collect=results)
    from sgd_check.plots import overlay_table, write_overlay

    table = overlay_table(to_jsonable(results), vary=name)
    paths = None
    if args.out:
        paths = write_overlay(to_jsonable(results), args.out, vary=name, style=args.style)
    if args.json:
        print_json({"varied": name, "table": table, "settings": results, "files": paths})
    else:
        print(f"overlay over {name} = {', '.join(f'{v:g}' for v in getattr(args, name))}:")
        for row in table:
            print(
                f"  {row['setting']:>12s}  R(t_end)={row['risk_end']:.4g}  floor={row['floor_exact']:.4g}  "
                f"emerged {row['n_emerged']}  power law drawn: {'yes' if row['power_law_drawn'] else 'no'}"
                + (f" ({row['note']})" if row["note"] else "")
            )
        if paths:
            print(f"  wrote {', '.join(paths['figures'])}, {paths['csv']}, {paths['json']}")
    return 0
