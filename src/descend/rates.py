"""Choosing the learning rate: the curvature's best settings per update rule, and a warning
when a rate is above the stability limit.

Shared by :func:`descend.fit`, the Dask fit and :func:`descend.compare`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from .curvature import Advice

__all__ = ["ADAPTIVE_LR", "DescendWarning", "auto_learning_rate", "choose_learning_rate"]


class DescendWarning(UserWarning):
    """A setting that will probably not work (e.g. a learning rate above the stability limit)."""


#: rates for the adaptive rules, per unit of the targets' standard deviation: their step is
#: about lr per coordinate, and a standardised model's weights are of the order of std(y)
ADAPTIVE_LR = {"adam": 0.01, "adamw": 0.01, "rmsprop": 0.01, "adagrad": 0.1}


def auto_learning_rate(
    advice: Advice, optimizer: str, target_scale: float = 1.0
) -> tuple[float, dict[str, float]]:
    """The curvature's best settings for an update rule.

    gd: lr = 2/(λ_min + λ_max). momentum (heavy ball, Polyak): lr = 4/(√λ_max + √λ_min)²,
    β = ((√κ − 1)/(√κ + 1))². nesterov: lr = 1/λ_max, β = (√κ − 1)/(√κ + 1). Adaptive rules
    (adam, rmsprop, adagrad) move each coordinate by about lr per step, whatever the
    curvature: they get :data:`ADAPTIVE_LR` × ``target_scale`` (the std of y for data).
    """
    name = optimizer.lower()
    if name in ("gd", "sgd"):
        return advice.best_lr, {}
    if name == "momentum" and math.isfinite(advice.kappa):
        sl, ss = math.sqrt(advice.lam_max), math.sqrt(advice.lam_min)
        beta = ((sl - ss) / (sl + ss)) ** 2
        return 4.0 / (sl + ss) ** 2, {"beta": min(beta, 0.99)}
    if name == "nesterov" and math.isfinite(advice.kappa):
        sk = math.sqrt(advice.kappa)
        return 1.0 / advice.lam_max, {"beta": min((sk - 1.0) / (sk + 1.0), 0.99)}
    if name in ("momentum", "nesterov"):
        return advice.best_lr, {}
    if name in ADAPTIVE_LR:
        return ADAPTIVE_LR[name] * max(target_scale, 1e-12), {}
    return advice.best_lr, {}


def choose_learning_rate(
    learning_rate: Any,
    advice: Advice | None,
    optimizer: str,
    target_scale: float,
    options: dict[str, Any],
    warn: bool,
    stacklevel: int = 2,
) -> tuple[Any, list[str]]:
    """Resolve ``learning_rate="auto"`` and warn about a rate above the stability limit.

    Returns the rate to use and the notes for the result; "auto" may also set optimizer
    hyperparameters (β for momentum) in ``options`` when the caller has not.
    """
    notes: list[str] = []
    if isinstance(learning_rate, str) and learning_rate.lower() == "auto":
        if advice is None:
            raise ValueError("learning_rate='auto' needs curvature advice for this objective")
        learning_rate, auto_hyper = auto_learning_rate(advice, optimizer, target_scale)
        for key, value in auto_hyper.items():
            options.setdefault(key, value)
        notes.append(f"learning_rate='auto' chose {learning_rate:.4g} ({advice.describe()})")
    elif (
        warn
        and advice is not None
        and isinstance(learning_rate, int | float)
        and optimizer in ("gd", "sgd")
        and (text := advice.check(float(learning_rate)))
    ):
        warnings.warn(text, DescendWarning, stacklevel=stacklevel + 1)
        notes.append(text)
    return learning_rate, notes
