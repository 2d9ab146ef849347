"""Loss functions of predictions: value and gradient with respect to ŷ.

Every loss here is a *mean over samples*, with no hidden factor ½ unless the docstring says so:

    L(y, ŷ) = (1/n) · Σ_i ℓ(y_i, ŷ_i)

and ``grad`` returns ∂L/∂ŷ, an array of shape ``(n,)`` that already contains the 1/n. Models
apply the chain rule to turn it into ∂L/∂θ (see :mod:`descend.problems.models`).

Two declarations tie a loss to the rest of descend:

- :meth:`Loss.check_targets` refuses targets the loss is not defined for (log loss: y outside
  {0, 1}) with a :class:`~descend.data.tables.DataError`; every data objective calls it when it
  is built, so ``ds.fit``, ``ds.objective``, the CLI, the estimator and the playground all
  refuse the same data with the same message.
- ``smoothable`` and :meth:`Loss.smoothed`: the MAE is not differentiable, and gradient
  descent with a constant rate only reaches it to within about η·‖g‖. Its smoothing
  :class:`SmoothedMAE` (the Huber loss divided by δ) is within δ/2 of it everywhere,
  MAE − δ/2 ≤ S_δ ≤ MAE, so minimising S_δ for a decreasing sequence of δ (warm starts) finds
  the MAE minimum to any accuracy: what ``learning_rate="auto"`` runs for the MAE of a model
  linear in θ (:mod:`descend.descent.rates`, the continuation in
  :class:`descend.descent.loop.Descent`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from descend.data.tables import DataError

Array = NDArray[np.float64]

__all__ = ["MSE", "MAE", "Huber", "LogLoss", "Loss", "SmoothedMAE", "get_loss", "LOSSES"]


class Loss:
    """Base class: ``value``, ``grad`` and ``value_and_grad`` of ``(y, ŷ)``, each of shape (n,)."""

    name: str = "loss"
    #: True when L is a quadratic in ŷ (closed-form least squares applies).
    is_least_squares: bool = False
    #: Upper bound on the second derivative ∂²ℓ/∂ŷ² (None when unbounded or non-smooth).
    curvature_bound: float | None = None
    #: The loss falls towards its infimum only as ŷ → ±∞ on rows the prediction classifies
    #: correctly (log loss): separable data have no minimiser (see :meth:`separated`).
    separable: bool = False

    def separated(self, y: Array, yhat: Array) -> bool:
        """Every row is on its correct side (a separating ŷ): no minimiser exists then."""
        return False

    #: Not differentiable, with a smooth approximation :meth:`smoothed` (the MAE).
    smoothable: bool = False

    #: Smooth, but ∂²ℓ/∂ŷ² varies with ŷ (Huber, log loss): :attr:`curvature_bound` is only a
    #: bound, which can be far above the curvature near the minimum, so ``learning_rate="auto"``
    #: steps by a line search instead of a constant rate tuned to the bound
    #: (:mod:`descend.descent.rates`).
    curvature_varies: bool = False

    #: :meth:`check_targets` refuses some targets (the log loss: y outside {0, 1})
    checks_targets: bool = False

    #: the targets are numbers in the data's units (regression), which a model may
    #: standardise (the MLP's output scale); False for class labels (the log loss)
    numeric_targets: bool = True

    #: :meth:`curvature` gives ∂²L/∂ŷ² (where it exists: almost everywhere for the MAE and
    #: Huber), which exact Hessian-vector products of a data objective need
    has_curvature: bool = False

    def curvature(self, y: Array, yhat: Array) -> Array:
        """∂²L/∂ŷ_i², shape (n,) (the 1/n of the mean included); y and ŷ of shape (n,).

        The Hessian of L with respect to ŷ is diagonal (each row's ℓ depends on its own ŷ_i
        only), so this vector is all of it. Losses that declare :attr:`has_curvature` give it.
        """
        raise NotImplementedError(f"the {self.name} loss does not give its second derivative")

    def check_targets(self, y: Array, first_row: int = 0) -> None:
        """Refuse targets the loss is not defined for (a :class:`DataError`); y of shape (n,).

        Every loss here accepts any finite y except the log loss (y ∈ {0, 1}). ``first_row``
        is the position of ``y[0]`` in the whole data (for the message, when y is a chunk).
        """

    def smoothed(self, delta: float) -> Loss:
        """A smooth loss within ``delta`` of this one (only where :attr:`smoothable`)."""
        raise ValueError(f"the {self.name} loss is differentiable: it has no smoothing")

    def value(self, y: Array, yhat: Array) -> float:
        """L(y, ŷ), the mean over the n rows; y and ŷ of shape (n,)."""
        return self.value_and_grad(y, yhat)[0]

    def grad(self, y: Array, yhat: Array) -> Array:
        """∂L/∂ŷ, shape (n,) (the 1/n of the mean included); y and ŷ of shape (n,)."""
        return self.value_and_grad(y, yhat)[1]

    def value_and_grad(self, y: Array, yhat: Array) -> tuple[float, Array]:
        """(L, ∂L/∂ŷ) in one pass: a float and an array of shape (n,); y, ŷ of shape (n,)."""
        raise NotImplementedError

    def spec(self) -> str:
        """The name that :func:`get_loss` turns back into this loss."""
        return self.name


@dataclass(frozen=True)
class MSE(Loss):
    """Mean squared error, the lesson's loss.

    L = (1/n) Σ (y_i − ŷ_i)²,   ∂L/∂ŷ_i = −(2/n) (y_i − ŷ_i).
    """

    name: str = "mse"
    is_least_squares: bool = True
    curvature_bound: float | None = 2.0
    has_curvature: bool = True

    def curvature(self, y: Array, yhat: Array) -> Array:
        """∂²L/∂ŷ_i² = 2/n."""
        return np.full(np.shape(y), 2.0 / np.shape(y)[0])

    def value(self, y: Array, yhat: Array) -> float:
        r = y - yhat
        return float(r @ r) / r.shape[0]

    def value_and_grad(self, y: Array, yhat: Array) -> tuple[float, Array]:
        r = y - yhat
        n = r.shape[0]
        return float(r @ r) / n, (-2.0 / n) * r


@dataclass(frozen=True)
class MAE(Loss):
    """Mean absolute error (robust to outliers, not differentiable at r = 0).

    L = (1/n) Σ |y_i − ŷ_i|,   ∂L/∂ŷ_i = −(1/n) sign(y_i − ŷ_i)  (0 at r = 0, a subgradient).

    Descent with a constant rate on this subgradient ends in an oscillation of size about η
    around the minimum. ``learning_rate="auto"`` (a model linear in θ, plain gradient descent,
    full batch) therefore minimises the smoothing :class:`SmoothedMAE` (:meth:`smoothed`)
    instead, for δ = MAE(θ₀), δ/10, δ/100, … down to 2·tol·MAE(θ), each stage warm-started
    from the last and stepped by an Armijo line search; since MAE ≤ S_δ + δ/2 everywhere, the
    last stage's minimum is within δ/2 = tol·MAE of the MAE minimum (see
    :mod:`descend.descent.rates`).
    """

    name: str = "mae"
    smoothable: bool = True
    has_curvature: bool = True

    def curvature(self, y: Array, yhat: Array) -> Array:
        """∂²L/∂ŷ_i² = 0 wherever it exists (every ŷ_i ≠ y_i): |r| is piecewise linear."""
        return np.zeros(np.shape(y))

    def smoothed(self, delta: float) -> SmoothedMAE:
        """S_δ, the MAE smoothed within ``delta``: MAE − δ/2 ≤ S_δ ≤ MAE."""
        return SmoothedMAE(delta)

    def value(self, y: Array, yhat: Array) -> float:
        return float(np.mean(np.abs(y - yhat)))

    def value_and_grad(self, y: Array, yhat: Array) -> tuple[float, Array]:
        r = y - yhat
        n = r.shape[0]
        return float(np.abs(r).sum()) / n, -np.sign(r) / n


@dataclass(frozen=True)
class Huber(Loss):
    """Huber loss with threshold δ: quadratic for small residuals, linear for large ones.

    With r = y − ŷ,  ℓ(r) = ½ r²  for |r| ≤ δ,  and  δ (|r| − ½ δ)  otherwise (the usual ½,
    so that ℓ is continuously differentiable);  L = (1/n) Σ ℓ(r_i),
    ∂L/∂ŷ_i = −(1/n) clip(r_i, −δ, δ).
    """

    delta: float = 1.0
    name: str = "huber"
    curvature_bound: float | None = 1.0
    curvature_varies: bool = True
    has_curvature: bool = True

    def curvature(self, y: Array, yhat: Array) -> Array:
        """∂²L/∂ŷ_i² = (1/n)·1[|r_i| ≤ δ] (it jumps at |r_i| = δ; the inner value is given)."""
        r = np.asarray(y) - np.asarray(yhat)
        return (np.abs(r) <= self.delta).astype(np.float64) / r.shape[0]

    def __post_init__(self) -> None:
        if not (np.isfinite(self.delta) and self.delta > 0):
            raise ValueError(f"Huber delta must be a positive number, got {self.delta!r}")

    def value_and_grad(self, y: Array, yhat: Array) -> tuple[float, Array]:
        r = y - yhat
        n = r.shape[0]
        a = np.abs(r)
        small = a <= self.delta
        per = np.where(small, 0.5 * r * r, self.delta * (a - 0.5 * self.delta))
        return float(per.sum()) / n, -np.clip(r, -self.delta, self.delta) / n

    def spec(self) -> str:
        return f"huber:{self.delta:g}"


@dataclass(frozen=True)
class SmoothedMAE(Loss):
    """The mean absolute error smoothed within δ: the Huber loss divided by δ.

    With r = y − ŷ,  s_δ(r) = r²/(2δ)  for |r| ≤ δ,  and  |r| − δ/2  otherwise;
    S_δ = (1/n) Σ s_δ(r_i),  ∂S_δ/∂ŷ_i = −(1/n) clip(r_i/δ, −1, 1).

    |r| − δ/2 ≤ s_δ(r) ≤ |r|, so MAE − δ/2 ≤ S_δ ≤ MAE for every θ, and a minimiser θ_δ of S_δ
    has MAE(θ_δ) − MAE* ≤ δ/2. Its curvature is bounded by 1/δ: the price of a small δ is a
    small safe rate, which is why the continuation steps each stage by a line search.
    """

    delta: float = 1.0
    name: str = "smoothed-mae"
    has_curvature: bool = True

    def curvature(self, y: Array, yhat: Array) -> Array:
        """∂²S_δ/∂ŷ_i² = 1/(nδ) inside the band |r_i| ≤ δ, 0 outside."""
        r = np.asarray(y) - np.asarray(yhat)
        return (np.abs(r) <= self.delta).astype(np.float64) / (self.delta * r.shape[0])

    def __post_init__(self) -> None:
        if not (np.isfinite(self.delta) and self.delta > 0):
            raise ValueError(f"the smoothing delta must be a positive number, got {self.delta!r}")

    @property
    def curvature_bound(self) -> float:  # type: ignore[override]
        """1/δ: the largest second derivative of s_δ."""
        return 1.0 / self.delta

    def value_and_grad(self, y: Array, yhat: Array) -> tuple[float, Array]:
        r = y - yhat
        n = r.shape[0]
        c = np.clip(r / self.delta, -1.0, 1.0)
        # c·r − ½δc² equals r²/(2δ) inside and |r| − δ/2 outside (the Huber kernel's identity)
        return float(c @ r - 0.5 * self.delta * (c @ c)) / n, -c / n

    def spec(self) -> str:
        return f"{self.name}:{self.delta:.17g}"


@dataclass(frozen=True)
class LogLoss(Loss):
    """Binary cross-entropy on logits (two-class problems, y ∈ {0, 1}).

    With z = ŷ a logit and p = σ(z):  L = (1/n) Σ [log(1 + e^z) − y z],
    ∂L/∂z_i = (1/n)(σ(z_i) − y_i). Computed in the stable form log1p(e^−|z|) + max(z, 0) − y z.
    """

    name: str = "logloss"
    curvature_bound: float | None = 0.25
    curvature_varies: bool = True
    checks_targets: bool = True
    numeric_targets: bool = False
    has_curvature: bool = True

    def curvature(self, y: Array, yhat: Array) -> Array:
        """∂²L/∂z_i² = σ(z_i)(1 − σ(z_i))/n (at most 1/(4n))."""
        z = np.asarray(yhat, dtype=np.float64)
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        return p * (1.0 - p) / z.shape[0]

    def check_targets(self, y: Array, first_row: int = 0) -> None:
        """Refuse y outside {0, 1}, naming the first bad row (1-based) and value, and the fix."""
        bad = np.flatnonzero((y != 0.0) & (y != 1.0))
        if bad.size == 0:
            return
        i = int(bad[0])
        more = f" ({bad.size} such rows here)" if bad.size > 1 else ""
        raise DataError(
            f"the log loss needs targets y in {{0, 1}}, but row {first_row + i + 1} has "
            f"y = {float(y[i])!r}"
            f"{more}. Encode the two classes as 0 and 1 (e.g. y = (y == positive_class)), or "
            "choose a regression loss (mse, mae, huber) for numeric targets."
        )

    def value_and_grad(self, y: Array, yhat: Array) -> tuple[float, Array]:
        z = yhat
        n = z.shape[0]
        per = np.logaddexp(0.0, z) - y * z
        p = 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z) without overflow
        return float(per.sum()) / n, (p - y) / n

    separable: bool = True

    def separated(self, y: Array, yhat: Array) -> bool:
        """All margins (2y − 1)·z > 0, with labels y ∈ {0, 1}.

        Then L(c·θ) → 0 as c → ∞ for a model linear in θ, while L > 0 everywhere: the log
        loss has no minimiser, and descent would only grow ‖θ‖ forever.
        """
        return bool(np.all((y == 0.0) | (y == 1.0)) and np.all((2.0 * y - 1.0) * yhat > 0.0))


LOSSES: dict[str, type[Loss]] = {
    "mse": MSE,
    "mae": MAE,
    "huber": Huber,
    "logloss": LogLoss,
}


def get_loss(loss: str | Loss) -> Loss:
    """A Loss from its name: ``"mse"``, ``"mae"``, ``"huber:2.5"``, ``"logloss"``."""
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name or a Loss, got {type(loss).__name__}")
    name, _, arg = loss.strip().lower().partition(":")
    if name in ("cross-entropy", "crossentropy", "logistic", "bce"):
        name = "logloss"
    if name not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    if name == "huber" and arg:
        try:
            return Huber(delta=float(arg))
        except ValueError as exc:
            raise ValueError(f"bad Huber threshold in {loss!r}: {exc}") from None
    if arg:
        raise ValueError(f"loss {name!r} takes no argument (got {loss!r})")
    return LOSSES[name]()
