"""The one rate resolver: every learning-rate setting becomes one Rate, the same everywhere."""

from __future__ import annotations

import math

import numpy as np
import pytest

import descend as ds
from descend.descent.rates import Rate, Smoothing, auto_settings, resolve_rate
from descend.descent.schedules import CosineDecay
from descend.problems.curvature import advice_from_eigenvalues


@pytest.fixture
def advice():
    """λ_min = 1, λ_max = 100 (κ = 100)."""
    return advice_from_eigenvalues(np.array([1.0, 100.0]), exact=True)


def test_auto_table(advice):
    """The documented table: gd 2/(λmin+λmax), Polyak's heavy ball, Nesterov, adaptive ∝ std(y)."""
    assert auto_settings(advice, "gd") == (2 / 101, {})
    lr, hyper = auto_settings(advice, "momentum")
    assert lr == pytest.approx(4 / (10 + 1) ** 2) and hyper["beta"] == pytest.approx((9 / 11) ** 2)
    lr, hyper = auto_settings(advice, "nesterov")
    assert lr == pytest.approx(1 / 100) and hyper["beta"] == pytest.approx(9 / 11)
    assert auto_settings(advice, "adam", target_scale=3.0) == (pytest.approx(0.03), {})
    assert auto_settings(advice, "adagrad", target_scale=3.0) == (pytest.approx(0.3), {})


def test_auto_with_a_singular_hessian_falls_back():
    """κ = ∞: momentum takes gd's rate and keeps its default β."""
    singular = advice_from_eigenvalues(np.array([0.0, 4.0]), exact=True)
    assert math.isinf(singular.kappa)
    lr, hyper = auto_settings(singular, "momentum")
    assert lr == singular.best_lr and hyper == {}


def test_given_hyperparameters_win_over_auto(advice):
    """beta=0.5 given with "auto" stays 0.5; the rate is still Polyak's."""
    rate = resolve_rate("auto", "momentum", advice=advice, hyper={"beta": 0.5})
    assert rate.hyper == {"beta": 0.5}
    assert rate.learning_rate == pytest.approx(4 / 121)
    assert "learning_rate='auto' chose" in rate.notes[0] and "beta" not in rate.notes[0]


def test_numbers_schedules_and_armijo(advice):
    """A number stays a number; a schedule name shapes it; armijo runs the rule at rate 1."""
    assert resolve_rate(0.1, "gd").learning_rate == 0.1
    shaped = resolve_rate(0.1, "gd", schedule="cosine", max_steps=100)
    assert isinstance(shaped.learning_rate, CosineDecay) and shaped.learning_rate(100) == 0.0
    assert shaped.describe()["name"] == "cosine"
    armijo = resolve_rate("ARMIJO", "gd")
    assert armijo.line_search and armijo.learning_rate == 1.0 and armijo.describe() == "armijo"
    same = Rate(0.2)
    assert resolve_rate(same, "gd") is same


@pytest.mark.parametrize("rule", ["momentum", "nesterov", "adam"])
def test_armijo_is_refused_for_rules_whose_update_need_not_point_downhill(rule):
    """Backtracking needs a descent direction: momentum on Norris reached an update with
    gᵀu > 0 and ended in a raw error from inside the line search; now one clear error up
    front, through ds.fit too."""
    with pytest.raises(ValueError, match="needs optimizer='gd'"):
        resolve_rate("armijo", rule)
    d = ds.datasets.load("norris")
    with pytest.raises(ValueError, match=f"the {rule} update need not point downhill"):
        ds.fit(d.X, d.y, learning_rate="armijo", optimizer=rule)


def test_auto_for_the_mae_is_the_smoothing_continuation(advice):
    """A smoothable objective (the MAE of a linear model): "auto" for gd/sgd on full batches is
    the continuation with Armijo steps; where a constant rate is needed (a Session, a sweep),
    for other rules, mini-batches or a schedule it is the table's rate, with a note saying it
    stops short of the minimum."""
    for rule in ("gd", "sgd"):
        rate = resolve_rate("auto", rule, advice=advice, smoothable=True)
        assert rate.line_search and rate.smoothing == Smoothing() and rate.describe() == "armijo"
        assert "smoothing continuation" in rate.notes[0]
    for rule, kw in [
        ("gd", {"constant": True}),
        ("gd", {"batch_size": 8}),
        ("gd", {"schedule": "cosine"}),
        ("momentum", {}),
    ]:
        rate = resolve_rate("auto", rule, advice=advice, smoothable=True, **kw)
        assert rate.smoothing is None and not rate.line_search
        assert any("not differentiable" in note for note in rate.notes)
    assert resolve_rate("auto", "gd", advice=advice).smoothing is None  # smooth losses: as before
    assert resolve_rate(0.1, "gd", smoothable=True).smoothing is None  # only "auto" chooses it


def test_auto_for_huber_and_log_loss_is_a_line_search(advice):
    """Huber and log loss (``line_search_pays``): "auto" for gd/sgd on full batches steps by
    Armijo backtracking — the curvature bound a constant rate is tuned to can be far above the
    curvature near the minimum. A constant rate wherever the caller needs one, for other rules,
    mini-batches and schedules; a number is never replaced."""
    for rule in ("gd", "sgd"):
        rate = resolve_rate("auto", rule, advice=advice, line_search_pays=True)
        assert rate.line_search and rate.smoothing is None and rate.describe() == "armijo"
        assert "Armijo" in rate.notes[0]
    for rule, kw in [
        ("gd", {"constant": True}),
        ("gd", {"batch_size": 8}),
        ("gd", {"schedule": "cosine"}),
        ("momentum", {}),
        ("adam", {}),
    ]:
        rate = resolve_rate("auto", rule, advice=advice, line_search_pays=True, **kw)
        assert not rate.line_search and "chose" in rate.notes[0]
    assert not resolve_rate(0.1, "gd", line_search_pays=True).line_search


def test_huber_and_log_loss_objectives_declare_the_line_search(rng):
    """The declaration behind it: a linear model with a loss whose curvature varies; not the
    squared error (constant curvature: the table's rate is optimal), not the MAE (its own
    continuation), not a network (no fixed whitening), not an L1 penalty (proximal steps)."""
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] + rng.normal(size=30) > 0).astype(float)
    assert ds.objective(X, y, loss="huber").line_search_pays
    assert ds.objective(X, y, loss="logloss").line_search_pays
    assert not ds.objective(X, y, loss="mse").line_search_pays
    assert not ds.objective(X, y, loss="mae").line_search_pays
    assert not ds.objective(X, y, model=ds.MLP([3]), loss="huber").line_search_pays


@pytest.mark.parametrize(
    ("lr", "kwargs", "match"),
    [
        ("fast", {}, "'auto' or 'armijo'"),
        ("auto", {}, "needs the problem's curvature"),
        (-1.0, {}, "positive finite"),
        (math.inf, {}, "positive finite"),
        (True, {}, "'auto' or 'armijo'"),
        (lambda k: 0.1, {"schedule": "cosine"}, "not both"),
        ("armijo", {"batch_size": 8}, "full"),
    ],
)
def test_bad_settings_are_refused(lr, kwargs, match):
    """Each bad setting gets one clear error naming it."""
    with pytest.raises(ValueError, match=match):
        resolve_rate(lr, "gd", **kwargs)


def test_above_the_limit_warns(advice):
    """A constant plain-GD rate at or above 2/λ_max warns (and notes it) when asked to."""
    with pytest.warns(ds.DescendWarning, match="stability limit"):
        rate = resolve_rate(0.05, "gd", advice=advice, warn=True)
    assert rate.notes and "0.02" in rate.notes[0]


def test_recorded_rate_is_the_applied_rate_after_a_restart():
    """A diverged cosine session restarted at a new rate records exactly the η it applies."""
    d = ds.datasets.load("norris")
    session = ds.Session(ds.objective(d.X, d.y), learning_rate=1.5, schedule="cosine")
    session.step(200)
    assert session.stop_reason == "diverged"
    session.set_learning_rate(0.1)  # restarts the rule's state (its step count) at the new rate
    made = session.step(5)
    # the rule's own count restarted at 0, so cosine gives its peak again: 0.1 exactly
    assert made.lr[0] == 0.1
    theta_change = np.diff(made.params, axis=0)
    grads = [session.objective.grad(p) for p in made.params[:-1]]
    applied = [
        np.linalg.norm(dt) / np.linalg.norm(g) for dt, g in zip(theta_change, grads, strict=True)
    ]
    np.testing.assert_allclose(made.lr, applied, rtol=1e-9)


def test_target_scale_is_needed_by_auto_adaptive_rules_only():
    """Callers skip the pass over y for std(y) unless "auto" picks an adaptive rule's rate —
    safe because no other rule's "auto" settings depend on it."""
    from descend.descent.rates import ADAPTIVE_LR, needs_target_scale

    advice = advice_from_eigenvalues(np.array([0.5, 1.0, 2.0]), exact=True)
    for name in ("gd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "adamw"):
        needed = needs_target_scale("auto", name)
        assert needed == (name in ADAPTIVE_LR)
        assert not needs_target_scale(0.01, name)
        if not needed:
            assert auto_settings(advice, name, 1.0) == auto_settings(advice, name, 123.0)
    assert needs_target_scale(" AUTO ", "Adam")
