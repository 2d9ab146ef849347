"""partial_fit for GDRegressor and GDClassifier (shells/sklearn.py): one pass per call, the
state (θ and the model's binding) kept between calls, as SGDRegressor/SGDClassifier define it."""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from descend.estimators import GDClassifier, GDRegressor  # noqa: E402


@pytest.fixture
def regression(rng):
    """Columns of very different scales and offsets: a binding that moved from batch to
    batch would change the fitted function."""
    X = rng.normal(size=(400, 3)) * [1.0, 10.0, 100.0] + [5.0, -3.0, 50.0]
    y = X @ np.array([1.0, 0.2, -0.03]) + 2.0 + 0.1 * rng.normal(size=400)
    return X, y


def _lstsq(X, y):
    A = np.column_stack([X, np.ones(len(X))])
    sol = np.linalg.lstsq(A, y, rcond=None)[0]
    return sol[:-1], sol[-1]


def test_full_batch_calls_reach_the_least_squares_answer(regression):
    """Each call on the whole data is one gradient step from the last θ: enough calls reach
    the closed form (numpy's lstsq), and the distance falls with the calls (a call at a
    certified optimum makes no step: n_iter_ 0)."""
    X, y = regression
    coef, b = _lstsq(X, y)
    est = GDRegressor()
    gaps = []
    for calls in range(1, 201):
        est.partial_fit(X, y)
        assert est.n_iter_ == 1 or est.stop_reason_ == "converged"
        if calls in (5, 200):
            gaps.append(np.linalg.norm(est.coef_ - coef) / np.linalg.norm(coef))
    assert gaps[1] < 1e-8 < gaps[0]
    assert est.intercept_ == pytest.approx(b, rel=1e-8)


def test_mini_batch_passes_approach_the_full_fit(regression):
    """Four batches per pass, batch_size 25 (4 steps a call): 40 passes land near lstsq,
    closer than 2 passes; the scaling of the first batch is kept (the function carries on)."""
    X, y = regression
    coef, _ = _lstsq(X, y)
    est = GDRegressor(optimizer="sgd", learning_rate=0.05, batch_size=25, seed=1)
    errs = []
    for epoch in range(40):
        for rows in np.array_split(np.arange(len(y)), 4):
            est.partial_fit(X[rows], y[rows])
        assert est.n_iter_ == 4
        if epoch in (1, 39):
            errs.append(np.abs(est.coef_ - coef).max())
    assert errs[1] < 0.02 < errs[0] or errs[1] < errs[0] / 5
    assert np.abs(est.coef_ - coef).max() < 0.02
    assert est.predict(X[:7]).shape == (7,)


def test_regressor_refuses_other_columns(regression):
    X, y = regression
    est = GDRegressor().partial_fit(X, y)
    with pytest.raises(ValueError, match="3 features|columns"):
        est.partial_fit(X[:, :2], y)


def test_classifier_needs_classes_first_and_keeps_them():
    X, y = load_iris(return_X_y=True)
    est = GDClassifier()
    with pytest.raises(ValueError, match="classes must be given"):
        est.partial_fit(X, y)
    est.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])  # a batch without class 2
    assert list(est.classes_) == [0, 1, 2]
    assert est.coef_.shape == (3, 4) and est.intercept_.shape == (3,)
    assert est.predict_proba(X[:5]).shape == (5, 3)
    est.partial_fit(X, y)  # classes may be left out later …
    with pytest.raises(ValueError, match="differ"):
        est.partial_fit(X, y, classes=[0, 1])  # … but not changed
    with pytest.raises(ValueError, match="not in classes"):
        GDClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="balanced"):
        GDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


def test_classifier_passes_approach_the_full_fit():
    """Iris, three classes, L2 (LogisticRegression's optimum with C = 1/(n·α)): the
    objective's optimum is unique; full-batch calls get closer to it the more there are."""
    X, y = load_iris(return_X_y=True)
    alpha = 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = LogisticRegression(C=1 / (len(y) * alpha), tol=1e-12, max_iter=10_000).fit(X, y)
    est = GDClassifier(penalty="l2", alpha=alpha)
    gaps = []
    for calls in range(1, 401):
        est.partial_fit(X, y, classes=np.unique(y))
        if calls in (10, 400):
            p, q = est.predict_proba(X), ref.predict_proba(X)
            gaps.append(np.abs(p - q).max())
    assert gaps[1] < gaps[0] / 3
    assert np.mean(est.predict(X) == ref.predict(X)) >= 0.97
