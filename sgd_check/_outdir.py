"""Output folders and atomic files: what a command guarantees about its ``--out`` folder (README, "Output folders").

* Every file is written atomically: to a hidden temporary file in the same folder, flushed and fsynced, then
  renamed over the target with ``os.replace`` (:func:`atomic_path`, :func:`write_text`, :func:`write_json`,
  :func:`write_npz`). An interrupted save leaves the previous complete file, never a truncated one.
* One folder holds one run. :class:`OutputFolder` refuses a folder that holds another run's files (exit 2,
  naming ``--resume`` and ``--overwrite``); ``overwrite=True`` first deletes that run's files (only the files
  shallowlaws writes; other files are left alone); ``resume=True`` continues a run of the same command.
* The folder is locked while a command writes to it: ``.shallowlaws.lock`` is created with
  ``O_CREAT | O_EXCL`` and holds the owner's PID. A second command on the same folder exits 2 with
  "in use by PID …"; a lock left by a dead process (kill -9) is detected and taken over.
* The folder is checked to be a writable directory before any work (creating the lock is the test).
* Each command writes its own file names (simulate: ``result.*``, ``checkpoint.npz``; theory: ``theory.*``,
  ``curves.npz``; check: ``report.json``, ``data.npz``, ``risk|staircase|emergence|summary.png``), and a manifest
  ``shallowlaws-run.json`` records the command, its parameters and the files it wrote.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import tempfile

import numpy as np

__all__ = [
    "OutputFolder",
    "atomic_path",
    "write_bytes",
    "write_text",
    "write_json",
    "write_npz",
    "to_jsonable",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "software_versions",
]

LOCK_NAME = ".shallowlaws.lock"
MANIFEST_NAME = "shallowlaws-run.json"

#: Files any shallowlaws command writes into its folder (older versions included): a folder holding one of them
#: holds a run.
_KNOWN = {
    "simulate": ("result.npz", "result.json", "result.png", "risk.png", "checkpoint.npz"),
    "check": (
        "report.json",
        "data.npz",
        "risk.png",
        "staircase.png",
        "emergence.png",
        "summary.png",
        "risk.pdf",
        "staircase.pdf",
        "emergence.pdf",
        "summary.pdf",
    ),
    "theory": ("theory.json", "curves.npz", "theory.png", "risk.png"),
    "demo": ("report.json",),
    "verify": ("report.json", "summary.png"),
}
_ALL_KNOWN = sorted({n for names in _KNOWN.values() for n in names} | {MANIFEST_NAME})


# ------------------------------------------------------------------------------------------------------------
# atomic files
# ------------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path`` (same extension); on success fsync it and rename it onto ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was. Use for writers that take a
    file name (``fig.savefig(tmp)``, ``np.savez(tmp)``): ``with atomic_path(p) as tmp: fig.savefig(tmp)``.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    base = os.path.basename(path)
    suffix = os.path.splitext(base)[1]
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp" + suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_bytes(path: str | os.PathLike, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
    return os.fspath(path)


def write_text(path: str | os.PathLike, text: str) -> str:
    """Write UTF-8 ``text`` to ``path`` atomically; return the path."""
    return write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj, *, strict: bool = False):
    """Recursively turn numpy arrays/scalars, sympy objects, tuples and dataclasses into JSON-ready values.

    Non-finite floats (NaN, ±inf) become ``None`` (JSON ``null``), so the output is always valid JSON. Tuples become
    lists and dict keys strings. ``strict=True`` (reports and check data: only numbers, strings, arrays, lists and
    dicts belong there) accepts nothing else and raises ``TypeError`` naming the type; otherwise dataclasses become
    dicts of their fields, JAX arrays lists, and anything else its ``str``.
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return (
            [to_jsonable(v, strict=strict) for v in obj.tolist()]
            if obj.ndim
            else to_jsonable(obj.item(), strict=strict)
        )
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, strict=strict) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, strict=strict) for v in obj]
    if strict:
        raise TypeError(f"cannot store {type(obj).__name__} in a report")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.repr}
    if hasattr(obj, "tolist"):  # jax arrays
        return to_jsonable(np.asarray(obj))
    return str(obj)


#: Packages whose versions are recorded next to every result (``None`` when one is not installed).
_RECORDED_PACKAGES = (
    "shallowlaws", "numpy", "scipy", "jax", "sympy", "diffrax", "dask", "distributed", "zarr", "xarray",
)  # fmt: skip


def software_versions() -> dict:
    """Versions of Python and of the packages a result depends on, recorded next to results (simulate's
    ``result.json``, a sweep's store); ``None`` for a package that is not installed."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in _RECORDED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_json(path: str | os.PathLike, obj, *, indent: int = 1) -> str:
    """Write ``obj`` as JSON (``allow_nan=False``: clean NaN/inf first, e.g. with :func:`to_jsonable`) atomically;
    return the path."""
    return write_text(path, json.dumps(obj, indent=indent, allow_nan=False, ensure_ascii=False) + "\n")


def write_npz(path: str | os.PathLike, *, compressed: bool = True, **arrays) -> str:
    """Write ``arrays`` as an NPZ atomically (``np.savez_compressed`` or ``np.savez``); return the path."""
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return write_bytes(path, buf.getvalue())


# ------------------------------------------------------------------------------------------------------------
# the output folder of one run
# ------------------------------------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class OutputFolder:
    """The ``--out`` folder of one command: checked, locked and (optionally) cleared before any work.

    Use as a context manager; entering it raises ``ValueError`` (exit 2 in the CLI) when the folder cannot be
    used, and exiting releases the lock and records the run in the manifest.

    Args:
        path: the folder (created if absent; an existing non-folder is refused).
        command: ``"simulate"``, ``"check"``, ``"theory"``, ``"demo"`` or ``"verify"``.
        params: the run's parameters (JSON-able), stored in the manifest; ``resume`` compares them.
        resume: continue the run already in the folder (same command and parameters).
        overwrite: delete the files of the run already in the folder first.
        flag: the option name used in messages (``--out``).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        command: str,
        params: dict | None = None,
        *,
        resume: bool = False,
        overwrite: bool = False,
        flag: str = "--out",
    ):
        self.path = os.fspath(path)
        self.command = command
        self.params = params or {}
        self.resume = resume
        self.overwrite = overwrite
        self.flag = flag
        self.files: list[str] = []
        self._locked = False

    # -- lock -------------------------------------------------------------------------------------------------
    def _lock_path(self) -> str:
        return os.path.join(self.path, LOCK_NAME)

    def _acquire(self) -> None:
        lock = self._lock_path()
        for _ in range(3):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._lock_owner(lock)
                if owner is not None:
                    raise ValueError(
                        f"`{self.flag}`={self.path!r} is in use by PID {owner} (lock file {LOCK_NAME}); wait for "
                        f"that run to finish or use another {self.flag} (delete {lock} only if no such run exists)"
                    ) from None
                with contextlib.suppress(FileNotFoundError):
                    os.remove(lock)  # stale: its process is gone
                continue
            except OSError as exc:
                raise ValueError(
                    f"`{self.flag}`={self.path!r} is not writable ({exc.strerror}); choose a folder you can write "
                    f"to, e.g. {self.flag} ./shallowlaws-out/run"
                ) from None
            try:
                os.write(fd, f"{os.getpid()}\n".encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            self._locked = True
            return
        raise ValueError(f"`{self.flag}`={self.path!r}: could not take the lock {lock}; retry or use another folder")

    @staticmethod
    def _lock_owner(lock: str) -> int | None:
        """The PID holding ``lock`` if that process is alive, else ``None`` (a stale lock)."""
        try:
            with open(lock, encoding="utf-8") as fh:
                text = fh.read().strip()
            age = os.path.getmtime(lock)
        except FileNotFoundError:
            return None
        except OSError:
            return -1
        if not text:  # being written right now by its creator, or left empty by a crash long ago
            import time

            return -1 if time.time() - age < 10.0 else None
        try:
            pid = int(text.split()[0])
        except ValueError:
            return None
        return pid if _pid_alive(pid) else None

    def _release(self) -> None:
        if self._locked:
            with contextlib.suppress(OSError):
                os.remove(self._lock_path())
            self._locked = False

    # -- the run already there --------------------------------------------------------------------------------
    def _manifest(self) -> dict | None:
        p = os.path.join(self.path, MANIFEST_NAME)
        try:
            with open(p, encoding="utf-8") as fh:
                m = json.load(fh)
            return m if isinstance(m, dict) else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def _existing(self) -> list[str]:
        """Output files of a run present in the folder (a manifest alone, from a run that wrote nothing, is not)."""
        names = [n for n in _ALL_KNOWN if n != MANIFEST_NAME]
        listed = (self._manifest() or {}).get("files") or []
        names += [n for n in listed if isinstance(n, str) and os.path.basename(n) == n and n not in names]
        return [n for n in names if os.path.exists(os.path.join(self.path, n))]

    def _clear(self, manifest: dict | None) -> None:
        for n in sorted({*self._existing(), MANIFEST_NAME}):
            p = os.path.join(self.path, n)
            if os.path.isfile(p) or os.path.islink(p):
                os.remove(p)
        for n in os.listdir(self.path):  # temporary files of an interrupted save
            if n.startswith(".") and ".tmp" in n and n != LOCK_NAME:
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(self.path, n))

    def _check_existing(self) -> None:
        existing = self._existing()
        if not existing:
            return
        manifest = self._manifest()
        if self.overwrite:
            self._clear(manifest)
            return
        other = (manifest or {}).get("command") or "shallowlaws"
        if self.resume:
            if manifest and manifest.get("command") not in (None, self.command):
                raise ValueError(
                    f"`{self.flag}`={self.path!r} holds a `{other}` run, not a `{self.command}` run: --resume cannot "
                    f"continue it; use another {self.flag}, or --overwrite to replace it"
                )
            stored = (manifest or {}).get("params")
            if isinstance(stored, dict) and self.params:
                for key in sorted(set(stored) | set(self.params)):
                    if key in _FREE:
                        continue
                    a = stored.get(key, ABSENT_MEANS.get(key, "<absent>"))
                    b = to_jsonable(self.params.get(key, "<absent>"))
                    if a != b:
                        raise ValueError(
                            f"`--resume` folder {self.path!r} holds a different configuration: `{key}`={a!r} there but "
                            f"{b!r} now; rerun with the same {key}, use --overwrite to replace that run, or another "
                            f"{self.flag}"
                        )
            return
        shown = ", ".join(existing[:4]) + (", ..." if len(existing) > 4 else "")
        how = "--resume to continue it (same command and parameters), " if self.command == "simulate" else ""
        raise ValueError(
            f"`{self.flag}`={self.path!r} already holds a {other} run ({shown}); use {how}--overwrite to "
            f"replace it, or another {self.flag}"
        )

    # -- context manager --------------------------------------------------------------------------------------
    def __enter__(self) -> OutputFolder:
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ValueError(
                f"`{self.flag}`={self.path!r} is an existing file, not a folder; give a folder name, e.g. "
                f"{self.flag} {self.path}-out"
            )
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as exc:
            raise ValueError(
                f"`{self.flag}`={self.path!r} cannot be created ({exc.strerror}); choose a folder you can write to"
            ) from None
        self._acquire()
        try:
            self._check_existing()
            self._write_manifest("running")
        except BaseException:
            self._release()
            raise
        return self

    def add(self, *paths) -> None:
        """Record files written by the run (full paths or names inside the folder)."""
        for p in paths:
            if isinstance(p, list | tuple):
                self.add(*p)
            elif isinstance(p, dict):
                self.add(*p.values())
            elif p:
                n = os.path.basename(os.fspath(p))
                if n not in self.files:
                    self.files.append(n)

    def _write_manifest(self, status: str) -> None:
        old = (self._manifest() or {}) if self.resume else {}
        files = list(dict.fromkeys([*(old.get("files") or []), *self.files]))
        params = self.params or old.get("params") or {}
        doc = {"command": self.command, "status": status, "pid": os.getpid(), "params": params, "files": files}
        write_json(os.path.join(self.path, MANIFEST_NAME), to_jsonable(doc))

    def __exit__(self, exc_type, exc, tb):
        try:
            if os.path.isdir(self.path):
                self._write_manifest("complete" if exc_type is None else "interrupted")
        except OSError:
            pass
        finally:
            self._release()
        return False


# Parameters that may differ between a run and its resumption.
_FREE = ("device", "checkpoint_every")
#: Run parameters added after runs were first saved: a stored run without one ran with this value (so that
#: ``--resume`` of such a run is not refused for a parameter it could not have had).
ABSENT_MEANS = {"label_noise": 0.0}
