"""FitResult: what a run returns."""

import pytest

import descend as ds


def test_coef_is_refused_for_plain_objectives():
    """intercept/coef need a linear model; the message says what to use instead."""
    res = ds.minimize(ds.objective([[1.0], [2.0]], [1.0, 2.0]), [0.0, 0.0], max_steps=2)
    with pytest.raises(AttributeError, match="res.params"):
        _ = res.coef
