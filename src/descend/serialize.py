"""Run results to and from JSON, exactly (float64 values round-trip through repr)."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from typing import Any

import numpy as np

from .curvature import Advice
from .history import History
from .reference import Reference

FORMAT = "descend.result/1"


def _plain(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x


def result_to_dict(res: Any) -> dict[str, Any]:
    """Everything needed to inspect or plot a run again: θ, history, settings, versions."""
    from . import __version__

    out: dict[str, Any] = {
        "format": FORMAT,
        "params": res.params.tolist(),
        "loss": res.loss,
        "stop_reason": res.stop_reason,
        "message": res.message,
        "n_steps": res.n_steps,
        "wall_time": res.wall_time,
        "settings": _plain(res.settings),
        "warnings": list(res.warnings),
        "history": res.history.to_dict(),
        "reference": None if res.reference is None else _plain(asdict(res.reference)),
        "advice": None if res.advice is None else res.advice.to_dict(),
        "versions": {
            "descend": __version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }
    if res.model is not None and hasattr(res.model, "to_original"):
        out["original_units"] = {"intercept": res.intercept, "coef": res.coef.tolist()}
    return out


def save_result(res: Any, path: str) -> None:
    """Write :func:`result_to_dict` as JSON (``allow_nan`` keeps inf/nan of diverged runs)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(result_to_dict(res), fh, indent=1)


def result_from_dict(d: dict[str, Any]) -> Any:
    """Rebuild a FitResult (without its objective or bound model) from :func:`result_to_dict`."""
    from .train import FitResult

    if d.get("format") != FORMAT:
        raise ValueError(f"not a descend result (format {d.get('format')!r}, expected {FORMAT})")
    ref = d.get("reference")
    adv = d.get("advice")
    return FitResult(
        params=np.asarray(d["params"], dtype=np.float64),
        loss=float(d["loss"]),
        history=History.from_dict(d["history"]),
        stop_reason=d["stop_reason"],
        message=d["message"],
        n_steps=int(d["n_steps"]),
        wall_time=float(d["wall_time"]),
        reference=None
        if ref is None
        else Reference(
            params=np.asarray(ref["params"], dtype=np.float64),
            loss=float(ref["loss"]),
            intercept=ref["intercept"],
            coef=None if ref["coef"] is None else np.asarray(ref["coef"], dtype=np.float64),
            method=ref.get("method", "qr"),
        ),
        advice=None if adv is None else Advice(**adv),
        settings=d.get("settings", {}),
        warnings=list(d.get("warnings", [])),
    )


def load_result(path: str) -> Any:
    """Read a result written by :func:`save_result`."""
    with open(path, encoding="utf-8") as fh:
        return result_from_dict(json.load(fh))
