"""GDClassifier (shells/sklearn.py) and separation (the log loss's verdict) against
scikit-learn's LogisticRegression."""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import descend as ds  # noqa: E402
from descend.estimators import GDClassifier  # noqa: E402


@parametrize_with_checks([GDClassifier()])
def test_sklearn_estimator_checks(estimator, check):
    """scikit-learn's own checks pass with no expected failures declared (binary: the
    estimator declares ``multi_class=False`` in its tags)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def log_objective(X, y01, b, w, alpha):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y01 * z) + 0.5 * alpha * w @ w


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_l2_matches_logistic_regression(cancer):
    """penalty="l2", alpha=a is LogisticRegression(C=1/(n·a)): the same objective."""
    X, y = cancer
    n, alpha = len(y), 0.01
    ref = LogisticRegression(C=1 / (n * alpha), tol=1e-12, max_iter=10_000).fit(X, y)
    est = GDClassifier(penalty="l2", alpha=alpha, max_iter=100_000, gtol=1e-12).fit(X, y)
    ours = log_objective(X, y, est.intercept_[0], est.coef_[0], alpha)
    theirs = log_objective(X, y, ref.intercept_[0], ref.coef_[0], alpha)
    assert abs(ours - theirs) <= 1e-8 * theirs
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))
    np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    # no certificate: μ of the log loss is not known (the intercept is unpenalised); "auto"
    # steps by a line search, which may end at the rounding floor before ‖∇L‖ ≤ gtol = 1e-12
    assert est.stop_reason_ in ("stationary", "stalled")
    assert est.certificate_ is None


def test_labels_of_any_kind_and_probabilities(rng):
    X = rng.normal(size=(60, 2))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=60) > 0, "spam", "ham")
    est = GDClassifier(penalty="l2", alpha=0.1).fit(X, y)
    assert list(est.classes_) == ["ham", "spam"]
    p = est.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(est.predict(X), est.classes_[(p[:, 1] > 0.5).astype(int)])
    np.testing.assert_allclose(np.exp(est.predict_log_proba(X)), p, rtol=1e-12)


def test_one_class_is_a_clear_error(rng):
    with pytest.raises(ValueError, match="one class"):
        GDClassifier().fit(rng.normal(size=(10, 2)), np.ones(10))


def test_separable_data_end_with_the_separated_verdict(cancer):
    """Standardised breast cancer is linearly separable: unpenalised log loss has no
    minimiser, and the run says so as soon as θ separates the rows (not at the step limit)."""
    X, y = cancer
    res = ds.fit(X, y, loss="logloss", optimizer="adam", learning_rate=0.1, max_steps=60_000)
    assert res.stop_reason == "separated"
    assert res.n_steps < 60_000
    assert np.all((2 * y - 1) * res.predict(X) > 0)


def test_separated_on_a_small_separable_set(rng):
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(float)
    X[:, 0] += np.where(y == 1, 1.0, -1.0)  # a wide margin
    with pytest.warns(ConvergenceWarning, match="separated"):
        est = GDClassifier().fit(X, y)
    assert est.stop_reason_ == "separated"
    assert est.score(X, y) == 1.0
    # with a penalty the optimum is finite: no separation verdict
    est = GDClassifier(penalty="l2", alpha=0.01).fit(X, y)
    assert est.stop_reason_ in ("converged", "stationary")
