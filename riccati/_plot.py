"""Log–log plot of a theory curve (no numerics here: every number is computed by the caller)."""

from __future__ import annotations

import numpy as np


def plot_theory(path, t, risk, *, floor=None, emergence_times=None, power_law=None, title="", time_unit="t"):
    """Write a log–log plot of risk vs t with emergence markers, the floor and a predicted power law.

    ``power_law`` is (t_grid, values, label) already evaluated by the caller.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.asarray(t)
    risk = np.asarray(risk)
    pos = (t > 0) & (risk > 0)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.loglog(t[pos], risk[pos], "k-", lw=1.8, label="exact flow")
    if floor is not None and floor > 0:
        ax.axhline(floor, color="tab:red", ls=":", lw=1.2, label=f"floor {floor:.3g}")
    if power_law is not None:
        tg, vals, label = power_law
        ok = (np.asarray(tg) > 0) & (np.asarray(vals) > 0)
        ax.loglog(np.asarray(tg)[ok], np.asarray(vals)[ok], "--", color="tab:blue", lw=1.2, label=label)
    if emergence_times is not None:
        em = np.asarray(emergence_times, dtype=float)
        em = em[np.isfinite(em) & (em > 0)]
        if em.size:
            y = np.interp(np.log(em), np.log(t[pos]), risk[pos]) if pos.sum() > 1 else np.full(em.size, np.nan)
            ax.plot(em, y, "o", ms=3, color="tab:orange", alpha=0.7, label=f"emergence ({em.size})")
    ax.set_xlabel(time_unit)
    ax.set_ylabel("relative risk")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
