"""scikit-learn compatible estimators (the ``sklearn`` extra).

:class:`GDRegressor` is a thin shell around :func:`descend.fit`: it validates inputs the way
scikit-learn estimators do, calls the library, and exposes the result with scikit-learn's
attribute names. It contains no mathematics. :class:`OrthogonalPolynomialFeatures` expands each
column in a Legendre or Chebyshev basis with :class:`descend.problems.features.PolynomialBasis`.

>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import PolynomialFeatures
>>> import numpy as np
>>> x = np.linspace(-1, 2, 30).reshape(-1, 1)
>>> y = 1 + 2 * x[:, 0] - x[:, 0] ** 3
>>> pipe = make_pipeline(PolynomialFeatures(3, include_bias=False), GDRegressor(tol=0, gtol=1e-10))
>>> round(pipe.fit(x, y).score(x, y), 6)
1.0
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.data.names import require

require("sklearn", "sklearn", "descend.estimators (GDRegressor)")

from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils.validation import check_is_fitted, validate_data  # noqa: E402

from descend.descent.fit import fit as _fit  # noqa: E402
from descend.descent.verdicts import DEFAULT_GTOL, DEFAULT_PATIENCE, DEFAULT_TOL  # noqa: E402
from descend.problems.features import BASES, PolynomialBasis  # noqa: E402

Array = NDArray[np.float64]

__all__ = ["GDRegressor", "OrthogonalPolynomialFeatures"]

_SPARSE = ("csr", "csc", "coo")


class GDRegressor(RegressorMixin, BaseEstimator):
    """Regression by gradient descent with descend, as a scikit-learn estimator.

    Every parameter is passed to :func:`descend.fit` unchanged (``max_iter`` → ``max_steps``,
    ``optimizer_params`` → optimizer hyperparameters); nothing is validated in ``__init__``.

    Parameters
    ----------
    model : str or descend.Model, default="linear"
        ``"linear"``, ``"linear-nointercept"``, ``"poly:3"`` (one input column), ``"mlp:8,8"``…
    loss : str, default="mse"
        ``"mse"``, ``"mae"``, ``"huber"``/``"huber:2"``, ``"logloss"``.
    optimizer : str, default="gd"
        ``"gd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``…
    learning_rate : float, "auto", "armijo" or schedule, default="auto"
        ``"auto"`` takes the curvature's best constant rate.
    batch_size : int or None, default=None
        None: full batch; k: mini-batches of k rows; 1: stochastic.
    schedule : str or None, default=None
        A learning-rate schedule name (``"cosine"``, ``"step"``…).
    max_iter : int, default=10000
        Maximum number of updates (descend's ``max_steps``).
    tol : float, default=1e-9
        Certified relative excess: "converged" when ‖∇L‖²/(2μ) ≤ tol·|L| (see
        :func:`descend.minimize` and :mod:`descend.descent.verdicts`).
    patience : int, default=10
        Consecutive steps (or epochs) with an unchanged loss before the run has "stalled".
    gtol : float, default=1e-8
        "stationary" when ‖∇L‖ ≤ gtol·‖∇L(θ₀)‖ (problems without a certificate).
    seed : int or None, default=0
        Seeds θ₀ and the mini-batch shuffling (scikit-learn's ``random_state``).
    optimizer_params : dict or None, default=None
        Optimizer hyperparameters, e.g. ``{"beta": 0.9}`` or ``{"b1": 0.8}``.
    max_steps : int or None, default=None
        Alias of ``max_iter`` (descend's Python name); when given it wins.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients in the data's units (linear and polynomial models).
    intercept_ : float
        Intercept in the data's units (0.0 without one).
    n_iter_ : int
        Updates made.
    loss_curve_ : ndarray of shape (n_iter_,)
        The loss before each update.
    stop_reason_ : {"converged", "stationary", "stalled", "max_steps", "diverged", "interrupted"}
        "converged" is certified (see ``certificate_``); a ConvergenceWarning is raised for
        "stalled", "max_steps" and "diverged".
    certificate_ : descend.descent.verdicts.Certificate or None
        Bounds on the excess loss and the distance to the optimum (least squares), else None.
    result_ : descend.FitResult
        The full result (history, advice, reference, message), without its objective.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    """

    def __init__(
        self,
        model: Any = "linear",
        loss: Any = "mse",
        optimizer: Any = "gd",
        learning_rate: Any = "auto",
        batch_size: int | None = None,
        schedule: str | None = None,
        max_iter: int = 10_000,
        tol: float = DEFAULT_TOL,
        patience: int = DEFAULT_PATIENCE,
        gtol: float = DEFAULT_GTOL,
        seed: int | None = 0,
        optimizer_params: dict[str, Any] | None = None,
        max_steps: int | None = None,
    ) -> None:
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.schedule = schedule
        self.max_iter = max_iter
        self.tol = tol
        self.patience = patience
        self.gtol = gtol
        self.seed = seed
        self.optimizer_params = optimizer_params
        self.max_steps = max_steps

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # densified by descend (with a warning) when small
        return tags

    def fit(self, X: Any, y: Any) -> GDRegressor:
        """Fit by gradient descent.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : GDRegressor
        """
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, y_numeric=True, dtype=np.float64)
        names = [str(n) for n in getattr(self, "feature_names_in_", [])] or None
        options: dict[str, Any] = dict(self.optimizer_params or {})
        if self.schedule is not None:
            options["schedule"] = self.schedule
        res = _fit(
            X,
            y,
            model=self.model,
            loss=self.loss,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            max_steps=self.max_iter if self.max_steps is None else self.max_steps,
            tol=self.tol,
            seed=self.seed,
            feature_names=names,
            patience=self.patience,
            gtol=self.gtol,
            **options,
        )
        res.objective = None  # do not keep a copy of the training data
        self.result_ = res
        self.n_iter_ = int(res.n_steps)
        self.loss_curve_ = np.asarray(res.history.loss)
        self.stop_reason_ = res.stop_reason
        self.certificate_ = res.certificate
        if res.model.is_linear:
            self.intercept_ = float(res.intercept)
            self.coef_ = np.asarray(res.coef)
        if res.stop_reason in ("max_steps", "diverged", "stalled"):
            # scikit-learn's name for the step limit, in the estimator's own words
            reason = "max_iter" if res.stop_reason == "max_steps" else res.stop_reason
            message = res.message.replace("max_steps", "max_iter")
            warnings.warn(f"GDRegressor {reason}: {message}", ConvergenceWarning, stacklevel=2)
        return self

    def predict(self, X: Any) -> Array:
        """Predictions for X, shape (n_samples,)."""
        check_is_fitted(self, "result_")
        X = validate_data(self, X, reset=False, accept_sparse=_SPARSE, dtype=np.float64)
        return np.asarray(self.result_.predict(X))


class OrthogonalPolynomialFeatures(TransformerMixin, BaseEstimator):
    """Expand each column x_j into φ_1(t_j), …, φ_d(t_j) of an orthogonal polynomial basis.

    t_j maps the column's training range onto [−1, 1], where Legendre and Chebyshev columns are
    far better conditioned than the powers x, x², x³ (see :class:`descend.problems.features.
    PolynomialBasis`). Columns are expanded one by one (no interaction terms), and the constant
    φ_0 is left out unless ``include_bias=True``.

    Parameters
    ----------
    degree : int, default=3
    basis : {"chebyshev", "legendre", "monomial"}, default="chebyshev"
    include_bias : bool, default=False
        Prepend a column of ones.

    Attributes
    ----------
    bases_ : list of descend.problems.features.PolynomialBasis
        One per input column, with its learned domain.
    n_features_in_ : int
    n_output_features_ : int
    """

    def __init__(self, degree: int = 3, basis: str = "chebyshev", include_bias: bool = False):
        self.degree = degree
        self.basis = basis
        self.include_bias = include_bias

    def fit(self, X: Any, y: Any = None) -> OrthogonalPolynomialFeatures:
        """Learn each column's range."""
        X = validate_data(self, X, dtype=np.float64)
        if self.basis not in BASES:
            raise ValueError(f"basis must be one of {BASES}, got {self.basis!r}")
        self.bases_ = [
            PolynomialBasis(int(self.degree), self.basis, (float(col.min()), float(col.max())))
            for col in X.T
        ]
        self.n_output_features_ = X.shape[1] * int(self.degree) + int(bool(self.include_bias))
        return self

    def transform(self, X: Any) -> Array:
        """The expanded features, shape (n_samples, n_output_features_)."""
        check_is_fitted(self, "bases_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        blocks = [b.transform(X[:, j]) for j, b in enumerate(self.bases_)]
        if self.include_bias:
            blocks.insert(0, np.ones((X.shape[0], 1)))
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        """``"<basis>_<k>(<column>)"`` names, e.g. ``chebyshev_2(x0)``."""
        check_is_fitted(self, "bases_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{j}" for j in range(self.n_features_in_)]
            )
        names = ["1"] if self.include_bias else []
        for col in input_features:
            names += [f"{self.basis}_{k}({col})" for k in range(1, int(self.degree) + 1)]
        return np.asarray(names, dtype=object)
