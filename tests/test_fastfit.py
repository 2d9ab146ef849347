"""descend.problems.fastfit: the fast path's options (fast=, float32 storage, dtype=) and the
validation it reads from the one-pass statistics instead of a max-abs pass."""

from __future__ import annotations

import numpy as np
import pytest

import descend as ds
from descend.data.tables import DataError, check_fit_data
from descend.problems import fastfit, stats


def _excess(X, y, res) -> float:
    A = np.column_stack([X, np.ones(len(y))])
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    best = np.mean((y - A @ coef) ** 2)
    return float((np.mean((y - X @ res.coef - res.intercept) ** 2) - best) / best)


# -- preconditioning from the one-pass statistics ------------------------------------------------


def test_fast_path_preconditions_without_touching_the_data_again(rng, correlated):
    """κ ≈ 1e4 on the fast path: QR whitening from the Gram matrix, no design copy, no
    refinement pass, and the same answer as the plain path (which builds A, QR and refines)."""
    X, y = correlated(rng, n=20_000)
    fast = ds.fit(X, y, learning_rate="auto", tol=1e-12, fast=True)
    plain = ds.fit(X, y, learning_rate="auto", tol=1e-12, fast=False)
    assert fast.settings["preconditioner"] == plain.settings["preconditioner"] == "qr"
    assert fast.settings["refine"] is None  # statistics accurate: κ(G) ≪ 1e8
    assert fast.objective._Z is None  # the scaled design was never materialised
    assert fast.objective.features is X
    assert fast.n_steps < 20
    np.testing.assert_allclose(fast.coef, plain.coef, rtol=1e-9)
    assert _excess(X, y, fast) <= 1e-12


def test_fast_path_momentum_auto_also_preconditions(rng, correlated):
    X, y = correlated(rng, n=20_000)
    res = ds.fit(X, y, optimizer="momentum", learning_rate="auto", tol=1e-12)
    assert res.settings["preconditioner"] == "qr"
    assert res.converged and _excess(X, y, res) <= 1e-12


# -- float32 storage and dtype= ----------------------------------------------------------------


def test_float32_is_kept_and_gives_the_float64_copy_results(rng, correlated):
    """A float32 X is not copied, and — float64 arithmetic on widened blocks — the fit equals
    the fit of its float64 copy (least squares: same statistics, same iterates)."""
    X, y = correlated(rng, n=20_000, kappa=10.0)
    X32 = X.astype(np.float32)
    a = ds.fit(X32, y, learning_rate="auto", tol=1e-12)
    b = ds.fit(X32.astype(np.float64), y, learning_rate="auto", tol=1e-12)
    assert a.objective.features is X32
    assert a.n_steps == b.n_steps
    np.testing.assert_allclose(a.params, b.params, rtol=1e-14, atol=0)
    assert a.reference.loss == pytest.approx(b.reference.loss, rel=1e-14)


def test_dtype_float32_option_is_close_to_float64(rng, correlated):
    """dtype=np.float32 stores X rounded to float32 (half the memory): the stated tolerance is
    coefficients within 1e-5 relative of the float64 fit (κ ≈ 10 here) and a relative excess
    loss on the float64 data below 1e-9."""
    X, y = correlated(rng, n=20_000, kappa=10.0)
    a = ds.fit(X, y, learning_rate="auto", tol=1e-12, dtype=np.float32)
    b = ds.fit(X, y, learning_rate="auto", tol=1e-12)
    assert a.objective.features.dtype == np.float32
    assert a.objective.features.nbytes == X.nbytes // 2
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-5)
    assert _excess(X, y, a) <= 1e-9
    c = ds.fit(X, y, learning_rate="auto", tol=1e-12, dtype=np.float64)
    assert c.objective.features is X


def test_dtype_float32_on_the_plain_path_and_polynomials(rng, correlated):
    """Small data (plain path) and polynomial features fit the float32-rounded values."""
    X, y = correlated(rng, n=500, kappa=10.0)
    a = ds.fit(X, y, learning_rate="auto", dtype=np.float32)
    b = ds.fit(X.astype(np.float32).astype(np.float64), y, learning_rate="auto")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    x = rng.uniform(0, 3, 100_000)
    yp = np.sin(x) + 0.1 * rng.standard_normal(x.size)
    kw = dict(model="poly:3", learning_rate="auto", max_steps=500)
    p = ds.fit(x, yp, dtype=np.float32, **kw)
    q = ds.fit(x.astype(np.float32).astype(np.float64), yp, **kw)
    np.testing.assert_allclose(p.params, q.params, rtol=1e-12)


def test_dtype_is_validated(rng, correlated):
    X, y = correlated(rng, n=200)
    with pytest.raises(ValueError, match="dtype"):
        ds.fit(X, y, dtype=np.int32)


# -- validation from the statistics ------------------------------------------------------------


def test_magnitudes_safe_for_ordinary_data_and_not_near_the_limits(rng):
    X = rng.standard_normal((20_000, 3))
    y = rng.standard_normal(20_000)
    assert fastfit.magnitudes_safe(stats.moments(X, y))
    for v in (1e149, 2e-154):  # both pass check_fit_data, but near its limits
        Xv = X.copy()
        Xv[:, 1] *= v
        assert not fastfit.magnitudes_safe(stats.moments(Xv, y))
    Xz = X.copy()
    Xz[:, 2] = 0.0  # an all-zero column: the exact pass decides (it passes)
    assert not fastfit.magnitudes_safe(stats.moments(Xz, y))


def test_fast_fit_skips_the_max_abs_pass_for_ordinary_data(rng, monkeypatch):
    import descend.data.tables as data

    X = rng.standard_normal((20_000, 5))
    y = X.sum(axis=1) + rng.standard_normal(20_000)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("check_fit_data ran")

    monkeypatch.setattr(data, "check_fit_data", fail)
    res = ds.fit(X, y, learning_rate="auto")
    assert res.objective.features is X


@pytest.mark.parametrize(
    "value", [1e200, 1e153, np.inf, -np.inf, 1e-200], ids=["1e200", "1e153", "inf", "-inf", "tiny"]
)
@pytest.mark.parametrize("where", ["X", "y"])
def test_fast_fit_refuses_bad_magnitudes_with_check_fit_data_message(rng, value, where):
    X = rng.standard_normal((20_000, 5))
    y = X.sum(axis=1) + rng.standard_normal(20_000)
    if value == 1e-200:
        if where == "X":
            X[:, 2] *= value
        else:
            y *= value
    elif where == "X":
        X[11, 2] = value
    else:
        y[11] = value
    with pytest.raises(DataError) as want:
        check_fit_data(X, y)
    with pytest.raises(DataError) as got:
        ds.fit(X, y, learning_rate="auto")
    assert str(got.value) == str(want.value)
