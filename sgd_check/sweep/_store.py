"""The sweep store: a Zarr group (read it with ``xarray.open_zarr``) plus the cells it is built from.

Layout of ``STORE.zarr/``::

    .zgroup .zattrs .zmetadata  <var>/ ...   the dataset (Zarr format 2, consolidated), rebuilt from cells/
    cells/<key>.json                         one file per finished cell: written atomically, with a sha256
    sweep.json                               the store's command and the latest spec
    .lock                                    held (flock) while a sweep runs on the store

The cell files are the source of truth. Each is written to a temporary file and renamed into place, so a cell
is either complete or absent; each carries ``sha256`` over its own canonical JSON, so a damaged or edited entry is
detected (and recomputed). The dataset is rebuilt from the cell files when a sweep ends or is interrupted (and
every few minutes during a long one): it is written next to the old one and swapped in, metadata last.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import socket
import tempfile
import uuid
import warnings

__all__ = ["SweepStore", "SweepLockedError", "record_checksum"]

SCHEMA = 1
_ZARR_FILES = (".zgroup", ".zattrs", ".zmetadata", "zarr.json")
_KEEP = ("cells", "plots", "sweep.json", ".lock")


class SweepLockedError(RuntimeError):
    """Another sweep holds the store's lock."""


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def record_checksum(record: dict) -> str:
    """sha256 (hex) of a cell record's canonical JSON, without its ``sha256`` field."""
    return hashlib.sha256(_canonical({k: v for k, v in record.items() if k != "sha256"})).hexdigest()


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, fsync, then ``os.replace``."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class SweepStore:
    """A store folder: locking, cell files (atomic, checksummed) and the assembled Zarr dataset."""

    def __init__(self, path):
        self.path = os.path.abspath(os.fspath(path))
        self.cells_dir = os.path.join(self.path, "cells")

    # -------------------------------------------------------------------------------------------- lifecycle
    def check_path(self) -> None:
        """Refuse a path that is a file, or a non-empty folder that is not a sweep store (one line, exit 2)."""
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ValueError(f"`--out`={self.path!r} is a file; give a new or existing sweep store folder (.zarr)")
        if os.path.isdir(self.path):
            entries = [e for e in os.listdir(self.path) if e != ".lock"]
            if entries and not os.path.exists(os.path.join(self.path, "sweep.json")):
                raise ValueError(
                    f"`--out`={self.path!r} exists and is not a sweep store (no sweep.json); give a new path"
                )

    @contextlib.contextmanager
    def lock(self):
        """Hold the store's lock (``flock`` on ``.lock``; released by the OS even if the process is killed)."""
        import fcntl

        os.makedirs(self.path, exist_ok=True)
        lock_path = os.path.join(self.path, ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another process"
                raise SweepLockedError(
                    f"store {self.path!r} is in use by another sweep ({holder}); wait for it to finish or stop it "
                    "(the lock is released when that process exits), or use another --out"
                ) from None
            info = f"pid {os.getpid()} on {socket.gethostname()} since {_now()}".encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, info, 0)
            try:
                yield self
            finally:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def prepare(self, spec) -> None:
        """Create the layout, check that the store holds the same command, record the spec (under the lock)."""
        os.makedirs(self.cells_dir, exist_ok=True)
        meta_path = os.path.join(self.path, "sweep.json")
        now = _now()
        meta = {"schema": SCHEMA, "command": " ".join(spec.command), "created": now}
        if os.path.exists(meta_path):
            try:
                with open(meta_path, encoding="utf-8") as fh:
                    old = json.load(fh)
            except (OSError, ValueError):
                old = {}
            if old.get("command") not in (None, meta["command"]):
                raise ValueError(
                    f"store {self.path!r} holds a `{old['command']}` sweep, not `{meta['command']}`; use another --out"
                )
            meta["created"] = old.get("created", now)
        meta.update(updated=now, spec=spec.source, spec_toml=spec.text)
        atomic_write(meta_path, json.dumps(meta, indent=2, ensure_ascii=False).encode())
        # leftovers of a process killed mid-write: temporary cell files, half-built datasets
        for folder in (self.cells_dir, self.path):
            for name in os.listdir(folder):
                if name.startswith((".tmp-", ".build-", ".old-")):
                    p = os.path.join(folder, name)
                    shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.unlink(p)

    # ------------------------------------------------------------------------------------------------ cells
    def cell_path(self, key: str) -> str:
        return os.path.join(self.cells_dir, f"{key}.json")

    def read_cell(self, cell) -> tuple[str, dict | None]:
        """``(state, record)``: state is ``missing``, ``done``, ``failed`` or ``corrupt`` (unreadable, checksum or
        identity mismatch)."""
        path = self.cell_path(cell.key)
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            return "missing", None
        except OSError:
            return "corrupt", None
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return "corrupt", None
        if not isinstance(rec, dict) or rec.get("sha256") != record_checksum(rec):
            return "corrupt", None
        if (
            rec.get("key") != cell.key
            or rec.get("argv") != list(cell.argv)
            or rec.get("status") not in ("done", "failed")
        ):
            return "corrupt", None
        return rec["status"], rec

    def write_cell(self, cell, outcome: dict, *, attempts: int, versions: dict) -> dict:
        """Write the cell's record atomically and return it."""
        rec = {
            "schema": SCHEMA,
            "key": cell.key,
            "index": list(cell.index),
            "params": cell.params,
            "argv": list(cell.argv),
            "status": outcome["status"],
            "exit_status": outcome.get("exit_status"),
            "error": outcome.get("error"),
            "attempts": attempts,
            "seconds": outcome.get("seconds"),
            "worker": outcome.get("worker"),
            "finished": _now(),
            "versions": versions,
            "result": outcome.get("result"),
        }
        rec["sha256"] = record_checksum(rec)
        atomic_write(self.cell_path(cell.key), json.dumps(rec, ensure_ascii=False, allow_nan=False).encode())
        return rec

    # ---------------------------------------------------------------------------------------------- dataset
    def rebuild(self, spec, cells, versions: dict) -> None:
        """Assemble every valid cell file into the dataset and swap it into the store (under the lock)."""
        from ._dataset import build_dataset

        records = {}
        for cell in cells:
            state, rec = self.read_cell(cell)
            if state in ("done", "failed"):
                records[cell.key] = rec
        ds = build_dataset(spec, cells, records, versions)
        token = uuid.uuid4().hex[:8]
        build = os.path.join(self.path, f".build-{token}")
        with warnings.catch_warnings():
            # object (str) arrays are written as vlen-utf8 in Zarr 2; nothing to warn about
            warnings.simplefilter("ignore", category=RuntimeWarning)
            ds.to_zarr(build, mode="w-", consolidated=True, zarr_format=2)
        trash = os.path.join(self.path, f".old-{token}")
        os.mkdir(trash)
        try:
            # consolidated metadata first out and last in: readers see either the old or the new listing
            for name in (".zmetadata", "zarr.json"):
                if os.path.exists(os.path.join(self.path, name)):
                    os.replace(os.path.join(self.path, name), os.path.join(trash, name))
            for name in os.listdir(self.path):
                p = os.path.join(self.path, name)
                if name in _KEEP or name.startswith("."):
                    if name in (".zgroup", ".zattrs"):
                        os.replace(p, os.path.join(trash, name))
                    continue
                if os.path.isdir(p) and (
                    os.path.exists(os.path.join(p, ".zarray")) or os.path.exists(os.path.join(p, "zarr.json"))
                ):
                    os.replace(p, os.path.join(trash, name))
            new = os.listdir(build)
            for name in sorted(new, key=lambda n: n == ".zmetadata"):
                os.replace(os.path.join(build, name), os.path.join(self.path, name))
        finally:
            shutil.rmtree(trash, ignore_errors=True)
            shutil.rmtree(build, ignore_errors=True)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
