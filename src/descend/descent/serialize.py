"""Run results to and from JSON, exactly.

Finite float64 values round-trip through JSON numbers exactly (Python writes ``repr``, the
shortest string that reads back to the same double). The files are *strict* JSON — readable by
browsers and ``jq`` — so non-finite values, which diverged runs produce, are written as strings:
``"NaN"``, ``"Infinity"``, ``"-Infinity"`` inside numeric arrays (``Number("Infinity")`` in
JavaScript, ``float("Infinity")`` in Python), and as ``{"float": "NaN"}`` in free-form settings.
``result_to_dict(result_from_dict(d)) == d`` holds for every result.

The bound model of a linear or polynomial fit (its feature scaling and basis) is saved too, so a
loaded result still has ``.predict(X)``, ``.intercept`` and ``.coef``.
"""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import asdict
from typing import Any

import numpy as np

from descend.descent.history import FIELDS, TRACKED, History
from descend.descent.outputs import check_output_file
from descend.descent.result import FitResult
from descend.descent.verdicts import Certificate
from descend.problems.curvature import Advice
from descend.problems.features import PolynomialBasis, Standardizer
from descend.problems.models import get_model
from descend.problems.reference import Reference

__all__ = ["result_to_dict", "result_from_dict", "save_result", "load_result", "FORMAT"]

FORMAT = "descend.descent.result/1"


# ---------------------------------------------------------------------------------------------
# strict-JSON encodings
# ---------------------------------------------------------------------------------------------
def _num(x: float) -> float | str:
    x = float(x)
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _floats(a: Any) -> Any:
    """A float array (any shape) as nested lists, non-finite entries as strings."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 0:
        return _num(float(arr))
    return [_floats(v) for v in arr] if arr.ndim > 1 else [_num(v) for v in arr.tolist()]


def _unfloats(a: Any) -> np.ndarray:
    """Inverse of :func:`_floats` (NumPy parses "NaN"/"Infinity" strings)."""
    return np.asarray(a, dtype=np.float64)


def _plain(x: Any) -> Any:
    """Settings and other free-form values as strict JSON (non-finite floats tagged)."""
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, np.generic):
        return _plain(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return {"float": _num(x)}
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x


def _unplain(x: Any) -> Any:
    if isinstance(x, dict):
        if set(x) == {"float"} and isinstance(x["float"], str):
            return float(x["float"])
        return {k: _unplain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_unplain(v) for v in x]
    return x


# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------
def _model_to_dict(model: Any) -> dict[str, Any] | None:
    """A bound Linear/Polynomial model's fitted state (None for other models)."""
    if model is None or not model.is_linear or model.scaler is None or model.n_outputs != 1:
        return None
    out: dict[str, Any] = {
        "spec": model.spec(),
        "intercept": model.intercept,
        "scale": model.scale,
        "n_features": model.n_features,
        "n_params": model.n_params,
        "feature_names": list(model.feature_names),
        "scaler": {"mean": _floats(model.scaler.mean), "scale": _floats(model.scaler.scale)},
    }
    basis = model.basis
    if basis is not None:
        out["domain"] = None if basis.domain is None else [_num(v) for v in basis.domain]
    return out


def _model_from_dict(d: dict[str, Any] | None) -> Any:
    if d is None:
        return None
    model: Any = get_model(d["spec"])
    model.intercept = bool(d["intercept"])
    model.scale = bool(d["scale"])
    model.n_features = int(d["n_features"])
    model.n_params = int(d["n_params"])
    model.feature_names = list(d["feature_names"])
    model.scaler = Standardizer(
        mean=_unfloats(d["scaler"]["mean"]), scale=_unfloats(d["scaler"]["scale"])
    )
    if "domain" in d:
        dom = d["domain"]
        model.basis = PolynomialBasis(
            model.degree, model.basis_kind, None if dom is None else (float(dom[0]), float(dom[1]))
        )
    return model


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
def _history_to_dict(h: History) -> dict[str, Any]:
    out: dict[str, Any] = {"step": [int(v) for v in h.step]}
    for f in FIELDS[1:]:
        out[f] = _floats(getattr(h, f))
    out["params"] = None if h.params is None else _floats(h.params)
    out["state_norms"] = {k: _floats(v) for k, v in h.state_norms.items()}
    if h.val_loss is not None:
        out["val_loss"] = _floats(h.val_loss)
    for name in TRACKED:
        column = getattr(h, name)
        if column is not None:
            out[name] = _floats(column)
    return out


def result_to_dict(res: FitResult) -> dict[str, Any]:
    """Everything needed to inspect, plot or predict with a run again.

    θ, loss, stop reason and message, the history, settings, warnings, the closed-form
    reference, the curvature advice, the fitted model's scaling, and versions.
    """
    from descend import __version__

    versions = dict(res.versions) or {
        "descend": __version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    ref = res.reference
    out: dict[str, Any] = {
        "format": FORMAT,
        "params": _floats(res.params),
        "loss": _num(res.loss),
        "stop_reason": res.stop_reason,
        "message": res.message,
        "n_steps": int(res.n_steps),
        "wall_time": float(res.wall_time),
        "settings": _plain(res.settings),
        "warnings": list(res.warnings),
        "history": _history_to_dict(res.history),
        "reference": None
        if ref is None
        else {
            "params": _floats(ref.params),
            "loss": _num(ref.loss),
            "intercept": None if ref.intercept is None else _num(ref.intercept),
            "coef": None if ref.coef is None else _floats(ref.coef),
            "method": ref.method,
        },
        "advice": None if res.advice is None else _plain(asdict(res.advice)),
        "certificate": None if res.certificate is None else _plain(asdict(res.certificate)),
        "model": _model_to_dict(res.model),
        "versions": versions,
    }
    if res.model is not None and res.model.is_linear and res.model.n_outputs == 1:
        out["original_units"] = {"intercept": _num(res.intercept), "coef": _floats(res.coef)}
    return out


def save_result(res: FitResult, path: str | os.PathLike[str]) -> None:
    """Write :func:`result_to_dict` as strict JSON (see the module notes on NaN/inf).

    Raises
    ------
    ValueError
        ``path`` is a directory, or its folder does not exist (nothing is written).
    """
    fname = check_output_file(path, "result path", "run.json")
    with open(fname, "w", encoding="utf-8") as fh:
        json.dump(result_to_dict(res), fh, indent=1, allow_nan=False)


def result_from_dict(d: dict[str, Any]) -> FitResult:
    """Rebuild a FitResult from :func:`result_to_dict` (without its objective or optimizer
    state; with its model for linear and polynomial fits, so ``predict`` works)."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        got = d.get("format") if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"not a descend result (format {got!r}, expected {FORMAT})")
    ref = d.get("reference")
    adv = d.get("advice")
    cert = d.get("certificate")
    h = d["history"]
    params = h.get("params")
    history = History(
        step=np.asarray(h["step"], dtype=np.int64),
        **{f: _unfloats(h[f]) for f in FIELDS[1:]},
        params=None if params is None else _unfloats(params).reshape(len(params), -1),
        state_norms={k: _unfloats(v) for k, v in h.get("state_norms", {}).items()},
        val_loss=None if h.get("val_loss") is None else _unfloats(h["val_loss"]),
        sharpness=None if h.get("sharpness") is None else _unfloats(h["sharpness"]),
        preconditioned_sharpness=None
        if h.get("preconditioned_sharpness") is None
        else _unfloats(h["preconditioned_sharpness"]),
    )
    return FitResult(
        params=_unfloats(d["params"]),
        loss=float(d["loss"]),
        history=history,
        stop_reason=d["stop_reason"],
        message=d["message"],
        n_steps=int(d["n_steps"]),
        wall_time=float(d["wall_time"]),
        reference=None
        if ref is None
        else Reference(
            params=_unfloats(ref["params"]),
            loss=float(ref["loss"]),
            intercept=None if ref["intercept"] is None else float(ref["intercept"]),
            coef=None if ref["coef"] is None else _unfloats(ref["coef"]),
            method=ref.get("method", "qr"),
        ),
        advice=None if adv is None else Advice(**_unplain(adv)),
        settings=_unplain(d.get("settings", {})),
        model=_model_from_dict(d.get("model")),
        warnings=list(d.get("warnings", [])),
        versions=dict(d.get("versions", {})),
        certificate=None if cert is None else Certificate(**_unplain(cert)),
    )


def load_result(path: str | os.PathLike[str]) -> FitResult:
    """Read a result written by :func:`save_result` (older files with bare NaN tokens too)."""
    with open(os.fspath(path), encoding="utf-8") as fh:
        return result_from_dict(json.load(fh))
