"""``shallowlaws sweep SPEC.toml --out STORE.zarr ...`` and ``shallowlaws sweep plot STORE ...`` (thin wiring).

Exit status: 0 every cell finished, 1 some cell failed (recorded in the store with its error), 2 bad input (a bad
spec, a store in use by another sweep), 130 interrupted (what finished is kept; rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import sys

from ._common import print_json

__all__ = ["register", "run"]

_DESCRIPTION = (
    "Run a grid of `theory`, `simulate` or `check` runs (a TOML spec) on a Dask cluster into a resumable Zarr "
    "store (xarray.open_zarr(STORE)); each cell equals the command's --json output. `sweep plot STORE` draws "
    "phase diagrams and families of curves from a store. See docs/sweeps.md."
)


def register(subparsers) -> None:
    """Add ``sweep``: its own two parsers (run and plot) read the rest of the command line."""
    p = subparsers.add_parser(
        "sweep",
        help="grids of theory/simulate/check runs on a Dask cluster, in a resumable Zarr store; `sweep plot`",
        description=_DESCRIPTION,
        add_help=False,
    )
    p.add_argument("argv", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _parser_class():
    from . import _Parser

    return _Parser


def _run_parser() -> argparse.ArgumentParser:
    p = _parser_class()(prog="shallowlaws sweep", description=_DESCRIPTION)
    p.add_argument("spec", metavar="SPEC.toml", help="the sweep spec (TOML); `sweep plot STORE` draws figures")
    p.add_argument("--out", required=True, metavar="STORE.zarr", help="the store: created, or resumed if it exists")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="local workers (or batch jobs on Slurm/PBS)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="use a running Dask scheduler (tcp://...)")
    p.add_argument("--json", action="store_true", help="print {cells, done, skipped, failed, seconds}")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _plot_parser() -> argparse.ArgumentParser:
    p = _parser_class()(
        prog="shallowlaws sweep plot",
        description=(
            "Draw figures from a sweep store: phase diagram (a scalar over two sweep dimensions, e.g. the plateau "
            "`floor` over beta and phi = N/M), family of curves coloured by a dimension (risk by N), fitted "
            "exponent against beta with its prediction. Without --kind: every default figure the grid allows. "
            "Each NAME.png is saved next to NAME.json with the plotted numbers."
        ),
    )
    p.add_argument("store", metavar="STORE", help="a sweep store (.zarr)")
    p.add_argument("--kind", choices=("phase", "curves", "exponent"), help="which figure (default: all that fit)")
    p.add_argument("--var", help="variable to draw (default: floor / risk / fit.time_exponent)")
    p.add_argument("--x", help="x axis: a sweep dimension or coordinate (phase, exponent)")
    p.add_argument("--y", help="y axis: a sweep dimension or coordinate such as phi (phase)")
    p.add_argument("--color", help="dimension the curves are coloured by (curves, exponent)")
    p.add_argument(
        "--sel",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix another sweep dimension (repeatable; default: its first value)",
    )
    p.add_argument("--at-t", default="last", help="phase diagram of a curve: 'last' (default) or a time")
    p.add_argument("--out", metavar="DIR", help="output folder (default STORE/plots)")
    p.add_argument("--json", action="store_true", help="print the written files as JSON")
    return p


def run(args) -> int:
    argv = list(args.argv)
    if argv[:1] == ["plot"]:
        parser, fn = _plot_parser(), _plot
        argv = argv[1:]
    else:
        parser, fn = _run_parser(), _sweep
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    return fn(ns)


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
