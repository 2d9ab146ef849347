"""Small HTML pieces for rich display in notebooks: escaped tables and inline SVG line charts.

Every ``_repr_html_`` in descend is built from these, so that text from users (column names,
file names, messages) is always escaped and no picture needs matplotlib: the loss curve is an
inline ``<svg>`` polyline drawn here. No dependencies beyond NumPy.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["esc", "num", "table", "section", "svg_line", "kv_table"]

STYLE = "border-collapse:collapse;margin:4px 0;font-size:90%"
CELL = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:{align}"


def esc(text: Any) -> str:
    """``text`` as HTML-escaped text (quotes included)."""
    return html.escape(str(text), quote=True)


def num(x: Any, digits: int = 6) -> str:
    """A number to ``digits`` significant figures (``—`` for None)."""
    if x is None:
        return "—"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return esc(x)
    if math.isnan(v):
        return "nan"
    return f"{v:.{digits}g}"


def table(
    header: Sequence[str] | None,
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[bool] | None = None,
) -> str:
    """An HTML table; cells are escaped text (numbers formatted by the caller or :func:`num`).

    Parameters
    ----------
    header : sequence of str, length c, or None
        Column titles (None: no header row; c is taken from the first row).
    rows : iterable of sequences, each of length c
    numeric : sequence of bool, length c, optional
        Right-align these columns.
    """
    rows = [list(r) for r in rows]
    ncol = len(header) if header is not None else (len(rows[0]) if rows else 0)
    align = ["right" if numeric and numeric[i] else "left" for i in range(ncol)]
    head = ""
    if header is not None:
        ths = "".join(
            f'<th style="{CELL.format(align=a)}">{esc(h)}</th>'
            for h, a in zip(header, align, strict=True)
        )
        head = f"<thead><tr>{ths}</tr></thead>"
    body = []
    for r in rows:
        cells = "".join(
            f'<td style="{CELL.format(align=a)}">{esc(c)}</td>'
            for c, a in zip(r, align, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<table style="{STYLE}">{head}<tbody>{"".join(body)}</tbody></table>'


def kv_table(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of names and values (both escaped), without a header row."""
    return table(None, [(k, v) for k, v in pairs])


def section(title: str, *parts: str) -> str:
    """A titled ``<div>`` holding already-built HTML ``parts`` (the title is escaped)."""
    return (
        '<div class="descend" style="font-family:sans-serif;max-width:52em">'
        f'<div style="font-weight:bold;margin:2px 0">{esc(title)}</div>{"".join(parts)}</div>'
    )


def svg_line(
    y: Any,
    x: Any = None,
    *,
    log_y: bool = False,
    log_x: bool = False,
    width: int = 320,
    height: int = 120,
    title: str = "",
    x_label: str = "",
    marks: Sequence[tuple[float, str]] = (),
) -> str:
    """An inline SVG line chart of ``y`` against ``x`` (default 0, 1, …), no matplotlib.

    Parameters
    ----------
    y : array-like, shape (n,)
        Values; non-finite ones (and ≤ 0 ones on a log axis) are left out.
    x : array-like, shape (n,), optional
    log_y, log_x : bool
        Logarithmic axes (base 10).
    width, height : int
        Size in pixels.
    title, x_label : str
        Escaped text above and below the plot.
    marks : sequence of (x, label)
        Vertical dashed lines at these x values (e.g. a stability limit).

    Returns
    -------
    str
        ``<svg …>…</svg>`` with one ``<polyline class="curve">``; an SVG saying "no data"
        when nothing is finite.
    """
    ya = np.asarray(y, dtype=np.float64).reshape(-1)
    xa = np.arange(ya.size, dtype=np.float64) if x is None else np.asarray(x, np.float64)
    ok = np.isfinite(ya) & np.isfinite(xa)
    if log_y:
        ok &= ya > 0
    if log_x:
        ok &= xa > 0
    pad_l, pad_r, pad_t, pad_b = 8, 8, 18 if title else 6, 16 if x_label else 6
    open_tag = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title or "line chart")}">'
    )
    parts = [open_tag, f'<rect width="{width}" height="{height}" fill="white"/>']
    if title:
        parts.append(f'<text x="{pad_l}" y="12" font-size="11">{esc(title)}</text>')
    if x_label:
        parts.append(
            f'<text x="{width - pad_r}" y="{height - 3}" font-size="10" '
            f'text-anchor="end">{esc(x_label)}</text>'
        )
    if ok.sum() < 1:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text>')
        return "".join(parts) + "</svg>"
    xs = np.log10(xa[ok]) if log_x else xa[ok]
    ys = np.log10(ya[ok]) if log_y else ya[ok]
    x0, x1 = float(xs.min()), float(xs.max())
    for mx, _ in marks:  # widen the x range so that every mark is drawn
        if math.isfinite(mx) and (mx > 0 or not log_x):
            mv = math.log10(mx) if log_x else mx
            x0, x1 = min(x0, mv), max(x1, mv)
    y0, y1 = float(ys.min()), float(ys.max())
    x1 = x1 if x1 > x0 else x0 + 1.0
    y1 = y1 if y1 > y0 else y0 + 1.0
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def px(v: float) -> float:
        return pad_l + (v - x0) / (x1 - x0) * w

    def py(v: float) -> float:
        return pad_t + (1.0 - (v - y0) / (y1 - y0)) * h

    parts.append(
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>'
    )
    for mx, label in marks:
        mv = math.log10(mx) if log_x and mx > 0 else mx
        if x0 <= mv <= x1:
            right = px(mv) > pad_l + w / 2  # label on the side with room
            tx, anchor = (px(mv) - 2, "end") if right else (px(mv) + 2, "start")
            parts.append(
                f'<line class="mark" x1="{px(mv):.1f}" x2="{px(mv):.1f}" y1="{pad_t}" '
                f'y2="{pad_t + h}" stroke="#c33" stroke-dasharray="3,2"/>'
                f'<text x="{tx:.1f}" y="{pad_t + 10}" font-size="9" fill="#c33" '
                f'text-anchor="{anchor}">{esc(label)}</text>'
            )
    # at most ~2 points per pixel: a long history stays a small page
    idx = np.unique(np.linspace(0, xs.size - 1, min(xs.size, 2 * w)).astype(np.int64))
    pts = " ".join(f"{px(float(xs[i])):.1f},{py(float(ys[i])):.1f}" for i in idx)
    parts.append(
        f'<polyline class="curve" points="{pts}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>'
    )
    lo = f"{10**y0:.3g}" if log_y else f"{y0:.3g}"
    hi = f"{10**y1:.3g}" if log_y else f"{y1:.3g}"
    parts.append(f'<text x="{pad_l + 2}" y="{pad_t + 10}" font-size="9" fill="#555">{hi}</text>')
    parts.append(f'<text x="{pad_l + 2}" y="{pad_t + h - 2}" font-size="9" fill="#555">{lo}</text>')
    return "".join(parts) + "</svg>"
