"""Curvature advice: stability limit, best rate, predicted steps."""

import numpy as np
import pytest

import descend as ds
from descend.problems.curvature import hessian_fd


def test_advice_matches_numpy_eigenvalues(rng):
    """λ_max, λ_min, κ, 2/λ_max and 2/(λ_min+λ_max) from np.linalg.eigvalsh of (2/n)AᵀA."""
    X = rng.normal(size=(50, 3)) @ np.diag([1.0, 2.0, 5.0])
    y = rng.normal(size=50)
    obj = ds.objective(X, y, model=ds.Linear(scale=False))
    A = np.column_stack([X, np.ones(50)])
    lam = np.linalg.eigvalsh(2 / 50 * A.T @ A)
    adv = ds.advise(obj)
    assert adv.lam_max == pytest.approx(lam[-1], rel=1e-12)
    assert adv.lam_min == pytest.approx(lam[0], rel=1e-10)
    assert adv.kappa == pytest.approx(lam[-1] / lam[0], rel=1e-10)
    assert adv.stability_limit == pytest.approx(2 / lam[-1], rel=1e-12)
    assert adv.best_lr == pytest.approx(2 / (lam[0] + lam[-1]), rel=1e-10)
    assert adv.exact


def test_rates_just_below_and_above_the_limit(rng):
    """0.99 × limit converges, 1.01 × limit diverges: the limit is where the advice says."""
    X = rng.normal(size=(40, 2))
    y = X @ [1.0, -1.0] + 0.5
    obj = ds.objective(X, y, model=ds.Linear(scale=False))
    limit = ds.advise(obj).stability_limit
    ok = ds.fit(X, y, model=ds.Linear(scale=False), learning_rate=0.99 * limit, max_steps=20_000)
    bad = ds.fit(
        X, y, model=ds.Linear(scale=False), learning_rate=1.01 * limit, max_steps=20_000, warn=False
    )
    assert ok.stop_reason == "converged"
    assert bad.stop_reason == "diverged"


def test_predicted_steps_is_close_to_measured(rng):
    """Predicted iterations to shrink the loss gap by 1e-8 are within a factor 2 of measured."""
    X = rng.normal(size=(200, 3)) * [1, 3, 6]
    y = X @ [1.0, 2.0, 3.0] + rng.normal(size=200)
    model = ds.Linear(scale=False)
    obj = ds.objective(X, y, model=model)
    adv = ds.advise(obj)
    res = ds.fit(X, y, model=model, learning_rate=adv.best_lr, tol=0, max_steps=5000, seed=3)
    gap = res.history.loss - res.reference.loss
    measured = int(np.argmax(gap <= 1e-8 * gap[0]))
    predicted = adv.predicted_steps(1e-8)
    assert predicted / 2 <= measured <= 2 * predicted


def test_warns_before_training_when_lr_exceeds_limit(rng):
    """A learning rate above 2/λ_max warns before any step is taken."""
    X = rng.normal(size=(20, 1))
    with pytest.warns(ds.DescendWarning, match="overshoot"):
        ds.fit(X, X[:, 0], learning_rate=5.0, max_steps=1)


def test_hessian_fd_of_a_known_function():
    """hessian_fd of f = x²y + y³ at (1, 2) is [[2y, 2x], [2x, 6y]] = [[4, 2], [2, 12]]."""

    class F(ds.Objective):
        n_params = 2

        def value_and_grad(self, t):
            x, y = t
            return x * x * y + y**3, np.array([2 * x * y, x * x + 3 * y * y])

    np.testing.assert_allclose(hessian_fd(F(), np.array([1.0, 2.0])), [[4, 2], [2, 12]], rtol=1e-7)


def test_power_iteration_estimates_lam_max_for_general_objectives(rng):
    """Without a constant Hessian, λ_max comes from Hessian-vector products."""
    from descend.problems.curvature import power_lam_max

    class Quad(ds.Objective):
        n_params = 3
        H = np.diag([1.0, 4.0, 9.0])

        def value_and_grad(self, t):
            return 0.5 * t @ self.H @ t, self.H @ t

    assert power_lam_max(Quad(), np.ones(3), iters=200) == pytest.approx(9.0, rel=1e-4)


# -- critical points: classify, hessian_hvp ---------------------------------------------------
def test_classify_kinds_on_known_points():
    """Minimum, maximum and saddle on Himmelblau; index = fraction of negative eigenvalues."""
    from descend.problems import surfaces
    from descend.problems.curvature import classify

    s = surfaces.himmelblau()
    assert classify(s, s.minima[0]).kind == "minimum"
    top = classify(s, s.maxima[0])
    assert top.kind == "maximum" and top.index == 1.0 and top.n_negative == 2
    sad = classify(s, s.saddles[0])
    assert sad.kind == "saddle" and sad.index == 0.5 and sad.grad_norm < 1e-10
    assert "saddle" in sad.describe()


def test_escape_direction_decreases_the_function():
    """Moving from a saddle along an escape direction lowers f by about ½ε²λ."""
    from descend.problems import surfaces
    from descend.problems.curvature import classify

    s = surfaces.himmelblau()
    cp = classify(s, s.saddles[1])
    v = cp.escape_directions[:, 0]
    eps = 1e-3
    drop = s.value(s.saddles[1] + eps * v) - cp.value
    assert drop == pytest.approx(0.5 * eps**2 * cp.eigenvalues[0], rel=1e-2)


def test_degenerate_when_zero_eigenvalues_and_one_sign():
    """f = x² (y ignored) at 0 has eigenvalues {0, 2}: degenerate, index 0."""
    from descend.problems.curvature import classify

    class Flat(ds.Objective):
        n_params = 2

        def value_and_grad(self, t):
            return float(t[0] ** 2), np.array([2 * t[0], 0.0])

    cp = classify(Flat(), np.zeros(2))
    assert cp.kind == "degenerate" and cp.index == 0.0 and cp.n_zero == 1


def test_hessian_hvp_matches_the_hessian(rng):
    """H built from Hessian-vector products equals the exact Hessian (surface) and the
    finite-difference Hessian (network objective)."""
    from descend.problems import surfaces
    from descend.problems.curvature import hessian_hvp
    from descend.problems.models import MLP

    s = surfaces.rosenbrock()
    t = np.array([-0.3, 0.7])
    np.testing.assert_allclose(hessian_hvp(s, t), s.hessian(t))
    X = rng.normal(size=(20, 2))
    m = MLP([3]).bind(X)
    obj = ds.DataObjective(m, "mse", m.design(X), rng.normal(size=20))
    th = m.init_params(rng)
    H = obj.hessian(th)
    np.testing.assert_allclose(hessian_hvp(obj, th), H, atol=1e-6 * np.max(np.abs(H)))
