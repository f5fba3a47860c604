"""The verdict of a check: SGD against the exact flow of the same seeds, one function per family of gates.

Everything works on :class:`CheckData` (plain float64 arrays), so the verdict can be tested on synthetic curves and
a saved run re-judged without rerunning SGD (docs/theory.md §4).

Conventions
-----------
* Risk is the *relative* population risk (docs/theory.md §2: 1 − tr(ÃGÃG); §3: 2L/K(1)).
* Time is the flow time of the model: quadratic canonical Riccati time ``t = 4cη·steps``, homogeneous
  ``t = η·steps``. The SGD curve is put on that axis through the stated time map (times ``time_map_factor``,
  1 unless one is testing a deliberately wrong map).
* "Direction curves" are G_mm(t) (quadratic) or max_i m_ip(t)² (homogeneous), shape (S, T, M). Direction m is
  *learned* when its curve first crosses 1/2. For SGD the crossing time is interpolated linearly in log t on the
  logged grid; for the flow it comes from the flow's dense output (``CheckData.flow_emergence``), so it does not
  depend on the logging grid.
* Per-seed pairing: seed s of SGD is compared with the exact flow started from seed s's own initial state, so
  the initial-condition spread cancels and what is left is SGD noise plus the O(η) bias.

How the tolerances are set (stated in every row's ``why``)
----------------------------------------------------------
A gate compares an SGD statistic with the flow statistic of the same seeds. The allowed difference is
``q·SE + κ·ε + δ``:
* ``SE`` is the standard error over the S seeds of the per-seed paired difference and ``q`` the two-sided
  Student-t quantile at level ``Tolerances.level`` with S−1 degrees of freedom (so few seeds widen the band;
  S = 1 has no noise estimate and gets only the bias allowance): :meth:`_Paired.band`;
* ``ε`` is the dimensionless step size, the ratio of the O(η²) noise drift to the slowest signal drift
  (docs/theory.md §2.11 and §3.6 step-size heuristics): quadratic ``ε = η·c·d·ℓ0/(B·ã_n)`` with ``ℓ0 = 2(c²N + 1)``
  the initial per-sample squared error and ``n = min(N, M)``; homogeneous
  ``ε = η·d^{k/2}·ℓ0/(B·k·ã_min)`` with ``ℓ0`` = K(1) (initial squared error) and k the information exponent.
  The SGD bias is first order in ε (halve η, halve the gap), so the allowance is ``κ·min(ε, ε_cap)`` with κ a
  fixed constant per statistic and ε_cap = 0.25 (``Tolerances``): beyond it the first-order picture no longer
  holds and no further slack is given;
* ``δ`` a small fixed allowance for float32 arithmetic and the resolution of the log-spaced logging grid.
A step size far too large (ε ≳ 1) gives a gap of order one and the gate fails. In the verdict each row's
``value`` is the difference itself and ``tolerance`` the whole bound ``q·SE + κ·ε + δ``.

Two pooled gates judge the clock (every SGD time stretched by one factor, e.g. a run labelled with the wrong η):
``emergence_clock`` and ``rise_time_ratio`` pool the log-ratios of all judged (seed, direction) pairs, so a 15% error
is resolved where the worst single direction (``emergence_time_ratio``) cannot; ``directions_learned_count`` fails
a run that misses a direction the flow learned, the width edge included (:func:`_clock`, :func:`_learned_count`).

Gates of the flow against d → ∞ predictions (time exponent, plateau law) use fixed, stated tolerances; rows with
``gated=False`` are reported, not judged.

Layout: the tolerances, the verdict row and the paired data are in ``gates.py``; the families that judge SGD against
its flow in ``tracking.py``; those that judge against the d → ∞ laws in ``laws.py``; this module runs them.
"""

from __future__ import annotations

from .data import CheckData
from .gates import Tolerances, VerdictRow, _Paired, predictions
from .laws import _emergence_slope, _plateau, _time_exponent
from .report import build_report
from .tracking import _clock, _divergence, _emergence, _gap, _learned_count, _run_length, _same_directions

__all__ = ["Tolerances", "VerdictRow", "predictions", "compare"]


#: The families judged on the live seeds, in report order.
_FAMILIES = (
    _run_length,
    _gap,
    _emergence,
    _clock,
    _same_directions,
    _learned_count,
    _emergence_slope,
    _time_exponent,
    _plateau,
)


# ----------------------------------------------------------------------------------------------------------------
# the comparison
# ----------------------------------------------------------------------------------------------------------------
def compare(data: CheckData, *, tolerances: Tolerances | None = None, n_staircase: int = 6) -> dict:
    """Compare SGD with the exact flow of the same seeds and build the report (a JSON-able dict).

    The report holds ``model``, ``params``, ``time_unit``, ``theory`` {t, risk (mean over seeds),
    risk_per_seed}, ``sgd`` {t, risk_mean, risk_std, risk}, ``comparison`` (gaps, emergence times and ratios,
    exponent fits with window and confidence interval, plateau, emergence slope, predictions), ``staircase``
    (mean direction curves of the first directions) and ``verdict`` {pass, checks: [{name, pass, value,
    tolerance, why, gated}]}. ``verdict.pass`` is the AND of the gated rows; ungated ones are finite-size
    comparisons of the flow with d → ∞ predictions, reported but not judged. See the module docstring for
    how each tolerance follows from η (through ε) and the number of seeds (through the Student-t band).
    """
    paired, comparison = _Paired.of(data, tolerances or Tolerances())
    _, rows = _divergence(paired)
    if paired.S == 0:
        comparison["note"] = "every seed diverged; nothing to compare"
    else:
        for family in _FAMILIES:
            entries, new_rows = family(paired)
            comparison.update(entries)
            rows += new_rows
    return build_report(data, comparison, [r.as_dict() for r in rows], n_staircase)
