"""The loss landscape on a plane through θ: the numbers behind contour and surface plots.

A model with p parameters has a loss surface in p + 1 dimensions. To look at it we take a
*slice*: vary two coordinates θ_i and θ_j over a grid and hold every other coordinate at a fixed
θ (usually the final one). For a two-parameter model such as the lesson's y = m·x + b the slice
is the whole surface.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

__all__ = ["landscape_grid", "slice_values"]


def _check_pair(p: int, i: int, j: int) -> None:
    if not (0 <= i < p and 0 <= j < p):
        raise ValueError(f"parameter indices i={i}, j={j} must lie in 0..{p - 1} (θ has {p})")
    if i == j:
        raise ValueError(f"choose two different parameters, got i = j = {i}")


def landscape_grid(
    objective: Any,
    theta: ArrayLike,
    i: int,
    j: int,
    xs: ArrayLike,
    ys: ArrayLike,
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
    Z = np.empty((yv.shape[0], xv.shape[0]))
    point = base.copy()
    with np.errstate(all="ignore"):
        for r, b in enumerate(yv):
            point[j] = b
            for c, a in enumerate(xv):
                point[i] = a
                Z[r, c] = objective.value(point)
    Z[~np.isfinite(Z)] = np.nan
    return Z


def slice_values(objective: Any, theta: ArrayLike, i: int, j: int, points: ArrayLike) -> Array:
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
    out = np.empty(pts.shape[0])
    point = base.copy()
    with np.errstate(all="ignore"):
        for k, (a, b) in enumerate(pts):
            point[i], point[j] = a, b
            out[k] = objective.value(point)
    out[~np.isfinite(out)] = np.nan
    return out
