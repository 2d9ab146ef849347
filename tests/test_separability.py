"""The linear-programming separability check (problems/separability.py) and the loop's
"separated" verdict on rows it found separable (descent/loop.py)."""

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer, load_iris, load_wine  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import descend as ds  # noqa: E402
from descend.descent.verdicts import SEPARATION_WINDOW  # noqa: E402
from descend.problems import separability  # noqa: E402
from descend.problems.separability import linearly_separable  # noqa: E402


def _augmented(X):
    return np.column_stack([X, np.ones(len(X))])


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X, y.astype(float)


@pytest.fixture(scope="module")
def wine0():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), (y == 0).astype(float)


@pytest.fixture(scope="module")
def versicolor():
    X, y = load_iris(return_X_y=True)
    return X, (y == 1).astype(float)


# ---------------------------------------------------------------------------------------------
# the linear program
# ---------------------------------------------------------------------------------------------
def test_xor_is_not_separable():
    """The four XOR corners: no line puts both classes on their sides (a textbook fact)."""
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    assert linearly_separable(_augmented(X), y) is False


def test_clusters_with_a_margin_are_separable(rng):
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(float)
    X[:, 0] += np.where(y == 1, 0.5, -0.5)
    assert linearly_separable(_augmented(X), y) is True
    X[0, 0], y[0] = 5.0, 0.0  # one row deep on the wrong side: overlap
    assert linearly_separable(_augmented(X), y) is False


@pytest.mark.slow
def test_breast_cancer_wine_iris_against_scikit_learn(cancer, wine0, versicolor):
    """Separable where scikit-learn's unpenalised LogisticRegression classifies every training
    row correctly; not for iris versicolor or breast cancer's 10 mean features (whose finite
    optimum LogisticRegression reaches with training errors left)."""
    X, y = cancer
    Xs = StandardScaler().fit_transform(X)
    for Z, t, expected in [
        (Xs, y, True),
        (wine0[0], wine0[1], True),
        (StandardScaler().fit_transform(X[:, :10]), y, False),
        (StandardScaler().fit_transform(versicolor[0]), versicolor[1], False),
    ]:
        assert linearly_separable(_augmented(Z), t) is expected
        if expected:
            ref = LogisticRegression(penalty=None, max_iter=3000, tol=1e-10).fit(Z, t)
            assert ref.score(Z, t) == 1.0
        else:
            ref = LogisticRegression(penalty=None, max_iter=3000).fit(Z, t)
            assert ref.score(Z, t) < 1.0


def test_softmax_separability(rng):
    """K classes: every row's own logit on top. Three clusters with margins are separable;
    iris (versicolor and virginica overlap) is not."""
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    y = np.repeat([0, 1, 2], 30)
    X = centres[y] + rng.uniform(-1, 1, (90, 2))
    assert linearly_separable(_augmented(X), y, 3) is True
    Xi, yi = load_iris(return_X_y=True)
    assert linearly_separable(_augmented(Xi), yi, 3) is False


def test_too_large_or_without_scipy_is_unknown(monkeypatch, rng):
    X = rng.normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(float)
    monkeypatch.setattr(separability, "MAX_ENTRIES", 10)
    assert linearly_separable(_augmented(X), y) is None
    monkeypatch.undo()
    monkeypatch.setattr(separability, "find_spec", lambda name: None)
    assert linearly_separable(_augmented(X), y) is None


# ---------------------------------------------------------------------------------------------
# the verdict
# ---------------------------------------------------------------------------------------------
def _correct(res, Z, t):
    """Rows the fitted classifier gets right, from its logits z (class 1 where z > 0; the
    result's predictions, not the loop's test)."""
    return (res.predict(Z) > 0.0) == (t > 0.5)


@pytest.mark.parametrize("lr", ["auto", 0.1])
def test_separable_sets_stop_separated_before_max_steps(cancer, wine0, lr):
    """Standardised breast cancer (30 features) and wine class 0 (13): the run ends as
    "separated" inside the budget — θ separating every row, or the linear program's finding
    with the classes settled: rerun to half the steps, the same rows are right, the loss was
    higher and ‖θ‖ smaller."""
    X, y = cancer
    for Z, t in [(StandardScaler().fit_transform(X), y), wine0]:
        res = ds.fit(Z, t, loss="logloss", learning_rate=lr, max_steps=10_000)
        assert res.stop_reason == "separated"
        assert res.n_steps < 10_000
        assert "no minimiser" in res.message and "penalty" in res.message
        if "no row changed class" not in res.message:
            assert _correct(res, Z, t).all()
            continue
        half = ds.fit(Z, t, loss="logloss", learning_rate=lr, max_steps=res.n_steps // 2)
        assert res.n_steps >= 2 * SEPARATION_WINDOW
        np.testing.assert_array_equal(_correct(half, Z, t), _correct(res, Z, t))
        assert res.loss < half.loss
        assert np.linalg.norm(res.coef) > np.linalg.norm(half.coef)


def test_a_slow_run_on_separable_rows_is_not_stopped_at_a_poor_classifier():
    """Three ordered classes on one feature (separable by the softmax) at the small rate
    0.01: the run used to stop as "separated" after 165 steps with 30 % of the rows right,
    because the loss fell while ‖θ‖ grew; it now goes on until θ separates them."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    t = np.digitize(x, [-0.5, 0.5]).astype(float)
    res = ds.fit(x[:, None], t, loss="softmax", learning_rate=0.01)
    assert res.stop_reason == "separated"
    assert "classifies every training row" in res.message
    assert np.mean(np.argmax(res.predict(x[:, None]), axis=1) == t) == 1.0


def test_mini_batches_stop_separated(cancer):
    X, y = cancer
    Z = StandardScaler().fit_transform(X)
    res = ds.fit(Z, y, loss="logloss", learning_rate=1.0, batch_size=64, max_steps=20_000, seed=3)
    assert res.stop_reason == "separated"
    assert "linear program" in res.message and "no row changed class" in res.message
    assert res.n_steps < 20_000


def test_non_separable_sets_reach_their_optimum(cancer, versicolor):
    """Iris versicolor and breast cancer's 10 mean features: never "separated"; the loss
    reaches scikit-learn's unpenalised optimum."""
    X, y = cancer
    for Z, t in [(X[:, :10], y), versicolor]:
        res = ds.fit(Z, t, loss="logloss", learning_rate="auto")
        assert res.stop_reason != "separated"
        Zs = StandardScaler().fit_transform(Z)
        ref = LogisticRegression(penalty=None, tol=1e-12, max_iter=100_000).fit(Zs, t)
        p = ref.predict_proba(Zs)[:, 1]
        best = -np.mean(t * np.log(p) + (1 - t) * np.log1p(-p))
        assert res.loss == pytest.approx(best, rel=1e-9)


def test_a_penalty_or_no_scipy_leaves_the_linear_verdict_out(cancer, monkeypatch):
    X, y = cancer
    Z = StandardScaler().fit_transform(X)
    res = ds.fit(Z, y, loss="logloss", learning_rate="auto", penalty="l2", alpha=1e-3)
    assert res.stop_reason in ("converged", "stationary")
    monkeypatch.setattr(separability, "find_spec", lambda name: None)
    res = ds.fit(Z, y, loss="logloss", learning_rate=0.1, max_steps=300)
    assert res.stop_reason == "max_steps"  # today's behaviour without SciPy


def test_softmax_on_separable_classes_stops_separated():
    X, y = load_wine(return_X_y=True)
    res = ds.fit(StandardScaler().fit_transform(X), y, loss="softmax", learning_rate="auto")
    assert res.stop_reason == "separated"
    assert res.n_steps <= 3 * SEPARATION_WINDOW
