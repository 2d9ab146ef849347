"""Reference answers: closed-form least squares, and a gradient check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["Reference", "least_squares", "check_grad"]


@dataclass(frozen=True)
class Reference:
    """The exact minimiser of a least-squares objective.

    Attributes
    ----------
    params : ndarray, shape (p,)
        θ* in the coordinates descent runs in.
    loss : float
        L(θ*), the smallest reachable loss.
    intercept, coef : float, ndarray
        θ* in the data's original units (None for models without that form).
    method : str
        How it was computed: "qr" (Householder QR of the scaled design), "stats" (Cholesky of
        the one-pass Gram matrix, when κ ≤ 1e8), "stats+exact" (the same, with L* from one
        exact pass because 1 − R² is tiny) or "tsqr" (blocked QR, when κ > 1e8).
    """

    params: Array
    loss: float
    intercept: float | None
    coef: Array | None
    method: str = "qr"


def solve_qr(A: Array, y: Array) -> Array:
    """Least-squares solution of A·θ ≈ y by Householder QR, shape (p,).

    Raises ValueError when A is rank deficient to working precision (the solution is then not
    unique and descent would wander along the flat directions).
    """
    Q, R = np.linalg.qr(A, mode="reduced")
    diag = np.abs(np.diag(R))
    if diag.size and diag.min() <= diag.max() * np.finfo(np.float64).eps * max(A.shape):
        raise ValueError(
            "the design is rank deficient (a feature column is a combination of others): "
            "the least-squares solution is not unique; drop the redundant column"
        )
    # R is upper triangular, so LU without row swaps is back substitution.
    return np.asarray(np.linalg.solve(R, Q.T @ y), dtype=np.float64)


def least_squares(objective: Any) -> Reference | None:
    """Closed-form minimiser of a linear-model, squared-error objective (None otherwise).

    The objective computes it (:meth:`descend.problems.objective.Objective.reference`): by QR on
    the scaled design descent sees, or from the one-pass statistics of the fast and Dask paths.
    """
    return objective.reference() if objective.is_linear_least_squares else None


def check_grad(objective: Any, theta: Array, h: float | None = None) -> float:
    """Largest relative difference between the analytic gradient and central differences.

    Each component j of θ (shape (p,)) compares g_j with (f(θ + h e_j) − f(θ − h e_j)) / (2h),
    relative to max(|g_j|, |fd_j|, 1e-8·(1 + |f(θ)|)) so that near-zero components do not
    blow up.

    Returns
    -------
    float
        max_j |g_j − fd_j| / scale_j; ≈1e-7 or less for a correct gradient.
    """
    theta = np.asarray(theta, dtype=np.float64)
    f0, g = objective.value_and_grad(theta)
    fd = np.empty_like(theta)
    for j in range(theta.shape[0]):
        step = h if h is not None else np.cbrt(np.finfo(np.float64).eps) * max(1.0, abs(theta[j]))
        e = np.zeros_like(theta)
        e[j] = step
        fd[j] = (objective.value(theta + e) - objective.value(theta - e)) / (2.0 * step)
    scale = np.maximum(np.maximum(np.abs(g), np.abs(fd)), 1e-8 * (1.0 + abs(f0)))
    return float(np.max(np.abs(g - fd) / scale))
