"""One sweep cell, run on a worker: the CLI command itself, in-process, with its ``--json`` output captured.

The cell goes through the command's own argparse parser and ``run`` function (exactly what ``shallowlaws
COMMAND MODEL --opt value ... --json`` executes), so its result is that command's JSON output: same code path,
same seed, same numbers, and options added to a command later reach sweeps without any change here. Output is
captured per thread (dask workers may run several cells at once in one process), never by swapping
``sys.stdout`` for the whole process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

__all__ = ["run_cell", "INPUT_ERRORS"]

# What ``shallowlaws`` maps to exit status 2 (bad input): deterministic, so such a cell is not retried.
INPUT_ERRORS = (ValueError, TypeError, FileNotFoundError, IsADirectoryError, PermissionError)


class _Router:
    """A stand-in for ``sys.stdout``/``sys.stderr`` that sends each thread's writes to that thread's buffer."""

    def __init__(self, fallback):
        self._fallback = fallback
        self._local = threading.local()

    def _target(self):
        buf = getattr(self._local, "buf", None)
        return self._fallback if buf is None else buf

    def write(self, s):
        return self._target().write(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        self._target().flush()

    def isatty(self):
        return False if getattr(self._local, "buf", None) is not None else self._fallback.isatty()

    def __getattr__(self, name):
        return getattr(self._fallback, name)


_install_lock = threading.Lock()
_depth = 0


@contextlib.contextmanager
def _captured():
    """Capture this thread's stdout and stderr (other threads keep writing where they did)."""
    global _depth
    out, err = io.StringIO(), io.StringIO()
    with _install_lock:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout)
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr)
        so, se = sys.stdout, sys.stderr
        _depth += 1
    so._local.buf, se._local.buf = out, err
    try:
        yield out, err
    finally:
        so._local.buf = se._local.buf = None
        with _install_lock:
            _depth -= 1
            if _depth == 0:
                if sys.stdout is so:
                    sys.stdout = so._fallback
                if sys.stderr is se:
                    sys.stderr = se._fallback


def _first_line(text: str) -> str:
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def run_cell(argv, needs_out: bool = False) -> dict:
    """Run ``shallowlaws *argv --json`` in this process and return its parsed JSON output with the run's status.

    Args:
        argv: ``[command, model, --option, value, ...]`` (a :class:`~sgd_check.sweep.Cell`'s ``argv``).
        needs_out: pass ``--out`` pointing into a fresh temporary folder (removed afterwards), for commands that
            always write files.

    Returns:
        ``{"status": "done", "exit_status", "result", "seconds", "worker"}``, or for input the command rejects
        (exit status 2, deterministic, so not worth retrying) ``{"status": "failed", "exit_status": 2, "error"}``.

    Raises:
        Whatever else the command raises (a crash), so that the runner retries the cell.
    """
    from sgd_check.cli import build_parser

    from ._spec import _command_options

    t0 = time.perf_counter()
    parser = build_parser()
    full = list(argv) + ["--json"]
    if "quiet" in _command_options(argv[0], argv[1] if len(argv) > 1 else None):
        full.append("--quiet")
    tmp = tempfile.mkdtemp(prefix="shallowlaws-cell-") if needs_out else None
    if tmp is not None:
        full += ["--out", os.path.join(tmp, "out")]
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        with _captured() as (out, err):
            try:
                args = parser.parse_args(full)
            except SystemExit as exc:
                msg = _first_line(err.getvalue()) or f"argument error (exit {exc.code})"
                return {"status": "failed", "exit_status": 2, "error": msg, "worker": worker}
            try:
                status = int(args.func(args) or 0)
            except INPUT_ERRORS as exc:
                msg = _first_line(str(exc)) or type(exc).__name__
                return {
                    "status": "failed",
                    "exit_status": 2,
                    "error": f"shallowlaws {argv[0]}: error: {msg}",
                    "worker": worker,
                }
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    text = out.getvalue()
    try:
        result = json.loads(text)
    except json.JSONDecodeError:
        raise RuntimeError(
            f"`shallowlaws {' '.join(argv[:2])}` exited {status} without one JSON document on stdout "
            f"(stderr: {_first_line(err.getvalue())!r})"
        ) from None
    return {
        "status": "done",
        "exit_status": status,
        "result": result,
        "seconds": time.perf_counter() - t0,
        "worker": worker,
    }
