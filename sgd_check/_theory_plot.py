"""Theory-curve figures and overlays of several settings (drawing and tabulating only, no numerics).

Inputs are the result dicts the ``theory`` command writes (``theory.json``: ``model``, ``params``,
``time_unit``, ``t``, ``risk``, ``floor``, ``emergence_times``, ``predicted``, ``fit``) or ``check`` reports
(``report.json``); an overlay takes a list of them, one per setting, and draws one line per setting (check
reports: SGD mean solid, exact flow dashed, same colour) plus one table (CSV and JSON) of what each setting gives.

A predicted power law t^{(1−2β)/β} is drawn only for β > 1/2 and a fit window spanning at least
``MIN_EMERGENCES`` emergences; otherwise the figure says "no power law predicted here" or "too few
emergences". The width floor Σ_{m>N} ã_m² is an exact value and is drawn; the scaling N^{1−2β} has no
predicted constant and is never drawn or tabulated as a value (the table names it as a law).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os

import numpy as np

from ._figstyle import (
    FLOW,
    GREY,
    MIN_EMERGENCES,
    atomic_write_text,
    informative_ylim,
    new_figure,
    no_minor_labels,
    note,
    require_style,
    save_figure,
    series_style,
    style_context,
)

__all__ = ["plot_theory", "write_theory_figures", "plot_overlay", "overlay_table", "write_overlay", "VARIABLES"]

#: the parameters an overlay may vary, with their mathtext symbols
VARIABLES = {"N": "N", "M": "M", "d": "d", "beta": "\\beta", "activation": "\\sigma", "seed": "\\mathrm{seed}"}
_RISK_CONVENTION = "relative risk R = E(f − f*)² / E f*² (quadratic) or 2L/K(1) (homogeneous)"


def _arr(x) -> np.ndarray:
    return np.array([np.nan] if x is None else x, dtype=np.float64)


def _curve(r: dict) -> dict:
    """One setting, theory result or check report, in a common shape (reading only)."""
    p = r["params"]
    beta, M, N = float(p["beta"]), int(p["M"]), int(p["N"])
    if "sgd" in r:  # a check report: the flow and SGD of the same seeds
        comp = r["comparison"]
        te = comp.get("time_exponent", {})
        em = _arr(comp.get("emergence", {}).get("flow_geomean"))
        line = te.get("predicted_line")
        a = r.get("teacher", {}).get("a")
        return {
            "kind": "check",
            "model": r["model"],
            "params": p,
            "time_unit": r["time_unit"],
            "t": _arr(r["theory"]["t"]),
            "risk": _arr(r["theory"]["risk"]),
            "sgd": _arr(r["sgd"]["risk_mean"]),
            "floor": float(comp.get("plateau", {}).get("exact_floor") or 0.0),
            "emergence": em,
            "predicted": te.get("predicted"),
            "window": te.get("window"),
            "n_in_window": int(te.get("directions_in_window") or 0),
            "fitted": te.get("flow"),
            "fitted_sgd": te.get("sgd"),
            "line": (_arr(line["t"]), _arr(line["risk"])) if line else None,
            "a_n": float(a[min(N, M) - 1]) if a else None,
            "verdict": r.get("verdict"),
        }
    fit = r.get("fit") or {}
    pred = (1 - 2 * beta) / beta if beta > 0.5 else None
    t, risk = _arr(r["t"]), _arr(r["risk"])
    em = _arr(r.get("emergence_times"))
    window = fit.get("window")
    n_in = int(np.sum((em >= window[0]) & (em <= window[1]))) if window else 0
    line = None
    if pred is not None and window:
        import riccati

        line = riccati.anchored_power_law(t, risk, pred, window)
    import riccati

    a = riccati.teacher_coefficients(beta, M)
    return {
        "kind": "theory",
        "model": r["model"],
        "params": p,
        "time_unit": r["time_unit"],
        "t": t,
        "risk": risk,
        "sgd": None,
        "floor": float(r.get("floor") or 0.0),
        "emergence": em,
        "predicted": pred,
        "window": window,
        "n_in_window": n_in,
        "fitted": fit.get("time_exponent"),
        "fitted_sgd": None,
        "line": line,
        "a_n": float(a[min(N, M) - 1]),
        "floor_asymptotic": (r.get("predicted") or {}).get("floor_asymptotic"),
        "verdict": None,
    }


_SHORT = {
    "no power law predicted here": "no power law predicted ($\\beta\\leq 1/2$)",
    "too few emergences in the fit window": f"too few emergences (< {MIN_EMERGENCES})",
    "no decay window before the floor": "no decay window",
}


def _status(c: dict) -> tuple[bool, str | None]:
    if c["predicted"] is None or float(c["params"]["beta"]) <= 0.5:
        return False, "no power law predicted here ($\\beta\\leq 1/2$)"
    if not c["window"]:
        return False, "no decay window before the floor: no power law drawn"
    if c["n_in_window"] < MIN_EMERGENCES:
        return False, f"too few emergences in the fit window ({c['n_in_window']} < {MIN_EMERGENCES}): no slope drawn"
    return True, None


def _t_left(c: dict) -> float:
    t = c["t"]
    tpos = t[t > 0]
    em = c["emergence"]
    em = em[np.isfinite(em) & (em > 0)]
    first = float(em.min()) / 30.0 if em.size else float(tpos[0])
    return max(first, float(tpos[0]))


def _bottom(c: dict) -> float:
    return c["floor"] if c["floor"] > 0 else (c["a_n"] ** 2 if c["a_n"] else 0.0)


def _time_label(c: dict, style: str) -> str:
    quad = c["model"] == "quadratic"
    if style == "paper":
        return "canonical time $t=4c\\tau$" if quad else "time $t=\\eta\\,k$ ($k$ steps)"
    return c["time_unit"]


def plot_theory(result: dict, ax=None, *, style: str = "dashboard", width: str = "1col"):
    """One theory curve (``theory.json`` dict): exact flow R(t), log–log, with emergence marks, the exact width
    floor and, only where predicted and supported by ≥ 8 emergences, the power law t^{(1−2β)/β}."""
    require_style(style)
    with style_context(style):
        own = ax is None
        if own:
            fig = new_figure(style, width=width, size=None if style == "paper" else (6.4, 4.4))
            ax = fig.add_subplot()
        c = _curve(result)
        t, risk = c["t"], c["risk"]
        ok = (t > 0) & (risk > 0)
        ax.plot(t[ok], risk[ok], color=FLOW, lw=1.5, label="exact flow")
        if c["floor"] > 0:
            ax.axhline(c["floor"], color=GREY, ls=":", lw=1.0, label="width floor $\\Sigma_{m>N}\\,\\tilde a_m^2$")
        law, why = _status(c)
        if law and c["line"] is not None:
            ax.plot(*c["line"], color=series_style(1)["color"], ls="-.", lw=1.2,
                    label=f"predicted $t^{{(1-2\\beta)/\\beta}}=t^{{{c['predicted']:.3g}}}$")  # fmt: skip
        em = c["emergence"]
        em = em[np.isfinite(em) & (em > 0)]
        if em.size and ok.sum() > 1:
            y = np.exp(np.interp(np.log(em), np.log(t[ok]), np.log(risk[ok])))
            ax.plot(em, y, "o", ms=2.5, color=series_style(0)["color"], alpha=0.8,
                    label=f"emergence of direction $m$ ({em.size})")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(_t_left(c), float(t[-1]) * 1.1)
        informative_ylim(ax, risk[ok], bottom_ref=_bottom(c))
        no_minor_labels(ax)
        ax.set_xlabel(_time_label(c, style))
        ax.set_ylabel("relative risk $R(t)$")
        ax.grid(True, which="major", alpha=0.3)
        if not (law and c["line"] is not None) and why:
            note(ax, why)  # last legend entry: why no slope is drawn
        ax.legend(loc="lower left", **({} if style == "paper" else {"fontsize": 8}))
        p = c["params"]
        sep = "\n" if style == "paper" else " "
        ttl = f"exact flow, {c['model']}:{sep}$\\beta={float(p['beta']):g}$, $M={p['M']}$, $N={p['N']}$, $d={p['d']}$"
        ax.set_title(ttl, fontsize=None if style == "paper" else 9)
    return fig if own else ax


def write_theory_figures(result: dict, out: str | os.PathLike, *, style: str = "dashboard", stem: str = "theory"):
    """Write :func:`plot_theory` atomically: dashboard ``theory.png``; paper ``theory_{1col,2col}`` (.pdf, .png)."""
    require_style(style)
    out = os.fspath(out)
    if style == "dashboard":
        return [save_figure(plot_theory(result), os.path.join(out, f"{stem}.png"), style)]
    paths = []
    for w in ("1col", "2col"):
        fig = plot_theory(result, style=style, width=w)
        paths += [save_figure(fig, os.path.join(out, f"{stem}_{w}.{e}"), style) for e in ("pdf", "png")]
    return paths


def _infer_vary(results) -> str:
    varied = [k for k in VARIABLES if len({str(r["params"].get(k)) for r in results}) > 1]
    if len(varied) != 1:
        raise ValueError(
            f"an overlay varies one parameter; these settings differ in {varied or 'none'}: "
            "give `vary=` or settings that differ in exactly one of " + ", ".join(VARIABLES)
        )
    return varied[0]


def _value_text(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def plot_overlay(results, *, vary: str | None = None, style: str = "dashboard", width: str = "1col"):
    """One axes, one line per setting: the risk curves of several ``theory`` results (or ``check`` reports:
    SGD mean solid, flow dashed, one colour per setting) against time, log–log.

    ``vary`` names the parameter that differs (inferred when None; a ``ValueError`` if the settings differ
    in none or several). Settings keep distinct colours (Okabe–Ito), markers and line styles. A predicted
    slope appears only for settings where it is predicted and backed by ≥ 8 emergences in the fit window.
    """
    require_style(style)
    results = list(results)
    if len(results) < 1:
        raise ValueError("`results` is empty: an overlay needs at least one setting")
    vary = vary or (_infer_vary(results) if len(results) > 1 else "N")
    if vary not in VARIABLES:
        raise ValueError(f"`vary`={vary!r} is not an overlay parameter: use one of {', '.join(VARIABLES)}")
    curves = [_curve(r) for r in results]
    with style_context(style):
        fig = new_figure(style, width=width, size=None if style == "paper" else (6.4, 4.6))
        ax = fig.add_subplot()
        drawn, no_law = [], []
        sym = VARIABLES[vary]
        for i, c in enumerate(curves):
            s = series_style(i)
            t = c["t"]
            y = c["sgd"] if c["sgd"] is not None else c["risk"]
            ok = (t > 0) & np.isfinite(y) & (y > 0)
            label = f"${sym}={_value_text(c['params'].get(vary))}$"
            every = max(int(ok.sum()) // 8, 1)
            ax.plot(t[ok], y[ok], color=s["color"], ls=s["ls"], marker=s["marker"], ms=3.5,
                    markevery=((i * every) // max(len(curves), 1), every), lw=1.3, label=label)  # fmt: skip
            drawn.append(y[ok])
            if c["sgd"] is not None:
                okf = (t > 0) & (c["risk"] > 0)
                ax.plot(t[okf], c["risk"][okf], color=s["color"], ls=":", lw=0.9)
                drawn.append(c["risk"][okf])
            if c["floor"] > 0:
                ax.axhline(c["floor"], color=s["color"], lw=0.6, ls=(0, (1, 3)), alpha=0.8)
            law, why = _status(c)
            if law and c["line"] is not None:
                ax.plot(*c["line"], color=GREY, ls="-.", lw=1.0)
            else:
                no_law.append((label, why))
        if any(c["sgd"] is not None for c in curves):
            ax.plot([], [], color="k", lw=1.3, label="SGD mean")
            ax.plot([], [], color="k", lw=0.9, ls=":", label="exact flow")
        if any(_status(c)[0] and c["line"] is not None for c in curves):
            ax.plot([], [], color=GREY, ls="-.", lw=1.0, label="predicted $t^{(1-2\\beta)/\\beta}$")
        if any(c["floor"] > 0 for c in curves):
            ax.plot([], [], color=GREY, lw=0.6, ls=(0, (1, 3)), label="width floors")
        by_reason: dict[str, list[str]] = {}
        for lbl, w in no_law:
            if w:
                by_reason.setdefault(_SHORT.get(w.split(" (")[0].split(":")[0], w), []).append(lbl)
        for reason, who in by_reason.items():
            note(ax, f"no slope, {'all' if len(who) == len(curves) else ', '.join(who)}:\n{reason}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(min(_t_left(c) for c in curves), max(float(c["t"][-1]) for c in curves) * 1.1)
        refs = [_bottom(c) for c in curves if _bottom(c) > 0]
        informative_ylim(ax, np.concatenate(drawn), bottom_ref=min(refs) if refs else None)
        no_minor_labels(ax)
        ax.set_xlabel(_time_label(curves[0], style))
        ax.set_ylabel("relative risk $R(t)$")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="lower left", **({} if style == "paper" else {"fontsize": 8}))
        what = "SGD ≈ flow" if curves[0]["kind"] == "check" else "exact flow (theory)"
        fixed = [f"${VARIABLES[k]}={_value_text(curves[0]['params'].get(k))}$" for k in ("M", "N", "d", "beta")
                 if k != vary and curves[0]["params"].get(k) is not None]  # fmt: skip
        sep = "\n" if style == "paper" else " "
        ax.set_title(f"{what}, {curves[0]['model']}:{sep}" + ", ".join(fixed), fontsize=None if style == "paper" else 9)
    return fig


def _num(x):
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def overlay_table(results, *, vary: str | None = None) -> list[dict]:
    """One row per setting: what the curve gives and what the theory predicts there.

    Columns: the varied parameter and the fixed sizes; ``risk_end`` at ``t_end``; ``floor_exact`` Σ_{m>N} ã_m²;
    ``floor_law`` (text: "∝ N^(1−2β), constant not predicted" or the predicted value's formula);
    ``floor_asymptotic_M_inf`` (a value with its constant, theory results only); ``n_emerged``;
    ``predicted_exponent`` (only for β > 1/2); ``fitted_exponent`` of the flow (and of SGD for check reports) on
    ``fit_window``; ``emergences_in_window``; ``power_law_drawn`` and ``note`` (why not); for check reports the
    "SGD ≈ flow" verdict.
    """
    results = list(results)
    vary = vary or (_infer_vary(results) if len(results) > 1 else "N")
    rows = []
    for r in results:
        c = _curve(r)
        p = c["params"]
        beta, M, N = float(p["beta"]), int(p["M"]), int(p["N"])
        law, why = _status(c)
        em = c["emergence"]
        if N >= M:
            floor_law = "none: N ≥ M, no width floor"
        elif beta > 0.5:
            floor_law = "∝ N^(1-2β): a scaling, constant not predicted"
        elif beta < 0.5:
            floor_law = "1-φ^(1-2β), φ=N/M (M→∞ value)"
        else:
            floor_law = "β = 1/2: logarithmic"
        row = {
            "setting": f"{vary}={_value_text(p.get(vary))}",
            vary: p.get(vary),
            "model": c["model"],
            "kind": "SGD vs flow (check)" if c["kind"] == "check" else "exact flow (theory)",
            "d": p.get("d"),
            "M": M,
            "N": N,
            "beta": beta,
            "activation": p.get("activation") if c["model"] == "homogeneous" else None,
            "time_unit": c["time_unit"],
            "t_end": _num(c["t"][-1]),
            "risk_end": _num(c["risk"][-1]),
            "floor_exact": c["floor"],
            "floor_law": floor_law,
            "floor_asymptotic_M_inf": _num(c.get("floor_asymptotic")) if N < M and beta != 0.5 else None,
            "n_emerged": int(np.sum(np.isfinite(em))),
            "predicted_exponent": _num(c["predicted"]) if beta > 0.5 else None,
            "fitted_exponent_flow": _num(c["fitted"]),
            "fitted_exponent_sgd": _num(c["fitted_sgd"]),
            "fit_window_lo": _num(c["window"][0]) if c["window"] else None,
            "fit_window_hi": _num(c["window"][1]) if c["window"] else None,
            "emergences_in_window": c["n_in_window"],
            "power_law_drawn": bool(law and c["line"] is not None),
            "note": (why or "").replace("$\\beta\\leq 1/2$", "β ≤ 1/2").replace("\n", " "),
        }
        if c["verdict"] is not None:
            from .plots import verdict_scope

            row["sgd_vs_flow"] = verdict_scope(r)["sgd_line"]
        rows.append(row)
    return rows


def _csv_text(rows: list[dict]) -> str:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r.get(k) is None else r.get(k) for k in cols})
    return buf.getvalue()


def write_overlay(
    results, out: str | os.PathLike, *, vary: str | None = None, style: str = "dashboard", stem: str = "overlay"
) -> dict:
    """Write the overlay figure(s) and its table, atomically, into ``out``; return ``{"figures", "csv", "json"}``.

    Figures: dashboard ``overlay.png`` and ``overlay.pdf``; paper ``overlay_1col``/``overlay_2col`` (.pdf, .png).
    ``overlay.csv`` holds :func:`overlay_table`; ``overlay.json`` the same rows, the conventions and every
    setting's curve (t, risk and, for check reports, the SGD mean), enough to re-draw the figure.
    """
    require_style(style)
    results = list(results)
    vary = vary or (_infer_vary(results) if len(results) > 1 else "N")
    out = os.fspath(out)
    os.makedirs(out, exist_ok=True)
    figs = []
    if style == "paper":
        for w in ("1col", "2col"):
            fig = plot_overlay(results, vary=vary, style=style, width=w)
            figs += [save_figure(fig, os.path.join(out, f"{stem}_{w}.{e}"), style) for e in ("pdf", "png")]
    else:
        fig = plot_overlay(results, vary=vary, style=style)
        figs += [save_figure(fig, os.path.join(out, f"{stem}.{e}"), style) for e in ("png", "pdf")]
    rows = overlay_table(results, vary=vary)
    curves = []
    for r in results:
        c = _curve(r)
        curves.append(
            {
                "setting": f"{vary}={_value_text(c['params'].get(vary))}",
                "t": [_num(v) for v in c["t"]],
                "risk_flow": [_num(v) for v in c["risk"]],
                "risk_sgd_mean": None if c["sgd"] is None else [_num(v) for v in c["sgd"]],
            }
        )
    doc = {
        "what": "overlay of several settings, one curve per setting",
        "varied": vary,
        "conventions": {"risk": _RISK_CONVENTION, "time_unit": sorted({row["time_unit"] for row in rows})},
        "min_emergences_for_a_law": MIN_EMERGENCES,
        "rows": rows,
        "curves": curves,
    }
    paths = {
        "figures": figs,
        "csv": atomic_write_text(os.path.join(out, f"{stem}.csv"), _csv_text(rows)),
        "json": atomic_write_text(
            os.path.join(out, f"{stem}.json"), json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False) + "\n"
        ),
    }
    return paths
