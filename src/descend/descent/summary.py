"""Plain-text summary of a run (the CLI's output)."""

from __future__ import annotations

from typing import Any

import numpy as np

from descend.descent.verdicts import sharpness_limit

__all__ = ["coef_names", "rate_text", "summary_text"]


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def rate_text(lr: Any) -> str:
    """A learning rate as the summary shows it: ``0.05``, or a schedule's spec as a call.

    >>> rate_text({"name": "cosine", "lr": 0.05, "decay_steps": 10000, "alpha": 0.0})
    'cosine(lr=0.05, decay_steps=10000, alpha=0)'
    >>> rate_text(0.5)
    '0.5'
    """
    if isinstance(lr, dict) and "name" in lr:
        args = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in lr.items()
            if k != "name"
        )
        return f"{lr['name']}({args})"
    return f"{lr:.4g}" if isinstance(lr, float) else str(lr)


def summary_text(res: Any) -> str:
    """Multi-line summary: parameters in original units, losses, gap, steps, stop reason."""
    s = res.settings
    lines = []
    head = f"{s.get('model', 'objective')} · loss {s.get('loss', '?')} · optimizer {s['optimizer']}"
    bs = s.get("batch_size")
    head += f" · lr {rate_text(s.get('learning_rate'))} · batch {'full' if bs is None else bs}"
    pen = s.get("penalty")
    if pen:
        head += f" · penalty {pen['penalty']} (α = {pen['alpha']:g}"
        head += f", l1_ratio = {pen['l1_ratio']:g})" if pen["penalty"] == "elasticnet" else ")"
    lines.append(head)
    for note in res.warnings:
        lines.append(f"note: {note}")
    model = res.model
    ref = res.reference
    if model is not None and model.is_linear and model.n_outputs == 1:
        lesson = model.intercept and not model.expands_features and len(res.coef) == 1
        x = model.feature_names[0] if model.feature_names else "x"
        # one feature: the lesson's notation, y = m·x + b, with m and b named
        names = (
            ["b (intercept)", f"m (slope of {x})"] if lesson else ["intercept", *coef_names(model)]
        )
        values = [res.intercept, *res.coef.tolist()]
        refs = [ref.intercept, *ref.coef.tolist()] if ref is not None else None
        width = max(len(n) for n in names)
        lines.append("parameters (original units):")
        lines.append(
            f"  {'':<{width}}   {'fitted':>17}"
            + (f"   {'exact least squares':>19}" if refs else "")
        )
        for i, (n, v) in enumerate(zip(names, values, strict=True)):
            if i == 0 and not model.intercept:
                continue
            extra = f"   {_fmt(refs[i]):>19}" if refs else ""
            lines.append(f"  {n:<{width}} = {_fmt(v):>17}{extra}")
        if lesson:
            lines.append(f"fitted line     y = m·{x} + b = {_line(values[1], values[0], x)}")
            if refs:
                lines.append(f"exact line      y = {_line(refs[1], refs[0], x)}")
    elif model is not None and model.n_params > 12:
        lines.extend(_layer_lines(model, res.params))
    else:
        lines.append(f"parameters: {np.array2string(res.params, precision=6)}")
    lines.append(f"final loss      {_fmt(res.loss)}")
    base = s.get("baseline_loss")
    if base is not None and ref is None:
        lines.append(f"baseline loss   {_fmt(base)}   (predicting the mean of y for every row)")
    if ref is not None:
        lines.append(f"reference loss  {_fmt(ref.loss)}   (closed-form least squares)")
        lines.append(
            f"gap             loss {res.loss_gap:.3g}, ‖θ − θ*‖ = {res.distance_to_reference:.3g} "
            "(θ in the standardised coordinates descent ran in)"
        )
    if res.advice is not None:
        lines.append(f"curvature       {res.advice.describe()}")
    lines.append(f"steps           {res.n_steps} in {res.wall_time:.3f} s")
    sharp = res.history.sharpness
    if sharp is not None and np.isfinite(sharp).any():
        k = int(np.flatnonzero(np.isfinite(sharp))[-1])
        cost = s.get("track_sharpness") or {}
        lines.append(
            f"sharpness       λ_max(∇²L) = {sharp[k]:.4g} at step {int(res.history.step[k])} "
            f"{_edge_text(s, float(res.history.lr[k]))}; measured "
            f"{cost.get('measurements', '?')} times, {cost.get('hvps', '?')} Hessian-vector "
            "products"
        )
    lines.append(f"stop reason     {res.stop_reason} — {res.message}")
    cert = res.certificate
    if cert is not None:
        lines.append(f"certificate     {cert.describe()}")
    else:
        lines.append("certificate     none: this problem has no known strong convexity (μ)")
    return "\n".join(lines)


def _layer_lines(model: Any, theta: Any) -> list[str]:
    """One line per named block of θ (a network's W1, b1, …): shape, ‖·‖₂ and max |·|."""
    parts = model.unpack(np.asarray(theta, dtype=np.float64))
    lines = [f"parameters: {model.n_params} in {len(parts)} arrays (θ as descent ran it)"]
    width = max(len(k) for k in parts)
    for name, value in parts.items():
        a = np.asarray(value, dtype=np.float64)
        shape = "×".join(str(d) for d in a.shape) or "1"
        lines.append(
            f"  {name:<{width}}  {shape:>7}   ‖·‖ = {float(np.linalg.norm(a)):<10.4g} "
            f"max |·| = {float(np.max(np.abs(a))) if a.size else 0.0:.4g}"
        )
    return lines


def _line(m: float, b: float, x: str) -> str:
    """``1.00212·x − 0.262323``: the line in the lesson's notation, 6 significant digits."""
    sign = "−" if b < 0 else "+"
    return f"{m:.6g}·{x} {sign} {abs(b):.6g}"


def coef_names(model: Any) -> list[str]:
    """What each coefficient multiplies: ``["x", "x^2", …]`` or the feature names."""
    if model.expands_features:
        x = model.feature_names[0] if model.feature_names else "x"
        return [f"{x}^{k}" if k > 1 else x for k in range(1, model.degree + 1)]
    return list(model.feature_names)


def _edge_text(settings: dict[str, Any], lr: float) -> str:
    """What the sharpness is compared with: the rule's own edge at the rate of that step
    (:func:`~descend.descent.verdicts.sharpness_limit`) — 2/η for gd, 2(1 + β)/η for heavy
    ball; for adaptive rules the edge is of P⁻¹H, not of ∇²L; under a line search η is the
    step it accepted there, not a fixed rate."""
    edge = sharpness_limit(
        str(settings.get("optimizer", "gd")), dict(settings.get("hyperparams") or {}), lr
    )
    if edge is None:
        return "(no known edge for this rule)"
    if edge[1]:
        return (
            f"(the rule's edge, {edge[0]:.4g}, is of λ_max(P⁻¹H): history.preconditioned_sharpness)"
        )
    if settings.get("learning_rate") == "armijo":
        return f"(the line search's step there η = {lr:.4g}, edge {edge[0]:.4g})"
    return f"(the rule's edge at this rate: {edge[0]:.4g})"
