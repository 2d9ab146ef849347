"""BLAS threads for the statistics pass (:mod:`descend.problems.blas`), checked against
threadpoolctl's own report of the loaded libraries."""

from __future__ import annotations

import pytest

from descend.problems import blas

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_counts() -> list[int]:
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_one_blas_thread_limits_inside_and_restores_after():
    before = _blas_counts()
    with threadpoolctl.threadpool_limits(2):
        outer = _blas_counts()
        with blas.one_blas_thread():
            assert set(_blas_counts()) == {1}
            assert blas.blas_threads() == 1
        assert _blas_counts() == outer
    assert _blas_counts() == before


def test_blas_threads_follows_the_callers_limit():
    assert blas.available()
    with threadpoolctl.threadpool_limits(1):
        assert blas.blas_threads() == 1
    with threadpoolctl.threadpool_limits(2):
        assert blas.blas_threads() == min(2, max(_blas_counts()))
    assert blas.blas_threads() == max(_blas_counts())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("main_leaves_first", [True, False])
def test_the_limit_holds_until_the_last_of_two_threads_leaves(main_leaves_first):
    """Two passes in two threads overlap: the first to leave must not give BLAS its threads
    back under the second (its sums would round differently); the last restores them.

    The restore is checked where the main thread leaves last: OpenBLAS (0.3.31) ignores a
    raise of its thread count from another thread once the main thread has lowered it (the
    ``threadpool_limits`` around the test restores it from the main thread either way)."""
    import threading

    entered, leave = threading.Event(), threading.Event()
    seen: list[set[int]] = []

    def second() -> None:
        with blas.one_blas_thread():
            entered.set()
            leave.wait(30)
            seen.append(set(_blas_counts()))

    with threadpoolctl.threadpool_limits(2):
        outer = _blas_counts()
        worker = threading.Thread(target=second)
        with blas.one_blas_thread():
            worker.start()
            assert entered.wait(30)
            if not main_leaves_first:
                leave.set()
                worker.join(30)
                assert set(_blas_counts()) == {1}  # the worker left: still limited here
        if main_leaves_first:
            leave.set()
            worker.join(30)
        else:
            assert _blas_counts() == outer
        assert seen == [{1}]
