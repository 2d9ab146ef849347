"""Properties that hold for any data (hypothesis).

The fuzz test of the CSV loader (loads, or raises DataError, for arbitrary text and bytes) lives
in tests/test_tables.py (test_read_csv_fuzz_*) and is not repeated here.
"""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import descend as ds
from descend.descent.history import History
from descend.descent.serialize import result_from_dict, result_to_dict

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def problems(draw, max_d=4):
    """A random regression problem: n rows, d columns, moderately scaled values."""
    n = draw(st.integers(2, 25))
    d = draw(st.integers(1, max_d))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-2, 2, d)
    X = rng.normal(size=(n, d)) * scale
    y = rng.normal(size=n) * 10.0 ** rng.uniform(-2, 2)
    return X, y, rng


LOSSES = [ds.MSE(), ds.MAE(), ds.Huber(0.7)]


@FAST
@given(y=st.lists(finite, min_size=1, max_size=30), data=st.data())
def test_losses_nonnegative_and_zero_at_the_target(y, data):
    """L(y, ŷ) ≥ 0 for every ŷ, and L(y, y) = 0 with a zero gradient (MSE, MAE, Huber)."""
    y = np.asarray(y)
    yhat = np.asarray(data.draw(st.lists(finite, min_size=len(y), max_size=len(y))))
    for loss in LOSSES:
        assert loss.value(y, yhat) >= 0
        value, grad = loss.value_and_grad(y, y)
        assert value == 0 and np.all(grad == 0)


@FAST
@given(problem=problems(), model=st.sampled_from(["linear", "linear-nointercept"]),
       loss=st.sampled_from(["mse", "huber:2"]))  # fmt: skip
def test_gradients_match_finite_differences(problem, model, loss):
    """The analytic gradient of a data objective matches central differences (Huber is only
    C¹: differences that straddle |r| = δ err by O(h), hence its looser bound)."""
    X, y, rng = problem
    obj = ds.objective(X, y, model=model, loss=loss)
    theta = rng.normal(size=obj.n_params)
    assert ds.check_grad(obj, theta) < (1e-5 if loss == "mse" else 1e-2)


@FAST
@given(problem=problems(max_d=1), degree=st.integers(1, 4),
       basis=st.sampled_from(["monomial", "legendre", "chebyshev"]))  # fmt: skip
def test_polynomial_gradients_match_finite_differences(problem, degree, basis):
    """Polynomial models in every basis: analytic gradient = central differences."""
    X, y, rng = problem
    assume(np.ptp(X) > 0)
    obj = ds.objective(X, y, model=ds.Polynomial(degree, basis=basis))
    assert ds.check_grad(obj, rng.normal(size=obj.n_params)) < 1e-5


@FAST
@given(problem=problems(), frac=st.floats(0.05, 1.0))
def test_one_gd_step_below_one_over_lambda_max_never_increases_least_squares(problem, frac):
    """θ' = θ − lr·∇L(θ) with lr ≤ 1/λ_max gives L(θ') ≤ L(θ) (up to rounding)."""
    X, y, rng = problem
    obj = ds.objective(X, y)
    lam_max = ds.advise(obj).lam_max
    theta = rng.normal(size=obj.n_params) * 10
    loss, g = obj.value_and_grad(theta)
    new = obj.value(theta - (frac / lam_max) * g)
    assert new <= loss * (1 + 1e-12) + 1e-300


def _history(rng, k, p, bad):
    loss = rng.normal(size=k)
    if bad:
        loss[rng.integers(k)] = rng.choice([np.nan, np.inf, -np.inf])
    return History(
        step=np.arange(k),
        loss=loss,
        grad_norm=np.abs(rng.normal(size=k)),
        step_size=np.abs(rng.normal(size=k)),
        lr=np.full(k, 0.1),
        params=rng.normal(size=(k + 1, p)),
        state_norms={"m": np.abs(rng.normal(size=k))},
    )


@FAST
@given(seed=st.integers(0, 2**32 - 1), bad=st.booleans(), batch=st.sampled_from([None, 4]),
       optimizer=st.sampled_from(["gd", "adam"]))  # fmt: skip
def test_results_round_trip_exactly_through_json(seed, bad, batch, optimizer):
    """save → load → save is the identity on the JSON document, bit for bit, including
    NaN/inf in a diverged history; a loaded linear fit still predicts identically."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12, 2))
    y = X @ rng.normal(size=2) + rng.normal()
    res = ds.fit(X, y, optimizer=optimizer, learning_rate=0.05, batch_size=batch, max_steps=20)
    res.history = _history(rng, len(res.history), res.params.size, bad)
    text = json.dumps(result_to_dict(res), allow_nan=False)  # strict JSON
    back = result_from_dict(json.loads(text))
    assert json.dumps(result_to_dict(back), allow_nan=False) == text
    np.testing.assert_array_equal(back.history.loss, res.history.loss)  # NaN-aware
    np.testing.assert_array_equal(back.params, res.params)
    np.testing.assert_array_equal(back.predict(X), res.predict(X))


@pytest.mark.parametrize("loss", LOSSES, ids=lambda x: x.spec())
def test_losses_gradient_matches_finite_differences_at_random_points(loss, rng):
    """∂L/∂ŷ of each loss equals central differences away from its kinks."""
    y = rng.normal(size=9)
    yhat = y + rng.uniform(0.1, 3, 9) * rng.choice([-1, 1], 9)
    _, g = loss.value_and_grad(y, yhat)
    h = 1e-6
    fd = [(loss.value(y, yhat + h * e) - loss.value(y, yhat - h * e)) / (2 * h) for e in np.eye(9)]
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-9)
