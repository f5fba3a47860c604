"""``shallowlaws theory quadratic|homogeneous ...``: predicted learning curves from the exact gradient flow.

Thin wiring over the ``riccati`` public API: parse, validate, call, write JSON / NPZ / plot, print a summary.
Every prediction printed here comes from ``riccati`` (``scaling_predictions``, ``quadratic_predictions``,
``fit_flow_power_law``, ``predicted_emergence_from_overlaps``); nothing is recomputed.
"""

from __future__ import annotations

import argparse
import functools
import math
import os

import numpy as np

from sgd_check._progress import Progress

from ._common import MAX_POINTS, MAX_TIME, parse_times, print_json, to_jsonable
from ._conventions import add_loss_convention, convention_params

__all__ = ["register", "run"]

#: Largest accepted |entry| of --init-weights (the model is 2-homogeneous: f grows like ‖w‖²).
MAX_WEIGHT = 1e6

_TIME_GRID_HELP = (
    "Time grid: --times, or --points log-spaced times from --t-min to --t-max. Default t-max: quadratic "
    "--until converged (from 3× the predicted emergence of the weakest learnable direction, doubled until "
    "|R(2T) − R(T)| ≤ tol·max(R(2T), ã_n²)); homogeneous --until emergence (3× the predicted emergence of the "
    "weakest learnable direction, from the actual initial overlaps). Default t-min: min(t-max·1e-4, t_1/100), "
    "t_1 the predicted first emergence, so the initial plateau is on the grid."
)


def _common_parser() -> argparse.ArgumentParser:
    c = argparse.ArgumentParser(add_help=False)
    # each of --d/--M/--N/--beta also takes a comma list (one of them): one run per value, then one overlay
    c.add_argument("--d", type=_int_list("d"), required=True, help="input dimension d ≥ max(M, N); or a list")
    c.add_argument("--M", type=_int_list("M"), required=True, help="teacher width M ≥ 1; or a list")
    c.add_argument("--N", type=_int_list("N"), required=True, help="student width N ≥ 1; or a list 50,200,800")
    c.add_argument(
        "--beta",
        type=_float_list("beta"),
        default=1.0,
        help="teacher power law a_m = m^-β, β ≥ 0 (default 1); or a list 0.3,0.8,1",
    )
    c.add_argument("--seed", type=int, default=0, help="seed of the random initialisation (default 0)")
    c.add_argument("--times", metavar="GRID", help="times: '0,1,10', 'START:STOP:NUM' or 'log:START:STOP:NUM'")
    c.add_argument("--t-max", type=float, help="last time (default: see --until)")
    c.add_argument("--t-min", type=float, help="first time of the log grid (default min(t-max·1e-4, t_1/100))")
    c.add_argument("--points", type=int, default=60, help="number of log-spaced times (default 60)")
    c.add_argument(
        "--until",
        choices=("emergence", "converged"),
        help="default horizon: 'emergence' (3× the predicted emergence of the weakest learnable direction) or "
        "'converged' (doubled until the risk changes by less than --tol; quadratic only). Default: converged "
        "for quadratic, emergence for homogeneous",
    )
    c.add_argument("--tol", type=float, default=1e-3, help="relative change for --until converged (default 1e-3)")
    add_loss_convention(c)
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument("--out", metavar="DIR", help="write theory.json, curves.npz and theory.png into DIR")
    c.add_argument("--overwrite", action="store_true", help="replace the run already in --out (its files only)")
    c.add_argument(
        "--style",
        choices=("dashboard", "paper"),
        default="dashboard",
        help="figures: dashboard (theory.png) or paper (3.4 in and 7 in wide, PDF + PNG)",
    )
    return c


def register(subparsers) -> None:
    """Add the ``theory`` subcommand with ``quadratic`` and ``homogeneous`` models (each with its own --help)."""
    p = subparsers.add_parser(
        "theory",
        help="predicted learning curve (exact population gradient flow) for quadratic or 2-homogeneous networks",
        description=(
            "Exact gradient-flow theory (docs/theory.md §2-§3). quadratic: Riccati flow of G = ΘᵀUUᵀΘ in canonical "
            "time t = 4cτ (SGD: t = 4cη·steps). homogeneous: overlap ODE in t = η·steps. Risks are relative. "
            "See `theory quadratic --help` and `theory homogeneous --help`."
        ),
    )
    sub = p.add_subparsers(dest="model", metavar="MODEL", parser_class=type(p))
    sub.required = True
    common = _common_parser()
    q = sub.add_parser(
        "quadratic",
        parents=[common],
        help="quadratic network [BEVW25]: exact Riccati flow",
        description=(
            "Quadratic network f_U(x) = c Σ_i He_2(⟨u_i,x⟩), U on the Stiefel manifold, teacher Σ_m ã_m He_2(⟨θ_m,x⟩) "
            "with ã_m ∝ m^-β (docs/theory.md §2). Exact closed form of the Riccati flow of G = ΘᵀUUᵀΘ from a Haar U0 "
            "(or --init-overlap), in canonical time t = 4cτ (online SGD with step η: t = 4cη·steps, loss ½(f−y)²; "
            "talk convention: t = 8cη_talk·steps). Prints the relative risk, the width floor Σ_{N<m≤M} ã_m², the "
            "learned directions, the predicted exponents (null for β ≤ 1/2, with the regime's plateau law) and a "
            "power-law fit on a window spanning ≥ 8 emergences (or the reason there is none). " + _TIME_GRID_HELP
        ),
    )
    q.add_argument("--init-overlap", metavar="FILE.npy", help="initial overlap Y0 = ΘᵀU0, shape (M, N)")
    q.set_defaults(func=run_lists)
    h = sub.add_parser(
        "homogeneous",
        parents=[common],
        help="two-homogeneous network [RNWL25]: exact overlap ODE",
        description=(
            "Two-homogeneous network f(x) = Σ_i ‖w_i‖² σ(⟨w_i,x⟩/‖w_i‖) learning Σ_p ã_p σ(⟨θ_p,x⟩), σ even with "
            "c_0 = 0 (docs/theory.md §3). Exact population gradient flow of the overlaps (r, m, ρ) in t = η·steps "
            "(loss ½(f−y)²; talk convention: t = 2η_talk·steps). Predicted emergence times use the actual initial "
            "overlaps (best neuron per direction). " + _TIME_GRID_HELP
        ),
    )
    h.add_argument("--activation", default="h4", metavar="EXPR", help="even σ with c_0 = 0 (default h4 = He4/√24)")
    h.add_argument(
        "--init-scale", type=float, default=0.1, help="W0 entries N(0, s²/d), ‖w_i‖ ≈ s (default 0.1, as the simulator)"
    )
    h.add_argument(
        "--init-weights", metavar="FILE.npy", help="initial weights W0, shape (N, d), teacher = first M axes"
    )
    h.set_defaults(func=run_lists)


def _load_npy(path: str, flag: str, shape: tuple[int, int], shape_text: str, max_abs: float) -> np.ndarray:
    """Read a real float64 array of exactly ``shape`` from a .npy file; every failure is one line naming ``flag``.

    The header is read first, so a wrong or huge declared shape, a complex or non-numeric dtype is refused before
    any data is allocated; values must be finite with |x| ≤ ``max_abs``.
    """
    where = f"{flag} {path!r}"
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            hdr_shape, _, dtype = read(fh)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise ValueError(f"{where}: cannot read the file ({exc.strerror}); give a .npy written by numpy.save") from None
    except (OSError, ValueError, EOFError, SyntaxError, TypeError, MemoryError) as exc:
        raise ValueError(
            f"{where}: not a readable .npy file ({type(exc).__name__}); write it with numpy.save, shape {shape_text}"
        ) from None
    if dtype.kind == "c":
        raise ValueError(f"{where} is complex ({dtype}): the state must be real; save its real part if intended")
    if dtype.kind not in "fiu" or dtype.hasobject:
        raise ValueError(f"{where} has dtype {dtype}: need a real numeric array of shape {shape_text}")
    if tuple(hdr_shape) != tuple(shape):
        raise ValueError(f"{flag} has shape {tuple(hdr_shape)}; expected {shape_text}")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, MemoryError) as exc:
        raise ValueError(
            f"{where}: cannot read the array ({type(exc).__name__}); expected shape {shape_text}"
        ) from None
    arr = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{where} contains NaN or inf; give finite values")
    big = float(np.max(np.abs(arr))) if arr.size else 0.0
    if big > max_abs:
        raise ValueError(f"{where} has an entry of size {big:.3g}: need |x| ≤ {max_abs:g}; rescale the state")
    return arr


def _check_grid_args(args) -> None:
    if args.times is not None and (args.t_max is not None or args.t_min is not None or args.until is not None):
        raise ValueError("give either --times or --t-max/--t-min/--until, not both")
    if args.t_max is not None and args.until is not None:
        raise ValueError("give either --t-max or --until (the rule for the default t-max), not both")
    if not 3 <= args.points <= MAX_POINTS:
        raise ValueError(f"`--points`={args.points} is out of range: need 3 ≤ points ≤ {MAX_POINTS}; lower --points")
    if not (math.isfinite(args.tol) and 0 < args.tol < 1):
        raise ValueError(f"`--tol`={args.tol:g} is out of range: need 0 < tol < 1, e.g. 1e-3")


def _log_grid(args, tmax: float, t_first: float) -> np.ndarray:
    if not (math.isfinite(tmax) and 0 < tmax <= MAX_TIME):
        raise ValueError(f"`--t-max`={tmax:g} is out of range: need 0 < t-max ≤ {MAX_TIME:g}; lower --t-max")
    tmin = min(tmax * 1e-4, t_first / 100.0) if args.t_min is None else args.t_min
    if not (math.isfinite(tmin) and 0 < tmin < tmax):
        raise ValueError(f"`--t-min`={tmin:g} is out of range: need 0 < t-min < t-max = {tmax:g}")
    return np.geomspace(tmin, tmax, args.points)


def _validate_sizes(args) -> None:
    from hermite.validation import require_int, require_real, require_width

    require_real("beta", args.beta, lo=0.0, fix="use --beta ≥ 0")
    require_int("M", args.M, lo=1, fix="use --M ≥ 1")
    require_int("N", args.N, lo=1, fix="use --N ≥ 1")
    require_int("d", args.d, lo=1, fix="use --d ≥ 1")
    require_width("M", args.M, args.d)
    require_width("N", args.N, args.d)


# progress of the long theory steps (on stderr): a bar on a terminal, else a line after 3 s and every 10 s
_Progress = functools.partial(Progress, unit="times", prefix="shallowlaws theory: ", first_after=3.0, every=10.0)


def _fit(sol, beta: float, N: int, M: int) -> dict:
    import riccati

    em = np.asarray(sol.emergence_times, dtype=np.float64)
    em = em[~(em <= sol.t[0])]  # learned from the start: no dynamics
    try:
        f = riccati.fit_flow_power_law(sol.t, sol.risk, em, N, M, beta)
    except ValueError as exc:  # NoPowerLawWindow and too-few-points: null exponent with the reason
        return {"time_exponent": None, "window": None, "reason": str(exc)}
    return {
        "time_exponent": f.exponent,
        "window": list(f.window),
        "ci": list(f.ci),
        "ci_level": f.ci_level,
        "ci_kind": "OLS slope ± Student-t(n−2) quantile × residual standard error (deterministic curve: measures "
        "departure from a pure power law within the window)",
        "local_range": None if f.local_range is None else list(f.local_range),
        "stderr": f.stderr,
        "prefactor": f.prefactor,
        "n_points": f.n_points,
        "n_emergences": f.n_emergences,
        "rule": f.rule,
    }


def _converged_tmax(t_ladder, risks, tol: float, scale: float):
    """First T on the doubling ladder t_k = t_0·2^k with |R(2T) − R(T)| ≤ tol·max(R(2T), scale).

    Returns (T_end = 2T, k, converged); T_end is the last rung if the criterion is never met.
    """
    for k in range(len(t_ladder) - 1):
        r_prev, r = risks[k], risks[k + 1]
        if abs(r - r_prev) <= tol * max(r, scale):
            return float(t_ladder[k + 1]), k, True
    return float(t_ladder[-1]), len(t_ladder) - 1, False


def _run_quadratic(args):
    import riccati

    a = riccati.teacher_coefficients(args.beta, args.M)
    if args.init_overlap:
        # overlaps of unit vectors: |Y0_mn| ≤ 1 (riccati checks the singular values), with float32 round-off room
        shape = (args.M, args.N)
        Y0 = _load_npy(args.init_overlap, "--init-overlap", shape, f"(M, N) = {shape}", max_abs=1.0 + 1e-5)
        init = f"file {args.init_overlap}"
    else:
        Y0 = riccati.sample_initial_overlap(args.seed, args.d, args.M, args.N)
        init = f"Haar U0, seed {args.seed}"
    n_learn = min(args.M, args.N)
    g0 = min(args.N, args.d - 1) / args.d if args.d > 1 else 0.5
    t_emerge = 3.0 * math.log(1.0 / g0) / (2.0 * a[n_learn - 1])
    t_first = math.log(1.0 / g0) / (2.0 * a[0])
    horizon: dict = {}
    if args.times is not None:
        t = parse_times(args.times)
        horizon["rule"] = "given --times"
    elif args.t_max is not None:
        t = _log_grid(args, args.t_max, t_first)
        horizon["rule"] = "given --t-max"
    else:
        until = args.until or "converged"
        tmax = t_emerge
        horizon["rule"] = "3× predicted emergence of direction min(N, M): 3·log(d/N)/(2 ã_n)"
        if until == "converged":
            scale = float(a[n_learn - 1] ** 2)
            ladder = t_emerge * 2.0 ** np.arange(31)  # one closed-form call for the whole doubling ladder
            with _Progress("horizon: doubling ladder") as prog:
                r_ladder = riccati.quadratic_flow(
                    a, Y0, ladder, d=args.d, emergence="interp", progress=prog.update
                ).risk
            tmax, k, ok = _converged_tmax(ladder, r_ladder, args.tol, scale)
            horizon["rule"] = (
                f"--until converged: 3·log(d/N)/(2 ã_n) doubled {k} times until |R(2T) − R(T)| ≤ "
                f"{args.tol:g}·max(R(2T), ã_n² = {scale:.3g})" + ("" if ok else " (not reached in 30 doublings)")
            )
            horizon["converged"] = ok
        t = _log_grid(args, tmax, t_first)
    horizon.update(t_min=float(t[0]), t_max=float(t[-1]))
    with _Progress("Riccati closed form") as prog:
        sol = riccati.quadratic_flow(a, Y0, t, d=args.d, progress=prog.update)
    sp = riccati.scaling_predictions(args.beta, args.M, args.N)
    predicted = sp.as_dict()
    extra = {}
    if args.N < args.d:
        pred = riccati.quadratic_predictions(args.beta, args.M, args.N, args.d)
        predicted.update(g0=pred.g0, emergence_times=pred.emergence_times, emergence_rule=pred.emergence_rule)
        extra = {"additive": pred.additive_curve(t), "logistic": pred.logistic_curve(t)}
    learned_end = np.asarray(sol.G_diag[-1]) >= 0.5
    params = dict(
        sol.params, beta=args.beta, seed=args.seed, init=init, c="1/sqrt(N) (time is canonical)", horizon=horizon
    )
    return sol, params, predicted, extra, {"G_diag": sol.G_diag}, learned_end


def _run_homogeneous(args):
    import riccati

    a = riccati.teacher_coefficients(args.beta, args.M)
    if args.init_weights:
        # f = Σ‖w_i‖²σ(·): weights beyond 1e6 give risks past 1e24 and an ODE that cannot be integrated
        shape = (args.N, args.d)
        W0 = _load_npy(args.init_weights, "--init-weights", shape, f"(N, d) = {shape}", max_abs=MAX_WEIGHT)
        state, init = W0, f"file {args.init_weights}"
        m0 = riccati.homogeneous_state(W0, args.M)[1]
    else:
        state = riccati.sample_homogeneous_state(args.seed, args.d, args.M, args.N, init_scale=args.init_scale)
        init = f"W0 ~ N(0, s^2/d), s = {args.init_scale:g}, seed {args.seed}"
        m0 = state[1]
    if args.until == "converged":
        raise ValueError(
            "`--until converged` is available for the quadratic model only; use --t-max or --until emergence"
        )
    # validate the activation first (one clear line) and get the predicted escape times for the default grid
    info = riccati.homogeneous_activation_info(args.activation)
    k = info["information_exponent"] or 2
    bk2 = info["b_k^2"] or 1.0
    if k >= 3:
        T_pred = riccati.predicted_emergence_from_overlaps(a, m0, k, bk2)
        rule = "T_p = L(s0_p)/(b_k^2 a_p), s0_p = max_i m_ip(0)^2 (best neuron), L = ∫_{s0}^{1/2} ds/(2k s^{k/2}(1-s))"
    else:
        T_pred = riccati.predicted_emergence_homogeneous(a, args.d, max(k, 2), bk2)
        rule = "T_m = log(d)/(4 b_2^2 a_m) (k = 2, typical neuron s0 = 1/d)"
    n_learn = min(args.M, args.N)
    fin = T_pred[:n_learn][np.isfinite(T_pred[:n_learn])]
    # the horizon also covers the escape-order (greedy) prediction, which accounts for neurons taken by earlier
    # directions: the best-neuron rule alone can stop before the last emergence when directions compete
    T_greedy = riccati.greedy_emergence_homogeneous(a, m0, max(k, 2), bk2)
    fin_all = np.concatenate([fin, T_greedy[np.isfinite(T_greedy)]])
    t_emerge = 3.0 * float(np.max(fin_all)) if fin_all.size else 1.0
    t_first = float(np.min(fin)) if fin.size else 1.0
    horizon: dict = {}
    if args.times is not None:
        t = parse_times(args.times)
        horizon["rule"] = "given --times"
    else:
        t = _log_grid(args, args.t_max if args.t_max is not None else t_emerge, t_first)
        horizon["rule"] = (
            "given --t-max"
            if args.t_max is not None
            else "3× the latest predicted emergence (best-neuron and escape-order rules)"
        )
    horizon.update(t_min=float(t[0]), t_max=float(t[-1]))
    with _Progress("homogeneous flow (stiff BDF on the weights; first call compiles)"):
        sol = riccati.homogeneous_flow(args.activation, a, times=t, state=state, d=args.d)
    floor = riccati.width_floor(a, args.N)
    sol_view = _HomView(sol, floor)
    predicted = riccati.scaling_predictions(args.beta, args.M, args.N).as_dict()
    predicted.update(
        emergence_times=T_pred,
        emergence_rule=rule,
        emergence_times_escape_order=T_greedy,
        emergence_rule_escape_order="neurons escape in increasing T_ip; an escaped neuron and a learned direction "
        "leave the competition (riccati.greedy_emergence_homogeneous)",
        emergence_times_typical_neuron=sol.predicted_emergence,
        emergence_rule_typical_neuron="T_m = d^(k/2-1)/(k(k-2) b_k^2 a_m) (s0 = 1/d, k > 2)",
        information_exponent=info["information_exponent"],
    )
    learned_end = np.max(np.asarray(sol.overlaps[-1]) ** 2, axis=0) >= 0.5
    params = dict(sol.params, beta=args.beta, seed=args.seed, init=init, horizon=horizon)
    return sol_view, params, predicted, {}, {"overlaps": sol.overlaps, "norms": sol.norms}, learned_end


class _HomView:
    """Adapter giving a HomogeneousSolution the ``floor`` field used by the shared output code."""

    def __init__(self, sol, floor):
        self._sol, self.floor = sol, floor

    def __getattr__(self, name):
        return getattr(self._sol, name)


def _time_label(model: str, convention: str) -> tuple[str, str]:
    """(short axis label, time-unit sentence) in the chosen loss convention."""
    import riccati

    if model == "quadratic":
        unit = riccati.TIME_UNIT_QUADRATIC
        label = riccati.TIME_LABEL_QUADRATIC if convention == "half" else "t = 8cη_talk·steps"
    else:
        unit = riccati.TIME_UNIT_HOMOGENEOUS
        label = riccati.TIME_LABEL_HOMOGENEOUS if convention == "half" else "t = 2η_talk·steps"
    if convention == "talk":
        unit += "; talk convention (loss (f-y)^2): eta = 2*eta_talk"
    return label, unit


def run(args, _collect: list | None = None) -> int:
    """Solve, then print / write the results; returns the exit status (``_collect``: append the result)."""
    _validate_sizes(args)
    _check_grid_args(args)
    if args.out:  # check, lock (and with --overwrite clear) the output folder before any work
        from sgd_check._outdir import OutputFolder

        params = {k: v for k, v in vars(args).items() if k not in ("func", "json", "out", "overwrite", "command")}
        with OutputFolder(args.out, "theory", params, overwrite=args.overwrite) as folder:
            return _run(args, folder, _collect)
    return _run(args, None, _collect)


def _run(args, folder, _collect: list | None) -> int:
    if args.model == "quadratic":
        sol, params, predicted, extra, arrays, learned_end = _run_quadratic(args)
    else:
        sol, params, predicted, extra, arrays, learned_end = _run_homogeneous(args)
    params.update(convention_params(args.loss_convention))
    fit = _fit(sol, args.beta, args.N, args.M)
    em = np.asarray(sol.emergence_times, dtype=np.float64)
    crossed = np.isfinite(em)
    n_learn = min(args.N, args.M)
    time_label, time_unit = _time_label(args.model, args.loss_convention)
    counts = {
        "learned_at_end": int(learned_end.sum()),
        "learnable": n_learn,
        "crossed_half": int(crossed.sum()),
        "transient_crossings": int(np.sum(crossed & ~learned_end)),
        "crossed_before_first_time": int(np.sum(crossed & (em < sol.t[0]))),
        "definition": "learned_at_end: directions with G_mm (quadratic) or max_i m_ip^2 (homogeneous) ≥ 1/2 at the "
        "last time (≤ min(N, M)); crossed_half: directions whose curve crossed 1/2 at some time; "
        "transient_crossings: crossed but below 1/2 at the end (competition at the width edge)",
    }
    result = {
        "model": args.model,
        "params": params,
        "time_unit": time_unit,
        "time_label": time_label,
        "t": sol.t,
        "risk": sol.risk,
        "floor": sol.floor,
        "emergence_times": sol.emergence_times,
        "counts": counts,
        "predicted": predicted,
        "fit": fit,
    }
    if _collect is not None:
        _collect.append(result)
    if folder is not None:
        folder.add(_write_out(args.out, result, extra, arrays, style=getattr(args, "style", "dashboard")))
    if args.json:
        print_json(result)
    else:
        print(f"{args.model}: d={args.d} M={args.M} N={args.N} beta={args.beta:g}  [{time_unit}]")
        print(
            f"  R(t={sol.t[0]:.4g}) = {sol.risk[0]:.6g}   R(t={sol.t[-1]:.4g}) = {sol.risk[-1]:.6g}   "
            f"floor = {sol.floor:.6g}  ({params['horizon']['rule']})"
        )
        print(
            f"  learned at t_end: {counts['learned_at_end']}/{n_learn} directions (≥ 1/2); crossed 1/2 at some "
            f"time: {counts['crossed_half']}/{em.size} ({counts['transient_crossings']} transient)"
        )
        if predicted["time_exponent"] is None:
            law = predicted["plateau_law"] + (
                f" = {predicted['plateau']:.4g}" if predicted.get("plateau") is not None else ""
            )
            print(
                f"  regime {predicted['regime']}: no power law in t; plateau {law}; finite-M floor "
                f"(Euler–Maclaurin) {predicted['floor_asymptotic']:.4g}"
            )
        else:
            fitted = (
                f"fitted {fit['time_exponent']:.4g} [{fit['ci'][0]:.4g}, {fit['ci'][1]:.4g}] on window "
                f"[{fit['window'][0]:.4g}, {fit['window'][1]:.4g}] ({fit['n_emergences']} emergences)"
                if fit["time_exponent"] is not None
                else f"not fitted: {fit['reason']}"
            )
            print(f"  predicted exponent {predicted['time_exponent']:.4g}, {fitted}")
        if args.out:
            print(f"  wrote {os.path.join(args.out, 'theory.json')}, curves.npz, theory.png")
    return 0


def _write_out(out: str, result: dict, extra: dict, arrays: dict, style: str = "dashboard") -> list[str]:
    """Write theory.json, curves.npz and the theory figures atomically (``sgd_check._outdir``); return the paths."""
    from sgd_check._outdir import write_json, write_npz

    paths = [os.path.join(out, n) for n in ("theory.json", "curves.npz")]
    write_json(paths[0], to_jsonable(result), indent=2)
    write_npz(
        paths[1],
        compressed=False,
        t=result["t"],
        risk=result["risk"],
        emergence_times=result["emergence_times"],
        **{k: np.asarray(v) for k, v in extra.items()},
        **{k: np.asarray(v) for k, v in arrays.items()},
    )
    from sgd_check.plots import write_theory_figures

    return paths + list(write_theory_figures(to_jsonable(result), out, style=style, stem="theory"))


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
