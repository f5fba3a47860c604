"""One progress display for every long command (simulate, theory, sweep): a rich bar, plain lines, or nothing.

All output goes to stderr, so stdout stays clean for ``--json``. Modes:

* ``"bar"``: a rich bar with elapsed time and ETA while the terminal shows it (rich draws nothing when stderr
  is not a terminal); with an unknown total, a spinner with the count so far;
* ``"lines"``: for logs and pipes, one plain line ``"<label>: <done>/<total> <unit><note>, <elapsed> elapsed,
  ETA <eta>"`` first after ``first_after`` seconds, then at most every ``every`` seconds (the ETA comes from this
  run's rate: work counted in ``initial``, e.g. cells finished by an earlier run, does not speed it up);
* ``"auto"``: ``"bar"`` when stderr is a terminal, ``"lines"`` otherwise;
* ``None``: silent.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "hms"]

_MODES = ("auto", "bar", "lines", None)


def hms(seconds: float) -> str:
    """``seconds`` as ``H:MM:SS`` (``"?"`` for NaN, e.g. an ETA before any rate is known)."""
    if seconds != seconds:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Progress of ``label`` over ``total`` items (``None``: not known yet) on stderr; a context manager.

    ``update(done, total=None, note="")`` reports ``done`` items so far (``total`` may be given or changed
    there, as the ``progress=(done, total)`` callbacks of ``riccati`` do); ``note`` is appended to the count
    (e.g. ``", 2 failed"``). ``close()`` (or leaving the ``with`` block) removes a transient bar.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        unit: str = "",
        mode: str | None = "auto",
        initial: int = 0,
        first_after: float = 3.0,
        every: float = 10.0,
        transient: bool = True,
        prefix: str = "",
    ):
        if mode not in _MODES:
            raise ValueError(f"`mode`={mode!r} must be one of {_MODES}")
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.label, self.total, self.unit, self.mode, self.prefix = label, total, unit, mode, prefix
        self.initial = int(initial)
        self._every = every
        self._t0 = time.perf_counter()
        self._next_line = first_after
        self._bar = None
        if mode == "bar":
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import (
                Progress as _RichProgress,
            )

            self._bar = _RichProgress(
                SpinnerColumn() if total is None else TextColumn(""),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=transient,
            )
            self._bar.start()
            self._task = self._bar.add_task(label, total=total, completed=self.initial, count=self._count(initial))

    def _count(self, done: int, note: str = "") -> str:
        unit = f" {self.unit}" if self.unit else ""
        total = "?" if self.total is None else self.total
        return f"{done}/{total}{unit}{note}"

    def update(self, done: int, total: int | None = None, *, note: str = "") -> None:
        """Report ``done`` items (of ``total``, if given now)."""
        if total is not None:
            self.total = int(total)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=self.total, count=self._count(done, note))
            return
        if self.mode != "lines":
            return
        el = time.perf_counter() - self._t0
        if el < self._next_line or (self.total is not None and done >= self.total):
            return  # not yet, or finished (the command's own summary follows)
        n = done - self.initial
        left = float("nan") if self.total is None else self.total - done
        eta = el / n * left if n > 0 else float("nan")
        print(
            f"{self.prefix}{self.label}: {self._count(done, note)}, {hms(el)} elapsed, ETA {hms(eta)}",
            file=sys.stderr,
            flush=True,
        )
        self._next_line = el + self._every

    def close(self) -> None:
        """Stop the bar (a transient one disappears); further updates are ignored."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        self.mode = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
