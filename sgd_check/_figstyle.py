"""Figure styles and file writing shared by every figure of the toolkit (drawing only, no numerics).

Two styles:

* ``"dashboard"``: multi-panel screen figures (the default of ``check`` and ``demo``), PNG at 160 dpi;
* ``"paper"``: single-panel figures at journal column widths, one column ``3.4 in`` and two columns
  ``7.0 in``, written as vector PDF plus a 300 dpi PNG. Text is set at its final printed size (7–8 pt, so no
  text under 7 pt once printed), labels in mathtext, lines ≥ 1 pt.

Colours are the Okabe–Ito colour-blind-safe palette (Okabe & Ito 2008, "Color Universal Design"); neighbouring
series also differ in marker and line style, so they stay distinct in greyscale and for every colour vision.

Files are written atomically: to a temporary file in the target folder, then ``os.replace`` (a reader never
sees a half-written figure). This is a small local helper; the shared atomic-write helper of issue 8 can
replace :func:`atomic_write_bytes` when it lands.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator, ScalarFormatter

__all__ = [
    "STYLES",
    "WIDTHS",
    "MIN_EMERGENCES",
    "OKABE_ITO",
    "require_style",
    "series_style",
    "new_figure",
    "style_context",
    "save_figure",
    "atomic_write_bytes",
    "atomic_write_text",
    "integer_log_ticks",
    "note",
]

STYLES = ("dashboard", "paper")
#: paper widths in inches: one journal column and the full two-column text width
WIDTHS = {"1col": 3.4, "2col": 7.0}
#: a fitted or predicted power law is drawn only over a window spanning at least this many emergences
MIN_EMERGENCES = 8

# Okabe–Ito, reordered so that neighbours contrast in hue and lightness; yellow (#F0E442) is left out (too light
# on white paper)
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
FLOW = "#000000"
GREY = "#6a6a6a"

_PAPER_RC = {
    "font.size": 8.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "legend.fontsize": 7.0,
    "legend.title_fontsize": 7.0,
    "figure.titlesize": 8.0,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.0,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "legend.frameon": True,
    "legend.framealpha": 0.85,
    "legend.edgecolor": "none",
    "legend.borderpad": 0.3,
    "legend.labelspacing": 0.3,
    "legend.handlelength": 2.2,
    "mathtext.fontset": "dejavusans",
    "pdf.fonttype": 42,  # TrueType in the PDF: text stays text (editable, searchable)
    "svg.fonttype": "none",
}
_DASHBOARD_RC = {"font.size": 9.0, "legend.fontsize": 7.5, "legend.framealpha": 0.85, "pdf.fonttype": 42}


def require_style(style: str) -> str:
    """Validate a style name: one of :data:`STYLES`; one-line ``ValueError`` otherwise."""
    if not isinstance(style, str) or style not in STYLES:
        raise ValueError(f"`style`={style!r} is not a figure style: use 'paper' or 'dashboard'")
    return style


def require_width(width: str) -> str:
    """Validate a paper width key ('1col' = 3.4 in, '2col' = 7 in)."""
    if width not in WIDTHS:
        raise ValueError(f"`width`={width!r} is not a paper width: use '1col' (3.4 in) or '2col' (7 in)")
    return width


def style_context(style: str):
    """``rc_context`` of a style: figures must be built *inside* it (text sizes are fixed when text is made)."""
    return rc_context(_PAPER_RC if require_style(style) == "paper" else _DASHBOARD_RC)


def new_figure(style: str, *, width: str = "1col", size=None, aspect: float = 0.75) -> Figure:
    """A ``Figure`` on the Agg canvas (no pyplot state). Paper: ``WIDTHS[width]`` wide, ``aspect`` × width tall.

    ``size`` (w, h) in inches overrides both (dashboard figures).
    """
    if size is None:
        w = WIDTHS[require_width(width)] if style == "paper" else 6.0
        size = (w, w * aspect)
    fig = Figure(figsize=size, layout="constrained")
    if style == "paper":
        fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.02, hspace=0.02)
    FigureCanvasAgg(fig)
    return fig


def series_style(i: int, *, line: bool = True) -> dict:
    """Colour, marker and line style of the i-th series: neighbours differ in all three."""
    st = {"color": OKABE_ITO[i % len(OKABE_ITO)], "marker": MARKERS[i % len(MARKERS)]}
    if line:
        st["ls"] = LINESTYLES[i % len(LINESTYLES)]
    return st


def note(ax, text: str, *, loc: str | None = None) -> None:
    """A short statement in the figure (e.g. "no power law predicted here"), as a text-only legend entry.

    Being part of the legend, it is placed with it, never hides data and needs no free corner; call it before
    ``ax.legend``. ``loc`` is accepted for compatibility and ignored.
    """
    ax.plot([], [], " ", label=text)


def integer_log_ticks(ax, m_max: int) -> None:
    """Integer ticks 1, 2, 5, 10, 20, … (no 2×10⁰ labels, no minor labels) on a log x axis for direction index m."""
    m_max = max(int(m_max), 1)
    ticks = [v for dec in (1, 10, 100, 1000, 10000) for v in (dec, 2 * dec, 5 * dec) if v <= m_max]
    if m_max <= 10:
        ticks = list(range(1, m_max + 1))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def no_minor_labels(ax) -> None:
    """Drop minor tick labels ("6×10⁻¹") on log axes spanning ≥ 1 decade (minor ticks stay as marks); an axis
    spanning less gets plain-number labels ("20", "30") on its minor ticks instead, so it never has no label."""
    for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() != "log":
            continue
        lo, hi = sorted(lim)
        if lo > 0 and np.log10(hi / lo) < 1.0:
            plain = FuncFormatter(lambda v, _: f"{v:.3g}")
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(plain)
        else:
            axis.set_minor_formatter(NullFormatter())


def informative_ylim(ax, values, *, bottom_ref: float | None = None, pad: float = 1.25) -> None:
    """Limit a log y axis to the data actually informative: at most ``pad`` beyond the drawn values, and not
    below ``bottom_ref / 3`` (e.g. the smallest risk step ã_n² or the floor) when given."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return
    lo, hi = float(v.min()), float(v.max())
    if bottom_ref is not None and bottom_ref > 0:
        lo = max(lo, bottom_ref / 3.0)
    lo = min(lo, hi / 2.0)
    ax.set_ylim(lo / pad, hi * pad)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then ``os.replace``)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> str:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def save_figure(fig: Figure, path: str | os.PathLike, style: str, *, dpi: int | None = None) -> str:
    """Render ``fig`` to the format named by ``path``'s extension (png/pdf/svg) and write it atomically."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in ("png", "pdf", "svg"):
        raise ValueError(f"figure path {path!r}: the extension must be .png, .pdf or .svg")
    if dpi is None:
        dpi = 300 if style == "paper" else 160
    buf = io.BytesIO()
    with style_context(style):
        fig.savefig(buf, format=fmt, dpi=dpi)
    return atomic_write_bytes(path, buf.getvalue())
