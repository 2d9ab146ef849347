"""descend.problems.slices: the loss on a grid over two coordinates of θ."""

import numpy as np
import pytest

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
