"""Run a sweep on a Dask cluster: submit the unfinished cells, write each result as it arrives, assemble the store.

Fault tolerance:

- a cell whose run raised (a crash, a worker killed under it: Dask's ``KilledWorker`` once a task has taken
  down ``distributed.scheduler.allowed-failures`` workers) is resubmitted up to ``retries`` more times, then
  recorded ``failed`` with its last error; input the command rejects (its exit status 2) is recorded at once;
- a killed worker's running cells are rescheduled by Dask on the other workers;
- Ctrl-C or SIGTERM cancels the cells in flight, assembles the dataset from the cells already written, releases
  the lock and re-raises ``KeyboardInterrupt``: rerunning the same sweep skips every finished cell;
- each cell is written atomically the moment it arrives, so a killed client loses only the cells in flight.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
import time
import uuid

from .._outdir import software_versions
from .._progress import Progress
from ._cell import run_cell
from ._spec import SweepSpec, load_spec
from ._store import SweepStore

__all__ = ["run_sweep", "SweepResult", "dask_client", "make_cluster"]

_REBUILD_EVERY_S = 300.0


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What a sweep did. ``cells`` = grid size; ``done`` = computed now; ``skipped`` = already finished;
    ``failed`` = failed now (after retries); ``seconds`` = wall time; ``store`` = the store path;
    ``interrupted`` = stopped by Ctrl-C/SIGTERM; ``recomputed`` = corrupted entries found and recomputed;
    ``errors`` = ``{cell key: error}`` of the failed cells."""

    cells: int
    done: int
    skipped: int
    failed: int
    seconds: float
    store: str
    interrupted: bool = False
    recomputed: int = 0
    errors: dict = dataclasses.field(default_factory=dict)

    def summary(self) -> dict:
        """The ``--json`` output: ``{cells, done, skipped, failed, seconds}``."""
        return {
            "cells": self.cells,
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
        }


def run_sweep(
    spec,
    out,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    progress: bool | None = None,
    on_cell=None,
) -> SweepResult:
    """Run every unfinished cell of ``spec`` and keep the results in the store ``out``.

    Args:
        spec: a :class:`SweepSpec`, a TOML path, a TOML string or a dict (:func:`load_spec`).
        out: the store folder (``.zarr``); created if absent, resumed if it holds this sweep.
        workers: local workers (``LocalCluster``) or batch jobs (Slurm/PBS); overrides ``[cluster]``.
        scheduler: address of a running Dask scheduler; overrides ``[cluster]``.
        client: an existing ``distributed.Client`` to use (not closed here); overrides the above.
        progress: draw a progress bar on stderr (default: when stderr is a terminal).
        on_cell: ``on_cell(cell, record)`` called after each cell is written (in this thread).

    Returns:
        A :class:`SweepResult`.

    Raises:
        ValueError: a bad spec or ``out`` (one line). SweepLockedError: another sweep holds the store.
        KeyboardInterrupt: after cleaning up, if interrupted (Ctrl-C, SIGTERM).
    """
    t0 = time.perf_counter()
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"`--workers`={workers!r} must be an integer ≥ 1")
    cells = spec.cells()
    store = SweepStore(out)
    store.check_path()
    versions = software_versions()
    done = failed = recomputed = 0
    errors: dict = {}
    interrupted = False
    with store.lock(), _sigterm_as_interrupt():
        store.prepare(spec)
        todo = []
        for cell in cells:
            state, _ = store.read_cell(cell)
            if state == "done":
                continue
            if state == "corrupt":
                recomputed += 1
                print(f"shallowlaws sweep: cell {cell.key} {cell.params} is corrupted; recomputing it", file=sys.stderr)
            todo.append(cell)
        skipped = len(cells) - len(todo)
        mode = "auto" if progress is None else ("bar" if progress else None)
        bar = Progress(
            "sweep",
            len(cells),
            unit="cells",
            mode=mode if todo else None,
            initial=skipped,
            first_after=30.0,
            every=30.0,
            transient=False,
        )
        bar.update(skipped, note=", 0 failed")
        last_rebuild = time.perf_counter()
        try:
            if todo:
                with (
                    dask_client(
                        spec.cluster, workers=workers, scheduler=scheduler, client=client, n_tasks=len(todo)
                    ) as cl,
                    contextlib.closing(_execute(cl, spec, todo)) as results,
                ):
                    for cell, outcome, attempts in results:
                        rec = store.write_cell(cell, outcome, attempts=attempts, versions=versions)
                        if rec["status"] == "done":
                            done += 1
                        else:
                            failed += 1
                            errors[cell.key] = rec["error"]
                        bar.update(skipped + done + failed, note=f", {failed} failed")
                        if on_cell is not None:
                            on_cell(cell, rec)
                        if time.perf_counter() - last_rebuild > _REBUILD_EVERY_S:
                            store.rebuild(spec, cells, versions)
                            last_rebuild = time.perf_counter()
        except KeyboardInterrupt:
            interrupted = True
        except BaseException:  # still assemble what finished, without hiding the original error
            bar.close()
            with contextlib.suppress(Exception):
                store.rebuild(spec, cells, versions)
            raise
        bar.close()
        store.rebuild(spec, cells, versions)
    result = SweepResult(
        cells=len(cells),
        done=done,
        skipped=skipped,
        failed=failed,
        seconds=time.perf_counter() - t0,
        store=store.path,
        interrupted=interrupted,
        recomputed=recomputed,
        errors=errors,
    )
    if interrupted:
        raise SweepInterrupted(result)
    return result


class SweepInterrupted(KeyboardInterrupt):
    """Raised after an interrupted sweep has saved what it finished; ``.result`` is its :class:`SweepResult`."""

    def __init__(self, result: SweepResult):
        super().__init__("sweep interrupted")
        self.result = result


def _execute(client, spec: SweepSpec, todo):
    """Yield ``(cell, outcome, attempts)`` as cells finish; resubmit a cell whose run raised, up to ``retries``."""
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]
    attempts = {}
    futures = {}

    def submit(cell):
        attempts[cell.key] = attempts.get(cell.key, 0) + 1
        fut = client.submit(
            run_cell,
            list(cell.argv),
            spec.needs_out,
            key=f"shallowlaws-cell-{cell.key}-{run}-{attempts[cell.key]}",
            pure=False,
        )
        futures[fut] = cell
        return fut

    ac = as_completed([submit(c) for c in todo])
    try:
        for fut in ac:
            cell = futures.pop(fut)
            if fut.status == "finished":
                outcome = fut.result()
            else:
                try:
                    exc = fut.exception()
                except Exception as e:  # cancelled futures raise here
                    exc = e
                if attempts[cell.key] <= spec.retries:
                    ac.add(submit(cell))
                    continue
                msg = str(exc).strip().splitlines()
                outcome = {
                    "status": "failed",
                    "exit_status": None,
                    "error": f"{type(exc).__name__}: {msg[0] if msg else ''}".rstrip(": "),
                }
            fut.release()
            yield cell, outcome, attempts[cell.key]
    finally:
        if futures:
            with contextlib.suppress(Exception):
                client.cancel(list(futures))


@contextlib.contextmanager
def dask_client(cluster: dict | None = None, *, workers=None, scheduler=None, client=None, n_tasks: int = 1):
    """A ``distributed.Client`` for ``n_tasks`` tasks, closed (with any cluster it started) on exit.

    In order of precedence: ``client`` (used as is, not closed), ``scheduler`` (the address of a running
    scheduler, ``tcp://HOST:PORT``), or the cluster of a ``[cluster]`` table (``load_cluster``; default a
    ``LocalCluster`` with ``workers`` process workers, at most ``n_tasks``): ``type = "slurm"``/``"pbs"`` starts
    batch jobs through dask-jobqueue, ``type = "address"`` connects to ``address``.
    """
    from distributed import Client

    if client is not None:
        yield client
        return
    cfg = dict(cluster or {})
    if scheduler is not None or cfg.get("type") == "address":
        with Client(scheduler or cfg["address"], timeout=cfg.get("timeout", 30)) as cl:
            yield cl
        return
    cluster, jobs = make_cluster(cfg, workers=workers, n_cells=n_tasks)
    try:
        if jobs is not None:
            cluster.scale(jobs=jobs)
        with Client(cluster) as cl:
            yield cl
    finally:
        cluster.close()


def make_cluster(spec: SweepSpec | dict, *, workers: int | None = None, n_cells: int = 1):
    """The cluster of a ``[cluster]`` table (a spec's, or the dict itself; not yet scaled) and the batch jobs to start.

    ``type = "local"`` (default): ``distributed.LocalCluster`` with ``workers`` (default: cores, at most the
    cells), one thread per worker, process workers unless ``processes = false``. ``type = "slurm"``/``"pbs"``:
    ``dask_jobqueue.SLURMCluster``/``PBSCluster`` with every other key passed through (``cores``, ``memory``,
    ``queue``, ``account``, ``walltime``, ``job_extra_directives``, ...); ``jobs`` (or ``--workers``) batch jobs.
    """
    import logging

    cfg = dict(spec.cluster if isinstance(spec, SweepSpec) else spec)
    kind = cfg.pop("type", "local")
    if kind == "local":
        from distributed import LocalCluster

        n = workers or cfg.pop("workers", None) or max(1, min(os.cpu_count() or 1, n_cells))
        cfg.pop("workers", None)
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=cfg.pop("threads_per_worker", 1),
            processes=cfg.pop("processes", True),
            dashboard_address=cfg.pop("dashboard_address", ":0"),  # any free port: never collide
            silence_logs=logging.ERROR,
            **cfg,
        )
        return cluster, None
    if kind not in ("slurm", "pbs"):
        raise ValueError(f'[cluster] type = "{kind}" does not start a cluster; use local, slurm or pbs')
    try:
        import dask_jobqueue
    except ImportError:
        raise ValueError(f'[cluster] type = "{kind}" needs dask-jobqueue: pip install "shallowlaws[cluster]"') from None
    jobs = workers or cfg.pop("jobs", 1)
    cfg.pop("jobs", None)
    cls = dask_jobqueue.SLURMCluster if kind == "slurm" else dask_jobqueue.PBSCluster
    allowed = _parameters(cls.__init__, cls.job_cls.__init__, *[c.__init__ for c in cls.job_cls.__mro__[1:-1]])
    bad = sorted(k for k in cfg if k not in allowed)
    if bad:  # checked before building: a half-built cluster would leak its scheduler
        raise ValueError(
            f"[cluster] options rejected by {cls.__name__}: unknown {bad[0]!r}; allowed: {', '.join(sorted(allowed))}"
        )
    try:
        cluster = cls(**cfg)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"[cluster] options rejected by {cls.__name__}: {exc}") from None
    return cluster, jobs


def _parameters(*functions) -> set[str]:
    import inspect

    names = set()
    for f in functions:
        for p in inspect.signature(f).parameters.values():
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in ("self", "scheduler", "job_cls"):
                names.add(p.name)
    return names


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Turn SIGTERM into KeyboardInterrupt while a sweep runs (main thread only), so it cleans up like Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
