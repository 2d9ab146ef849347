"""The Objective seam: a function of one flat parameter vector θ, with its gradient.

Everything descend minimises is an :class:`Objective`. A data objective is
``L(θ) = loss(y, model(θ, X))``; a textbook surface (:mod:`descend.problems.surfaces`) is ``f(θ)``
directly. The loop, optimizers, curvature tools and plots only ever see this interface.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.samplers import ChunkSampler
from descend.problems.curvature import hessian_fd
from descend.problems.losses import Loss, get_loss
from descend.problems.reference import Reference, solve_qr
from descend.problems.separability import linearly_separable

Array = NDArray[np.float64]

__all__ = ["Objective", "DataObjective"]


class Objective:
    """A scalar function of θ ∈ ℝᵖ: the protocol every part of descend relies on.

    **Required**: :meth:`value_and_grad` (θ of shape (p,) → (float, ndarray (p,))) and
    ``n_params``. :meth:`value`, :meth:`grad`, :meth:`hessian` and :meth:`hvp` have defaults
    (central differences of the gradient; override them where an exact form exists).

    **Declared capabilities**: the class attributes below say what an objective offers. Each
    subclass sets what it has; the rest of descend reads these and never probes with
    ``getattr``/``hasattr`` or checks types.

    Attributes
    ----------
    n_params : int
        p, the length of θ.
    name : str
        A short human name for reports and plots.
    n_samples : int or None
        Rows that mini-batches sample (``value_and_grad(θ, rows)``); None: no rows.
    model, loss : Model and Loss, or None
        The bound model and the loss of a data objective (None for a surface).
    suggested_start : ndarray (p,) or None
        Where a run starts when no θ₀ is given and there is no model to draw one from.
    has_statistics : bool
        Holds the one-pass least-squares statistics (Gram form): cheap L*, cheap Hessian.
    refinement_pays : bool
        Iterative refinement on the exactly rounded residual can add digits.
    owns_batches : bool
        Draws its own mini-batches with :meth:`batches` (Dask: rows within chunks).
    target_scale : float
        std(y) for data, 1 otherwise: the adaptive rules' "auto" rate is proportional to it.
    is_linear_least_squares : bool
        A model linear in θ with the squared error: :meth:`reference` gives the closed form.
    data_fingerprint : str or None
        A hash of the data computed while building the objective (Dask: per-chunk SHA-256 on
        the workers, combined), which a checkpoint records instead of hashing X again; None:
        the checkpoint hashes the in-memory X and y.
    bounds : list of (lo, hi), or None
        A box that holds the interesting region (a surface's plotting and multi-start box).
    has_prox : bool
        The objective has a non-smooth part (an L1 penalty): ``value_and_grad`` gives the
        smooth part's gradient, :meth:`prox` the non-smooth part's proximal map and
        :meth:`stationarity` the minimum-norm subgradient the stopping rules judge.
    smoothable : bool
        A model linear in θ with a non-differentiable loss that has a smoothing (the MAE):
        :meth:`smoothed` gives the same objective with the loss smoothed within δ, which the
        continuation of ``learning_rate="auto"`` minimises (:mod:`descend.descent.rates`).
    line_search_pays : bool
        A model linear in θ with a smooth loss whose curvature varies (Huber, log loss), no
        proximal part: the curvature bound a constant "auto" rate would be tuned to can be far
        above the curvature near the minimum, so ``learning_rate="auto"`` steps by Armijo
        backtracking instead (:mod:`descend.descent.rates`).
    exact_hvp : bool
        :meth:`hvp` is exact (an analytic surface, least squares, a model that declares
        ``has_hvp`` with a loss that declares ``has_curvature``: the MLP's R-operator); False:
        it is a central difference of the gradient (about 1e-8 relative error, two gradients).
    """

    n_params: int = 0
    name: str = "objective"
    n_samples: int | None = None
    model: Any = None
    loss: Any = None
    suggested_start: Array | None = None
    has_statistics: bool = False
    refinement_pays: bool = True
    owns_batches: bool = False
    target_scale: float = 1.0
    is_linear_least_squares: bool = False
    data_fingerprint: str | None = None
    #: one (lo, hi) per parameter where the objective has a natural box (surfaces), else None
    bounds: list[tuple[float, float]] | None = None
    has_prox: bool = False
    exact_hvp: bool = False

    @property
    def smoothable(self) -> bool:
        """Convex in θ with a loss that has a smoothing: a model linear in θ and the MAE."""
        return self.is_linear and self.loss is not None and bool(self.loss.smoothable)

    @property
    def line_search_pays(self) -> bool:
        """A model linear in θ and a smooth loss whose curvature varies (Huber, log loss)."""
        return (
            self.is_linear
            and not self.has_prox
            and self.loss is not None
            and bool(self.loss.curvature_varies)
        )

    def smoothed(self, delta: float) -> Objective:
        """This objective with its loss smoothed within ``delta`` (where :attr:`smoothable`)."""
        raise NotImplementedError(f"{self.name} has no smoothing")

    @property
    def is_linear(self) -> bool:
        """The objective's model is linear in θ (a constant Hessian for smooth losses)."""
        return self.model is not None and bool(self.model.is_linear)

    def batches(self, batch_size: int, rng: np.random.Generator) -> ChunkSampler:
        """Endless mini-batches (``rows`` for :meth:`value_and_grad`) when ``owns_batches``,
        from a sampler whose state a checkpoint saves."""
        raise NotImplementedError(f"{self.name} does not draw its own batches")

    def reference(self) -> Reference | None:
        """The closed-form minimiser where one exists (least squares), else None."""
        return None

    def baseline_loss(self) -> float | None:
        """The loss of predicting the mean of y for every row (regression data), else None:
        what a fit must beat to have learned anything."""
        return None

    def gram(self) -> Array:
        """(1/n)·AᵀA of the augmented design, shape (p, p), for a model linear in θ."""
        raise NotImplementedError(f"{self.name} is not linear in θ: it has no Gram matrix")

    def value_and_grad(self, theta: Array) -> tuple[float, Array]:
        """Return ``(f(θ), ∇f(θ))``, the gradient of shape (p,)."""
        raise NotImplementedError

    def dense_least_squares(self) -> tuple[Array, Array] | None:
        """(Z, y) when the full-batch ``value_and_grad`` is the least squares of a linear model
        with an intercept on a dense design, L(θ) = (1/n)·‖y − Z·w − b‖² with θ = (w, b): Z
        float64 of shape (n, p − 1), y float64 of shape (n,). The loop's compiled pass
        (:mod:`descend.problems.fused_steps`) steps on these arrays; None (the default): the
        objective is evaluated only through ``value_and_grad``."""
        return None

    def prox(self, v: Array, eta: float) -> Array:
        """The proximal map of the non-smooth part at step η (identity when there is none)."""
        return np.asarray(v, dtype=np.float64)

    @property
    def may_separate(self) -> bool:
        """The objective can lack a minimiser by separation (log loss, model linear in θ)."""
        return False

    def separated(self, theta: Array) -> bool:
        """θ separates the data, so no minimiser exists (only when :attr:`may_separate`)."""
        return False

    def correct(self, theta: Array) -> NDArray[np.bool_]:
        """Per training row the loss sees: classified correctly by θ (only when
        :attr:`may_separate`; separated ⇔ all True)."""
        raise TypeError(f"{self.name}: no classes (not a log loss on a model linear in θ)")

    @property
    def known_separable(self) -> bool | None:
        """The training rows are linearly separable, as a linear program found when the
        problem was built (:meth:`DataObjective.check_separable`): True, False, or None when
        unknown (not checked, no SciPy, or not a log loss on a model linear in θ)."""
        return None

    def check_separable(self) -> bool | None:
        """Decide :attr:`known_separable` (once, where the problem is built); None here."""
        return None

    def stationarity(self, theta: Array, g: Array) -> Array:
        """The minimum-norm subgradient at θ given the smooth gradient g (g when smooth)."""
        return g

    def value(self, theta: Array) -> float:
        """Return f(θ)."""
        return self.value_and_grad(theta)[0]

    def grad(self, theta: Array) -> Array:
        """Return ∇f(θ), shape (p,)."""
        return self.value_and_grad(theta)[1]

    def hessian(self, theta: Array) -> Array:
        """Return ∇²f(θ), shape (p, p); here by central differences of the gradient."""
        return hessian_fd(self, theta)

    def hvp(self, theta: Array, v: Array) -> Array:
        """Hessian-vector product ∇²f(θ)·v, shape (p,); here by a central difference
        (objectives that declare :attr:`exact_hvp` override it with the exact product)."""
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
    model : descend.problems.models.Model
        A model already bound to the data (``model.bind(X)``).
    loss : Loss or str
    Z : ndarray, shape (n, k)
        The model's design (``model.design(X)``): features in the coordinates descent runs in.
    y : ndarray, shape (n,)
        Targets (class indices for the softmax, whose model gives ŷ of shape (n, K)).
    weights : ndarray, shape (n,), optional
        Sample weights s_i ≥ 0 (not all 0): L = Σ s_i ℓ_i / Σ s_i, the weighted mean, so that
        integer weights are the same as repeating rows. Stored normalised to mean 1
        (w_i = n·s_i/Σs), and a mini-batch's loss is (1/m) Σ_batch w_i ℓ_i, an unbiased
        estimate of the full one.

    Notes
    -----
    ``value_and_grad(θ, rows)`` evaluates the loss on a subset of rows (a mini-batch), as the
    mean over those rows, so that a batch gradient is an unbiased estimate of the full one.
    The gradient is ``model.vjp(θ, Z, ∂L/∂ŷ)``: the chain rule, loss first, then model.
    """

    n_samples: int
    #: the normalised sample weights (mean 1), None when every row counts once
    weights: Array | None = None

    def __init__(
        self, model: Any, loss: Loss | str, Z: Array, y: Array, weights: Array | None = None
    ) -> None:
        self.model = model
        self.loss = get_loss(loss)
        self.loss.check_targets(y)  # where the loss meets the data: every entry point passes here
        self._Z: Array | None = Z
        self.y = y
        self.n_params = int(model.n_params)
        self.n_samples = int(y.shape[0])
        self.name = f"{self.loss.spec()} of {model.spec()}"
        self._target_scale: float | None = None
        self._known_separable: bool | None = None
        # the squared error of a model that computes it in one call (bitwise the same)
        self._fused = bool(self.loss.is_least_squares and model.fuses_squared_error)
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            self.weights = w * (w.shape[0] / float(w.sum()))
            self._fused = False
        # …bound to the whole design once (Model.squared_error_on): the full-batch step's call
        self._full: Callable[[Array], tuple[float, Array]] | None = None

    @property
    def Z(self) -> Array:
        """The design the descent runs on, shape (n, k) (see :class:`FastDataObjective`)."""
        assert self._Z is not None
        return self._Z

    @Z.setter
    def Z(self, value: Array) -> None:
        self._Z = value
        self._full = None

    # -- evaluation -----------------------------------------------------------------------
    def _rows(self, rows: Array | None) -> tuple[Array, Array]:
        if rows is None:
            return self.Z, self.y
        return self.Z[rows], self.y[rows]

    def value_and_grad(self, theta: Array, rows: Array | None = None) -> tuple[float, Array]:
        if rows is None and self._fused:  # the squared error on all rows, its call bound once
            full = self._full
            if full is None:
                full = self._full = self.model.squared_error_on(self.Z, self.y)
            return full(theta)
        Z, y = (self.Z, self.y) if rows is None else self._rows(rows)
        if self._fused:
            return self.model.squared_error(theta, Z, y)
        yhat = self.model.forward(theta, Z)
        if self.weights is not None:
            w = self.weights if rows is None else self.weights[rows]
            loss, dyhat = self.loss.weighted(y, yhat, w)
        else:
            loss, dyhat = self.loss.value_and_grad(y, yhat)
        return loss, self.model.vjp(theta, Z, dyhat)

    def dense_least_squares(self) -> tuple[Array, Array] | None:
        # the model's bound closure (squared_error_on) is what value_and_grad calls here
        if not self._fused:
            return None
        return self.model.dense_least_squares(self.Z, self.y)

    def value(self, theta: Array, rows: Array | None = None) -> float:
        Z, y = self._rows(rows)
        if self.weights is not None:
            w = self.weights if rows is None else self.weights[rows]
            return self.loss.weighted(y, self.model.forward(theta, Z), w)[0]
        return self.loss.value(y, self.model.forward(theta, Z))

    def smoothed(self, delta: float) -> DataObjective:
        """The same data, model and fast paths with the loss smoothed within ``delta``
        (:meth:`descend.problems.losses.Loss.smoothed`); a shallow copy that shares the data."""
        twin = copy.copy(self)
        twin.loss = self.loss.smoothed(delta)
        twin.name = f"{twin.loss.spec()} of {self.model.spec()}"
        return twin

    def baseline_loss(self) -> float | None:
        """loss(y, ȳ·1) for numeric targets (None for class labels)."""
        if not self.loss.numeric_targets or self.y.size == 0:
            return None
        return float(self.loss.value(self.y, np.full_like(self.y, float(np.mean(self.y)))))

    def predict(self, theta: Array) -> Array:
        """ŷ on the objective's own rows, shape (n,)."""
        return np.asarray(self.model.forward(theta, self.Z))

    @property
    def may_separate(self) -> bool:
        """Log loss on a model linear in θ: separable data leave it without a minimiser."""
        return bool(self.loss.separable and self.model.is_linear)

    def separated(self, theta: Array) -> bool:
        """Every row classified correctly by θ (all margins > 0): see :meth:`Loss.separated`.
        Rows of weight 0 do not count (the loss does not see them)."""
        if not self.may_separate:
            return False
        if self.weights is None:
            return bool(self.loss.separated(self.y, self.predict(theta)))
        seen = self.weights > 0
        return bool(self.loss.separated(self.y[seen], self.predict(theta)[seen]))

    def correct(self, theta: Array) -> NDArray[np.bool_]:
        """Per row: classified correctly by θ (:meth:`Loss.correct`); rows of weight 0 left
        out, as in :meth:`separated`."""
        if not self.may_separate:
            return super().correct(theta)
        ok = self.loss.correct(self.y, self.predict(theta))
        return ok if self.weights is None else ok[self.weights > 0]

    @property
    def known_separable(self) -> bool | None:
        """What :meth:`check_separable` found (None before it ran)."""
        return self._known_separable

    def check_separable(self) -> bool | None:
        """Decide, once, whether some θ classifies every row correctly: a linear program
        (:func:`descend.problems.separability.linearly_separable`) on the design A the model
        is linear in (rows of weight 0 left out). None when :attr:`may_separate` is False or
        the program was not decided (no SciPy, too large)."""
        if not self.may_separate:
            return None
        if self._known_separable is None:
            A, y = self.model.augmented(self.Z), self.y
            if self.weights is not None:
                seen = self.weights > 0
                A, y = A[seen], y[seen]
            k = self.loss.n_outputs
            self._known_separable = linearly_separable(A, y, k if k > 1 else 2)
        return self._known_separable

    @property
    def target_scale(self) -> float:  # type: ignore[override]
        """std(y), computed once (one pass over y)."""
        if self._target_scale is None:
            self._target_scale = float(np.std(self.y))
        return self._target_scale

    # -- curvature ------------------------------------------------------------------------
    @property
    def is_linear_least_squares(self) -> bool:  # type: ignore[override]
        """True when the model is linear in θ and the loss is the squared error (unweighted:
        the closed form and exact Hessian here are those of the plain mean)."""
        return bool(self.model.is_linear and self.loss.is_least_squares and self.weights is None)

    def reference(self) -> Reference | None:
        """The least-squares answer by QR on the scaled design A = [Z, 1] descent sees.

        That keeps the problem as well conditioned as descent's; the model converts it to
        original units. None unless :attr:`is_linear_least_squares`, or when A is singular.
        """
        if not self.is_linear_least_squares:
            return None
        A = self.model.augmented(self.Z)
        try:
            theta = solve_qr(A, self.y)
        except ValueError:
            return None
        intercept, coef = self.model.to_original(theta)
        return Reference(theta, self.value(theta), intercept, coef)

    def gram(self) -> Array:
        """(1/n)·AᵀA for the linear model's augmented design A (with the intercept column).

        With K outputs (θ in K blocks, see :class:`~descend.problems.models.Linear`) it is
        I_K ⊗ (1/n)·AᵀA, shape (p, p): each block sees the same design.
        """
        A = self.model.augmented(self.Z)
        if self.weights is None:
            G = (A.T @ A) / self.n_samples
        else:  # (1/n)·Aᵀ·diag(w)·A: the weighted loss's curvature scale
            G = (A.T @ (A * self.weights[:, None])) / self.n_samples
        k = int(self.model.n_outputs)
        return G if k == 1 else np.kron(np.eye(k), G)

    def hessian(self, theta: Array) -> Array:
        """Exact (2/n)·AᵀA for a linear model with the MSE; finite differences otherwise."""
        if self.is_linear_least_squares:
            return 2.0 * self.gram()
        return super().hessian(theta)

    @property
    def exact_hvp(self) -> bool:  # type: ignore[override]
        """The model gives exact products (``has_hvp``) and the loss its second derivative."""
        return bool(self.model.has_hvp and self.loss.has_curvature)

    def hvp(self, theta: Array, v: Array) -> Array:
        """∇²L(θ)·v, shape (p,), for θ and v of shape (p,).

        Least squares on a model linear in θ: (2/n)·Aᵀ(A v). Where :attr:`exact_hvp`: the
        model's exact product (:meth:`~descend.problems.models.base.Model.hvp`; the MLP's
        R-operator) with g = ∂L/∂ŷ and h = ∂²L/∂ŷ² from the loss. Otherwise a central
        difference of the gradient.
        """
        v = np.asarray(v, dtype=np.float64)
        if self.is_linear_least_squares:
            A = self.model.augmented(self.Z)
            return (2.0 / self.n_samples) * (A.T @ (A @ v))
        if self.exact_hvp:
            theta = np.asarray(theta, dtype=np.float64)
            Z, y = self.Z, self.y
            yhat = self.model.forward(theta, Z)
            g = self.loss.grad(y, yhat)
            h = self.loss.curvature(y, yhat)
            return np.asarray(self.model.hvp(theta, Z, v, g, h))
        return super().hvp(theta, v)
