"""descend.problems.slices: the loss on a grid over two coordinates of θ."""

import numpy as np
import pytest

import descend as ds
from descend.problems.slices import landscape_grid as loss_grid


def test_loss_grid_is_the_objective(problem):
    """Each grid value is objective.value at θ with two coordinates replaced."""
    obj, theta0 = problem
    a, b = np.linspace(-1, 1, 4), np.linspace(0, 2, 3)
    Z = loss_grid(obj, theta0, 0, 2, a, b)
    assert Z.shape == (3, 4)
    t = theta0.copy()
    t[0], t[2] = a[1], b[2]
    assert Z[2, 1] == pytest.approx(obj.value(t), rel=1e-14)
    with pytest.raises(ValueError, match="different"):
        loss_grid(obj, theta0, 1, 1, a, b)
    with pytest.raises(ValueError, match="indices"):
        loss_grid(obj, theta0, 0, 3, a, b)


# -- cancellation -------------------------------------------------------------------------------
class _Counting:
    """A bowl that counts its evaluations."""

    def __init__(self):
        self.calls = 0

    def value(self, t):
        self.calls += 1
        return float(t @ t)


def test_a_grid_stops_when_asked_before_the_next_point():
    """stop() is asked before every point: once it says True, no further evaluation."""
    from descend.problems.slices import GridCancelledError

    bowl = _Counting()
    with pytest.raises(GridCancelledError) as info:
        axis = np.arange(10.0)
        loss_grid(bowl, np.zeros(3), 0, 1, axis, axis, lambda: bowl.calls >= 7)
    assert bowl.calls == 7 and info.value.done == 7 and info.value.total == 100
    assert "7 of 100" in str(info.value)
    never = _Counting()
    Z = loss_grid(never, np.zeros(2), 0, 1, [0.0, 1.0], [2.0], lambda: False)
    assert Z.tolist() == [[4.0, 5.0]] and never.calls == 2


# -- the profile of a least-squares loss --------------------------------------------------------
def _ls(rng, d=4):
    X = rng.normal(size=(60, d)) @ rng.normal(size=(d, d))  # correlated columns
    y = X @ rng.normal(size=d) + 2.0 + 0.3 * rng.standard_normal(60)
    obj = ds.objective(X, y)
    return obj, obj.reference().params


def test_profile_is_the_minimum_over_the_other_coordinates(rng):
    """Each profile value is min over θ_rest of f, found here by SciPy's BFGS on f itself."""
    from scipy.optimize import minimize as scipy_minimize

    from descend.problems.slices import profile_grid

    obj, star = _ls(rng)
    i, j = 1, 3
    a = star[i] + np.array([-1.0, 0.5])
    b = star[j] + np.array([0.7, -2.0, 0.0])
    Z = profile_grid(obj, star, i, j, a, b)
    others = [k for k in range(star.shape[0]) if k not in (i, j)]
    for r, bv in enumerate(b):
        for c, av in enumerate(a):

            def f(rest, av=av, bv=bv):
                t = star.copy()
                t[i], t[j], t[others] = av, bv, rest
                return obj.value(t)

            best = scipy_minimize(f, star[others], method="BFGS", options={"gtol": 1e-10})
            assert Z[r, c] == pytest.approx(best.fun, rel=1e-9)


def test_profile_lowest_point_is_theta_star_and_it_bounds_every_slice(rng):
    """P(θ*_i, θ*_j) = L*, P ≥ L* everywhere, and P ≤ the slice through any θ."""
    from descend.problems.slices import profile_grid

    obj, star = _ls(rng)
    a = star[0] + np.linspace(-2, 2, 9)  # θ*_0 at the middle
    b = star[2] + np.linspace(-3, 3, 7)
    Z = profile_grid(obj, star, 0, 2, a, b)
    assert Z[3, 4] == pytest.approx(obj.value(star), rel=1e-12)
    assert Z.min() == Z[3, 4]
    theta = star + rng.normal(size=star.shape[0])
    S = loss_grid(obj, theta, 0, 2, a, b)
    assert np.all(Z <= S * (1 + 1e-12))


def test_profile_of_two_parameters_is_the_surface():
    """With p = 2 there is nothing to minimise over: the profile is the loss surface."""
    from descend.problems.slices import profile_grid

    X = np.linspace(0, 1, 20).reshape(-1, 1)
    one = ds.objective(X, 3 * X[:, 0] + 1 + np.sin(7 * X[:, 0]))
    star = one.reference().params
    a, b = star[0] + np.linspace(-1, 1, 5), star[1] + np.linspace(-1, 1, 4)
    assert np.array_equal(profile_grid(one, star, 0, 1, a, b), loss_grid(one, star, 0, 1, a, b))


def test_profile_refuses_a_loss_without_a_constant_hessian(rng):
    from descend.problems.slices import profile_grid

    X = rng.normal(size=(30, 2))
    obj = ds.objective(X, X[:, 0] + rng.normal(size=30), loss="mae")
    with pytest.raises(ValueError, match="landscape_grid"):
        profile_grid(obj, np.zeros(3), 0, 1, [0.0], [0.0])
