"""Curvature: Hessians, their eigenvalues, and the learning-rate advice they imply.

For a quadratic loss with Hessian H (eigenvalues λ_min … λ_max), gradient descent with a
constant rate lr contracts the error along each eigen-direction by |1 − lr·λ|. Hence:

- it is stable only for lr < 2/λ_max (the *stability limit*); above it, it overshoots and
  diverges;
- the best constant rate is lr* = 2/(λ_min + λ_max), which contracts every direction by at
  most ρ = (κ − 1)/(κ + 1) per step, with κ = λ_max/λ_min the condition number;
- the loss gap then shrinks by ρ² per step, so reaching a relative gap ε takes about
  log(ε)/(2·log ρ) ≈ (κ/4)·ln(1/ε) steps.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.problems import blas
from descend.problems.sharpness import sharpness

Array = NDArray[np.float64]

__all__ = [
    "hessian_fd",
    "Advice",
    "advise",
    "eigenvalues",
    "CriticalPoint",
    "CRITICAL_STEP_RTOL",
    "NOT_CRITICAL",
    "classify",
    "hessian_hvp",
]


def hessian_fd(objective: Any, theta: Array, h: float | None = None) -> Array:
    """Hessian by central differences of the gradient, symmetrised; shape (p, p).

    H[:, j] ≈ (∇f(θ + h·e_j) − ∇f(θ − h·e_j)) / (2h), with h ≈ ε^(1/3)·max(1, |θ_j|).
    """
    theta = np.asarray(theta, dtype=np.float64)
    p = theta.shape[0]
    H = np.empty((p, p))
    for j in range(p):
        step = h if h is not None else np.cbrt(np.finfo(np.float64).eps) * max(1.0, abs(theta[j]))
        e = np.zeros(p)
        e[j] = step
        H[:, j] = (objective.grad(theta + e) - objective.grad(theta - e)) / (2.0 * step)
    return 0.5 * (H + H.T)


#: eigenvalues of the last few matrices :func:`eigenvalues` was given (one fit asks for those of
#: the same Gram matrix up to four times: the advice, the preconditioner's choice, the
#: reference's κ(G) and whether refinement pays), keyed by the matrix's bytes and the BLAS
#: thread count (which LAPACK's rounding may depend on)
_EIGEN_CACHE: dict[tuple[Any, ...], Array] = {}
_EIGEN_LOCK = threading.Lock()
#: matrices kept, and the largest p cached
EIGEN_CACHE_SIZE, EIGEN_CACHE_MAX_P = 8, 512


def eigenvalues(H: Array) -> Array:
    """Eigenvalues of a symmetric matrix in ascending order, shape (p,).

    ``eigvalsh`` of (H + Hᵀ)/2. A float64 H of at most :data:`EIGEN_CACHE_MAX_P` rows is
    looked up first among the last :data:`EIGEN_CACHE_SIZE` matrices with the same bytes
    (and BLAS thread count): the same bits as computing them again, without the O(p³) (0.4 ms
    at p = 101, called up to four times per fit). A fresh array either way.
    """
    M = np.asarray(H)
    key = None
    if M.dtype == np.float64 and M.ndim == 2 and M.shape[0] <= EIGEN_CACHE_MAX_P:
        key = (M.shape, blas.blas_threads(), M.tobytes())
        with _EIGEN_LOCK:
            hit = _EIGEN_CACHE.get(key)
        if hit is not None:
            return hit.copy()
    lam = np.asarray(np.linalg.eigvalsh(0.5 * (M + M.T)), dtype=np.float64)
    if key is not None:
        with _EIGEN_LOCK:
            while len(_EIGEN_CACHE) >= EIGEN_CACHE_SIZE:
                del _EIGEN_CACHE[next(iter(_EIGEN_CACHE))]  # the oldest
            _EIGEN_CACHE[key] = lam.copy()
    return lam


@dataclass(frozen=True)
class Advice:
    """What the curvature says about the learning rate.

    Attributes
    ----------
    lam_max, lam_min : float
        Largest and smallest Hessian eigenvalues (λ_min may be 0 for a singular Hessian).
    kappa : float
        λ_max/λ_min (inf when λ_min ≤ 0).
    stability_limit : float
        2/λ_max: constant rates above this diverge.
    best_lr : float
        2/(λ_min + λ_max), the fastest constant rate.
    exact : bool
        True when H is the exact, constant Hessian (linear model, squared error); False when it
        is a bound or a local estimate (other losses, networks).
    """

    lam_max: float
    lam_min: float
    kappa: float
    stability_limit: float
    best_lr: float
    exact: bool
    source: str = "hessian"

    @property
    def rate(self) -> float:
        """ρ = (κ − 1)/(κ + 1): the per-step error contraction at best_lr."""
        if not math.isfinite(self.kappa):
            return 1.0
        return (self.kappa - 1.0) / (self.kappa + 1.0)

    def predicted_steps(self, tol: float = 1e-9, lr: float | None = None) -> float:
        """Steps for the loss gap to shrink by a factor ``tol`` at rate ``lr`` (default best).

        The slowest direction contracts by r = max|1 − lr·λ| per step and the gap by r², so
        steps ≈ log(tol)/(2·log r); inf when r ≥ 1 (no progress, or divergence).
        """
        lr = self.best_lr if lr is None else lr
        lam_lo = max(self.lam_min, 0.0)
        r = max(abs(1.0 - lr * lam_lo), abs(1.0 - lr * self.lam_max))
        if r >= 1.0:
            return math.inf
        if r == 0.0:
            return 1.0
        return math.ceil(math.log(tol) / (2.0 * math.log(r)))

    def check(self, lr: float) -> str | None:
        """A warning text when ``lr`` is at or above the stability limit, else None."""
        if lr >= self.stability_limit:
            at = math.isclose(lr, self.stability_limit, rel_tol=1e-12)
            fate = "oscillate and never converge" if at else "overshoot and diverge"
            return (
                f"learning rate {lr:g} is at or above the stability limit 2/λ_max = "
                f"{self.stability_limit:.4g}: gradient descent will {fate}"
                + ("" if self.exact else " (limit estimated)")
                + f"; use lr < {self.stability_limit:.4g}, e.g. the best constant rate "
                f"{self.best_lr:.4g} (or learning_rate='auto')"
            )
        return None

    def describe(self) -> str:
        """Human-readable summary."""
        kappa = self.kappa_text()
        return (
            f"λ_max = {self.lam_max:.4g}, λ_min = {self.lam_min:.4g}, κ = {kappa}; "
            f"stability limit 2/λ_max = {self.stability_limit:.4g}, "
            f"best constant rate 2/(λ_min+λ_max) = {self.best_lr:.4g}"
        )

    def _repr_html_(self) -> str:
        """Notebook display: λ_max, λ_min, κ, the stability limit and the best constant rate."""
        from descend.data.html import kv_table, num, section

        return section(
            "Advice (curvature of the loss)",
            kv_table([
                ("λ_max", num(self.lam_max)),
                ("λ_min", num(self.lam_min)),
                ("κ = λ_max/λ_min", self.kappa_text()),
                ("stability limit 2/λ_max", num(self.stability_limit)),
                ("best constant rate 2/(λ_min+λ_max)", num(self.best_lr)),
                ("source", f"{self.source} ({'exact' if self.exact else 'estimated'})"),
            ]),
        )  # fmt: skip

    def kappa_text(self) -> str:
        """κ for people: a number, or 'beyond 1/ε' when λ_min is lost in rounding."""
        if math.isfinite(self.kappa):
            return f"{self.kappa:.3g}"
        return "beyond 1/ε (numerically singular: λ_min is below rounding of λ_max)"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (every field)."""
        return asdict(self)


def advice_from_eigenvalues(lam: Array, exact: bool, source: str = "hessian") -> Advice:
    """Build :class:`Advice` from Hessian eigenvalues ``lam``, shape (p,), in any order."""
    lam_max = float(np.max(lam))
    lam_min = float(np.min(lam))
    if not lam_max > 0:
        raise ValueError("the Hessian has no positive eigenvalue: the loss is flat here")
    tiny = lam_max * float(np.finfo(np.float64).eps) * lam.shape[0]
    kappa = lam_max / lam_min if lam_min > tiny else math.inf
    best = 2.0 / (max(lam_min, 0.0) + lam_max) if math.isfinite(kappa) else 1.0 / lam_max
    return Advice(lam_max, max(lam_min, 0.0), kappa, 2.0 / lam_max, best, exact, source)


def power_lam_max(objective: Any, theta: Array, iters: int = 50, seed: int = 0) -> float:
    """λ_max(∇²f(θ)) at θ of shape (p,), by power iteration on Hessian-vector products."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(np.asarray(theta).shape[0])
    v = v / float(np.linalg.norm(v))
    lam = 0.0
    for _ in range(iters):
        w = objective.hvp(theta, v)
        lam_new = float(v @ w)
        nw = float(np.linalg.norm(w))
        if nw == 0.0:
            return 0.0
        v = w / nw
        if abs(lam_new - lam) <= 1e-6 * abs(lam_new):
            lam = lam_new
            break
        lam = lam_new
    return abs(lam)


def advise(objective: Any, theta: Array | None = None) -> Advice:
    """Learning-rate advice for an objective.

    - Linear model with the squared error: the exact Hessian (2/n)·AᵀA (constant).
    - Linear model with another smooth loss (Huber, log loss): the bound c·(1/n)·AᵀA, with c
      the loss's bound on ∂²ℓ/∂ŷ² (1 for Huber, ¼ for log loss) — a safe rate, not exact.
    - Anything else: the sharpness λ_max at θ (local) by :func:`descend.problems.sharpness.
      sharpness` — Lanczos (or NumPy power iteration) on exact Hessian-vector products
      where the objective declares ``exact_hvp`` (every model and loss descend has).

    ``theta``, shape (p,), is where the local estimate is taken; it is required unless the
    Hessian is constant (a linear model).
    """
    loss = objective.loss
    if objective.is_linear and loss is not None:
        c = loss.curvature_bound
        if c is None:  # MAE: not smooth; use the squared error's curvature as the scale
            c = 2.0
        lam = c * eigenvalues(objective.gram())
        return advice_from_eigenvalues(lam, exact=bool(loss.is_least_squares))
    if theta is None:
        raise ValueError("advise() needs θ for an objective without a constant Hessian")
    top = sharpness(objective, theta, 1, tol=1e-6)
    lam_max = top.lam_max
    if not lam_max > 0:
        raise ValueError(
            "the Hessian at θ has no positive eigenvalue (the sharpness there is "
            f"{lam_max:.3g}): cannot suggest a learning rate; give one, e.g. learning_rate=0.01"
        )
    return Advice(lam_max, 0.0, math.inf, 2.0 / lam_max, 1.0 / lam_max, False, top.method)


# -- critical points ------------------------------------------------------------------------
#
# At a critical point θ* (∇f(θ*) = 0) the second-order Taylor expansion
#     f(θ* + δ) ≈ f(θ*) + ½ δᵀ H δ,   H = ∇²f(θ*) = Σ_i λ_i v_i v_iᵀ,
# says what kind of point it is: along an eigenvector v_i the function curves up when λ_i > 0
# and down when λ_i < 0. All λ_i > 0: a minimum; all < 0: a maximum; both signs: a saddle,
# and the eigenvectors with λ_i < 0 are the directions that escape it. Zero eigenvalues leave
# the test inconclusive along their directions (higher-order terms decide): "degenerate".
#
# The test says nothing about a point that is not critical: the signs of H at a point on a
# slope describe the slope, not a minimum. So classify() first asks whether θ is critical,
# *relative to the curvature*: the Newton step δ = H⁻¹∇f (the distance to the critical point
# of the local quadratic model, with |λ| floored at the zero threshold) must be short compared
# with θ itself. A small ‖∇f‖ alone is not enough: on a flat valley (λ_min = 10⁻³) a gradient
# of 10⁻³ is still a whole unit of θ away from the bottom.

#: Default of :func:`classify`'s ``step_rtol``: θ is critical when its Newton step is at most
#: this fraction of max(1, ‖θ‖).
CRITICAL_STEP_RTOL = 1e-4

#: The kind :func:`classify` gives a point whose Newton step is too long.
NOT_CRITICAL = "not critical"


@dataclass(frozen=True)
class CriticalPoint:
    """The second-order picture of f at θ, and whether θ is a critical point at all.

    Attributes
    ----------
    kind : {"minimum", "maximum", "saddle", "degenerate", "not critical"}
        "not critical" unless the Newton criterion holds (``newton_step ≤ step_tol``, see
        :attr:`critical`). At a critical point, from the signs of the Hessian eigenvalues, with
        |λ| ≤ tol counted as zero: all positive → minimum; all negative → maximum; both signs →
        saddle (even when some are zero); otherwise (zeros mixed with one sign only, or all
        zero) → degenerate.
    index : float
        The fraction of negative eigenvalues of the Hessian at θ, #{λ_i < −tol}/p (Dauphin et
        al.'s α): 0 at a minimum, ½ at the saddle x² − y², 1 at a maximum.
    eigenvalues : ndarray, shape (p,)
        Hessian eigenvalues in ascending order.
    grad_norm : float
        ‖∇f(θ)‖.
    escape_directions : ndarray, shape (p, k)
        Unit eigenvectors (columns) of the k negative eigenvalues, most negative first: moving
        along ±v decreases f to second order, f(θ + εv) ≈ f(θ) + ½ ε² λ.
    value : float
        f(θ).
    tol : float
        The threshold below which |λ| counted as zero.
    newton_step : float
        ‖δ‖ with δ = V diag(1/max(|λ_i|, tol)) Vᵀ ∇f(θ): the length of the Newton step H⁻¹∇f
        (|λ| floored at ``tol``, so a gradient along a flat direction counts as a long step),
        i.e. how far the critical point of the local quadratic model lies from θ.
    step_tol : float
        The longest Newton step of a critical point: ``step_rtol · max(1, ‖θ‖)``.
    step_rtol : float
        ``step_tol`` relative to the scale of θ (default :data:`CRITICAL_STEP_RTOL`).
    hessian_kind : str
        What the eigenvalue signs alone say ("minimum", …, "degenerate"), whether or not θ is
        critical: equal to ``kind`` at a critical point; at a point that is not, it describes
        the slope (e.g. "minimum": the Hessian is already positive definite there).
    """

    kind: str
    index: float
    eigenvalues: Array
    grad_norm: float
    escape_directions: Array
    value: float
    tol: float
    newton_step: float
    step_tol: float
    step_rtol: float
    hessian_kind: str

    @property
    def critical(self) -> bool:
        """True when the Newton step is at most ``step_tol`` (False when it is not finite)."""
        return bool(self.newton_step <= self.step_tol)

    @property
    def n_negative(self) -> int:
        """How many eigenvalues are below −tol."""
        return int(np.sum(self.eigenvalues < -self.tol))

    @property
    def n_zero(self) -> int:
        """How many eigenvalues lie within ±tol."""
        return int(np.sum(np.abs(self.eigenvalues) <= self.tol))

    def is_critical(self, gtol: float | None = None) -> bool:
        """The Newton criterion (:attr:`critical`); with ``gtol``, the plain ‖∇f(θ)‖ ≤ gtol."""
        return self.critical if gtol is None else self.grad_norm <= gtol

    def criterion(self) -> str:
        """The critical-point test as numbers: ‖H⁻¹∇f‖ against its tolerance."""
        sign = "≤" if self.critical else ">"
        return (
            f"‖H⁻¹∇f‖ = {self.newton_step:.2e} {sign} {self.step_tol:.2e} = "
            f"{self.step_rtol:g}·max(1, ‖θ‖)"
        )

    def describe(self) -> str:
        """One line: kind, index, f, ‖∇f‖ and the critical-point criterion."""
        p = self.eigenvalues.shape[0]
        signs = (
            f"index {self.index:.3g}: {self.n_negative} of {p} eigenvalues negative, "
            f"{self.n_zero} ≈ 0"
        )
        numbers = f"f = {self.value:.6g}, ‖∇f‖ = {self.grad_norm:.2e}, {self.criterion()}"
        if self.critical:
            return f"{self.kind} ({signs}), {numbers}"
        alone = f"the Hessian there alone would say {self.hessian_kind}"
        return f"{self.kind} ({alone}; {signs}), {numbers}"


def hessian_hvp(objective: Any, theta: Array) -> Array:
    """The Hessian assembled from Hessian-vector products, H[:, j] = hvp(θ, e_j); shape (p, p).

    Uses ``objective.hvp`` (exact where the objective provides it, a central difference of
    the gradient otherwise), then symmetrises, H ← ½(H + Hᵀ). It costs p products, and never
    more memory than H itself, which suits larger models whose ``hessian`` is not exact.
    """
    theta = np.asarray(theta, dtype=np.float64)
    p = theta.shape[0]
    H = np.empty((p, p))
    e = np.zeros(p)
    for j in range(p):
        e[j] = 1.0
        H[:, j] = objective.hvp(theta, e)
        e[j] = 0.0
    return 0.5 * (H + H.T)


def classify(
    objective: Any,
    theta: Array,
    tol: float | None = None,
    hessian: Array | None = None,
    step_rtol: float = CRITICAL_STEP_RTOL,
) -> CriticalPoint:
    """Classify θ by the eigenvalues of the Hessian ∇²f(θ) — if θ is a critical point.

    θ counts as critical when the Newton step is short relative to θ:

        ‖V diag(1/max(|λ_i|, tol)) Vᵀ ∇f(θ)‖ ≤ step_rtol · max(1, ‖θ‖)

    (H = V diag(λ) Vᵀ), i.e. the critical point of the local quadratic model lies within a
    fraction ``step_rtol`` of the scale of θ. Otherwise the kind is ``"not critical"`` and the
    sign pattern is kept in ``hessian_kind``; the criterion's numbers are in the result
    (``newton_step``, ``step_tol``) and in its ``describe()``.

    Parameters
    ----------
    objective : Objective
        Anything with ``value_and_grad`` and ``hessian`` (exact for the analytic surfaces,
        central differences of the exact gradient for data objectives).
    theta : ndarray, shape (p,)
    tol : float, optional
        Eigenvalues with |λ| ≤ tol count as zero. Default: 1e-6·max(1, max|λ|), well above
        the error of a finite-difference Hessian (≈ 1e-9 relative) and well below the
        curvature of any genuine direction in the examples here.
    hessian : ndarray, shape (p, p), optional
        A Hessian already computed at θ (skips recomputing it).
    step_rtol : float
        The critical-point tolerance, relative to max(1, ‖θ‖); default
        :data:`CRITICAL_STEP_RTOL` = 1e-4.

    Returns
    -------
    CriticalPoint

    Examples
    --------
    >>> import numpy as np
    >>> from descend.problems import surfaces
    >>> classify(surfaces.saddle(), np.zeros(2)).kind
    'saddle'
    >>> cp = classify(surfaces.himmelblau(), np.array([3.01, 2.0]))  # near, not at, a minimum
    >>> cp.kind, cp.hessian_kind
    ('not critical', 'minimum')
    """
    if not _real_positive(step_rtol):
        raise ValueError(f"step_rtol must be a positive number, got {step_rtol!r}")
    theta = np.asarray(theta, dtype=np.float64)
    f, g = objective.value_and_grad(theta)
    g = np.asarray(g, dtype=np.float64)
    H = np.asarray(objective.hessian(theta) if hessian is None else hessian, dtype=np.float64)
    lam, V = np.linalg.eigh(0.5 * (H + H.T))
    scale = float(np.max(np.abs(lam))) if lam.size else 0.0
    tol = 1e-6 * max(1.0, scale) if tol is None else float(tol)
    neg = lam < -tol
    pos = lam > tol
    if neg.any() and pos.any():
        signs = "saddle"
    elif pos.all():
        signs = "minimum"
    elif neg.all():
        signs = "maximum"
    else:
        signs = "degenerate"
    floor = np.maximum(np.abs(lam), tol) if tol > 0 else np.abs(lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        coeffs = (V.T @ g) / floor
    coeffs = np.where(V.T @ g == 0.0, 0.0, coeffs)  # no gradient along v: no step, even at λ = 0
    newton = float(np.linalg.norm(coeffs))
    step_tol = float(step_rtol) * max(1.0, float(np.linalg.norm(theta)))
    critical = newton <= step_tol
    return CriticalPoint(
        kind=signs if critical else NOT_CRITICAL,
        index=float(neg.sum()) / max(lam.size, 1),
        eigenvalues=lam,
        grad_norm=float(np.linalg.norm(g)),
        escape_directions=V[:, neg],
        value=float(f),
        tol=tol,
        newton_step=newton,
        step_tol=step_tol,
        step_rtol=float(step_rtol),
        hessian_kind=signs,
    )


def _real_positive(x: Any) -> bool:
    ok = isinstance(x, int | float | np.floating | np.integer) and not isinstance(x, bool)
    return ok and math.isfinite(x) and bool(x > 0)
