"""Tests for descend.descent.linesearch: the Armijo condition, edge cases and the mini-batch
error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from descend.descent import linesearch
from descend.descent.linesearch import ArmijoNotForMinibatch, backtracking, require_full_batch


class Quadratic:
    """f(θ) = ½ θᵀAθ − bᵀθ with an evaluation counter (an Objective look-alike)."""

    def __init__(self, A: np.ndarray, b: np.ndarray) -> None:
        self.A, self.b, self.calls = A, b, 0

    def value(self, theta: np.ndarray) -> float:
        self.calls += 1
        return float(0.5 * theta @ self.A @ theta - self.b @ theta)

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        return self.value(theta), self.A @ theta - self.b


finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)


@st.composite
def convex_problems(draw: st.DrawFn) -> tuple[Quadratic, np.ndarray]:
    dim = draw(st.integers(1, 5))
    M = draw(arrays(np.float64, (dim, dim), elements=finite))
    ridge = draw(st.floats(1e-3, 10.0))
    A = M @ M.T + ridge * np.eye(dim)
    b = draw(arrays(np.float64, dim, elements=finite))
    theta = draw(arrays(np.float64, dim, elements=finite))
    return Quadratic(A, b), theta


@settings(max_examples=200, deadline=None)
@given(
    problem=convex_problems(),
    lr0=st.floats(1e-3, 1e3),
    c=st.floats(1e-4, 0.5),
    shrink=st.floats(0.1, 0.9),
)
def test_accepted_step_satisfies_sufficient_decrease(
    problem: tuple[Quadratic, np.ndarray], lr0: float, c: float, shrink: float
) -> None:
    """On convex quadratics the accepted t obeys Armijo, is the first such trial, and f matches."""
    obj, theta = problem
    f0, g = obj.value_and_grad(theta)
    if not g @ g > 1e-12:
        return
    d = -g
    t, f_new = backtracking(
        obj, theta, g, d, loss=f0, lr0=lr0, c=c, shrink=shrink, max_halvings=400
    )
    assert t > 0.0  # Armijo always succeeds on a smooth convex quadratic with enough halvings
    assert f_new == obj.value(theta + t * d)
    assert f_new <= f0 + c * t * (g @ d)
    k = round(np.log(t / lr0) / np.log(shrink))
    assert t == pytest.approx(lr0 * shrink**k, rel=1e-12)
    if k > 0:  # the previous (larger) trial failed
        t_prev = lr0 * shrink ** (k - 1)
        assert obj.value(theta + t_prev * d) > f0 + c * t_prev * (g @ d)


def test_exact_halving_on_a_parabola() -> None:
    """f = ‖θ‖²: t = 1 overshoots to −θ (no decrease), t = ½ lands on the minimum."""
    obj = Quadratic(2.0 * np.eye(2), np.zeros(2))
    theta = np.array([1.0, -2.0])
    g = 2.0 * theta
    assert backtracking(obj, theta, g, -g) == (0.5, 0.0)
    assert backtracking(obj, theta, g, -g, lr0=0.5) == (0.5, 0.0)


def test_loss_argument_saves_an_evaluation() -> None:
    """With loss= given, an immediately accepted step costs one evaluation of f."""
    obj = Quadratic(np.eye(2), np.zeros(2))
    theta = np.array([1.0, 1.0])
    t, f_new = backtracking(obj, theta, theta, -theta, loss=1.0)
    assert (t, f_new, obj.calls) == (1.0, 0.0, 1)


def test_plain_callable_objective() -> None:
    """A bare function f(θ) works as the objective."""

    def f(th: np.ndarray) -> float:
        return float(th @ th)

    t, f_new = backtracking(f, np.array([3.0]), np.array([6.0]), np.array([-6.0]), lr0=1.0)
    assert (t, f_new) == (0.5, 0.0)


def test_not_a_descent_direction_is_an_error() -> None:
    """gᵀd ≥ 0 is rejected with a message showing gᵀd."""
    obj = Quadratic(np.eye(2), np.zeros(2))
    theta = np.array([1.0, 0.0])
    with pytest.raises(ValueError, match="not a descent direction: gᵀd = 1.0"):
        backtracking(obj, theta, theta, theta)
    with pytest.raises(ValueError, match="not a descent direction"):
        backtracking(obj, theta, theta, np.array([0.0, 1.0]))


def test_no_acceptable_step_returns_zero_and_current_loss() -> None:
    """If no trial passes within max_halvings, the result is (0.0, f(θ))."""

    def f(th: np.ndarray) -> float:  # claims a downhill gradient but f only rises
        return float(th[0] ** 2) + 1.0

    theta = np.array([0.0])
    t, f_new = backtracking(f, theta, np.array([-1.0]), np.array([1.0]), max_halvings=10)
    assert (t, f_new) == (0.0, 1.0)


def test_overflowing_trials_are_rejected() -> None:
    """Non-finite f at a trial point counts as a failed trial, not an error."""

    def f(th: np.ndarray) -> float:
        return float(np.exp(th[0] ** 2)) - 1.0

    theta = np.array([1.0])
    g = np.array([2.0 * np.e])
    t, f_new = backtracking(f, theta, g, -g, lr0=1e3)
    assert 0.0 < t < 1.0 and np.isfinite(f_new)
    assert f_new <= f(theta) - 1e-4 * t * (g @ g)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr0": 0.0}, "Invalid lr0: 0.0"),
        ({"c": 1.0}, r"Invalid c: 1.0 \(must be in \(0, 1\)\)"),
        ({"shrink": 1.5}, "Invalid shrink: 1.5"),
        ({"max_halvings": -1}, "Invalid max_halvings: -1"),
    ],
)
def test_invalid_parameters(kwargs: dict, message: str) -> None:
    """Out-of-range search parameters are named in the error."""
    obj = Quadratic(np.eye(1), np.zeros(1))
    with pytest.raises(ValueError, match=message):
        backtracking(obj, np.ones(1), np.ones(1), -np.ones(1), **kwargs)


def test_require_full_batch_message() -> None:
    """Mini-batch sampling with the line search is refused with the exact guidance."""
    require_full_batch(None)
    require_full_batch(100, n_samples=100)
    expected = (
        'learning_rate="armijo" (backtracking line search) needs full-batch descent: '
        "set batch_size=None (got batch_size=32)"
    )
    with pytest.raises(ArmijoNotForMinibatch) as err:
        require_full_batch(32)
    assert str(err.value) == expected
    assert isinstance(err.value, ValueError)
    with pytest.raises(ValueError, match=r"got batch_size=1\)"):
        require_full_batch(1, n_samples=50)


def test_warm_started_gd_loop_converges() -> None:
    """The documented loop (d = −g, lr0 = 2 × last step) solves an ill-conditioned quadratic.

    Armijo compares values of f, so it cannot resolve θ much beyond √(machine ε) relative
    accuracy: near the minimum the decrease is below the rounding of f. Hence rtol 1e-6.
    """
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    A = Q @ np.diag([1.0, 3.0, 10.0, 30.0, 100.0]) @ Q.T
    b = rng.standard_normal(5)
    obj = Quadratic(A, b)
    solution = np.linalg.solve(A, b)
    theta, step = np.zeros(5), 1.0
    for _ in range(1000):
        f, g = obj.value_and_grad(theta)
        step, f_new = linesearch.backtracking(obj, theta, g, -g, loss=f, lr0=2.0 * step)
        if step == 0.0:
            break
        assert f_new <= f
        theta = theta - step * g
        if np.linalg.norm(theta - solution) <= 1e-6 * np.linalg.norm(solution):
            break
    assert np.linalg.norm(theta - solution) <= 1e-6 * np.linalg.norm(solution)
