"""Reference answers: QR least squares and the gradient check."""

import numpy as np
import pytest

import descend as ds
from descend.problems.reference import solve_qr


def test_qr_matches_numpy_lstsq(rng):
    """On a well-conditioned design QR agrees with numpy.linalg.lstsq."""
    A = rng.normal(size=(30, 4))
    y = rng.normal(size=30)
    np.testing.assert_allclose(solve_qr(A, y), np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-12)


def test_rank_deficient_design_is_reported(rng):
    """A duplicated column makes the solution non-unique: said in words."""
    a = rng.normal(size=10)
    with pytest.raises(ValueError, match="rank deficient"):
        solve_qr(np.column_stack([a, a]), rng.normal(size=10))


def test_reference_in_original_units(rng):
    """fit()'s reference intercept/coef equal lstsq on the raw design [1, X]."""
    X = rng.uniform(10, 1000, (40, 2))
    y = X @ [0.5, -0.25] + 3 + rng.normal(size=40)
    res = ds.fit(X, y, max_steps=1)
    raw = np.linalg.lstsq(np.column_stack([np.ones(40), X]), y, rcond=None)[0]
    np.testing.assert_allclose([res.reference.intercept, *res.reference.coef], raw, rtol=1e-9)


def test_check_grad_catches_a_wrong_gradient():
    """A deliberately wrong gradient gives a large relative difference."""

    class Wrong(ds.Objective):
        n_params = 2

        def value_and_grad(self, t):
            return float(t @ t), 3 * t  # should be 2t

    class Right(Wrong):
        def value_and_grad(self, t):
            return float(t @ t), 2 * t

    theta = np.array([1.0, -2.0])
    assert ds.check_grad(Wrong(), theta) > 0.1
    assert ds.check_grad(Right(), theta) < 1e-7


def test_no_reference_for_non_least_squares(rng):
    """Huber has no closed form here: reference is None and the gaps are None."""
    X = rng.normal(size=(20, 1))
    res = ds.fit(X, X[:, 0], loss="huber", max_steps=5)
    assert res.reference is None and res.loss_gap is None
