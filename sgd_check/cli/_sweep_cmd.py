"""``shallowlaws sweep SPEC.toml --out STORE.zarr ...`` and ``shallowlaws sweep plot STORE ...`` (thin wiring).

Exit status: 0 every cell finished, 1 some cell failed (recorded in the store with its error), 2 bad input (a bad
spec, a store in use by another sweep), 130 interrupted (what finished is kept; rerun the same command to resume).
"""

from __future__ import annotations

import sys

from ._common import print_json

__all__ = ["register", "run"]

_DESCRIPTION = (
    "Run a grid of `theory`, `simulate` or `check` runs (a TOML spec) on a Dask cluster into a resumable Zarr "
    "store (xarray.open_zarr(STORE)); each cell equals the command's --json output. `sweep plot STORE` draws "
    "phase diagrams and families of curves from a store. See docs/sweeps.md."
)


def register(subparsers) -> None:
    """Add ``sweep`` (``sweep SPEC.toml --out STORE ...``) and its ``sweep plot STORE ...`` form."""
    p = subparsers.add_parser(
        "sweep",
        help="grids of theory/simulate/check runs on a Dask cluster, in a resumable Zarr store; `sweep plot`",
        description=_DESCRIPTION,
        usage=(
            "shallowlaws sweep SPEC.toml --out STORE.zarr [--workers N] [--scheduler ADDRESS] [--json] [--quiet]\n"
            "       shallowlaws sweep plot STORE [--kind {phase,curves,exponent}] [--var VAR] [--x X] [--y Y] "
            "[--color DIM] [--sel NAME=VALUE] [--at-t T] [--out DIR] [--json]"
        ),
    )
    p.add_argument("target", nargs="+", metavar="SPEC.toml | plot STORE", help="a sweep spec, or `plot STORE`")
    g_run = p.add_argument_group("running a sweep")
    g_run.add_argument("--out", metavar="PATH", help="the store (STORE.zarr: created or resumed); plot: output folder")
    g_run.add_argument("--workers", type=int, default=None, metavar="N", help="local workers (or Slurm/PBS jobs)")
    g_run.add_argument("--scheduler", default=None, metavar="ADDRESS", help="use a running Dask scheduler (tcp://...)")
    g_run.add_argument(
        "--json", action="store_true", help="print {cells, done, skipped, failed, seconds} (plot: files)"
    )
    g_run.add_argument("--quiet", action="store_true", help="no progress bar")
    g_plot = p.add_argument_group(
        "sweep plot STORE",
        "phase diagram (a scalar over two sweep dimensions, e.g. the plateau `floor` over beta and phi = N/M), "
        "curves coloured by a dimension (risk by N), fitted exponent against beta with its prediction; without "
        "--kind every default figure the grid allows. NAME.png is saved next to NAME.json (the plotted numbers), "
        "in --out (default STORE/plots).",
    )
    g_plot.add_argument("--kind", choices=("phase", "curves", "exponent"), help="which figure (default: all that fit)")
    g_plot.add_argument("--var", help="variable to draw (default: floor / risk / fit.time_exponent)")
    g_plot.add_argument("--x", help="x axis: a sweep dimension or coordinate (phase, exponent)")
    g_plot.add_argument("--y", help="y axis: a sweep dimension or a coordinate such as phi (phase)")
    g_plot.add_argument("--color", help="dimension the curves are coloured by (curves, exponent)")
    g_plot.add_argument(
        "--sel",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix another sweep dimension (repeatable; default: its first value)",
    )
    g_plot.add_argument("--at-t", dest="at_t", default="last", help="phase diagram of a curve: 'last' or a time")
    p.set_defaults(func=run)


_PLOT_ONLY = ("kind", "var", "x", "y", "color", "at_t")
_RUN_ONLY = ("workers", "scheduler", "quiet")


def run(args) -> int:
    """Dispatch ``sweep SPEC`` / ``sweep plot STORE``; returns the exit status."""
    target = list(args.target)
    if target[0] == "plot":
        if len(target) != 2:
            raise ValueError("`sweep plot` takes one STORE: shallowlaws sweep plot STORE.zarr [--kind ...]")
        used = [f"--{n.replace('_', '-')}" for n in _RUN_ONLY if getattr(args, n) not in (None, False)]
        if used:
            raise ValueError(f"{used[0]} is for running a sweep, not for `sweep plot`; drop it")
        args.store = target[1]
        return _plot(args)
    if len(target) != 1:
        raise ValueError(f"`sweep` takes one SPEC.toml, got {target}; to draw figures: shallowlaws sweep plot STORE")
    used = [f"--{n.replace('_', '-')}" for n in _PLOT_ONLY if getattr(args, n) not in (None, "last")]
    used += ["--sel"] if args.sel else []
    if used:
        raise ValueError(f"{used[0]} is a `sweep plot` option; to draw figures: shallowlaws sweep plot STORE {used[0]}")
    if not args.out:
        raise ValueError("`--out STORE.zarr` is required: the store the sweep writes (or resumes)")
    args.spec = target[0]
    return _sweep(args)


def _sweep(ns) -> int:
    from sgd_check.sweep import SweepInterrupted, SweepLockedError, run_sweep

    try:
        res = run_sweep(
            ns.spec,
            ns.out,
            workers=ns.workers,
            scheduler=ns.scheduler,
            progress=False if ns.quiet else None,
        )
    except SweepLockedError as exc:
        print(f"shallowlaws sweep: error: {exc}", file=sys.stderr)
        return 2
    except SweepInterrupted as exc:
        r = exc.result
        print(
            f"shallowlaws sweep: interrupted after {r.done} new cells ({r.skipped + r.done + r.failed}/{r.cells} "
            f"finished); the store is consistent: rerun the same command to resume",
            file=sys.stderr,
        )
        if ns.json:
            print_json(r.summary())
        return 130
    if ns.json:
        print_json(res.summary())
    else:
        print(
            f"sweep {res.store}: {res.cells} cells: {res.done} done, {res.skipped} skipped (already finished), "
            f"{res.failed} failed in {res.seconds:.1f} s"
            + (f"; {res.recomputed} corrupted entries recomputed" if res.recomputed else "")
        )
        for key, err in list(res.errors.items())[:5]:
            print(f"  failed cell {key}: {err}")
        if res.failed:
            print("  failed cells are kept with their errors; rerunning the same command retries them")
        print(f"  read it with xarray.open_zarr({res.store!r}); draw it with `shallowlaws sweep plot {res.store}`")
    return 1 if res.failed else 0


def _plot(ns) -> int:
    from sgd_check.sweep import plot_store
    from sgd_check.sweep._plot import parse_selection

    paths = plot_store(
        ns.store,
        ns.out,
        kind=ns.kind,
        var=ns.var,
        x=ns.x,
        y=ns.y,
        color=ns.color,
        sel=parse_selection(ns.sel),
        at_t=ns.at_t,
    )
    if ns.json:
        print_json({"files": paths})
    else:
        for p in paths:
            print(f"wrote {p}")
    return 0
