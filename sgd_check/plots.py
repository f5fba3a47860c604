"""Figures of a theory-vs-SGD check, drawn from a report (``sgd_check.compare``) alone.

No numerics here beyond reshaping: every curve, fit line and anchor is computed in ``_compare`` and stored in
the report, so a figure can be re-drawn from ``report.json`` without the raw data. Figures are built on
``matplotlib.figure.Figure`` with the Agg canvas (no pyplot state, no display needed).

Figures
-------
* :func:`plot_risk`: relative risk vs flow time, log–log: SGD mean ±1 s.d. over seeds, faint per-seed SGD
  curves, the exact flow from the same initial states, the predicted power law and the width floor.
* :func:`plot_staircase`: the emergence staircase, G_mm(t) (quadratic) or max_i m_ip(t)² (homogeneous) for
  the first directions, SGD mean vs flow; each direction switches on when its curve crosses 1/2.
* :func:`plot_emergence`: emergence time T_m vs m, log–log, with the predicted slope β.
* :func:`plot_summary`: the three side by side, for slides.
* :func:`render_all`: writes all four (PNG, and PDF on request) and returns their paths.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._outdir import atomic_path

__all__ = ["plot_risk", "plot_staircase", "plot_emergence", "plot_summary", "render_all"]

_SGD = "#1f5fa8"
_FLOW = "#111111"
_PRED = "#c2452d"
_FLOOR = "#6a6a6a"


def _a(x) -> np.ndarray:
    """Report list (nulls for NaN) → float array."""
    return np.array([np.nan] if x is None else x, dtype=np.float64)


def _figure(w=6.0, h=4.3) -> Figure:
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _title(report: dict) -> str:
    p = report["params"]
    parts = [report["model"], f"β={p['beta']:g}", f"d={p['d']}", f"M={p['M']}", f"N={p['N']}", f"η={p['eta']:.3g}"]
    if report["model"] == "homogeneous" and p.get("activation"):
        parts.insert(1, f"σ={p['activation']}")
    parts.append(f"{report['comparison']['seeds']} seeds")
    return ", ".join(parts)


def _time_label(report: dict) -> str:
    if report["model"] == "quadratic":
        return "flow time t = 4cη·steps (canonical Riccati time)"
    return "flow time t = η·steps"


def _set_tmin(ax, report):
    t_min = report["comparison"].get("display", {}).get("t_min")
    if t_min:
        ax.set_xlim(left=t_min, right=report["sgd"]["t"][-1] * 1.1)


def _positive(t, *ys):
    ok = t > 0
    return (t[ok], *[y[..., ok] for y in ys])


def plot_risk(report: dict, ax=None):
    """Relative risk vs t (log–log): SGD mean ±1 s.d., per-seed SGD, exact flow, predicted power law, floor."""
    fig = None
    if ax is None:
        fig = _figure()
        ax = fig.add_subplot()
    t = _a(report["sgd"]["t"])
    mean, std = _a(report["sgd"]["risk_mean"]), _a(report["sgd"]["risk_std"])
    per_seed = _a(report["sgd"]["risk"])
    flow = _a(report["theory"]["risk"])
    t, mean, std, per_seed, flow = _positive(t, mean, std, per_seed, flow)
    for i, r in enumerate(np.atleast_2d(per_seed)):
        ax.plot(t, r, color=_SGD, lw=0.6, alpha=0.25, label="SGD, single seeds" if i == 0 else None)
    lo = np.where(mean - std > 0, mean - std, np.nan)
    ax.fill_between(t, lo, mean + std, color=_SGD, alpha=0.18, lw=0, label="SGD mean ± 1 s.d.")
    ax.plot(t, mean, color=_SGD, lw=2.0, label="SGD mean")
    ax.plot(t, flow, color=_FLOW, lw=1.4, ls="--", label="exact flow (same initial states)")
    comp = report["comparison"]
    te = comp.get("time_exponent", {})
    line = te.get("predicted_line")
    if line:
        ax.plot(
            _a(line["t"]),
            _a(line["risk"]),
            color=_PRED,
            lw=1.6,
            ls="-.",
            label=f"predicted $t^{{(1-2β)/β}}$, slope {te['predicted']:.3g}",
        )
    if te.get("window"):
        ax.axvspan(*te["window"], color=_PRED, alpha=0.08, lw=0, label="exponent fit window")
    pl = comp.get("plateau", {})
    floor = pl.get("exact_floor") or 0.0
    if floor > 0:
        lab = "width floor $\\Sigma_{m>N}\\,\\tilde a_m^2$"
        if pl.get("predicted_kind") == "scaling":
            lab += " ($\\propto N^{1-2β}$)"
        ax.axhline(floor, color=_FLOOR, lw=1.0, ls=":", label=lab)
    if pl.get("predicted_kind") == "value":
        ax.axhline(pl["predicted"], color=_PRED, lw=1.0, ls=":", label="predicted plateau $1-φ^{1-2β}$ (M→∞)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _set_tmin(ax, report)
    ax.set_xlabel(_time_label(report))
    ax.set_ylabel("relative risk $E(f-f_*)^2/E f_*^2$")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="lower left", framealpha=0.85)
    ax.set_title(
        "Risk: SGD vs exact flow" if fig is None else "Risk: SGD vs exact flow\n" + _title(report),
        fontsize=9.5 if fig is not None else 10,
    )
    return fig if fig is not None else ax


def plot_staircase(report: dict, ax=None):
    """Emergence staircase: the first directions' curves (G_mm or max_i m_ip²), SGD mean vs flow."""
    fig = None
    if ax is None:
        fig = _figure()
        ax = fig.add_subplot()
    st = report["staircase"]
    t = _a(report["sgd"]["t"])
    if st.get("sgd_mean") is None:  # every seed diverged: nothing to draw
        ax.text(0.5, 0.5, "no live SGD seed", ha="center", va="center", transform=ax.transAxes)
        return fig if fig is not None else ax
    single = st.get("sgd_seed") is not None
    sgd = _a(st["sgd_seed"] if single else st["sgd_mean"]).reshape(t.size, -1)
    flow = _a(st["flow_seed"] if single else st["flow_mean"]).reshape(t.size, -1)
    t, sgd, flow = t[t > 0], sgd[t > 0], flow[t > 0]
    cmap = __import__("matplotlib").colormaps["viridis"]
    k = len(st["directions"])
    for j, m in enumerate(st["directions"]):
        col = cmap(0.9 * j / max(k - 1, 1))
        ax.plot(t, sgd[:, j], color=col, lw=2.0, label=f"m = {m}")
        ax.plot(t, flow[:, j], color=col, lw=1.2, ls="--")
    ax.plot([], [], color="k", lw=2.0, label=f"SGD, seed {st['seed']}" if single else "SGD (mean over seeds)")
    ax.plot([], [], color="k", lw=1.2, ls="--", label="its exact flow" if single else "exact flow")
    ax.axhline(0.5, color=_FLOOR, lw=0.8, ls=":", label="learned: crosses 1/2")
    ax.set_xscale("log")
    _set_tmin(ax, report)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(_time_label(report))
    name = "$G_{mm}(t)=\\|U^\\top θ_m\\|^2$" if report["model"] == "quadratic" else "$\\max_i m_{im}(t)^2$"
    ax.set_ylabel(f"overlap with teacher direction m, {name}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", ncol=2, framealpha=0.85)
    ttl = "Emergence: each direction switches on at its own time"
    ax.set_title(ttl if fig is None else ttl + "\n" + _title(report), fontsize=9.5 if fig is not None else 10)
    return fig if fig is not None else ax


def plot_emergence(report: dict, ax=None):
    """Emergence time T_m vs m (log–log): raw and initial-overlap-normalised, SGD vs flow, predicted slope β."""
    fig = None
    if ax is None:
        fig = _figure()
        ax = fig.add_subplot()
    em = report["comparison"].get("emergence", {})
    es = report["comparison"].get("emergence_slope", {})
    nb = es.get("normalised", {})
    if em:
        per_seed = _a(em["sgd_per_seed"])
        M = per_seed.shape[-1]
        m = np.arange(1, M + 1)
        for i, row in enumerate(np.atleast_2d(per_seed)):
            ax.plot(m, row, ".", ms=4, color=_SGD, alpha=0.3, label="raw $T_m$, SGD single seeds" if i == 0 else None)
        ax.plot(
            m,
            _a(em["flow_geomean"]),
            "s",
            ms=5,
            mfc="none",
            mec=_FLOOR,
            mew=0.8,
            alpha=0.8,
            label=f"raw $T_m$, flow (slope {_fmt(es.get('flow'))})",
        )
        if nb.get("sgd_geomean") is not None:
            ax.plot(
                m,
                _a(nb["sgd_geomean"]),
                "o",
                ms=6.5,
                color=_SGD,
                label=f"normalised, SGD (slope {_fmt(nb.get('sgd'))})",
            )
            ax.plot(
                m,
                _a(nb["flow_geomean"]),
                "s",
                ms=8,
                mfc="none",
                mec=_FLOW,
                mew=1.3,
                label=f"normalised, flow (slope {_fmt(nb.get('flow'))})",
            )
    line = nb.get("predicted_line") or es.get("predicted_line")
    if line:
        ax.plot(
            _a(line["m"]), _a(line["T"]), color=_PRED, lw=1.6, ls="-.", label=f"predicted slope β = {es['predicted']:g}"
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("teacher direction m  ($\\tilde a_m \\propto m^{-β}$)")
    unit = "t = 4cη·steps" if report["model"] == "quadratic" else "t = η·steps"
    ax.set_ylabel(f"emergence time $T_m$ (crosses 1/2), {unit}")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", framealpha=0.85)
    ax.text(
        0.98,
        0.02,
        "normalised: $T_m\\,\\bar L/L(s_{0,m})$, initial overlap divided out",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
        color=_FLOOR,
    )
    ttl = "Emergence time vs direction"
    ax.set_title(ttl if fig is None else ttl + "\n" + _title(report), fontsize=9.5 if fig is not None else 10)
    return fig if fig is not None else ax


def _fmt(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3g}"


def plot_summary(report: dict):
    """The three panels side by side with the verdict in the title (for slides)."""
    fig = _figure(16.0, 4.8)
    axes = fig.subplots(1, 3)
    plot_risk(report, axes[0])
    plot_staircase(report, axes[1])
    plot_emergence(report, axes[2])
    v = report["verdict"]
    n_ok = sum(c["pass"] for c in v["checks"] if c.get("gated", True))
    n = sum(1 for c in v["checks"] if c.get("gated", True))
    fig.suptitle(f"{_title(report)}   —   verdict: {'PASS' if v['pass'] else 'FAIL'} ({n_ok}/{n} checks)", fontsize=11)
    return fig


def render_all(report: dict, out_dir: str | os.PathLike, *, pdf: bool = False, prefix: str = "") -> list[str]:
    """Write risk, staircase, emergence and summary figures into ``out_dir``; return the file paths."""
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, fn in (
        ("risk", plot_risk),
        ("staircase", plot_staircase),
        ("emergence", plot_emergence),
        ("summary", plot_summary),
    ):
        fig = fn(report)
        _drawable(fig)
        for ext in ("png", "pdf") if pdf else ("png",):
            path = os.path.join(out_dir, f"{prefix}{name}.{ext}")
            with atomic_path(path) as tmp:  # atomic: temporary file + os.replace
                fig.savefig(tmp, dpi=160)
            paths.append(path)
    return paths


def _drawable(fig) -> None:
    """Make ``fig`` drawable: a log axis with no positive finite data (a run too short to show anything, e.g.
    no direction emerged) is switched to linear and says so, instead of matplotlib refusing to draw."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    try:
        canvas.draw()
        return
    except ValueError as exc:
        if "log-scaled" not in str(exc):
            raise
    for ax in fig.axes:
        lim = ax.dataLim
        for scale, lo, hi, set_scale in (
            (ax.get_xscale(), lim.x0, lim.x1, ax.set_xscale),
            (ax.get_yscale(), lim.y0, lim.y1, ax.set_yscale),
        ):
            if scale == "log" and not (np.isfinite(lo) and np.isfinite(hi) and hi > 0):
                set_scale("linear")
                ax.text(
                    0.5,
                    0.5,
                    "nothing positive to draw on a log scale:\nthe run is too short to show this",
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="0.4",
                )
    canvas.draw()
