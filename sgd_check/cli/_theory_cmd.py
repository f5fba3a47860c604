"""``shallowlaws theory quadratic|homogeneous ...``: predicted learning curves from the exact gradient flow.

Thin wiring over the ``riccati`` public API: parse, validate, call, write JSON / NPZ / plot, print a summary.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from ._common import MAX_POINTS, MAX_TIME, parse_times, print_json, to_jsonable

__all__ = ["register", "run"]

#: Largest accepted |entry| of --init-weights (the model is 2-homogeneous: f grows like ‖w‖²).
MAX_WEIGHT = 1e6


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
    p.add_argument("--d", type=int, required=True, help="input dimension d ≥ max(M, N)")
    p.add_argument("--M", type=int, required=True, help="teacher width M ≥ 1")
    p.add_argument("--N", type=int, required=True, help="student width N ≥ 1")
    p.add_argument("--beta", type=float, default=1.0, help="teacher power law a_m = m^-β, β ≥ 0 (default 1)")
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
    p.add_argument("--out", metavar="DIR", help="write theory.json, curves.npz and theory.png into DIR")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out (its files only)")
    p.set_defaults(func=run)


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


def _times(args, default_tmax: float) -> np.ndarray:
    if args.times is not None:
        if args.t_max is not None:
            raise ValueError("give either --times or --t-max/--points, not both")
        return parse_times(args.times)
    tmax = default_tmax if args.t_max is None else args.t_max
    if not (math.isfinite(tmax) and 0 < tmax <= MAX_TIME):
        raise ValueError(f"`--t-max`={tmax:g} is out of range: need 0 < t-max ≤ {MAX_TIME:g}; lower --t-max")
    if not 3 <= args.points <= MAX_POINTS:
        raise ValueError(f"`--points`={args.points} is out of range: need 3 ≤ points ≤ {MAX_POINTS}; lower --points")
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
        # overlaps of unit vectors: |Y0_mn| ≤ 1 (riccati checks the singular values), with float32 round-off room
        shape = (args.M, args.N)
        Y0 = _load_npy(args.init_overlap, "--init-overlap", shape, f"(M, N) = {shape}", max_abs=1.0 + 1e-5)
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
        # f = Σ‖w_i‖²σ(·): weights beyond 1e6 give risks past 1e24 and an ODE that cannot be integrated
        shape = (args.N, args.d)
        W0 = _load_npy(args.init_weights, "--init-weights", shape, f"(N, d) = {shape}", max_abs=MAX_WEIGHT)
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


def run(args) -> int:
    """Solve, then print / write the results; returns the exit status."""
    _validate_sizes(args)
    if args.out:  # check, lock (and with --overwrite clear) the output folder before any work
        from sgd_check._outdir import OutputFolder

        params = {k: v for k, v in vars(args).items() if k not in ("func", "json", "out", "overwrite", "command")}
        with OutputFolder(args.out, "theory", params, overwrite=args.overwrite) as folder:
            return _run(args, folder)
    return _run(args, None)


def _run(args, folder) -> int:
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
    if folder is not None:
        folder.add(_write_out(args.out, result, extra, arrays))
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
            print(f"  wrote {os.path.join(args.out, 'theory.json')}, curves.npz, theory.png")
    return 0


def _write_out(out: str, result: dict, extra: dict, arrays: dict) -> list[str]:
    """Write theory.json, curves.npz and theory.png atomically (``sgd_check._outdir``); return the paths."""
    from riccati._plot import plot_theory
    from sgd_check._outdir import atomic_path, write_json, write_npz

    paths = [os.path.join(out, n) for n in ("theory.json", "curves.npz", "theory.png")]
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
    fit, pred = result["fit"], result["predicted"]
    power = None
    if fit.get("time_exponent") is not None and pred.get("time_exponent") is not None:
        from riccati._predict import anchored_power_law

        tg, vals = anchored_power_law(result["t"], result["risk"], pred["time_exponent"], fit["window"])
        power = (tg, vals, f"predicted t^{pred['time_exponent']:.3g} (fit: {fit['time_exponent']:.3g})")
    p = result["params"]
    with atomic_path(paths[2]) as tmp:
        plot_theory(
            tmp,
            result["t"],
            result["risk"],
            floor=result["floor"],
            emergence_times=result["emergence_times"],
            power_law=power,
            title=f"{result['model']}: d={p.get('d')} M={p.get('M')} N={p.get('N')} beta={p.get('beta')}",
            time_unit=result["time_unit"],
        )
    return paths
