"""Slices through θ, for contour and surface pictures.

:func:`landscape_grid` evaluates the loss on a grid over two coordinates θ_i, θ_j (the others
held at a given θ: a *slice*, the whole surface when p = 2) and :func:`slice_values` at given
points of such a slice; :mod:`descend.pictures.plot` draws them. :func:`profile_grid` is the
*profile* of a least-squares loss over θ_i, θ_j — at each grid point the other coordinates take
their best values — whose lowest point is θ* whatever the other coordinates of a run are.

Every grid takes a ``stop`` callable, asked before each point: when it answers True the grid is
abandoned with :class:`GridCancelledError` (a server cancels a grid nobody waits for any more).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["GridCancelledError", "landscape_grid", "profile_grid", "slice_values"]


class GridCancelledError(Exception):
    """A grid abandoned because its ``stop()`` answered True; ``done`` points were evaluated."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"grid abandoned after {done} of {total} points")
        self.done = done
        self.total = total


def _check_pair(p: int, i: int, j: int) -> None:
    if not (0 <= i < p and 0 <= j < p):
        raise ValueError(f"parameter indices i={i}, j={j} must lie in 0..{p - 1} (θ has {p})")
    if i == j:
        raise ValueError(f"choose two different parameters, got i = j = {i}")


def _values_on_slice(
    objective: Any,
    base: Array,
    i: int,
    j: int,
    pts: Array,
    stop: Callable[[], bool] | None = None,
    rest: Array | None = None,
) -> Array:
    """f at ``base`` with (θ_i, θ_j) set to each row of ``pts``, shape (m, 2) -> (m,).

    ``rest`` (p − 2, 2), when given, moves the other coordinates with the point:
    θ_rest = base_rest + rest · ((a, b) − (base_i, base_j)). ``stop`` is asked before each
    point (GridCancelledError when it answers True). Non-finite values (an overflowing surface far
    from its minimum) become NaN.
    """
    m = pts.shape[0]
    out = np.empty(m)
    point = base.copy()
    others = np.array([k for k in range(base.shape[0]) if k not in (i, j)], dtype=np.intp)
    centre = base[[i, j]].copy()
    with np.errstate(all="ignore"):
        for k, (a, b) in enumerate(pts):
            if stop is not None and stop():
                raise GridCancelledError(k, m)
            point[i], point[j] = a, b
            if rest is not None:
                point[others] = base[others] + rest @ (np.array([a, b]) - centre)
            out[k] = objective.value(point)
    out[~np.isfinite(out)] = np.nan
    return out


def landscape_grid(
    objective: Any,
    theta: Any,
    i: int,
    j: int,
    xs: Any,
    ys: Any,
    stop: Callable[[], bool] | None = None,
) -> Array:
    """Loss values on a grid over θ_i × θ_j, every other coordinate held at ``theta``.

    Parameters
    ----------
    objective : Objective
        Anything with ``value(θ) -> float``.
    theta : array-like, shape (p,)
        The point the slice passes through (its θ_i, θ_j are overwritten by the grid).
    i, j : int
        The two coordinates that vary: θ_i along x, θ_j along y.
    xs, ys : array-like, shapes (nx,) and (ny,)
        Grid values of θ_i and θ_j.
    stop : callable, optional
        Asked before each point; when it answers True the grid is abandoned.

    Returns
    -------
    ndarray, shape (ny, nx)
        ``Z[r, c] = f(θ with θ_i = xs[c], θ_j = ys[r])``, the layout ``contour(xs, ys, Z)``
        expects. Points where the loss is not finite are NaN.

    Raises
    ------
    GridCancelledError
        When ``stop()`` answered True (at most one evaluation of f after it first does).

    Examples
    --------
    >>> import numpy as np
    >>> class Bowl:
    ...     def value(self, t):
    ...         return float(t @ t)
    >>> landscape_grid(Bowl(), np.zeros(3), 0, 2, [0.0, 1.0], [2.0]).tolist()
    [[4.0, 5.0]]
    """
    base = np.array(theta, dtype=np.float64).reshape(-1)
    _check_pair(base.shape[0], i, j)
    xv = np.asarray(xs, dtype=np.float64).reshape(-1)
    yv = np.asarray(ys, dtype=np.float64).reshape(-1)
    pts = _grid_points(xv, yv)
    return _values_on_slice(objective, base, i, j, pts, stop).reshape(yv.shape[0], xv.shape[0])


def _grid_points(xv: Array, yv: Array) -> Array:
    A, B = np.meshgrid(xv, yv)  # (ny, nx) each; row-major order walks the rows of the grid
    return np.column_stack([A.reshape(-1), B.reshape(-1)])


def profile_grid(
    objective: Any,
    theta_star: Any,
    i: int,
    j: int,
    xs: Any,
    ys: Any,
    stop: Callable[[], bool] | None = None,
) -> Array:
    """The profile of a quadratic loss over θ_i × θ_j: min over the other coordinates.

    For a loss with a constant Hessian H (least squares on a model linear in θ, with or
    without an L2 penalty) and its minimiser θ*, fixing d = (θ_i, θ_j) − (θ*_i, θ*_j) the
    other coordinates r are best at

        θ_r(d) = θ*_r − H_rr⁺ · H_r,ij · d

    (⁺: the pseudo-inverse, so collinear columns get the minimum-norm answer), and the profile
    is P(d) = f(θ(d)) = f(θ*) + ½·dᵀ·(H_ij,ij − H_ij,r·H_rr⁺·H_r,ij)·d, evaluated here with f
    itself. Its lowest point is θ* for any p; for p = 2 it is the loss surface. A run's
    θ_k lies on or above it: L(θ_k) ≥ P(θ_k,i, θ_k,j).

    Parameters
    ----------
    objective : Objective
        Declares ``is_linear_least_squares``; ``hessian(θ)`` (p, p) is exact and constant.
    theta_star : array-like, shape (p,)
        The minimiser of ``objective`` (its closed-form reference).
    i, j : int
        The two coordinates that vary.
    xs, ys : array-like, shapes (nx,) and (ny,)
        Grid values of θ_i and θ_j.
    stop : callable, optional
        Asked before each point; when it answers True the grid is abandoned.

    Returns
    -------
    ndarray, shape (ny, nx)
        ``Z[r, c] = min over the others of f(θ with θ_i = xs[c], θ_j = ys[r])``; NaN where
        not finite.

    Raises
    ------
    ValueError
        When the objective is not least squares on a model linear in θ (no constant Hessian).
    GridCancelledError
        When ``stop()`` answered True.
    """
    if not objective.is_linear_least_squares or objective.has_prox:
        raise ValueError(
            "a profile needs least squares on a model linear in θ without an L1 penalty; "
            "use landscape_grid for a slice"
        )
    base = np.array(theta_star, dtype=np.float64).reshape(-1)
    p = base.shape[0]
    _check_pair(p, i, j)
    xv = np.asarray(xs, dtype=np.float64).reshape(-1)
    yv = np.asarray(ys, dtype=np.float64).reshape(-1)
    rest = None
    if p > 2:
        H = np.asarray(objective.hessian(base), dtype=np.float64)
        others = [k for k in range(p) if k not in (i, j)]
        H_rr = H[np.ix_(others, others)]
        H_rd = H[np.ix_(others, [i, j])]
        rest = -np.linalg.pinv(H_rr, hermitian=True) @ H_rd  # (p − 2, 2)
    pts = _grid_points(xv, yv)
    Z = _values_on_slice(objective, base, i, j, pts, stop, rest)
    return Z.reshape(yv.shape[0], xv.shape[0])


def slice_values(objective: Any, theta: Any, i: int, j: int, points: Any) -> Array:
    """Loss on the slice at given (θ_i, θ_j) pairs, e.g. a descent path drawn on the surface.

    Parameters
    ----------
    objective : Objective
    theta : array-like, shape (p,)
        The point the slice passes through.
    i, j : int
        The coordinates that vary.
    points : array-like, shape (m, 2)
        (θ_i, θ_j) pairs.

    Returns
    -------
    ndarray, shape (m,)
        f at each point of the slice (equal to the run's own losses when p = 2).
    """
    base = np.array(theta, dtype=np.float64).reshape(-1)
    _check_pair(base.shape[0], i, j)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return _values_on_slice(objective, base, i, j, pts)
