"""The fast paths behind the Objective seam give the plain path's numbers
(descend.problems.fast_objective), with X stored as float64 or float32."""

from __future__ import annotations

import numpy as np
import pytest

import descend as ds
from descend.data.tables import DataError, DataWarning
from descend.problems.fast_objective import FastDataObjective
from descend.problems.fastfit import make_objective
from descend.problems.models import Linear, Polynomial
from descend.problems.objective import DataObjective


def _data(rng: np.random.Generator, n: int = 3000, d: int = 4, corr: float = 0.0, noise=0.3):
    base = rng.standard_normal((n, d))
    X = base + corr * base[:, :1]  # correlated columns when corr > 0
    X = X * rng.uniform(0.5, 3.0, d) + rng.uniform(-5, 5, d)
    y = X @ rng.standard_normal(d) + 2.0 + noise * rng.standard_normal(n)
    return X, y


def _pair(model, loss, X, y):
    """(fast, plain) objectives on the same bound model."""
    fast = make_objective(model, loss, X, y, fast=True)
    plain = DataObjective(fast.model, loss, fast.model.design(X), y)
    return fast, plain


@pytest.mark.parametrize(
    "model", [Linear(), Linear(intercept=False), Linear(scale=False)], ids=repr
)
@pytest.mark.parametrize("loss", ["mse", "huber", "mae", "logloss"])
def test_value_and_grad_match_plain(rng, model, loss):
    """Full-batch value and gradient equal the plain path's to rtol 1e-12."""
    X, y = _data(rng)
    if loss == "logloss":
        y = (y > np.median(y)).astype(float)
    fast, plain = _pair(model, loss, X, y)
    assert isinstance(fast, FastDataObjective)
    for _ in range(3):
        th = rng.standard_normal(fast.n_params)
        fv, fg = fast.value_and_grad(th)
        pv, pg = plain.value_and_grad(th)
        assert fv == pytest.approx(pv, rel=1e-12)
        np.testing.assert_allclose(fg, pg, rtol=1e-12, atol=1e-12 * np.abs(pg).max())
    np.testing.assert_allclose(fast.gram(), plain.gram(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_full_batch_iterates_match_plain(rng, loss):
    """Hundreds of full-batch steps: the same iterates to rtol 1e-12 (κ ≈ 30)."""
    X, y = _data(rng, corr=2.0)
    fast, plain = _pair(Linear(), loss, X, y)
    th0 = rng.standard_normal(fast.n_params)
    kw = dict(learning_rate=0.05, max_steps=400, tol=0.0, record_params=True)
    a = ds.minimize(fast, th0, **kw)
    b = ds.minimize(plain, th0, **kw)
    np.testing.assert_allclose(a.history.params, b.history.params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.history.loss, b.history.loss, rtol=1e-10)


def test_minibatch_iterates_bitwise(rng):
    """Mini-batch steps gather and scale rows exactly as the plain design: bitwise equal."""
    X, y = _data(rng)
    fast, plain = _pair(Linear(), "huber", X, y)
    th0 = rng.standard_normal(fast.n_params)
    kw = dict(learning_rate=0.05, batch_size=64, max_steps=200, tol=0.0, seed=3)
    a = ds.minimize(fast, th0, **kw)
    b = ds.minimize(plain, th0, **kw)
    np.testing.assert_array_equal(a.history.params, b.history.params)
    np.testing.assert_array_equal(a.history.loss, b.history.loss)


def test_unfoldable_scaling_uses_exact_blocks(rng):
    """|μ|/s > 1e3: the scaled blocks are materialised (no folding), still equal to plain."""
    X, y = _data(rng)
    X[:, 0] = 1e6 + 1e-2 * rng.standard_normal(X.shape[0])
    fast, plain = _pair(Linear(), "huber", X, y)
    assert not fast._fold_ok
    th = rng.standard_normal(fast.n_params)
    np.testing.assert_allclose(fast.grad(th), plain.grad(th), rtol=1e-12, atol=1e-13)


def test_value_accuracy_near_a_perfect_fit(rng):
    """R² ≈ 1 − 1e-14: L* is recomputed exactly and loss differences stay accurate."""
    X, y = _data(rng, noise=1e-6)
    fast, plain = _pair(Linear(), "mse", X, y)
    ref = fast.reference()
    assert ref.method == "stats+exact"
    ref_plain = ds.least_squares(plain)
    assert ref.loss == pytest.approx(ref_plain.loss, rel=1e-6)
    for scale in (1e-3, 1e-5):
        th = ref.params + scale * rng.standard_normal(fast.n_params)
        exact = plain.value(th)
        assert fast.value(th) == pytest.approx(exact, rel=1e-8)
        # the excess over L*, what the stopping rule sees, to 1e-6 relative
        assert fast.value(th) - ref.loss == pytest.approx(exact - ref_plain.loss, rel=1e-6)


def test_ill_conditioned_reference_uses_blocked_qr(rng):
    """Raw monomials of degree 5 on [0, 10] (κ ~ 1e11): the reference comes from TSQR."""
    x = rng.uniform(0, 10, 2000)
    y = 1 + x - 0.2 * x**3 + 0.01 * x**5 + rng.standard_normal(2000)
    fast, plain = _pair(Polynomial(5, scale=False), "mse", x.reshape(-1, 1), y)
    ref = fast.reference()
    assert ref.method == "tsqr"
    ref_plain = ds.least_squares(plain)
    np.testing.assert_allclose(ref.params, ref_plain.params, rtol=1e-7)
    assert ref.loss == pytest.approx(ref_plain.loss, rel=1e-10)
    # independent: SVD least squares on the raw monomials [1, x, …, x⁵]
    V = np.vander(x, 6, increasing=True)
    beta = np.linalg.lstsq(V, y, rcond=None)[0]
    assert ref.loss == pytest.approx(np.mean((V @ beta - y) ** 2), rel=1e-10)


def test_fit_fast_equals_fit_plain_and_does_not_copy(rng):
    """ds.fit: same result with and without the fast path; X is not copied; .Z still works."""
    X, y = _data(rng, corr=1.0)
    a = ds.fit(X, y, learning_rate="auto", tol=1e-12, fast=True)
    b = ds.fit(X, y, learning_rate="auto", tol=1e-12, fast=False)
    assert a.n_steps == b.n_steps
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10)
    assert a.reference.loss == pytest.approx(b.reference.loss, rel=1e-10)
    assert a.advice.kappa == pytest.approx(b.advice.kappa, rel=1e-8)
    obj = a.objective
    assert obj.features is X  # borrowed, not copied
    np.testing.assert_allclose(obj.Z, obj.model.design(X), rtol=0, atol=0)


@pytest.mark.parametrize("shift", [0.0, 1e4])
def test_least_squares_baseline_comes_from_the_statistics(rng, shift):
    """loss(y, ȳ·1) without a pass over y, equal to the plain objective's and to numpy's
    two-pass mean((y − mean(y))²); a far-off-centre y takes the shifted pass."""
    X, y = _data(rng)
    y = y + shift
    fast, plain = _pair(Linear(), "mse", X, y)
    direct = float(np.mean((y - y.mean()) ** 2))
    assert fast.baseline_loss() == pytest.approx(direct, rel=1e-12)
    assert plain.baseline_loss() == pytest.approx(direct, rel=1e-12)
    huber, _ = _pair(Linear(), "huber", X, y)
    assert huber.baseline_loss() == DataObjective.baseline_loss(huber)


def test_polynomial_fit_matches_plain(rng):
    """A Chebyshev polynomial fit: same θ with and without the fast path."""
    x = rng.uniform(0, 10, 500)
    y = np.sin(x) + 0.1 * rng.standard_normal(500)
    a = ds.fit(x, y, model="poly:5:chebyshev", learning_rate="auto", max_steps=3000, fast=True)
    b = ds.fit(x, y, model="poly:5:chebyshev", learning_rate="auto", max_steps=3000, fast=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-9, atol=1e-12)


def test_fast_path_validation_messages(rng):
    """NaN gives the same DataError; a constant column the same DataWarning."""
    X, y = _data(rng, n=40_000)
    Xn = X.copy()
    Xn[7, 1] = np.nan
    with pytest.raises(DataError, match="x2"):
        ds.fit(Xn, y, max_steps=1)
    Xc = X.copy()
    Xc[:, 2] = 4.0
    with pytest.warns(DataWarning, match="'x3' is constant"):
        ds.fit(Xc, y, max_steps=1, reference=False)


def test_float32_input_is_validated_and_converted(rng):
    """float32 X goes through as_arrays (one float64 copy), with the same answer."""
    X, y = _data(rng)
    a = ds.fit(X.astype(np.float32), y, learning_rate="auto", max_steps=200)
    b = ds.fit(X.astype(np.float32).astype(np.float64), y, learning_rate="auto", max_steps=200)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)


# -- float32 storage ----------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["huber", "mae"])
def test_float32_fused_pass_matches_float64_copy(rng, correlated, loss):
    X, y = correlated(rng, n=20_000, kappa=10.0)
    X32 = X.astype(np.float32)
    kw = dict(loss=loss, learning_rate=0.1, max_steps=30, tol=0.0)
    a = ds.fit(X32, y, **kw)
    b = ds.fit(X32.astype(np.float64), y, **kw)
    assert a.objective.features.dtype == np.float32
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)


def test_float32_minibatches_bitwise_equal_float64_copy(rng, correlated):
    X, y = correlated(rng, n=20_000, kappa=10.0)
    X32 = X.astype(np.float32)
    kw = dict(learning_rate=0.05, batch_size=128, max_steps=300, tol=0.0, seed=5)
    a = ds.fit(X32, y, **kw)
    b = ds.fit(X32.astype(np.float64), y, **kw)
    np.testing.assert_array_equal(a.history.params, b.history.params)
