"""GDClassifier (shells/sklearn.py) and separation (the log loss's verdict) against
scikit-learn's LogisticRegression."""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer, load_iris, make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import descend as ds  # noqa: E402
from descend.estimators import GDClassifier  # noqa: E402
from descend.problems import separability  # noqa: E402


@parametrize_with_checks([GDClassifier()])
def test_sklearn_estimator_checks(estimator, check):
    """scikit-learn's own checks pass with no expected failures declared, the multiclass
    checks included (softmax for more than two classes)."""
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


def test_separable_data_end_with_the_separated_verdict(cancer, monkeypatch):
    """Standardised breast cancer is linearly separable: unpenalised log loss has no
    minimiser. A linear program finds that when the problem is built, and the run says so
    once the loss has kept falling as ‖θ‖ grew (tests/test_separability.py); without it (no
    SciPy) the run still says so as soon as θ separates the rows (not at the step limit)."""
    X, y = cancer
    res = ds.fit(X, y, loss="logloss", optimizer="adam", learning_rate=0.1, max_steps=60_000)
    assert res.stop_reason == "separated"
    assert res.n_steps < 1_000
    assert "linear program" in res.message
    monkeypatch.setattr(separability, "find_spec", lambda name: None)
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


# -- more than two classes: the softmax against multinomial LogisticRegression ----------------
def softmax_objective(X, y, b, W, alpha):
    """(1/n) Σ [log Σ_k e^{z_ik} − z_{i,y_i}] + ½α‖W‖², with scipy's logsumexp."""
    from scipy.special import logsumexp

    Z = X @ W.T + b
    return np.mean(logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]) + 0.5 * alpha * np.sum(W * W)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_multinomial_l2_matches_logistic_regression_on_iris(iris):
    """penalty="l2", alpha=a on iris (three classes, raw units) is multinomial
    LogisticRegression(C=1/(n·a)): the same objective to 1e-10, the same predictions."""
    X, y = iris
    n, alpha = len(y), 0.01
    ref = LogisticRegression(C=1 / (n * alpha), tol=1e-12, max_iter=10_000).fit(X, y)
    est = GDClassifier(penalty="l2", alpha=alpha, max_iter=50_000, gtol=1e-12).fit(X, y)
    assert est.coef_.shape == (3, 4) and est.intercept_.shape == (3,)
    ours = softmax_objective(X, y, est.intercept_, est.coef_, alpha)
    theirs = softmax_objective(X, y, ref.intercept_, ref.coef_, alpha)
    assert abs(ours - theirs) <= 1e-10 * theirs
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))
    np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    # with the intercepts unpenalised, both optima have Σ_k w_k = 0; the logits agree up to
    # one constant per row (the softmax's invariance), so their differences agree
    np.testing.assert_allclose(est.coef_.sum(axis=0), 0.0, atol=1e-6)
    z, zr = est.decision_function(X), ref.decision_function(X)
    np.testing.assert_allclose(z - z.mean(1, keepdims=True), zr - zr.mean(1, keepdims=True),
                               atol=1e-5)  # fmt: skip


@pytest.mark.parametrize("case", ["iris sepal width", "noisy four classes"])
def test_unpenalised_multinomial_matches_logistic_regression(case, iris):
    """penalty=None where the optimum is finite (overlapping classes): the same objective to
    1e-12 relative. (All of iris is not such a case: setosa is linearly separable from the
    others, so its unpenalised optimum lies at infinity.)"""
    if case == "iris sepal width":
        X, y = iris[0][:, [1]], iris[1]
    else:
        X, y = make_classification(
            n_samples=300, n_features=5, n_informative=3, n_classes=4, flip_y=0.2,
            random_state=0,
        )  # fmt: skip
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)  # no penalty
    res = ds.fit(X, y, loss="softmax", learning_rate="auto", max_steps=50_000, gtol=1e-12)
    assert res.stop_reason in ("converged", "stationary")
    ours = softmax_objective(X, y, res.intercept, res.coef, 0.0)
    theirs = softmax_objective(X, y, ref.intercept_, ref.coef_, 0.0)
    assert abs(ours - theirs) <= 1e-12 * theirs
    assert ours == pytest.approx(res.loss, rel=1e-12)  # the loss descend reports is that one


def test_class_labels_of_any_kind_and_shapes_as_in_scikit_learn(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = GDClassifier(penalty="l2", alpha=0.01).fit(X, names)
    assert list(est.classes_) == ["setosa", "versicolor", "virginica"]
    z, p = est.decision_function(X), est.predict_proba(X)
    assert z.shape == p.shape == est.predict_log_proba(X).shape == (150, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(est.predict(X), est.classes_[np.argmax(p, axis=1)])
    assert est.score(X, names) > 0.95
    # labels in another order give the same classifier (classes_ sorted, codes follow)
    shuffled = GDClassifier(penalty="l2", alpha=0.01).fit(X, np.array([2, 0, 1])[y])
    np.testing.assert_array_equal(shuffled.classes_, [0, 1, 2])


def test_multiclass_separable_data_end_with_the_separated_verdict(rng):
    """Three well-separated clusters: every row's own logit on top, so the unpenalised
    softmax has no minimiser, and the run says so."""
    centres = np.array([[0.0, 6.0], [6.0, 0.0], [-6.0, -6.0]])
    y = np.repeat(np.arange(3), 20)
    X = centres[y] + rng.normal(size=(60, 2))
    res = ds.fit(X, y, loss="softmax", learning_rate="auto", max_steps=10_000)
    assert res.stop_reason == "separated"
    assert np.all(np.argmax(res.predict(X), axis=1) == y)


# -- sample weights and class weights, as LogisticRegression defines them --------------------
@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 1.0, 1: 3.0, 2: 0.5}])
def test_weights_match_logistic_regression_on_iris(class_weight, iris, rng):
    """sample_weight s and class_weight c: the loss Σ sᵢcᵢℓᵢ / Σ sᵢcᵢ, and LogisticRegression
    with the same weights and C = 1/(Σ sᵢcᵢ·α) — the same objective to 1e-10, the same
    predictions ("balanced" counts the sample weights, as LogisticRegression does)."""
    from scipy.special import logsumexp
    from sklearn.utils.class_weight import compute_class_weight

    X, y = iris
    sw, alpha = rng.uniform(0.2, 3.0, len(y)), 0.01
    s = sw.copy()
    if class_weight is not None:
        s *= compute_class_weight(class_weight, classes=np.arange(3), y=y, sample_weight=sw)[y]
    ref = LogisticRegression(
        C=1 / (s.sum() * alpha), class_weight=class_weight, tol=1e-12, max_iter=10_000
    ).fit(X, y, sample_weight=sw)
    est = GDClassifier(
        penalty="l2", alpha=alpha, class_weight=class_weight, max_iter=50_000, gtol=1e-12
    ).fit(X, y, sample_weight=sw)

    def objective(b, W):
        Z = X @ W.T + b
        per_row = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]
        return s @ per_row / s.sum() + 0.5 * alpha * np.sum(W * W)

    ours, theirs = objective(est.intercept_, est.coef_), objective(ref.intercept_, ref.coef_)
    assert abs(ours - theirs) <= 1e-10 * theirs
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))


def test_binary_class_weights_match_logistic_regression(cancer):
    X, y = cancer
    alpha, cw = 0.01, {0: 2.0, 1: 0.5}
    s = np.where(y == 0, 2.0, 0.5)
    ref = LogisticRegression(C=1 / (s.sum() * alpha), class_weight=cw, tol=1e-12,
                             max_iter=10_000).fit(X, y)  # fmt: skip
    est = GDClassifier(penalty="l2", alpha=alpha, class_weight=cw, max_iter=100_000,
                       gtol=1e-12).fit(X, y)  # fmt: skip

    def objective(b, w):
        z = X @ w + b
        return s @ (np.logaddexp(0.0, z) - y * z) / s.sum() + 0.5 * alpha * w @ w

    ours = objective(est.intercept_[0], est.coef_[0])
    theirs = objective(ref.intercept_[0], ref.coef_[0])
    assert abs(ours - theirs) <= 1e-8 * theirs
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))


def test_integer_weights_are_repeated_rows(iris, rng):
    """Weight k is the row k times (0: dropped): the same scaling, start, steps and answer."""
    X, y = iris
    counts = rng.integers(0, 3, len(y))
    kw = dict(loss="softmax", penalty="l2", alpha=0.05, learning_rate="auto", max_steps=3000)
    weighted = ds.fit(X, y, sample_weight=counts, **kw)
    repeated = ds.fit(np.repeat(X, counts, axis=0), np.repeat(y, counts), **kw)
    assert weighted.n_steps == repeated.n_steps
    np.testing.assert_allclose(weighted.coef, repeated.coef, rtol=1e-9, atol=1e-12)
    assert weighted.loss == pytest.approx(repeated.loss, rel=1e-12)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (lambda n: -np.ones(n), "row 1 has -1.0"),
        (lambda n: np.ones(n - 1), "one weight per row"),
        (lambda n: np.zeros(n), "every sample_weight is 0"),
    ],
)
def test_bad_sample_weights_are_one_clear_error(weights, match, rng):
    X, y = rng.normal(size=(20, 2)), rng.integers(0, 2, 20).astype(float)
    with pytest.raises(ds.DataError, match=match):
        ds.fit(X, y, loss="logloss", sample_weight=weights(20))


def test_sample_weight_with_a_validation_split_is_refused(rng):
    X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    with pytest.raises(ValueError, match="sample_weight cannot be combined"):
        ds.fit(X, y, sample_weight=np.ones(20), validation_fraction=0.2)


def test_warm_start_continues_from_the_previous_solution(iris):
    """warm_start=True: the next fit starts at the previous θ — its first loss is the last
    fit's final loss — and a new α starts from there, ending where a cold fit ends."""
    X, y = iris
    kw = dict(penalty="l2", max_iter=50_000, gtol=1e-10)
    cold = GDClassifier(alpha=0.01, **kw).fit(X, y)
    est = GDClassifier(alpha=0.01, warm_start=True, **kw).fit(X, y)
    assert est.n_iter_ == cold.n_iter_  # the first fit is a cold one
    est.fit(X, y)
    assert est.loss_curve_[0] == pytest.approx(cold.result_.loss, rel=1e-12)
    np.testing.assert_allclose(est.predict_proba(X), cold.predict_proba(X), atol=1e-8)
    before = est.result_.loss
    est.set_params(alpha=0.02).fit(X, y)
    fresh = GDClassifier(alpha=0.02, **kw).fit(X, y)
    assert est.loss_curve_[0] < fresh.loss_curve_[0]
    assert est.loss_curve_[0] > before  # the same θ, the larger penalty
    np.testing.assert_allclose(est.predict_proba(X), fresh.predict_proba(X), atol=1e-6)
    # other classes: a cold start, not an error
    est.fit(X[y > 0], y[y > 0])
    assert list(est.classes_) == [1, 2]
