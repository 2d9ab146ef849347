"""The model interface every model implements."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.problems.features import PolynomialBasis

__all__ = ["Model"]


Array = NDArray[np.float64]


class Model:
    """ŷ = f(θ, Z) on a design Z made from the raw inputs X.

    A model is first *bound* to data (:meth:`bind`), which learns its feature scaling and fixes
    the number of parameters; then:

    - ``design(X) -> Z``: features in the coordinates descent runs in, shape (n, k);
    - ``forward(θ, Z) -> ŷ``: predictions, shape (n,) — or (n, K) for a model with K outputs
      (:meth:`with_outputs`, the softmax's logits);
    - ``vjp(θ, Z, g) -> ∂L/∂θ``: the chain rule, with g = ∂L/∂ŷ of ŷ's shape;
    - ``unpack(θ) -> dict``: named views of θ (``{"m": …, "b": …}``, per-layer weights);
    - ``init_params(rng) -> θ₀``: random initial parameters.
    """

    # -- declared capabilities (subclasses override; nobody probes with getattr) -----------
    #: linear in θ: ŷ = Z·w (+ b), so least squares has a closed form and the one-pass
    #: statistics of the features (the fast paths, Dask) describe the whole problem
    is_linear: bool = False
    #: the features are a map Φ(X) of more columns than X (a polynomial): a pass over X alone
    #: does not give Φ's statistics
    expands_features: bool = False
    #: θ holds an intercept b (ŷ = … + b)
    intercept: bool = False
    #: the inputs are standardised before the model sees them
    scale: bool = True
    #: :meth:`squared_error` computes the MSE and its gradient in one call, bit for bit what
    #: ``forward``, the MSE's gradient and ``vjp`` give in three (small data: calls cost)
    fuses_squared_error: bool = False
    #: :meth:`hvp` gives exact Hessian-vector products of a loss of ŷ (the R-operator)
    has_hvp: bool = False
    #: the polynomial basis Φ is built from (a Polynomial's; None for every other model)
    basis: PolynomialBasis | None = None
    #: the model can give K > 1 outputs per row (:meth:`with_outputs`): ŷ of shape (n, K)
    multi_output: bool = False
    #: K, the outputs per row: ŷ of shape (n,) when 1, (n, K) otherwise (the softmax's logits)
    n_outputs: int = 1
    n_params: int = 0
    n_features: int = 0
    feature_names: list[str]
    #: a bound model whose scaling (and output scale) :meth:`bind` keeps: what successive
    #: ``partial_fit`` calls run on, so θ means the same function from batch to batch
    keeps_binding: bool = False

    def with_outputs(self, k: int) -> Model:
        """A copy of this (unbound) model with K outputs per row: ŷ of shape (n, K).

        What a loss with K outputs (the softmax) needs; K = 1 returns the model itself.

        Raises
        ------
        ValueError
            K > 1 for a model with one output only (not :attr:`multi_output`).
        """
        k = int(k)
        if k == self.n_outputs:
            return self
        if self.keeps_binding:
            raise ValueError(
                f"the model was bound with {self.n_outputs} outputs; this batch needs {k}"
            )
        if not self.multi_output:
            raise ValueError(
                f"the model {self.spec()!r} has one output per row, but the loss needs {k} "
                "(one logit per class): use 'linear' or an MLP ('mlp:8')"
            )
        twin = copy.copy(self)
        twin.n_outputs = k
        return twin

    # -- life cycle -----------------------------------------------------------------------
    def bind(
        self,
        X: Array,
        feature_names: list[str] | None = None,
        y: Array | None = None,
        weights: Array | None = None,
        *,
        scale_target: bool = True,
    ) -> Model:
        """Return a copy of this model fitted to the inputs X of shape (n, d).

        ``y`` (shape (n,)), when given, lets a model centre its random start on the data
        (see :meth:`bind_target`) and — with ``scale_target``, for targets that are numbers in
        the data's units (a regression loss) — standardise its output
        (:meth:`bind_target_scale`); it never changes the features. ``weights`` (shape (n,),
        ≥ 0), when given, make the scaling the weighted one (row i counted w_i times, rows of
        weight 0 not at all), so weighting rows and repeating them bind the same model.
        """
        if self.keeps_binding:
            if int(X.shape[1]) != self.n_features:
                raise ValueError(
                    f"X has {X.shape[1]} columns, but the model was bound to {self.n_features} "
                    "(the first partial_fit batch): give every batch the same columns"
                )
            return self
        bound = copy.copy(self)
        bound.n_features = int(X.shape[1])
        bound.feature_names = list(feature_names or [f"x{j + 1}" for j in range(X.shape[1])])
        bound._bind(X, weights)
        if y is not None:
            ya = np.asarray(y, dtype=np.float64)
            if weights is None:
                bound.bind_target(ya)
            else:
                bound.bind_target_mean(float(np.average(ya, weights=weights)))
            if scale_target:
                bound.bind_target_scale(ya, weights)
        return bound

    def kept(self) -> Model:
        """A copy of this bound model that :meth:`bind` returns unchanged: its feature scaling
        (and output scale) stay those of the data it was bound to, for every later batch."""
        self._check_bound()
        twin = copy.copy(self)
        twin.keeps_binding = True
        return twin

    def bind_target_scale(self, y: Array, weights: Array | None = None) -> None:
        """Learn an output scale from regression targets y, shape (n,), weighted by ``weights``
        when given (nothing here; the MLP predicts ŷ = ȳ + s_y·net(z), so its weights work in
        standardised units)."""

    def _bind(self, X: Array, weights: Array | None = None) -> None:
        raise NotImplementedError

    def bind_target(self, y: Array) -> None:
        """Learn what the random start needs from the targets y, shape (n,) (nothing here)."""
        self.bind_target_mean(float(np.mean(y)))

    def bind_target_mean(self, y_mean: float) -> None:
        """Learn what the random start needs from the targets' mean (nothing by default)."""

    @property
    def is_bound(self) -> bool:
        """True once :meth:`bind` has fixed the feature scaling and the size p of θ."""
        return self.n_params > 0

    def _check_bound(self) -> None:
        if not self.is_bound:
            raise RuntimeError(f"{self.spec()} is not bound to data yet: call model.bind(X)")

    def check_inputs(self, X: Array) -> None:
        """Raise a clear error when X has the wrong number of columns."""
        if X.ndim != 2 or X.shape[1] != self.n_features:
            got = X.shape[1] if X.ndim == 2 else "a 1-D array"
            raise ValueError(
                f"X has {got} feature column(s) but the model was fitted on {self.n_features} "
                f"({', '.join(self.feature_names)}): pass the same columns in the same order"
            )

    # -- the mathematics ------------------------------------------------------------------
    def design(self, X: Array) -> Array:
        """Z, the features descent runs on, shape (n, k), from raw inputs X of shape (n, d)."""
        raise NotImplementedError

    def forward(self, theta: Array, Z: Array) -> Array:
        """Predictions ŷ, shape (n,), for θ of shape (p,) on a design Z of shape (n, k)."""
        raise NotImplementedError

    def vjp(self, theta: Array, Z: Array, g: Array) -> Array:
        """∂L/∂θ = (∂ŷ/∂θ)ᵀ g, shape (p,), for g = ∂L/∂ŷ of shape (n,) (backpropagation)."""
        raise NotImplementedError

    def hvp(self, theta: Array, Z: Array, v: Array, g: Array, h: Array) -> Array:
        """∇²_θ L(θ)·v, shape (p,), for L = Σ_i ℓ_i(ŷ_i(θ)) — models that declare :attr:`has_hvp`.

        With J = ∂ŷ/∂θ (n × p), g = ∂L/∂ŷ and h = ∂²L/∂ŷ² (both shape (n,); the Hessian of L
        in ŷ is diagonal),

            ∇²L·v = Jᵀ (h ⊙ J v) + Σ_i g_i ∇²ŷ_i·v,

        the Gauss–Newton part plus the model's own curvature weighted by the residuals.
        """
        raise NotImplementedError(f"{self.spec()} gives no exact Hessian-vector products")

    def squared_error(self, theta: Array, Z: Array, y: Array) -> tuple[float, Array]:
        """(L, ∇L) of the MSE L = (1/n)‖y − ŷ‖² in one call; models that declare
        :attr:`fuses_squared_error` implement it."""
        raise NotImplementedError

    def squared_error_on(self, Z: Array, y: Array) -> Callable[[Array], tuple[float, Array]]:
        """θ ↦ :meth:`squared_error` (θ, Z, y), bound to one design: what the loop calls every
        full-batch step. A model may precompute what each call would look up (the same
        operations on the same numbers, so the same bits)."""
        return lambda theta: self.squared_error(theta, Z, y)

    def dense_least_squares(self, Z: Array, y: Array) -> tuple[Array, Array] | None:
        """(Z, y) when :meth:`squared_error_on` (Z, y) is L(θ) = (1/n)·‖y − Z·w − b‖² with
        θ = (w, b) on dense float64 arrays (one output, an intercept): what a data objective's
        :meth:`~descend.problems.objective.Objective.dense_least_squares` reports. None (the
        default) for every other model."""
        return None

    def predict(self, theta: Array, X: Array) -> Array:
        """ŷ for raw inputs X of shape (n, d): ``forward(θ, design(X))``."""
        self._check_bound()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1 and self.n_features == 1:
            X = X.reshape(-1, 1)
        self.check_inputs(X)
        return self.forward(np.asarray(theta, dtype=np.float64), self.design(X))

    def init_params(self, rng: np.random.Generator) -> Array:
        """A random starting point θ₀, shape (p,), drawn from ``rng``."""
        raise NotImplementedError

    def unpack(self, theta: Array) -> dict[str, Any]:
        """Named views of θ (shape (p,)) for display: ``{"m": …, "b": …}``, per-layer weights."""
        raise NotImplementedError

    def param_names(self) -> list[str]:
        """One label per entry of θ, for tables and plot axes."""
        names: list[str] = []
        for key, value in self.unpack(np.zeros(self.n_params)).items():
            size = int(np.size(value))
            if size == 1:
                names.append(key)
            else:
                names.extend(f"{key}[{i}]" for i in np.ndindex(np.shape(value)))
        return [n.replace("(", "").replace(",)", "").replace(")", "") for n in names]

    def sizes(self) -> dict[str, int]:
        """The numbers that set this model's size before it sees data, for callers that cap
        them: ``{"degree": d}`` for a polynomial, ``{"layers": L, "width": max hₗ}`` for an
        MLP, ``{}`` for a model whose size is the data's (linear)."""
        return {}

    def spec(self) -> str:
        """The string that :func:`descend.problems.models.get_model` turns back into this model."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec()!r})"
