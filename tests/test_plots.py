"""Figures, read from the figure objects (not pixels): sizes and font sizes of the paper style, honest marks
(no predicted slope where no law is predicted or too few emergences back it), integer m ticks, informative
axis limits, legends only for drawn series, verdict scope in titles, overlays (one line per setting) and
their files (PDF + PNG + CSV + JSON), written atomically."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from matplotlib.text import Text
from test_compare import _additive, _teacher, synthetic

from sgd_check import _figstyle
from sgd_check._check import CheckData, compare
from sgd_check.plots import (
    overlay_table,
    plot_emergence,
    plot_overlay,
    plot_risk,
    plot_staircase,
    plot_summary,
    plot_theory,
    render_all,
    verdict_scope,
    write_overlay,
)

PNG, PDF = b"\x89PNG\r\n\x1a\n", b"%PDF"


# ---- reports with known structure (synthetic SGD = flow, closed-form logistic directions) ---------------------
@pytest.fixture(scope="module")
def law_report():
    """β = 0.8 > 1/2 with M = 64, N = 48: the fit window spans ~47 emergences, 24 directions in the slope fit."""
    return compare(synthetic(S=2, M=64, N=48, beta=0.8, d=10000, T=60))


@pytest.fixture(scope="module")
def plateau_report():
    """β = 0.3 < 1/2: no power law in t is predicted (docs/theory.md §2), whatever the fit window."""
    return compare(synthetic(S=2, M=32, N=16, beta=0.3, T=60))


@pytest.fixture(scope="module")
def tiny_report():
    """M = N = 3: a three-step staircase, far too few emergences for any power law (and no floor: R → 0)."""
    return compare(synthetic(S=2, M=3, N=3, beta=1.0, T=50))


def _labels(ax) -> list[str]:
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg is not None else []


def _texts(fig) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _predicted_lines(ax) -> list:
    """Predicted power laws (t^{(1-2β)/β} or m^β), not the predicted plateau value."""
    return [ln for ln in ax.get_lines() if (ln.get_label() or "").startswith(("predicted $t", "predicted $m"))]


# ---- files ------------------------------------------------------------------------------------------------------
def test_render_all_dashboard_writes_png_and_pdf(tmp_path):
    report = compare(synthetic(S=3, T=40))
    paths = render_all(report, tmp_path, pdf=True)
    assert sorted(Path(p).name for p in paths) == sorted(
        f"{n}.{e}" for n in ("risk", "staircase", "emergence", "summary") for e in ("png", "pdf")
    )
    for p in paths:
        data = Path(p).read_bytes()
        assert len(data) > 5000 and data[:8] == PNG if p.endswith(".png") else data[:4] == PDF
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]  # no temporary file left behind


def test_render_all_paper_writes_both_widths_as_vector_pdf_and_png(tmp_path, law_report):
    paths = render_all(law_report, tmp_path, style="paper")
    names = sorted(Path(p).name for p in paths)
    expected = [
        f"{n}_{w}.{e}" for n in ("risk", "staircase", "emergence") for w in ("1col", "2col") for e in ("pdf", "png")
    ]
    assert names == sorted(expected + ["summary_2col.pdf", "summary_2col.png"])
    for p in paths:
        data = Path(p).read_bytes()
        if p.endswith(".pdf"):
            # vector: a PDF with no embedded raster image
            assert data[:4] == PDF and b"/Subtype /Image" not in data
        else:
            assert data[:8] == PNG


def test_figure_written_atomically_old_file_survives_a_failed_write(tmp_path, monkeypatch):
    fig = plot_risk(compare(synthetic(S=2, T=30)))
    target = tmp_path / "risk.png"
    target.write_bytes(b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(_figstyle.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        _figstyle.save_figure(fig, target, "dashboard")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["risk.png"]  # temp file removed


# ---- paper style: sizes and fonts ---------------------------------------------------------------------------
@pytest.mark.parametrize("width,inches", [("1col", 3.4), ("2col", 7.0)])
def test_paper_panels_have_column_width_and_print_size_fonts(law_report, width, inches):
    for fn in (plot_risk, plot_staircase, plot_emergence):
        fig = fn(law_report, style="paper", width=width)
        assert fig.get_size_inches()[0] == pytest.approx(inches)
        fig.canvas.draw()  # tick labels exist only once drawn
        sizes = [t.get_fontsize() for t in _texts(fig)]
        assert len(sizes) > 8 and min(sizes) >= 7.0, (fn.__name__, min(sizes))
        # single panel, mathtext labels
        assert len(fig.axes) == 1 and "$" in fig.axes[0].get_ylabel()


def test_paper_summary_is_two_columns_wide_with_print_size_fonts_dashboard_unchanged(law_report):
    fig = plot_summary(law_report, style="paper")
    fig.canvas.draw()
    assert fig.get_size_inches()[0] == pytest.approx(7.0) and len(fig.axes) == 3
    assert min(t.get_fontsize() for t in _texts(fig)) >= 7.0
    assert tuple(plot_summary(law_report).get_size_inches()) == pytest.approx((16.0, 4.8))


def test_bad_style_is_one_line_value_error(law_report):
    with pytest.raises(ValueError, match="`style`='poster'.*'paper' or 'dashboard'"):
        plot_risk(law_report, style="poster")
    with pytest.raises(ValueError, match="`width`='3col'"):
        plot_risk(law_report, style="paper", width="3col")


def test_neighbouring_directions_differ_in_colour_and_marker(law_report):
    ax = plot_staircase(law_report, style="paper").axes[0]
    sgd = [ln for ln in ax.get_lines() if ln.get_label().startswith("$m=")]
    assert len(sgd) == 6
    for a, b in zip(sgd, sgd[1:], strict=False):
        assert a.get_color() != b.get_color() and a.get_marker() != b.get_marker()
    # Okabe–Ito colours only
    assert {ln.get_color() for ln in sgd} <= set(_figstyle.OKABE_ITO)


# ---- honest marks -------------------------------------------------------------------------------------------
def test_slope_and_window_drawn_where_law_predicted_and_enough_emergences(law_report):
    te = law_report["comparison"]["time_exponent"]
    assert te["directions_in_window"] >= 8
    ax = plot_risk(law_report, style="paper").axes[0]
    (line,) = _predicted_lines(ax)
    assert "-0.75" in line.get_label()
    assert "window compared" in _labels(ax)
    ax = plot_emergence(law_report).axes[0]
    assert len(_predicted_lines(ax)) == 1


def test_no_slope_no_window_for_beta_below_half(plateau_report):
    assert plateau_report["comparison"]["time_exponent"]["window"] is not None  # a window exists, yet no law
    for style in ("dashboard", "paper"):
        fig = plot_risk(plateau_report, style=style)
        ax = fig.axes[0]
        assert _predicted_lines(ax) == [] and "window compared" not in _labels(ax)
        assert not [lbl for lbl in _labels(ax) if "t^" in lbl or "window" in lbl]
        assert any("no power law predicted here" in t.get_text() for t in _texts(fig))
    # the plateau *value* 1 − φ^(1−2β) is a prediction and is drawn
    assert any("predicted plateau" in s for s in _labels(plot_risk(plateau_report).axes[0]))


def test_no_slope_for_tiny_M_and_no_slope_na_anywhere(tiny_report):
    fig = plot_summary(tiny_report)
    for ax in fig.axes:
        assert _predicted_lines(ax) == []
    text = " ".join(t.get_text() for t in _texts(fig))
    assert "too few emergences" in text and "n/a" not in text


def test_legend_has_no_entry_for_series_not_drawn(tmp_path):
    d = synthetic(S=2, T=30)
    report = compare(
        CheckData(**{**d.__dict__, "sgd_risk": np.full_like(d.sgd_risk, np.nan), "diverged": np.ones(2, bool)})
    )
    assert report["verdict"]["pass"] is False
    ax = plot_risk(report).axes[0]
    assert not [s for s in _labels(ax) if s.startswith("SGD")]
    for p in render_all(report, tmp_path):
        assert Path(p).read_bytes()[:8] == PNG


def test_direction_index_has_integer_ticks_and_its_own_notation(law_report):
    fig = plot_emergence(law_report, style="paper")
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = ax.get_xticks()
    assert len(ticks) >= 3 and np.all(ticks == np.round(ticks))
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(s.isdigit() for s in labels)  # "2", never "2×10⁰"
    assert "direction index $m$" in ax.get_xlabel()
    # homogeneous overlaps are cosines, not m_im: the letter m is the direction index only
    hom = dict(law_report, model="homogeneous")
    ylabel = plot_staircase(hom).axes[0].get_ylabel()
    assert "\\cos^2" in ylabel and "m_{i" not in ylabel


def test_axis_limits_restricted_to_informative_range(tiny_report):
    ax = plot_risk(tiny_report).axes[0]
    a = np.asarray(tiny_report["teacher"]["a"])
    lo, hi = ax.get_ylim()
    # N = M: the risk falls towards 0; the axis stops near the last direction's step ã_M², not at 1e-12
    assert lo >= a[-1] ** 2 / 3 / 1.3 and hi <= 1.3
    assert ax.get_xlim()[0] >= tiny_report["comparison"]["display"]["t_min"] * 0.999
    # and minor tick labels ("6×10⁻¹") are off on an axis spanning ≥ 1 decade
    fig = plot_risk(compare(synthetic(S=2, T=40)))
    fig.canvas.draw()
    assert not [t for t in fig.axes[0].yaxis.get_minorticklabels() if t.get_text()]


# ---- what was checked -------------------------------------------------------------------------------------------
def test_titles_separate_sgd_vs_flow_from_flow_vs_theorem(law_report):
    vs = verdict_scope(law_report)
    assert vs["sgd_line"].startswith("SGD ≈ flow: PASS") and "seeds" in vs["sgd_line"]
    assert vs["theorem_line"].startswith("flow ≈ d→∞ theorem")
    title = plot_summary(law_report)._suptitle.get_text()
    assert "SGD ≈ flow" in title and "flow ≈ d→∞ theorem" in title
    # a theorem-side check failing flips the overall verdict but not the SGD ≈ flow line
    bad = json.loads(json.dumps(law_report))
    for c in bad["verdict"]["checks"]:
        if "_flow_vs_" in c["name"] or "floor_vs_asymptotic" in c["name"]:  # every flow-vs-theorem check
            c["pass"], c["gated"] = False, True
    bad["verdict"]["pass"] = False
    vs = verdict_scope(bad)
    assert vs["sgd_line"].startswith("SGD ≈ flow: PASS") and "FAIL" in vs["overall"] and "0/" in vs["theorem_line"]


def test_check_table_names_the_scope(law_report):
    from sgd_check.cli._check_cmd import format_verdict

    text = format_verdict(law_report)
    assert "SGD ≈ flow" in text and "flow ≈ d→∞ theorem" in text


def test_demo_table_never_prints_a_scaling_as_a_predicted_value():
    from sgd_check.cli._demo_cmd import format_table

    row = {
        "case": "quadratic-powerlaw",
        "regime": "β=0.8",
        "pass": True,
        "failed_checks": [],
        "time_exponent": {"predicted": -0.75, "flow": -0.8, "sgd": -0.8},
        "plateau": {"predicted": 0.287, "kind": "scaling", "exact_floor": 0.151, "sgd_late": 0.152},
        "emergence_slope": {"predicted": 0.8, "flow": 0.97, "sgd": 0.96},
        "figures": {"summary": "x/summary.png"},
        "eta": 1e-3,
        "epsilon": 0.1,
        "steps": 10,
        "seeds": 2,
        "seconds": 1.0,
    }
    value_row = dict(row, case="plateau", plateau={"predicted": 0.123, "kind": "value", "exact_floor": 0.13})
    value_row["plateau"]["sgd_late"] = 0.13
    text = format_table({"cases": [row, value_row], "verdict": {"pass": True}, "seconds": 1.0})
    assert "0.287" not in text and "∝N^(1-2β)" in text and "0.151" in text
    assert "0.123" in text  # a predicted value is printed


# ---- theory figures and overlays --------------------------------------------------------------------------
def _theory_result(N, *, M=64, beta=0.8, d=10000, n=80):
    """A ``theory.json``-shaped dict from the additive model (logistic directions, closed-form T_m)."""
    a = _teacher(M, beta)
    t = np.geomspace(1e-2, 400, n)
    g0 = np.full(M, N / d)
    risk, _ = _additive(t, a, N, g0)
    T = np.log((1 - g0) / g0) / (2 * a)
    T[N:] = np.nan
    from sgd_check._check import choose_fit_window

    floor = float(np.sum(a[N:] ** 2))
    win = choose_fit_window(t, risk, floor) if beta > 0.5 else None
    return {
        "model": "quadratic",
        "params": {"model": "quadratic", "d": d, "M": M, "N": N, "beta": beta},
        "time_unit": "canonical Riccati time t = 4*c*tau",
        "t": t.tolist(),
        "risk": risk.tolist(),
        "floor": floor,
        "emergence_times": [None if not np.isfinite(v) else float(v) for v in T],
        "predicted": {"time_exponent": (1 - 2 * beta) / beta},
        "fit": {"time_exponent": -0.8 if win else None, "window": list(win) if win else None},
    }


def test_theory_figure_slope_only_with_a_law(tmp_path):
    ax = plot_theory(_theory_result(48)).axes[0]
    assert len(_predicted_lines(ax)) == 1
    fig = plot_theory(_theory_result(16, M=32, beta=0.3), style="paper")
    assert _predicted_lines(fig.axes[0]) == []
    assert any("no power law predicted here" in t.get_text() for t in _texts(fig))
    fig.canvas.draw()
    assert fig.get_size_inches()[0] == pytest.approx(3.4) and min(t.get_fontsize() for t in _texts(fig)) >= 7


def test_overlay_has_one_line_per_setting_and_distinct_styles():
    results = [_theory_result(N) for N in (4, 16, 48)]
    fig = plot_overlay(results, style="paper")
    ax = fig.axes[0]
    setting = [ln for ln in ax.get_lines() if ln.get_label().startswith("$N=")]
    assert [ln.get_label() for ln in setting] == ["$N=4$", "$N=16$", "$N=48$"]
    assert len({(ln.get_color(), ln.get_marker(), ln.get_linestyle()) for ln in setting}) == 3
    assert len({ln.get_color() for ln in setting}) == 3
    # the law is drawn (one grey segment) only for the setting with ≥ 8 emergences in its window
    rows = overlay_table(results)
    assert [r["power_law_drawn"] for r in rows] == [r["emergences_in_window"] >= 8 for r in rows]
    assert rows[-1]["power_law_drawn"] and not rows[0]["power_law_drawn"]
    assert all(r["floor_law"].startswith("∝ N^(1-2β)") for r in rows)  # a law, not a value
    fig.canvas.draw()
    assert min(t.get_fontsize() for t in _texts(fig)) >= 7


def test_overlay_of_check_reports_draws_sgd_and_flow_per_setting(law_report, plateau_report):
    p2 = json.loads(json.dumps(law_report))
    p2["params"]["N"] = 40
    ax = plot_overlay([law_report, p2], vary="N").axes[0]
    assert [ln.get_label() for ln in ax.get_lines() if ln.get_label().startswith("$N=")] == ["$N=48$", "$N=40$"]
    assert "SGD mean" in _labels(ax) and "exact flow" in _labels(ax)
    assert "SGD ≈ flow" in ax.get_title()
    with pytest.raises(ValueError, match="differ in"):
        plot_overlay([law_report, plateau_report])  # M, N and β all differ: which one is the overlay over?


def test_write_overlay_files_and_table(tmp_path):
    results = [_theory_result(N) for N in (4, 16, 48)]
    paths = write_overlay(results, tmp_path, style="paper")
    assert sorted(Path(p).name for p in paths["figures"]) == [
        "overlay_1col.pdf",
        "overlay_1col.png",
        "overlay_2col.pdf",
        "overlay_2col.png",
    ]
    with open(paths["csv"], encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["setting"] for r in rows] == ["N=4", "N=16", "N=48"]
    assert float(rows[0]["floor_exact"]) == pytest.approx(float(np.sum(_teacher(64, 0.8)[4:] ** 2)))
    doc = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    assert doc["varied"] == "N" and len(doc["rows"]) == 3 and len(doc["curves"]) == 3
    assert len(doc["curves"][0]["t"]) == 80 and doc["min_emergences_for_a_law"] == 8
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_theory_cli_list_makes_one_run_per_value_and_one_overlay(run_cli, tmp_path):
    out = tmp_path / "ov"
    status, text, err = run_cli(
        "theory", "quadratic", "--d", 60, "--M", 6, "--N", "2,4", "--beta", 1.0, "--points", 12, "--out", out
    )
    assert status == 0, err
    assert "overlay over N = 2, 4" in text
    for sub in ("N=2", "N=4"):
        assert (out / sub / "theory.json").is_file() and (out / sub / "theory.png").is_file()
    for name in ("overlay.png", "overlay.pdf", "overlay.csv", "overlay.json"):
        assert (out / name).stat().st_size > 0
    doc = json.loads((out / "overlay.json").read_text(encoding="utf-8"))
    assert [r["N"] for r in doc["rows"]] == [2, 4]
    # --json prints one document
    status, text, err = run_cli(
        "theory", "quadratic", "--d", 60, "--M", 6, "--N", 3, "--beta", "0.3,1", "--points", 12, "--json"
    )
    assert status == 0, err
    doc = json.loads(text)
    assert doc["varied"] == "beta" and [r["beta"] for r in doc["table"]] == [0.3, 1.0]
    assert doc["table"][0]["predicted_exponent"] is None and not doc["table"][0]["power_law_drawn"]


@pytest.mark.parametrize(
    "flag,value,match",
    [
        ("--N", "2,abc", "`--N`='2,abc' is not a number or a comma list of integers"),
        ("--N", "__import__('os')", "is not a number or a comma list"),
        ("--N", "2,2", "repeats a value"),
        ("--N", "2.5", "comma list of integers"),
        ("--beta", "0.3,nan", "comma list of numbers"),
        ("--N", ",".join(str(i) for i in range(1, 11)), "at most 8"),
    ],
)
def test_theory_list_parsing_is_strict(run_cli, flag, value, match):
    args = {"--d": "60", "--M": "6", "--N": "3", "--beta": "1"}
    args[flag] = value
    status, out, err = run_cli("theory", "quadratic", *[x for kv in args.items() for x in kv])
    assert status == 2 and match in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_theory_cli_two_lists_is_an_error(run_cli):
    status, _, err = run_cli("theory", "quadratic", "--d", 60, "--M", "4,6", "--N", "2,3")
    assert status == 2 and "lists given for --M, --N" in err


def test_paper_fonts_on_a_figure_with_math_do_not_shrink():
    # guards the rc context: text made outside it would fall back to 10 pt / DejaVu defaults
    with _figstyle.style_context("paper"):
        import matplotlib as mpl

        assert mpl.rcParams["xtick.labelsize"] == 7.0 and mpl.rcParams["pdf.fonttype"] == 42
    assert math.isclose(_figstyle.WIDTHS["1col"], 3.4) and math.isclose(_figstyle.WIDTHS["2col"], 7.0)
