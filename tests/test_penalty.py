"""Penalties (problems/penalty.py): ridge, lasso and elastic net against scikit-learn.

descend minimises mean((y − ŷ)²) + α·(r·‖w‖₁ + ½(1 − r)·‖w‖₂²). scikit-learn's Lasso and
ElasticNet minimise (1/2n)·‖y − ŷ‖² + α'·(…): the same problem with α' = α/2; Ridge minimises
‖y − ŷ‖² + α'·‖w‖²: α' = n·α/2.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descend as ds
from descend.problems.penalty import check_penalty

sklm = pytest.importorskip("sklearn.linear_model")


@pytest.fixture
def data(rng):
    """Columns on very different scales (standardisation must not change the problem)."""
    n = 200
    X = rng.normal(size=(n, 6)) * np.array([1, 10, 0.1, 3, 1, 5]) + np.array([0, 5, 1, 0, 0, 2])
    y = X @ np.array([1.5, 0.0, -20.0, 0.2, 0.0, 0.05]) + 3.0 + rng.normal(size=n)
    return X, y


def objective_value(X, y, intercept, coef, alpha, r):
    resid = y - X @ coef - intercept
    return np.mean(resid**2) + alpha * (r * np.abs(coef).sum() + 0.5 * (1 - r) * coef @ coef)


def sklearn_fit(kind, X, y, alpha, r):
    n = len(y)
    if kind == "l2":
        return sklm.Ridge(alpha=n * alpha / 2).fit(X, y)
    if kind == "l1":
        return sklm.Lasso(alpha=alpha / 2, tol=1e-14, max_iter=200_000).fit(X, y)
    return sklm.ElasticNet(alpha=alpha / 2, l1_ratio=r, tol=1e-14, max_iter=200_000).fit(X, y)


@pytest.mark.parametrize("alpha", [0.05, 1.0])
@pytest.mark.parametrize(("kind", "r"), [("l2", 0.0), ("l1", 1.0), ("elasticnet", 0.5)])
def test_matches_sklearn(data, kind, r, alpha):
    X, y = data
    res = ds.fit(X, y, penalty=kind, alpha=alpha, l1_ratio=0.5, learning_rate="auto",
                 max_steps=100_000)  # fmt: skip
    ref = sklearn_fit(kind, X, y, alpha, r)
    assert res.stop_reason == "converged"
    ours = objective_value(X, y, res.intercept, res.coef, alpha, r)
    theirs = objective_value(X, y, ref.intercept_, ref.coef_, alpha, r)
    assert abs(ours - theirs) <= 1e-9 * theirs
    assert res.loss == pytest.approx(ours, rel=1e-12)  # the loss reported is the objective
    np.testing.assert_allclose(res.coef, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(res.coef != 0, ref.coef_ != 0)  # the same support


def test_lasso_zeros_are_exact(data):
    X, y = data
    res = ds.fit(X, y, penalty="l1", alpha=1.0, learning_rate="auto")
    zeros = np.flatnonzero(res.params[:-1] == 0.0)
    assert len(zeros) >= 2  # exact zeros, not tiny numbers
    assert set(zeros) == set(np.flatnonzero(res.coef == 0.0))
    assert res.params[-1] != 0.0  # the intercept is never penalised


def test_ridge_reference_is_the_closed_form(data):
    """The reference is ridge's normal equations in the user's units (solved here directly)."""
    X, y = data
    alpha = 0.3
    n = len(y)
    A = np.column_stack([X, np.ones(n)])
    P = np.diag([1.0] * X.shape[1] + [0.0])
    theta = np.linalg.solve(2 * A.T @ A / n + alpha * P, 2 * A.T @ y / n)
    res = ds.fit(X, y, penalty="l2", alpha=alpha, learning_rate="auto")
    np.testing.assert_allclose(res.reference.coef, theta[:-1], rtol=1e-9)
    np.testing.assert_allclose(res.coef, theta[:-1], rtol=1e-7)
    assert res.certificate is not None and res.certificate.excess_bound <= 1e-9 * res.loss


def test_ridge_on_a_polynomial_penalises_the_monomial_coefficients(rng):
    """The coefficients of x**k in the user's units, though descent runs on a changed basis."""
    x = rng.uniform(2, 6, 80)
    y = 1 - 0.5 * x + 0.3 * x**2 + 0.1 * rng.normal(size=80)
    alpha = 0.01
    res = ds.fit(x, y, model="poly:2", penalty="l2", alpha=alpha, learning_rate="auto",
                 max_steps=50_000)  # fmt: skip
    V = np.column_stack([x, x**2])
    ref = sklm.Ridge(alpha=len(y) * alpha / 2).fit(V, y)
    np.testing.assert_allclose(res.coef, ref.coef_, rtol=1e-6)
    assert res.intercept == pytest.approx(ref.intercept_, rel=1e-6)


def test_penalised_gradient_matches_finite_differences(data):
    X, y = data
    obj = ds.objective(X, y)
    from descend.problems.penalty import penalize

    pen = penalize(obj, "l2", 0.7, 0.0)
    theta = np.random.default_rng(0).normal(size=obj.n_params)
    assert ds.check_grad(pen, theta) < 1e-6


def test_minimize_takes_a_penalty(data):
    X, y = data
    obj = ds.objective(X, y)
    res = ds.minimize(obj, obj.model.init_params(np.random.default_rng(0)), penalty="l1",
                      alpha=1.0, learning_rate="auto", max_steps=100_000)  # fmt: skip
    ref = sklearn_fit("l1", X, y, 1.0, 1.0)
    intercept, coef = obj.model.to_original(res.params)
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"penalty": "l3"}, "penalty must be"),
        ({"penalty": "l2", "alpha": -1.0}, "alpha must be"),
        ({"penalty": "elasticnet", "l1_ratio": 1.5}, "l1_ratio must be in"),
        ({"penalty": "l1", "optimizer": "adam"}, "optimizer='gd'"),
        ({"penalty": "l1", "learning_rate": "armijo"}, "armijo"),
        ({"penalty": "l1", "model": "poly:3"}, "mix several"),
        ({"penalty": "l2", "model": "mlp:4"}, "linear in θ"),
        ({"penalty": "l2", "preconditioner": "qr"}, "preconditioner"),
    ],
)
def test_bad_settings_say_what_to_do(rng, kwargs, match):
    x = rng.uniform(0, 1, 30)
    y = 2 * x + rng.normal(size=30)
    with pytest.raises(ValueError, match=match):
        ds.fit(x, y, **kwargs)


@settings(max_examples=50, deadline=None)
@given(
    v=st.lists(st.floats(-10, 10), min_size=1, max_size=8),
    eta=st.floats(1e-3, 10),
    alpha=st.floats(0.0, 5.0),
)
def test_prox_is_the_l1_minimiser(v, eta, alpha):
    """prox(v) minimises ½‖θ − v‖² + η·α·‖θ‖₁ (checked against nearby points) with exact 0s."""
    from descend.problems.penalty import PenalizedObjective, Penalty

    v = np.array(v)
    pen = Penalty("l1", alpha, 1.0, np.eye(len(v)))
    obj = PenalizedObjective.__new__(PenalizedObjective)
    obj.penalty, obj._w = pen, np.ones(len(v))
    p = obj.prox(v, eta)
    assert np.all((np.abs(v) <= eta * alpha) == (p == 0.0))

    def h(t):
        return 0.5 * np.sum((t - v) ** 2) + eta * alpha * np.abs(t).sum()

    for d in np.eye(len(v)):
        assert h(p) <= h(p + 1e-4 * d) + 1e-12 and h(p) <= h(p - 1e-4 * d) + 1e-12


def test_check_penalty_names():
    assert check_penalty(None, 1.0, 0.5) == (None, 0.0, 0.0)
    assert check_penalty("L2", 2, 0.5) == ("l2", 2.0, 0.0)
    assert check_penalty("l1", 2, 0.5) == ("l1", 2.0, 1.0)
    assert check_penalty("elasticnet", 2, 0.25) == ("elasticnet", 2.0, 0.25)


@pytest.mark.parametrize("lr", ["auto", 0.01])
def test_a_penalised_run_says_why_it_is_unpreconditioned(data, lr):
    """The penalty, not the caller, decides that no preconditioner runs: the result must not
    say "as requested" (it did), and says it once."""
    X, y = data
    res = ds.fit(X, y, penalty="l2", alpha=0.1, learning_rate=lr, max_steps=50)
    assert res.settings["preconditioner"] == "none"
    reason = res.settings["preconditioner_reason"]
    assert "as requested" not in reason and "penalised" in reason
    assert sum("unpreconditioned" in w for w in res.warnings) == 1
