"""Plots are drawn from a report alone and written as non-empty PNG/PDF files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_compare import synthetic

from sgd_check._compare import CheckData, compare
from sgd_check.plots import plot_risk, plot_summary, render_all


def test_render_all_writes_png_and_pdf(tmp_path):
    report = compare(synthetic(S=3, T=40))
    paths = render_all(report, tmp_path, pdf=True)
    assert len(paths) == 8
    for p in paths:
        data = Path(p).read_bytes()
        assert len(data) > 5000
        assert data[:8] == b"\x89PNG\r\n\x1a\n" if p.endswith(".png") else data[:4] == b"%PDF"


def test_figures_have_titles_labels_and_legends():
    report = compare(synthetic(S=2, T=30))
    ax = plot_risk(report).axes[0]
    assert ax.get_title() and ax.get_xlabel().startswith("flow time") and ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "SGD mean ± 1 s.d." in labels and any("exact flow" in s for s in labels)
    assert any("predicted" in s for s in labels) and any("floor" in s for s in labels)
    fig = plot_summary(report)
    assert len(fig.axes) == 3 and "verdict: PASS" in fig._suptitle.get_text()


def test_plots_survive_all_seeds_diverged(tmp_path):
    d = synthetic(S=2, T=30)
    sr = np.full_like(d.sgd_risk, np.nan)
    report = compare(CheckData(**{**d.__dict__, "sgd_risk": sr, "diverged": np.ones(2, bool)}))
    assert report["verdict"]["pass"] is False
    for p in render_all(report, tmp_path):
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
