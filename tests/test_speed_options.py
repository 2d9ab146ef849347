"""Issue 8 options: preconditioning from the statistics, float32 storage, mini-batch samplers."""

from __future__ import annotations

import numpy as np
import pytest

import descend as ds
from descend.data.samplers import batches, contiguous_batches, slice_batches
from descend.data.tables import DataError
from descend.problems.fastfit import make_objective
from descend.problems.models import Linear
from descend.problems.objective import DataObjective
from descend.problems.precondition import Preconditioner


def _correlated(rng: np.random.Generator, n: int = 20_000, d: int = 5, kappa: float = 1e4):
    """Standardised columns whose Gram matrix has condition number ≈ kappa (κ(H) > 100)."""
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    M = (Q * np.geomspace(1.0, kappa**-0.5, d)) @ Q.T
    X = rng.standard_normal((n, d)) @ M
    X /= X.std(axis=0)
    y = X @ rng.standard_normal(d) + 1.0 + 0.5 * rng.standard_normal(n)
    return X, y


def _excess(X, y, res) -> float:
    A = np.column_stack([X, np.ones(len(y))])
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    best = np.mean((y - A @ coef) ** 2)
    return float((np.mean((y - X @ res.coef - res.intercept) ** 2) - best) / best)


# -- preconditioning from the one-pass statistics ------------------------------------------------
def test_preconditioner_from_gram_equals_the_design_one(rng):
    """from_gram: Jacobi d equal; R equal to Householder's up to the signs of its rows."""
    X, y = _correlated(rng, n=2000)
    A = np.column_stack([(X - X.mean(0)) / X.std(0), np.ones(len(y))])
    G = A.T @ A / len(y)
    d_a = Preconditioner.build("diagonal", A).d
    d_g = Preconditioner.from_gram("diagonal", G, len(y)).d
    np.testing.assert_allclose(d_g, d_a, rtol=1e-12)
    R_a = Preconditioner.build("qr", A).R
    R_g = Preconditioner.from_gram("qr", G, len(y)).R
    assert R_a is not None and R_g is not None
    signs = np.sign(np.diag(R_a))
    np.testing.assert_allclose(R_g, signs[:, None] * R_a, rtol=1e-8, atol=1e-8 * abs(R_a).max())
    with pytest.raises(ValueError, match="rank deficient"):
        Preconditioner.from_gram("qr", np.ones((3, 3)), 10)


def test_fast_path_preconditions_without_touching_the_data_again(rng):
    """κ ≈ 1e4 on the fast path: QR whitening from the Gram matrix, no design copy, no
    refinement pass, and the same answer as the plain path (which builds A, QR and refines)."""
    X, y = _correlated(rng, n=20_000)
    fast = ds.fit(X, y, learning_rate="auto", tol=1e-12, fast=True)
    plain = ds.fit(X, y, learning_rate="auto", tol=1e-12, fast=False)
    assert fast.settings["preconditioner"] == plain.settings["preconditioner"] == "qr"
    assert fast.settings["refine"] is None  # statistics accurate: κ(G) ≪ 1e8
    assert fast.objective._Z is None  # the scaled design was never materialised
    assert fast.objective.features is X
    assert fast.n_steps < 20
    np.testing.assert_allclose(fast.coef, plain.coef, rtol=1e-9)
    assert _excess(X, y, fast) <= 1e-12


def test_fast_path_momentum_auto_also_preconditions(rng):
    X, y = _correlated(rng, n=20_000)
    res = ds.fit(X, y, optimizer="momentum", learning_rate="auto", tol=1e-12)
    assert res.settings["preconditioner"] == "qr"
    assert res.converged and _excess(X, y, res) <= 1e-12


# -- float32 storage --------------------------------------------------------------------------
def test_float32_is_kept_and_gives_the_float64_copy_results(rng):
    """A float32 X is not copied, and — float64 arithmetic on widened blocks — the fit equals
    the fit of its float64 copy (least squares: same statistics, same iterates)."""
    X, y = _correlated(rng, n=20_000, kappa=10.0)
    X32 = X.astype(np.float32)
    a = ds.fit(X32, y, learning_rate="auto", tol=1e-12)
    b = ds.fit(X32.astype(np.float64), y, learning_rate="auto", tol=1e-12)
    assert a.objective.features is X32
    assert a.n_steps == b.n_steps
    np.testing.assert_allclose(a.params, b.params, rtol=1e-14, atol=0)
    assert a.reference.loss == pytest.approx(b.reference.loss, rel=1e-14)


@pytest.mark.parametrize("loss", ["huber", "mae"])
def test_float32_fused_pass_matches_float64_copy(rng, loss):
    X, y = _correlated(rng, n=20_000, kappa=10.0)
    X32 = X.astype(np.float32)
    kw = dict(loss=loss, learning_rate=0.1, max_steps=30, tol=0.0)
    a = ds.fit(X32, y, **kw)
    b = ds.fit(X32.astype(np.float64), y, **kw)
    assert a.objective.features.dtype == np.float32
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)


def test_float32_minibatches_bitwise_equal_float64_copy(rng):
    X, y = _correlated(rng, n=20_000, kappa=10.0)
    X32 = X.astype(np.float32)
    kw = dict(learning_rate=0.05, batch_size=128, max_steps=300, tol=0.0, seed=5)
    a = ds.fit(X32, y, **kw)
    b = ds.fit(X32.astype(np.float64), y, **kw)
    np.testing.assert_array_equal(a.history.params, b.history.params)


def test_dtype_float32_option_is_close_to_float64(rng):
    """dtype=np.float32 stores X rounded to float32 (half the memory): the stated tolerance is
    coefficients within 1e-5 relative of the float64 fit (κ ≈ 10 here) and a relative excess
    loss on the float64 data below 1e-9."""
    X, y = _correlated(rng, n=20_000, kappa=10.0)
    a = ds.fit(X, y, learning_rate="auto", tol=1e-12, dtype=np.float32)
    b = ds.fit(X, y, learning_rate="auto", tol=1e-12)
    assert a.objective.features.dtype == np.float32
    assert a.objective.features.nbytes == X.nbytes // 2
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-5)
    assert _excess(X, y, a) <= 1e-9
    c = ds.fit(X, y, learning_rate="auto", tol=1e-12, dtype=np.float64)
    assert c.objective.features is X


def test_dtype_float32_on_the_plain_path_and_polynomials(rng):
    """Small data (plain path) and polynomial features fit the float32-rounded values."""
    X, y = _correlated(rng, n=500, kappa=10.0)
    a = ds.fit(X, y, learning_rate="auto", dtype=np.float32)
    b = ds.fit(X.astype(np.float32).astype(np.float64), y, learning_rate="auto")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    x = rng.uniform(0, 3, 100_000)
    yp = np.sin(x) + 0.1 * rng.standard_normal(x.size)
    kw = dict(model="poly:3", learning_rate="auto", max_steps=500)
    p = ds.fit(x, yp, dtype=np.float32, **kw)
    q = ds.fit(x.astype(np.float32).astype(np.float64), yp, **kw)
    np.testing.assert_allclose(p.params, q.params, rtol=1e-12)


def test_dtype_is_validated(rng):
    X, y = _correlated(rng, n=200)
    with pytest.raises(ValueError, match="dtype"):
        ds.fit(X, y, dtype=np.int32)


# -- mini-batch samplers ----------------------------------------------------------------------
def test_default_sampler_is_unchanged():
    """The default ("reshuffle"): each epoch one rng.permutation(n), cut in order."""
    rng = np.random.default_rng(7)
    it = batches(10, 4, np.random.default_rng(7))
    for _ in range(3):
        perm = rng.permutation(10)
        for start in (0, 4, 8):
            np.testing.assert_array_equal(next(it), perm[start : start + 4])


def test_slice_batches_shuffle_once():
    """Every epoch covers each row once, with the same sorted slices in a new order."""
    n, b = 103, 10
    it = slice_batches(n, b, np.random.default_rng(1))
    epochs = [[next(it) for _ in range(11)] for _ in range(3)]
    for ep in epochs:
        rows = np.concatenate(ep)
        np.testing.assert_array_equal(np.sort(rows), np.arange(n))
        assert all(np.all(np.diff(s) > 0) for s in ep)
    sets = [sorted(tuple(s) for s in ep) for ep in epochs]
    assert sets[0] == sets[1] == sets[2]  # the partition is drawn once
    assert [tuple(s) for s in epochs[0]] != [tuple(s) for s in epochs[1]]  # order is fresh
    a = [next(slice_batches(n, b, np.random.default_rng(4))) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])  # deterministic given the seed


def test_contiguous_batches_are_views_in_a_fresh_order():
    it = contiguous_batches(25, 10, np.random.default_rng(0))
    first = [next(it) for _ in range(3)]
    assert sorted((s.start, s.stop) for s in first) == [(0, 10), (10, 20), (20, 25)]
    with pytest.raises(DataError):
        contiguous_batches(25, 0, np.random.default_rng(0))


@pytest.mark.parametrize("sampling", ["slices", "contiguous"])
def test_samplers_give_fast_and_plain_the_same_iterates(rng, sampling):
    """With a sampler, the fast objective's mini-batch steps stay bitwise equal to the plain."""
    X, y = _correlated(rng, n=3000, kappa=10.0)
    fast = make_objective(Linear(), "mse", X, y, fast=True)
    plain = DataObjective(fast.model, "mse", fast.model.design(X), y)
    th0 = rng.standard_normal(fast.n_params)
    kw = dict(learning_rate=0.05, batch_size=64, max_steps=200, tol=0.0, seed=3)
    a = ds.minimize(fast, th0, sampling=sampling, **kw)
    b = ds.minimize(plain, th0, sampling=sampling, **kw)
    np.testing.assert_array_equal(a.history.params, b.history.params)
    assert a.settings["sampling"] == sampling


@pytest.mark.parametrize("sampling", ["slices", "contiguous"])
def test_samplers_converge_like_reshuffling(rng, sampling):
    """On rows in random order every sampler gets as close to L* (within 2 %)."""
    X, y = _correlated(rng, n=20_000, kappa=10.0)
    kw = dict(learning_rate=0.02, batch_size=256, max_steps=2000, tol=0.0, seed=1)
    a = ds.fit(X, y, sampling=sampling, **kw)
    b = ds.fit(X, y, **kw)
    assert a.loss == pytest.approx(b.loss, rel=0.02)
    assert a.loss <= 1.02 * a.reference.loss


def test_bad_sampling_is_explained(rng):
    X, y = _correlated(rng, n=300)
    with pytest.raises(ValueError, match="sampling"):
        ds.fit(X, y, batch_size=10, sampling="random")
