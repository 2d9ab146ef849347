"""Penalties on the coefficients in the user's units: ridge (L2), lasso (L1), elastic net.

The penalised objective is, with scikit-learn's names (α = ``alpha``, r = ``l1_ratio``),

    F(θ) = L(θ) + α·( r·‖w‖₁ + ½(1 − r)·‖w‖₂² ),        w = M·θ,

where L is the objective's own loss (MSE = the mean of squared residuals) and w are the model's
coefficients **in the data's units** (what ``res.coef`` reports). Descent runs on standardised
features, θ = (w_s, b); the coefficients in the user's units are a linear map of θ,
w = M·θ (for :class:`~descend.problems.models.Linear`, w_j = w_s,j / s_j: M is diagonal; for a
polynomial, M also undoes the change of basis). Penalising M·θ rather than θ keeps the problem
the one the user asked for — standardisation changes the coordinates, never the optimum. The
intercept is never penalised (its column of M is zero).

* ``"l2"`` (r = 0): smooth. Its gradient α·MᵀM·θ and Hessian α·MᵀM join the loss's, so the
  curvature advice, "auto" rates and the certificate (μ = λ_min of the exact Hessian) follow.
* ``"l1"`` and ``"elasticnet"`` (r > 0): the L1 part is not differentiable. :meth:`prox` is its
  proximal map (soft thresholding, exact zeros), which proximal gradient descent (ISTA,
  :func:`descend.descent.optim.proximal`) applies after each gradient step on the smooth part;
  it needs M to scale each parameter on its own (a model whose coefficients mix parameters,
  such as a polynomial, gets a clear error for L1).

Scikit-learn's α differs by the ½ in its least-squares loss: for MSE, descend's α corresponds
to ``Lasso(alpha=α/2)`` and ``ElasticNet(alpha=α/2, l1_ratio=r)``, and to ``Ridge(alpha=n·α/2)``
(Ridge sums the squared residuals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.samplers import ChunkSampler
from descend.problems.objective import Objective
from descend.problems.reference import Reference

Array = NDArray[np.float64]

__all__ = ["PENALTIES", "Penalty", "PenalizedObjective", "check_penalty", "penalize"]

#: the penalty names, as in scikit-learn's SGDRegressor (None: no penalty)
PENALTIES = ("l2", "l1", "elasticnet")


def check_penalty(penalty: Any, alpha: Any, l1_ratio: Any) -> tuple[str | None, float, float]:
    """Validate (penalty, α, l1_ratio) and return (name or None, α, r) with r the L1 share.

    ``"l2"`` has r = 0 and ``"l1"`` r = 1 whatever ``l1_ratio`` says; ``"elasticnet"`` uses it.

    Raises
    ------
    ValueError
        An unknown name, α < 0 or not finite, l1_ratio outside [0, 1].
    """
    if penalty is None or (isinstance(penalty, str) and penalty.strip().lower() == "none"):
        return None, 0.0, 0.0
    name = penalty.strip().lower() if isinstance(penalty, str) else penalty
    if name not in PENALTIES:
        raise ValueError(f"penalty must be None, 'l2', 'l1' or 'elasticnet', got {penalty!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.floating | np.integer):
        raise ValueError(f"alpha must be a number ≥ 0, got {alpha!r}")
    if not (math.isfinite(float(alpha)) and float(alpha) >= 0.0):
        raise ValueError(f"alpha must be a finite number ≥ 0, got {alpha!r} (e.g. alpha=1e-3)")
    if (
        isinstance(l1_ratio, bool)
        or not isinstance(l1_ratio, int | float | np.floating | np.integer)
        or not (0.0 <= float(l1_ratio) <= 1.0)
    ):
        raise ValueError(f"l1_ratio must be in [0, 1] (0: ridge, 1: lasso), got {l1_ratio!r}")
    r = {"l2": 0.0, "l1": 1.0}.get(name, float(l1_ratio))
    return name, float(alpha), r


@dataclass(frozen=True)
class Penalty:
    """α·(r·‖M·θ‖₁ + ½(1 − r)·‖M·θ‖₂²) on θ of shape (p,).

    Attributes
    ----------
    name : {"l2", "l1", "elasticnet"}
    alpha : float
        α ≥ 0.
    l1_ratio : float
        r ∈ [0, 1], the L1 share.
    M : ndarray, shape (k, p)
        The coefficients in the user's units, w = M·θ (zero column for the intercept).
    """

    name: str
    alpha: float
    l1_ratio: float
    M: Array

    @property
    def l2(self) -> float:
        """α·(1 − r): the weight of ½‖w‖₂² (the smooth part)."""
        return self.alpha * (1.0 - self.l1_ratio)

    @property
    def l1(self) -> float:
        """α·r: the weight of ‖w‖₁ (the non-smooth part)."""
        return self.alpha * self.l1_ratio

    @property
    def smooth(self) -> bool:
        """No L1 part: the penalised objective is differentiable."""
        return self.l1 == 0.0

    @property
    def hessian(self) -> Array:
        """α(1 − r)·MᵀM, shape (p, p): the L2 part's Hessian."""
        return self.l2 * (self.M.T @ self.M)

    def weights(self) -> Array:
        """|m_j| per parameter, shape (p,): w = m ⊙ θ when M scales each parameter alone.

        Raises
        ------
        ValueError
            A coefficient mixes several parameters (L1 has no separable proximal map then).
        """
        M = self.M
        nz = M != 0.0
        if np.any(nz.sum(axis=1) > 1) or np.any(nz.sum(axis=0) > 1):
            raise ValueError(
                "penalty='l1'/'elasticnet' needs coefficients that each scale one parameter; "
                "this model's coefficients in your units mix several (a polynomial's change of "
                "basis): use penalty='l2', or expand the features yourself and fit 'linear'"
            )
        return np.abs(M).sum(axis=0)

    def value(self, theta: Array) -> float:
        """The penalty at θ."""
        w = self.M @ theta
        return float(self.l1 * np.abs(w).sum() + 0.5 * self.l2 * (w @ w))


def coefficient_map(model: Any) -> Array:
    """M, shape (k, p): the model's coefficients in the user's units as a linear map of θ.

    Read column by column from the model's exact conversion (``to_original``), which is linear
    in θ for a model linear in θ (the intercept does not enter the coefficients). With K
    outputs every block of θ maps to its own row of coefficients by the same map M₁ (one
    output's), so M = I_K ⊗ M₁, shape (K·d, p), and only M₁'s columns are converted.
    """
    p = int(model.n_params)
    k = int(model.n_outputs)
    block = p // k
    c0 = np.ravel(model.to_original(np.zeros(p))[1])
    cols = []
    for j in range(block):
        e = np.zeros(p)
        e[j] = 1.0
        c = np.ravel(model.to_original(e)[1]) - c0
        cols.append(c[: c.size // k])  # the first output's row: M₁'s column j
    M1 = np.column_stack(cols)
    return M1 if k == 1 else np.kron(np.eye(k), M1)


class PenalizedObjective(Objective):
    """F(θ) = L(θ) + penalty(θ): the smooth part's gradient, the L1 part by its prox.

    ``value_and_grad(θ, rows)`` returns F (the whole objective, L1 included) and the gradient of
    the smooth part ∇L + α(1 − r)·MᵀM·θ. With an L1 part (``has_prox``), :meth:`prox` is the
    proximal map of the L1 term and :meth:`stationarity` the minimum-norm subgradient of F,
    which vanishes exactly at the optimum (what the loop judges convergence by).

    Parameters
    ----------
    base : Objective
        A data objective of a model linear in θ.
    penalty : Penalty
    """

    def __init__(self, base: Objective, penalty: Penalty) -> None:
        self.base = base
        self.penalty = penalty
        self.n_params = base.n_params
        self.n_samples = base.n_samples
        self.model = base.model
        self.loss = base.loss
        self.owns_batches = base.owns_batches
        self.is_linear_least_squares = base.is_linear_least_squares
        self.has_prox = not penalty.smooth
        self.name = f"{base.name} + {penalty.name} (α = {penalty.alpha:g})"
        self._H = penalty.hessian
        self._w = penalty.weights() if self.has_prox else None

    @property
    def target_scale(self) -> float:  # type: ignore[override]
        """std(y) of the data."""
        return self.base.target_scale

    def batches(self, batch_size: int, rng: np.random.Generator) -> ChunkSampler:
        return self.base.batches(batch_size, rng)

    def value_and_grad(self, theta: Array, rows: Any = None) -> tuple[float, Array]:
        if rows is None:
            loss, g = self.base.value_and_grad(theta)
        else:
            loss, g = self.base.value_and_grad(theta, rows)  # type: ignore[call-arg]
        return float(loss) + self.penalty.value(theta), g + self._H @ theta

    def value(self, theta: Array, rows: Any = None) -> float:
        base = self.base.value(theta) if rows is None else self.base.value(theta, rows)  # type: ignore[call-arg]
        return float(base) + self.penalty.value(theta)

    def predict(self, theta: Array) -> Array:
        return self.base.predict(theta)  # type: ignore[attr-defined]

    def gram(self) -> Array:
        """(1/n)·AᵀA + α(1 − r)·MᵀM / c, with c the loss's curvature bound (2 for MSE).

        So that c·gram() — what :func:`descend.problems.curvature.advise` reads — is the
        Hessian of the smooth part (exact for least squares, a bound otherwise).
        """
        c = self.loss.curvature_bound if self.loss.curvature_bound is not None else 2.0
        return self.base.gram() + self._H / c

    def hessian(self, theta: Array) -> Array:
        return self.base.hessian(theta) + self._H

    @property
    def exact_hvp(self) -> bool:  # type: ignore[override]
        """The base objective's products are exact (the penalty's Hessian is)."""
        return bool(self.base.exact_hvp)

    def baseline_loss(self) -> float | None:
        """The base objective's loss of predicting the mean of y."""
        return self.base.baseline_loss()

    def hvp(self, theta: Array, v: Array) -> Array:
        return self.base.hvp(theta, v) + self._H @ np.asarray(v, dtype=np.float64)

    # -- the non-smooth part ----------------------------------------------------------------
    def prox(self, v: Array, eta: float) -> Array:
        """argmin_θ ½‖θ − v‖² + η·α·r·‖M·θ‖₁: soft thresholding at η·α·r·|m_j|.

        θ_j = sign(v_j)·max(|v_j| − η·α·r·|m_j|, 0): exact zeros.
        """
        if self._w is None:
            return np.asarray(v, dtype=np.float64)
        t = eta * self.penalty.l1 * self._w
        return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)

    def stationarity(self, theta: Array, g: Array) -> Array:
        """The minimum-norm subgradient of F at θ, given g = ∇(smooth part)(θ).

        s_j = g_j + λ_j·sign(θ_j) where θ_j ≠ 0, and sign(g_j)·max(|g_j| − λ_j, 0) where
        θ_j = 0 (λ_j = α·r·|m_j|). s = 0 exactly at the minimiser; for a μ-strongly convex
        smooth part F − F* ≤ ‖s‖²/(2μ) and ‖θ − θ*‖ ≤ ‖s‖/μ (strong convexity of F).
        """
        if self._w is None:
            return g
        lam = self.penalty.l1 * self._w
        return np.where(
            theta != 0.0,
            g + lam * np.sign(theta),
            np.sign(g) * np.maximum(np.abs(g) - lam, 0.0),
        )

    def reference(self) -> Reference | None:
        """Ridge's closed form (least squares with an L2 penalty only), else None.

        θ* solves (2·G + α·MᵀM)·θ = 2·G·θ_ls, G = (1/n)·AᵀA, θ_ls the least-squares answer.
        """
        if not (self.is_linear_least_squares and self.penalty.smooth):
            return None
        ref = self.base.reference()
        if ref is None:
            return None
        G2 = 2.0 * self.base.gram()
        theta = np.asarray(np.linalg.solve(G2 + self._H, G2 @ ref.params), dtype=np.float64)
        intercept, coef = self.model.to_original(theta)
        return Reference(theta, self.value(theta), intercept, coef, "ridge")


def penalize(objective: Objective, penalty: Any, alpha: Any, l1_ratio: Any) -> Objective:
    """Add a penalty to a data objective (the objective itself when ``penalty`` is None).

    Raises
    ------
    ValueError
        Bad settings (:func:`check_penalty`), a model not linear in θ, or L1 on a model whose
        coefficients mix parameters.
    """
    name, a, r = check_penalty(penalty, alpha, l1_ratio)
    if name is None:
        return objective
    if objective.model is None or not objective.is_linear:
        raise ValueError(
            f"penalty={name!r} needs a model linear in θ ('linear', 'poly:D'), whose "
            "coefficients in your units it penalises; for a network use optimizer='adamw' "
            "with weight_decay"
        )
    return PenalizedObjective(objective, Penalty(name, a, r, coefficient_map(objective.model)))
