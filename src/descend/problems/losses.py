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

__all__ = [
    "MSE",
    "MAE",
    "Huber",
    "LogLoss",
    "Loss",
    "SmoothedMAE",
    "Softmax",
    "get_loss",
    "LOSSES",
]


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

    def correct(self, y: Array, yhat: Array) -> NDArray[np.bool_]:
        """Per row, shape (n,): classified correctly by ŷ (classification losses only, those
        with :attr:`separable`; the others have no classes)."""
        raise TypeError(f"the {self.name} loss has no classes to be correct about")

    #: Not differentiable, with a smooth approximation :meth:`smoothed` (the MAE).
    smoothable: bool = False

    #: Smooth, but ∂²ℓ/∂ŷ² varies with ŷ (Huber, log loss): :attr:`curvature_bound` is only a
    #: bound, which can be far above the curvature near the minimum, so ``learning_rate="auto"``
    #: steps by a line search instead of a constant rate tuned to the bound
    #: (:mod:`descend.descent.rates`).
    curvature_varies: bool = False

    #: :meth:`check_targets` refuses some targets (the log loss: y outside {0, 1})
    checks_targets: bool = False

    #: ŷ are logits of classes (log loss, softmax): the decision boundary is where the logit
    #: (the difference of two classes' logits) is 0, i.e. p = ½ — not ŷ = ½ as for a
    #: regression loss fitted to 0/1 targets
    outputs_logits: bool = False

    #: K, the predictions per row the loss reads: ŷ of shape (n,) when 1, (n, K) otherwise
    #: (the softmax: one logit per class); 0 while K is still to be learned from the targets
    #: (:meth:`for_targets`). A model gives K outputs through ``Model.with_outputs(K)``.
    n_outputs: int = 1

    def for_targets(self, y: Array) -> Loss:
        """This loss with what it learns from the targets y (shape (n,)) fixed: the softmax's
        number of classes K. Every other loss learns nothing and returns itself."""
        return self

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

    def per_row(self, y: Array, yhat: Array) -> Array:
        """ℓ(y_i, ŷ_i) row by row, shape (n,): L is their mean."""
        raise NotImplementedError

    def weighted(self, y: Array, yhat: Array, w: Array) -> tuple[float, Array]:
        """(L_w, ∂L_w/∂ŷ) of the weighted mean L_w = (1/n) Σ w_i ℓ(y_i, ŷ_i), w of shape (n,).

        Each row's gradient is its unweighted one times w_i (ℓ_i depends on ŷ_i alone), so
        every loss gets sample weights from :meth:`per_row` and :meth:`value_and_grad`.
        """
        value = float(w @ self.per_row(y, yhat)) / w.shape[0]
        g = self.value_and_grad(y, yhat)[1]
        return value, g * (w if g.ndim == 1 else w[:, None])

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

    def per_row(self, y: Array, yhat: Array) -> Array:
        return np.asarray((y - yhat) ** 2)

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

    def per_row(self, y: Array, yhat: Array) -> Array:
        return np.abs(y - yhat)

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

    def per_row(self, y: Array, yhat: Array) -> Array:
        a = np.abs(y - yhat)
        return np.where(a <= self.delta, 0.5 * a * a, self.delta * (a - 0.5 * self.delta))

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

    def per_row(self, y: Array, yhat: Array) -> Array:
        r = y - yhat
        c = np.clip(r / self.delta, -1.0, 1.0)
        return np.asarray(c * r - 0.5 * self.delta * c * c)

    def spec(self) -> str:
        return f"{self.name}:{self.delta:.17g}"


@dataclass(frozen=True)
class LogLoss(Loss):
    """Binary cross-entropy on logits (two-class problems, y ∈ {0, 1}).

    With z = ŷ a logit and p = σ(z):  L = (1/n) Σ [log(1 + e^z) − y z],
    ∂L/∂z_i = (1/n)(σ(z_i) − y_i). Computed in the stable form log1p(e^−|z|) + max(z, 0) − y z.
    """

    name: str = "logloss"
    outputs_logits: bool = True
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
        # whole-number labels beyond {0, 1}: classes, and the softmax is the loss for them
        labels = np.isfinite(y).all() and bool((y == np.round(y)).all()) and (y >= 0).all()
        several = (
            f"For {np.unique(y).size} classes labelled 0…{int(y.max())} use the softmax loss "
            "(loss='softmax', --loss softmax); for two of them e"
            if labels
            else "E"
        )
        raise DataError(
            f"the log loss needs targets y in {{0, 1}}, but row {first_row + i + 1} has "
            f"y = {float(y[i])!r}"
            f"{more}. {several}ncode the two classes as 0 and 1 (e.g. y = (y == positive_class)), "
            "or choose a regression loss (mse, mae, huber) for numeric targets."
        )

    def value_and_grad(self, y: Array, yhat: Array) -> tuple[float, Array]:
        z = yhat
        n = z.shape[0]
        per = np.logaddexp(0.0, z) - y * z
        p = 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z) without overflow
        return float(per.sum()) / n, (p - y) / n

    def per_row(self, y: Array, yhat: Array) -> Array:
        return np.asarray(np.logaddexp(0.0, yhat) - y * yhat)

    separable: bool = True

    def separated(self, y: Array, yhat: Array) -> bool:
        """All margins (2y − 1)·z > 0, with labels y ∈ {0, 1}.

        Then L(c·θ) → 0 as c → ∞ for a model linear in θ, while L > 0 everywhere: the log
        loss has no minimiser, and descent would only grow ‖θ‖ forever.
        """
        return bool(np.all((y == 0.0) | (y == 1.0)) and np.all(self.correct(y, yhat)))

    def correct(self, y: Array, yhat: Array) -> NDArray[np.bool_]:
        """Per row: the margin (2y − 1)·z is positive (z > 0 for y = 1, z < 0 for y = 0)."""
        return np.asarray((2.0 * y - 1.0) * yhat > 0.0)


@dataclass(frozen=True)
class Softmax(Loss):
    """Multinomial cross-entropy on K logits per row (K classes, y ∈ {0, 1, …, K − 1}).

    With Z of shape (n, K) the logits, P = softmax(Z) row by row (P_ik = e^{z_ik}/Σ_j e^{z_ij})
    and Y the one-hot targets (Y_ik = 1 when y_i = k):

        L = (1/n) Σ_i [log Σ_k e^{z_ik} − z_{i,y_i}],      ∂L/∂Z = (P − Y)/n   (shape (n, K)).

    Computed stably with the row maximum subtracted (log-sum-exp). K = 2 is the binary log
    loss on the difference of the two logits. The Hessian of ℓ with respect to a row's logits,
    diag(p) − p·pᵀ, has eigenvalues in [0, ½]: ``curvature_bound`` = ½, and the Hessian in θ
    of a linear model is at most ½·(I_K ⊗ (1/n)·AᵀA) (see ``DataObjective.gram``).

    Parameters
    ----------
    n_classes : int or None
        K ≥ 2. None: learned from the targets by :meth:`for_targets` (the largest class index
        + 1), which :func:`descend.problems.build.build_problem` does on all rows before a
        validation split.
    """

    n_classes: int | None = None
    name: str = "softmax"
    outputs_logits: bool = True
    curvature_bound: float | None = 0.5
    numeric_targets: bool = False  # class labels: never standardised
    checks_targets: bool = True
    separable: bool = True

    def __post_init__(self) -> None:
        k = self.n_classes
        if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2):
            raise ValueError(f"the softmax needs n_classes ≥ 2 (a whole number), got {k!r}")

    @property
    def n_outputs(self) -> int:  # type: ignore[override]
        """K, one logit per class (0 until :meth:`for_targets` has learned it)."""
        return int(self.n_classes or 0)

    def check_targets(self, y: Array, first_row: int = 0) -> None:
        """Refuse y that are not class indices 0, 1, …, K − 1, naming the first bad row."""
        y = np.asarray(y)
        if y.dtype.kind not in "fiub":
            raise DataError(
                f"the softmax loss needs class indices 0, 1, …, K − 1 as targets, got values "
                f"of type {y.dtype} (e.g. {y[:1].tolist()}). Encode the labels, e.g. "
                "y = np.unique(labels, return_inverse=True)[1], or use GDClassifier, which "
                "takes labels of any kind"
            )
        top = self.n_classes
        with np.errstate(invalid="ignore"):
            ok = (y >= 0) & (y == np.floor(y)) & np.isfinite(y)
            if top is not None:
                ok &= y < top
        bad = np.flatnonzero(~ok)
        if bad.size == 0:
            return
        i = int(bad[0])
        more = f" ({bad.size} such rows here)" if bad.size > 1 else ""
        span = "0, 1, …, K − 1" if top is None else f"0, 1, …, {top - 1}"
        raise DataError(
            f"the softmax loss needs class indices {span} as targets, but row "
            f"{first_row + i + 1} has y = {float(y[i])!r}{more}. Encode the classes as "
            "0, 1, …, K − 1 (e.g. y = np.unique(labels, return_inverse=True)[1]), or use "
            "GDClassifier, which takes labels of any kind"
        )

    def for_targets(self, y: Array) -> Softmax:
        """The softmax with K = max(y) + 1 classes (y checked first); itself when K is set.

        Raises
        ------
        DataError
            Targets that are not class indices, or one class only (K < 2).
        """
        self.check_targets(y)
        if self.n_classes is not None:
            return self
        y = np.asarray(y, dtype=np.float64)
        k = int(y.max()) + 1 if y.size else 0
        if k < 2:
            raise DataError(
                f"the softmax loss needs at least two classes, but every target is "
                f"{(float(y[0]) if y.size else 'missing')!r}: give rows of two or more "
                "classes (0, 1, …)"
            )
        missing = np.setdiff1d(np.arange(k), np.unique(y))
        if missing.size:
            shown = ", ".join(str(int(c)) for c in missing[:5]) + ("…" if missing.size > 5 else "")
            raise DataError(
                f"the softmax loss takes K = max(y) + 1 = {k} classes, but class {shown} has no "
                "rows (its logit would fall towards −∞ for ever). Number the classes 0, 1, …, "
                "K − 1 without gaps (y = np.unique(labels, return_inverse=True)[1]), or use "
                "GDClassifier, which does it for you"
            )
        return Softmax(k)

    def value_and_grad(self, y: Array, yhat: Array) -> tuple[float, Array]:
        Z = yhat
        n = Z.shape[0]
        rows = np.arange(n)
        idx = y.astype(np.intp)
        m = Z.max(axis=1, keepdims=True)
        E = np.exp(Z - m)
        s = E.sum(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(s[:, 0])
        value = float(np.sum(lse - Z[rows, idx])) / n
        P = E / s
        P[rows, idx] -= 1.0
        P /= n
        return value, P

    def value(self, y: Array, yhat: Array) -> float:
        return float(np.sum(self.per_row(y, yhat))) / yhat.shape[0]

    def per_row(self, y: Array, yhat: Array) -> Array:
        Z = yhat
        m = Z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(Z - m).sum(axis=1))
        return np.asarray(lse - Z[np.arange(Z.shape[0]), y.astype(np.intp)])

    def separated(self, y: Array, yhat: Array) -> bool:
        """Every row's own logit strictly above all others: z_{i,y_i} > max_{k≠y_i} z_ik.

        Then L(c·θ) → 0 as c → ∞ for a model linear in θ, while L > 0 everywhere: no
        minimiser exists, and descent would only grow ‖θ‖.
        """
        return bool(np.all(self.correct(y, yhat)))

    def correct(self, y: Array, yhat: Array) -> NDArray[np.bool_]:
        """Per row: its own logit strictly above all others, z_{i,y_i} > max_{k≠y_i} z_ik."""
        Z = np.array(yhat, dtype=np.float64)
        rows = np.arange(Z.shape[0])
        idx = y.astype(np.intp)
        own = Z[rows, idx].copy()
        Z[rows, idx] = -np.inf
        return np.asarray(own > Z.max(axis=1))

    def spec(self) -> str:
        return self.name if self.n_classes is None else f"{self.name}:{self.n_classes}"


LOSSES: dict[str, type[Loss]] = {
    "mse": MSE,
    "mae": MAE,
    "huber": Huber,
    "logloss": LogLoss,
    "softmax": Softmax,
}


def get_loss(loss: str | Loss) -> Loss:
    """A Loss from its name: ``"mse"``, ``"mae"``, ``"huber:2.5"``, ``"logloss"``, ``"softmax"``
    (``"softmax:3"``: K = 3 classes fixed; plain ``"softmax"`` learns K from the targets)."""
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name or a Loss, got {type(loss).__name__}")
    name, _, arg = loss.strip().lower().partition(":")
    if name in ("cross-entropy", "crossentropy", "logistic", "bce"):
        name = "logloss"
    if name in ("multinomial", "categorical", "softmax-cross-entropy"):
        name = "softmax"
    if name not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    if name == "huber" and arg:
        try:
            return Huber(delta=float(arg))
        except ValueError as exc:
            raise ValueError(f"bad Huber threshold in {loss!r}: {exc}") from None
    if name == "softmax" and arg:
        if not arg.strip().isdigit():
            raise ValueError(f"bad class count in {loss!r}: write it as 'softmax:3'")
        return Softmax(int(arg.strip()))
    if arg:
        raise ValueError(f"loss {name!r} takes no argument (got {loss!r})")
    return LOSSES[name]()
