"""Sweeps: grids of ``theory``, ``simulate`` and ``check`` runs on a Dask cluster, in a resumable Zarr store.

A sweep is a TOML spec (one CLI command, fixed options, a grid) expanded into cells; each cell is that command
run in-process through its own parser with ``--json`` (same code path, same numbers as the CLI), written
atomically into the store as it finishes, and the store is assembled into an ``xarray`` dataset on Zarr
(``xarray.open_zarr(STORE)``). See ``docs/sweeps.md``.

>>> from sgd_check.sweep import run_sweep, open_sweep
>>> run_sweep("spec.toml", "plateau.zarr", workers=2)          # doctest: +SKIP
>>> ds = open_sweep("plateau.zarr"); ds["floor"].sel(N=8)      # doctest: +SKIP
"""

from ._plot import plot_curves, plot_exponent, plot_phase, plot_store
from ._runner import SweepInterrupted, SweepResult, dask_client, run_sweep
from ._spec import Cell, SweepSpec, load_cluster, load_spec
from ._store import SweepLockedError

__all__ = [
    "Cell",
    "SweepInterrupted",
    "SweepLockedError",
    "SweepResult",
    "SweepSpec",
    "dask_client",
    "load_cluster",
    "load_spec",
    "open_sweep",
    "plot_curves",
    "plot_exponent",
    "plot_phase",
    "plot_store",
    "run_sweep",
]


def open_sweep(store):
    """The sweep's dataset: ``xarray.open_zarr(store)`` (dims = sweep parameters, then output axes such as ``t``)."""
    import os

    import xarray as xr

    path = os.fspath(store)
    if not os.path.exists(os.path.join(path, ".zmetadata")):
        raise FileNotFoundError(f"`STORE`={path!r} holds no sweep dataset; run `shallowlaws sweep SPEC --out {path}`")
    return xr.open_zarr(path, consolidated=True)
