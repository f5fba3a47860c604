"""Plot of a simulation's risk curves (matplotlib Figure on the Agg canvas); drawing only, no numerics."""

from __future__ import annotations

import os

import numpy as np

from .._figstyle import new_figure, no_minor_labels, require_style, save_figure, series_style, style_context

__all__ = ["plot_result"]


def plot_result(res, path: str, *, style: str = "dashboard") -> str:
    """Draw per-seed relative risk (thin), the mean over non-diverged seeds (thick) against flow time ``t``.

    Written atomically to ``path`` (its extension picks PNG or PDF). ``style``: "dashboard" (6.4 in wide) or
    "paper" (one column, 3.4 in, 7–8 pt text). Returns ``path``.
    """
    require_style(style)
    with style_context(style):
        fig = new_figure(style, size=None if style == "paper" else (6.4, 4.2))
        ax = fig.add_subplot()
        t = np.asarray(res.t, dtype=float)
        mask = t > 0
        c = series_style(0)["color"]
        for s in range(res.risk.shape[0]):
            ax.plot(t[mask], res.risk[s, mask], lw=0.6, alpha=0.35, color=c, label="single seeds" if s == 0 else None)
        if np.isfinite(res.risk_mean[mask]).any():
            ax.plot(t[mask], res.risk_mean[mask], lw=2.0, color=series_style(1)["color"],
                    label=f"mean over {int((~res.diverged).sum())} seeds")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        no_minor_labels(ax)
        ax.set_xlabel(f"t ({res.time_unit})" if style == "dashboard" else "time $t$")
        ax.set_ylabel("relative risk $R(t)$")
        p = res.params
        ax.set_title(
            f"SGD only, {res.model}: $d={p['d']}$, $M={p['M']}$, $N={p['N']}$, "
            f"$\\beta={p['beta']:g}$, $\\eta={p['eta']:.3g}$",
            fontsize=None if style == "paper" else 10,
        )
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=None if style == "paper" else 8)
    return save_figure(fig, os.fspath(path), style, dpi=110 if style == "dashboard" else None)
