"""Sharpness: the top Hessian eigenvalues at θ, from Hessian-vector products only.

Gradient descent at a constant rate η is stable on a quadratic only while λ_max(H) < 2/η. For
networks H changes as θ moves, and its largest eigenvalue — the *sharpness* — is what full-batch
gradient descent drives to 2/η and then holds there (the edge of stability; Cohen et al., ICLR
2021). :func:`sharpness` measures it without forming H: each eigenvalue costs a few dozen
products H·v (``objective.hvp``, exact where the objective declares ``exact_hvp``).

Two methods, the same answer:

- ``"lanczos"``: SciPy's ARPACK (``scipy.sparse.linalg.eigsh``, ``which="LA"``) on a
  ``LinearOperator`` whose matvec is one Hessian-vector product — the optional ``curvature``
  extra;
- ``"power"``: NumPy only. Power iteration x ← Hx/‖Hx‖ with deflation (each new vector is kept
  orthogonal to those found), and a shift when the dominant eigenvalue of the remaining
  space is negative (iterate on H − μI, whose dominant eigenvalue is then λ_max − μ).

For an adaptive rule with a diagonal preconditioner P (Adam: P = diag(√v̂ + ε)) the update is
θ ← θ − η·P⁻¹m, and its stability is governed by the eigenvalues of P⁻¹H (Cohen et al.,
"Adaptive Gradient Methods at the Edge of Stability", 2022). P⁻¹H is similar to the symmetric
S = P^(−1/2)·H·P^(−1/2), so ``preconditioner=P`` measures S's eigenvalues (the same numbers)
by the same symmetric methods.

Every answer carries its residuals ‖S·u − λ·u‖ (u unit), computed by one more product each,
and the number of products it took.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["Sharpness", "sharpness", "METHODS"]

#: the ways :func:`sharpness` can compute the eigenvalues ("auto": Lanczos when SciPy is there)
METHODS = ("auto", "lanczos", "power", "dense")


@dataclass(frozen=True)
class Sharpness:
    """The top-k eigenvalues of the Hessian (or of P⁻¹H) at one θ.

    Attributes
    ----------
    values : ndarray, shape (k,)
        λ₁ ≥ λ₂ ≥ … ≥ λ_k, the algebraically largest eigenvalues.
    vectors : ndarray, shape (p, k)
        Unit eigenvectors (columns; of the symmetric S = P^(−1/2)HP^(−1/2) when preconditioned).
    residuals : ndarray, shape (k,)
        ‖S·u_i − λ_i·u_i‖, each from one extra product: how far each pair is from exact.
    n_hvp : int
        Hessian-vector products used, the residuals' included.
    method : str
        "lanczos", "power" or "dense" (p ≤ k + 1: the whole H from p products).
    preconditioned : bool
        The eigenvalues are those of P⁻¹H.
    """

    values: Array
    vectors: Array
    residuals: Array
    n_hvp: int
    method: str
    preconditioned: bool = False

    @property
    def lam_max(self) -> float:
        """λ₁, the sharpness."""
        return float(self.values[0])

    def relative_residuals(self) -> Array:
        """‖S·u − λ·u‖/|λ| per eigenvalue, shape (k,) (inf where λ = 0)."""
        with np.errstate(divide="ignore"):
            return np.asarray(self.residuals / np.abs(self.values), dtype=np.float64)

    def describe(self) -> str:
        """One line: the eigenvalues, the worst relative residual and the cost."""
        what = "P⁻¹H" if self.preconditioned else "H"
        vals = ", ".join(f"{v:.6g}" for v in self.values)
        worst = float(np.max(self.relative_residuals())) if self.values.size else 0.0
        return (
            f"top eigenvalue(s) of {what}: {vals}; max ‖Su − λu‖/|λ| = {worst:.1e} "
            f"({self.n_hvp} Hessian-vector products, {self.method})"
        )


def has_scipy() -> bool:
    """SciPy (the ``curvature`` extra) is installed, so "auto" runs Lanczos."""
    return find_spec("scipy") is not None


def sharpness(
    objective: Any,
    theta: Any,
    k: int = 1,
    *,
    method: str = "auto",
    tol: float = 1e-8,
    max_hvp: int = 2000,
    v0: Any = None,
    preconditioner: Any = None,
    seed: int = 0,
) -> Sharpness:
    """The k largest eigenvalues of ∇²f(θ) (or of P⁻¹∇²f(θ)) from Hessian-vector products.

    Parameters
    ----------
    objective : Objective
        Anything with ``hvp(θ, v)`` and ``n_params`` (exact products where it declares
        ``exact_hvp``; a central difference of the gradient otherwise).
    theta : array-like, shape (p,)
    k : int
        How many eigenvalues, 1 ≤ k ≤ p.
    method : {"auto", "lanczos", "power", "dense"}
        "auto": Lanczos (SciPy's ``eigsh``) when SciPy is installed, else power iteration with
        deflation (NumPy); either way the dense H (p products, ``numpy.linalg.eigh``) when
        p ≤ k + 1, where ARPACK cannot run.
    tol : float
        Relative accuracy asked of each eigenvalue (ARPACK's ``tol``; power iteration stops
        when ‖Su − λu‖ ≤ tol·|λ|).
    max_hvp : int
        The most products the iteration may use (a RuntimeError past it for Lanczos; power
        iteration returns what it has, its residual saying how far it got).
    v0 : array-like, shape (p,), optional
        A start vector, e.g. the last measurement's top eigenvector (a warm start: the
        tracking in :class:`descend.descent.loop.Descent` passes it).
    preconditioner : array-like, shape (p,), optional
        The diagonal of P (positive): the eigenvalues of P⁻¹H instead of H.
    seed : int
        Seeds the random start when ``v0`` is None.

    Returns
    -------
    Sharpness

    Raises
    ------
    ValueError
        k outside 1 … p, an unknown method, a bad ``tol``/``max_hvp``, θ or v0 of the wrong
        shape or not finite, or a preconditioner that is not positive and finite.

    Examples
    --------
    >>> import numpy as np
    >>> from descend.problems import surfaces
    >>> s = sharpness(surfaces.quadratic(kappa=10.0), np.zeros(2))  # H's eigenvalues: 1, 10
    >>> round(s.lam_max, 9)
    10.0
    """
    p = int(objective.n_params)
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    if theta.shape != (p,) or not np.all(np.isfinite(theta)):
        raise ValueError(f"θ must be {p} finite numbers, got shape {theta.shape}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= p:
        raise ValueError(f"k must be a whole number from 1 to p = {p}, got {k!r}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not (isinstance(tol, int | float) and 0 < tol < 1):
        raise ValueError(f"tol must be a number in (0, 1), got {tol!r}")
    if isinstance(max_hvp, bool) or not isinstance(max_hvp, int) or max_hvp < 1:
        raise ValueError(f"max_hvp must be a whole number ≥ 1, got {max_hvp!r}")
    scale: Array | None = None
    if preconditioner is not None:
        P = np.asarray(preconditioner, dtype=np.float64).reshape(-1)
        if P.shape != (p,) or not np.all(np.isfinite(P)) or not np.all(P > 0):
            raise ValueError(
                f"the preconditioner must be the {p} positive, finite diagonal entries of P"
            )
        scale = 1.0 / np.sqrt(P)
    start: Array | None = None
    if v0 is not None:
        start = np.asarray(v0, dtype=np.float64).reshape(-1)
        if start.shape != (p,) or not np.all(np.isfinite(start)) or not np.any(start):
            raise ValueError(f"v0 must be {p} finite numbers, not all zero")

    count = [0]

    def op(v: Array) -> Array:
        count[0] += 1
        if scale is None:
            return np.asarray(objective.hvp(theta, v), dtype=np.float64)
        return scale * np.asarray(objective.hvp(theta, scale * v), dtype=np.float64)

    if method == "auto":
        method = "lanczos" if has_scipy() else "power"
    if p <= k + 1:
        method = "dense"  # ARPACK needs k < p − 1 … and p products give H itself
    if start is None:
        start = np.random.default_rng(seed).standard_normal(p)
    if method == "dense":
        S = np.column_stack([op(e) for e in np.eye(p)])
        lam, U = np.linalg.eigh(0.5 * (S + S.T))
        values, vectors = lam[::-1][:k], U[:, ::-1][:, :k]
    elif method == "lanczos":
        # a warm start needs only a short Lanczos basis (7 products a measurement when
        # tracking a run, against 21 with the cold start's 20)
        ncv = min(p, max(2 * k + 4, 6) if v0 is not None else max(2 * k + 1, 20))
        values, vectors = _lanczos(op, p, k, tol, max_hvp, start, ncv)
    else:
        values, vectors = _power(op, p, k, tol, max_hvp, start)
    residuals = np.array(
        [float(np.linalg.norm(op(vectors[:, i]) - values[i] * vectors[:, i])) for i in range(k)]
    )
    return Sharpness(
        values=np.asarray(values, dtype=np.float64),
        vectors=np.asarray(vectors, dtype=np.float64),
        residuals=residuals,
        n_hvp=count[0],
        method=method,
        preconditioned=scale is not None,
    )


def _lanczos(
    op: Callable[[Array], Array],
    p: int,
    k: int,
    tol: float,
    max_hvp: int,
    v0: Array,
    ncv: int,
) -> tuple[Array, Array]:
    """ARPACK's implicitly restarted Lanczos on the operator, the k algebraically largest,
    with a Lanczos basis of ``ncv`` vectors."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    A = LinearOperator((p, p), matvec=op, dtype=np.float64)
    try:
        lam, U = eigsh(A, k=k, which="LA", tol=tol, v0=v0, ncv=ncv, maxiter=max(1, max_hvp // ncv))
    except ArpackNoConvergence as exc:
        raise RuntimeError(
            f"Lanczos did not converge within about {max_hvp} Hessian-vector products "
            f"(tol = {tol:g}); raise max_hvp or tol, or use method='power'"
        ) from exc
    order = np.argsort(lam)[::-1]
    return np.asarray(lam[order]), np.asarray(U[:, order])


def _power(
    op: Callable[[Array], Array], p: int, k: int, tol: float, max_hvp: int, v0: Array
) -> tuple[Array, Array]:
    """Power iteration with deflation and a shift for a negative dominant eigenvalue."""
    found: list[Array] = []
    values: list[float] = []
    budget = max_hvp
    for _ in range(k):
        Q = np.column_stack(found) if found else np.zeros((p, 0))

        def project(x: Array, Q: Array = Q) -> Array:
            return x - Q @ (Q.T @ x)

        x = project(v0.copy())
        if not np.any(x):
            x = project(np.random.default_rng(len(found)).standard_normal(p))
        lam, x, used = _iterate(lambda v: project(op(v)), x, 0.0, tol, budget)
        budget -= used
        if lam < 0.0:  # the dominant eigenvalue here is negative: iterate on S − λI instead,
            # from a fresh start (x itself is an eigenvector of S − λI, for the eigenvalue 0)
            fresh = project(np.random.default_rng(1 + len(found)).standard_normal(p))
            lam, x, used = _iterate(lambda v: project(op(v)), fresh, lam, tol, budget)
            budget -= used
        found.append(x)
        values.append(lam)
    return np.array(values), np.column_stack(found)


def _iterate(
    op: Callable[[Array], Array], x: Array, shift: float, tol: float, budget: int
) -> tuple[float, Array, int]:
    """x ← (S − σI)x/‖·‖ until ‖Sx − λx‖ ≤ tol·|λ|; returns (λ = xᵀSx, x, products used)."""
    x = x / float(np.linalg.norm(x))
    lam = 0.0
    used = 0
    while used < max(budget, 1):
        w = op(x)
        used += 1
        lam = float(x @ w)
        res = float(np.linalg.norm(w - lam * x))
        if res <= tol * abs(lam) or res == 0.0:
            break
        w = w - shift * x
        nw = float(np.linalg.norm(w))
        if nw == 0.0 or not math.isfinite(nw):
            break
        x = w / nw
    return lam, x, used
