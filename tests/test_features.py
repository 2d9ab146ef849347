"""Feature maps: polynomial bases and standardisation."""

import numpy as np
import pytest

from descend.features import PolynomialBasis, Standardizer


def test_standardizer_centres_and_scales(rng):
    """Columns get mean 0 and standard deviation 1; a constant column is left unscaled."""
    X = np.column_stack([rng.normal(5, 3, 100), np.full(100, 2.0)])
    s = Standardizer.fit(X)
    Z = s.transform(X)
    np.testing.assert_allclose(Z[:, 0].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, 0].std(), 1, rtol=1e-12)
    assert s.scale[1] == 1.0


def test_unscale_maps_back_to_original_units(rng):
    """b + w·z equals intercept + coef·x at every row."""
    X = rng.normal(3, 2, (20, 3))
    s = Standardizer.fit(X)
    w, b = rng.normal(size=3), 0.7
    intercept, coef = s.unscale(w, b)
    np.testing.assert_allclose(s.transform(X) @ w + b, intercept + X @ coef, rtol=1e-12)


@pytest.mark.parametrize("kind", ["monomial", "legendre", "chebyshev"])
def test_to_monomial_reproduces_the_polynomial(kind, rng):
    """Σ a_k φ_k(t(x)) equals Σ c_k x^k at random points, for every basis and domain."""
    basis = PolynomialBasis(4, kind, domain=(2.0, 7.0))
    a = rng.normal(size=5)
    x = rng.uniform(2, 7, 30)
    lhs = a[0] + basis.transform(x) @ a[1:]
    c = basis.to_monomial(a)
    np.testing.assert_allclose(lhs, np.polynomial.polynomial.polyval(x, c), rtol=1e-10)


def test_monomial_columns_are_powers():
    """Without a domain, the columns are x, x², x³."""
    x = np.array([2.0, 3.0])
    np.testing.assert_array_equal(PolynomialBasis(3).transform(x), [[2, 4, 8], [3, 9, 27]])


def test_bad_degree_and_basis_are_rejected():
    """Degree must be a whole number ≥ 1; the basis must be known."""
    with pytest.raises(ValueError, match="degree"):
        PolynomialBasis(0)
    with pytest.raises(ValueError, match="basis"):
        PolynomialBasis(2, "hermite")
