"""``shallowlaws simulate quadratic|homogeneous ...``: online SGD, many seeds, JSON/NPZ/plot output.

Thin wiring over ``sgd_check.simulate``: parse, build the validated config, run, print, write files.
"""

from __future__ import annotations

import argparse
import os

from ._common import add_run_arguments, require_model_arguments
from ._conventions import convention_params, eta_in_code_convention

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``simulate`` subcommand."""
    p = subparsers.add_parser(
        "simulate",
        help="online SGD simulation (quadratic Stiefel model or two-homogeneous model), many seeds at once",
        description=(
            "Online SGD with fresh Gaussian samples. quadratic [BEVW25]: Stiefel SGD with polar retraction, "
            "flow time t = 4·c·η·steps, risk 1 − tr(ÃGÃG). homogeneous [RNWL25]: plain SGD on "
            "Σ‖w_i‖²σ(⟨w_i,x⟩/‖w_i‖), t = η·steps, risk 2L/K(1). Teacher a_m = m^-β (normalised) on the first M "
            "axes. Risks are relative and computed exactly from the state."
        ),
    )
    p.add_argument("model", choices=("quadratic", "homogeneous"))
    add_run_arguments(p, seeds=1, required=True)
    p.add_argument("--phase2", default="end", help="quadratic radial least-squares fit: end (default), logged, none")
    p.add_argument(
        "--n-prime",
        type=int,
        default=None,
        help="samples for the Phase II fit (default: from --phase2-target, n′ = p + 1 + ⌈1.5p/target⌉, p = N(N+1)/2)",
    )
    p.add_argument(
        "--phase2-target",
        type=float,
        default=0.1,
        help="Phase II: expected excess risk aimed at, as a fraction of the oracle risk (default 0.1)",
    )
    p.add_argument(
        "--eta-schedule",
        dest="eta_schedule",
        default=None,
        metavar="S:ETA[,S:ETA...]",
        help="piecewise-constant step size: after S updates use ETA (same --loss-convention as --eta), e.g. "
        "'20000:5e-5,80000:2e-5'; --eta is the step size before the first S; flow time t = Σ η_n",
    )
    p.add_argument(
        "--label-noise",
        dest="label_noise",
        type=float,
        default=None,
        metavar="SIGMA",
        help="homogeneous: Gaussian label noise y = f_*(x) + SIGMA·ε, one ε ~ N(0,1) per sample (default 0); the "
        "logged risk stays the noise-free 2L/K(1)",
    )
    p.add_argument("--out", default=None, metavar="DIR", help="write result.npz, result.json, result.png, checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.npz (needs --out)")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out (its files only)")
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=8,
        metavar="K",
        help="with --out: checkpoint atomically every K chunks (default 8)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_eta_schedule(text, convention: str) -> tuple:
    """``"S1:ETA1,S2:ETA2"`` → ``((S1, η1), (S2, η2))`` with each η in the code's convention; parsed, never evaluated.

    Raises ``ValueError`` naming ``--eta-schedule`` and the piece that does not parse (the config validates ranges)."""
    if text is None:
        return ()
    out = []
    for i, piece in enumerate(str(text).split(",")):
        parts = piece.strip().split(":")
        try:
            if len(parts) != 2:
                raise ValueError
            start, eta = int(parts[0].strip()), float(parts[1].strip())
        except ValueError:
            raise ValueError(
                f"`--eta-schedule` piece {i} = {piece.strip()!r} is not START:ETA (an integer step count and a step "
                "size); write e.g. --eta-schedule 20000:5e-5,80000:2e-5"
            ) from None
        out.append((start, eta_in_code_convention(eta, convention)))
    return tuple(out)


def build_config(args: argparse.Namespace):
    """The validated config for parsed ``args`` (ValueError/TypeError name the offending option)."""
    from sgd_check import HomogeneousSGDConfig, QuadraticSGDConfig, steps_for_time

    if args.t_max is not None and getattr(args, "eta_schedule", None):
        raise ValueError(
            "`--t-max` and `--eta-schedule` cannot be combined: the flow time per step changes along the schedule; "
            "give --steps (the schedule's starts are step counts)"
        )
    common = dict(
        d=args.d,
        M=args.M,
        N=args.N,
        beta=args.beta,
        eta=eta_in_code_convention(args.eta, args.loss_convention),
        batch=args.batch,
        steps=1 if args.steps is None else args.steps,
        seeds=args.seeds,
        dtype=args.dtype,
        device=args.device,
        seed=args.seed,
        n_log=args.n_log,
        checkpoint_every=args.checkpoint_every,
        engine=args.engine,
        eta_schedule=parse_eta_schedule(getattr(args, "eta_schedule", None), args.loss_convention),
    )
    require_model_arguments(args.model, args)
    label_noise = getattr(args, "label_noise", None)
    if args.model == "quadratic" and label_noise is not None:
        raise ValueError("`--label-noise` applies to the homogeneous model only; drop it for the quadratic model")
    if args.model == "quadratic":
        cfg = QuadraticSGDConfig(
            **common, c=args.c, phase2=args.phase2, n_prime=args.n_prime, phase2_target=args.phase2_target
        )
    else:
        cfg = HomogeneousSGDConfig(
            **common,
            activation=args.activation or "h4",
            init_scale=args.init_scale,
            label_noise=0.0 if label_noise is None else label_noise,
        )
    if args.t_max is not None:
        cfg = cfg.replace(steps=steps_for_time(args.t_max, cfg.time_per_step))
    return cfg


def run(args) -> int:
    """Run the simulation; print JSON or a short summary; write files under --out. Returns the exit status."""
    from sgd_check import simulate

    if args.resume and not args.out:
        raise ValueError("`--resume` needs `--out DIR`, the folder holding checkpoint.npz; add --out")
    if args.resume and args.overwrite:
        raise ValueError("`--resume` and `--overwrite` contradict each other: continue the run or replace it")
    cfg = build_config(args)
    from ._common import require_resources

    require_resources(cfg)
    paths = {}
    if args.out:
        from sgd_check._outdir import OutputFolder
        from sgd_check._sim import config_params
        from sgd_check._sim.output import save_result

        params = config_params(cfg)
        with OutputFolder(args.out, "simulate", params, resume=args.resume, overwrite=args.overwrite) as folder:
            if args.resume:  # a damaged or foreign checkpoint is refused now, before compiling anything
                from sgd_check._sim import checkpoint

                checkpoint.load(os.path.join(args.out, "checkpoint.npz"), params)
            res = simulate(cfg, out=args.out, resume=args.resume, progress=not (args.quiet or args.json))
            res.params.update(convention_params(args.loss_convention, args.eta))
            folder.add("checkpoint.npz")
            paths = save_result(res, args.out)
            folder.add(paths)
    else:
        res = simulate(cfg, out=None, resume=False, progress=not (args.quiet or args.json))
        res.params.update(convention_params(args.loss_convention, args.eta))
    if args.json:
        from ._common import print_json

        summary = res.summary()
        if paths:
            summary["files"] = paths
        print_json(summary)
        return 0
    p = res.params
    print(
        f"{res.model} SGD: d={p['d']} M={p['M']} N={p['N']} β={p['beta']:g} η={p['eta']:g} "
        f"B={p['batch']} seeds={p['seeds']} steps={p['steps']} ({p['dtype']}, {res.device}, {p['engine']} engine)"
        + (f" label noise σ_ε={p['label_noise']:g} (risk is noise-free)" if p.get("label_noise") else "")
    )
    print(f"time unit: {res.time_unit}; t_final = {res.t[-1]:.6g}")
    for i in sorted({0, len(res.steps) // 2, len(res.steps) - 1}):
        print(
            f"  step {res.steps[i]:>10}  t={res.t[i]:<12.6g} risk mean {res.risk_mean[i]:.6g} ± {res.risk_std[i]:.2g}"
        )
    if res.phase2 is not None:
        ph = res.phase2
        print(
            f"Phase II (end, n′={ph['n_prime']}, target excess {ph['target_excess']:g} × oracle): mean fitted risk "
            f"{ph['risk_fitted_mean']:.6g} vs oracle {ph['risk_oracle_mean']:.6g} "
            f"(excess {ph['excess_over_oracle']:.3g} × oracle; {ph['seconds']:.2f} s)"
        )
    if res.model == "quadratic":
        print(f"max Stiefel drift ‖UᵀU − I‖_F before re-orthonormalisation: {float(res.stiefel_drift.max()):.2e}")
    nd = int(res.diverged.sum())
    if nd:
        print(
            f"{nd} seed(s) diverged at steps {res.diverged_at[res.diverged].tolist()}; "
            f"try a smaller step size, e.g. --eta {res.suggested_eta:g}"
        )
    print(
        f"{res.samples_per_second:.4g} sample-steps/s end to end ({res.seconds:.1f} s total; engine alone "
        f"{res.engine_samples_per_second:.4g}/s, compile {res.compile_seconds:.1f} s)"
    )
    for k, v in paths.items():
        print(f"wrote {k}: {v}")
    return 0
