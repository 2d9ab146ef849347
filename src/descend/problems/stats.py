"""Sufficient statistics of a least-squares problem, from one pass over the data.

For the squared error, everything descent, the curvature advice and the closed-form reference
need is in a handful of small matrices:

- the column means μ and the centred scatter Sxx = Σ (x − μ)(x − μ)ᵀ (hence the scaling s),
- the centred cross products sxy = Σ (x − μ)(y − ȳ) and syy = Σ (y − ȳ)²,
- the row count n, and whether every value was finite.

:func:`moments` gets them in **one** pass over the rows, in blocks of a few thousand rows:
each block is shifted by the first row (x₀, y₀), written into a small reusable buffer
B = [X − x₀, y − y₀, 1] and accumulated as BᵀB. Shifting by a data row (the "shifted data"
form of the textbook variance algorithm) keeps the later centring Sxx = Σ x̃x̃ᵀ − n·δδᵀ free of
the catastrophic cancellation the raw sums Σxxᵀ − n·μμᵀ suffer when |μ| ≫ s. The raw
block sums are plain matrix sums, so the same code serves chunked (Dask) data: sum the
blocks' BᵀB in any order (:func:`block_scatter`, :meth:`Moments.from_scatter`).

**The raw-sums fast route.** Writing the shifted buffer costs more than the product itself
(about 2.5× one ``X.T @ X`` at 10 columns). For a float64 X whose columns are not far from
zero relative to their spread, :func:`moments` instead reads X where it lies, in large row
blocks, with two BLAS calls per block: XᵦᵀXᵦ and Xᵦᵀ[y − y₀, 1] (:func:`raw_scatter`) — or,
once a process has opted in to the compiled kernels (:mod:`descend.problems.fused`, Numba),
one kernel call that reads each row once for every sum — and centres analytically,
Sxx = Σxxᵀ − n·μμᵀ. That subtraction cancels: with
r_j² = (Σx_j²/n)/σ_j² = 1 + μ_j²/σ_j², the rounding error of the centred entry
Sxx[i, j] is bounded by about c·ε·n·σ_iσ_j·r_ir_j, i.e. the centred (correlation-scaled)
Gram loses about log10(r_ir_j) ≤ log10(max r²) digits compared with the shifted form
(which loses log10(1 + (x₀ − μ)²/σ²), typically a fraction of a digit). The route is
taken only when every column of X (and y − y₀) has r² ≤ :data:`RAW_RATIO` = 64
(|μ|/σ ≤ 7.9: at most 1.8 digits, leaving more than 14 — below the 1e-12 agreement the
tests ask of fast and plain iterates, and far below what descent to 1e-6 needs). It is
checked twice: a probe of the first rows routes clearly off-centre data straight to the
shifted pass, and r² is recomputed from the finished raw sums (a column with σ ≈ 0, even
one that only looks so because of rounding, fails that check since its computed centred
sum is then tiny, zero or negative); anything that fails — including non-finite sums and
every constant column, whose exact Sxx[j, j] = 0 only the shifted form gives — is redone
by the shifted pass. So the route changes the cost, never the accuracy class.

:class:`QuadraticStats` turns the moments into the Gram form of the scaled least-squares
problem, L(θ) = θᵀGθ − 2θᵀc + yy (with G = AᵀA/n for A = [Z, 1]), and documents its accuracy.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as _wait
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from descend.problems import blas
from descend.problems import curvature as _curvature
from descend.problems import fused as _fused

Array = NDArray[np.float64]
_T = TypeVar("_T")

__all__ = [
    "NonFiniteError", "Moments", "moments", "block_scatter", "raw_scatter", "QuadraticStats",
    "BLOCK_BYTES", "RAW_RATIO", "in_order", "worker_pool", "probe_ok", "ratio_ok",
]  # fmt: skip


class NonFiniteError(ValueError):
    """The data (or a feature computed from them) hold NaN or ±inf."""


#: target size of one block buffer: small enough to stay in cache between the two uses
BLOCK_BYTES = 1 << 19


#: target size of one row block of X in the raw-sums route (read in place, never copied)
RAW_BLOCK_BYTES = 1 << 20

#: target size of one row block of X with the compiled kernels (each block is one kernel call,
#: or one syrk and one kernel call: still in the shared cache when the kernel reads it)
FUSED_BLOCK_BYTES = 1 << 22

#: largest r² = 1 + μ²/σ² (per column, and for y − y₀) for which :func:`moments` uses raw sums
RAW_RATIO = 64.0

#: blocks each worker thread may run ahead of the caller's in-order sum (:func:`in_order`)
WINDOW = 4

#: rows of the probe that decides the route before the pass
PROBE_ROWS = 1024


def block_rows(d: int, block_bytes: int = BLOCK_BYTES) -> int:
    """Rows per block for d columns (at least 256)."""
    return max(256, block_bytes // (8 * (d + 2)))


def block_scatter(
    X: Array, y: Array, x0: Array, y0: float, *, rows: int | None = None, workers: int | None = 1
) -> Array:
    """Σ bbᵀ over the rows b = [x − x₀, y − y₀, 1] of a block; shape (d + 2, d + 2).

    Parameters
    ----------
    X : ndarray, shape (m, d)
        Any memory order; read once, in sub-blocks of ``rows`` rows.
    y : ndarray, shape (m,)
    x0, y0 : ndarray (d,), float
        The shift (one data row of the whole data set, the same for every block).
    rows : int, optional
        Sub-block size (default: about :data:`BLOCK_BYTES` per buffer).
    workers : int or None, optional
        1 (default; what a Dask chunk uses): one serial loop, BLAS as configured. None or more:
        one BLAS thread per call and that many threads over the sub-blocks (None: as many as
        BLAS was allowed), see :func:`in_order`. The sum is bitwise the same either way.

    Returns
    -------
    ndarray, shape (d + 2, d + 2)
        Sums that add up across blocks: S[:d, :d] = Σ x̃x̃ᵀ, S[:d, d] = Σ x̃ỹ, S[d, d] = Σ ỹ²,
        S[:d, d+1] = Σ x̃, S[d, d+1] = Σ ỹ, S[d+1, d+1] = m.
    """
    m, d = X.shape
    rows = rows or block_rows(d)
    size = min(rows, max(m, 1))

    def product(i: int, j: int) -> Array:
        B = np.empty((size, d + 2))[: j - i]
        np.subtract(X[i:j], x0, out=B[:, :d])
        np.subtract(y[i:j], y0, out=B[:, d])
        B[:, d + 1] = 1.0
        return np.asarray(B.T @ B)

    S = np.zeros((d + 2, d + 2))
    for P in in_order(product, m, rows, workers):
        S += P
    return S


def raw_scatter(
    X: Array,
    y: Array,
    y0: float,
    *,
    rows: int | None = None,
    workers: int | None = None,
    fused: bool | None = None,
) -> Array:
    """The :func:`block_scatter` sums for the shift (0, y₀), reading X in place.

    Per row block Xᵦ (a view: X is not copied) either the fused kernel
    (:func:`descend.problems.fused.block_sums`: one compiled loop reads the block once and
    forms every sum from cache) or two BLAS calls, XᵦᵀXᵦ and Xᵦᵀ[y − y₀, 1], with y − y₀ and
    the ones in a small buffer. Unshifted X makes the later centring cancel when a column's
    mean is large relative to its spread: see the module docstring for when :func:`moments`
    may use this (it checks). The blocks' products are made by :func:`in_order` (one BLAS
    thread per call, ``workers`` threads over the blocks) and added in block order.

    Parameters
    ----------
    X : ndarray of float64 or float32, shape (m, d)
        C- or Fortran-ordered (row blocks of either are BLAS operands without a copy). A
        float32 block is widened into a buffer first: the sums are then bitwise those of the
        float64 copy of X (same blocks, same BLAS calls on the same values).
    y : ndarray, shape (m,)
    y0 : float
        The shift of y.
    rows : int, optional
        Rows per block (default: about :data:`RAW_BLOCK_BYTES` of X per block,
        :data:`FUSED_BLOCK_BYTES` with the compiled kernels).
    workers : int, optional
        Threads over the blocks (default: the threads BLAS may use, :func:`blas.blas_threads`).
        The result is bitwise the same for every value.
    fused : bool, optional
        True: the compiled kernels (need Numba): :func:`fused.block_sums` when d ≤
        :data:`fused.MAX_COLUMNS`, else BLAS's XᵦᵀXᵦ and :func:`fused.thin_sums` for the
        rest; False: the two BLAS calls; None (default): the kernels when
        :func:`fused.enabled` and X has at least :data:`fused.MIN_ENTRIES` entries. Both give
        the same sums to rounding (a different order of additions).

    Returns
    -------
    ndarray, shape (d + 2, d + 2)
        Symmetric; the layout of :func:`block_scatter` with x₀ = 0: S[:d, :d] = Σxxᵀ,
        S[:d, d] = Σx(y − y₀), S[d, d] = Σ(y − y₀)², S[:d, d+1] = Σx, S[d, d+1] = Σ(y − y₀),
        S[d+1, d+1] = m.
    """
    m, d = X.shape
    if fused is None:
        fused = X.size >= _fused.MIN_ENTRIES and _fused.enabled()
    rows = rows or max(256, (FUSED_BLOCK_BYTES if fused else RAW_BLOCK_BYTES) // (8 * d))
    if fused:  # one kind of y for the compiled kernels (each new kind of array compiles once)
        y = np.ascontiguousarray(y, dtype=np.float64)
    if fused and d <= _fused.MAX_COLUMNS:
        return _fused_scatter(X, y, y0, rows, workers)
    size = min(rows, max(m, 1))
    wide = X.dtype != np.float64
    fortran = X.flags.f_contiguous and not X.flags.c_contiguous

    def product(i: int, j: int) -> tuple[Array, Array, float, float]:
        Xb = X[i:j]
        if wide:  # float32 storage: the block widened first (exact), in X's layout
            Xb = np.empty((size, d), order="F" if fortran else "C")[: j - i]
            Xb[...] = X[i:j]
        if fused:  # d > fused.MAX_COLUMNS: BLAS's syrk, then the rest from the cached block
            t = _fused.thin_sums(Xb, y[i:j], y0)
            return Xb.T @ Xb, t[:d], float(t[d, 0]), float(t[d, 1])
        Wb = np.empty((size, 2), order="F")[: j - i]
        Wb[:, 1] = 1.0
        yb = Wb[:, 0]
        np.subtract(y[i:j], y0, out=yb)
        return Xb.T @ Xb, Xb.T @ Wb, float(yb @ yb), float(yb.sum())

    S = np.zeros((d + 2, d + 2))
    G = S[:d, :d]
    C = S[:d, d:]
    yy = 0.0
    ys = 0.0
    with blas.one_blas_thread():
        for Gb, Cb, yyb, ysb in in_order(product, m, rows, workers):
            G += Gb
            C += Cb
            yy += yyb
            ys += ysb
    S[d, d] = yy
    S[d, d + 1] = ys
    S[d + 1, d + 1] = float(m)
    S[d:, :d] = S[:d, d:].T
    S[d + 1, d] = ys
    return S


def _fused_scatter(X: Array, y: Array, y0: float, rows: int, workers: int | None) -> Array:
    """:func:`raw_scatter` by the fused kernel: each block's upper triangle, added in block
    order, then mirrored."""
    U = np.zeros((X.shape[1] + 2, X.shape[1] + 2))
    for P in in_order(lambda i, j: _fused.block_sums(X, y, y0, i, j), X.shape[0], rows, workers):
        U += P
    return U + np.triu(U, 1).T


#: the process's persistent worker pools for :func:`in_order`, one per thread count
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


class _WorkerFlag(threading.local):
    """True in the pools' own threads (a product that calls :func:`in_order` runs it
    serially there)."""

    active = False


_IN_WORKER = _WorkerFlag()


def _mark_worker() -> None:
    _IN_WORKER.active = True


def _forget_pools() -> None:
    """After ``os.fork``, in the child: the parent's pool threads do not exist there, so the
    child starts without pools (and with a fresh lock) and creates its own on first use."""
    global _POOLS_LOCK
    _POOLS_LOCK = threading.Lock()
    _POOLS.clear()


if sys.platform != "win32":  # (no os.fork on Windows)
    os.register_at_fork(after_in_child=_forget_pools)


def worker_pool(workers: int) -> ThreadPoolExecutor:
    """The persistent pool of ``workers`` threads that :func:`in_order` submits blocks to.

    Created on first use and kept for the life of the process (its threads idle between
    passes): creating and joining a pool per pass cost 0.5–0.9 ms per fit. One pool per
    thread count, so a pass never runs more blocks at once than it asked for; at most
    ``workers`` threads each. Safe to share between passes running at the same time in
    different threads (each waits only on its own futures). A forked child starts afresh.
    """
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="descend-stats", initializer=_mark_worker
            )
            _POOLS[workers] = pool
        return pool


def in_order(
    product: Callable[[int, int], _T], m: int, rows: int, workers: int | None = 1
) -> Iterator[_T]:
    """``product(i, j)`` for the row blocks [i, j) of ``rows`` rows, yielded in block order.

    With ``workers`` = 1 a plain serial loop. Otherwise (None: as many threads as BLAS was
    allowed, :func:`blas.blas_threads`) the persistent pool of that many threads
    (:func:`worker_pool`) makes the products, at most :data:`WINDOW` per worker ahead of the
    caller, under :func:`blas.one_blas_thread`: a descheduled thread delays one block, not
    every BLAS call. The caller adds the products in block order, exactly as the serial loop
    does, so the sums are bitwise the same for any number of threads (see
    :mod:`descend.problems.blas`). Called from inside a pool thread (a product that itself
    makes a pass) it runs serially, so a pass never waits on the threads it occupies. If the
    caller stops early (an error), the blocks not yet started are cancelled and the running
    ones awaited before control returns.
    """
    spans = [(i, min(i + rows, m)) for i in range(0, m, rows)]
    if workers is None:
        workers = blas.blas_threads() if len(spans) > 1 else 1
    if workers <= 1 or len(spans) <= 1 or _IN_WORKER.active:
        for i, j in spans:
            yield product(i, j)
        return
    err = np.geterr()  # the caller's floating-point error handling, which threads do not inherit

    def work(i: int, j: int) -> _T:
        with np.errstate(**err):
            return product(i, j)

    pool = worker_pool(workers)
    pending: deque[Future[_T]] = deque()
    with blas.one_blas_thread():
        try:
            todo = iter(spans)
            for i, j in islice(todo, WINDOW * workers):
                pending.append(pool.submit(work, i, j))
            while pending:
                done = pending.popleft()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(pool.submit(work, *nxt))
                yield done.result()
        finally:
            for fut in pending:
                fut.cancel()
            _wait(pending)


def ratio_ok(sq: Array, mean: Array, var: Array) -> bool:
    """Every r² = (mean of squares)/variance ≤ :data:`RAW_RATIO` (zero columns pass)."""
    zero = (sq == 0) & (mean == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (var > 0) & (sq <= RAW_RATIO * var)
    return bool(np.all(ok | zero))


def probe_ok(X: Array, y: Array, y0: float) -> bool:
    """Whether the first rows suggest the raw route will pass its check (routing only)."""
    P = np.asarray(X[:PROBE_ROWS], dtype=np.float64)
    yp = np.asarray(y[:PROBE_ROWS], dtype=np.float64) - y0
    A = np.column_stack([P, yp])
    mean = A.mean(axis=0)
    var = A.var(axis=0)
    sq = var + mean**2
    return bool(np.all(np.isfinite(sq))) and ratio_ok(sq, mean, var)


@dataclass(frozen=True)
class Moments:
    """Centred first and second moments of (X, y) (see the module docstring).

    Attributes
    ----------
    n : int
    mean : ndarray, shape (d,)
        Column means μ.
    ymean : float
    Sxx : ndarray, shape (d, d)
        Σ (x − μ)(x − μ)ᵀ.
    sxy : ndarray, shape (d,)
        Σ (x − μ)(y − ȳ).
    syy : float
        Σ (y − ȳ)².
    finite : bool
        False when X or y held NaN or ±inf (the sums are then meaningless).
    x0 : ndarray, shape (d,)
        The first row: the shift of the shifted pass (a constant column then has exactly
        Sxx[j, j] = 0; the raw route is never taken for one).
    """

    n: int
    mean: Array
    ymean: float
    Sxx: Array
    sxy: Array
    syy: float
    finite: bool
    x0: Array

    @classmethod
    def from_scatter(cls, S: Array, x0: Array, y0: float) -> Moments:
        """Centre the summed :func:`block_scatter` matrices."""
        d = S.shape[0] - 2
        n = float(S[d + 1, d + 1])
        finite = bool(np.all(np.isfinite(S)))
        sums = S[: d + 1, d + 1]
        delta = sums / n
        C = S[: d + 1, : d + 1] - np.outer(sums, delta)
        C = 0.5 * (C + C.T)
        # rows that are exactly constant give exactly zero sums: keep that exact
        diag = np.diag(C).copy()
        const = np.diag(S[: d + 1, : d + 1]) == 0
        diag[const] = 0.0
        np.fill_diagonal(C, np.maximum(diag, 0.0))
        return cls(
            n=int(round(n)),
            mean=np.asarray(x0, dtype=np.float64) + delta[:d],
            ymean=float(y0 + delta[d]),
            Sxx=C[:d, :d].copy(),
            sxy=C[:d, d].copy(),
            syy=float(C[d, d]),
            finite=finite,
            x0=np.asarray(x0, dtype=np.float64).copy(),
        )

    @property
    def std(self) -> Array:
        """Population standard deviation of each column (as ``X.std(axis=0)``)."""
        return np.asarray(np.sqrt(np.diag(self.Sxx) / self.n))

    @property
    def rms(self) -> Array:
        """Root mean square of each column (the scaling used without an intercept; inf,
        without a warning, where it overflows: the caller's validation explains that)."""
        with np.errstate(over="ignore"):
            return np.asarray(np.sqrt(np.diag(self.Sxx) / self.n + self.mean**2))

    @property
    def constant_columns(self) -> NDArray[np.intp]:
        """Indices of columns whose every value equals the first row's."""
        return np.flatnonzero(np.diag(self.Sxx) == 0.0)


def moments(X: Array, y: Array, *, rows: int | None = None, raw: bool = True) -> Moments:
    """:class:`Moments` of (X, y) in one blocked pass, without copying X.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        float64, C- or Fortran-ordered (any strides).
    y : ndarray, shape (n,)
    rows : int, optional
        Rows per block.
    raw : bool, optional
        True: the raw-sums route is allowed (default), subject to its accuracy check; False:
        always the shifted pass.

    Notes
    -----
    A float64 X is read in place with two BLAS calls per large row block
    (:func:`raw_scatter`) when every column has r² = 1 + μ²/σ² ≤ :data:`RAW_RATIO`, checked
    on the finished sums (and predicted from the first rows); otherwise each block is shifted
    by the first row (:func:`block_scatter`). A float32 X takes the same route as its float64
    copy and gives bitwise the same statistics (its blocks are widened first). The module
    docstring gives the rounding-error argument. :attr:`Moments.x0` is the first row either
    way. Overflow and NaN produce no RuntimeWarning here: they are reported by
    :attr:`Moments.finite` (and explained by the caller's validation).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _moments(X, y, rows, raw)


def _moments(X: Array, y: Array, rows: int | None, raw: bool) -> Moments:
    x0 = np.array(X[0], dtype=np.float64)
    y0 = float(y[0])
    n, d = X.shape
    if raw and n > PROBE_ROWS and probe_ok(X, y, y0):
        S = raw_scatter(X, y, y0)
        if bool(np.all(np.isfinite(S))):
            mom = Moments.from_scatter(S, np.zeros(d), y0)
            sq = np.diag(S)[: d + 1] / n
            mean = np.append(mom.mean, mom.ymean - y0)
            var = np.append(np.diag(mom.Sxx), mom.syy) / n
            if ratio_ok(sq, mean, var):
                return replace(mom, x0=x0)
    return Moments.from_scatter(block_scatter(X, y, x0, y0, rows=rows, workers=None), x0, y0)


@dataclass(frozen=True)
class QuadraticStats:
    """The scaled least-squares problem in Gram form.

    With the design the descent sees, A = [Z, 1] (Z = (Φ − μ)/s; no 1 without an intercept)::

        L(θ) = (1/n)‖Aθ − y‖² = θᵀGθ − 2θᵀc + yy,     ∇L(θ) = 2(Gθ − c),
        G = AᵀA/n,  c = Aᵀy/n,

    With an intercept Z is centred, so G = [[Sxx/(n·ssᵀ), 0], [0, 1]], c = [sxy/(n·s), ȳ] and
    yy is replaced by its centred form (ȳ² cancels exactly against the intercept terms).

    **Accuracy of the value.** Evaluated literally, θᵀGθ − 2θᵀc + yy cancels: the terms are
    of size yy while the result near the optimum is L* = yy·(1 − R²), so the relative error is
    about ε·yy/L* — 1e-10 for R² = 0.999999, worse than the loss-change tolerance 1e-9 of the
    stopping rule. :meth:`value_and_grad` therefore expands around the least-squares solution
    θ* (solved once from G and c)::

        L(θ) = L* + gᵀδ + δᵀGδ,    δ = θ − θ*,  g = 2(Gθ* − c) ≈ 0,

    which is the same quadratic exactly, but every term is small near θ*: differences of L
    between iterates (what the stopping rule and the history see) are accurate to ε
    relative to themselves, and only the constant L* carries the cancellation error. When
    that error could exceed 1e-6·L* (:attr:`needs_exact_minimum`), the caller replaces L*
    by one exact pass over the data (:meth:`with_minimum`).
    """

    G: Array
    c: Array
    #: Σ(y − ȳ)²/n, the size of the terms that cancel in L near the optimum
    yy: float
    n: int
    theta_star: Array
    loss_star: float
    grad_star: Array
    loss_star_exact: bool = False

    @classmethod
    def build(cls, mom: Moments, mean: Array, scale: Array, intercept: bool) -> QuadraticStats:
        """The Gram form for the design Z = (Φ − mean)/scale (plus a column of ones).

        With a = (μ − mean)/scale the column means of Z (zero for the usual centring) and
        Z̃ = Z − a the centred design: ZᵀZ/n = Z̃ᵀZ̃/n + aaᵀ, Zᵀ1/n = a, Zᵀy/n = Z̃ᵀỹ/n + aȳ.
        """
        n = mom.n
        s = np.asarray(scale, dtype=np.float64)
        a = (mom.mean - np.asarray(mean, dtype=np.float64)) / s
        k = s.shape[0]
        p = k + int(intercept)
        Gc = mom.Sxx / np.outer(s, s) / n
        cc = mom.sxy / s / n
        G = np.zeros((p, p))
        G[:k, :k] = Gc + np.outer(a, a)
        c = np.empty(p)
        c[:k] = cc + a * mom.ymean
        if intercept:
            G[:k, k] = G[k, :k] = a
            G[k, k] = 1.0
            c[k] = mom.ymean
        G = 0.5 * (G + G.T)
        yy = mom.syy / n
        theta = _solve_spd(G, c)
        return cls(G, c, float(yy), n, theta, 0.0, np.zeros(p)).at(theta, mom, a, Gc, cc)

    def at(self, theta: Array, mom: Moments, a: Array, Gc: Array, cc: Array) -> QuadraticStats:
        """A copy expanded around ``theta`` (normally θ*), L there from the centred form.

        L(θ) = wᵀG̃w − 2wᵀc̃ + syy/n + (aᵀw + b − ȳ)², with G̃, c̃ the centred Gram and
        cross products: no ȳ² (or μ²) cancellation, only the 1 − R² one.
        """
        k = a.shape[0]
        w = theta[:k]
        b = float(theta[k]) if theta.shape[0] > k else 0.0
        loss = mom.syy / mom.n - 2.0 * float(w @ cc) + float(w @ Gc @ w)
        loss += (float(a @ w) + b - mom.ymean) ** 2
        grad = 2.0 * (self.G @ theta - self.c)
        return QuadraticStats(self.G, self.c, self.yy, self.n, theta.copy(), float(loss), grad)

    @property
    def condition(self) -> float:
        """κ(G) = λ_max/λ_min of the Gram matrix (inf when singular).

        By :func:`descend.problems.curvature.eigenvalues`, which reuses the eigenvalues of G
        that the advice computed (G is exactly symmetric, so (G + Gᵀ)/2 is G, bit for bit).
        """
        lam = _curvature.eigenvalues(self.G)
        return float(lam[-1] / lam[0]) if lam[0] > 0 else math.inf

    @property
    def value_error(self) -> float:
        """Bound on the absolute rounding error of :attr:`loss_star` from the statistics."""
        p = self.G.shape[0]
        return 8.0 * (p + 2) * np.finfo(np.float64).eps * (self.yy + abs(self.loss_star))

    @property
    def needs_exact_minimum(self) -> bool:
        """True when L* from the statistics may be off by more than 1e-6 relative."""
        return self.value_error > 1e-6 * max(self.loss_star, 0.0)

    def with_minimum(self, loss_star: float, theta_star: Array | None = None) -> QuadraticStats:
        """A copy whose L* is the exact L(θ*) computed from the data (one pass, or TSQR),
        optionally at a more accurate θ*."""
        theta = self.theta_star if theta_star is None else np.asarray(theta_star, dtype=float)
        grad = 2.0 * (self.G @ theta - self.c)
        return replace(
            self, theta_star=theta, loss_star=float(loss_star), grad_star=grad,
            loss_star_exact=True,
        )  # fmt: skip

    def value_and_grad(self, theta: Array) -> tuple[float, Array]:
        """(L(θ), ∇L(θ)) in O(p²), from the Taylor form around θ*."""
        delta = theta - self.theta_star
        Gd = self.G @ delta
        value = self.loss_star + float(self.grad_star @ delta) + float(delta @ Gd)
        grad = 2.0 * (self.G @ theta - self.c)
        return max(value, 0.0), grad

    def value(self, theta: Array) -> float:
        """L(θ) in O(p²)."""
        return self.value_and_grad(theta)[0]


def _solve_spd(G: Array, c: Array) -> Array:
    """G⁻¹c for a symmetric positive (semi)definite G: Cholesky, else least squares."""
    try:
        L = np.linalg.cholesky(G)
        z = np.linalg.solve(L, c)
        return np.asarray(np.linalg.solve(L.T, z))
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.lstsq(G, c, rcond=None)[0])


def tsqr_r(blocks: Any, p: int) -> Array:
    """R of the QR factorisation of a tall matrix given as row blocks (each (m_i, p)).

    The tall-skinny QR: R = R(stack of the blocks' R factors), so only one block and a
    (p, p) factor are ever in memory.
    """
    R: Array = np.zeros((0, p))
    for blk in blocks:
        R = np.asarray(np.linalg.qr(np.vstack([R, blk]), mode="r"))
    return R
