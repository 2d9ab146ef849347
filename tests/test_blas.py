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
