"""Non-convex landscapes: multi-start descent, critical-point search, saddle study, GOE."""

import json
import time

import numpy as np
import pytest

from descend.problems import surfaces
from descend.problems.curvature import classify, hessian_fd
from descend.shells.cli import main
from descend.studies.landscape import (
    SaddleObjective,
    find_critical_point,
    goe_positive_definite_fraction,
    multistart,
    newton_mr,
    saddle_free_newton,
    saddle_study,
    saddle_task,
    tiny_network_objective,
)


def test_multistart_finds_all_four_himmelblau_minima():
    """20 uniform starts in [−5, 5]² (seed 0), gd at lr 0.005: all four minima, each a minimum."""
    s = surfaces.himmelblau()
    r = multistart(s, n_starts=20, seed=0, learning_rate=0.005)
    assert len(r.basins) == 4
    assert all(r.found(m, atol=1e-4) for m in s.minima)
    assert all(b.kind == "minimum" for b in r.basins)
    assert sum(b.count for b in r.basins) == 20
    assert "4 distinct end points" in r.table()
    json.dumps(r.to_dict())


def test_multistart_on_rastrigin_is_trapped_in_local_minima():
    """Rastrigin, 10 starts (seed 0): descent ends in several different local minima,
    most of them worse than the global one (f = 0)."""
    r = multistart(surfaces.rastrigin(), n_starts=10, seed=0, learning_rate=0.002)
    assert len(r.basins) >= 5
    assert np.mean(r.losses > 1.0) >= 0.8
    assert all(b.kind == "minimum" for b in r.basins)


@pytest.fixture(scope="module")
def tiny_multistart():
    """The documented run: 8 starts (seed 0), gd at lr 0.3 for 1500 steps, polished."""
    obj = tiny_network_objective()
    r = multistart(obj, n_starts=8, seed=0, learning_rate=0.3, max_steps=1500, cluster_tol=0.05)
    return obj, r


def test_tiny_network_has_a_worse_local_minimum(tiny_multistart):
    """A 1-hidden-unit network (4 parameters): from 8 starts (seed 0, gd, lr 0.3, 1500 steps,
    end points polished by saddle-free Newton) descent ends at the global minimum (MSE 0.174572,
    two sign-symmetric copies) or at a clearly worse local minimum (MSE 0.468062). Every end
    point is a critical point: ‖∇f‖ ≤ 1e-8·‖∇f(θ₀)‖ and a Newton step ≤ 1e-4·‖θ‖."""
    obj, r = tiny_multistart
    assert r.polish_converged.all() and (r.polish_iters > 0).all()
    g0 = np.array([np.linalg.norm(obj.grad(t)) for t in r.starts])
    assert np.all(r.grad_norms <= 1e-8 * g0)
    assert all(b.point.critical for b in r.basins)
    assert [round(b.loss, 6) for b in r.basins] == [0.174572, 0.174572, 0.468062]
    assert [b.count for b in r.basins] == [3, 3, 2]
    assert [b.kind for b in r.basins[:2]] == ["minimum", "minimum"]
    # the worse one is a strict minimum whose flattest curvature (λ_min/λ_max ≈ 4e-7, a
    # saturated unit) is under classify's zero threshold 1e-6·max|λ|: "degenerate"
    worst = r.basins[-1].point
    assert worst.kind == "degenerate" and worst.eigenvalues[0] > 0 and worst.n_zero == 1
    assert classify(obj, r.basins[-1].theta, tol=1e-8 * worst.eigenvalues[-1]).kind == "minimum"
    assert "polished by saddle-free Newton" in r.table()
    json.dumps(r.to_dict())


def test_unpolished_descent_end_points_are_not_critical():
    """Without the polish, 1500 gd steps end on the flat valley (‖∇f‖ ≈ 3e-3): the Hessian is
    positive definite there, but the point is not critical, and classify says so."""
    obj = tiny_network_objective()
    r = multistart(
        obj, n_starts=2, seed=0, learning_rate=0.3, max_steps=1500, cluster_tol=0.05, polish=False
    )
    assert r.settings["polish"] is None and (r.polish_iters == 0).all()
    for b in r.basins:
        assert b.kind == "not critical" and b.point.hessian_kind == "minimum"
        assert b.point.grad_norm > 1e-3 and b.point.newton_step > 0.1


def _tiny_network_by_hand():
    """The tiny network's loss and gradient written out independently of descend:
    L(w₁, b₁, w₂, b₂) = mean((w₂ tanh(w₁z + b₁) + b₂ − y)²), z the standardised x."""
    rng = np.random.default_rng(0)  # tiny_network_objective(n=40, seed=0)'s data
    x = np.sort(rng.uniform(-3.0, 3.0, 40))
    y = np.tanh(2.0 * (x + 1.5)) - 0.6 * np.tanh(2.0 * (x - 1.5))
    z = (x - x.mean()) / x.std()

    def fg(t: np.ndarray) -> tuple[float, np.ndarray]:
        w1, b1, w2, b2 = t
        a = np.tanh(w1 * z + b1)
        r = w2 * a + b2 - y
        q = 2.0 * r / z.size
        d = q * w2 * (1.0 - a * a)
        return float(r @ r) / z.size, np.array([d @ z, d.sum(), q @ a, q.sum()])

    return fg


def test_tiny_network_minima_match_an_independent_bfgs_multistart(rng, tiny_multistart):
    """scipy's BFGS from 300 random starts (N(0, 1.5²) per parameter), on the loss written out
    by hand, finds exactly two local minima — 0.174572 and 0.468062 (ends with ‖∇L‖ ≤ 1e-6 and
    a positive definite central-difference Hessian, values within 1e-5 merged) — and
    multistart's polished minima equal them to 1e-5 (the global one is its best basin)."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    fg = _tiny_network_by_hand()
    obj, r = tiny_multistart
    probe = rng.normal(size=4)
    assert fg(probe)[0] == pytest.approx(obj.value(probe), rel=1e-14)  # the same function

    minima: list[float] = []
    for _ in range(300):
        res = scipy_optimize.minimize(
            fg, rng.normal(0.0, 1.5, 4), jac=True, method="BFGS", options={"gtol": 1e-7}
        )
        if np.linalg.norm(fg(res.x)[1]) > 1e-6:
            continue
        h = 1e-6
        H = np.column_stack(
            [(fg(res.x + h * e)[1] - fg(res.x - h * e)[1]) / (2 * h) for e in np.eye(4)]
        )
        lam = np.linalg.eigvalsh(0.5 * (H + H.T))
        if lam[0] <= 1e-9 * lam[-1]:  # a plateau or saddle, not a strict minimum
            continue
        if all(abs(res.fun - m) > 1e-5 for m in minima):
            minima.append(float(res.fun))
    minima.sort()
    assert minima == pytest.approx([0.174572, 0.468062], abs=1e-5)

    assert r.best.loss == pytest.approx(minima[0], abs=1e-5)
    for b in r.basins:
        assert min(abs(b.loss - m) for m in minima) <= 1e-5
    assert {round(b.loss, 5) for b in r.basins} == {round(m, 5) for m in minima}


def test_multistart_needs_bounds_for_a_bare_objective():
    """Without bounds, a model or a surface there is nothing to draw starts from."""
    import descend as ds

    class Bowl(ds.Objective):
        n_params = 1

        def value_and_grad(self, t):
            return float(t @ t), 2 * t

    with pytest.raises(ValueError, match="bounds"):
        multistart(Bowl(), n_starts=2)
    r = multistart(Bowl(), n_starts=3, bounds=(-1, 1), learning_rate=0.1)
    assert len(r.basins) == 1 and r.best.kind == "minimum"


def test_critical_point_search_finds_saddles_too():
    """Minimising ‖∇f‖² from near a Himmelblau saddle converges to that saddle (descent on f
    would leave it)."""
    s = surfaces.himmelblau()
    theta, ok, _ = find_critical_point(s, s.saddles[2] + 0.05)
    assert ok
    np.testing.assert_allclose(theta, s.saddles[2], atol=1e-8)
    assert classify(s, theta).kind == "saddle"


def test_saddle_objective_hessian_is_exact():
    """The analytic one-hidden-layer Hessian matches central differences of the gradient."""
    X, y = saddle_task(60, seed=0)
    obj = SaddleObjective([3], X, y, l2=1e-3)
    theta = obj.model.init_params(np.random.default_rng(0)) + 0.2
    H = obj.hessian(theta)
    np.testing.assert_allclose(H, hessian_fd(obj, theta), atol=1e-7 * np.abs(H).max())
    f, g = obj.value_and_grad(theta)
    assert f == pytest.approx(obj.mse(theta) + 0.5e-3 * float(theta @ theta))


def test_saddle_free_newton_converges_to_a_minimum():
    """From a random start of a 2-unit network, saddle-free Newton reaches ‖∇L‖ ≤ 1e-8 at a
    point whose central-difference Hessian is positive definite."""
    X, y = saddle_task(60, seed=0)
    obj = SaddleObjective([2], X, y)
    theta, ok, _ = saddle_free_newton(obj, obj.model.init_params(np.random.default_rng(1)))
    assert ok and np.linalg.norm(obj.grad(theta)) <= 1e-8
    assert np.linalg.eigvalsh(hessian_fd(obj, theta))[0] > 0
    assert obj.mse(theta) < 0.9


def test_saddle_study_small_runs_quickly_and_finds_tight_critical_points():
    """Two tiny networks, 3 descent runs each (seed 0): every reported point has
    ‖∇L‖ ≤ gtol = 1e-8, its kind and index agree with np.linalg.eigvalsh of an independent
    central-difference Hessian, the descent end points are minima, and both ends of the loss
    range are covered (a saddle near the constant fit, a minimum well below it)."""
    t0 = time.perf_counter()
    st = saddle_study(sizes=[1, 2], n_points=3, seed=0, n_samples=60, descent_steps=800)
    assert time.perf_counter() - t0 < 20
    assert st.settings["gtol"] == 1e-8
    assert st.n_params == [5, 9] and st.sizes == [[1], [2]]
    X, y = saddle_task(60, seed=0)
    objs = [SaddleObjective(h, X, y, l2=st.settings["l2"]) for h in st.sizes]
    for r in st.rows:
        assert 0 < r["found"] <= r["converged"] <= r["searches"]
        assert r["stopped_at_limit"] + r["stalled"] == r["searches"] - r["converged"]
        assert r["converged"] == sum(r["reached"].values())
        assert r["searches"] == sum(r["tried"].values())
        assert 0 <= r["minima"] <= r["found"]
    assert st.points
    for p in st.points:
        assert p["grad_norm"] <= 1e-8
        assert 0.0 <= p["index"] <= 1.0 and p["loss"] >= 0
        assert p["kind"] in {"minimum", "maximum", "saddle", "degenerate"}
        assert p["kind"] != "minimum" or p["index"] == 0
        assert p["source"] != "descent" or p["kind"] == "minimum"
    for p in st.points:
        obj = objs[p["size"]]
        theta = np.asarray(p["theta"])
        assert np.linalg.norm(obj.grad(theta)) <= 1e-8
        lam = np.linalg.eigvalsh(hessian_fd(obj, theta))
        tol = 1e-6 * max(1.0, np.abs(lam).max())
        assert int(np.sum(lam < -tol)) == p["n_negative"]
        assert (lam[0] > tol) == (p["kind"] == "minimum")
    loss, index = st.scatter()
    assert loss.shape == index.shape == (len(st.points),)
    assert loss.max() > 0.9 and index[np.argmax(loss)] > 0
    assert loss.min() < 0.8 and index[np.argmin(loss)] == 0
    assert st.table().startswith("| hidden |")
    assert st.binned().startswith("| loss |")
    json.dumps(st.to_dict())


def test_goe_fraction_matches_known_values_and_beats_coin_flips():
    """n = 1: ½; n = 2: (2 − √2)/4 ≈ 0.146 (exact for GOE); then far below 2⁻ⁿ."""
    res = goe_positive_definite_fraction([1, 2, 3, 4], n_samples=40_000, seed=0)
    f = {r["n"]: r["fraction"] for r in res.rows}
    assert f[1] == pytest.approx(0.5, abs=0.01)
    assert f[2] == pytest.approx((2 - np.sqrt(2)) / 4, abs=0.01)
    assert f[3] < 0.5 * 2.0**-3 and f[4] < 0.2 * 2.0**-4
    assert res.rows[0]["coin_flip"] == 0.5
    assert "2^-n" in res.table()


def test_landscape_cli(capsys, tmp_path):
    """`descend landscape goe|multistart|saddles` print tables and write JSON."""
    out = tmp_path / "goe.json"
    assert (
        main(["landscape", "goe", "--sizes", "1,2", "--samples", "2000", "--json", str(out)]) == 0
    )
    assert "coin flips" in capsys.readouterr().out
    assert len(json.loads(out.read_text())["rows"]) == 2
    assert main(["landscape", "multistart", "--surface", "himmelblau", "--starts", "4"]) == 0
    text = capsys.readouterr().out
    assert "himmelblau" in text and "polished by saddle-free Newton" in text
    argv = ["landscape", "multistart", "--surface", "tiny-network", "--starts", "2", "--lr", "0.3"]
    assert main([*argv, "--max-steps", "300", "--cluster-tol", "0.05", "--no-polish"]) == 0
    text = capsys.readouterr().out
    assert "not critical" in text and "polished" not in text
    out = tmp_path / "saddles.json"
    argv = ["landscape", "saddles", "--sizes", "1", "--points", "1", "--samples", "40"]
    argv += ["--path", "3", "--plateaus", "2"]
    assert main([*argv, "--random", "2", "--max-iter", "50", "--json", str(out)]) == 0
    assert "| hidden |" in capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved["settings"]["gtol"] == 1e-8 and saved["settings"]["max_iter"] == 50
    tried = saved["rows"][0]["tried"]
    assert tried["random"] == 2 and tried["path"] == 3 and 1 <= tried["plateau"] <= 2


@pytest.mark.parametrize(
    ("n", "exact"),
    [
        (1, 0.5),
        (2, (2 - np.sqrt(2)) / 4),  # ∫∫_{λ>0} |λ₁ − λ₂| e^{−(λ₁²+λ₂²)/4} / the same over ℝ²
        (3, (np.pi - 2 * np.sqrt(2)) / (4 * np.pi)),  # Dean & Majumdar; 0.02492
    ],
)
def test_goe_fraction_matches_the_exact_probability(n, exact):
    """The measured P(H ≻ 0) is within 4 standard errors of the closed form (the README's
    figures come from the same call in scripts/docs.py)."""

    row = goe_positive_definite_fraction((n,), 100_000, seed=0).rows[0]
    assert abs(row["fraction"] - exact) <= 4 * row["stderr"], (row, exact)


def test_saddle_objective_hessian_of_a_deep_network_is_exact(rng):
    """Two hidden layers: the Hessian assembled from R-operator products (+ l2·I) equals the
    dense finite-difference Hessian of the backpropagated gradient, and is symmetric."""
    X, y = saddle_task(30)
    obj = SaddleObjective([3, 2], X, y, l2=1e-3)
    assert obj.exact_hvp
    theta = obj.model.init_params(rng)
    H = obj.hessian(theta)
    Hfd = hessian_fd(obj, theta)
    assert np.abs(H - Hfd).max() <= 1e-6 * np.abs(Hfd).max()
    v = rng.normal(size=obj.n_params)
    np.testing.assert_allclose(obj.hvp(theta, v), H @ v, rtol=1e-10, atol=1e-12)


def test_saddle_study_reports_progress_before_every_search():
    """The study is never silent: progress rises by one per descent run and per search, and
    ends at its total."""
    calls = []
    saddle_study([2], n_points=1, n_samples=30, descent_steps=50, snapshots=3, max_iter=5,
                 random_starts=2, path_starts=2,
                 progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1] == 1 * (3 + 2 + 2) + 2
    assert len(calls) >= 1 + 2 + 1  # the run, at least step 0's search and the end point's


class _Quadratic:
    """f(θ) = ½θᵀAθ − bᵀθ: gradient Aθ − b, Hessian A."""

    def __init__(self, A, b):
        self.A, self.b = A, b

    def grad(self, t):
        return self.A @ t - self.b

    def hessian(self, t):
        return self.A


@pytest.mark.parametrize("eigs", [(0.0, 1.0, 3.0), (-2.0, 0.0, 3.0), (-2.0, -1.0, 0.0)])
def test_newton_mr_takes_the_minimum_norm_step_on_a_singular_quadratic(rng, eigs):
    """A singular A (one zero eigenvalue) with b in its range: the critical points form a
    line, and Newton-MR's first step from 0 lands on the one of least norm, A⁺b (numpy's
    pinv), whatever the signs of the other eigenvalues (minimum, saddle, maximum)."""
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    A = Q @ np.diag(eigs) @ Q.T
    b = A @ rng.normal(size=3)
    theta, ok, n_it = newton_mr(_Quadratic(A, b), np.zeros(3))
    assert ok and n_it == 1
    np.testing.assert_allclose(theta, np.linalg.pinv(A) @ b, atol=1e-10)


def test_newton_mr_converges_to_the_tiny_networks_minima():
    """The one-hidden-unit network's two minima (MSE 0.174572 and 0.468062, docs/landscapes.md)
    found independently by SciPy's BFGS from random starts: Newton-MR started 0.05 away from
    each converges back to it, ‖∇L‖ ≤ 1e-8, with a positive-definite finite-difference Hessian."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    obj = tiny_network_objective()
    rng = np.random.default_rng(0)
    minima = {}
    for _ in range(12):
        r = scipy_optimize.minimize(obj.value_and_grad, obj.model.init_params(rng) * 3,
                                    jac=True, method="BFGS", options={"gtol": 1e-10})  # fmt: skip
        minima.setdefault(round(float(r.fun), 6), r.x)
    assert {0.174572, 0.468062} <= set(minima)
    for loss in (0.174572, 0.468062):
        start = minima[loss] + 0.05 * rng.normal(size=4)
        theta, ok, _ = newton_mr(obj, start)
        assert ok and np.linalg.norm(obj.grad(theta)) <= 1e-8
        assert obj.value(theta) == pytest.approx(obj.value(minima[loss]), abs=1e-9)
        assert np.linalg.eigvalsh(hessian_fd(obj, theta))[0] > 0


def test_newton_mr_converges_to_a_saddle_of_the_tiny_network():
    """With the unit switched off (w₁ = w₂ = 0) and the output bias at ȳ, the network predicts
    the mean: a critical point with MSE var(y) in closed form. Started 0.02 away, Newton-MR
    (unlike descent) converges to that set of critical points (w₁ = 0, any b₁, w₂ with
    c = ȳ − w₂·tanh b₁), and the finite-difference Hessian there has a negative eigenvalue:
    a saddle of index ≥ 1."""
    obj = tiny_network_objective()
    rng = np.random.default_rng(3)
    y = obj.y
    saddle = np.array([0.0, 0.3, 0.0, float(y.mean())])  # W1, b1, v, c
    assert np.linalg.norm(obj.grad(saddle)) <= 1e-12
    theta, ok, _ = newton_mr(obj, saddle + 0.02 * rng.normal(size=4))
    assert ok and np.linalg.norm(obj.grad(theta)) <= 1e-8
    assert obj.value(theta) == pytest.approx(float(np.var(y)), rel=1e-9)
    lam = np.linalg.eigvalsh(hessian_fd(obj, theta))
    assert lam[0] < -1e-6 * max(1.0, lam[-1])  # below classify's zero threshold
    assert classify(obj, theta).kind == "saddle"


def test_newton_mr_finds_a_saddle_of_a_small_saddle_objective():
    """From a random start of a 2-unit penalised network, Newton-MR (seed 3) reaches a critical
    point with ‖∇L‖ ≤ 1e-8 whose finite-difference Hessian has at least one negative
    eigenvalue; its index from that Hessian equals the study's classification."""
    X, y = saddle_task(60, seed=0)
    obj = SaddleObjective([2], X, y)
    rng = np.random.default_rng(0)
    for _ in range(6):
        theta, ok, _ = newton_mr(obj, obj.model.init_params(rng))
        if not ok:
            continue
        lam = np.linalg.eigvalsh(hessian_fd(obj, theta))
        if lam[0] < -1e-6 * lam[-1]:
            break
    else:
        pytest.fail("no saddle reached from 6 random starts")
    assert np.linalg.norm(obj.grad(theta)) <= 1e-8
    n_neg = int(np.sum(lam < -1e-6 * max(1.0, lam[-1])))
    assert classify(obj, theta).n_negative == n_neg >= 1


def test_flatness_is_zero_exactly_when_the_gradient_lies_in_the_null_space():
    """‖Hg‖/(max|λ|·‖g‖): 0 for g in the null space of H, 1 for g along the top eigenvector."""
    from descend.studies.landscape.saddles import _flatness

    H = np.diag([0.0, -1.0, 4.0])
    assert _flatness(H, np.array([2.0, 0.0, 0.0])) == 0.0
    assert _flatness(H, np.array([0.0, 0.0, -3.0])) == pytest.approx(1.0)
    assert _flatness(H, np.array([0.0, 1.0, 0.0])) == pytest.approx(0.25)


class _QuarticWells:
    """f(θ) = Σᵢ (θᵢ⁴/4 − θᵢ²/2): critical points at every θ ∈ {−1, 0, 1}ᵖ, Hessian
    diag(3θᵢ² − 1), so the index is the fraction of zero coordinates (closed form)."""

    def value(self, t):
        return float(np.sum(t**4 / 4 - t**2 / 2))

    def grad(self, t):
        return t**3 - t

    def value_and_grad(self, t):
        return self.value(t), self.grad(t)

    def hessian(self, t):
        return np.diag(3 * t**2 - 1)


@pytest.mark.parametrize("memory", [1, 10])
def test_newton_mr_converges_to_critical_points_of_every_index_in_closed_form(rng, memory):
    """From 0.1 off each of 12 random corners c ∈ {−1, 0, 1}⁶, Newton-MR (monotone or not)
    converges to c itself, and classify's index is #{cᵢ = 0}/6 — saddles of every index,
    minima (no zeros) and the maximum (all zeros) alike."""
    f = _QuarticWells()
    for _ in range(12):
        c = rng.integers(-1, 2, size=6).astype(float)
        theta, ok, n_it = newton_mr(f, c + 0.1 * rng.uniform(-1, 1, size=6), memory=memory)
        assert ok and n_it <= 10
        np.testing.assert_allclose(theta, c, atol=1e-8)
        assert classify(f, theta).index == pytest.approx(np.mean(c == 0))


class _GradientFlat:
    """f(x, y) = x³/3 + x + y²: ∂f/∂x = x² + 1 > 0 everywhere (no critical point), and ‖∇f‖²
    has its minimum 1 at (0, 0), where H∇f = (2x(x² + 1), 4y) = 0: a gradient-flat point
    (Frye et al. 2021); the flatness ‖H∇f‖/(max|λ|·‖∇f‖) is |x| near it (max|λ| = 2)."""

    def grad(self, t):
        return np.array([t[0] ** 2 + 1.0, 2.0 * t[1]])

    def hessian(self, t):
        return np.diag([2.0 * t[0], 2.0])


def test_newton_mr_stops_in_a_gradient_flat_region_and_returns_its_best_point():
    """No critical point exists: the search must not report one, must stop (stalled, before
    max_iter) near (0, 0) with ‖∇f‖ within 5 % of its least value 1 and flatness near 0."""
    from descend.studies.landscape.saddles import _flatness

    f = _GradientFlat()
    theta, ok, n_it = newton_mr(f, np.array([0.7, 0.5]), max_iter=500, stall=20)
    assert not ok and n_it < 500
    assert np.linalg.norm(f.grad(theta)) <= 1.05 and abs(theta[1]) < 1e-6
    assert _flatness(f.hessian(theta), f.grad(theta)) == pytest.approx(abs(theta[0]), rel=1e-6)
    assert abs(theta[0]) < 0.25
    with pytest.raises(ValueError, match="memory"):
        newton_mr(f, np.array([0.7, 0.5]), memory=0)


def test_newton_mr_agrees_with_scipy_root_on_a_small_network(rng):
    """SciPy's MINPACK hybrd solves ∇L = 0 from random starts of the 9-parameter network
    (with the exact Hessian as Jacobian); Newton-MR started 10⁻³ off each root SciPy found
    converges back to it, and classify's index equals the count of negative eigenvalues of
    an independent central-difference Hessian there."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    X, y = saddle_task(60, seed=0)
    obj = SaddleObjective([2], X, y)
    roots = {}
    for _ in range(12):
        sol = scipy_optimize.root(obj.grad, 2 * obj.model.init_params(rng), jac=obj.hessian,
                                  method="hybr", options={"xtol": 1e-13})  # fmt: skip
        if sol.success and np.linalg.norm(obj.grad(sol.x)) <= 1e-9:
            roots.setdefault(round(obj.value(sol.x), 8), sol.x)
    roots = list(roots.values())
    assert len(roots) >= 2
    for r in roots:
        theta, ok, _ = newton_mr(obj, r + 1e-3 * rng.normal(size=r.size))
        assert ok
        np.testing.assert_allclose(theta, r, atol=1e-6)
        lam = np.linalg.eigvalsh(hessian_fd(obj, theta))
        tol = 1e-6 * max(1.0, np.abs(lam).max())
        assert classify(obj, theta).n_negative == int(np.sum(lam < -tol))


def test_path_steps_are_geometric_and_reach_the_end():
    """Starts along a run: 1 and the last step always, ratios equal between (rounded), no
    repeats on a short run."""
    from descend.studies.landscape.saddles import _path_steps

    assert _path_steps(3000, 4) == [1, 14, 208, 3000]
    assert _path_steps(5, 10) == [1, 2, 3, 4, 5]
    assert _path_steps(3000, 0) == [] and _path_steps(0, 4) == []


@pytest.mark.timeout(120)
def test_saddle_study_with_two_processes_equals_one():
    """workers=2 runs the same descent runs and searches in two processes: the same points,
    counts and table (bar the timings) as in one process."""
    kw = dict(n_points=2, seed=1, n_samples=40, descent_steps=200, snapshots=1,
              path_starts=2, random_starts=2, max_iter=60)  # fmt: skip
    one = saddle_study([1, 2], **kw)
    two = saddle_study([1, 2], workers=2, **kw)
    assert [p["theta"] for p in one.points] == [p["theta"] for p in two.points]
    for a, b in zip(one.rows, two.rows, strict=True):
        a, b = ({k: v for k, v in r.items() if k != "seconds"} for r in (a, b))
        assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    with pytest.raises(ValueError, match="workers"):
        saddle_study([1], workers=0)
    with pytest.raises(ValueError, match="path_starts"):
        saddle_study([1], path_starts=-1)
