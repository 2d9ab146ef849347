"""Polyak–Ruppert averaging (``average``): descent/loop.py keeps the mean of the iterates,
descent/minimize.py returns it; ds.fit and both estimators pass it on."""

import numpy as np
import pytest

import descend as ds


@pytest.fixture
def noisy(rng):
    """Least squares with unit noise: the exact answer is numpy's lstsq, and mini-batch
    descent at a constant rate jitters around it."""
    n = 2000
    X = rng.normal(size=(n, 5))
    y = X @ rng.normal(size=5) + 1.0 + rng.normal(size=n)
    sol = np.linalg.lstsq(np.column_stack([X, np.ones(n)]), y, rcond=None)[0]
    return X, y, sol


def _error(res, sol):
    return float(np.linalg.norm(np.r_[res.coef, res.intercept] - sol))


@pytest.mark.parametrize("average", [True, 200])
def test_the_average_is_closer_than_the_last_iterate(noisy, average):
    X, y, sol = noisy
    kw = dict(optimizer="sgd", learning_rate=0.05, batch_size=10, max_steps=4000, seed=1)
    last = ds.fit(X, y, **kw)
    mean = ds.fit(X, y, average=average, **kw)
    assert _error(mean, sol) < _error(last, sol) / 5
    assert mean.settings["average"] == average
    assert "average of the last" in mean.message
    # the reported loss is θ̄'s, and lower than the last iterate's
    assert mean.loss < last.loss


def test_the_average_is_the_mean_of_the_recorded_iterates(noisy):
    """θ̄ equals the plain mean of the path the history records (θ_1 … θ_k), the first
    `average` of them left out."""
    X, y, _ = noisy
    kw = dict(optimizer="sgd", learning_rate=0.05, batch_size=50, max_steps=300, seed=2)
    path = ds.fit(X, y, record_params=True, **kw).history.params
    res = ds.fit(X, y, average=100, record_params=True, **kw)
    np.testing.assert_allclose(res.params, path[101:].mean(axis=0), rtol=1e-10, atol=1e-12)


def test_bad_average_is_a_clear_error(noisy):
    X, y, _ = noisy
    with pytest.raises(ValueError, match="average must be"):
        ds.fit(X, y, average=-1, max_steps=5)


def test_an_average_past_the_last_update_says_theta_is_the_last_iterate(noisy):
    """average=500 on a 100-update run averages nothing: θ is the last iterate (the same θ as
    without averaging) and the message says so instead of staying silent."""
    X, y, _ = noisy
    kw = dict(optimizer="sgd", learning_rate=0.05, batch_size=10, max_steps=100, seed=1)
    plain = ds.fit(X, y, **kw)
    late = ds.fit(X, y, average=500, **kw)
    np.testing.assert_array_equal(late.params, plain.params)
    assert "not an average" in late.message and "after update 500" in late.message
    assert "made 100" in late.message


def test_estimators_take_average(noisy):
    pytest.importorskip("sklearn")
    from descend.estimators import GDClassifier, GDRegressor

    X, y, sol = noisy
    kw = dict(optimizer="sgd", learning_rate=0.05, batch_size=10, max_iter=4000, seed=1)
    last = GDRegressor(**kw).fit(X, y)
    mean = GDRegressor(average=True, **kw).fit(X, y)
    err = [np.linalg.norm(np.r_[e.coef_, e.intercept_] - sol) for e in (last, mean)]
    assert err[1] < err[0] / 5
    labels = (y > np.median(y)).astype(int)
    clf = GDClassifier(average=True, penalty="l2", alpha=0.01, **kw).fit(X, labels)
    assert clf.result_.settings["average"] is True


def test_an_averaged_run_resumes_bitwise(tmp_path, noisy):
    """The running mean is part of the loop state: stop mid-run, resume from the checkpoint,
    and θ̄ equals the uninterrupted run's bit for bit."""
    X, y, _ = noisy
    kw = dict(optimizer="sgd", learning_rate=0.01, batch_size=7, max_steps=600, tol=0)
    kw.update(patience=10_000, average=100)
    full = ds.fit(X[:60], y[:60], **kw)
    path = tmp_path / "run.ckpt"
    part = ds.fit(
        X[:60], y[:60], callback=lambda k, t, l: k == 250, checkpoint=path, checkpoint_every=100,
        **kw,
    )  # fmt: skip
    assert part.stop_reason == "interrupted"
    res = ds.resume(path, X[:60], y[:60])
    np.testing.assert_array_equal(res.params, full.params)
    assert res.settings["average"] == 100
