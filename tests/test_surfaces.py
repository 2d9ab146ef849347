"""Analytic surfaces: exact gradients and Hessians, known minima, registry, use with minimize."""

import numpy as np
import pytest

import descend as ds
from descend.problems import surfaces
from descend.problems.curvature import classify

NAMES = list(surfaces.SURFACES)


def _points(s, rng, k=4):
    lo = np.array([b[0] for b in s.bounds])
    hi = np.array([b[1] for b in s.bounds])
    return [rng.uniform(lo, hi) for _ in range(k)] + [s.suggested_start]


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(rng, name):
    """∇f equals central differences of f at random points in the bounds."""
    s = surfaces.get(name)
    for t in _points(s, rng):
        h = 1e-6 * max(1.0, np.max(np.abs(t)))
        fd = np.array(
            [(s.value(t + h * e) - s.value(t - h * e)) / (2 * h) for e in np.eye(s.n_params)]
        )
        np.testing.assert_allclose(s.grad(t), fd, rtol=1e-6, atol=1e-6 * max(1, abs(s.value(t))))


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_central_differences_of_the_gradient(rng, name):
    """The exact Hessian equals central differences of the exact gradient, and is symmetric."""
    s = surfaces.get(name)
    for t in _points(s, rng):
        h = 1e-6
        fd = np.column_stack(
            [(s.grad(t + h * e) - s.grad(t - h * e)) / (2 * h) for e in np.eye(s.n_params)]
        )
        H = s.hessian(t)
        np.testing.assert_allclose(H, H.T)
        np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(s.hvp(t, np.ones(s.n_params)), H @ np.ones(s.n_params))


@pytest.mark.parametrize("name", NAMES)
def test_known_minima_are_critical_and_classified_minima(name):
    """Every listed minimum has ∇f ≈ 0 and a positive definite Hessian; global first."""
    s = surfaces.get(name)
    for m in s.minima:
        assert np.linalg.norm(s.grad(m)) < 1e-9
        assert classify(s, m).kind == "minimum"
    if s.minima:
        values = [s.value(m) for m in s.minima]
        assert values[0] == pytest.approx(min(values), abs=1e-12)


def test_saddle_at_origin_has_index_one_half():
    """x² − y² at 0: a saddle, one of two eigenvalues negative, escape direction ±y."""
    cp = classify(surfaces.saddle(), np.zeros(2))
    assert cp.kind == "saddle"
    assert cp.index == 0.5
    np.testing.assert_allclose(np.abs(cp.escape_directions[:, 0]), [0.0, 1.0])


def test_monkey_saddle_is_degenerate():
    """x³ − 3xy² at 0 has a zero Hessian: the second-order test cannot decide."""
    cp = classify(surfaces.monkey_saddle(), np.zeros(2))
    assert cp.kind == "degenerate" and cp.grad_norm == 0.0


def test_himmelblau_has_four_minima_a_maximum_and_four_saddles():
    """Himmelblau: four minima at f = 0, one local maximum, four saddles (index ½)."""
    s = surfaces.himmelblau()
    assert len(s.minima) == 4 and all(s.value(m) < 1e-20 for m in s.minima)
    np.testing.assert_allclose(s.minima[0], [3.0, 2.0])
    assert classify(s, s.maxima[0]).kind == "maximum"
    assert [classify(s, p).index for p in s.saddles] == [0.5] * 4


def test_quadratic_has_the_requested_condition_number():
    """quadratic(kappa=100, dim=5): Hessian eigenvalues from 1 to 100."""
    s = surfaces.quadratic(kappa=100, dim=5)
    lam = np.linalg.eigvalsh(s.hessian(np.ones(5)))
    assert lam[0] == pytest.approx(1.0) and lam[-1] == pytest.approx(100.0)


def test_rastrigin_lists_local_minima_and_works_in_any_dimension():
    """In 2-D the 121 minima near the integer points are listed; dim=5 keeps the global one."""
    assert len(surfaces.rastrigin().minima) == 121
    r5 = surfaces.rastrigin(dim=5)
    assert r5.n_params == 5 and r5.value(np.zeros(5)) == 0.0


def test_get_and_registry():
    """get() accepts registry names, dashes, and factory keyword arguments; unknown names fail."""
    assert set(NAMES) >= {
        "quadratic",
        "rosenbrock",
        "himmelblau",
        "rastrigin",
        "beale",
        "six_hump_camel",
        "saddle",
        "monkey_saddle",
    }
    assert surfaces.get("six-hump-camel").name == "six_hump_camel"
    assert surfaces.get("quadratic", kappa=50).kappa == 50
    with pytest.raises(ValueError, match="unknown surface"):
        surfaces.get("eggholder")
    with pytest.raises(ValueError, match="shape"):
        surfaces.himmelblau().value(np.zeros(3))


def test_attributes_and_grid():
    """Every surface has name, n_params, minima, bounds, suggested_start; grid() is (ny, nx)."""
    for name in NAMES:
        s = surfaces.get(name)
        assert isinstance(s, ds.Objective)
        assert len(s.bounds) == s.n_params == s.suggested_start.shape[0]
    z = surfaces.rosenbrock().grid(np.linspace(-2, 2, 7), np.linspace(-1, 3, 5))
    assert z.shape == (5, 7) and z[2, 3] == surfaces.rosenbrock().value(np.array([0.0, 1.0]))


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_minimize_runs_on_a_surface(optimizer):
    """ds.minimize(himmelblau(), θ₀) reaches a minimum, with gd and with adam."""
    s = surfaces.himmelblau()
    lr = 0.01 if optimizer == "gd" else 0.05
    res = ds.minimize(
        s, s.suggested_start, optimizer=optimizer, learning_rate=lr, max_steps=5000, gtol=1e-8
    )
    assert res.loss < 1e-10
    assert min(np.linalg.norm(res.params - m) for m in s.minima) < 1e-4
