"""Figures of ``verify``, drawn from each claim's report row and its saved plot data only (no numerics here).

Per claim: left, the raw measurement (curves, fits or a table); right, the measured value per size with its 95%
interval against the extrapolation variable, the fitted line, the extrapolated interval at 0, the prediction
± tolerance (green band) and the control prediction (red). One summary figure for all claims.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

__all__ = ["plot_claim", "plot_summary"]


def _fig(w, h):
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    tmp = f"{path}.tmp{os.getpid()}.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
    return path


def _left(ax, row, pd):
    kind = pd.get("kind", "")
    if kind == "table":
        labels = pd["labels"]
        x = np.arange(len(labels))
        ax.bar(x - 0.2, pd["predicted"], 0.4, label="known IE", color="#999999")
        ax.bar(x + 0.2, [v if v is not None else 0 for v in pd["measured"]], 0.4, label="measured", color="#1f5fa8")
        ax.set_xticks(x, labels, rotation=60, fontsize=7)
        ax.set_ylabel("information exponent")
        ax.legend(fontsize=8)
        return
    curves = pd.get("curves") or []
    if kind.startswith("scatter"):
        a = np.asarray(pd["a"])
        for d, nr in pd["norms"]:
            ax.loglog(a, nr, "o-", ms=4, label=f"d={d:g}")
        ax.loglog(a, a, "k--", lw=1, label="‖w‖² = ã (prediction)")
        ax.set_xlabel("ã_p")
        ax.set_ylabel("‖w_ι(p)‖² at the end")
        ax.legend(fontsize=7)
        return
    if not curves:
        ax.axis("off")
        return
    xy = []
    for c in curves:
        keys = [k for k in c if isinstance(c[k], list | np.ndarray) and k not in ("window",)]
        xy.append((np.asarray(c[keys[0]], dtype=float), np.asarray(c[keys[1]], dtype=float)))
    # log axes unless a curve is signed or starts at 0 (claim 7's gap from t = 0): then linear axes for all
    linear = bool(pd.get("loglog_fit")) and not all(np.all(x > 0) and np.all(y > 0) for x, y in xy)
    for c, (x, y) in zip(curves, xy, strict=True):
        lab = c.get("label") or ", ".join(f"{k}={c[k]:.3g}" for k in c if k in ("d", "M", "N", "eta"))
        if linear:
            ax.plot(x, y, lw=1.2, label=lab)
        elif kind.startswith("collapse"):
            ok = x > 0
            ax.semilogx(x[ok], y[ok], lw=1.2, label=lab)
        else:
            ok = (x > 0) & (y > 0)
            ax.loglog(x[ok], y[ok], lw=1.2, label=lab)
        if "window" in c:
            for w in c["window"]:
                ax.axvline(w, color="#bbbbbb", lw=0.6, ls=":")
    if kind.startswith("collapse") and not linear:
        ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks of a short log axis overlap
    ax.set_xlabel(pd.get("curve_x", ""))
    ax.set_ylabel(pd.get("curve_y", ""))
    ax.legend(fontsize=7)


def _right(ax, row, pd):
    ex = row["extrapolated"]
    pred, tol = row["predicted"], row["verdict"]["tolerance"]
    x, y, se = (np.asarray(pd.get(k, []), dtype=float) for k in ("x", "y", "se"))
    if x.size:
        ax.errorbar(x, y, yerr=1.96 * se, fmt="o", color="#1f5fa8", capsize=3, label="measured (95%)")
        if ex.get("fit_slope") is not None and not pd.get("loglog_fit"):
            xx = np.linspace(0, x.max() * 1.05, 20)
            ax.plot(xx, ex["value"] + ex["fit_slope"] * xx, color="#1f5fa8", lw=1, ls="--")
    if not pd.get("loglog_fit"):
        ax.errorbar(
            [0],
            [ex["value"]],
            yerr=[[ex["value"] - ex["ci"][0]], [ex["ci"][1] - ex["value"]]],
            fmt="s",
            color="#111111",
            capsize=4,
            label="extrapolated (95%)",
        )
        ax.axhspan(pred - tol, pred + tol, color="#2ca02c", alpha=0.2, label="prediction ± tolerance")
        ax.axhline(pred, color="#2ca02c", lw=1)
        cp = row["control"]["prediction"]
        if isinstance(cp, int | float):
            ax.axhline(cp, color="#c2452d", lw=1, ls=":", label="control (wrong prediction)")
    else:
        xx = np.linspace(x.min(), x.max(), 10) if x.size else np.array([0.0])
        mid = float(np.average(y, weights=1 / se**2)) if x.size else 0.0
        xm = float(np.average(x, weights=1 / se**2)) if x.size else 0.0
        ax.plot(xx, mid + ex["value"] * (xx - xm), "--", color="#1f5fa8", label=f"fit: order {ex['value']:.2f}")
        ax.plot(xx, mid + pred * (xx - xm), color="#2ca02c", label=f"prediction: order {pred:g}")
        ax.plot(xx, mid + row["control"]["prediction"] * (xx - xm), ":", color="#c2452d", label="control")
    ax.set_xlabel(pd.get("xlabel", ""))
    ax.set_ylabel(pd.get("ylabel", ""))
    ax.legend(fontsize=7)


def plot_claim(row: dict, pd: dict, out: str) -> str:
    """Two-panel figure of one claim (``claim_<id>.png`` in ``out``); returns its path."""
    fig = _fig(10.0, 4.0)
    a1, a2 = fig.subplots(1, 2)
    _left(a1, row, pd)
    if pd.get("kind") != "table":
        _right(a2, row, pd)
    else:
        a2.axis("off")
        a2.text(
            0.02,
            0.5,
            "exact check: measured = known for every activation\ncontrol: every IE + 1",
            fontsize=9,
            va="center",
        )
    v = "PASS" if row["verdict"]["pass"] else "FAIL"
    fig.suptitle(
        f"claim {row['id']}: {row['title']} — {v} (control {'passes!' if row['control']['pass'] else 'fails'})",
        fontsize=10,
    )
    return _save(fig, os.path.join(out, f"claim_{row['id']}.png"))


def plot_summary(report: dict, out: str) -> str:
    """One row per claim: (extrapolated − predicted)/(half-width + tolerance) for prediction and control; the gate
    passes inside [−1, 1]. Claims not run are listed in grey."""
    rows = report["claims"]
    fig = _fig(8.0, 0.45 * len(rows) + 1.5)
    ax = fig.add_subplot()
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        label = f"{r['id']} {r['title']}"
        if r["status"] != "run" or r.get("extrapolated") is None:
            ax.text(0, y, f"{r['status']}", ha="center", va="center", fontsize=8, color="#888888")
        elif isinstance(r["predicted"], list):
            ok = r["verdict"]["pass"]
            ax.plot([0], [y], "o", color="#2ca02c" if ok else "#c2452d")
            ax.plot([2.5], [y], "x", color="#c2452d")
        else:
            ex, tol = r["extrapolated"], r["verdict"]["tolerance"]
            c_ex = r["control"].get("extrapolated", ex)

            def score(pred, e, tol=tol):
                half = 0.5 * (e["ci"][1] - e["ci"][0])
                return (pred - e["value"]) / (half + tol) if half + tol > 0 else np.inf

            s, sc = score(r["predicted"], ex), score(r["control"]["prediction"], c_ex)
            ax.plot([np.clip(s, -4, 4)], [y], "o", color="#2ca02c" if r["verdict"]["pass"] else "#c2452d")
            ax.plot([np.clip(sc, -4, 4)], [y], "x", color="#c2452d")
        ax.text(-4.3, y, label, ha="right", va="center", fontsize=8)
    ax.axvspan(-1, 1, color="#2ca02c", alpha=0.15)
    ax.set_xlim(-4.2, 4.2)
    ax.set_ylim(-1, len(rows))
    ax.set_yticks([])
    ax.set_xlabel("(prediction − extrapolated)/(CI half-width + tolerance); o = prediction, x = control")
    v = report["verdict"]
    ax.set_title(
        f"shallowlaws verify ({report['size']}): {v['n_pass']} pass, {v['n_fail']} fail, {v['n_not_run']} not run",
        fontsize=10,
    )
    return _save(fig, os.path.join(out, "summary.png"))
