"""``shallowlaws check``: SGD vs the exact flow from the same initial states, with a verdict (thin wiring only).

Exit status: 0 every gated check passed, 1 a check failed (the run itself worked), 2 bad input.
"""

from __future__ import annotations

import os

from ._common import add_run_arguments, print_json, require_model_arguments
from ._conventions import convention_params, eta_in_code_convention

__all__ = ["register", "run", "add_run_arguments", "config_from_args", "format_verdict"]


def config_from_args(model: str, args) -> object:
    """Build the frozen simulator config from parsed arguments; missing ones raise one clear ValueError."""
    from sgd_check import HomogeneousSGDConfig, QuadraticSGDConfig, steps_for_time

    for name in ("d", "M", "N", "eta"):
        if getattr(args, name) is None:
            raise ValueError(f"`--{name}` is required for `check {model}`; e.g. --d 128 --M 64 --N 8 --beta 0.8")
    if args.steps is None and args.t_max is None:
        raise ValueError("one of `--steps` or `--t-max` is required: give the run length in steps or in flow time")
    require_model_arguments(model, args)
    common = dict(
        d=args.d,
        M=args.M,
        N=args.N,
        beta=args.beta,
        eta=eta_in_code_convention(args.eta, getattr(args, "loss_convention", "half")),
        steps=args.steps or 1,
        batch=args.batch,
        seeds=args.seeds,
        dtype=args.dtype,
        seed=args.seed,
        n_log=args.n_log,
        device=args.device,
        engine=getattr(args, "engine", "auto"),
    )
    if model == "quadratic":
        cfg = QuadraticSGDConfig(c=args.c, phase2="none", **common)
    else:
        cfg = HomogeneousSGDConfig(activation=args.activation or "h4", init_scale=args.init_scale, **common)
    if args.steps is None:
        cfg = cfg.replace(steps=steps_for_time(args.t_max, cfg.time_per_step))
    return cfg


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check",
        help="run SGD and the exact flow from the same initial states and judge the predictions",
        description=(
            "Run online SGD (S seeds) and, from each seed's own initial state, the exact gradient flow; put both on "
            "the flow-time axis (quadratic t = 4cη·steps, homogeneous t = η·steps); compare gaps, emergence times, "
            "exponents and plateaus; write report.json, data.npz and figures to --out. Exit 0 if every check "
            "passes, 1 if one fails, 2 for bad input. --from-dir DIR re-judges and re-draws a saved run."
        ),
    )
    p.add_argument("model", nargs="?", choices=("quadratic", "homogeneous"), help="which model")
    p.add_argument("--from-dir", dest="from_dir", metavar="DIR", help="re-render report and plots from DIR/data.npz")
    add_run_arguments(p, seeds=4, required=False)  # check's verdict needs a mean over seeds; --from-dir needs none
    p.add_argument("--out", default=None, help="output folder (default ./shallowlaws-out/check-MODEL)")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out (its files only)")
    p.add_argument("--pdf", action="store_true", help="also write the figures as PDF")
    p.add_argument(
        "--style",
        choices=("dashboard", "paper"),
        default="dashboard",
        help="figures: dashboard panels (default) or paper (single panels 3.4 in and 7 in wide, PDF + PNG)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of the summary")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--time-map-factor",
        type=float,
        default=1.0,
        dest="time_map_factor",
        help="diagnostic: multiply the SGD time axis by this factor (≠ 1 is a deliberately wrong time map)",
    )
    p.set_defaults(func=run)


def format_verdict(report: dict) -> str:
    """A short human-readable table of the verdict's rows (``report["verdict"]["checks"]``) and its outcome."""
    lines = [f"{'check':34s} {'value':>10s} {'tolerance':>10s}  result"]
    for row in report["verdict"]["checks"]:
        gated = row.get("gated", True)
        res = ("pass" if row["pass"] else "FAIL") if gated else ("info" + ("" if row["pass"] else " (off)"))
        lines.append(f"{row['name']:34s} {_num(row['value']):>10s} {_num(row['tolerance']):>10s}  {res}")
    from sgd_check.plots import verdict_scope

    vs = verdict_scope(report)
    lines += [vs["sgd_line"], vs["theorem_line"], f"verdict: {'PASS' if report['verdict']['pass'] else 'FAIL'}"]
    return "\n".join(lines)


def _num(x) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, int):
        return str(x)
    return f"{x:.3g}"


def run(args) -> int:
    from sgd_check import check, check_from_dir
    from sgd_check._check.run import output_names
    from sgd_check._outdir import OutputFolder

    if args.from_dir:
        if not os.path.isdir(args.from_dir):
            raise FileNotFoundError(f"`--from-dir`={args.from_dir!r} is not a folder; give the --out folder of a check")
        with OutputFolder(args.from_dir, "check", resume=True, flag="--from-dir"):
            report = check_from_dir(args.from_dir, pdf=args.pdf, style=args.style)
        out = args.from_dir
    else:
        if args.model is None:
            raise ValueError("`model` is required: `shallowlaws check quadratic|homogeneous ...` or `--from-dir DIR`")
        cfg = config_from_args(args.model, args)
        from ._common import require_resources

        require_resources(cfg)
        out = args.out or os.path.join("shallowlaws-out", f"check-{args.model}")
        from sgd_check._sim import config_params

        params = dict(config_params(cfg), time_map_factor=args.time_map_factor)
        with OutputFolder(out, "check", params, overwrite=args.overwrite) as folder:
            report = check(
                cfg,
                out=out,
                time_map_factor=args.time_map_factor,
                pdf=args.pdf,
                progress=not args.quiet,
                style=args.style,
                annotations=convention_params(args.loss_convention, args.eta),
            )
            folder.add(*output_names())
    if args.json:
        print_json(report)
    else:
        print(format_verdict(report))
        if report.get("comparison", {}).get("note"):
            print(f"note: {report['comparison']['note']}")
        print(f"wrote {os.path.join(out, 'report.json')}, data.npz and figures (risk, staircase, emergence, summary)")
    return 0 if report["verdict"]["pass"] else 1
