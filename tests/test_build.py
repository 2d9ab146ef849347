"""The one problem builder: every entry point builds the same run from the same settings."""

from __future__ import annotations

import numpy as np
import pytest

import descend as ds
from descend.problems.build import build_problem, prepare, start_for
from descend.shells.web.limits import Limits
from descend.shells.web.runs import RunManager

pytest.importorskip("sklearn")
from descend.estimators import GDRegressor  # noqa: E402

STEPS = 10
CASES = [
    (name, optimizer, lr)
    for name in ("norris", "longley")  # κ = 1 (no preconditioner) and κ ≈ 1.2e4 ("auto": QR)
    for optimizer in ("gd", "momentum", "adam")
    for lr in (0.001, "auto")
]


def _via_fit(X, y, optimizer, lr):
    res = ds.fit(X, y, optimizer=optimizer, learning_rate=lr, max_steps=STEPS, tol=0.0, seed=0)
    return res.settings, res.history


def _via_compare(X, y, optimizer, lr):
    table = ds.compare(
        ds.objective(X, y), [(optimizer, {"learning_rate": lr})], max_steps=STEPS, tol=0.0, seed=0
    )
    res = table.results[0]
    return res.settings, res.history


def _via_sweep(X, y, optimizer, lr):
    sweep = ds.lr_sweep(
        X, y, lrs=[lr], optimizer=optimizer, max_steps=STEPS, tol=0.0, seed=0, record_params=True
    )
    res = sweep.results[0]
    return res.settings, res.history


def _via_estimator(X, y, optimizer, lr):
    est = GDRegressor(optimizer=optimizer, learning_rate=lr, max_iter=STEPS, tol=0.0, seed=0)
    with pytest.warns(Warning):  # max_steps reached: scikit-learn's ConvergenceWarning
        est.fit(X, y)
    return est.result_.settings, est.result_.history


def _via_playground(name, optimizer, lr):
    manager = RunManager(Limits())
    run = manager.create(
        {
            "data": {"source": "dataset", "name": name},
            "optimizer": optimizer,
            "learning_rate": lr,
            "max_steps": STEPS,
            "tol": 0.0,
            "seed": 0,
        }
    )
    steps = run.session.step(STEPS)
    settings = run.info["settings"]
    return {
        "learning_rate": settings["learning_rate"],
        "hyperparams": dict(run.session.opt.hyperparams),
        "preconditioner": run.session.problem.plan.kind,
    }, steps


@pytest.mark.parametrize(("name", "optimizer", "lr"), CASES)
def test_every_entry_point_runs_the_same_descent(name, optimizer, lr):
    """fit, compare, lr_sweep, the estimator and the playground: same η, β, preconditioner and
    the same first ten iterates, bit for bit (θ in the model's coordinates)."""
    d = ds.datasets.load(name)
    settings, history = _via_fit(d.X, d.y, optimizer, lr)
    lr_used = settings["learning_rate"]
    beta = settings["hyperparams"].get("beta")
    pre = settings["preconditioner"]
    assert history.params.shape == (STEPS + 1, d.X.shape[1] + 1)
    if lr == "auto":  # the table of descend.descent.rates decides, so check it is the table
        assert pre == ("qr" if name == "longley" else "none")
    else:
        assert lr_used == lr and pre == "none"
    others = {
        "compare": _via_compare(d.X, d.y, optimizer, lr),
        "lr_sweep": _via_sweep(d.X, d.y, optimizer, lr),
        "estimator": _via_estimator(d.X, d.y, optimizer, lr),
        "playground": _via_playground(name, optimizer, lr),
    }
    for where, (s, h) in others.items():
        assert s["learning_rate"] == lr_used, where
        assert s["hyperparams"].get("beta") == beta, where
        assert (s.get("preconditioner") or "none") == pre, where
        np.testing.assert_array_equal(h.params, history.params, err_msg=where)
        np.testing.assert_array_equal(h.lr, history.lr, err_msg=where)


def test_auto_gives_each_rule_its_own_settings():
    """On Longley "auto" is not one number: momentum gets Polyak's β, adam a rate ∝ std(y)."""
    d = ds.datasets.load("longley")
    gd = ds.fit(d.X, d.y, learning_rate="auto", max_steps=1, preconditioner="none")
    mom = ds.fit(
        d.X, d.y, optimizer="momentum", learning_rate="auto", max_steps=1, preconditioner="none"
    )
    adam = ds.fit(d.X, d.y, optimizer="adam", learning_rate="auto", max_steps=1)
    a = gd.advice
    assert gd.settings["learning_rate"] == pytest.approx(2 / (a.lam_min + a.lam_max), rel=1e-12)
    sl, ss = np.sqrt(a.lam_max), np.sqrt(a.lam_min)
    assert mom.settings["learning_rate"] == pytest.approx(4 / (sl + ss) ** 2, rel=1e-12)
    assert mom.settings["hyperparams"]["beta"] == pytest.approx(((sl - ss) / (sl + ss)) ** 2)
    assert adam.settings["learning_rate"] == pytest.approx(0.01 * np.std(d.y), rel=1e-12)


def test_minimize_auto_is_the_same_table_as_fit():
    """ds.minimize(objective, ..., learning_rate="auto") gives adam 0.01·std(y), as fit does."""
    d = ds.datasets.load("longley")
    obj = ds.objective(d.X, d.y)
    theta0 = obj.model.init_params(np.random.default_rng(0))
    res = ds.minimize(obj, theta0, optimizer="adam", learning_rate="auto", max_steps=1)
    fitted = ds.fit(d.X, d.y, optimizer="adam", learning_rate="auto", max_steps=1)
    assert res.settings["learning_rate"] == fitted.settings["learning_rate"]
    assert res.settings["learning_rate"] == pytest.approx(0.01 * np.std(d.y), rel=1e-12)


def test_build_problem_parts(rng):
    """θ₀ is the model's seeded start, the reference is least squares, auto may precondition."""
    d = ds.datasets.load("longley")
    plain = build_problem(d.X, d.y, seed=3)
    auto = build_problem(d.X, d.y, seed=3, auto_rate=True)
    assert plain.plan.kind == "none" and auto.plan.kind == "qr"
    np.testing.assert_array_equal(plain.theta0, auto.theta0)
    expected = plain.model.init_params(np.random.default_rng(3))
    np.testing.assert_array_equal(plain.theta0, expected)
    A = np.column_stack([np.ones(d.X.shape[0]), d.X])
    coef = np.linalg.lstsq(A, d.y, rcond=None)[0]
    np.testing.assert_allclose(plain.reference.coef, coef[1:], rtol=1e-8)
    # the whitened problem's Hessian is 2I: its advice says κ = 1
    assert auto.advice.kappa == pytest.approx(1.0, abs=1e-6)
    assert plain.advice.kappa > 1e4
    assert any("preconditioner: qr" in n for n in auto.notes)


def test_prepare_a_surface_starts_where_it_suggests():
    """A surface has no model: θ₀ is its suggested start, no reference, no preconditioner."""
    surface = ds.surfaces.rosenbrock()
    problem = prepare(surface, auto_rate=True)
    np.testing.assert_array_equal(problem.theta0, surface.suggested_start)
    assert problem.reference is None and problem.plan.kind == "none"
    assert problem.advice is not None and problem.advice.lam_max > 0


def test_start_for_needs_a_start_when_nothing_suggests_one():
    """An objective with neither model nor suggested start needs θ₀, and says so."""

    class Bowl(ds.Objective):
        n_params = 2

        def value_and_grad(self, theta):
            return float(theta @ theta), 2 * theta

    with pytest.raises(ValueError, match="give theta0"):
        start_for(Bowl())
    np.testing.assert_array_equal(start_for(Bowl(), [1.0, 2.0]), [1.0, 2.0])
