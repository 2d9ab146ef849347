"""A run as one self-contained HTML file: the numbers, the advice and the figures.

The page needs no network and no other file: figures are embedded as base64 PNG
(``<img src="data:image/png;base64,…">``), the style sheet is inline, and no external URL
appears anywhere. Every piece of text is passed through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from descend.data.tables import as_arrays
from descend.descent.summary import _fmt, coef_names
from descend.pictures import plot

if TYPE_CHECKING:  # pragma: no cover
    from descend.descent.result import FitResult

__all__ = ["write_report", "report_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { padding: .2rem .8rem; text-align: left; border-bottom: 1px solid #eee; }
td.num { font-family: ui-monospace, monospace; text-align: right; }
.stop { padding: .5rem .8rem; border-left: 4px solid #2a7; background: #f4fbf7; }
.stop.diverged { border-color: #c33; background: #fdf3f3; }
.stop.max_steps, .stop.interrupted { border-color: #d90; background: #fdf9ef; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9rem; color: #555; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: .85rem; }
.muted { color: #666; font-size: .9rem; }
"""

_CAPTIONS = {
    "fit": "The observations and the model descent found (dashed: the exact least-squares "
    "answer, when the problem has one).",
    "loss": "The loss at each step; a straight line on the log axis is linear convergence. "
    "With a validation split, the held-out loss beside it (its lowest point marked): where the "
    "two part, the model starts to overfit.",
    "steps": "Step size and gradient norm per step: the steps shrink near the minimum because "
    "the gradient does.",
    "contour": "The path θ₀ … θ_K on the loss contours (coordinates descent ran in).",
}


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _png(fig: Any, dpi: int) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _table(rows: Sequence[Sequence[Any]], head: Sequence[str] | None = None) -> str:
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>")
    for row in rows:
        cells = [f"<th>{_e(row[0])}</th>"] + [f'<td class="num">{_e(c)}</td>' for c in row[1:]]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _data_section(res: FitResult, X: Any, y: Any, data_label: str | None) -> str:
    parts = ["<h2>Data</h2>"]
    if data_label:
        parts.append(f"<p>{_e(data_label)}</p>")
    if X is None or y is None:
        parts.append('<p class="muted">No data given (an objective minimised directly).</p>')
        return "\n".join(parts)
    names = res.settings.get("feature_names") or None
    Xa, ya, found = as_arrays(X, y)
    assert ya is not None
    cols = list(names) if names and len(names) == Xa.shape[1] else list(found)
    parts.append(f"<p>{Xa.shape[0]} rows, {Xa.shape[1]} input column(s).</p>")
    rows = [
        (c, _fmt(float(v.mean())), _fmt(float(v.std())), _fmt(float(v.min())), _fmt(float(v.max())))
        for c, v in [*zip(cols, Xa.T, strict=True), ("y (target)", ya)]
    ]
    parts.append(_table(rows, ("column", "mean", "std", "min", "max")))
    return "\n".join(parts)


def _settings_section(res: FitResult) -> str:
    s = res.settings
    keep = (
        "model",
        "loss",
        "optimizer",
        "learning_rate",
        "schedule",
        "batch_size",
        "max_steps",
        "tol",
        "seed",
    )
    rows = []
    for key in keep:
        if key in s:
            value = s[key]
            if key == "batch_size" and value is None:
                value = "full batch"
            rows.append((key.replace("_", " "), value if value is not None else "—"))
    hyper = s.get("hyperparams") or {}
    for key, value in hyper.items():
        rows.append((key, value))
    out = "<h2>Settings</h2>\n" + _table([(str(k), str(v)) for k, v in rows])
    if res.warnings:
        out += "\n<ul>" + "".join(f"<li>{_e(w)}</li>" for w in res.warnings) + "</ul>"
    return out


def _advice_section(res: FitResult) -> str:
    a = res.advice
    if a is None:
        return '<h2>Curvature advice</h2>\n<p class="muted">No curvature advice for this run.</p>'
    kappa = f"{a.kappa:.4g}" if math.isfinite(a.kappa) else a.kappa_text()
    rows = [
        ("λ_max (largest Hessian eigenvalue)", f"{a.lam_max:.6g}"),
        ("λ_min (smallest)", f"{a.lam_min:.6g}"),
        ("condition number κ = λ_max/λ_min", kappa),
        ("stability limit 2/λ_max", f"{a.stability_limit:.6g}"),
        ("best constant rate 2/(λ_min+λ_max)", f"{a.best_lr:.6g}"),
        ("exact", "yes" if a.exact else f"no (estimate, {a.source})"),
    ]
    lr = res.settings.get("learning_rate")
    text = ""
    if isinstance(lr, int | float):
        if lr >= a.stability_limit:
            text = (
                f"The learning rate {lr:.4g} is at or above the stability limit: "
                "each step overshoots the minimum."
            )
        else:
            text = (
                f"The learning rate {lr:.4g} is {lr / a.stability_limit:.3g} × the stability "
                f"limit; about {a.predicted_steps(lr=lr)} steps are predicted for the loss "
                "gap to shrink by a factor of 10⁹."
            )
    return "<h2>Curvature advice</h2>\n" + _table(rows) + (f"\n<p>{_e(text)}</p>" if text else "")


def _params_section(res: FitResult) -> str:
    model = res.model
    ref = res.reference
    parts = ["<h2>Parameters</h2>"]
    if model is not None and model.is_linear and model.n_outputs == 1:
        names = ["intercept", *coef_names(model)]
        values = [res.intercept, *np.asarray(res.coef).tolist()]
        refs = None if ref is None or ref.coef is None else [ref.intercept, *ref.coef.tolist()]
        rows: list[tuple[str, ...]] = []
        for k, (name, value) in enumerate(zip(names, values, strict=True)):
            if name == "intercept" and not model.intercept:
                continue
            if refs is not None:
                rows.append((name, _fmt(value), _fmt(refs[k]), f"{value - refs[k]:.3g}"))
            else:
                rows.append((name, _fmt(value)))
        head = ("parameter", "gradient descent", "exact least squares", "difference")
        parts.append("<p>In the data's original units: y ≈ intercept + Σ coef·x.</p>")
        parts.append(_table(rows, head if refs is not None else ("parameter", "value")))
    else:
        names = [f"θ{k}" for k in range(np.asarray(res.params).shape[0])]
        unpacked = res.unpack()
        if len(unpacked) == len(names) and all(np.ndim(v) == 0 for v in unpacked.values()):
            names = list(unpacked)
        rows = [(n, _fmt(float(v))) for n, v in zip(names, res.params, strict=True)]
        parts.append(_table(rows, ("parameter", "value")))
    return "\n".join(parts)


def _result_section(res: FitResult) -> str:
    rows = [("final loss", _fmt(res.loss))]
    ref = res.reference
    if ref is not None:
        rows.append(("reference loss (closed form)", _fmt(ref.loss)))
        rows.append(("gap L(θ) − L(θ*)", f"{res.loss_gap:.3g}"))
        rows.append(("distance ‖θ − θ*‖", f"{res.distance_to_reference:.3g}"))
    val = res.history.val_loss
    if val is not None and len(val):  # the held-out rows: the last check and the lowest
        v = np.asarray(val, dtype=np.float64)
        rows.append(("validation loss (last check)", _fmt(float(v[-1]))))
        rows.append(
            (f"validation loss (lowest, check {int(np.nanargmin(v))})", _fmt(float(np.nanmin(v))))
        )
    rows.append(("steps", str(res.n_steps)))
    rows.append(("time", f"{res.wall_time:.3f} s"))
    stop = res.stop_reason
    return (
        "<h2>Result</h2>\n"
        f'<p class="stop {_e(stop)}"><strong>stop reason: {_e(stop)}</strong> — '
        f"{_e(res.message)}</p>\n" + _table(rows)
    )


def _figures_section(res: FitResult, X: Any, y: Any, dpi: int) -> str:
    makers: list[tuple[str, Any]] = []
    if res.model is not None and X is not None and y is not None:
        makers.append(("fit", lambda: plot.plot_fit(res, X, y)))
    if len(res.history):
        makers.append(("loss", lambda: plot.plot_loss(res)))
        makers.append(("steps", lambda: plot.plot_steps(res)))
    if (
        res.history.params is not None
        and res.objective is not None
        and np.asarray(res.params).shape[0] >= 2
    ):
        makers.append(("contour", lambda: plot.plot_contour(res)))
    parts = ["<h2>Figures</h2>"]
    for name, make in makers:
        data = _png(make(), dpi)
        parts.append(
            f'<figure id="fig-{name}"><img alt="{_e(name)} figure" '
            f'src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(_CAPTIONS[name])}</figcaption></figure>"
        )
    return "\n".join(parts)


def report_html(
    res: FitResult,
    X: Any = None,
    y: Any = None,
    *,
    title: str | None = None,
    data_label: str | None = None,
    figures: bool = True,
    dpi: int = 100,
) -> str:
    """The report as an HTML string (see :func:`write_report`)."""
    from descend import __version__

    heading = title or f"descend run: {res.settings.get('model', 'objective')}"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<h1>{_e(heading)}</h1>",
        f'<p class="muted">descend {_e(__version__)} · {_e(when)}</p>',
        _result_section(res),
        _params_section(res),
        _data_section(res, X, y, data_label),
        _advice_section(res),
        _settings_section(res),
    ]
    if figures:
        body.append(_figures_section(res, X, y, dpi))
    body.append(f"<h2>Summary</h2>\n<pre>{_e(res.summary())}</pre>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(heading)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def write_report(
    res: FitResult,
    X: Any,
    y: Any,
    path: str | Path,
    *,
    title: str | None = None,
    data_label: str | None = None,
    figures: bool = True,
    dpi: int = 100,
) -> Path:
    """Write a self-contained HTML report of a run.

    Parameters
    ----------
    res : FitResult
        The run (from :func:`descend.fit`, or :func:`descend.minimize` with ``X = y = None``).
    X, y : array-like or None
        The data it was fitted on, for the data summary and the fit figure.
    path : str or Path
        Where to write the ``.html`` file.
    title : str, optional
        Page heading (default: "descend run: <model>").
    data_label : str, optional
        A line describing the data (e.g. its source).
    figures : bool
        Embed the figures (needs matplotlib); False writes the numbers only.
    dpi : int
        Resolution of the embedded PNG figures.

    Returns
    -------
    pathlib.Path
        ``path``. The page holds the stop reason and message, the parameters in original
        units beside the exact least-squares answer, the gap to it, the data summary, the
        curvature advice, the settings, the figures (base64 PNG) and the plain-text summary;
        it loads nothing from anywhere.
    """
    out = Path(path)
    text = report_html(res, X, y, title=title, data_label=data_label, figures=figures, dpi=dpi)
    out.write_text(text, encoding="utf-8")
    return out
