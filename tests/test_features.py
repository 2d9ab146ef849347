"""Feature maps: polynomial bases and standardisation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descend.problems.features import PolynomialBasis, Standardizer


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


# -- exact conversion to the monomial basis (issue 4) ------------------------------------------
@pytest.mark.parametrize("kind", ["legendre", "chebyshev"])
def test_orthogonal_fit_converts_to_the_direct_monomial_fit(kind, rng):
    """A Chebyshev/Legendre fit, converted to x^k, matches a direct monomial fit to 1e-10."""
    import descend as ds

    x = rng.uniform(-1.5, 2.0, 120)
    y = 1.0 - 0.5 * x + 0.25 * x**2 + 0.125 * x**4 + 0.01 * rng.standard_normal(120)
    V = np.vander(x, 5, increasing=True)
    direct = np.linalg.lstsq(V, y, rcond=None)[0]
    res = ds.fit(x, y, model=f"poly:4:{kind}", learning_rate="auto", tol=1e-15)
    mono = ds.fit(x, y, model="poly:4", learning_rate="auto", tol=1e-15)
    np.testing.assert_allclose(np.r_[res.intercept, res.coef], direct, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.r_[mono.intercept, mono.coef], direct, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["monomial", "legendre", "chebyshev"])
@pytest.mark.parametrize("domain", [(2.0, 7.0), (-8.78, -3.13), None, (4.0, 4.0)])
def test_exact_conversion_agrees_with_numpy_convert(kind, domain, rng):
    """The exact rational conversion agrees with NumPy's convert where that is accurate."""
    basis = PolynomialBasis(5, kind, domain=domain)
    a = rng.normal(size=6)
    exact = basis.to_monomial(a)
    approx = basis.to_monomial(a, exact=False)
    scale = np.max(np.abs(exact))
    np.testing.assert_allclose(exact, approx, rtol=1e-9, atol=1e-12 * scale)


def test_exact_conversion_is_correctly_rounded():
    """Each converted coefficient is the float nearest the exact rational value."""
    from fractions import Fraction

    basis = PolynomialBasis(3, "chebyshev", domain=(1000.0, 1001.0))
    a = [0.1, 0.2, 0.3, 0.4]
    c = basis.to_monomial(a)
    # by hand: t = 2x − 2001, T2 = 2t² − 1, T3 = 4t³ − 3t, exactly
    fa = [Fraction(v) for v in a]
    t = [Fraction(-2001), Fraction(2)]  # coefficients of t in x

    def mul(p, q):
        out = [Fraction(0)] * (len(p) + len(q) - 1)
        for i, pi in enumerate(p):
            for j, qj in enumerate(q):
                out[i + j] += pi * qj
        return out

    t2, t3 = mul(t, t), mul(mul(t, t), t)
    poly = [fa[0] - fa[2], Fraction(0), Fraction(0), Fraction(0)]
    for k, v in enumerate(t):
        poly[k] += fa[1] * v - 3 * fa[3] * v
    for k, v in enumerate(t2):
        poly[k] += 2 * fa[2] * v
    for k, v in enumerate(t3):
        poly[k] += 4 * fa[3] * v
    assert c.tolist() == [float(v) for v in poly]


def test_change_of_basis_matrices_match_numpy():
    """The exact Chebyshev/Legendre → power matrices equal NumPy's cheb2poly/leg2poly."""
    from descend.problems.features import basis_to_power

    for kind, conv in (
        ("chebyshev", np.polynomial.chebyshev.cheb2poly),
        ("legendre", np.polynomial.legendre.leg2poly),
    ):
        M = basis_to_power(kind, 6)
        for k in range(7):
            e = np.zeros(7)
            e[k] = 1.0
            expected = np.zeros(7)
            got = conv(e)
            expected[: got.shape[0]] = got
            np.testing.assert_allclose([float(v) for v in M[k]], expected, rtol=1e-15)


def test_exact_unscale_avoids_cancellation():
    """The intercept b − Σ w μ/s is computed exactly and rounded once."""
    from fractions import Fraction

    s = Standardizer(mean=np.array([1e8 + 0.1]), scale=np.array([3.0]))
    w, b = np.array([3e8 + 1.0]), 1.0
    b0, coef = s.unscale_exact(w, b)
    assert b0 == Fraction(b) - Fraction(w[0]) / 3 * Fraction(1e8 + 0.1)
    intercept, c = s.unscale(w, b)
    assert intercept == float(b0) and c[0] == float(Fraction(w[0]) / 3)


def _rounded_exact(s: Standardizer, w: np.ndarray, b: float) -> tuple[float, list[float]]:
    """The reference: Python's Fraction arithmetic (outside the code under test's integer
    route), each result rounded once by ``float``."""
    from fractions import Fraction

    coef = [Fraction(float(v)) / Fraction(float(c)) for v, c in zip(w, s.scale, strict=True)]
    b0 = Fraction(b) - sum(
        (c * Fraction(float(m)) for c, m in zip(coef, s.mean, strict=True)), Fraction(0)
    )
    return float(b0), [float(c) for c in coef]


_finite = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True, width=64)
_positive = st.floats(min_value=5e-324, max_value=1e300, allow_subnormal=True)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.tuples(_finite, _positive, _finite), min_size=1, max_size=12),
    b=_finite,
)
def test_unscale_is_bitwise_the_rounded_fractions(rows, b):
    """The integer-ratio route gives exactly the bits of the Fraction computation (both round
    one exact rational number correctly), signed zeros included, or the same error."""
    w = np.array([r[0] for r in rows])
    s = Standardizer(mean=np.array([r[2] for r in rows]), scale=np.array([r[1] for r in rows]))
    try:
        want = _rounded_exact(s, w, b)
    except OverflowError:
        with pytest.raises(OverflowError):
            s.unscale(w, b)
        return
    intercept, coef = s.unscale(w, b)
    assert np.array([intercept]).tobytes() == np.array([want[0]]).tobytes()
    assert coef.tobytes() == np.array(want[1], dtype=np.float64).tobytes()
    b0, exact = s.unscale_exact(w, b)  # and the class's own exact form agrees
    assert float(b0) == want[0] and [float(c) for c in exact] == want[1]


def test_unscale_rejects_what_the_fractions_reject():
    s = Standardizer(mean=np.zeros(2), scale=np.ones(2))
    for bad in (np.nan, np.inf):
        with pytest.raises((ValueError, OverflowError)) as got:
            s.unscale(np.array([1.0, bad]), 0.0)
        with pytest.raises(type(got.value)):
            s.unscale_exact(np.array([1.0, bad]), 0.0)
    with pytest.raises(ZeroDivisionError):
        Standardizer(mean=np.zeros(1), scale=np.zeros(1)).unscale(np.ones(1), 0.0)
    tiny = Standardizer(mean=np.zeros(1), scale=np.array([1e-300]))
    with pytest.raises(OverflowError):  # 1e300/1e-300 has no float
        tiny.unscale(np.array([1e300]), 0.0)
