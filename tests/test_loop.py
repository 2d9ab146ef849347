"""Descent: the one loop body that minimize and Session share."""

import json

import numpy as np
import pytest

import descend as ds
from descend.descent import optim
from descend.descent.loop import Descent, LoopState, check_batch_size
from descend.descent.rates import Smoothing
from descend.descent.session import AdjustableRate


@pytest.fixture
def problem(rng):
    X = rng.normal(size=(30, 2)) * [1.0, 3.0]
    y = X @ [2.0, -1.0] + 0.5 + 0.05 * rng.normal(size=30)
    obj = ds.objective(X, y)
    return obj, obj.model.init_params(np.random.default_rng(2))


@pytest.mark.parametrize("batch_size", [None, 7])
def test_stepping_by_hand_is_minimize(problem, batch_size):
    """Calling step() until it stops gives minimize's iterates, history and stop, exactly."""
    obj, theta0 = problem
    kw = dict(batch_size=batch_size, max_steps=120, tol=1e-6, seed=5)
    res = ds.minimize(obj, theta0, "momentum", 0.05, **kw)
    run = Descent(obj, theta0, optim.get("momentum", 0.05), record_params=True, **kw)
    rows = []
    while (row := run.step()) is not None:
        rows.append(row)
        if run.stop_reason is not None:
            break
    assert (run.stop_reason, run.message, run.k) == (res.stop_reason, res.message, res.n_steps)
    np.testing.assert_array_equal(run.theta, res.params)
    np.testing.assert_array_equal([r[1] for r in rows], res.history.loss)
    np.testing.assert_array_equal(run.recorder.history().params, res.history.params)


def test_snapshot_resumes_bitwise(problem):
    """A snapshot taken mid-run, through JSON and back, continues to the very same iterates."""
    obj, theta0 = problem
    opt = optim.get("adam", 0.02)
    kw = dict(batch_size=4, max_steps=90, tol=0, seed=1)
    whole = Descent(obj, theta0, opt, **kw)
    while whole.step() is not None:
        pass
    part = Descent(obj, theta0, opt, **kw)
    for _ in range(37):
        part.step()
    saved = LoopState.from_dict(json.loads(json.dumps(part.snapshot().to_dict())))
    rest = Descent(obj, theta0, opt, start=saved, **kw)
    while rest.step() is not None:
        pass
    assert rest.stop_reason == whole.stop_reason == "max_steps"
    np.testing.assert_array_equal(rest.theta, whole.theta)
    assert rest.recorder.rows == whole.recorder.rows


def test_divergence_rolls_back_and_restart_goes_on(problem):
    """A too-large rate diverges (θ rolled back, no update recorded for that step); restart()
    at a good rate converges from there."""
    obj, theta0 = problem
    adv = ds.advise(obj)
    rate = AdjustableRate(1.5 * adv.stability_limit)
    run = Descent(obj, theta0, optim.get("gd", rate), max_steps=5000)
    while run.step() is not None:
        pass
    assert run.stop_reason == "diverged" and "stability limit" in run.message
    assert np.array_equal(run.theta, run.best_theta) and len(run.recorder.rows) == run.k
    assert run.step() is None  # stopped runs make no update
    rate.set(adv.best_lr)
    run.restart()
    while run.step() is not None:
        pass
    assert run.stop_reason == "converged"
    np.testing.assert_allclose(run.theta, ds.least_squares(obj).params, rtol=1e-5, atol=1e-7)


def test_batch_size_rules(problem):
    """A batch of every row is full batch; zero, fractions and booleans are refused."""
    obj, _ = problem
    assert check_batch_size(obj, 30) is None and check_batch_size(obj, np.int64(8)) == 8
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            check_batch_size(obj, bad)


def test_checkpoints_refuse_the_non_reshuffling_samplers(tmp_path, rng):
    """sampling='slices' cannot be checkpointed: the refusal says which sampler can."""

    X = rng.normal(size=(40, 2))
    y = X @ [1.0, 2.0]
    with pytest.raises(ValueError, match="sampling='reshuffle'"):
        ds.fit(X, y, batch_size=8, sampling="slices", checkpoint=str(tmp_path / "c.ckpt"))
    with pytest.raises(ValueError, match="sampling must be one of"):
        ds.fit(X, y, batch_size=8, sampling="random")


def test_smoothing_continuation_for_the_mae():
    """The MAE's continuation: δ shrinks stage by stage to 2·tol·L, the last stage is judged by
    the ordinary verdicts (never "converged") with the smoothing's bound in the message, and it
    ends far below where a constant-rate subgradient run can get."""
    d = ds.datasets.load("norris")
    X, y = d.X, d.y
    res = ds.fit(X, y, loss="mae", learning_rate="auto")
    assert res.stop_reason in ("stationary", "stalled")
    assert "smoothing continuation" in res.message and "δ/2" in res.message
    smoothing = res.settings["smoothing"]
    assert smoothing["factor"] == 0.1 and smoothing["delta"] <= 2e-9 * res.loss * (1 + 1e-6)
    assert res.settings["learning_rate"] == "armijo"
    plain = ds.fit(X, y, loss="mae", learning_rate=0.05, preconditioner="qr", max_steps=2000)
    assert res.loss < plain.loss - 1e-6


def test_smoothing_snapshot_resumes_bitwise(rng):
    """A snapshot taken mid-continuation, through JSON and back, continues to the same run."""
    X = rng.normal(size=(25, 2))
    obj = ds.objective(X, X @ [1.0, 2.0] + rng.laplace(size=25), loss="mae")
    theta0 = obj.model.init_params(np.random.default_rng(0))
    kw = dict(max_steps=300, line_search=True, smoothing=Smoothing())
    whole = Descent(obj, theta0, optim.get("gd", 1.0), **kw)
    while whole.step() is not None and whole.stop_reason is None:
        pass
    part = Descent(obj, theta0, optim.get("gd", 1.0), **kw)
    for _ in range(whole.k // 2):
        part.step()
    assert part.delta is not None and part.stage_end is not None  # mid-continuation
    saved = LoopState.from_dict(json.loads(json.dumps(part.snapshot().to_dict())))
    rest = Descent(obj, theta0, optim.get("gd", 1.0), start=saved, **kw)
    while rest.step() is not None and rest.stop_reason is None:
        pass
    assert (rest.stop_reason, rest.message, rest.delta) == (
        whole.stop_reason,
        whole.message,
        whole.delta,
    )
    np.testing.assert_array_equal(rest.theta, whole.theta)
    assert rest.recorder.rows == whole.recorder.rows


def test_smoothing_needs_a_smoothable_full_batch_line_search(problem):
    """The continuation refuses a loss without a smoothing, mini-batches and a constant rate."""
    obj, theta0 = problem
    with pytest.raises(ValueError, match="smoothing continuation needs"):
        Descent(obj, theta0, optim.get("gd", 1.0), line_search=True, smoothing=Smoothing())


# ---------------------------------------------------------------------------------------------
# the divergence guard's three paths, each told apart by its reason
# ---------------------------------------------------------------------------------------------
def _norris_at(lr, **kw):
    d = ds.datasets.load("norris")  # standardised: λ_max = 2, so the limit 2/λ_max = 1
    with np.errstate(all="ignore"):
        return ds.fit(d.X, d.y, learning_rate=lr, warn=False, **kw)


@pytest.mark.parametrize("patience", [10, 25])
def test_a_loss_rising_step_after_step_diverges_as_rising(patience):
    """η = 1.05 > 2/λ_max: along the top eigenvector each step multiplies the error by
    1 − ηλ_max = −1.1, so the loss grows by (1 − ηλ_max)² = 1.21 a step — finite and far from
    10¹²·L_0 for hundreds of steps. The guard stops after ``rise_patience`` rising steps, saying
    the loss *kept rising*; not overflow, not blow-up."""
    res = _norris_at(1.05, rise_patience=patience)
    loss = res.history.loss
    assert res.stop_reason == "diverged" and res.n_steps == patience
    assert f"diverged at step {patience}: the loss kept rising" in res.message
    assert "non-finite" not in res.message and "10¹²" not in res.message
    assert np.all(np.diff(loss) > 0) and np.all(np.isfinite(loss))
    assert loss[-1] / loss[-2] == pytest.approx((1 - 1.05 * 2) ** 2, rel=1e-3)
    assert loss[-1] < 1e12 * loss[0]
    assert res.loss == pytest.approx(loss[0])  # θ rolled back to the lowest loss: the start


def test_a_loss_beyond_1e12_times_its_start_diverges_as_blown():
    """η = 10⁶: one step multiplies the loss by about (1 − 2·10⁶)² ≈ 4·10¹² — finite, but over
    10¹²·L_0 at once: 'grew by more than 10¹² times its start', at step 1."""
    res = _norris_at(1e6)
    assert res.stop_reason == "diverged" and res.n_steps == 1
    assert "diverged at step 1: the loss grew by more than 10¹² times its start" in res.message
    assert "kept rising" not in res.message and "non-finite" not in res.message


def test_an_overflowing_loss_diverges_as_non_finite():
    """η = 10³⁰⁰: θ overflows after one step and the loss is inf: 'became non-finite' (the
    last value inf), θ back at the lowest-loss point (finite)."""
    res = _norris_at(1e300)
    assert res.stop_reason == "diverged" and res.n_steps == 1
    assert "diverged at step 1: the loss became non-finite (last value inf)" in res.message
    assert "kept rising" not in res.message and "10¹²" not in res.message
    assert np.all(np.isfinite(res.params)) and np.isfinite(res.loss)
