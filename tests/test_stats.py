"""The raw-sums route of :func:`descend.problems.stats.moments`: when it is taken, and its
accuracy."""

from __future__ import annotations

import math
import os
import time

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
    assert stats.probe_ok(X, y, float(y[0]))
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
def test_threads_over_blocks_give_bitwise_the_serial_sums(rng, order):
    """The BLAS route with 1, 2 and 3 worker threads gives the bits of the serial loop the pass
    was before threads
    (``benchmarks.stats_pass.old_pass``, kept verbatim), and the sums are numpy's own X.T@X,
    Σx and Xᵀ(y − y₀) (an outside computation)."""
    from benchmarks.stats_pass import old_pass

    X = np.asarray(rng.standard_normal((300_000, 5)) + 0.3, order=order)
    y = X @ rng.standard_normal(5) + rng.standard_normal(300_000)
    runs = [stats.raw_scatter(X, y, float(y[0]), workers=k, fused=False) for k in (1, 2, 3)]
    assert len(range(0, 300_000, stats.RAW_BLOCK_BYTES // 40)) > 10  # many blocks
    for S in runs:
        np.testing.assert_array_equal(S, old_pass(X, y))
    S, yt = runs[0], y - y[0]
    np.testing.assert_allclose(S[:5, :5], X.T @ X, rtol=1e-12)
    np.testing.assert_allclose(S[:5, 5], X.T @ yt, rtol=1e-10, atol=1e-7)
    np.testing.assert_allclose(S[:5, 6], X.sum(axis=0), rtol=1e-10, atol=1e-7)
    assert S[5, 5] == pytest.approx(float(yt @ yt), rel=1e-12)
    assert S[6, 6] == 300_000.0
    np.testing.assert_array_equal(S, S.T)


def test_shifted_pass_is_bitwise_the_same_for_any_workers(rng):
    """The shifted pass with threads (as :func:`moments` runs it) against its serial loop (as
    a Dask chunk runs it), and against numpy's sums of the shifted data."""
    X = rng.standard_normal((7_000, 4)) + 50.0
    y = X.sum(axis=1) + rng.standard_normal(7_000)
    runs = [stats.block_scatter(X, y, X[0], float(y[0]), rows=256, workers=k) for k in (1, 2, 4)]
    for S in runs[1:]:
        np.testing.assert_array_equal(S, runs[0])
    B = np.column_stack([X - X[0], y - y[0], np.ones(7_000)])
    np.testing.assert_allclose(runs[0], B.T @ B, rtol=1e-12, atol=1e-9)


def test_in_order_yields_in_block_order_and_raises_a_workers_error():
    spans = list(stats.in_order(lambda i, j: (i, j), 1000, 64, workers=3))
    assert spans == [(i, min(i + 64, 1000)) for i in range(0, 1000, 64)]

    def fail(i: int, j: int) -> int:
        if i == 640:
            raise ValueError("block 10")
        return i

    with pytest.raises(ValueError, match="block 10"):
        list(stats.in_order(fail, 1000, 64, workers=2))


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


def test_worker_threads_keep_the_callers_error_handling(rng):
    """Overflow in a worker thread is silent under the caller's errstate, like the serial loop."""
    import warnings

    X = np.full((4_000, 2), 1e200)
    y = np.ones(4_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore", invalid="ignore"):
            S = stats.block_scatter(X, y, np.zeros(2), 0.0, rows=256, workers=2)
    assert not np.all(np.isfinite(S))
    with pytest.warns(RuntimeWarning, match="overflow"), np.errstate(over="warn"):
        stats.block_scatter(X, y, np.zeros(2), 0.0, rows=256, workers=2)


# -- the persistent worker pool of in_order ------------------------------------------------------
def _pool_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith("descend-stats")]


@pytest.mark.timeout(60)
def test_the_pool_persists_gives_the_serial_sums_and_does_not_grow(rng):
    """Repeated passes reuse one pool per thread count (no thread per pass), and every worker
    count gives the serial loop's bits — which are numpy's own X.T@X to rounding."""
    X = rng.standard_normal((200_000, 4)) + 0.2
    y = X @ rng.standard_normal(4) + rng.standard_normal(200_000)
    serial = stats.raw_scatter(X, y, float(y[0]), workers=1, fused=False)
    np.testing.assert_allclose(serial[:4, :4], X.T @ X, rtol=1e-12)
    for _ in range(5):
        for k in (2, 3):
            S = stats.raw_scatter(X, y, float(y[0]), workers=k, fused=False)
            np.testing.assert_array_equal(S, serial)
    assert stats.worker_pool(2) is stats.worker_pool(2)
    assert stats.worker_pool(3) is not stats.worker_pool(2)
    names = _pool_threads()
    assert 2 <= len(names) <= sum(stats._POOLS)  # at most k threads for each k used
    for _ in range(5):
        stats.raw_scatter(X, y, float(y[0]), workers=3, fused=False)
    assert len(_pool_threads()) == len(names)


@pytest.mark.timeout(60)
def test_two_passes_at_once_share_the_pool_and_keep_their_bits(rng):
    """Two fits in two threads at the same time: each gets the serial sums."""
    from concurrent.futures import ThreadPoolExecutor

    Xs = [rng.standard_normal((150_000, 3)) + s for s in (0.0, 0.5)]
    ys = [X.sum(axis=1) + rng.standard_normal(150_000) for X in Xs]
    serial = [
        stats.raw_scatter(X, y, 0.0, workers=1, fused=False) for X, y in zip(Xs, ys, strict=True)
    ]
    with ThreadPoolExecutor(2) as callers:
        for _ in range(3):
            futs = [
                callers.submit(stats.raw_scatter, X, y, 0.0, workers=2, fused=False)
                for X, y in zip(Xs, ys, strict=True)
            ]
            for fut, S in zip(futs, serial, strict=True):
                np.testing.assert_array_equal(fut.result(), S)


@pytest.mark.timeout(60)
def test_a_pass_inside_a_pool_thread_runs_serially_and_an_abandoned_pass_is_cleaned_up():
    """A product that itself makes a pass does not wait on the threads it occupies (no
    deadlock), and a caller that stops early leaves no block running behind it."""

    def outer(i: int, j: int) -> int:
        return sum(stats.in_order(lambda a, b: b - a, j - i, 7, workers=2))

    assert list(stats.in_order(outer, 1000, 100, workers=2)) == [100] * 10
    started: list[int] = []

    def slow(i: int, j: int) -> int:
        started.append(i)
        time.sleep(0.001)
        return i

    gen = stats.in_order(slow, 10_000, 10, workers=2)
    assert next(gen) == 0
    gen.close()  # cancels the blocks not started, waits for the running ones
    count = len(started)
    assert count <= 1 + 2 * stats.WINDOW
    time.sleep(0.1)
    assert len(started) == count  # nothing ran after close returned
    assert list(stats.in_order(slow, 100, 10, workers=2)) == list(range(0, 100, 10))


@pytest.mark.timeout(60)
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_makes_its_own_pool(rng):
    """After os.fork the parent's pool threads do not exist in the child: the child must not
    submit to them (it would wait forever) but start its own pool, with the same sums."""
    X = rng.standard_normal((100_000, 3))
    y = X.sum(axis=1) + rng.standard_normal(100_000)
    serial = stats.raw_scatter(X, y, 0.0, workers=1, fused=False)
    parent_pool = stats.worker_pool(2)
    stats.raw_scatter(X, y, 0.0, workers=2, fused=False)  # the parent's pool has threads
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        code = 1
        try:
            fresh = not stats._POOLS and stats.worker_pool(2) is not parent_pool
            same = np.array_equal(stats.raw_scatter(X, y, 0.0, workers=2, fused=False), serial)
            code = 0 if (fresh and same) else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(code)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert answer == bytes([0]) and os.waitstatus_to_exitcode(status) == 0
    assert stats.worker_pool(2) is parent_pool  # the parent keeps its own
