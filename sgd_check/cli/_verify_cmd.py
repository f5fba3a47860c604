"""``shallowlaws verify``: the talk's claims checked at growing size, each gated with a negative control.

Thin wiring over :func:`sgd_check.verify.verify`. Exit status: 0 every claim that was run passed, 1 a gate failed
(or a negative control passed, or nothing could be run), 2 bad input. Claims that need engines not built yet are
reported as "not run" and left out of the verdict.
"""

from __future__ import annotations

import contextlib
import os
import sys

from ._common import print_json

__all__ = ["register", "run", "format_table"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verify",
        help="check the talk's claims (docs/theory.md §6) at growing size, each with a gate and a negative control",
        description=(
            "For each claim: an experiment over growing sizes with several seeds, the measured value per size with "
            "a 95%% interval, an extrapolation to the limit, the prediction and a gate (pass when the prediction is "
            "in the extrapolated interval widened by a stated tolerance), and a negative control (the same data "
            "judged against a wrong prediction) that must fail. Writes OUT/report.json, OUT/claim_<id>.json (data), "
            "OUT/claim_<id>.png and OUT/summary.png."
        ),
    )
    p.add_argument("claims", nargs="*", metavar="CLAIM", help="claim ids (1..10, or parts such as 4a); default all")
    p.add_argument(
        "--size",
        default="quick",
        choices=("quick", "standard", "full"),
        help="quick (≤ 10 min on 2 cores, default), standard (≤ 60 min), full (largest sweeps)",
    )
    p.add_argument("--out", default="verify-out", help="output folder (default ./verify-out)")
    p.add_argument("--overwrite", action="store_true", help="replace the verify run already in --out (its files only)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    g = p.add_argument_group("parallel claims on Dask (default: one after another in this process)")
    g.add_argument("--workers", type=int, default=None, help="run the claims on a LocalCluster of this many workers")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS", help="use a running Dask scheduler (tcp://...)")
    g.add_argument(
        "--cluster",
        default=None,
        metavar="TOML",
        help='start the cluster of this file\'s [cluster] table (type = "local"|"slurm"|"pbs"; docs/sweeps.md)',
    )
    p.set_defaults(func=run)


def _f(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, list):
        return "table" if len(x) > 3 else str(x)
    return f"{x:.4g}"


def format_table(report: dict) -> str:
    """One line per claim: measured (extrapolated) value and interval, prediction ± tolerance, control, verdict."""
    head = (
        f"{'claim':5s} {'title':34s} {'extrapolated [95% CI]':>30s} {'predicted ± tol':>18s} {'control':>9s}  verdict"
    )
    lines = [head, "-" * len(head)]
    for r in report["claims"]:
        if r["status"] != "run" or r.get("extrapolated") is None:
            v = "NOT RUN" if r["status"] == "not run" else "ERROR"
            lines.append(f"{r['id']:5s} {r['title'][:34]:34s} {'':>30s} {'':>18s} {'':>9s}  {v}")
            continue
        ex = r["extrapolated"]
        ci = ex["ci"]
        exs = "exact match" if isinstance(ex["value"], list) else f"{_f(ex['value'])} [{_f(ci[0])}, {_f(ci[1])}]"
        rel = {"at most": "≤", "at least": "≥"}.get(r["verdict"].get("bound"), "")
        pr = (
            "table"
            if isinstance(r["predicted"], list)
            else f"{rel}{_f(r['predicted'])} ± {_f(r['verdict']['tolerance'])}"
        )
        ctl = f"{_f(r['control']['prediction'])}" if not isinstance(r["control"]["prediction"], list) else "IE+1"
        verdict = "PASS" if r["verdict"]["pass"] else "FAIL"
        lines.append(
            f"{r['id']:5s} {r['title'][:34]:34s} {exs:>30s} {pr:>18s} {ctl:>9s}  {verdict}"
            f"  ({r['seconds']:.0f} s; control {'PASSES' if r['control']['pass'] else 'fails'})"
        )
    lines.append("")
    for r in report["claims"]:
        if r["status"] != "run":
            lines.append(f"{r['id']}: {r['verdict']['why']}")
    v = report["verdict"]
    lines.append(
        f"suite verdict: {'PASS' if v['pass'] else 'FAIL'} ({v['n_pass']} pass, {v['n_fail']} fail, "
        f"{v['n_not_run']} not run) in {report['seconds']:.0f} s, size {report['size']}"
    )
    return "\n".join(lines)


def run(args) -> int:
    from hermite.validation import require_int
    from sgd_check._outdir import OutputFolder
    from sgd_check.sweep import dask_client, load_cluster
    from sgd_check.verify import verify
    from sgd_check.verify._registry import select_claims

    def progress(msg):
        if not args.quiet and not args.json:
            print(msg, file=sys.stderr, flush=True)

    params = {"claims": args.claims, "size": args.size, "seed": args.seed}
    parallel = args.workers is not None or args.scheduler is not None or args.cluster is not None
    if args.workers is not None:
        require_int("workers", args.workers, lo=1, hi=4096, fix="give --workers 1 or more")
    cluster = load_cluster(args.cluster) if args.cluster is not None else None
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(OutputFolder(args.out, "verify", params, overwrite=args.overwrite))
        client = None
        if parallel:
            n = len(select_claims(args.claims or None))
            client = stack.enter_context(
                dask_client(cluster, workers=args.workers, scheduler=args.scheduler, n_tasks=n)
            )
        report = verify(
            args.claims or None, size=args.size, out=args.out, seed=args.seed, progress=progress, client=client
        )
        folder.add("report.json", report.get("figure"))
        for row in report["claims"]:
            folder.add(f"claim_{row['id']}.json", row.get("figure"))
    if args.json:
        print_json(report)
    else:
        print(format_table(report))
        print(f"report: {os.path.join(args.out, 'report.json')}")
    return 0 if report["verdict"]["pass"] else 1
