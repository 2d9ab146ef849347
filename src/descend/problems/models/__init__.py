"""Models: ŷ = model(θ, X), with the chain rule to turn ∂L/∂ŷ into ∂L/∂θ."""

from __future__ import annotations

import re

from descend.problems.models.base import Model
from descend.problems.models.linear import Linear, Polynomial
from descend.problems.models.mlp import MLP

__all__ = ["Model", "Linear", "Polynomial", "MLP", "get_model"]

#: a size in a spec: plain decimal digits (no sign, no "_", no exponent; int() takes more)
_WHOLE = re.compile(r"[0-9]{1,6}")


def _whole(text: str) -> int:
    text = text.strip()
    if not _WHOLE.fullmatch(text):
        raise ValueError(text)
    return int(text)


def get_model(model: str | Model) -> Model:
    """Turn a spec into a model.

    ``"linear"``, ``"linear-nointercept"``, ``"poly:3"`` (also ``"poly:3:chebyshev"``), an
    ``"mlp:8,8"`` tanh network (``"mlp:8,8:relu"`` for another activation), or a
    :class:`Model` instance (returned as is). Sizes are plain decimal digits: ``"poly:+3"``,
    ``"poly:1_0"`` and ``"mlp:8,,8"`` are refused (Python's ``int`` would take the first two).
    """
    if isinstance(model, Model):
        return model
    if not isinstance(model, str):
        raise TypeError(f"model must be a name or a Model, got {type(model).__name__}")
    spec = model.strip().lower()
    name, _, arg = spec.partition(":")
    if name == "linear" and not arg:
        return Linear()
    if name in ("linear-nointercept", "linear0"):
        return Linear(intercept=False)
    if name in ("poly", "polynomial"):
        degree_s, _, basis = arg.partition(":")
        try:
            degree = _whole(degree_s)
        except ValueError:
            raise ValueError(
                f"bad model {model!r}: write the degree as a whole number, e.g. 'poly:3'"
            ) from None
        return Polynomial(degree, basis=basis or "monomial")
    if name == "mlp":
        sizes_s, _, activation = arg.partition(":")
        try:
            sizes = [_whole(s) for s in sizes_s.split(",")] if sizes_s.strip() else []
        except ValueError:
            raise ValueError(
                f"bad model {model!r}: give hidden layer sizes, e.g. 'mlp:8,8' or 'mlp:8,8:relu'"
            ) from None
        if not sizes:
            raise ValueError(
                f"bad model {model!r}: give hidden layer sizes, e.g. 'mlp:8,8' or 'mlp:8,8:relu'"
            )
        return MLP(sizes, activation=activation or "tanh")
    raise ValueError(
        f"unknown model {model!r}; use 'linear', 'linear-nointercept', 'poly:DEGREE' or "
        "'mlp:SIZES' (e.g. 'mlp:8,8')"
    )
