"""The scikit-learn shell: every estimator check with no exemptions, and the usual compositions."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import PolynomialFeatures, StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import descend as ds  # noqa: E402
from descend.estimators import GDRegressor, OrthogonalPolynomialFeatures  # noqa: E402


@parametrize_with_checks([GDRegressor(), OrthogonalPolynomialFeatures()])
def test_sklearn_estimator_checks(estimator, check):
    """scikit-learn's own estimator checks pass, with no expected failures declared."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ds.DataWarning)  # sparse input densified, etc.
        check(estimator)


@pytest.fixture
def cubic(rng):
    x = rng.uniform(-1, 2, (80, 1))
    return x, 1 + 2 * x[:, 0] - x[:, 0] ** 3 + 0.01 * rng.normal(size=80)


@pytest.fixture
def linear3(rng):
    X = rng.normal(size=(120, 3))
    return X, X @ [1.0, 2.0, 3.0] - 1 + 0.5 * rng.normal(size=120)


def test_fit_attributes_match_the_library(linear3):
    """coef_/intercept_/n_iter_/loss_curve_/stop_reason_ are ds.fit's, in original units."""
    X, y = linear3
    est = GDRegressor().fit(X, y)
    res = ds.fit(X, y, learning_rate="auto")
    np.testing.assert_array_equal(est.coef_, res.coef)
    assert est.intercept_ == res.intercept and est.n_iter_ == res.n_steps
    np.testing.assert_array_equal(est.loss_curve_, res.history.loss)
    assert est.stop_reason_ == "converged" and est.n_features_in_ == 3
    np.testing.assert_allclose(est.coef_, res.reference.coef, rtol=1e-5)
    np.testing.assert_array_equal(est.predict(X), res.predict(X))


def test_constructor_parameters_reach_the_library(linear3):
    """Optimizer, learning rate, batch size, stopping options and seed are passed through."""
    X, y = linear3
    est = GDRegressor(learning_rate=0.05, batch_size=16, max_iter=300, tol=0, seed=3)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        est.fit(X, y)
    res = ds.fit(X, y, learning_rate=0.05, batch_size=16, max_steps=300, tol=0, seed=3)
    np.testing.assert_array_equal(est.result_.params, res.params)
    s = est.result_.settings
    assert (s["batch_size"], s["max_steps"], s["seed"], s["learning_rate"]) == (16, 300, 3, 0.05)
    est = GDRegressor(gtol=1e-3, patience=2, model="linear-nointercept").fit(X, y)
    assert est.intercept_ == 0.0 and est.result_.settings["patience"] == 2


def test_divergence_warns_and_keeps_the_last_good_theta(linear3):
    """A too-large rate gives a ConvergenceWarning that explains it; predictions stay finite."""
    X, y = linear3
    with pytest.warns(ConvergenceWarning, match="stability limit"):
        est = GDRegressor(learning_rate=50.0).fit(X, y)
    assert est.stop_reason_ == "diverged" and np.all(np.isfinite(est.predict(X)))


def test_logloss_estimator_refuses_numeric_targets(linear3):
    """GDRegressor(loss="logloss") on y ∉ {0, 1}: the library's DataError, row and value named."""
    X, y = linear3
    with pytest.raises(ds.DataError, match=r"log loss needs targets y in \{0, 1\}, but row 1"):
        GDRegressor(loss="logloss").fit(X, y)


def test_polynomialfeatures_pipeline(cubic):
    """make_pipeline(PolynomialFeatures(3), GDRegressor()) fits a cubic (R² ≈ 1)."""
    x, y = cubic
    with pytest.warns(ds.DataWarning, match="constant"):  # PolynomialFeatures' bias column
        pipe = make_pipeline(PolynomialFeatures(3), GDRegressor()).fit(x, y)
    assert pipe.score(x, y) > 0.9999
    pipe = make_pipeline(PolynomialFeatures(3, include_bias=False), GDRegressor()).fit(x, y)
    assert pipe.score(x, y) > 0.9999
    np.testing.assert_allclose(pipe[-1].coef_, [2, 0, -1], atol=0.02)


def test_orthogonal_transformer_pipeline_and_names(cubic):
    """Chebyshev features of each column fit the cubic as well as raw powers do."""
    x, y = cubic
    cheb = make_pipeline(OrthogonalPolynomialFeatures(3), GDRegressor()).fit(x, y)
    mono = make_pipeline(PolynomialFeatures(3, include_bias=False), GDRegressor()).fit(x, y)
    assert cheb.score(x, y) > 0.9999
    np.testing.assert_allclose(cheb.predict(x), mono.predict(x), rtol=1e-6, atol=1e-6)
    t = OrthogonalPolynomialFeatures(2, basis="legendre", include_bias=True)
    t.fit([[-1.0], [0.5], [2.0]])
    assert list(t.get_feature_names_out()) == ["1", "legendre_1(x0)", "legendre_2(x0)"]
    Z = t.transform(np.array([[-1.0], [2.0]]))  # the range maps to t = −1 … 1
    np.testing.assert_allclose(Z, [[1, -1, 1], [1, 1, 1]])
    with pytest.raises(ValueError, match="basis"):
        OrthogonalPolynomialFeatures(basis="hermite").fit(x)


def test_model_poly_inside_the_estimator(cubic):
    """model='poly:3' works on one column, and reports coef_ of x, x², x³."""
    x, y = cubic
    est = GDRegressor(model="poly:3").fit(x, y)
    np.testing.assert_allclose(np.r_[est.intercept_, est.coef_], [1, 2, 0, -1], atol=0.02)


def test_pipeline_gridsearch_and_cross_val_score(linear3):
    """Pipeline, GridSearchCV (over optimizer settings) and cross_val_score all work."""
    X, y = linear3
    pipe = Pipeline([("scale", StandardScaler()), ("gd", GDRegressor())])
    scores = cross_val_score(pipe, X, y, cv=4)
    assert scores.shape == (4,) and scores.min() > 0.8
    grid = GridSearchCV(
        pipe, {"gd__learning_rate": ["auto", 1e-4], "gd__max_iter": [50, 5000]}, cv=3
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    assert grid.best_params_["gd__learning_rate"] == "auto"
    assert grid.best_score_ > 0.8


def test_dataframe_feature_names(linear3):
    """A DataFrame's column names become feature_names_in_ and the library's names."""
    pd = pytest.importorskip("pandas")
    X, y = linear3
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est = GDRegressor().fit(df, y)
    assert list(est.feature_names_in_) == ["a", "b", "c"]
    assert est.result_.model.feature_names == ["a", "b", "c"]


def test_regressor_penalty_matches_lasso(rng):
    """GDRegressor(penalty="l1", alpha=2a) is scikit-learn's Lasso(alpha=a)."""
    from sklearn.linear_model import Lasso

    X = rng.normal(size=(120, 5)) * np.array([1.0, 4.0, 0.2, 1.0, 2.0])
    y = X @ np.array([2.0, 0.0, 1.0, 0.0, -0.3]) + 1.0 + 0.5 * rng.normal(size=120)
    est = GDRegressor(penalty="l1", alpha=0.4, max_iter=100_000).fit(X, y)
    ref = Lasso(alpha=0.2, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(est.coef_ == 0, ref.coef_ == 0)
    assert est.stop_reason_ == "converged"


def test_max_steps_is_an_alias_of_max_iter(linear3):
    """GDRegressor takes descend's max_steps beside scikit-learn's max_iter (max_steps wins)."""
    X, y = linear3
    a = GDRegressor(learning_rate=0.05, max_steps=20, tol=0)
    b = GDRegressor(learning_rate=0.05, max_iter=20, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(X, y)
        b.fit(X, y)
    assert a.n_iter_ == b.n_iter_ == 20


def test_estimators_without_scikit_learn_name_the_extra():
    """Without scikit-learn the import fails in one line that gives the install command."""
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "try:\n    from descend.estimators import GDRegressor\n"
        "except ImportError as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.startswith("MissingExtraError"), out
    assert 'pip install "descend[sklearn]"' in out and out.count("\n") == 1


def test_sample_weight_is_weighted_least_squares(rng):
    """GDRegressor.fit(X, y, sample_weight=s) minimises Σ sᵢrᵢ² / Σ sᵢ: NumPy's lstsq on the
    rows scaled by √sᵢ gives the same coefficients."""
    X = rng.normal(2.0, 1.5, (50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0 + rng.normal(size=50)
    s = rng.uniform(0.0, 4.0, 50)
    A = np.column_stack([X, np.ones(50)]) * np.sqrt(s)[:, None]
    exact = np.linalg.lstsq(A, y * np.sqrt(s), rcond=None)[0]
    est = GDRegressor(gtol=1e-13, max_iter=100_000).fit(X, y, sample_weight=s)
    np.testing.assert_allclose(est.coef_, exact[:3], rtol=1e-9)
    assert est.intercept_ == pytest.approx(exact[3], rel=1e-9)


def test_docs_map_every_sgd_parameter():
    """docs/sklearn.md has a row for every parameter of SGDRegressor and SGDClassifier."""
    from pathlib import Path

    from sklearn.linear_model import SGDClassifier, SGDRegressor

    text = (Path(__file__).resolve().parents[1] / "docs" / "sklearn.md").read_text("utf-8")
    rows = {line.split("|")[1].strip().strip("`") for line in text.splitlines()
            if line.startswith("| `")}  # fmt: skip
    wanted = set(SGDRegressor().get_params()) | set(SGDClassifier().get_params())
    assert wanted <= rows, sorted(wanted - rows)


def test_regressor_warm_start_reuses_theta(rng):
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, 2.0, -1.0]) + rng.normal(size=60)
    est = GDRegressor(warm_start=True, learning_rate=0.05, max_iter=40, tol=0).fit(X, y)
    first = est.result_.params.copy()
    est.fit(X, y)
    cold = GDRegressor(learning_rate=0.05, max_iter=80, tol=0).fit(X, y)
    # 40 + 40 warm steps are the 80 cold ones: the same iterates (plain gd, full batch)
    np.testing.assert_allclose(est.result_.params, cold.result_.params, rtol=1e-12)
    assert not np.array_equal(first, est.result_.params)
    # another number of columns: a cold start, not an error
    est.fit(X[:, :2], y)
    assert est.coef_.shape == (2,)
