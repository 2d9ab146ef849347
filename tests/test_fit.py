"""ds.fit: from data to the closed form, and the options of the run it sets up (learning-rate
choices, update rules, sampling)."""

import math

import numpy as np
import pytest

import descend as ds


def test_noiseless_linear_reaches_the_closed_form(rng, noiseless_linear):
    """GD recovers the exact generating coefficients (= the least-squares θ*) to 1e-6."""
    X, y, w, b = noiseless_linear(rng)
    res = ds.fit(X, y, learning_rate="auto", tol=0, gtol=1e-12, max_steps=50_000)
    np.testing.assert_allclose(res.coef, w, rtol=1e-6)
    assert res.intercept == pytest.approx(b, rel=1e-6)
    np.testing.assert_allclose(res.params, res.reference.params, rtol=1e-6, atol=1e-9)


def test_noiseless_polynomial_reaches_the_closed_form(rng):
    """Degree-3 noiseless data: GD's coefficients in original units match the generator."""
    x = rng.uniform(-2, 3, 50)
    c = np.array([1.0, -2.0, 0.5, 0.25])
    y = np.polynomial.polynomial.polyval(x, c)
    res = ds.fit(
        x, y, model=ds.Polynomial(3), learning_rate="auto", tol=0, gtol=1e-12, max_steps=100_000
    )
    np.testing.assert_allclose(np.r_[res.intercept, res.coef], c, rtol=1e-6, atol=1e-9)


def lre(estimate, certified):
    out = []
    for e, c in zip(estimate, certified, strict=True):
        err = abs(e - c) / abs(c) if c != 0 else abs(e)
        out.append(15.0 if err == 0 else min(15.0, -math.log10(err)))
    return min(out)


@pytest.mark.parametrize("name", ["norris", "pontius"])
def test_nist_lower_difficulty_to_six_digits(name):
    """Norris and Pontius with lr='auto' reach NIST's certified values to ≥ 6 digits."""
    d = ds.datasets.load(name)
    res = ds.fit(d.X, d.y, model=d.model, learning_rate="auto")
    assert res.stop_reason == "converged"
    assert lre(np.r_[res.intercept, res.coef], d.certified) >= 6


def test_auto_lr_is_the_best_constant_rate(rng, noiseless_linear):
    """learning_rate='auto' uses 2/(λ_min + λ_max) of the exact Hessian."""
    X, y, *_ = noiseless_linear(rng)
    obj = ds.objective(X, y)
    lam = np.linalg.eigvalsh(obj.hessian(np.zeros(obj.n_params)))
    res = ds.fit(X, y, learning_rate="auto", max_steps=3)
    assert res.history.lr[0] == pytest.approx(2 / (lam[0] + lam[-1]), rel=1e-10)


def test_armijo_line_search_records_its_steps(rng, noiseless_linear):
    """learning_rate='armijo' converges, records the accepted step per iteration."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y, learning_rate="armijo", max_steps=5000, tol=1e-12)
    assert res.settings["learning_rate"] == "armijo"
    assert np.all(res.history.lr > 0)
    assert res.loss_gap < 1e-6 * max(res.reference.loss, 1.0)
    with pytest.raises(ValueError, match="full-batch"):
        ds.fit(X, y, learning_rate="armijo", batch_size=4)


def test_schedule_by_name_sets_the_recorded_lr(rng, noiseless_linear):
    """schedule='cosine' decays the recorded lr from lr to ~0 at max_steps."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y, learning_rate=0.1, schedule="cosine", max_steps=100, tol=0)
    assert res.history.lr[0] == pytest.approx(0.1)
    assert res.history.lr[50] == pytest.approx(0.05)
    assert res.history.lr[-1] < 1e-3


def test_every_rule_runs_with_every_sampling_choice(rng, noiseless_linear):
    """Each update rule works full-batch, mini-batch and stochastic through fit()."""
    X, y, *_ = noiseless_linear(rng, n=40)
    for name in ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]:
        for batch in (None, 8, 1):
            res = ds.fit(X, y, optimizer=name, learning_rate=0.01, batch_size=batch, max_steps=50)
            assert res.n_steps == 50 and np.all(np.isfinite(res.params))


def test_bad_sampling_is_explained(rng, correlated):
    X, y = correlated(rng, n=300)
    with pytest.raises(ValueError, match="sampling"):
        ds.fit(X, y, batch_size=10, sampling="random")
