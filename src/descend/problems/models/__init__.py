"""Models: ŷ = model(θ, X), with the chain rule to turn ∂L/∂ŷ into ∂L/∂θ."""

from __future__ import annotations

from descend.problems.models.base import Model
from descend.problems.models.linear import Linear, Polynomial
from descend.problems.models.mlp import MLP

__all__ = ["Model", "Linear", "Polynomial", "MLP", "get_model"]


def get_model(model: str | Model) -> Model:
    """Turn a spec into a model.

    ``"linear"``, ``"linear-nointercept"``, ``"poly:3"`` (also ``"poly:3:chebyshev"``), an
    ``"mlp:8,8"`` tanh network (``"mlp:8,8:relu"`` for another activation), or a
    :class:`Model` instance (returned as is).
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
            degree = int(degree_s)
        except ValueError:
            raise ValueError(
                f"bad model {model!r}: write the degree as a whole number, e.g. 'poly:3'"
            ) from None
        return Polynomial(degree, basis=basis or "monomial")
    if name == "mlp":
        sizes_s, _, activation = arg.partition(":")
        try:
            sizes = [int(s) for s in sizes_s.split(",") if s.strip()]
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
