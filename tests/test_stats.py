"""The raw-sums route of :func:`descend.problems.stats.moments`: when it is taken, and its
accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from descend.problems import stats


def _normed_gap(a: stats.Moments, b: stats.Moments) -> float:
    """Largest difference of the correlation-scaled scatters and cross products."""
    sx = np.sqrt(np.diag(b.Sxx))
    gx = np.max(np.abs(a.Sxx - b.Sxx) / np.outer(sx, sx))
    gy = np.max(np.abs(a.sxy - b.sxy) / (sx * np.sqrt(b.syy)))
    return float(max(gx, gy, abs(a.syy - b.syy) / b.syy, np.max(np.abs(a.mean - b.mean) / sx)))


def _no_shifted_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the shifted pass ran")

    monkeypatch.setattr(stats, "block_scatter", fail)


@pytest.mark.parametrize("order", ["C", "F"])
def test_raw_route_is_taken_for_centred_columns_and_agrees(rng, monkeypatch, order):
    X = rng.standard_normal((30_000, 6)) * rng.uniform(0.5, 3, 6) + rng.uniform(-3, 3, 6)
    X = np.asarray(X, order=order)
    y = X @ rng.standard_normal(6) + 1.0 + rng.standard_normal(30_000)
    ref = stats.moments(X, y, raw=False)
    # the shifted pass itself against a direct two-pass computation in numpy
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    direct = stats.Moments(
        n=len(y), mean=X.mean(axis=0), ymean=float(y.mean()), Sxx=Xc.T @ Xc, sxy=Xc.T @ yc,
        syy=float(yc @ yc), finite=True, x0=X[0],
    )  # fmt: skip
    assert ref.ymean == pytest.approx(direct.ymean, rel=1e-12, abs=1e-12)
    assert _normed_gap(ref, direct) < 1e-12
    _no_shifted_pass(monkeypatch)
    mom = stats.moments(X, y)
    assert mom.n == ref.n and mom.finite
    np.testing.assert_array_equal(mom.x0, X[0])
    assert _normed_gap(mom, ref) < 1e-13


@pytest.mark.parametrize("ratio", [10.0, 1e3, 1e8])
def test_off_centre_columns_take_the_shifted_pass(rng, ratio):
    """|μ|/σ beyond √RAW_RATIO: the statistics are exactly the shifted pass's."""
    X = rng.standard_normal((20_000, 3))
    X[:, 1] += ratio
    y = X.sum(axis=1) + rng.standard_normal(20_000)
    a, b = stats.moments(X, y), stats.moments(X, y, raw=False)
    np.testing.assert_array_equal(a.Sxx, b.Sxx)
    np.testing.assert_array_equal(a.sxy, b.sxy)
    # and the shifted pass is right where the raw sums would cancel: numpy's two-pass sums
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    sx = np.sqrt(np.diag(Xc.T @ Xc))
    np.testing.assert_allclose(a.Sxx / np.outer(sx, sx), (Xc.T @ Xc) / np.outer(sx, sx), atol=1e-12)
    np.testing.assert_allclose(
        a.sxy / sx, (Xc.T @ yc) / sx, rtol=1e-10, atol=1e-12 * np.sqrt(yc @ yc)
    )
    exact_mean = np.array([math.fsum(col) / len(col) for col in X.T])
    assert np.all(np.abs(a.mean - exact_mean) <= 1e-12 * sx / 100 + 4 * np.spacing(exact_mean))


def test_off_centre_after_the_probe_is_caught_by_the_final_check(rng):
    """The probe sees centred rows; the rest are far off centre: the final r² check redoes it.

    (With a fraction p of centred rows, r² ≈ 1 + (1 − p)/p ≈ 100 > RAW_RATIO here.)
    """
    X = rng.standard_normal((100_000, 3))
    X[stats.PROBE_ROWS :, 2] += 1e6
    y = rng.standard_normal(100_000)
    assert stats._probe_ok(X, y, float(y[0]))
    a, b = stats.moments(X, y), stats.moments(X, y, raw=False)
    np.testing.assert_array_equal(a.Sxx, b.Sxx)


def test_off_centre_y_takes_the_shifted_pass(rng):
    X = rng.standard_normal((20_000, 3))
    y = 1e5 + rng.standard_normal(20_000)
    y[0] = 0.0  # the shift y₀ is far from ȳ
    a, b = stats.moments(X, y), stats.moments(X, y, raw=False)
    assert a.syy == b.syy
    yc = y - y.mean()
    assert a.syy == pytest.approx(float(yc @ yc), rel=1e-9)  # a far shift costs a few digits
    assert a.ymean == pytest.approx(float(y.mean()), rel=1e-14)


def test_constant_and_zero_columns_stay_exact(rng):
    X = rng.standard_normal((20_000, 4))
    X[:, 1] = 0.0
    X[:, 3] = 0.1
    y = rng.standard_normal(20_000)
    mom = stats.moments(X, y)
    assert list(mom.constant_columns) == [1, 3]
    assert mom.Sxx[1, 1] == 0.0 and mom.Sxx[3, 3] == 0.0
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(
        mom.Sxx[[0, 2]][:, [0, 2]], (Xc.T @ Xc)[[0, 2]][:, [0, 2]], rtol=1e-12
    )


@pytest.mark.parametrize("order", ["C", "F"])
def test_float32_raw_route_is_bitwise_the_float64_copy(rng, order):
    X = np.asarray(rng.standard_normal((20_000, 5)), order=order).astype(np.float32)
    y = rng.standard_normal(20_000)
    a, b = stats.moments(X, y), stats.moments(X.astype(np.float64), y)
    for f in ("Sxx", "sxy", "mean"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert a.syy == b.syy


def test_nonfinite_data_report_nonfinite_without_warnings(rng):
    X = rng.standard_normal((5000, 3))
    X[7, 1] = np.nan
    with np.errstate(all="raise"):
        assert not stats.moments(X, np.ones(5000)).finite


@pytest.mark.parametrize("order", ["C", "F"])
def test_threads_over_chunks_give_bitwise_the_same_sums(rng, order):
    """The chunks are fixed by the shape: 1, 2 and 3 worker threads sum to the same bits, and
    the sums are numpy's own X.T@X, Σx and Xᵀ(y − y₀) (an outside computation)."""
    X = np.asarray(rng.standard_normal((9_000, 5)) + 0.3, order=order)
    y = X @ rng.standard_normal(5) + rng.standard_normal(9_000)
    rows = 300  # 4 blocks a chunk: 8 chunks, so every worker count takes several
    runs = [stats.raw_scatter(X, y, 0.5, rows=rows, workers=k) for k in (1, 2, 3)]
    for S in runs[1:]:
        np.testing.assert_array_equal(S, runs[0])
    S, yt = runs[0], y - 0.5
    np.testing.assert_allclose(S[:5, :5], X.T @ X, rtol=1e-12)
    np.testing.assert_allclose(S[:5, 5], X.T @ yt, rtol=1e-12)
    np.testing.assert_allclose(S[:5, 6], X.sum(axis=0), rtol=1e-10, atol=1e-9)
    assert S[5, 5] == pytest.approx(float(yt @ yt), rel=1e-12)
    assert S[6, 6] == 9_000.0
    np.testing.assert_array_equal(S, S.T)


def test_shifted_pass_over_chunks_is_bitwise_the_same_for_any_workers(rng):
    X = rng.standard_normal((7_000, 4)) + 50.0
    y = X.sum(axis=1) + rng.standard_normal(7_000)

    def span(lo: int, hi: int) -> np.ndarray:
        return stats.block_scatter(X[lo:hi], y[lo:hi], X[0], float(y[0]), rows=256)

    runs = [stats.over_chunks(span, 7_000, 256, workers=k) for k in (1, 2, 4)]
    for S in runs[1:]:
        np.testing.assert_array_equal(S, runs[0])
    whole = stats.block_scatter(X, y, X[0], float(y[0]), rows=256)  # one serial sum
    np.testing.assert_allclose(runs[0], whole, rtol=1e-12, atol=1e-9)


def test_moments_do_not_depend_on_the_blas_threads(rng):
    """``threadpool_limits`` sets the workers; the statistics are bitwise the same."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X = rng.standard_normal((400_000, 3))
    y = X.sum(axis=1) + rng.standard_normal(400_000)
    with threadpoolctl.threadpool_limits(1):
        one = stats.moments(X, y)
    with threadpoolctl.threadpool_limits(2):
        two = stats.moments(X, y)
    np.testing.assert_array_equal(one.Sxx, two.Sxx)
    np.testing.assert_array_equal(one.sxy, two.sxy)
    assert one.syy == two.syy and one.ymean == two.ymean
