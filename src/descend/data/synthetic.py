"""Synthetic regression data with a known truth: straight lines and polynomials, noise, outliers.

>>> from descend.data.synthetic import make_regression
>>> d = make_regression("linear", n=20, noise=0.0, seed=1)
>>> d.X.shape, d.y.shape
((20, 1), (20,))
>>> bool(abs(d.y - (d.coef[0] + d.coef[1] * d.X[:, 0])).max() < 1e-12)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["Synthetic", "make_regression", "KINDS"]

#: the shapes :func:`make_regression` can draw
KINDS = ("linear", "poly")


@dataclass(frozen=True)
class Synthetic:
    """Generated data and the truth behind it.

    Attributes
    ----------
    X : ndarray, shape (n, 1)
    y : ndarray, shape (n,)
    coef : ndarray, shape (degree + 1,)
        The true polynomial, lowest power first: y = Σ_k coef[k]·x**k + noise.
    outliers : ndarray of int
        Indices of the rows turned into outliers.
    description : str
        One line for a plot title or a report.
    """

    X: Array
    y: Array
    coef: Array
    outliers: NDArray[np.intp]
    description: str


def make_regression(
    kind: str = "linear",
    n: int = 50,
    noise: float = 1.0,
    outliers: float = 0.0,
    degree: int = 3,
    seed: int | None = 0,
    x_range: tuple[float, float] = (-3.0, 3.0),
) -> Synthetic:
    """Draw (x, y) pairs from a straight line or a polynomial, with Gaussian noise and outliers.

    Parameters
    ----------
    kind : {"linear", "poly"}
        ``"linear"``: y = 2 + 1.5·x; ``"poly"``: a random polynomial of ``degree`` whose terms
        are comparable in size over ``x_range``.
    n : int
        Number of rows, ≥ 2.
    noise : float
        Standard deviation of the Gaussian noise added to y, ≥ 0.
    outliers : float
        Fraction of rows (0 ≤ f ≤ 0.5) whose y is pushed away by 5–10 standard deviations of
        the clean y: a test for the MAE and Huber losses.
    degree : int
        Polynomial degree for ``kind="poly"`` (1 to 12).
    seed : int or None
        Seeds everything drawn.
    x_range : (float, float)
        x is uniform on this interval (sorted for plotting).

    Returns
    -------
    Synthetic

    Raises
    ------
    ValueError
        For an unknown kind or an out-of-range setting; the message names it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be a whole number ≥ 2, got {n!r}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number ≥ 0, got {noise!r}")
    if not (0.0 <= outliers <= 0.5):
        raise ValueError(f"outliers is a fraction of the rows in [0, 0.5], got {outliers!r}")
    lo, hi = float(x_range[0]), float(x_range[1])
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"x_range must be two finite numbers lo < hi, got {x_range!r}")
    rng = np.random.default_rng(seed)
    if kind == "linear":
        coef = np.array([2.0, 1.5])
        what = "y = 2 + 1.5·x"
    else:
        if isinstance(degree, bool) or not isinstance(degree, int) or not 1 <= degree <= 12:
            raise ValueError(f"degree must be a whole number from 1 to 12, got {degree!r}")
        scale = max(abs(lo), abs(hi))
        coef = rng.uniform(-1.0, 1.0, degree + 1) * 3.0 / scale ** np.arange(degree + 1)
        what = f"a random degree-{degree} polynomial"
    x = np.sort(rng.uniform(lo, hi, n))
    clean = np.polynomial.polynomial.polyval(x, coef)
    y = clean + noise * rng.standard_normal(n)
    n_out = int(round(outliers * n))
    idx = np.sort(rng.choice(n, size=n_out, replace=False)) if n_out else np.zeros(0, np.intp)
    if n_out:
        spread = float(np.std(clean)) or 1.0
        y[idx] += rng.choice([-1.0, 1.0], n_out) * rng.uniform(5.0, 10.0, n_out) * spread
    parts = [what, f"{n} rows", f"noise σ = {noise:g}"]
    if n_out:
        parts.append(f"{n_out} outlier{'s' if n_out != 1 else ''}")
    return Synthetic(x.reshape(-1, 1), y, coef, idx.astype(np.intp), ", ".join(parts))
