"""Figures from a sweep store: phase diagrams, families of curves, fitted exponents (drawing only, no numerics).

Every figure ``NAME.png`` is written next to ``NAME.json`` holding exactly the plotted numbers, the selection
along the other sweep dimensions, the store and the conventions (time unit, relative risk), so a figure can be
redrawn or audited without the store. Files are written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from .._outdir import to_jsonable
from ._store import atomic_write

__all__ = ["plot_phase", "plot_curves", "plot_exponent", "plot_store", "default_plots"]

_CURVE_VAR = {"theory": "risk", "simulate": "risk_mean", "check": "sgd.risk_mean"}
_PHASE_VAR = {"theory": "floor", "simulate": "risk_mean", "check": "sgd.risk_mean"}


# ------------------------------------------------------------------------------------------------ selection
def _sweep_dims(ds) -> list[str]:
    return [d for d in ds["cell_status"].dims]


def _coord_values(ds, name):
    if name not in ds.coords:
        raise ValueError(f"`{name}` is not a sweep dimension or coordinate of this store; have: {_names(ds)}")
    return ds.coords[name]


def _names(ds) -> str:
    return ", ".join(str(c) for c in ds.coords if c != "t")


def parse_selection(items) -> dict:
    """``["N=8", "seed=0"]`` → ``{"N": "8", "seed": "0"}`` (values are matched to coordinates later)."""
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"`--sel`={item!r} must be NAME=VALUE, e.g. --sel N=8")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _index_of(ds, dim: str, value) -> int:
    coord = np.asarray(_coord_values(ds, dim).values)
    if coord.dtype.kind in "fiu":
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"`--sel {dim}={value}`: {dim} is numeric; values: {coord.tolist()}") from None
        hits = np.flatnonzero(np.isclose(coord.astype(float), v, rtol=1e-9, atol=0.0))
    else:
        hits = np.flatnonzero(coord.astype(str) == str(value))
    if hits.size == 0:
        raise ValueError(f"`--sel {dim}={value}` is not on the grid; values: {coord.tolist()}")
    return int(hits[0])


def _select(ds, var: str, keep: list[str], sel: dict, at_t=None):
    """``ds[var]`` reduced to the sweep dims in ``keep`` (+ ``t`` unless ``at_t``): other sweep dims selected by
    ``sel`` or at their first value, ``run`` averaged (NaN-aware), ``t`` taken at ``at_t`` ("last" = last finite)."""
    if var not in ds:
        avail = ", ".join(v for v in ds.data_vars if not str(v).startswith("cell_"))
        raise ValueError(f"`--var`={var!r} is not in the store; variables: {avail}")
    da = ds[var]
    selection = {}
    for dim in _sweep_dims(ds):
        if dim in keep:
            continue
        if dim in sel:
            i = _index_of(ds, dim, sel[dim])
        elif ds.sizes[dim] == 1:
            i = 0
        else:
            i = 0
        val = ds.coords[dim].values[i] if dim in ds.coords else i
        selection[dim] = val.item() if hasattr(val, "item") else val
        da = da.isel({dim: i})
    for k in sel:
        if k not in _sweep_dims(ds):
            raise ValueError(f"`--sel {k}=...`: {k} is not a sweep dimension; dimensions: {', '.join(_sweep_dims(ds))}")
    notes = []
    if "run" in da.dims:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            da = da.mean("run", skipna=True)
        notes.append("mean over runs (seeds)")
    if at_t is not None and "t" in da.dims:
        vals = da.values
        if at_t == "last":
            idx = np.where(np.isfinite(vals), np.arange(vals.shape[-1]), -1).max(axis=-1)
            out = np.take_along_axis(vals, np.maximum(idx, 0)[..., None], axis=-1)[..., 0]
            out = np.where(idx >= 0, out, np.nan)
            da = da.isel(t=0, drop=True).copy(data=out)
            notes.append("last logged time")
        else:
            if "t" not in ds.coords:
                raise ValueError("`--at-t` needs one common time grid; this store's cells have different times")
            i = int(np.argmin(np.abs(ds.coords["t"].values - float(at_t))))
            da = da.isel(t=i, drop=True)
            notes.append(f"t = {float(ds.coords['t'].values[i]):.4g}")
    extra = [d for d in da.dims if d not in keep and d != "t"]
    if extra:
        raise ValueError(f"`{var}` has the extra dimension(s) {extra}; choose a scalar or curve variable")
    return da, selection, notes


def _axis_coord(ds, name: str, dims: list[str]):
    """Values of the axis ``name`` (a sweep dim, or a 1-D coordinate over one, e.g. phi over N) and its dim."""
    c = _coord_values(ds, name)
    if c.ndim != 1 or c.dims[0] not in dims:
        raise ValueError(f"`{name}` must be a sweep dimension or a coordinate along one (it has dims {c.dims})")
    return np.asarray(c.values), c.dims[0]


def _units(ds) -> str:
    if "t" in ds.coords and ds["t"].attrs.get("units"):
        return ds["t"].attrs["units"]
    if "time_unit" in ds:
        u = sorted({str(v) for v in np.asarray(ds["time_unit"].values).ravel() if v})
        return "; ".join(u)
    return "t"


def _title(ds, selection: dict, notes: list[str]) -> str:
    fixed = ds.attrs.get("fixed", {})
    parts = [ds.attrs.get("command", "sweep")]
    parts += [f"{k}={v}" for k, v in list(fixed.items())[:6]]
    parts += [f"{k}={v}" for k, v in selection.items()]
    s = " ".join(parts)
    return s + (f" ({'; '.join(notes)})" if notes else "")


def _save(fig, base: str, data: dict) -> list[str]:
    folder = os.path.dirname(os.path.abspath(base))
    os.makedirs(folder, exist_ok=True)
    png = base + ".png"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, png)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    js = base + ".json"
    atomic_write(js, json.dumps(to_jsonable(data), indent=2, ensure_ascii=False, allow_nan=False).encode())
    return [png, js]


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.6))
    return fig, fig.subplots()


def _scale(values) -> str:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return "log" if v.size and v.min() > 0 and v.max() / v.min() >= 10 else "linear"


# ---------------------------------------------------------------------------------------------------- plots
def plot_phase(ds, var: str, x: str, y: str, base: str, *, sel=None, at_t="last", store="") -> list[str]:
    """Phase diagram: ``var`` (a scalar per cell, or a curve taken at ``at_t``) coloured over the ``(x, y)`` plane.

    ``x``/``y`` are sweep dimensions or 1-D coordinates along one (``phi`` = N/M along ``N``). Writes
    ``base.png`` and ``base.json`` (``x``, ``y``, ``values[y][x]``, selection); returns the paths.
    """
    sel = sel or {}
    dims = _sweep_dims(ds)
    xv, xd = _axis_coord(ds, x, dims)
    yv, yd = _axis_coord(ds, y, dims)
    if xd == yd:
        raise ValueError(f"`--x {x}` and `--y {y}` lie along the same sweep dimension {xd!r}; pick two dimensions")
    da, selection, notes = _select(ds, var, [xd, yd], sel, at_t=at_t)
    vals = da.transpose(yd, xd).values.astype(float)
    ox, oy = np.argsort(xv, kind="stable"), np.argsort(yv, kind="stable")
    xv, yv, vals = xv[ox], yv[oy], vals[np.ix_(oy, ox)]
    fig, ax = _figure()
    X, Y = np.meshgrid(xv.astype(float), yv.astype(float))
    mesh = ax.pcolormesh(X, Y, np.ma.masked_invalid(vals), shading="nearest", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=var)
    if vals.size <= 144:
        for i in range(vals.shape[0]):
            for j in range(vals.shape[1]):
                if np.isfinite(vals[i, j]):
                    ax.text(X[i, j], Y[i, j], f"{vals[i, j]:.3g}", ha="center", va="center", fontsize=7, color="w")
    ax.set_xscale(_scale(xv))
    ax.set_yscale(_scale(yv))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(_title(ds, selection, notes), fontsize=8)
    fig.tight_layout()
    data = {
        "kind": "phase",
        "store": store,
        "var": var,
        "x": {"name": x, "values": xv},
        "y": {"name": y, "values": yv},
        "values": vals,
        "layout": "values[i][j] at y[i], x[j]",
        "selection": selection,
        "notes": notes,
        "conventions": {"time_unit": _units(ds), "risk": "relative"},
    }
    return _save(fig, base, data)


def plot_curves(ds, var: str, color: str, base: str, *, sel=None, store="") -> list[str]:
    """A family of curves ``var(t)``, one per value of the sweep dimension ``color`` (log-log axes)."""
    from matplotlib import cm, colors

    sel = sel or {}
    dims = _sweep_dims(ds)
    cv, cd = _axis_coord(ds, color, dims)
    da, selection, notes = _select(ds, var, [cd], sel)
    if "t" not in da.dims:
        raise ValueError(f"`{var}` is not a curve along t; choose a variable such as risk")
    if "t" in ds.coords:
        tt = np.broadcast_to(ds.coords["t"].values, (cv.size, ds.sizes["t"]))
    else:
        tname = "time" if "time" in ds else None
        if tname is None:
            raise ValueError("this store has no common time grid and no `time` variable to draw curves against")
        tt = _select(ds, tname, [cd], sel)[0].transpose(cd, "t").values
    vals = da.transpose(cd, "t").values.astype(float)
    fig, ax = _figure()
    numeric = cv.dtype.kind in "fiu"
    norm = None
    if numeric:
        cvf = cv.astype(float)
        norm = (colors.LogNorm if _scale(cvf) == "log" else colors.Normalize)(vmin=cvf.min(), vmax=cvf.max() or 1.0)
        if cvf.min() == cvf.max():
            norm = colors.Normalize(vmin=cvf.min() - 1, vmax=cvf.max() + 1)
    cmap = cm.viridis
    curves = []
    for i in range(cv.size):
        t_i, v_i = np.asarray(tt[i], dtype=float), vals[i]
        ok = np.isfinite(t_i) & np.isfinite(v_i) & (t_i > 0) & (v_i > 0)
        col = cmap(norm(float(cv[i]))) if numeric else f"C{i % 10}"
        ax.plot(t_i[ok], v_i[ok], color=col, lw=1.4, label=None if numeric else f"{color}={cv[i]}")
        curves.append({color: cv[i], "t": t_i, "values": v_i})
    if numeric:
        fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=color)
    else:
        ax.legend(fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"t ({_units(ds)})")
    ax.set_ylabel(f"{var} (relative)")
    ax.set_title(_title(ds, selection, notes), fontsize=8)
    fig.tight_layout()
    data = {
        "kind": "curves",
        "store": store,
        "var": var,
        "color": color,
        "curves": curves,
        "selection": selection,
        "notes": notes,
        "conventions": {"time_unit": _units(ds), "risk": "relative"},
    }
    return _save(fig, base, data)


def plot_exponent(
    ds,
    x: str,
    base: str,
    *,
    fitted: str = "fit.time_exponent",
    predicted: str = "predicted.time_exponent",
    color: str | None = None,
    sel=None,
    store="",
) -> list[str]:
    """Fitted exponent against ``x`` (e.g. β), with the predicted exponent (dashed) when the store has it."""
    sel = sel or {}
    dims = _sweep_dims(ds)
    xv, xd = _axis_coord(ds, x, dims)
    keep = [xd]
    cv = cd = None
    if color is not None:
        cv, cd = _axis_coord(ds, color, dims)
        keep.append(cd)
    fa, selection, notes = _select(ds, fitted, keep, sel)
    pa = _select(ds, predicted, keep, sel)[0] if predicted in ds else None
    order = np.argsort(xv, kind="stable")
    fig, ax = _figure()
    series = []
    groups = range(1) if cd is None else range(cv.size)
    for g in groups:
        f = fa if cd is None else fa.isel({cd: g})
        fv = f.values.astype(float)[order]
        label = "fitted" if cd is None else f"fitted, {color}={cv[g]}"
        ax.plot(xv[order], fv, "o-", color=f"C{g % 10}", label=label)
        entry = {"fitted": fv}
        if cd is not None:
            entry[color] = cv[g]
        if pa is not None:
            p = pa if cd is None else pa.isel({cd: g})
            pv = p.values.astype(float)[order]
            ax.plot(xv[order], pv, "--", color=f"C{g % 10}", alpha=0.8, label="predicted" if g == 0 else None)
            entry["predicted"] = pv
        series.append(entry)
    ax.set_xlabel(x)
    ax.set_ylabel("time exponent of R(t)")
    ax.legend(fontsize=8)
    ax.set_title(_title(ds, selection, notes), fontsize=8)
    fig.tight_layout()
    data = {
        "kind": "exponent",
        "store": store,
        "x": {"name": x, "values": xv[order]},
        "fitted_var": fitted,
        "predicted_var": predicted if pa is not None else None,
        "series": series,
        "selection": selection,
        "conventions": {"time_unit": _units(ds), "risk": "relative", "exponent": "R(t) ~ t^exponent"},
    }
    return _save(fig, base, data)


# ------------------------------------------------------------------------------------------------- defaults
def default_plots(ds) -> list[dict]:
    """The figures ``sweep plot STORE`` draws when not told which: each a dict of :func:`plot_store` arguments."""
    cmd = str(ds.attrs.get("command", "theory")).split()[0]
    dims = [d for d in _sweep_dims(ds) if ds.sizes[d] > 1 and ds.coords[d].dtype.kind in "fiu"]
    out = []
    pvar = _PHASE_VAR.get(cmd)
    if len(dims) >= 2 and pvar in ds:
        x, y = (("beta", "N") if {"beta", "N"} <= set(dims) else (dims[0], dims[1])) if dims else (None, None)
        if y == "N" and "phi" in ds.coords and ds.coords["phi"].dims == ("N",):
            y = "phi"
        out.append({"kind": "phase", "var": pvar, "x": x, "y": y})
    cvar = _CURVE_VAR.get(cmd)
    if cvar in ds and "t" in ds[cvar].dims and dims:
        out.append({"kind": "curves", "var": cvar, "color": "N" if "N" in dims else dims[0]})
    if "beta" in dims and "fit.time_exponent" in ds:
        out.append({"kind": "exponent", "x": "beta"})
    return out


def plot_store(store, out=None, *, kind=None, var=None, x=None, y=None, color=None, sel=None, at_t="last") -> list:
    """Draw figures from a sweep store into ``out`` (default ``STORE/plots``); returns the written paths.

    With ``kind=None`` the defaults of :func:`default_plots` (phase diagram of the plateau over (β, φ), risk
    curves coloured by N, fitted exponent against β with its prediction), as far as the store's grid allows.
    """
    from . import open_sweep

    store = os.fspath(store)
    ds = open_sweep(store).load()
    out = out or os.path.join(store, "plots")
    sel = sel or {}
    if kind is None:
        jobs = default_plots(ds)
        if not jobs:
            raise ValueError(
                "no default figure fits this store's grid; choose one: --kind phase|curves|exponent with --var/--x/--y"
            )
    else:
        jobs = [{"kind": kind, "var": var, "x": x, "y": y, "color": color}]
    paths = []
    for job in jobs:
        k = job["kind"]
        cmd = str(ds.attrs.get("command", "theory")).split()[0]
        if k == "phase":
            v = job.get("var") or _PHASE_VAR.get(cmd)
            jx, jy = job.get("x"), job.get("y")
            if not jx or not jy:
                raise ValueError("a phase diagram needs --x and --y (sweep dimensions, or phi)")
            paths += plot_phase(
                ds, v, jx, jy, os.path.join(out, f"phase-{v}-{jx}-{jy}"), sel=sel, at_t=at_t, store=store
            )
        elif k == "curves":
            v = job.get("var") or _CURVE_VAR.get(cmd)
            c = job.get("color") or ("N" if "N" in _sweep_dims(ds) else _sweep_dims(ds)[0])
            paths += plot_curves(ds, v, c, os.path.join(out, f"curves-{v}-by-{c}"), sel=sel, store=store)
        elif k == "exponent":
            jx = job.get("x") or "beta"
            paths += plot_exponent(
                ds,
                jx,
                os.path.join(out, f"exponent-vs-{jx}"),
                fitted=job.get("var") or "fit.time_exponent",
                color=job.get("color"),
                sel=sel,
                store=store,
            )
        else:
            raise ValueError(f"`--kind`={k!r} is not one of phase, curves, exponent")
    return paths
