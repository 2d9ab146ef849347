"""Synthetic data with a known truth: straight lines and polynomials (noise, outliers) for
regression, two moons and two Gaussian blobs for classification.

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

__all__ = ["CLASS_KINDS", "Classes", "KINDS", "Synthetic", "make_classification", "make_regression"]

#: the shapes :func:`make_regression` can draw
KINDS = ("linear", "poly")
#: the two-class data sets :func:`make_classification` can draw
CLASS_KINDS = ("moons", "blobs")
#: the blobs' centres (class 0, class 1)
BLOB_CENTRES = ((-1.5, -1.0), (1.5, 1.0))


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


@dataclass(frozen=True)
class Classes:
    """Generated two-class data: points in the plane and their labels.

    Attributes
    ----------
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n,)
        The class of each row, 0.0 or 1.0 (what ``loss="logloss"`` takes).
    description : str
        One line for a plot title or a report.
    """

    X: Array
    y: Array
    description: str


def make_classification(
    kind: str = "moons", n: int = 200, noise: float = 0.15, seed: int | None = 0
) -> Classes:
    """Draw two classes of points in the plane: two interleaved moons or two Gaussian blobs.

    Parameters
    ----------
    kind : {"moons", "blobs"}
        ``"moons"``: scikit-learn's ``make_moons`` shape — class 0 on the upper half circle
        (cos t, sin t), class 1 on (1 − cos t, ½ − sin t), t evenly spaced on [0, π] — which no
        straight line separates; ``"blobs"``: class 0 around (−1.5, −1), class 1 around
        (1.5, 1), each an isotropic Gaussian of standard deviation ``noise``.
    n : int
        Number of rows, ≥ 4; class 0 gets ⌈n/2⌉ of them (sorted by class).
    noise : float
        Standard deviation of the Gaussian noise added to each coordinate (moons), or of the
        blobs; ≥ 0.
    seed : int or None
        Seeds everything drawn.

    Returns
    -------
    Classes

    Raises
    ------
    ValueError
        For an unknown kind or an out-of-range setting; the message names it.
    """
    if kind not in CLASS_KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(CLASS_KINDS)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 4:
        raise ValueError(f"n must be a whole number ≥ 4 (two rows per class at least), got {n!r}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number ≥ 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    n0 = n - n // 2
    n1 = n // 2
    if kind == "moons":
        t0, t1 = np.linspace(0.0, np.pi, n0), np.linspace(0.0, np.pi, n1)
        X = np.vstack(
            [
                np.column_stack([np.cos(t0), np.sin(t0)]),
                np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)]),
            ]
        )
        X = X + noise * rng.standard_normal(X.shape)
        what = "two moons"
    else:
        c0, c1 = (np.asarray(c, dtype=np.float64) for c in BLOB_CENTRES)
        X = np.vstack(
            [c0 + noise * rng.standard_normal((n0, 2)), c1 + noise * rng.standard_normal((n1, 2))]
        )
        what = "two Gaussian blobs"
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return Classes(X, y, f"{what}, {n} rows, noise σ = {noise:g}")
