"""The descent loop: reaching the closed form, stop reasons, sampling, determinism."""

import math

import numpy as np
import pytest

import descend as ds
from descend.problems.objective import DataObjective


def noiseless_linear(rng, n=60, d=3):
    X = rng.uniform(-5, 20, (n, d))
    w, b = rng.normal(size=d), 4.0
    return X, X @ w + b, w, b


def test_noiseless_linear_reaches_the_closed_form(rng):
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


def test_converged_stop(rng):
    """A well-conditioned problem stops by the loss-change tolerance."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y + rng.normal(size=len(y)), learning_rate="auto", tol=1e-10)
    assert res.stop_reason == "converged" and "tol" in res.message


def test_max_steps_stop(rng):
    """A run cut short says max_steps, with exactly that many updates recorded."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y, learning_rate=1e-4, max_steps=25)
    assert res.stop_reason == "max_steps"
    assert res.n_steps == 25 and len(res.history.loss) == 25


def test_diverged_stop_returns_last_good_theta(rng):
    """lr = 10× the stability limit: 'diverged', a finite θ (the best seen), a reason given."""
    X, y, *_ = noiseless_linear(rng)
    obj = ds.objective(X, y)
    limit = ds.advise(obj).stability_limit
    with pytest.warns(ds.DescendWarning, match="stability limit"):
        res = ds.fit(X, y, learning_rate=10 * limit, seed=1)
    assert res.stop_reason == "diverged"
    assert np.all(np.isfinite(res.params)) and math.isfinite(res.loss)
    assert res.loss <= res.history.loss[0]
    assert "stability limit" in res.message and f"{limit:.4g}" in res.message


def test_diverged_explains_unscaled_features(rng):
    """On raw, badly scaled columns the message points at scaling."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X * 1000, y, model=ds.Linear(scale=False), learning_rate=0.01, warn=False)
    assert res.stop_reason == "diverged"
    assert "unscaled" in res.message


def test_interrupted_stop_keeps_the_progress(rng):
    """Ctrl-C mid-run (simulated) returns 'interrupted' and the parameters reached."""
    X, y, *_ = noiseless_linear(rng)

    def ctrl_c(k, theta, loss):
        if k == 30:
            raise KeyboardInterrupt

    res = ds.fit(X, y, learning_rate=0.05, callback=ctrl_c)
    assert res.stop_reason == "interrupted"
    assert res.n_steps == 31
    assert res.loss < res.history.loss[0]


def test_minibatch_of_all_rows_equals_full_batch(rng):
    """batch_size = n gives exactly the full-batch iterates."""
    X, y, *_ = noiseless_linear(rng, n=30)
    a = ds.fit(X, y, learning_rate=0.1, max_steps=200)
    b = ds.fit(X, y, learning_rate=0.1, max_steps=200, batch_size=30)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.history.loss, b.history.loss)


def test_fixed_seed_gives_identical_runs(rng):
    """Same seed ⇒ identical stochastic runs; another seed ⇒ a different path."""
    X, y, *_ = noiseless_linear(rng, n=50)
    a = ds.fit(X, y, learning_rate=0.01, batch_size=1, max_steps=300, seed=7)
    b = ds.fit(X, y, learning_rate=0.01, batch_size=1, max_steps=300, seed=7)
    c = ds.fit(X, y, learning_rate=0.01, batch_size=1, max_steps=300, seed=8)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_minibatch_sgd_gets_close(rng):
    """Mini-batch descent on noisy data ends near the least-squares answer."""
    X, y, *_ = noiseless_linear(rng, n=400)
    y = y + rng.normal(size=400)
    res = ds.fit(X, y, learning_rate=0.02, batch_size=16, max_steps=20_000)
    assert res.loss < 1.05 * res.reference.loss


def test_history_columns_and_step_size(rng):
    """step_size = ‖lr·g‖ for GD, steps shrink near the minimum, θ path is recorded."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y, learning_rate=0.1, max_steps=100)
    h = res.history
    np.testing.assert_allclose(h.step_size, 0.1 * h.grad_norm, rtol=1e-12)
    assert h.step_size[-1] < h.step_size[0]
    assert h.params.shape == (101, res.params.size)
    np.testing.assert_array_equal(h.params[-1], res.params)
    np.testing.assert_array_equal(h.lr, np.full(100, 0.1))


def test_minimize_on_a_plain_objective():
    """minimize() works on any Objective (here a quadratic written inline)."""

    class Bowl(ds.Objective):
        n_params = 2

        def value_and_grad(self, theta):
            return float(theta @ theta), 2 * theta

    res = ds.minimize(Bowl(), [3.0, -4.0], learning_rate=0.25, tol=0, gtol=1e-12)
    assert res.stop_reason == "converged"
    np.testing.assert_allclose(res.params, 0, atol=1e-12)
    with pytest.raises(ValueError, match="batch_size needs a data objective"):
        ds.minimize(Bowl(), [1.0, 1.0], batch_size=4)


def test_auto_lr_is_the_best_constant_rate(rng):
    """learning_rate='auto' uses 2/(λ_min + λ_max) of the exact Hessian."""
    X, y, *_ = noiseless_linear(rng)
    obj = ds.objective(X, y)
    lam = np.linalg.eigvalsh(obj.hessian(np.zeros(obj.n_params)))
    res = ds.fit(X, y, learning_rate="auto", max_steps=3)
    assert res.history.lr[0] == pytest.approx(2 / (lam[0] + lam[-1]), rel=1e-10)


def test_bad_arguments_are_explained(rng):
    """Nonsense settings fail early with a message that names them."""
    X, y, *_ = noiseless_linear(rng)
    with pytest.raises(ValueError, match="learning_rate"):
        ds.fit(X, y, learning_rate="fast")
    with pytest.raises(ValueError, match="batch_size"):
        ds.fit(X, y, batch_size=0)
    with pytest.raises(ValueError, match="max_steps"):
        ds.fit(X, y, max_steps=-1)
    with pytest.raises(ValueError, match="theta0"):
        ds.minimize(DataObjective.__new__(DataObjective), [np.nan])


def test_coef_is_refused_for_plain_objectives():
    """intercept/coef need a linear model; the message says what to use instead."""
    res = ds.minimize(ds.objective([[1.0], [2.0]], [1.0, 2.0]), [0.0, 0.0], max_steps=2)
    with pytest.raises(AttributeError, match="res.params"):
        _ = res.coef


def test_every_rule_runs_with_every_sampling_choice(rng):
    """Each update rule works full-batch, mini-batch and stochastic through fit()."""
    X, y, *_ = noiseless_linear(rng, n=40)
    for name in ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]:
        for batch in (None, 8, 1):
            res = ds.fit(X, y, optimizer=name, learning_rate=0.01, batch_size=batch, max_steps=50)
            assert res.n_steps == 50 and np.all(np.isfinite(res.params))


def test_state_norms_are_recorded_when_asked(rng):
    """record_state=True adds ‖velocity‖ per step for momentum; the first equals ‖g₀‖."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y, optimizer="momentum", learning_rate=0.01, max_steps=20, record_state=True)
    v = res.history.state_norms["velocity"]
    assert v.shape == (20,)
    assert v[0] == pytest.approx(res.history.grad_norm[0], rel=1e-12)  # v₁ = β·0 + g₀


def test_armijo_line_search_records_its_steps(rng):
    """learning_rate='armijo' converges, records the accepted step per iteration."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y, learning_rate="armijo", max_steps=5000, tol=1e-12)
    assert res.settings["learning_rate"] == "armijo"
    assert np.all(res.history.lr > 0)
    assert res.loss_gap < 1e-6 * max(res.reference.loss, 1.0)
    with pytest.raises(ValueError, match="full-batch"):
        ds.fit(X, y, learning_rate="armijo", batch_size=4)


def test_schedule_by_name_sets_the_recorded_lr(rng):
    """schedule='cosine' decays the recorded lr from lr to ~0 at max_steps."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y, learning_rate=0.1, schedule="cosine", max_steps=100, tol=0)
    assert res.history.lr[0] == pytest.approx(0.1)
    assert res.history.lr[50] == pytest.approx(0.05)
    assert res.history.lr[-1] < 1e-3
