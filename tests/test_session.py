"""Session: minimize's loop one call at a time, with a learning rate that can change mid-run."""

import math

import numpy as np
import pytest

import descend as ds
from descend.data.synthetic import make_regression
from descend.descent.session import AdjustableRate, Session


def test_steps_match_minimize_full_batch(problem):
    """Stepping 7 + 13 + 30 times gives exactly minimize's iterates and history."""
    obj, theta0 = problem
    res = ds.minimize(obj, theta0, learning_rate=0.1, max_steps=50, tol=0)
    s = Session(obj, theta0, learning_rate=0.1, tol=0)
    batches = [s.step(n) for n in (7, 13, 30)]
    np.testing.assert_array_equal(s.theta, res.params)
    np.testing.assert_array_equal(np.concatenate([b.loss for b in batches]), res.history.loss)
    np.testing.assert_array_equal(s.history.step_size, res.history.step_size)
    np.testing.assert_array_equal(s.path(), res.history.params)


def test_steps_match_minimize_minibatch(problem):
    """Mini-batches: the same shuffled rows (same seed) and the same iterates as minimize."""
    obj, theta0 = problem
    res = ds.minimize(obj, theta0, learning_rate=0.05, batch_size=8, max_steps=40, tol=0, seed=3)
    s = Session(obj, theta0, learning_rate=0.05, batch_size=8, tol=0, seed=3)
    s.step(15)
    s.step(25)
    np.testing.assert_array_equal(s.theta, res.params)
    np.testing.assert_array_equal(s.history.loss, res.history.loss)


def test_learning_rate_changes_without_reset(problem):
    """set_learning_rate keeps θ and k; the next update uses the new rate."""
    obj, theta0 = problem
    s = Session(obj, theta0, learning_rate=0.01)
    s.step(10)
    theta = s.theta.copy()
    s.set_learning_rate(0.2)
    assert s.k == 10 and np.array_equal(s.theta, theta)
    batch = s.step(1)
    assert batch.lr[0] == 0.2 and s.current_lr == 0.2
    g = obj.grad(theta)
    np.testing.assert_allclose(s.theta, theta - 0.2 * g, rtol=1e-12)
    assert s.history.lr.tolist() == [0.01] * 10 + [0.2]


def test_divergence_is_explained_and_rolled_back(problem):
    """Above the stability limit the session stops as minimize does: same step, same message."""
    obj, theta0 = problem
    limit = ds.advise(obj).stability_limit
    res = ds.minimize(obj, theta0, learning_rate=1.5 * limit, max_steps=500)
    s = Session(obj, theta0, learning_rate=1.5 * limit, max_steps=500)
    batch = s.step(500)
    assert s.stop_reason == res.stop_reason == "diverged" and s.stopped
    assert s.message == res.message and "stability limit" in s.message
    np.testing.assert_array_equal(s.theta, res.params)
    assert len(batch) == s.k == res.n_steps
    assert len(s.step(10)) == 0  # waits for a new rate or a reset


def test_lower_rate_after_divergence_goes_on(problem):
    """After a divergence, a smaller rate restarts from the last good θ and converges."""
    obj, theta0 = problem
    adv = ds.advise(obj)
    s = Session(obj, theta0, learning_rate=1.5 * adv.stability_limit)
    s.step(1000)
    assert s.stop_reason == "diverged"
    s.set_learning_rate(adv.best_lr)
    assert s.stop_reason is None
    s.step(2000)
    assert s.stop_reason == "converged"
    ref = ds.least_squares(obj)
    np.testing.assert_allclose(s.theta, ref.params, rtol=1e-6, atol=1e-8)


def test_max_steps_converged_and_reset(problem):
    """max_steps caps the session; reset starts over identically; converged can go on."""
    obj, theta0 = problem
    s = Session(obj, theta0, learning_rate=0.1, max_steps=30, tol=0)
    assert len(s.step(100)) == 30
    s.step(1)
    assert s.stop_reason == "max_steps" and s.stopped
    first = s.history.loss.copy()
    s.reset()
    assert s.k == 0 and s.stop_reason is None and np.array_equal(s.theta, theta0)
    s.step(30)
    np.testing.assert_array_equal(s.history.loss, first)
    c = Session(obj, theta0, learning_rate=0.3, tol=1e-6)
    c.step(10_000)
    assert c.stop_reason == "converged"
    k = c.k
    assert len(c.step(3)) == 3 and c.k == k + 3


def test_time_budget_and_path_thinning(problem):
    """max_seconds bounds a call; the kept path stays bounded and ends at θ."""
    obj, theta0 = problem
    s = Session(obj, theta0, learning_rate=0.001, path_limit=50, tol=0, max_steps=100_000)
    assert 1 <= len(s.step(100_000, max_seconds=0.02)) < 100_000
    s.step(500)
    P = s.path()
    assert P.shape[0] <= 52 and np.array_equal(P[0], theta0) and np.array_equal(P[-1], s.theta)
    assert s.path(0, 2).shape == (P.shape[0], 2)
    with pytest.raises(ValueError, match="index"):
        s.path(0, 5)


def test_schedule_follows_new_peak_rate(problem):
    """With a schedule, set_learning_rate rescales it and keeps the step count."""
    obj, theta0 = problem
    rate = AdjustableRate(0.1, "constant", 100)
    assert rate(5) == 0.1
    rate.set(0.3)
    assert rate(5) == 0.3
    with pytest.raises(ValueError, match="positive"):
        rate.set(-1.0)
    with pytest.raises(ValueError, match="positive"):
        rate.set(math.nan)


def test_bad_arguments(problem):
    """Bad settings raise ValueError with the reason."""
    obj, theta0 = problem
    with pytest.raises(ValueError, match="entries"):
        Session(obj, np.zeros(5))
    with pytest.raises(ValueError, match="batch_size"):
        Session(obj, theta0, batch_size=0)
    with pytest.raises(ValueError, match="NaN"):
        Session(obj, [np.nan, 0.0, 0.0])
    s = Session(obj, theta0)
    with pytest.raises(ValueError, match="whole number"):
        s.step(-1)


def test_snapshot_is_plain(problem):
    """snapshot() holds plain Python values."""
    obj, theta0 = problem
    s = Session(obj, theta0, learning_rate=0.1)
    s.step(3)
    snap = s.snapshot()
    assert snap["k"] == 3 and isinstance(snap["theta"], list) and snap["stop_reason"] is None


def test_make_regression():
    """Synthetic data: known truth, the asked-for number of outliers, clear errors."""
    d = make_regression("poly", n=100, noise=0.0, degree=2, seed=4)
    np.testing.assert_allclose(d.y, np.polynomial.polynomial.polyval(d.X[:, 0], d.coef))
    o = make_regression("linear", n=40, noise=0.5, outliers=0.1, seed=0)
    assert o.outliers.shape == (4,) and "4 outliers" in o.description
    clean = make_regression("linear", n=40, noise=0.5, outliers=0.0, seed=0)
    assert np.abs(o.y - clean.y).max() > 5 * np.std(clean.y - 2) / 2
    for kwargs, match in [
        ({"kind": "cubic"}, "unknown kind"),
        ({"n": 1}, "n must"),
        ({"noise": -1.0}, "noise"),
        ({"outliers": 0.9}, "outliers"),
        ({"kind": "poly", "degree": 30}, "degree"),
    ]:
        with pytest.raises(ValueError, match=match):
            make_regression(**kwargs)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_other_update_rules_match_minimize(problem, name):
    """Momentum and Adam through the adjustable rate give minimize's iterates exactly."""
    obj, theta0 = problem
    res = ds.minimize(obj, theta0, optimizer=name, learning_rate=0.05, max_steps=60, tol=0)
    s = Session(obj, theta0, name, learning_rate=0.05, tol=0)
    s.step(25)
    s.step(35)
    np.testing.assert_array_equal(s.theta, res.params)
    s.set_learning_rate(0.01)  # the optimizer state (velocity, moments) carries on
    assert s.step(1).lr[0] == 0.01


def test_schedule_is_rescaled_by_a_new_rate(problem):
    """A cosine schedule keeps its shape and step count when the peak rate changes."""
    obj, theta0 = problem
    s = Session(obj, theta0, learning_rate=0.1, schedule="cosine", max_steps=100, tol=0)
    s.step(50)
    assert s.current_lr == pytest.approx(0.05)
    s.set_learning_rate(0.2)
    assert s.current_lr == pytest.approx(0.1)


def test_session_takes_proximal_steps_for_an_l1_penalty(rng):
    """A Session on a lasso problem runs ISTA like ds.fit: the same θ, exact zeros."""
    from descend.problems.build import build_problem

    X = rng.normal(size=(100, 4)) * [1.0, 3.0, 1.0, 2.0]
    y = X @ [1.0, 0.0, 2.0, 0.0] + rng.normal(size=100)
    problem = build_problem(X, y, penalty="l1", alpha=1.0, auto_rate=True)
    session = ds.Session(problem, learning_rate="auto")
    session.step(5000)
    res = ds.fit(X, y, penalty="l1", alpha=1.0, learning_rate="auto")
    assert session.stop_reason == res.stop_reason == "converged"
    np.testing.assert_array_equal(session.theta, res.params)
    assert np.sum(session.theta == 0.0) >= 1


def test_validation_split_is_recorded_as_ds_fit_records_it():
    """A problem with validation_fraction: the session records the held-out loss at every θ_k,
    exactly ds.fit's val_loss, and its last value is the MSE of the held-out rows at θ_k."""
    from descend.problems.build import build_problem, split_validation

    d = make_regression("linear", n=80, noise=1.0, seed=2)
    problem = build_problem(d.X, d.y, validation_fraction=0.25, seed=0)
    s = ds.Session(problem, learning_rate=0.1, tol=0)
    first = s.step(20)
    assert s.has_validation and s.n_val == 20
    np.testing.assert_array_equal(first.val_loss, s.val_curve()[1])
    s.step(30)
    res = ds.fit(d.X, d.y, validation_fraction=0.25, learning_rate=0.1, max_steps=50, tol=0)
    np.testing.assert_array_equal(s.history.val_loss, res.history.val_loss)
    steps, losses = s.val_curve()
    np.testing.assert_array_equal(steps, np.arange(50))
    # the held-out rows' MSE at θ_49 (the last θ before the 50th update), by hand
    _, _, X_val, y_val, _ = split_validation(d.X, d.y, 0.25, 0)
    theta_49 = s.path()[-2]
    pred = s.objective.model.predict(theta_49, X_val)
    assert losses[-1] == pytest.approx(np.mean((y_val - pred) ** 2), rel=1e-12)
    assert s.val_curve(45)[0].tolist() == [45, 46, 47, 48, 49]


def test_validation_with_mini_batches_is_recorded_each_epoch():
    """Mini-batches: one held-out loss per epoch's end (60 training rows, batches of 20)."""
    from descend.problems.build import build_problem

    d = make_regression("linear", n=80, noise=1.0, seed=2)
    s = ds.Session(
        build_problem(d.X, d.y, validation_fraction=0.25, full_batch=False),
        learning_rate=0.05,
        batch_size=20,
        tol=0,
    )
    s.step(30)
    assert s.val_curve()[0].tolist() == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]


def test_without_a_split_nothing_is_recorded(problem):
    obj, theta0 = problem
    s = Session(obj, theta0, learning_rate=0.1)
    s.step(5)
    assert not s.has_validation and s.n_val == 0 and s.history.val_loss is None
    assert s.val_curve()[0].shape == (0,)


def test_steps_with_a_deadline_match_minimize(problem):
    """With ``max_seconds`` the session reads the clock between chunks of the loop (which grow
    while they are quick): the updates it makes, their θ (the returned ``params``) and the
    path are still minimize's, bit for bit."""
    obj, theta0 = problem
    res = ds.minimize(obj, theta0, learning_rate=0.05, max_steps=300, tol=0, record_params=True)
    s = Session(obj, theta0, learning_rate=0.05, tol=0)
    made = [s.step(120, max_seconds=60.0) for _ in range(2)] + [s.step(60, max_seconds=60.0)]
    assert [len(h) for h in made] == [120, 120, 60]
    np.testing.assert_array_equal(np.concatenate([h.loss for h in made]), res.history.loss)
    np.testing.assert_array_equal(made[1].params, res.history.params[120:241])
    np.testing.assert_array_equal(s.path(), res.history.params)
