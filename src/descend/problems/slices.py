"""Slices through θ, for contour and surface pictures.

:func:`landscape_grid` evaluates the loss on a grid over two coordinates θ_i, θ_j (the others
held at a given θ: a *slice*, the whole surface when p = 2) and :func:`slice_values` at given
points of such a slice; :mod:`descend.pictures.plot` draws them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["landscape_grid", "slice_values"]


def _check_pair(p: int, i: int, j: int) -> None:
    if not (0 <= i < p and 0 <= j < p):
        raise ValueError(f"parameter indices i={i}, j={j} must lie in 0..{p - 1} (θ has {p})")
    if i == j:
        raise ValueError(f"choose two different parameters, got i = j = {i}")


def _values_on_slice(objective: Any, base: Array, i: int, j: int, pts: Array) -> Array:
    """f at ``base`` with (θ_i, θ_j) set to each row of ``pts``, shape (m, 2) -> (m,).

    Non-finite values (an overflowing surface far from its minimum) become NaN.
    """
    out = np.empty(pts.shape[0])
    point = base.copy()
    with np.errstate(all="ignore"):
        for k, (a, b) in enumerate(pts):
            point[i], point[j] = a, b
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

    Returns
    -------
    ndarray, shape (ny, nx)
        ``Z[r, c] = f(θ with θ_i = xs[c], θ_j = ys[r])``, the layout ``contour(xs, ys, Z)``
        expects. Points where the loss is not finite are NaN.

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
    A, B = np.meshgrid(xv, yv)  # (ny, nx) each; row-major order walks the rows of the grid
    pts = np.column_stack([A.reshape(-1), B.reshape(-1)])
    return _values_on_slice(objective, base, i, j, pts).reshape(yv.shape[0], xv.shape[0])


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
