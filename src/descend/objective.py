"""The Objective seam: a function of one flat parameter vector θ, with its gradient.

Everything descend minimises is an :class:`Objective`. A data objective is
``L(θ) = loss(y, model(θ, X))``; a textbook surface (:mod:`descend.surfaces`) is ``f(θ)``
directly. The loop, optimizers, curvature tools and plots only ever see this interface.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .losses import Loss, get_loss

Array = NDArray[np.float64]

__all__ = ["Objective", "DataObjective", "objective"]


class Objective:
    """A scalar function of θ ∈ ℝᵖ.

    Subclasses implement :meth:`value_and_grad`; :meth:`hessian` and :meth:`hvp` fall back to
    central differences of the gradient (override them where an exact form exists).

    Attributes
    ----------
    n_params : int
        p, the length of θ.
    """

    n_params: int = 0
    #: a short human name for reports and plots
    name: str = "objective"

    def value_and_grad(self, theta: Array) -> tuple[float, Array]:
        """Return ``(f(θ), ∇f(θ))``, the gradient of shape (p,)."""
        raise NotImplementedError

    def value(self, theta: Array) -> float:
        """Return f(θ)."""
        return self.value_and_grad(theta)[0]

    def grad(self, theta: Array) -> Array:
        """Return ∇f(θ), shape (p,)."""
        return self.value_and_grad(theta)[1]

    def hessian(self, theta: Array) -> Array:
        """Return ∇²f(θ), shape (p, p); here by central differences of the gradient."""
        from .curvature import hessian_fd

        return hessian_fd(self, theta)

    def hvp(self, theta: Array, v: Array) -> Array:
        """Hessian-vector product ∇²f(θ)·v, shape (p,); here by a central difference."""
        theta = np.asarray(theta, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        nv = float(np.linalg.norm(v))
        if nv == 0.0:
            return np.zeros_like(theta)
        h = np.sqrt(np.finfo(np.float64).eps) * max(1.0, float(np.linalg.norm(theta))) / nv
        return (self.grad(theta + h * v) - self.grad(theta - h * v)) / (2.0 * h)


class DataObjective(Objective):
    """``L(θ) = loss(y, model.forward(θ, Z))`` over a design ``Z`` made by a bound model.

    Parameters
    ----------
    model : descend.models.Model
        A model already bound to the data (``model.bind(X)``).
    loss : Loss or str
    Z : ndarray, shape (n, k)
        The model's design (``model.design(X)``): features in the coordinates descent runs in.
    y : ndarray, shape (n,)

    Notes
    -----
    ``value_and_grad(θ, rows)`` evaluates the loss on a subset of rows (a mini-batch), as the
    mean over those rows, so that a batch gradient is an unbiased estimate of the full one.
    The gradient is ``model.vjp(θ, Z, ∂L/∂ŷ)``: the chain rule, loss first, then model.
    """

    def __init__(self, model: Any, loss: Loss | str, Z: Array, y: Array) -> None:
        self.model = model
        self.loss = get_loss(loss)
        self.Z = Z
        self.y = y
        self.n_params = int(model.n_params)
        self.n_samples = int(Z.shape[0])
        self.name = f"{self.loss.spec()} of {model.spec()}"

    # -- evaluation -----------------------------------------------------------------------
    def _rows(self, rows: Array | None) -> tuple[Array, Array]:
        if rows is None:
            return self.Z, self.y
        return self.Z[rows], self.y[rows]

    def value_and_grad(self, theta: Array, rows: Array | None = None) -> tuple[float, Array]:
        Z, y = self._rows(rows)
        yhat = self.model.forward(theta, Z)
        loss, dyhat = self.loss.value_and_grad(y, yhat)
        return loss, self.model.vjp(theta, Z, dyhat)

    def value(self, theta: Array, rows: Array | None = None) -> float:
        Z, y = self._rows(rows)
        return self.loss.value(y, self.model.forward(theta, Z))

    def predict(self, theta: Array) -> Array:
        """ŷ on the objective's own rows, shape (n,)."""
        return np.asarray(self.model.forward(theta, self.Z))

    # -- curvature ------------------------------------------------------------------------
    @property
    def is_linear_least_squares(self) -> bool:
        """True when the model is linear in θ and the loss is the squared error."""
        return bool(getattr(self.model, "is_linear", False) and self.loss.is_least_squares)

    def gram(self) -> Array:
        """(1/n)·AᵀA for the linear model's augmented design A (with the intercept column)."""
        A = self.model.augmented(self.Z)
        return (A.T @ A) / self.n_samples

    def hessian(self, theta: Array) -> Array:
        """Exact (2/n)·AᵀA for a linear model with the MSE; finite differences otherwise."""
        if self.is_linear_least_squares:
            return 2.0 * self.gram()
        return super().hessian(theta)

    def hvp(self, theta: Array, v: Array) -> Array:
        if self.is_linear_least_squares:
            A = self.model.augmented(self.Z)
            return (2.0 / self.n_samples) * (A.T @ (A @ v))
        return super().hvp(theta, v)


def objective(X: Any, y: Any, model: Any = "linear", loss: Loss | str = "mse") -> DataObjective:
    """Build the objective L(θ) = loss(y, model(θ, X)) from raw data.

    Parameters
    ----------
    X : array-like, shape (n, d) or (n,)
    y : array-like, shape (n,)
    model : str or Model
        ``"linear"``, ``"poly:3"``, ``ds.Linear()``, ``ds.Polynomial(3)``, ``ds.MLP([8])``.
    loss : str or Loss

    Returns
    -------
    DataObjective
        With ``.model`` bound to X (feature scaling learned from X) and ``.Z`` the design.
    """
    from .data import as_arrays, check_fit_data
    from .models import get_model

    Xa, ya, names = as_arrays(X, y)
    if ya is None:
        raise ValueError("objective() needs targets y")
    check_fit_data(Xa, ya, names, min_samples=1)
    bound = get_model(model).bind(Xa, feature_names=names)
    return DataObjective(bound, loss, bound.design(Xa), ya)
