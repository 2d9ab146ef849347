"""ds.minimize and the loop it drives: stop reasons, sampling, determinism, the history."""

import math

import numpy as np
import pytest

import descend as ds
from descend.problems.objective import DataObjective


def test_minimize_on_a_plain_objective():
    """minimize() works on any Objective (here a quadratic written inline)."""

    class Bowl(ds.Objective):
        n_params = 2

        def value_and_grad(self, theta):
            return float(theta @ theta), 2 * theta

    res = ds.minimize(Bowl(), [3.0, -4.0], learning_rate=0.25, tol=0, gtol=1e-14)
    # no μ is declared for this objective: "stationary", never "converged" (certified)
    assert res.stop_reason == "stationary" and res.certificate is None
    np.testing.assert_allclose(res.params, 0, atol=1e-12)
    with pytest.raises(ValueError, match="batch_size needs a data objective"):
        ds.minimize(Bowl(), [1.0, 1.0], batch_size=4)


def test_converged_stop(rng, noiseless_linear):
    """A well-conditioned problem stops by the loss-change tolerance."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y + rng.normal(size=len(y)), learning_rate="auto", tol=1e-10)
    assert res.stop_reason == "converged" and "tol" in res.message


def test_max_steps_stop(rng, noiseless_linear):
    """A run cut short says max_steps, with exactly that many updates recorded."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y, learning_rate=1e-4, max_steps=25)
    assert res.stop_reason == "max_steps"
    assert res.n_steps == 25 and len(res.history.loss) == 25


def test_diverged_stop_returns_last_good_theta(rng, noiseless_linear):
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


def test_diverged_explains_unscaled_features(rng, noiseless_linear):
    """On raw, badly scaled columns the message points at scaling."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X * 1000, y, model=ds.Linear(scale=False), learning_rate=0.01, warn=False)
    assert res.stop_reason == "diverged"
    assert "unscaled" in res.message


def test_interrupted_stop_keeps_the_progress(rng, noiseless_linear):
    """Ctrl-C mid-run (simulated) returns 'interrupted' and the parameters reached."""
    X, y, *_ = noiseless_linear(rng)

    def ctrl_c(k, theta, loss):
        if k == 30:
            raise KeyboardInterrupt

    res = ds.fit(X, y, learning_rate=0.05, callback=ctrl_c)
    assert res.stop_reason == "interrupted"
    assert res.n_steps == 31
    assert res.loss < res.history.loss[0]


def test_minibatch_of_all_rows_equals_full_batch(rng, noiseless_linear):
    """batch_size = n gives exactly the full-batch iterates."""
    X, y, *_ = noiseless_linear(rng, n=30)
    a = ds.fit(X, y, learning_rate=0.1, max_steps=200)
    b = ds.fit(X, y, learning_rate=0.1, max_steps=200, batch_size=30)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.history.loss, b.history.loss)


def test_fixed_seed_gives_identical_runs(rng, noiseless_linear):
    """Same seed ⇒ identical stochastic runs; another seed ⇒ a different path."""
    X, y, *_ = noiseless_linear(rng, n=50)
    a = ds.fit(X, y, learning_rate=0.01, batch_size=1, max_steps=300, seed=7)
    b = ds.fit(X, y, learning_rate=0.01, batch_size=1, max_steps=300, seed=7)
    c = ds.fit(X, y, learning_rate=0.01, batch_size=1, max_steps=300, seed=8)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_minibatch_sgd_gets_close(rng, noiseless_linear):
    """Mini-batch descent on noisy data ends near the least-squares answer."""
    X, y, *_ = noiseless_linear(rng, n=400)
    y = y + rng.normal(size=400)
    res = ds.fit(X, y, learning_rate=0.02, batch_size=16, max_steps=20_000)
    assert res.loss < 1.05 * res.reference.loss


def test_history_columns_and_step_size(rng, noiseless_linear):
    """step_size = ‖lr·g‖ for GD, steps shrink near the minimum, θ path is recorded."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y, learning_rate=0.1, max_steps=100)
    h = res.history
    np.testing.assert_allclose(h.step_size, 0.1 * h.grad_norm, rtol=1e-12)
    assert h.step_size[-1] < h.step_size[0]
    assert h.params.shape == (101, res.params.size)
    np.testing.assert_array_equal(h.params[-1], res.params)
    np.testing.assert_array_equal(h.lr, np.full(100, 0.1))


def test_state_norms_are_recorded_when_asked(rng, noiseless_linear):
    """record_state=True adds ‖velocity‖ per step for momentum; the first equals ‖g₀‖."""
    X, y, *_ = noiseless_linear(rng)
    res = ds.fit(X, y, optimizer="momentum", learning_rate=0.01, max_steps=20, record_state=True)
    v = res.history.state_norms["velocity"]
    assert v.shape == (20,)
    assert v[0] == pytest.approx(res.history.grad_norm[0], rel=1e-12)  # v₁ = β·0 + g₀


def test_bad_arguments_are_explained(rng, noiseless_linear):
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
