"""Assemble the cells' JSON results into one ``xarray.Dataset`` (no numerics: reshaping and padding only).

Layout (what ``xarray.open_zarr(STORE)`` returns):

- dimensions: one per ``[grid]`` parameter (named as in the spec, coordinate = its values), then ``zip`` (if
  the spec has ``[zip]``; each zipped parameter is a coordinate along it), then the output axes;
- every output of the command's JSON is a variable over the sweep dimensions, named by its JSON path joined with
  ``.`` (``floor``, ``fit.time_exponent``, ``predicted.emergence_times``, ``sgd.risk_mean``); list entries that
  carry a ``name`` (the verdict's checks) are keyed by it (``verdict.checks.<name>.value``);
- curves run along ``t``: an array whose last axis matches a sibling ``t`` array in the JSON gets the dimension
  ``t`` (not per-direction or per-seed arrays: ``*emergence*``, ``window``, ``diverged``, ...); when every cell
  has the same time grid it is the coordinate ``t``, otherwise each cell's times are the variable ``time``
  (top-level ``t``) or ``<path>.t``, and shorter curves are padded with NaN;
- a per-seed curve (simulate/check ``risk``: seeds × t) has the dimension ``run``; other array axes are
  ``<name>_dim<i>``;
- missing values (a pending or failed cell, a ``null`` in the JSON, padding) are NaN for numbers and ``""`` for
  strings; integer outputs with any missing value are stored as float;
- ``cell_status`` (done/failed/pending), ``cell_error``, ``cell_exit_status`` (-1 if not run), ``cell_seconds``,
  ``cell_key`` and ``cell_json`` (the full JSON result, verbatim) over the sweep dimensions;
- ``phi`` = N/M, a coordinate, when both widths are known and one of them varies (docs/theory.md §3);
- attributes: the spec, the software versions, the fixed options, and every cell's status.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = ["build_dataset"]

_STATUS_VARS = ("cell_status", "cell_error", "cell_exit_status", "cell_seconds", "cell_key", "cell_json")


class _Leaf:
    __slots__ = ("kind", "value", "t_last", "is_t")

    def __init__(self, kind, value, t_last=False, is_t=False):
        self.kind, self.value, self.t_last, self.is_t = kind, value, t_last, is_t


def _as_array(v):
    """A rectangular numeric (or bool) nested list as a numpy array, else None. ``null`` → NaN (float)."""
    try:
        obj = np.array(v, dtype=object)
    except ValueError:  # ragged
        return None
    flat = obj.ravel().tolist()
    if any(isinstance(e, list | dict | str) for e in flat):
        return None
    if flat and all(isinstance(e, bool) for e in flat):
        return obj.astype(bool)
    if any(isinstance(e, bool) for e in flat):
        return None
    if all(isinstance(e, int) for e in flat) and flat:
        return obj.astype(np.int64)
    return np.array([np.nan if e is None else float(e) for e in flat], dtype=np.float64).reshape(obj.shape)


def _numeric_list(v) -> bool:
    return isinstance(v, list) and all(isinstance(e, int | float) and not isinstance(e, bool) for e in v)


def _per_direction(key: str) -> bool:
    """Arrays indexed by teacher direction or seed, never by time, whatever their length (M or S may equal T)."""
    return "emergence" in key or key in _NOT_TIME


_NOT_TIME = {"window", "diverged", "diverged_at", "directions", "a", "seed", "seeds"}


def _flatten(obj: dict, prefix: str, out: dict) -> None:
    t_len = len(obj["t"]) if _numeric_list(obj.get("t")) else None
    for k, v in obj.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten(v, name + ".", out)
        elif isinstance(v, list) and v and all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in v):
            names = [e["name"] for e in v]
            if len(set(names)) == len(names):
                for e in v:
                    _flatten({kk: vv for kk, vv in e.items() if kk != "name"}, f"{name}.{e['name']}.", out)
        elif v is None:
            out[name] = _Leaf("none", None)
        elif isinstance(v, bool):
            out[name] = _Leaf("bool", v)
        elif isinstance(v, int):
            out[name] = _Leaf("int", v)
        elif isinstance(v, float):
            out[name] = _Leaf("float", v)
        elif isinstance(v, str):
            out[name] = _Leaf("str", v)
        elif isinstance(v, list):
            a = _as_array(v)
            if a is not None and a.ndim >= 1:
                t_last = t_len is not None and k != "t" and a.shape[-1] == t_len and not _per_direction(k)
                out[name] = _Leaf("array", a, t_last=t_last, is_t=(k == "t" and a.ndim == 1))


def _axis_dims(name: str, leaf: _Leaf, seeds) -> tuple[str, ...]:
    a = leaf.value
    dims = [f"{name}_dim{i}" for i in range(a.ndim)]
    if leaf.is_t:
        return ("t",)
    if leaf.t_last:
        dims[-1] = "t"
        if a.ndim == 2 and seeds is not None and a.shape[0] == seeds:
            dims[0] = "run"
    return tuple(dims)


def build_dataset(spec, cells, records: dict, versions: dict):
    """The sweep as an ``xarray.Dataset`` from ``records`` (cell key → validated record, or absent if pending)."""
    import xarray as xr

    dims, shape = spec.dims, spec.shape
    coords = {}
    for name, vals in spec.grid.items():
        coords[name] = (name, np.asarray(vals))
    if spec.zip:
        n = shape[-1]
        coords["zip"] = ("zip", np.arange(n))
        for name, vals in spec.zip.items():
            coords[name] = ("zip", np.asarray(vals))

    leaves = {}  # cell index → {name: leaf}
    status = np.full(shape, "pending", dtype=object)
    error = np.full(shape, "", dtype=object)
    exit_status = np.full(shape, -1, dtype=np.int64)
    seconds = np.full(shape, np.nan)
    keys = np.empty(shape, dtype=object)
    cell_json = np.full(shape, "", dtype=object)
    cell_status_attr = {}
    for cell in cells:
        keys[cell.index] = cell.key
        rec = records.get(cell.key)
        if rec is None:
            cell_status_attr[cell.key] = "pending"
            continue
        status[cell.index] = rec["status"]
        error[cell.index] = rec.get("error") or ""
        exit_status[cell.index] = -1 if rec.get("exit_status") is None else int(rec["exit_status"])
        if rec.get("seconds") is not None:
            seconds[cell.index] = float(rec["seconds"])
        cell_status_attr[cell.key] = rec["status"] + (f": {rec['error']}" if rec.get("error") else "")
        if rec["status"] == "done" and isinstance(rec.get("result"), dict):
            cell_json[cell.index] = json.dumps(rec["result"], ensure_ascii=False, allow_nan=False)
            flat: dict = {}
            _flatten(rec["result"], "", flat)
            leaves[cell.index] = (flat, rec["result"].get("params", {}).get("seeds"))

    data_vars = {
        "cell_status": (dims, status),
        "cell_error": (dims, error),
        "cell_exit_status": (dims, exit_status),
        "cell_seconds": (dims, seconds),
        "cell_key": (dims, keys),
        "cell_json": (dims, cell_json),
    }

    # the time axis: one coordinate if every cell's every t-array is the same grid
    t_arrays = [leaf.value for flat, _ in leaves.values() for leaf in flat.values() if leaf.is_t]
    common_t = None
    if t_arrays and all(a.shape == t_arrays[0].shape and np.array_equal(a, t_arrays[0]) for a in t_arrays):
        common_t = t_arrays[0]
        coords["t"] = ("t", common_t.astype(np.float64))

    names = []
    for flat, _ in leaves.values():
        for name in flat:
            if name not in names:
                names.append(name)
    # one length for the dimension t: the coordinate's, else the longest curve (shorter ones padded with NaN)
    t_size = None if common_t is None else common_t.size
    if t_size is None:
        t_lens = [lf.value.shape[-1] for flat, _ in leaves.values() for lf in flat.values() if lf.t_last]
        t_size = max(t_lens) if t_lens else None
    json_only = []
    for name in names:
        per_cell = {idx: flat.get(name) for idx, (flat, _) in leaves.items()}
        present = {idx: lf for idx, lf in per_cell.items() if lf is not None and lf.kind != "none"}
        if common_t is not None and present and all(lf.is_t for lf in present.values()):
            continue  # equal to the coordinate t
        var_name = "time" if name == "t" else name
        if var_name in coords or var_name in data_vars or var_name in ("cells", "plots", "sweep.json"):
            var_name += "_out"
        missing = len(present) < len(cells)
        kinds = {lf.kind for lf in present.values()}
        if kinds == {"bool"} and not missing:
            arr = np.zeros(shape, dtype=bool)
        elif kinds == {"int"} and not missing:
            arr = np.zeros(shape, dtype=np.int64)
        elif kinds <= {"int", "float"} or kinds == {"bool"}:  # also: every cell null (all NaN)
            arr = np.full(shape, np.nan)
        elif kinds == {"str"}:
            arr = np.full(shape, "", dtype=object)
        elif kinds == {"array"} and len({lf.value.ndim for lf in present.values()}) == 1:
            idx0, first = next(iter(present.items()))
            out_dims = _axis_dims(name, first, leaves[idx0][1])
            full = [max(lf.value.shape[i] for lf in present.values()) for i in range(first.value.ndim)]
            if out_dims[-1] == "t":
                if full[-1] > t_size:  # cannot happen: t_size is the longest curve or the common grid
                    out_dims = tuple(f"{name}_dim{i}" for i in range(first.value.ndim))
                else:
                    full[-1] = t_size
            full = tuple(full)
            same = all(lf.value.shape == full for lf in present.values())
            kinds_a = {lf.value.dtype.kind for lf in present.values()}
            if same and not missing and kinds_a == {"b"}:
                arr = np.zeros(shape + full, dtype=bool)
            elif same and not missing and kinds_a == {"i"}:
                arr = np.zeros(shape + full, dtype=np.int64)
            else:
                arr = np.full(shape + full, np.nan)
            for idx, lf in present.items():
                arr[idx + tuple(slice(0, n) for n in lf.value.shape)] = lf.value
            data_vars[var_name] = (dims + out_dims, arr)
            continue
        else:
            json_only.append(name)
            continue
        for idx, lf in present.items():
            arr[idx] = lf.value
        data_vars[var_name] = (dims, arr)

    ds = xr.Dataset(data_vars=data_vars, coords=coords)
    phi = _phi(spec, ds)
    if phi is not None:
        ds = ds.assign_coords(phi=phi)
        ds["phi"].attrs["description"] = "φ = N/M, student over teacher width (docs/theory.md §3)"
    n_done = int((status == "done").sum())
    n_failed = int((status == "failed").sum())
    ds.attrs.update(
        {
            "title": f"shallowlaws sweep: {' '.join(spec.command)}",
            "command": " ".join(spec.command),
            "spec": spec.source,
            "spec_toml": spec.text or "",
            "fixed": {k: v for k, v in spec.fixed.items()},
            "versions": versions,
            "cells": {
                "total": len(cells),
                "done": n_done,
                "failed": n_failed,
                "pending": len(cells) - n_done - n_failed,
            },
            "cell_status": cell_status_attr,
            "outputs_json_only": json_only,
            "layout": (
                "dims: sweep parameters (coordinates = values), then output axes; variables = JSON paths joined "
                "by '.'; curves along t; cell_json holds each cell's full JSON output; NaN/'' = missing"
            ),
        }
    )
    if "time_unit" in ds and (ds["time_unit"] != "").any():
        units = sorted({str(u) for u in np.asarray(ds["time_unit"]).ravel() if u})
        if "t" in ds.coords:
            ds["t"].attrs["units"] = units[0] if len(units) == 1 else "; ".join(units)
    return ds


def _phi(spec, ds):
    """φ = N/M over the sweep dimensions that carry N or M, if both are known and one varies."""

    def get(name):
        if name in ds.coords:
            return ds.coords[name].astype(np.float64)
        if name in spec.fixed and isinstance(spec.fixed[name], int | float):
            return float(spec.fixed[name])
        return None

    N, M = get("N"), get("M")
    if N is None or M is None or (isinstance(N, float) and isinstance(M, float)):
        return None
    phi = N / M
    return phi.variable if hasattr(phi, "variable") else None
