"""Theory-vs-SGD checks: S seeds of SGD against the exact flow from each seed's own initial state (docs/theory.md §4).

One module per concern; data flows down the list:

* :mod:`.data`: :class:`CheckData`, the raw paired curves, and their ``data.npz`` schema;
* :mod:`.stats`: curve statistics (emergence times, power-law fits and windows, Student-t intervals);
* :mod:`.verdict`: ``compare`` — one function per family of gates, each a :class:`VerdictRow`;
* :mod:`.report`: the report document and its file;
* :mod:`.run`: orchestration (``run_check``, ``replay_flow``, ``check``, ``check_from_dir``, ``write_outputs``).
"""

from .data import REPORT_SCHEMA_VERSION, CheckData
from .report import load_report, save_report
from .run import check, check_from_dir, replay_flow, run_check, write_outputs
from .stats import choose_fit_window, emergence_times, fit_exponent, t_interval
from .verdict import Tolerances, VerdictRow, compare, predictions

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "CheckData",
    "Tolerances",
    "VerdictRow",
    "check",
    "check_from_dir",
    "choose_fit_window",
    "compare",
    "emergence_times",
    "fit_exponent",
    "load_report",
    "predictions",
    "replay_flow",
    "run_check",
    "save_report",
    "t_interval",
    "write_outputs",
]
