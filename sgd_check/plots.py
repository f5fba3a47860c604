"""Figures of a theory-vs-SGD check, drawn from a report (``sgd_check.compare``) alone; theory figures and
overlays of several settings (``sgd_check._theory_plot``) are re-exported here.

No numerics here beyond reshaping: every curve, fit line and anchor is computed in ``_check`` and stored in
the report, so a figure can be re-drawn from ``report.json`` without the raw data. Figures are built on
``matplotlib.figure.Figure`` with the Agg canvas (no pyplot state, no display needed).

Styles (``style=``, see ``sgd_check._figstyle``): ``"dashboard"`` (default; the three panels side by side
for a screen) and ``"paper"`` (single panels at one-column 3.4 in and two-column 7 in width, vector PDF plus
PNG, 7–8 pt text at printed size, Okabe–Ito colours with distinct markers and line styles).

Honest marks: a predicted power law (and the window it is compared on) is drawn only where the theory
predicts one (β > 1/2 for the risk exponent) *and* the fit window spans at least ``MIN_EMERGENCES`` = 8
emergences (the emergence-slope line likewise needs 8 directions); otherwise the panel says so in words.

Figures
-------
* :func:`plot_risk`: relative risk vs flow time, log–log: SGD mean ±1 s.d. over seeds, faint per-seed SGD
  curves, the exact flow from the same initial states, the predicted power law (where predicted) and the floor.
* :func:`plot_staircase`: the emergence staircase, G_mm(t) (quadratic) or max_i cos²∠(w_i, θ_m) (homogeneous)
  for the first directions m, SGD vs flow; each direction switches on when its curve crosses 1/2.
* :func:`plot_emergence`: emergence time T_m vs direction index m, log–log, with integer m ticks.
* :func:`plot_summary`: the three side by side, with the verdict and its scope in the title.
* :func:`render_all`: writes the figures of a style and returns their paths.
* :func:`plot_theory`, :func:`plot_overlay`, :func:`write_overlay`, :func:`overlay_table`: theory curves and
  overlays of several settings (one line per setting) with a CSV/JSON table.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from ._figstyle import (
    FLOW,
    GREY,
    MIN_EMERGENCES,
    OKABE_ITO,
    informative_ylim,
    integer_log_ticks,
    new_figure,
    no_minor_labels,
    note,
    require_style,
    save_figure,
    series_style,
    style_context,
)
from ._theory_plot import overlay_table, plot_overlay, plot_theory, write_overlay, write_theory_figures

__all__ = [
    "plot_risk",
    "plot_staircase",
    "plot_emergence",
    "plot_summary",
    "render_all",
    "verdict_scope",
    "plot_theory",
    "write_theory_figures",
    "plot_overlay",
    "overlay_table",
    "write_overlay",
]

_SGD = OKABE_ITO[0]
_PRED = OKABE_ITO[1]


def _a(x) -> np.ndarray:
    """Report list (nulls for NaN) → float array."""
    return np.array([np.nan] if x is None else x, dtype=np.float64)


def _title(report: dict) -> str:
    p = report["params"]
    parts = [report["model"], f"β={p['beta']:g}", f"d={p['d']}", f"M={p['M']}", f"N={p['N']}", f"η={p['eta']:.3g}"]
    if report["model"] == "homogeneous" and p.get("activation"):
        parts.insert(1, f"σ={p['activation']}")
    parts.append(f"{report['comparison']['seeds']} seeds")
    return ", ".join(parts)


def _short_title(report: dict) -> str:
    p = report["params"]
    return f"{report['model']}, $\\beta={p['beta']:g}$, $M={p['M']}$, $N={p['N']}$, $d={p['d']}$"


def _time_label(report: dict, style: str = "dashboard") -> str:
    if style == "paper":
        return (
            "time $t=4c\\eta\\,k$ ($k$ steps)" if report["model"] == "quadratic" else "time $t=\\eta\\,k$ ($k$ steps)"
        )
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


def power_law_status(te: dict) -> tuple[bool, str | None]:
    """Whether the predicted risk power law may be drawn for a report's ``time_exponent`` block, and if not, why.

    Drawn only when a law is predicted (β > 1/2) and the fit window spans ≥ ``MIN_EMERGENCES`` emergences.
    """
    if te.get("predicted") is None:
        return False, "no power law predicted here ($\\beta\\leq 1/2$)"
    if te.get("window") is None:
        return False, "no decay window before the floor:\nno power law drawn"
    n = int(te.get("directions_in_window") or 0)
    if n < MIN_EMERGENCES:
        return False, f"too few emergences in the fit window\n({n} < {MIN_EMERGENCES}): no slope drawn"
    return True, None


def _bottom_ref(report: dict) -> float | None:
    """The smallest informative risk level: the width floor, else the last learnable direction's step ã_n²."""
    floor = report["comparison"].get("plateau", {}).get("exact_floor") or 0.0
    if floor > 0:
        return float(floor)
    a = report.get("teacher", {}).get("a")
    if a:
        p = report["params"]
        n = min(int(p["N"]), int(p["M"]))
        return float(a[n - 1]) ** 2
    return None


def _new(style: str, width: str, ax):
    if ax is not None:
        return None, ax
    fig = new_figure(style, width=width, size=None if style == "paper" else (6.0, 4.3))
    return fig, fig.add_subplot()


def plot_risk(report: dict, ax=None, *, style: str = "dashboard", width: str = "1col"):
    """Relative risk vs t (log–log): SGD mean ±1 s.d., per-seed SGD, exact flow, predicted power law, floor.

    Returns the new ``Figure`` (or ``ax`` when drawing into a given axes). ``style``: "dashboard" or "paper";
    ``width`` (paper): "1col" (3.4 in) or "2col" (7 in).
    """
    require_style(style)
    with style_context(style):
        fig, ax = _new(style, width, ax)
        paper = style == "paper"
        t = _a(report["sgd"]["t"])
        mean, std = _a(report["sgd"]["risk_mean"]), _a(report["sgd"]["risk_std"])
        per_seed = _a(report["sgd"]["risk"])
        flow = _a(report["theory"]["risk"])
        t, mean, std, per_seed, flow = _positive(t, mean, std, per_seed, flow)
        drawn, mline = [flow], None
        if np.isfinite(per_seed).any():
            for i, r in enumerate(np.atleast_2d(per_seed)):
                ax.plot(t, r, color=_SGD, lw=0.5, alpha=0.25, label="SGD, single seeds" if i == 0 else None)
        if np.isfinite(mean).any():
            lo = np.where(mean - std > 0, mean - std, np.nan)
            ax.fill_between(t, lo, mean + std, color=_SGD, alpha=0.18, lw=0, label="SGD mean ± 1 s.d.")
            (mline,) = ax.plot(t, mean, color=_SGD, lw=1.6 if paper else 2.0)
            drawn.append(mean)
        ax.plot(t, flow, color=FLOW, lw=1.1 if paper else 1.4, ls="--", label="exact flow, same seeds")
        comp = report["comparison"]
        te = comp.get("time_exponent", {})
        ok, why = power_law_status(te)
        line = te.get("predicted_line")
        if ok and line:
            ax.plot(
                _a(line["t"]),
                _a(line["risk"]),
                color=_PRED,
                lw=1.3,
                ls="-.",
                label=f"predicted $t^{{(1-2\\beta)/\\beta}}$ = $t^{{{te['predicted']:.3g}}}$",
            )
            ax.axvspan(*te["window"], color=_PRED, alpha=0.08, lw=0, label="window compared")
        pl = comp.get("plateau", {})
        floor = pl.get("exact_floor") or 0.0
        if floor > 0:
            ax.axhline(floor, color=GREY, lw=1.0, ls=":", label="width floor $\\Sigma_{m>N}\\,\\tilde a_m^2$")
        if pl.get("predicted_kind") == "value" and pl.get("predicted"):
            ax.axhline(
                pl["predicted"], color=_PRED, lw=1.0, ls=(0, (1, 2)), label="predicted plateau $1-φ^{1-2β}$ (M→∞)"
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        _set_tmin(ax, report)
        informative_ylim(ax, np.concatenate([np.ravel(v) for v in drawn]), bottom_ref=_bottom_ref(report))
        no_minor_labels(ax)
        ax.set_xlabel(_time_label(report, style))
        ax.set_ylabel(
            "relative risk $R(t)$" if paper else "relative risk $E(f-f_*)^2/E f_*^2$",
        )
        ax.grid(True, which="major", alpha=0.3)
        if not (ok and line) and why:
            note(ax, why)  # last legend entry: why no slope is drawn
        handles, labels = ax.get_legend_handles_labels()
        # one entry for the SGD mean line and its ±1 s.d. band
        handles = [(h, mline) if lbl == "SGD mean ± 1 s.d." else h for h, lbl in zip(handles, labels, strict=True)]
        ax.legend(handles, labels, loc="best", **({} if paper else {"fontsize": 7.5}))
        if paper:
            ax.set_title("SGD ≈ flow (same initial states)\n" + _short_title(report))
        else:
            ttl = "Risk: SGD vs exact flow (same initial states)"
            ax.set_title(ttl if fig is None else ttl + "\n" + _title(report), fontsize=9.5 if fig is not None else 10)
    return fig if fig is not None else ax


def _overlap_label(report: dict, style: str) -> str:
    if report["model"] == "quadratic":
        return "overlap $G_{mm}(t)=\\|U^\\top\\theta_m\\|^2$"
    # the overlap is a cosine, kept apart from the direction index m
    return "overlap $\\max_i\\cos^2\\angle(w_i,\\theta_m)$"


def plot_staircase(report: dict, ax=None, *, style: str = "dashboard", width: str = "1col"):
    """Emergence staircase: the first directions' overlaps (G_mm or max_i cos²∠(w_i, θ_m)), SGD vs flow.

    Each direction m has its own colour *and* marker (Okabe–Ito + markers), SGD solid, flow dashed.
    """
    require_style(style)
    with style_context(style):
        fig, ax = _new(style, width, ax)
        paper = style == "paper"
        st = report["staircase"]
        t = _a(report["sgd"]["t"])
        if st.get("sgd_mean") is None:  # every seed diverged: nothing to draw
            ax.text(0.5, 0.5, "no live SGD seed", ha="center", va="center", transform=ax.transAxes)
            return fig if fig is not None else ax
        single = st.get("sgd_seed") is not None
        sgd = _a(st["sgd_seed"] if single else st["sgd_mean"]).reshape(t.size, -1)
        flow = _a(st["flow_seed"] if single else st["flow_mean"]).reshape(t.size, -1)
        t, sgd, flow = t[t > 0], sgd[t > 0], flow[t > 0]
        every = max(t.size // 10, 1)
        for j, m in enumerate(st["directions"]):
            s = series_style(j, line=False)
            ax.plot(t, sgd[:, j], color=s["color"], marker=s["marker"], markevery=(j % every, every), ms=3.5,
                    lw=1.5 if paper else 2.0, label=f"$m={m}$")  # fmt: skip
            ax.plot(t, flow[:, j], color=s["color"], lw=0.9, ls="--")
        ax.axhline(0.5, color=GREY, lw=0.8, ls=":")
        ax.set_xscale("log")
        _set_tmin(ax, report)
        no_minor_labels(ax)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(_time_label(report, style))
        ax.set_ylabel(_overlap_label(report, style))
        ax.grid(True, which="major", alpha=0.3)
        who = f"SGD seed {st['seed']} solid, its flow dashed" if single else "SGD mean solid, flow dashed"
        ax.legend(loc="lower right", ncol=3, title=who, columnspacing=0.8, handlelength=1.8,
                  **({} if paper else {"fontsize": 7.5, "title_fontsize": 7.5}))  # fmt: skip
        if paper:
            ax.set_title("emergence of direction $m$ (crosses 1/2)")
        else:
            ttl = "Emergence of direction m: learned when its overlap crosses 1/2"
            ax.set_title(ttl if fig is None else ttl + "\n" + _title(report), fontsize=9.5 if fig is not None else 10)
    return fig if fig is not None else ax


def _finite(x) -> bool:
    return x is not None and np.isfinite(x)


def plot_emergence(report: dict, ax=None, *, style: str = "dashboard", width: str = "1col"):
    """Emergence time T_m vs direction index m (log–log, integer ticks): raw and initial-overlap-normalised,
    SGD vs flow; the predicted slope β only over ≥ ``MIN_EMERGENCES`` directions."""
    require_style(style)
    with style_context(style):
        fig, ax = _new(style, width, ax)
        paper = style == "paper"
        em = report["comparison"].get("emergence", {})
        es = report["comparison"].get("emergence_slope", {})
        nb = es.get("normalised", {})
        n_dir = int(nb.get("n_directions") or es.get("n_directions") or 0)
        enough = n_dir >= MIN_EMERGENCES
        M = int(report["params"]["M"])
        if not em:  # every seed diverged: no emergence time to draw
            ax.text(0.5, 0.5, "no emergence times (no live SGD seed)", ha="center", va="center", transform=ax.transAxes)
            ax.set_xlabel("direction index $m$")
            return fig if fig is not None else ax
        if em:
            per_seed = _a(em["sgd_per_seed"])
            M = per_seed.shape[-1]
            m = np.arange(1, M + 1)
            if np.isfinite(per_seed).any():
                for i, row in enumerate(np.atleast_2d(per_seed)):
                    ax.plot(m, row, ".", ms=3, color=_SGD, alpha=0.3, label="$T_m$, SGD seeds" if i == 0 else None)
            fl = _a(em["flow_geomean"])
            if np.isfinite(fl).any():
                ax.plot(m, fl, "s", ms=4, mfc="none", mec=GREY, mew=0.8, label="$T_m$, flow")
            ns, nf = _a(nb.get("sgd_geomean")), _a(nb.get("flow_geomean"))
            slope = (lambda v: f", slope {v:.2g}") if enough else (lambda v: "")
            if nb.get("sgd_geomean") is not None and np.isfinite(ns).any():
                ax.plot(m, ns, "o", ms=5, color=_SGD,
                        label="normalised* SGD" + (slope(nb["sgd"]) if _finite(nb.get("sgd")) else ""))  # fmt: skip
            if nb.get("flow_geomean") is not None and np.isfinite(nf).any():
                ax.plot(m, nf, "D", ms=5.5, mfc="none", mec=FLOW, mew=1.0,
                        label="normalised* flow" + (slope(nb["flow"]) if _finite(nb.get("flow")) else ""))  # fmt: skip
        line = nb.get("predicted_line") or es.get("predicted_line")
        if enough and line:
            ax.plot(_a(line["m"]), _a(line["T"]), color=_PRED, lw=1.3, ls="-.",
                    label=f"predicted $m^{{\\beta}}$, $\\beta={es['predicted']:g}$")  # fmt: skip
        else:
            note(ax, f"no slope drawn: too few emergences\n({n_dir} directions fitted < {MIN_EMERGENCES})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        m_hi = 1  # the largest direction index with a finite emergence time drawn
        if em:
            fin = np.isfinite(np.vstack([np.atleast_2d(_a(em["sgd_per_seed"])), _a(em["flow_geomean"])[None]]))
            m_hi = int(np.flatnonzero(fin.any(axis=0)).max()) + 1 if fin.any() else 1
        integer_log_ticks(ax, m_hi)
        ax.set_xlim(0.8, m_hi * 1.25)
        no_minor_labels(ax)
        ax.set_xlabel("direction index $m$ ($\\tilde a_m\\propto m^{-\\beta}$)")
        unit = "$t=4c\\eta k$" if report["model"] == "quadratic" else "$t=\\eta k$"
        ax.set_ylabel(f"emergence time $T_m$ ({unit})")
        ax.grid(True, which="major", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            star = any("normalised*" in lbl for lbl in ax.get_legend_handles_labels()[1])
            ax.legend(
                loc="upper left",
                title="*: $T_m\\bar L/L(s_{0,m})$" if star else None,
                **({} if paper else {"fontsize": 7, "title_fontsize": 7}),
            )
        if paper:
            ax.set_title("emergence time of direction $m$")
        else:
            ttl = "Emergence time vs direction m"
            ax.set_title(ttl if fig is None else ttl + "\n" + _title(report), fontsize=9 if fig is not None else 9.5)
    return fig if fig is not None else ax


_THEOREM_CHECKS = ("_flow_vs_", "floor_vs_asymptotic")


def verdict_scope(report: dict) -> dict:
    """Split a report's checks by what they compare: "SGD ≈ flow" (SGD vs the exact flow of the same seeds:
    what ``check`` judges) and "flow ≈ theorem" (the finite-size flow vs a d→∞ prediction; ``verify``'s
    subject, here mostly reported without a gate). Returns counts and one-line texts for titles and tables."""
    v = report["verdict"]
    sgd = [c for c in v["checks"] if not any(k in c["name"] for k in _THEOREM_CHECKS)]
    thm = [c for c in v["checks"] if any(k in c["name"] for k in _THEOREM_CHECKS)]
    sgd_g = [c for c in sgd if c.get("gated", True)]
    thm_g = [c for c in thm if c.get("gated", True)]
    sgd_ok = all(c["pass"] for c in sgd_g)
    p = report["params"]
    scope = f"{report['comparison'].get('seeds_alive', '?')} seeds, d={p['d']}, η={p['eta']:.3g}"
    sgd_line = (
        f"SGD ≈ flow: {'PASS' if sgd_ok else 'FAIL'} ({sum(c['pass'] for c in sgd_g)}/{len(sgd_g)} checks; {scope})"
    )
    if thm and not thm_g:
        thm_line = f"flow ≈ d→∞ theorem: not judged here ({len(thm)} finite-size comparisons reported; see verify)"
    elif thm:
        thm_line = (
            f"flow ≈ d→∞ theorem: {sum(c['pass'] for c in thm_g)}/{len(thm_g)} gated checks pass, "
            f"{len(thm) - len(thm_g)} reported only (see verify)"
        )
    else:
        thm_line = "flow ≈ d→∞ theorem: not compared here (see verify)"
    return {
        "sgd_vs_flow": {"pass": sgd_ok, "n_gated": len(sgd_g), "n_pass": sum(c["pass"] for c in sgd_g)},
        "flow_vs_theorem": {"n_gated": len(thm_g), "n_pass": sum(c["pass"] for c in thm_g), "n_reported": len(thm)},
        "sgd_line": sgd_line,
        "theorem_line": thm_line,
        "overall": f"verdict over all gated checks: {'PASS' if v['pass'] else 'FAIL'}",
    }


def plot_summary(report: dict, *, style: str = "dashboard"):
    """The three panels side by side; the title states the verdict and its scope (SGD ≈ flow vs flow ≈ theorem).

    Dashboard: 16 × 4.8 in for a screen. Paper: two-column width (7 in), 7–8 pt text.
    """
    require_style(style)
    with style_context(style):
        fig = new_figure(style, size=(7.0, 2.9) if style == "paper" else (16.0, 4.8))
        axes = fig.subplots(1, 3)
        plot_risk(report, axes[0], style=style)
        plot_staircase(report, axes[1], style=style)
        plot_emergence(report, axes[2], style=style)
        vs = verdict_scope(report)
        if style == "paper":
            for ax in axes:
                ax.set_title("")
            fig.suptitle(f"{_short_title(report)} — {vs['sgd_line']}", fontsize=8)
        else:
            fig.suptitle(
                f"{_title(report)}\n{vs['sgd_line']}   ·   {vs['theorem_line']}   ·   {vs['overall']}", fontsize=11
            )
    return fig


def render_all(
    report: dict, out_dir: str | os.PathLike, *, pdf: bool = False, prefix: str = "", style: str = "dashboard"
) -> list[str]:
    """Write the figures of ``report`` into ``out_dir`` (atomically); return the file paths.

    * dashboard: ``risk``, ``staircase``, ``emergence``, ``summary`` as PNG (and PDF with ``pdf=True``);
    * paper: each single panel at one and two columns, ``risk_1col.pdf``/``.png``, ``risk_2col.pdf``/``.png``,
      …, plus ``summary_2col.pdf``/``.png`` at 7 in (PDF always: vector figures for the paper; the paper
      names never overwrite the dashboard's, so both styles can live in one folder).
    """
    require_style(style)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    panels = (("risk", plot_risk), ("staircase", plot_staircase), ("emergence", plot_emergence))
    if style == "paper":
        jobs = [
            (f"{n}_{w}", lambda fn=fn, w=w: fn(report, style=style, width=w))
            for n, fn in panels
            for w in ("1col", "2col")
        ]
        jobs.append(("summary_2col", lambda: plot_summary(report, style=style)))
        exts = ("pdf", "png")
    else:
        jobs = [(n, lambda fn=fn: fn(report)) for n, fn in panels] + [("summary", lambda: plot_summary(report))]
        exts = ("png", "pdf") if pdf else ("png",)
    for name, make in jobs:
        fig = make()
        _drawable(fig)
        for ext in exts:
            paths.append(save_figure(fig, os.path.join(out_dir, f"{prefix}{name}.{ext}"), style))
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
