"""Rich display of a run in notebooks: :meth:`FitResult._repr_html_` and ``_repr_markdown_``.

The summary as a table — for one feature the fitted line in the lesson's notation
y = m·x + b beside the exact least-squares answer, else each parameter beside its exact value —
then the stop reason with its explanation, the certificate, and a small loss curve drawn as
inline SVG (:func:`descend.data.html.svg_line`), so nothing here needs matplotlib.
Everything taken from the user (column names, messages, settings) is HTML-escaped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from descend.data.html import esc, kv_table, num, section, svg_line, table
from descend.descent.summary import coef_names

__all__ = ["fit_html", "fit_markdown", "line_equation"]


def line_equation(intercept: float | None, coef: Any, names: list[str], digits: int = 6) -> str:
    """``y = m·x + b`` in the lesson's notation, e.g. ``y = 1.00211·x − 0.262323``.

    Parameters
    ----------
    intercept : float or None
        b (None or a model without intercept: left out).
    coef : array-like, shape (k,)
        The multipliers of ``names``.
    names : list of str, length k
        ``["x"]``, ``["x", "x^2", …]`` or the feature names.
    """
    terms: list[str] = []
    for c, name in zip(np.asarray(coef, dtype=np.float64).reshape(-1), names, strict=True):
        terms.append(_term(float(c), f"{num(c, digits).lstrip('-')}·{name}", first=not terms))
    if intercept is not None:
        terms.append(_term(float(intercept), num(intercept, digits).lstrip("-"), not terms))
    return "y = " + ("".join(terms) if terms else "0")


def _term(value: float, body: str, first: bool) -> str:
    if first:
        return f"−{body}" if value < 0 else body
    return f" − {body}" if value < 0 else f" + {body}"


def _parameters(res: Any) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the parameter table (fitted beside exact)."""
    model, ref = res.model, res.reference
    if model is not None and model.is_linear and model.n_outputs == 1:
        names = coef_names(model)
        b = res.intercept if model.intercept else None
        rows = [["fitted", line_equation(b, res.coef, names)]]
        if ref is not None:
            rb = ref.intercept if model.intercept else None
            rows.append(["exact least squares", line_equation(rb, ref.coef, names)])
        return ["", "model"], rows
    names = list(res.unpack()) if model is None else [f"θ{j}" for j in range(res.params.size)]
    vals = np.asarray(res.params, dtype=np.float64).reshape(-1)
    shown = min(vals.size, 12)
    rows = [[f"θ{j}" if model is not None else names[j], num(vals[j])] for j in range(shown)]
    if vals.size > shown:
        rows.append(["…", f"{vals.size - shown} more"])
    return ["parameter", "fitted"], rows


def _facts(res: Any) -> list[tuple[str, str]]:
    s = res.settings
    bs = s.get("batch_size")
    facts = [
        ("model", f"{s.get('model', 'objective')} · loss {s.get('loss', '—')}"),
        ("optimizer", f"{s.get('optimizer', '—')} · lr {num(s.get('learning_rate'), 4)} · "
                      f"batch {'full' if bs is None else bs}"),
        ("final loss", num(res.loss, 10)),
    ]  # fmt: skip
    if res.reference is not None:
        facts.append(("exact loss L*", num(res.reference.loss, 10)))
        facts.append(("gap", f"L − L* = {num(res.loss_gap, 3)}, "
                             f"‖θ − θ*‖ = {num(res.distance_to_reference, 3)}"))  # fmt: skip
    if res.advice is not None:
        facts.append(("curvature", res.advice.describe()))
    facts.append(("steps", f"{res.n_steps:,} in {res.wall_time:.3f} s"))
    facts.append(("stop reason", f"{res.stop_reason} — {res.message}"))
    cert = res.certificate
    facts.append(
        ("certificate", cert.describe() if cert is not None else "none: μ is not known here")
    )
    for note in res.warnings:
        facts.append(("note", note))
    return facts


def loss_svg(res: Any, width: int = 320, height: int = 120) -> str:
    """The loss per step as inline SVG: L − L* on a log axis when L* is known, else L."""
    loss = np.asarray(res.history.loss, dtype=np.float64)
    if res.reference is not None:
        excess = loss - res.reference.loss
        return svg_line(excess, log_y=True, width=width, height=height,
                        title="L(θ_k) − L* (log)", x_label="step k")  # fmt: skip
    positive = bool(loss.size) and bool(np.all(loss[np.isfinite(loss)] > 0))
    return svg_line(loss, log_y=positive, width=width, height=height,
                    title="L(θ_k)" + (" (log)" if positive else ""), x_label="step k")  # fmt: skip


def fit_html(res: Any) -> str:
    """The HTML a notebook shows for a :class:`~descend.descent.result.FitResult`."""
    header, rows = _parameters(res)
    title = f"FitResult: {res.stop_reason} after {res.n_steps:,} steps"
    return section(
        title,
        table(header, rows),
        kv_table(_facts(res)),
        f'<div class="loss-curve">{loss_svg(res)}</div>' if len(res.history) else "",
    )


def fit_markdown(res: Any) -> str:
    """The same summary as Markdown (without the picture)."""
    header, rows = _parameters(res)
    lines = [f"**FitResult: {res.stop_reason} after {res.n_steps:,} steps**", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows]
    lines += ["", "| | |", "|---|---|"]
    lines += [f"| {_md(k)} | {_md(v)} |" for k, v in _facts(res)]
    return "\n".join(lines)


def _md(text: str) -> str:
    """A Markdown table cell: HTML-escaped, pipes escaped."""
    return esc(text).replace("|", "\\|")
