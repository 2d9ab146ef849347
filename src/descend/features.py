"""Feature maps: polynomial bases of one input column, and column standardisation.

Descent runs on *features*, not on the raw columns. Scaling them well is what makes plain
gradient descent converge quickly (the Hessian of the MSE is (2/n)·AᵀA, so badly scaled
columns make it badly conditioned); the coefficients are always converted back to the user's
original units before they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev as _cheb
from numpy.polynomial import legendre as _leg
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["Standardizer", "PolynomialBasis", "BASES"]

BASES = ("monomial", "legendre", "chebyshev")


@dataclass(frozen=True)
class Standardizer:
    """Column scaling ``z = (x − μ) / s`` learned from data.

    With ``center=False`` (models without an intercept, which could not absorb a shift) μ = 0
    and s is the root mean square of the column, so z = x / s. A constant column keeps s = 1.

    Attributes
    ----------
    mean : ndarray, shape (d,)
    scale : ndarray, shape (d,)
    """

    mean: Array
    scale: Array

    @classmethod
    def fit(cls, X: Array, center: bool = True) -> Standardizer:
        """Learn μ and s from X of shape (n, d)."""
        if center:
            mean = X.mean(axis=0)
            scale = X.std(axis=0)
        else:
            mean = np.zeros(X.shape[1])
            scale = np.sqrt(np.mean(X * X, axis=0))
        scale = np.where(scale > 0, scale, 1.0)
        return cls(mean=mean, scale=scale)

    @classmethod
    def identity(cls, d: int) -> Standardizer:
        """The do-nothing scaling (``scale=False``)."""
        return cls(mean=np.zeros(d), scale=np.ones(d))

    def transform(self, X: Array) -> Array:
        """Return (X − μ)/s, shape (n, d)."""
        return (X - self.mean) / self.scale

    def unscale(self, w: Array, b: float) -> tuple[float, Array]:
        """Map a linear function of z back to x: b + w·z = (b − Σ w μ/s) + (w/s)·x."""
        coef = w / self.scale
        return float(b - coef @ self.mean), coef


@dataclass(frozen=True)
class PolynomialBasis:
    """The columns φ₁(t), …, φ_d(t) of one input x, with t = α·x + β mapped from a domain.

    Parameters
    ----------
    degree : int
        d ≥ 1; the constant φ₀ = 1 is left to the model's intercept.
    kind : {"monomial", "legendre", "chebyshev"}
        φ_k(t) = t^k, the Legendre polynomial P_k(t) or the Chebyshev polynomial T_k(t).
    domain : (lo, hi) or None
        Interval of x mapped onto t ∈ [−1, 1]; None means t = x (raw powers, no mapping).
    """

    degree: int
    kind: str = "monomial"
    domain: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.degree, int | np.integer) or self.degree < 1:
            raise ValueError(f"polynomial degree must be an integer ≥ 1, got {self.degree!r}")
        if self.kind not in BASES:
            raise ValueError(f"unknown polynomial basis {self.kind!r}; choose one of {BASES}")

    def t(self, x: Array) -> Array:
        """The mapped input t, shape (n,)."""
        if self.domain is None:
            return x
        lo, hi = self.domain
        if hi == lo:
            return x - lo
        return (2.0 * x - (lo + hi)) / (hi - lo)

    def transform(self, x: Array) -> Array:
        """Columns φ_k(t), k = 1..d, shape (n, d)."""
        t = self.t(np.asarray(x, dtype=np.float64).reshape(-1))
        V: Array
        if self.kind == "monomial":
            V = np.vander(t, self.degree + 1, increasing=True)
        elif self.kind == "legendre":
            V = np.asarray(_leg.legvander(t, self.degree), dtype=np.float64)
        else:
            V = np.asarray(_cheb.chebvander(t, self.degree), dtype=np.float64)
        return np.ascontiguousarray(V[:, 1:])

    def to_monomial(self, a: Array) -> Array:
        """Coefficients c of Σ_k a_k φ_k(t(x)) = Σ_k c_k x^k, both of shape (d + 1,).

        Done with NumPy's polynomial classes: change of basis to powers of t, then the
        substitution t = α·x + β.
        """
        a = np.asarray(a, dtype=np.float64)
        cls: Any = {
            "monomial": np.polynomial.Polynomial,
            "legendre": np.polynomial.Legendre,
            "chebyshev": np.polynomial.Chebyshev,
        }[self.kind]
        if self.domain is None or self.domain[0] == self.domain[1]:
            p = cls(a).convert(kind=np.polynomial.Polynomial)
            if self.domain is not None:  # t = x − lo
                p = p(np.polynomial.Polynomial([-self.domain[0], 1.0]))
        else:
            p = cls(a, domain=list(self.domain)).convert(kind=np.polynomial.Polynomial)
        c = np.zeros(self.degree + 1)
        c[: p.coef.shape[0]] = p.coef
        return c
