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


# -- names a new user types (issue 17) ---------------------------------------------------------


def test_max_iter_is_an_alias_of_max_steps():
    """ds.fit(max_iter=…) runs like max_steps=… (scikit-learn's spelling is accepted)."""
    d = ds.datasets.load("norris")
    a = ds.fit(d.X, d.y, max_iter=7)
    b = ds.fit(d.X, d.y, max_steps=7)
    assert a.n_steps == b.n_steps == 7
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize(
    ("kwargs", "suggestion"),
    [
        ({"max_step": 5}, "'max_steps'"),
        ({"tols": 1e-3}, "'tol'"),
        ({"optimizer": "momentum", "betta": 0.5}, "'beta'"),
        ({"batchsize": 4}, "'batch_size'"),
    ],
)
def test_a_misspelt_keyword_is_refused_with_the_closest_name(kwargs, suggestion):
    """A typo is named with the intended keyword, before any descent runs."""
    d = ds.datasets.load("norris")
    with pytest.raises(TypeError, match="Did you mean") as exc:
        ds.fit(d.X, d.y, **kwargs)
    assert suggestion in str(exc.value)


def test_minimize_takes_max_iter_and_suggests_names():
    """ds.minimize accepts the alias too and names a typo's closest option."""
    f = ds.surfaces.quadratic(kappa=10)
    res = ds.minimize(f, [1.0, 1.0], learning_rate=0.05, max_iter=3, tol=0)
    assert res.n_steps == 3
    with pytest.raises(TypeError, match="'patience'"):
        ds.minimize(f, [1.0, 1.0], patiense=3)


@pytest.mark.parametrize(
    ("seed", "error", "needle"),
    [(-1, ValueError, "seed must be a whole number ≥ 0"), (1.5, TypeError, "got 1.5")],
)
def test_a_bad_seed_is_named(seed, error, needle):
    """seed=-1 gets descend's message with the fix, not NumPy's 'expected non-negative'."""
    d = ds.datasets.load("norris")
    with pytest.raises(error, match=needle):
        ds.fit(d.X, d.y, seed=seed)


def test_a_ragged_list_names_the_row():
    """A ragged nested list is a DataError naming the short row, not NumPy's shape error."""
    with pytest.raises(ds.DataError, match="row 2 has 1 value but row 1 has 2"):
        ds.fit([[1.0, 2.0], [3.0], [4.0, 5.0]], [1.0, 2.0, 3.0])
