"""``verify``: the talk's claims (docs/theory.md §6) checked at growing size, each with a gate that can fail.

Public API: :func:`verify` (run, gate, write ``report.json`` and figures), :data:`CLAIMS` (the registry, with
each claim's statement, model and sizes), :func:`select_claims`. See docs/verify.md.
"""

from ._registry import CLAIMS, SIZES, Claim, ie_table, select_claims
from ._run import verify
from ._stats import extrapolate_linear, gate, mean_ci

__all__ = ["CLAIMS", "SIZES", "Claim", "ie_table", "select_claims", "verify", "extrapolate_linear", "gate", "mean_ci"]
