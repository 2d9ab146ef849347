"""Curvature advice: stability limit, best rate, predicted steps."""

import numpy as np
import pytest

import descend as ds
from descend.problems.curvature import advise, hessian_fd


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


def test_exact_critical_points_of_the_surfaces_are_classified():
    """At exact critical points — the saddle x² − y² at 0, Himmelblau's minimum (3, 2) and
    Rosenbrock's (1, 1), where ∇f = 0 in floating point — the Newton step is 0 and the kind
    comes from the eigenvalue signs; the criterion is in the fields and in describe()."""
    from descend.problems import surfaces
    from descend.problems.curvature import CRITICAL_STEP_RTOL, classify

    sad = classify(surfaces.saddle(), np.zeros(2))
    assert sad.kind == sad.hessian_kind == "saddle" and sad.critical
    assert sad.grad_norm == 0.0 and sad.newton_step == 0.0
    assert sad.step_rtol == CRITICAL_STEP_RTOL == 1e-4 and sad.step_tol == 1e-4  # ‖θ‖ < 1
    for s, theta in [(surfaces.himmelblau(), [3.0, 2.0]), (surfaces.rosenbrock(), [1.0, 1.0])]:
        cp = classify(s, np.array(theta))
        assert cp.kind == "minimum" and cp.critical and cp.newton_step == 0.0
        assert cp.step_tol == pytest.approx(1e-4 * np.linalg.norm(theta), rel=1e-15)
        assert "minimum" in cp.describe() and "‖H⁻¹∇f‖ = 0.00e+00 ≤" in cp.describe()


def test_near_but_not_at_a_minimum_is_not_critical():
    """(3.01, 2) is 0.01 from Himmelblau's minimum: the Hessian is positive definite there, but
    ‖∇f‖ = 0.77 and the Newton step ‖H⁻¹∇f‖ ≈ 0.01 is far above 1e-4·‖θ‖ = 3.6e-4, so the
    point is "not critical" (with the numbers), not a minimum."""
    from descend.problems import surfaces
    from descend.problems.curvature import NOT_CRITICAL, classify

    s = surfaces.himmelblau()
    theta = np.array([3.01, 2.0])
    cp = classify(s, theta)
    assert cp.kind == NOT_CRITICAL == "not critical" and not cp.critical
    assert cp.hessian_kind == "minimum" and cp.index == 0.0
    g, H = s.grad(theta), s.hessian(theta)
    assert cp.grad_norm == pytest.approx(np.linalg.norm(g), rel=1e-15)
    assert cp.newton_step == pytest.approx(np.linalg.norm(np.linalg.solve(H, g)), rel=1e-12)
    assert cp.newton_step > 0.009 and cp.step_tol == pytest.approx(1e-4 * np.linalg.norm(theta))
    text = cp.describe()
    assert text.startswith("not critical (the Hessian there alone would say minimum")
    assert f"‖∇f‖ = {cp.grad_norm:.2e}" in text and "‖H⁻¹∇f‖ = " in text and " > " in text
    assert classify(s, theta, step_rtol=0.1).kind == "minimum"  # the stated tolerance decides
    with pytest.raises(ValueError, match="step_rtol"):
        classify(s, theta, step_rtol=0.0)


def test_a_small_gradient_on_a_flat_valley_is_not_critical():
    """f = ½(10⁻³x² + y²): at (0.5, 0) ‖∇f‖ = 5e-4 looks small, but the minimum is 0.5 away
    (Newton step 0.5): not critical. At (10⁻⁵, 0) the step is 10⁻⁵ ≤ 10⁻⁴: a minimum."""
    from descend.problems.curvature import classify

    class Valley(ds.Objective):
        n_params = 2

        def value_and_grad(self, t):
            return 0.5 * float(1e-3 * t[0] ** 2 + t[1] ** 2), np.array([1e-3 * t[0], t[1]])

        def hessian(self, t):
            return np.diag([1e-3, 1.0])

    far = classify(Valley(), np.array([0.5, 0.0]))
    assert far.kind == "not critical" and far.grad_norm == pytest.approx(5e-4)
    assert far.newton_step == pytest.approx(0.5, rel=1e-12)
    near = classify(Valley(), np.array([1e-5, 0.0]))
    assert near.kind == "minimum" and near.newton_step == pytest.approx(1e-5, rel=1e-12)


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


def test_local_advice_for_a_network_is_the_sharpness_at_theta(rng):
    """For an MLP, advise(θ) takes λ_max of the exact Hessian at θ (checked against eigvalsh
    of the dense finite-difference Hessian) and suggests 1/λ_max, limit 2/λ_max."""

    X = rng.uniform(-2, 2, (40, 2))
    obj = ds.objective(X, np.sin(X[:, 0]) * 300 + 50, model="mlp:5")
    theta = obj.model.init_params(rng)
    lam = np.linalg.eigvalsh(hessian_fd(obj, theta))[-1]
    adv = advise(obj, theta)
    assert adv.lam_max == pytest.approx(lam, rel=1e-6)
    assert adv.best_lr == pytest.approx(1 / lam, rel=1e-6) and not adv.exact
    assert adv.source in ("lanczos", "power")


def test_eigenvalues_are_reused_bit_for_bit_and_only_for_the_same_matrix(rng, monkeypatch):
    """The cache gives NumPy's own eigvalsh bits, computes each matrix once per BLAS thread
    count, hands out copies, forgets the oldest beyond its size, and does not confuse two
    matrices."""
    from descend.problems import curvature

    calls: list[int] = []
    real = np.linalg.eigvalsh

    def counting(M, *args, **kwargs):
        calls.append(M.shape[0])
        return real(M, *args, **kwargs)

    monkeypatch.setattr(np.linalg, "eigvalsh", counting)
    monkeypatch.setattr(curvature, "_EIGEN_CACHE", {})
    A = rng.standard_normal((40, 7))
    G = A.T @ A / 40
    G = 0.5 * (G + G.T)
    want = real(G)
    first = curvature.eigenvalues(G)
    first[0] = -1.0  # the caller's copy
    again = curvature.eigenvalues(G.copy())
    assert again.tobytes() == want.tobytes() and calls == [7]
    other = G.copy()
    other[2, 3] = other[3, 2] = other[2, 3] * (1 + 1e-15) + 1e-17
    assert curvature.eigenvalues(other).tobytes() == real(other).tobytes()
    assert calls == [7, 7]
    for k in range(curvature.EIGEN_CACHE_SIZE):
        curvature.eigenvalues(np.eye(3) * (k + 2.0))
    assert len(curvature._EIGEN_CACHE) == curvature.EIGEN_CACHE_SIZE
    curvature.eigenvalues(G)  # pushed out by the newer ones: computed again
    assert calls.count(7) == 3


def test_eigenvalues_are_not_shared_across_blas_thread_counts(rng, monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from descend.problems import blas, curvature

    monkeypatch.setattr(curvature, "_EIGEN_CACHE", {})
    G = np.diag([1.0, 2.0, 3.0])
    curvature.eigenvalues(G)
    with threadpoolctl.threadpool_limits(1):
        curvature.eigenvalues(G)
    assert len(curvature._EIGEN_CACHE) == (2 if blas.blas_threads() > 1 else 1)


def test_the_fits_kappa_and_advice_are_numpys(rng):
    """κ(G) of the fast objective's statistics and the advice's eigenvalues: eigvalsh of G
    itself, bit for bit, however often they are asked for."""
    from descend.problems.fastfit import build_objective

    X = rng.standard_normal((70_000, 4)) @ np.diag([1.0, 3.0, 0.1, 2.0])
    y = X.sum(axis=1) + rng.standard_normal(70_000)
    obj = build_objective(X, y)
    G = obj.quad.G
    lam = np.linalg.eigvalsh(G)
    for _ in range(3):
        assert obj.quad.condition == lam[-1] / lam[0]
        adv = advise(obj)
        assert adv.lam_max == 2.0 * lam[-1] and adv.lam_min == 2.0 * lam[0]
