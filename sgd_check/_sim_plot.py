"""Plot of a simulation's risk curves (matplotlib, Agg backend); drawing only, no numerics."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_result"]


def plot_result(res, path: str) -> str:
    """Draw per-seed relative risk (thin), the mean over non-diverged seeds (thick) against flow time ``t``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    t = np.asarray(res.t, dtype=float)
    mask = t > 0
    for s in range(res.risk.shape[0]):
        ax.plot(t[mask], res.risk[s, mask], lw=0.6, alpha=0.35, color="C0")
    if np.isfinite(res.risk_mean[mask]).any():
        ax.plot(t[mask], res.risk_mean[mask], lw=2.0, color="C1", label=f"mean over {int((~res.diverged).sum())} seeds")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"t ({res.time_unit})")
    ax.set_ylabel("relative risk")
    p = res.params
    ax.set_title(f"{res.model}: d={p['d']} M={p['M']} N={p['N']} β={p['beta']:g} η={p['eta']:g}", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
