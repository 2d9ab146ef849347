"""The compiled statistics kernels (:mod:`descend.problems.fused`): exact on data whose sums
are exact, the BLAS route's sums to rounding, bitwise the same for any threads and layout, and
the same fits with and without them."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import descend as ds
from descend.problems import fused, stats

pytest.importorskip("numba")


def _exact_data(rng, n: int, d: int, order: str = "C"):
    """x = k/1024 with |k| < 8192: every product and every sum of up to 10⁶ of them is exact
    in float64, so any order of additions gives the true sums."""
    K = rng.integers(-8191, 8192, size=(n, d))
    ky = rng.integers(-8191, 8192, size=n)
    return K, ky, np.asarray(K / 1024.0, order=order), ky / 1024.0


def _exact_scatter(K, ky, ky0: int):
    """raw_scatter's layout from integer arithmetic (the outside reference)."""
    n, d = K.shape
    T = np.column_stack([K, ky - ky0, np.full(n, 1024)]).astype(np.int64)
    return (T.T @ T).astype(np.float64) / 1024.0**2


@pytest.mark.parametrize("d", [1, 5, 16, 17, 40])
@pytest.mark.parametrize("order", ["C", "F"])
def test_kernels_give_the_exact_sums_on_exactly_representable_data(rng, d, order):
    """d ≤ MAX_COLUMNS: the fused kernel; above it BLAS's XᵀX and the thin kernel."""
    K, ky, X, y = _exact_data(rng, 20_000, d, order)
    S = stats.raw_scatter(X, y, float(y[0]), rows=3_000, fused=True)
    np.testing.assert_array_equal(S, _exact_scatter(K, ky, int(ky[0])))
    S32 = stats.raw_scatter(X.astype(np.float32), y, float(y[0]), rows=3_000, fused=True)
    np.testing.assert_array_equal(S32, S)  # k/1024 with |k| < 2¹³ is exact in float32


@pytest.mark.parametrize("d", [3, 10, 40])
def test_kernels_agree_with_the_blas_route_to_rounding(rng, d):
    X = rng.standard_normal((30_000, d)) * rng.uniform(0.1, 10, d) + rng.uniform(-2, 2, d)
    y = X @ rng.standard_normal(d) + rng.standard_normal(30_000)
    a = stats.raw_scatter(X, y, float(y[0]), fused=True)
    b = stats.raw_scatter(X, y, float(y[0]), fused=False)
    scale = np.sqrt(np.abs(np.diag(b)))
    assert np.max(np.abs(a - b) / np.outer(scale, scale)) < 1e-13
    np.testing.assert_array_equal(a, a.T)


@pytest.mark.parametrize("d", [6, 30])
def test_kernels_are_bitwise_the_same_for_any_workers_layout_and_storage(rng, d):
    X = rng.standard_normal((50_000, d)) + 0.5
    y = X.sum(axis=1) + rng.standard_normal(50_000)
    runs = [stats.raw_scatter(X, y, float(y[0]), rows=4_000, workers=k, fused=True)
            for k in (1, 2, 3)]  # fmt: skip
    for S in runs[1:]:
        np.testing.assert_array_equal(S, runs[0])
    F = np.asfortranarray(X)
    np.testing.assert_array_equal(stats.raw_scatter(F, y, float(y[0]), rows=4_000, fused=True),
                                  runs[0])  # fmt: skip
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(
        stats.raw_scatter(X32, y, float(y[0]), rows=4_000, fused=True),
        stats.raw_scatter(X32.astype(np.float64), y, float(y[0]), rows=4_000, fused=True),
    )


@pytest.mark.parametrize("d", [4, 20])
def test_nonfinite_data_give_nonfinite_sums_without_warnings(rng, d):
    for bad in (np.nan, np.inf, -np.inf):
        X = rng.standard_normal((5_000, d))
        X[4_321, d - 1] = bad
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            S = stats.raw_scatter(X, np.ones(5_000), 1.0, fused=True)
        assert not np.all(np.isfinite(S))


def test_the_kernels_are_opt_in_and_the_switch_turns_them_off(rng, monkeypatch):
    """Not used until prepare() (or DESCEND_NUMBA=1); DESCEND_NUMBA=0 wins over prepare()."""
    X = rng.standard_normal((20_000, 5))
    y = X.sum(axis=1)
    calls: list[int] = []
    real = fused.block_sums

    def counted(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(fused, "block_sums", counted)
    monkeypatch.setattr(fused, "MIN_ENTRIES", 0)
    monkeypatch.delenv(fused.ENV, raising=False)
    monkeypatch.setattr(fused, "_KERNEL", [])
    off = stats.moments(X, y)
    assert not calls and not fused.enabled()
    monkeypatch.setenv(fused.ENV, "1")
    stats.moments(X, y)
    assert calls and fused.enabled()
    calls.clear()
    monkeypatch.delenv(fused.ENV)
    monkeypatch.setattr(fused, "_KERNEL", [])
    assert fused.prepare() and fused.enabled()
    on = stats.moments(X, y)
    assert calls
    calls.clear()
    monkeypatch.setenv(fused.ENV, "0")
    assert not fused.enabled()
    stats.moments(X, y)
    assert not calls
    np.testing.assert_allclose(on.Sxx, off.Sxx, rtol=1e-13, atol=1e-10)
    np.testing.assert_allclose(on.sxy, off.sxy, rtol=1e-12, atol=1e-10)
    assert on.syy == pytest.approx(off.syy, rel=1e-13)


FITS = [
    {"learning_rate": "auto"},
    {"learning_rate": "auto", "optimizer": "momentum"},
    {"learning_rate": "auto", "optimizer": "nesterov"},
    {"learning_rate": 0.05, "optimizer": "adam", "max_steps": 400},
    {"learning_rate": 0.1, "max_steps": 300},
    {"learning_rate": "auto", "preconditioner": "none", "max_steps": 3000},
]


def _words(message: str) -> str:
    return re.sub(r"[-+]?\d[\d.]*(e[-+]?\d+)?", "#", message)


@pytest.mark.parametrize("corr", [0.0, 3.0])
def test_fits_with_and_without_the_kernel_agree(rng, monkeypatch, corr):
    """The same stop reasons, step counts and messages (but for numbers at rounding level,
    such as a certified ‖∇L‖ of 1e-13), parameters and losses to rounding."""
    base = rng.standard_normal((60_000, 8))
    X = (base + corr * base[:, :1]) * rng.uniform(0.5, 3, 8) + rng.uniform(-2, 2, 8)
    y = X @ rng.standard_normal(8) + 1.0 + 0.5 * rng.standard_normal(60_000)
    monkeypatch.setattr(fused, "MIN_ENTRIES", 0)
    for kw in FITS:
        monkeypatch.setenv(fused.ENV, "1")
        a = ds.fit(X, y, **kw)
        monkeypatch.setenv(fused.ENV, "0")
        b = ds.fit(X, y, **kw)
        assert (a.stop_reason, a.n_steps) == (b.stop_reason, b.n_steps), kw
        assert _words(a.message) == _words(b.message), kw
        np.testing.assert_allclose(a.params, b.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a.history.loss, b.history.loss, rtol=1e-10)


def test_a_numba_that_does_not_import_falls_back_to_blas_with_one_warning(rng, monkeypatch):
    def broken() -> None:
        raise ImportError("Numba needs NumPy 1.0 or less")

    monkeypatch.setattr(fused, "_KERNEL", [])
    monkeypatch.setattr(fused, "_compile", broken)
    monkeypatch.setattr(fused, "MIN_ENTRIES", 0)
    monkeypatch.setenv(fused.ENV, "1")
    X = rng.standard_normal((5_000, 3))
    y = X.sum(axis=1)
    with pytest.warns(RuntimeWarning, match="NumPy 1.0 or less"):
        a = stats.moments(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = stats.moments(X, y)
    np.testing.assert_array_equal(a.Sxx, b.Sxx)
    with pytest.raises(ImportError, match="need Numba"):
        fused.block_sums(X, y, 0.0, 0, 5_000)


def _python_pause_during_kernel(X, y) -> float:
    """The longest pause of another Python thread during one kernel call, as a share of the
    call's wall time: that thread time-stamps a loop while the call runs."""
    import threading
    import time

    span: list[float] = []

    def call() -> None:
        t0 = time.perf_counter()
        fused.block_sums(X, y, 0.0, 0, X.shape[0])
        span.extend([t0, time.perf_counter()])

    stamps = []
    worker = threading.Thread(target=call)
    worker.start()
    while worker.is_alive():
        stamps.append(time.perf_counter())
    worker.join()
    t0, t1 = span
    inside = np.array([t0] + [s for s in stamps if t0 < s < t1] + [t1])
    return float(np.diff(inside).max() / (t1 - t0))


@pytest.mark.timeout(60)
def test_the_kernels_release_the_gil(rng):
    """Numba's ``nogil``: while a kernel call runs (tens of ms), another Python thread keeps
    running — what lets Dask's threaded scheduler, or the pass's own threads, run two row
    blocks at once. A kernel holding the GIL stops that thread for the whole call but the
    Python around it (measured: pauses of 84–87 % of the call, against 0.3–0.5 % with
    ``nogil``); the best of three tries allows for a descheduled thread on a busy machine."""
    assert fused.prepare()
    X = rng.standard_normal((2_000_000, 10))
    y = rng.standard_normal(2_000_000)
    fused.block_sums(X, y, 0.0, 0, 1000)  # loaded or compiled before timing
    best = min(_python_pause_during_kernel(X, y) for _ in range(3))
    assert best < 0.5, best
