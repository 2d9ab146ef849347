"""Linear and polynomial regression: ŷ = Z·w + b on (scaled) features Z."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.problems.features import PolynomialBasis, Standardizer
from descend.problems.models.base import Model

__all__ = ["Linear", "Polynomial"]


Array = NDArray[np.float64]


class Linear(Model):
    """The lesson's linear model y = m·x + b, or y = X·w + b with many features.

    θ = [w₁, …, w_k, b] (b last, and absent when ``intercept=False``), in the coordinates of
    the scaled features z = (x − μ)/s when ``scale=True`` (the default), so descent converges
    quickly; :meth:`to_original` converts back to the units of the data.

    Gradients (chain rule, with g = ∂L/∂ŷ):  ∂L/∂w = Zᵀg,  ∂L/∂b = Σ_i g_i.
    For the MSE, g_i = −(2/n)(y_i − ŷ_i), so ∂L/∂m = −(2/n) Σ x_i (y_i − ŷ_i) and
    ∂L/∂b = −(2/n) Σ (y_i − ŷ_i); the Hessian is (2/n)·AᵀA with A = [Z, 1].

    **K outputs** (:meth:`with_outputs`, the softmax's K logits): θ holds K blocks of k + 1
    entries, θ = [w₁, b₁, w₂, b₂, …, w_K, b_K] (p = (k + 1)·K), and ŷ = Z·Wᵀ + bᵀ of shape
    (n, K) with W of shape (K, k) the blocks' weights. With G = ∂L/∂ŷ of shape (n, K):
    ∂L/∂W = Gᵀ·Z (shape (K, k)) and ∂L/∂b = Σ_i G_i (shape (K,)), block by block.

    Parameters
    ----------
    intercept : bool
        Fit b (default True).
    scale : bool
        Standardise the feature columns before descent (default True). ``scale=False`` runs
        descent on the raw columns, where badly scaled data make it crawl or diverge.
    """

    is_linear = True
    fuses_squared_error = True
    multi_output = True
    has_hvp = True
    #: the random start's intercept centre (ȳ once bound with targets; see bind_target_mean)
    start_offset = 0.0

    def __init__(self, intercept: bool = True, scale: bool = True) -> None:
        self.intercept = bool(intercept)
        self.scale = bool(scale)
        self.scaler: Standardizer | None = None
        self.feature_names = []

    # -- features -------------------------------------------------------------------------
    def _raw_features(self, X: Array) -> Array:
        """Φ(X) before scaling; the identity here, the polynomial basis in Polynomial."""
        return X

    def _bind_features(self, X: Array) -> None:
        """Learn whatever the raw feature map needs from X (nothing for Linear)."""

    def _bind(self, X: Array, weights: Array | None = None) -> None:
        self._bind_features(X if weights is None else X[np.asarray(weights) > 0])
        Phi = self._raw_features(X)
        k = Phi.shape[1]
        self.scaler = (
            Standardizer.fit(Phi, center=self.intercept, weights=weights)
            if self.scale
            else Standardizer.identity(k)
        )
        self.n_params = (k + int(self.intercept)) * self.n_outputs

    def bind_features(self, X: Array, feature_names: list[str] | None = None) -> Linear:
        """A copy bound to X's feature map only; finish with :meth:`set_scaling`.

        The fast path of :func:`descend.problems.objective.make_objective` uses this pair instead of
        :meth:`bind` so that the scaling comes from the one-pass statistics
        (:func:`descend.problems.stats.moments`) rather than from extra passes (and a temporary
        copy)
        over X.
        """
        bound = copy.copy(self)
        bound.n_features = int(X.shape[1])
        bound.feature_names = list(feature_names or [f"x{j + 1}" for j in range(X.shape[1])])
        bound._bind_features(X)
        return bound

    def raw_features(self, X: Array) -> Array:
        """Φ(X), the unscaled features (X itself, not a copy, for :class:`Linear`)."""
        return self._raw_features(X)

    def set_scaling(self, mean: Array, std: Array, rms: Array) -> None:
        """Finish binding with column statistics of Φ(X): z = (φ − mean)/std, or φ/rms
        without an intercept, or no scaling when ``scale=False`` (zero spreads become 1)."""
        k = int(np.shape(mean)[0])
        if not self.scale:
            self.scaler = Standardizer.identity(k)
        elif self.intercept:
            s = np.asarray(std, dtype=np.float64)
            self.scaler = Standardizer(np.asarray(mean, dtype=np.float64), np.where(s > 0, s, 1.0))
        else:
            s = np.asarray(rms, dtype=np.float64)
            self.scaler = Standardizer(np.zeros(k), np.where(s > 0, s, 1.0))
        self.n_params = k + int(self.intercept)

    @property
    def n_weights(self) -> int:
        """k, the number of feature columns (one output's θ without the intercept)."""
        return self.n_params // self.n_outputs - int(self.intercept)

    def blocks(self, theta: Array) -> Array:
        """θ as K rows of one output's parameters [w_c, b_c], shape (K, k + 1) (a view)."""
        return np.asarray(theta).reshape(self.n_outputs, -1)

    def design(self, X: Array) -> Array:
        """Z = (Φ(X) − μ)/s, shape (n, k)."""
        self._check_bound()
        assert self.scaler is not None
        Z = self.scaler.transform(self._raw_features(X)) if self.scale else self._raw_features(X)
        return np.ascontiguousarray(Z, dtype=np.float64)

    def augmented(self, Z: Array) -> Array:
        """A = [Z, 1] (or Z without an intercept), so that ŷ = A·θ; shape (n, p)."""
        if not self.intercept:
            return Z
        return np.column_stack([Z, np.ones(Z.shape[0])])

    # -- the mathematics ------------------------------------------------------------------
    def forward(self, theta: Array, Z: Array) -> Array:
        if self.n_outputs > 1:  # ŷ = Z·Wᵀ + bᵀ, shape (n, K)
            B = self.blocks(theta)
            k = B.shape[1] - int(self.intercept)
            Y = Z @ B[:, :k].T
            if self.intercept:
                Y += B[:, k]
            return np.asarray(Y)
        # k = n_weights inlined: this runs every step, and on small data the calls are the cost
        if self.intercept:
            k = self.n_params - 1
            yhat = Z @ theta[:k]
            yhat += theta[k]  # in place: the same rounding as yhat + b, one array fewer
            return yhat
        return np.asarray(Z @ theta)

    def vjp(self, theta: Array, Z: Array, g: Array) -> Array:
        if self.n_outputs > 1:  # g of shape (n, K): ∂L/∂W = gᵀZ, ∂L/∂b = Σ_i g_i, per block
            grad = np.empty((self.n_outputs, self.n_params // self.n_outputs))
            k = grad.shape[1] - int(self.intercept)
            grad[:, :k] = (Z.T @ g).T  # Zᵀg reads Z once in its own order (faster than gᵀZ)
            if self.intercept:
                grad[:, k] = g.sum(axis=0)
            return grad.reshape(-1)
        out = np.empty(self.n_params)
        if self.intercept:
            k = self.n_params - 1
            out[:k] = Z.T @ g
            out[k] = np.add.reduce(g)  # g.sum() without its Python wrapper (same reduction)
        else:
            out[:] = Z.T @ g
        return out

    def hvp(self, theta: Array, Z: Array, v: Array, g: Array, h: Array) -> Array:
        """∇²L·v = Aᵀ(h ⊙ A v), shape (p,), with A = [Z, 1]: ŷ = Aθ has no curvature of its
        own, so only the loss's (h = ∂²L/∂ŷ², shape (n,)) enters; (2/n)·AᵀA·v for the MSE."""
        v = np.asarray(v, dtype=np.float64)
        return self.vjp(theta, Z, np.asarray(h) * self.forward(v, Z))

    def squared_error(self, theta: Array, Z: Array, y: Array) -> tuple[float, Array]:
        """The MSE and its gradient: ``forward``, :class:`~descend.problems.losses.MSE` and
        ``vjp`` in one call, the same operations in the same order (the same bits).

        r = y − ŷ,  L = (r·r)/n,  d = −(2/n)·r,  ∇L = [Zᵀd, Σd] (Zᵀd alone without an intercept).
        """
        if not self.intercept:
            r = y - np.asarray(Z @ theta)
            n = r.shape[0]
            return float(r @ r) / n, self.vjp(theta, Z, (-2.0 / n) * r)
        k = self.n_params - 1
        # ndarray.dot on a C- or F-contiguous Z is the same BLAS call as ``@`` (gemv, ddot),
        # bit for bit, without matmul's dispatch (≈ 1 µs a call: most of a small step's cost)
        blas = type(Z) is np.ndarray and Z.flags.forc
        yhat = Z.dot(theta[:k]) if blas else Z @ theta[:k]
        yhat += theta[k]
        r = y - yhat
        n = r.shape[0]
        d = (-2.0 / n) * r
        grad = np.empty(k + 1)
        if blas:
            Z.T.dot(d, out=grad[:k])  # straight into the gradient, no temporary
        else:
            grad[:k] = Z.T @ d
        grad[k] = np.add.reduce(d)
        return float(r.dot(r)) / n, grad

    def squared_error_on(self, Z: Array, y: Array) -> Callable[[Array], tuple[float, Array]]:
        """θ ↦ :meth:`squared_error` (θ, Z, y) with what each call would look up done once
        (k, n, −2/n, the bound ``Z.dot`` and ``Z.T.dot``): the same operations in the same
        order, so the same bits, with fewer Python-level calls per step (on small data they
        are the cost: about 1 µs each)."""
        if not (self.intercept and type(Z) is np.ndarray and Z.flags.forc):
            return super().squared_error_on(Z, y)
        k = self.n_params - 1
        n = y.shape[0]
        c = -2.0 / n
        dot, dot_t, reduce, empty = Z.dot, Z.T.dot, np.add.reduce, np.empty

        def value_and_grad(theta: Array) -> tuple[float, Array]:
            yhat = dot(theta[:k])
            yhat += theta[k]
            r = y - yhat
            d = c * r
            grad = empty(k + 1)
            dot_t(d, out=grad[:k])
            grad[k] = reduce(d)
            return float(r.dot(r)) / n, grad

        return value_and_grad

    def dense_least_squares(self, Z: Array, y: Array) -> tuple[Array, Array] | None:
        # the case of squared_error_on's bound closure, with one output and float64 arrays
        if not (
            self.intercept
            and self.n_outputs == 1
            and type(Z) is np.ndarray
            and Z.flags.forc
            and Z.dtype == np.float64
            and Z.ndim == 2
            and Z.shape[1] == self.n_params - 1
            and type(y) is np.ndarray
            and y.dtype == np.float64
            and y.shape == (Z.shape[0],)
        ):
            return None
        return Z, y

    def bind_target_mean(self, y_mean: float) -> None:
        # With centred features the optimal b is the mean of y; starting b there (plus noise)
        # keeps every update rule's first steps about the slope, not about the data's level.
        single = self.n_outputs == 1  # K outputs: class indices have no useful mean
        self.start_offset = float(y_mean) if (self.intercept and self.scale and single) else 0.0

    def init_params(self, rng: np.random.Generator) -> Array:
        """Random θ₀: every entry ~ N(0, 1), plus ȳ on the intercept of a scaled model.

        θ₀ = ε + ȳ·e_b with ε ~ N(0, I), where ȳ is the mean of the y the model was bound
        with (0 when unscaled, without an intercept, or bound without y).
        """
        self._check_bound()
        theta = rng.standard_normal(self.n_params)
        if self.intercept and self.n_outputs == 1:
            theta[self.n_weights] += self.start_offset
        return theta

    def _weight_names(self) -> list[str]:
        """One name per weight of one output: ``["m"]`` for one feature, else w1, w2, …"""
        k = self.n_weights
        return ["m"] if k == 1 else [f"w{j + 1}" for j in range(k)]

    def unpack(self, theta: Array) -> dict[str, Any]:
        """``{"m": …, "b": …}`` for one feature, ``{"w1": …, …, "b": …}`` for several;
        with K outputs each name gets the output's index, in θ's order: ``w1[0]``, …, ``b[0]``,
        ``w1[1]``, …"""
        theta = np.asarray(theta, dtype=np.float64)
        names = [*self._weight_names(), *(["b"] if self.intercept else [])]
        if self.n_outputs == 1:
            return {n: float(theta[j]) for j, n in enumerate(names)}
        return {
            f"{n}[{c}]": float(v)
            for c, row in enumerate(self.blocks(theta))
            for n, v in zip(names, row, strict=True)
        }

    # -- original units -------------------------------------------------------------------
    def to_original(self, theta: Array) -> tuple[Any, Array]:
        """(intercept, coef) in the data's units: y ≈ intercept + coef·x.

        The whole map (undo the scaling z = (Φ − μ)/s, then Φ's change of basis) runs in exact
        rational arithmetic on the float64 θ, μ, s (and domain), and each result is rounded
        once: the conversion adds no error beyond that final rounding.

        With K outputs: intercepts of shape (K,) and coefficients of shape (K, d), one row per
        output (scikit-learn's ``intercept_`` and ``coef_``).
        """
        self._check_bound()
        assert self.scaler is not None
        theta = np.asarray(theta, dtype=np.float64)
        if self.n_outputs > 1:
            pairs = [self._to_original_one(row) for row in self.blocks(theta)]
            return np.array([b for b, _ in pairs]), np.vstack([c for _, c in pairs])
        return self._to_original_one(theta)

    def _to_original_one(self, theta: Array) -> tuple[float, Array]:
        """(intercept, coef) of one output's parameters θ, shape (k + 1,) or (k,): Φ is X
        here, so only the scaling is undone (exactly, rounded once: ``Standardizer.unscale``)."""
        assert self.scaler is not None
        k = self.n_weights
        b = float(theta[k]) if self.intercept else 0.0
        return self.scaler.unscale(theta[:k], b)

    def spec(self) -> str:
        return "linear" if self.intercept else "linear-nointercept"


class Polynomial(Linear):
    """Polynomial regression as linear regression on expanded features of one input x.

    ŷ = b + Σ_{k=1..d} w_k·z_k, with z_k the standardised φ_k(t) and t = x mapped onto
    [−1, 1] over the data's range (``scale=True``), or t = x and raw powers (``scale=False``).
    ``to_original`` reports coef[k−1] as the coefficient of x**k in the user's units.

    Parameters
    ----------
    degree : int
    basis : {"monomial", "legendre", "chebyshev"}
    intercept, scale : bool
        As in :class:`Linear`.
    """

    expands_features = True
    basis: PolynomialBasis

    def __init__(
        self, degree: int, basis: str = "monomial", intercept: bool = True, scale: bool = True
    ) -> None:
        super().__init__(intercept=intercept, scale=scale)
        self.basis = PolynomialBasis(degree, basis)  # validates degree and kind
        self.degree = int(degree)
        self.basis_kind = basis

    def _bind_features(self, X: Array) -> None:
        if X.shape[1] != 1:
            raise ValueError(
                f"a polynomial model expands one input column, but X has {X.shape[1]} columns "
                f"({', '.join(self.feature_names)}): choose one with --x (CLI) or pass X[:, [j]]"
            )
        domain = (float(X.min()), float(X.max())) if self.scale else None
        self.basis = PolynomialBasis(self.degree, self.basis_kind, domain)

    def _raw_features(self, X: Array) -> Array:
        return self.basis.transform(X[:, 0])

    def _to_original_one(self, theta: Array) -> tuple[float, Array]:
        """(intercept, coef) of one output's θ: the scaling undone and the basis changed to
        powers of x, all in exact rational arithmetic, each result rounded once."""
        assert self.scaler is not None
        k = self.n_weights
        b = float(theta[k]) if self.intercept else 0.0
        a0, a = self.scaler.unscale_exact(theta[:k], b)
        c = self.basis.to_monomial_exact([a0, *a])
        return float(c[0]), np.array([float(v) for v in c[1:]], dtype=np.float64)

    def _weight_names(self) -> list[str]:
        return [f"w{k + 1}" for k in range(self.degree)]

    def sizes(self) -> dict[str, int]:
        """``{"degree": d}``."""
        return {"degree": self.degree}

    def spec(self) -> str:
        base = f"poly:{self.degree}"
        return base if self.basis_kind == "monomial" else f"{base}:{self.basis_kind}"
