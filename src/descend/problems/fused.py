"""The fused statistics kernel: every least-squares sum from one read of each row (Numba).

The raw-sums route of :mod:`descend.problems.stats` needs, for a row block of X and the
shifted target ỹ = y − y₀, the upper triangle of TᵀT for T = [X, ỹ] and the column sums of T.
With BLAS that is two calls per block, XᵦᵀXᵦ (syrk) and Xᵦᵀ[ỹ, 1] — and OpenBLAS is slow on
the second, a product with two columns (about as slow as the first at 10 columns, although
the block is then in cache). :func:`block_sums` computes all of it in one compiled loop:

- the block is read in tiles of :data:`TILE` rows; each tile is copied, transposed (and
  widened to float64 for float32 storage, exactly), into a small buffer Tᵗ of shape
  (d + 1, TILE) that stays in the core's cache, its last row ỹ = y − y₀;
- the sums Σₖ Tᵗ[a, k] and the dot products Σₖ Tᵗ[a, k]·Tᵗ[b, k] (a ≤ b, in 2×4 tiles of
  (a, b) so that each loaded value serves four products) are accumulated from the buffer.

So X is read once, from memory, and every product is formed from cache. Beyond
:data:`MAX_COLUMNS` columns the (d + 1)(d + 2)/2 products per row are compute-bound and BLAS's
syrk forms XᵦᵀXᵦ faster than this loop; the pass then keeps the syrk and
:func:`thin_sums` forms the other sums from the block BLAS has just read. The sums are the
same mathematical sums as the BLAS route's, added in a different order (vectorised partial
sums: the compiler may reassociate the dot products, and nothing else — no assumption that
values are finite, so NaN and ±inf propagate into the sums as they do in BLAS); their
rounding error is of the same class, c·ε·Σ|a||b| per entry. The result depends only on the
block's values and on the machine's vector width: bitwise the same for every number of
threads (the caller adds the blocks in block order), for C- and Fortran-ordered X, and for
float32 X and its float64 copy.

Numba is optional (the ``fast`` extra), and the kernels are **opt-in per process**: the
statistics pass uses them after :func:`prepare` (or with ``DESCEND_NUMBA=1`` in the
environment, which loads them on the first large fit), for X of at least :data:`MIN_ENTRIES`
entries; ``DESCEND_NUMBA=0`` turns them off. They are compiled once and cached on disk
(``cache=True``), but every new process still pays for importing Numba and loading the cache —
1–2 s on a 2-core machine under moderate load, up to 7–15 s under heavy load (measured in
docs/benchmarks.md) — against 10–20 ms saved per fit at 10⁶×10. Paid silently by the first fit
of every process, that would make a one-fit process (the command line, a joblib worker) slower,
not faster; a session that fits large data repeatedly calls :func:`prepare` once.

The same switch turns on the loop's compiled full-batch pass for small linear least squares
(:mod:`descend.problems.fused_steps`, loaded with the others: a few tenths of a second more),
whose iterates are the NumPy pass's to rounding, not bit for bit; :func:`switched` turns both
on or off for one block.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = [
    "TILE", "MIN_ENTRIES", "MAX_COLUMNS", "ENV", "available", "enabled", "prepare", "switched",
    "block_sums", "thin_sums",
]  # fmt: skip

#: rows per tile: the transposed tile, (d + 1)·TILE floats, stays in cache
TILE = 256
#: the transposed tile's rows are TILE + PAD floats apart: at exactly TILE (2 KiB) the d + 1
#: values written for one row of X all fall in two of the L1 cache's sets and alias the
#: loads; padded, the kernel is a few per cent faster (fastest of 50: 5.6 against 6.1 ms per
#: 500,000×10 block) and every sum is the same (the same additions, in the same order)
PAD = 16
#: X with fewer entries than this uses the BLAS route (the pass takes a few ms there)
MIN_ENTRIES = 1 << 22
#: widest X for :func:`block_sums`: beyond it the (d + 1)(d + 2)/2 products per row are
#: compute-bound and BLAS's syrk forms XᵦᵀXᵦ faster; :func:`thin_sums` then does the rest
MAX_COLUMNS = 16
#: ``DESCEND_NUMBA=0`` turns the kernel off
ENV = "DESCEND_NUMBA"

_KERNEL: list[Any] = []
#: [True] once :func:`prepare` opted this process in
_OPTED: list[bool] = []
#: the innermost :func:`switched` block's choice, if any
_FORCED: list[bool] = []


def available() -> bool:
    """Whether Numba is installed (found without importing it)."""
    return importlib.util.find_spec("numba") is not None


def enabled() -> bool:
    """Whether the statistics pass (and the loop's compiled full-batch pass,
    :mod:`descend.problems.fused_steps`) use the kernels: after :func:`prepare` in this
    process, or with ``DESCEND_NUMBA=1`` in the environment (which loads them on the first
    large fit); never with ``DESCEND_NUMBA=0``; inside :func:`switched`, as it says. Opt-in,
    because loading them costs a fresh process more than they save in one fit (see the module
    docstring)."""
    flag = os.environ.get(ENV)
    if flag == "0":
        return False
    if _FORCED:
        return _FORCED[-1] and bool(_KERNEL) and _KERNEL[0] is not None
    if flag == "1":
        return available() and prepare()
    return bool(_OPTED) and bool(_KERNEL) and _KERNEL[0] is not None


def prepare() -> bool:
    """Import Numba and load (or compile) the kernels, and use them from now on in this
    process (for X of at least :data:`MIN_ENTRIES` entries; ``DESCEND_NUMBA=0`` still wins).

    Returns False, with one RuntimeWarning, when Numba is installed but does not import (a
    NumPy it does not support, say): the pass then uses BLAS alone.
    """
    loaded = _load()
    if loaded and not _OPTED:
        _OPTED.append(True)
    return loaded


def _load() -> bool:
    """Import Numba and load (or compile) the kernels, without opting in (:func:`prepare`
    does both); False, with one RuntimeWarning, when Numba does not import."""
    if not _KERNEL:
        try:
            _KERNEL.append(_compile())
            from descend.problems import fused_steps

            fused_steps.warm()  # the loop's compiled pass, loaded here rather than in a fit
        except ImportError as err:
            _KERNEL.append(None)
            warnings.warn(
                f"Numba is installed but does not import ({err}); the least-squares statistics "
                "use BLAS alone. Upgrade numba, or uninstall it to silence this",
                RuntimeWarning,
                stacklevel=3,
            )
    return _KERNEL[0] is not None


@contextmanager
def switched(on: bool) -> Iterator[bool]:
    """Within the block the kernels are on (loaded as by :func:`prepare`, without opting the
    process in) or off, whatever this process chose before (``DESCEND_NUMBA=0`` still turns
    them off): what a benchmark uses to time both routes in one process, and what a session
    uses to opt a block in. Yields whether they are on.

    Examples
    --------
    >>> with switched(False):
    ...     enabled()
    False
    """
    if on:
        _load()
    _FORCED.append(on)
    try:
        yield enabled()
    finally:
        _FORCED.pop()


def block_sums(X: NDArray[Any], y: NDArray[Any], y0: float, i: int, j: int) -> Array:
    """The raw sums of rows [i, j), as the upper triangle of :func:`stats.raw_scatter`'s layout.

    Parameters
    ----------
    X : ndarray of float64 or float32, shape (n, d)
        Any memory order; rows i..j−1 are read once.
    y : ndarray, shape (n,)
    y0 : float
        The shift of y.
    i, j : int
        The row block.

    Returns
    -------
    ndarray, shape (d + 2, d + 2)
        Upper triangle only (the rest is zero): with T = [x, y − y₀] (m = d + 1 columns),
        U[:m, :m] = Σ ttᵀ (a ≤ b), U[:m, m] = Σ t, U[m, m] = j − i.
    """
    out = np.zeros((X.shape[1] + 2, X.shape[1] + 2))
    _kernel()[0](X, y, float(y0), int(i), int(j), out)
    return out


def thin_sums(Xb: Array, yb: NDArray[Any], y0: float) -> Array:
    """Every sum of a row block but XᵦᵀXᵦ, for d > :data:`MAX_COLUMNS` (BLAS forms XᵦᵀXᵦ).

    One loop over the rows, vectorised along each row, reading the block BLAS has just read
    (so from cache): it replaces the BLAS product Xᵦᵀ[ỹ, 1], which OpenBLAS makes slowly.

    Parameters
    ----------
    Xb : ndarray of float64, shape (m, d)
        One row block, any memory order.
    yb : ndarray, shape (m,)
    y0 : float

    Returns
    -------
    ndarray, shape (d + 1, 2)
        [:d, 0] = Σ x(y − y₀), [:d, 1] = Σ x, [d, 0] = Σ (y − y₀)², [d, 1] = Σ (y − y₀).
    """
    out = np.empty((Xb.shape[1] + 1, 2))
    _kernel()[1](Xb, yb, float(y0), out)
    return out


def _kernel() -> Any:
    """The compiled kernels of :func:`block_sums` and :func:`thin_sums` (Numba imported, and
    the cache loaded or compiled, on first use)."""
    if not prepare():
        raise ImportError("the compiled kernels need Numba, which does not import here")
    return _KERNEL[0]


def _compile() -> Any:
    import numba

    # reassociation (vectorised reductions) and contraction (FMA) only: no finite-math
    # assumptions, so non-finite data give non-finite sums
    jit = numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
    return jit(_sums), jit(_thin)


def _thin(X: Any, y: Any, y0: float, out: Any) -> None:
    """:func:`thin_sums`' source: per row, two accumulator rows updated along the row."""
    n, d = X.shape
    acc = np.zeros((2, d))
    yy = 0.0
    ys = 0.0
    for k in range(n):
        t = y[k] - y0
        yy += t * t
        ys += t
        row = X[k]
        a0 = acc[0]
        a1 = acc[1]
        for a in range(d):
            a0[a] += row[a] * t
            a1[a] += row[a]
    for a in range(d):
        out[a, 0] = acc[0, a]
        out[a, 1] = acc[1, a]
    out[d, 0] = yy
    out[d, 1] = ys


def _sums(X: Any, y: Any, y0: float, i0: int, i1: int, out: Any) -> None:
    """The kernel's source (compiled by :func:`_compile`; plain Python is far too slow)."""
    d = X.shape[1]
    m = d + 1
    T = np.empty((m, TILE + PAD))
    acc = np.zeros((m + 4, m + 4))  # 2×4 tiles may run past m: those entries are dropped
    tot = np.zeros(m)
    for s in range(i0, i1, TILE):
        L = min(s + TILE, i1) - s
        for k in range(L):
            for a in range(d):
                T[a, k] = X[s + k, a]
            T[d, k] = y[s + k] - y0
        for a in range(m):
            Ta = T[a]
            t = 0.0
            for k in range(L):
                t += Ta[k]
            tot[a] += t
        for a in range(0, m, 2):
            r0 = T[a]
            r1 = T[min(a + 1, m - 1)]
            for b in range(a, m, 4):
                q0 = T[b]
                q1 = T[min(b + 1, m - 1)]
                q2 = T[min(b + 2, m - 1)]
                q3 = T[min(b + 3, m - 1)]
                s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
                for k in range(L):
                    x0 = r0[k]
                    x1 = r1[k]
                    z0 = q0[k]
                    z1 = q1[k]
                    z2 = q2[k]
                    z3 = q3[k]
                    s00 += x0 * z0
                    s01 += x0 * z1
                    s02 += x0 * z2
                    s03 += x0 * z3
                    s10 += x1 * z0
                    s11 += x1 * z1
                    s12 += x1 * z2
                    s13 += x1 * z3
                acc[a, b] += s00
                acc[a, b + 1] += s01
                acc[a, b + 2] += s02
                acc[a, b + 3] += s03
                acc[a + 1, b] += s10
                acc[a + 1, b + 1] += s11
                acc[a + 1, b + 2] += s12
                acc[a + 1, b + 3] += s13
    for a in range(m):
        for b in range(a, m):
            out[a, b] = acc[a, b]
        out[a, m] = tot[a]
    out[m, m] = i1 - i0
