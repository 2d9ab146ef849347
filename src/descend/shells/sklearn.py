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

from sklearn.base import (  # noqa: E402
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402
from sklearn.utils.validation import (  # noqa: E402
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from descend.descent.fit import fit as _fit  # noqa: E402
from descend.descent.verdicts import (  # noqa: E402
    DEFAULT_GTOL,
    DEFAULT_N_ITER_NO_CHANGE,
    DEFAULT_PATIENCE,
    DEFAULT_TOL,
)
from descend.problems.features import BASES, PolynomialBasis  # noqa: E402
from descend.problems.models import get_model  # noqa: E402

Array = NDArray[np.float64]

__all__ = ["GDClassifier", "GDRegressor", "OrthogonalPolynomialFeatures"]

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
    penalty : {None, "l2", "l1", "elasticnet"}, default=None
        α·(l1_ratio·‖w‖₁ + ½(1 − l1_ratio)·‖w‖₂²) on the coefficients in the data's units
        (see :func:`descend.fit`; for MSE, scikit-learn's ``Lasso(alpha=a)`` is
        ``penalty="l1", alpha=2a``).
    alpha : float, default=1e-4
        α ≥ 0.
    l1_ratio : float, default=0.15
        The L1 share of ``"elasticnet"``, in [0, 1].
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop when their loss has made no new
        low for ``n_iter_no_change`` checks (steps; epochs for mini-batches), keeping the best
        θ on them (stop reason "early_stopped").
    validation_fraction : float, default=0.1
        The held-out share, used only with ``early_stopping`` (as in scikit-learn).
    n_iter_no_change : int, default=10
    warm_start : bool, default=False
        Start the next ``fit`` from this fit's θ (scikit-learn's meaning: reuse the previous
        solution as the initialisation) when the model has the same number of parameters;
        θ is in descent's coordinates (features standardised on the data being fitted), so the
        start is the previous fitted function exactly when the new data's column means and
        spreads are the same (the same X with a new ``alpha``, a continued run).
    average : bool or int, default=False
        Polyak–Ruppert averaging (SGD's ``average``, counted in updates): the fitted θ is the
        mean of the iterates after the first ``average`` updates (True: all of them), not the
        last one — for mini-batch runs at a constant rate (see :func:`descend.minimize`).
        ``fit`` only: ``partial_fit`` returns each pass's last iterate.
    live : bool, default=False
        Watch each fit while it runs (``descend.fit(..., live=True)``): the loss curve updated
        in place in Jupyter, a progress bar in a terminal.
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
    stop_reason_ : {"converged", "stationary", "stalled", "max_steps", "diverged", "interrupted", \
            "early_stopped"}
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
        penalty: str | None = None,
        alpha: float = 1e-4,
        l1_ratio: float = 0.15,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = DEFAULT_N_ITER_NO_CHANGE,
        live: bool = False,
        max_steps: int | None = None,
        warm_start: bool = False,
        average: bool | int = False,
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
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.live = live
        self.max_steps = max_steps
        self.warm_start = warm_start
        self.average = average

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # densified by descend (with a warning) when small
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GDRegressor:
        """Fit by gradient descent.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights s_i ≥ 0: the loss is Σ s_i ℓ_i / Σ s_i (integer weights = repeated
            rows); see :func:`descend.fit`.

        Returns
        -------
        self : GDRegressor
        """
        previous = self.__dict__.get("result_")
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, y_numeric=True, dtype=np.float64)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        res = _fit(
            X,
            y,
            model=self.model,
            loss=self.loss,
            max_steps=self.max_iter if self.max_steps is None else self.max_steps,
            theta0=_warm_start(self, previous, X.shape[1]),
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction if self.early_stopping else None,
            n_iter_no_change=self.n_iter_no_change,
            live=bool(self.live),
            sample_weight=sample_weight,
            average=self.average,
            **_common_settings(self),
        )
        _keep(self, res)
        if res.model.is_linear:
            self.intercept_ = float(res.intercept)
            self.coef_ = np.asarray(res.coef)
        if res.stop_reason in ("max_steps", "diverged", "stalled"):
            # scikit-learn's name for the step limit, in the estimator's own words
            reason = "max_iter" if res.stop_reason == "max_steps" else res.stop_reason
            message = res.message.replace("max_steps", "max_iter")
            warnings.warn(f"GDRegressor {reason}: {message}", ConvergenceWarning, stacklevel=2)
        return self

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> GDRegressor:
        """One pass over the batch (X, y), continuing from the state of the previous call.

        As SGDRegressor's ``partial_fit``: the first call (on an unfitted estimator) binds the
        model — its feature scaling comes from this first batch and is kept for every later
        batch, so θ means the same function throughout — and each call makes one epoch of
        updates from the previous θ: one full-batch step (``batch_size=None``), or
        ⌈n/batch_size⌉ mini-batch steps. Early stopping does not apply; no
        ConvergenceWarning is raised (a pass is not meant to converge).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            The same columns in every call.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GDRegressor
        """
        previous = self.__dict__.get("result_")
        X, y = validate_data(
            self, X, y, accept_sparse=_SPARSE, y_numeric=True, dtype=np.float64,
            reset=previous is None,
        )  # fmt: skip
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        res = _one_pass(self, previous, X, y, self.loss, sample_weight)
        _keep(self, res)
        if res.model.is_linear:
            self.intercept_ = float(res.intercept)
            self.coef_ = np.asarray(res.coef)
        return self

    def predict(self, X: Any) -> Array:
        """Predictions for X, shape (n_samples,)."""
        check_is_fitted(self, "result_")
        X = validate_data(self, X, reset=False, accept_sparse=_SPARSE, dtype=np.float64)
        return np.asarray(self.result_.predict(X))


def _keep(est: Any, res: Any) -> None:
    """The fitted attributes both estimators share, from a result (without its objective: no
    copy of the training data is kept)."""
    res.objective = None
    est.result_ = res
    est.n_iter_ = int(res.n_steps)
    est.loss_curve_ = np.asarray(res.history.loss)
    est.stop_reason_ = res.stop_reason
    est.certificate_ = res.certificate


def _common_settings(est: Any) -> dict[str, Any]:
    """The ``ds.fit`` settings every estimator call passes the same way (``fit`` of both
    estimators and ``partial_fit``'s pass): the rule, its rate and hyperparameters, batching,
    stopping, seed, penalty and the feature names scikit-learn recorded."""
    options: dict[str, Any] = dict(est.optimizer_params or {})
    if est.schedule is not None:
        options["schedule"] = est.schedule
    return {
        "optimizer": est.optimizer,
        "learning_rate": est.learning_rate,
        "batch_size": est.batch_size,
        "tol": est.tol,
        "seed": est.seed,
        "feature_names": [str(c) for c in getattr(est, "feature_names_in_", [])] or None,
        "patience": est.patience,
        "gtol": est.gtol,
        "penalty": est.penalty,
        "alpha": est.alpha,
        "l1_ratio": est.l1_ratio,
        **options,
    }


def _one_pass(est: Any, previous: Any, X: Any, y: Any, loss: Any, sample_weight: Any) -> Any:
    """``partial_fit``'s run: one epoch over (X, y) from the previous θ on the previous call's
    model with its binding kept (:meth:`descend.problems.models.Model.kept`), or from the
    seeded start on a model bound to this first batch."""
    model: Any = est.model if previous is None else previous.model.kept()
    theta0 = None if previous is None else np.array(previous.params, dtype=np.float64)
    n = X.shape[0]
    steps = 1 if est.batch_size is None else -(-n // max(int(est.batch_size), 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = _fit(
            X,
            y,
            model=model,
            loss=loss,
            max_steps=steps,
            theta0=theta0,
            sample_weight=sample_weight,
            warn=False,
            **_common_settings(est),
        )
    return res


def _warm_start(est: Any, previous: Any, n_features: int) -> Any:
    """θ₀ for a warm start: the previous fit's θ when ``warm_start`` and the model (its spec
    and its number of input columns) is the same, else None (the seeded start)."""
    if not est.warm_start or previous is None or previous.model is None:
        return None
    same = get_model(est.model).spec() == previous.model.spec()
    if not same or previous.model.n_features != n_features:
        return None
    return np.array(previous.params, dtype=np.float64)


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


class GDClassifier(ClassifierMixin, BaseEstimator):
    """Classification by gradient descent on the cross-entropy, as a scikit-learn estimator.

    A thin shell around :func:`descend.fit`. Two classes: ``loss="logloss"``, the labels
    encoded as 0 (``classes_[0]``) and 1 (``classes_[1]``), the model's output the logit
    z = b + w·x and P(classes_[1] | x) = σ(z) (scikit-learn's binary LogisticRegression).
    K > 2 classes: ``loss="softmax"``, the labels encoded as 0, …, K − 1 in the order of
    ``classes_``, K logits z_k = b_k + w_k·x and P(classes_[k] | x) = softmax(z)_k
    (scikit-learn's multinomial LogisticRegression). Unpenalised cross-entropy on separable
    data has no minimiser: the run stops with ``stop_reason_ == "separated"`` as soon as θ
    classifies every training row correctly, or once the loss has kept falling as ‖θ‖ grew on
    rows a linear program found separable (docs/verdicts.md; a ConvergenceWarning says so); a
    penalty gives a finite optimum.

    Parameters
    ----------
    model, optimizer, learning_rate, batch_size, schedule, max_iter, tol, patience, gtol, seed,
    optimizer_params, penalty, alpha, l1_ratio, early_stopping, validation_fraction,
    n_iter_no_change
        As in :class:`GDRegressor`. ``penalty="l2", alpha=a`` is scikit-learn's
        ``LogisticRegression(C=1/(n·a))`` on n rows (``C=1/(Σs·a)`` with sample weights s).
    warm_start : bool, default=False
        As in :class:`GDRegressor` (and only when ``classes_`` are the same).
    average : bool or int, default=False
        As in :class:`GDRegressor`.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` as scikit-learn's
        LogisticRegression does (``compute_class_weight`` with the sample weights):
        ``{label: weight}``, or "balanced", Σs/(n_classes·Σ_{rows of label} s) (with unit
        sample weights n_samples/(n_classes·count(label))). The reference
        ``LogisticRegression(C)`` is then ``alpha = 1/(C·Σ s·class_weight)``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted; for two classes ``classes_[1]`` is the positive class.
    coef_ : ndarray of shape (1, n_features) for two classes, (n_classes, n_features) else
    intercept_ : ndarray of shape (1,) for two classes, (n_classes,) else
    n_iter_, loss_curve_, stop_reason_, certificate_, result_, n_features_in_
        As in :class:`GDRegressor`.
    """

    def __init__(
        self,
        model: Any = "linear",
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
        penalty: str | None = None,
        alpha: float = 1e-4,
        l1_ratio: float = 0.15,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = DEFAULT_N_ITER_NO_CHANGE,
        class_weight: Any = None,
        warm_start: bool = False,
        average: bool | int = False,
    ) -> None:
        self.model = model
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
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GDClassifier:
        """Fit by gradient descent on the log loss.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Two or more distinct labels of any kind.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights s_i ≥ 0 (times ``class_weight``): the loss is Σ s_i ℓ_i / Σ s_i.

        Returns
        -------
        self : GDClassifier

        Raises
        ------
        ValueError
            One class only.
        """
        previous = self.__dict__.get("result_")
        old_classes = self.__dict__.get("classes_")
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=np.float64)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"y holds one class only ({classes.tolist()}): a classifier cannot learn from "
                "one class; give rows of both classes"
            )
        if old_classes is None or not np.array_equal(old_classes, classes):
            previous = None  # other classes: another problem, a cold start
        self.classes_ = classes
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:  # LogisticRegression's: "balanced" counts weights
            cw = compute_class_weight(
                self.class_weight, classes=classes, y=y, sample_weight=sample_weight
            )[np.searchsorted(classes, y)]
            sample_weight = cw if sample_weight is None else sample_weight * cw
        binary = len(classes) == 2
        # 0/1 for the log loss, 0, …, K − 1 (the order of classes_) for the softmax
        codes = np.searchsorted(classes, y).astype(np.float64)
        res = _fit(
            X,
            codes,
            model=self.model,
            loss="logloss" if binary else f"softmax:{len(classes)}",
            max_steps=self.max_iter,
            theta0=_warm_start(self, previous, X.shape[1]),
            early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction if self.early_stopping else None,
            n_iter_no_change=self.n_iter_no_change,
            sample_weight=sample_weight,
            average=self.average,
            **_common_settings(self),
        )
        _keep(self, res)
        if res.model.is_linear:
            self.intercept_ = np.asarray(res.intercept, dtype=np.float64).reshape(-1)
            self.coef_ = np.asarray(res.coef).reshape(len(self.intercept_), -1)
        if res.stop_reason in ("max_steps", "diverged", "stalled", "separated"):
            warnings.warn(
                f"GDClassifier {res.stop_reason}: {res.message}", ConvergenceWarning, stacklevel=2
            )
        return self

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> GDClassifier:
        """One pass over the batch (X, y), continuing from the state of the previous call.

        As SGDClassifier's ``partial_fit``: ``classes`` (every label the stream will hold)
        is required on the first call and may be repeated unchanged later; the first call
        binds the model (its feature scaling kept for every later batch), and each call makes
        one epoch of updates (one full-batch step, or ⌈n/batch_size⌉ mini-batch steps) on the
        log loss (two classes) or the softmax. ``class_weight="balanced"`` is refused (it
        needs every row at once, as in scikit-learn); a dict applies per batch.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels, each one of ``classes``.
        classes : array-like of shape (n_classes,), default=None
            All the labels; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GDClassifier

        Raises
        ------
        ValueError
            No ``classes`` on the first call, other ``classes`` later, fewer than two
            classes, a label of y not in ``classes``, or ``class_weight="balanced"``.
        """
        previous = self.__dict__.get("result_")
        old_classes = self.__dict__.get("classes_")
        if previous is None and classes is None:
            raise ValueError(
                "classes must be given on the first call to partial_fit: every label the "
                "batches will hold, e.g. partial_fit(X, y, classes=np.unique(y_all))"
            )
        if classes is not None:
            wanted: Any = np.unique(np.asarray(classes))
            if old_classes is not None and not np.array_equal(wanted, old_classes):
                raise ValueError(
                    f"classes={wanted.tolist()} differ from the first call's "
                    f"{np.asarray(old_classes).tolist()}: pass the same classes, or fit anew"
                )
            if len(wanted) < 2:
                raise ValueError(
                    f"classes holds one label only ({wanted.tolist()}): give two or more"
                )
        else:
            wanted = old_classes
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' needs all the rows at once: use fit, or a dict of "
                "weights with partial_fit"
            )
        X, y = validate_data(
            self, X, y, accept_sparse=_SPARSE, dtype=np.float64, reset=previous is None
        )
        check_classification_targets(y)
        unknown = np.setdiff1d(np.unique(y), wanted)
        if unknown.size:
            raise ValueError(
                f"y holds label {unknown[0]!r}, which is not in classes={wanted.tolist()}: "
                "give every label in classes on the first call"
            )
        self.classes_ = wanted
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        codes = np.searchsorted(wanted, y)
        if self.class_weight is not None:
            cw = compute_class_weight(self.class_weight, classes=wanted, y=y)[codes]
            sample_weight = cw if sample_weight is None else sample_weight * cw
        k = len(wanted)
        loss = "logloss" if k == 2 else f"softmax:{k}"
        res = _one_pass(self, previous, X, codes.astype(np.float64), loss, sample_weight)
        _keep(self, res)
        if res.model.is_linear:
            self.intercept_ = np.asarray(res.intercept, dtype=np.float64).reshape(-1)
            self.coef_ = np.asarray(res.coef).reshape(len(self.intercept_), -1)
        return self

    def decision_function(self, X: Any) -> Array:
        """Two classes: the logit z = b + w·x for ``classes_[1]``, shape (n_samples,).
        K classes: the K logits z_k = b_k + w_k·x, shape (n_samples, K)."""
        check_is_fitted(self, "result_")
        X = validate_data(self, X, reset=False, accept_sparse=_SPARSE, dtype=np.float64)
        return np.asarray(self.result_.predict(X), dtype=np.float64)

    def predict_proba(self, X: Any) -> Array:
        """P(classes_[k] | x) per row, shape (n_samples, n_classes): [1 − σ(z), σ(z)] for two
        classes, softmax(z) for K."""
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X: Any) -> Array:
        """log of :meth:`predict_proba`, computed stably: log σ(z) = −log(1 + e^−z), and
        log softmax(z)_k = z_k − log Σ_j e^{z_j} (the row maximum subtracted first)."""
        z = self.decision_function(X)
        if z.ndim == 1:
            return np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])
        m = z.max(axis=1, keepdims=True)
        return np.asarray(z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True)))

    def predict(self, X: Any) -> NDArray[Any]:
        """The class of the largest logit (two classes: ``classes_[1]`` where z > 0);
        shape (n_samples,)."""
        z = self.decision_function(X)
        if z.ndim == 1:
            return np.asarray(self.classes_[(z > 0).astype(int)])
        return np.asarray(self.classes_[np.argmax(z, axis=1)])
