"""The saddle-point study: with many parameters, critical points are mostly saddles.

:func:`saddle_study` finds critical points (∇L = 0) of tanh networks of growing size on one
small regression task (:func:`saddle_task`, loss :class:`SaddleObjective`) and records, for
each, the loss and the *index* α (the fraction of negative Hessian eigenvalues). Dauphin et al.
(2014, "Identifying and attacking the saddle point problem in high-dimensional non-convex
optimization", Fig. 1) report that α grows with the loss: the high-loss critical points are
saddles with many ways down, the low-loss ones are (nearly) minima. The searches are
:func:`newton_mr` (Newton-MR: minimum-norm Newton steps with a line search on ‖∇L‖²,
attracted to critical points of every index) and :func:`saddle_free_newton` (descends to a
minimum); the result is a :class:`SaddleStudy`. :func:`find_critical_point` (Levenberg–Marquardt
on ½‖∇L‖², the study's earlier search) stays for small problems.
"""

from __future__ import annotations

import functools
import itertools
import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from descend.descent.minimize import minimize
from descend.problems.blas import one_blas_thread
from descend.problems.curvature import CriticalPoint, classify, hessian_hvp
from descend.problems.models.mlp import MLP
from descend.problems.objective import DataObjective, Objective

Array = NDArray[np.float64]

__all__ = [
    "saddle_task",
    "SaddleObjective",
    "find_critical_point",
    "NEWTON_MR_LEVELS",
    "newton_mr",
    "saddle_free_newton",
    "SaddleStudy",
    "saddle_study",
]


def saddle_task(n: int = 200, seed: int = 0, noise: float = 0.3) -> tuple[Array, Array]:
    """The fixed small regression task of the saddle study.

    X: n points uniform on [−2, 2]²; the signal f = sin(2x₁)·cos(x₂) + 0.5·x₂² is standardised,
    Gaussian noise of standard deviation ``noise`` is added, and y is standardised again (mean
    0, variance 1, so the best constant prediction has MSE 1). The noise puts a floor under
    the loss a network can reach without overfitting: noise²/(1 + noise²) ≈ 0.083 for 0.3.

    Parameters
    ----------
    n : int
        Number of rows.
    seed : int
        Seeds X and the noise.
    noise : float
        Noise standard deviation relative to the standardised signal.

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n,)
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n, 2))
    f = np.sin(2.0 * X[:, 0]) * np.cos(X[:, 1]) + 0.5 * X[:, 1] ** 2
    y = (f - f.mean()) / f.std() + noise * rng.standard_normal(n)
    return X, (y - y.mean()) / y.std()


class SaddleObjective(Objective):
    """L(θ) = MSE of a tanh :class:`~descend.problems.models.mlp.MLP` on (X, y) + ½·l2·‖θ‖².

    The small L2 penalty keeps the critical points at finite θ: without it, small tanh
    networks lower the MSE forever by letting two units cancel with ever larger weights, so
    descent's end points drift and no critical point lies near them. For one hidden layer the
    Hessian is written out (see :meth:`hessian`); deeper networks assemble it from exact
    Hessian-vector products (:meth:`hvp`, the R-operator).

    Parameters
    ----------
    hidden : sequence of int
        Hidden-layer widths.
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    l2 : float
        The penalty weight (≥ 0).
    """

    def __init__(self, hidden: Sequence[int], X: Array, y: Array, l2: float = 1e-3) -> None:
        if l2 < 0:
            raise ValueError(f"l2 must be ≥ 0, got {l2!r}")
        self.model: MLP = cast(MLP, MLP(list(hidden)).bind(X))  # bind returns a copy of itself
        self.Z = self.model.design(X)
        self.y = np.asarray(y, dtype=np.float64)
        self.data = DataObjective(self.model, "mse", self.Z, self.y)
        self.l2 = float(l2)
        self.n_params = int(self.model.n_params)
        self.name = f"tanh MLP {list(hidden)}: MSE + {self.l2:g}/2·‖θ‖²"

    def value_and_grad(self, theta: Array) -> tuple[float, Array]:
        """(L(θ), ∇L(θ)): the data part by backpropagation, plus the penalty."""
        theta = np.asarray(theta, dtype=np.float64)
        f, g = self.data.value_and_grad(theta)
        return f + 0.5 * self.l2 * float(theta @ theta), g + self.l2 * theta

    exact_hvp = True

    def hvp(self, theta: Array, v: Array) -> Array:
        """∇²L(θ)·v = (exact R-operator product of the MSE part) + l2·v, shape (p,)."""
        v = np.asarray(v, dtype=np.float64)
        return self.data.hvp(np.asarray(theta, dtype=np.float64), v) + self.l2 * v

    def mse(self, theta: Array) -> float:
        """The data loss alone (MSE, 1 for the best constant on the standardised task)."""
        return float(self.data.value(np.asarray(theta, dtype=np.float64)))

    def hessian(self, theta: Array) -> Array:
        """∇²L(θ), shape (p, p): written out for one tanh layer, else p exact products.

        With ŷᵢ = Σₖ vₖ tanh(uᵢₖ) + c, uᵢₖ = x̃ᵢ·w̃ₖ (x̃ᵢ = (zᵢ, 1), w̃ₖ the unit's weights and
        bias), rᵢ = ŷᵢ − yᵢ and J = ∂ŷ/∂θ (n × p):

            ∇²L = (2/n) JᵀJ + (2/n) Σᵢ rᵢ ∇²ŷᵢ + l2·I,

        where ∇²ŷᵢ is non-zero only in the blocks ∂²ŷᵢ/∂vₖ∂w̃ₖ = tanh'(uᵢₖ) x̃ᵢ and
        ∂²ŷᵢ/∂w̃ₖ² = vₖ tanh''(uᵢₖ) x̃ᵢx̃ᵢᵀ of each unit k.
        """
        theta = np.asarray(theta, dtype=np.float64)
        if len(self.model.hidden) != 1 or self.model.activation != "tanh":
            return hessian_hvp(self, theta)  # p exact products (the R-operator)
        Z = self.Z
        n, d = Z.shape
        h = self.model.hidden[0]
        p = self.n_params
        W1 = theta[: d * h].reshape(d, h)
        b1 = theta[d * h : d * h + h]
        v = theta[d * h + h : d * h + 2 * h]
        A = np.tanh(Z @ W1 + b1)  # (n, h)
        D1 = 1.0 - A * A  # tanh'
        D2 = -2.0 * A * D1  # tanh''
        q = (2.0 / n) * (A @ v + theta[-1] - self.y)  # ∂L/∂ŷ
        J = np.empty((n, p))
        J[:, : d * h] = (Z[:, :, None] * (D1 * v)[:, None, :]).reshape(n, d * h)
        J[:, d * h : d * h + h] = D1 * v
        J[:, d * h + h : d * h + 2 * h] = A
        J[:, -1] = 1.0
        H = (2.0 / n) * (J.T @ J)
        Xt = np.hstack([Z, np.ones((n, 1))])  # (n, d + 1)
        cross = Xt.T @ (q[:, None] * D1)  # (d + 1, h): Σᵢ qᵢ tanh'(uᵢₖ) x̃ᵢ
        blocks = np.einsum("ik,ia,ib->kab", q[:, None] * D2, Xt, Xt) * v[:, None, None]
        for k in range(h):
            w_idx = np.array([j * h + k for j in range(d)] + [d * h + k])
            v_idx = d * h + h + k
            H[np.ix_(w_idx, w_idx)] += blocks[k]
            H[w_idx, v_idx] += cross[:, k]
            H[v_idx, w_idx] += cross[:, k]
        H[np.diag_indices(p)] += self.l2
        return 0.5 * (H + H.T)


def find_critical_point(
    objective: Any,
    theta0: Array,
    max_iter: int = 100,
    gtol: float = 1e-8,
    mu0: float = 1e-3,
    max_step: float = 1.0,
) -> tuple[Array, bool, int]:
    """Find a critical point near θ₀ by minimising ½‖∇L(θ)‖² with Levenberg–Marquardt steps.

    The residual is r(θ) = ∇L(θ), whose Jacobian is the Hessian H; the damped Gauss–Newton
    step is δ = −(H² + μI)⁻¹ H r. With H = V diag(λ) Vᵀ this is
    δ = −V diag(λ/(λ² + μ)) Vᵀ r: Newton's step −H⁻¹r along well-curved directions (λ² ≫ μ),
    and a short gradient step on ½‖r‖² along flat ones. Unlike descent on L it is attracted
    to critical points of *every* kind (minima, saddles, maxima) — which is the point: the
    study needs saddles too. A step is taken only when it lowers ‖∇L‖ and is no longer than
    ``max_step``; otherwise μ grows ×10 and the step is retried. After a success μ shrinks
    ×10, so near a non-degenerate critical point the steps become Newton's and converge
    quadratically.

    Parameters
    ----------
    objective : Objective
        Anything with ``grad`` and ``hessian``.
    theta0 : ndarray, shape (p,)
    max_iter : int
        Maximum number of Hessian evaluations (outer iterations).
    gtol : float
        Converged when ‖∇L‖ ≤ gtol.
    mu0 : float
        Initial damping relative to max λ².
    max_step : float
        Longest step allowed (Euclidean, in θ): keeps the search local.

    Returns
    -------
    theta : ndarray, shape (p,)
        The last iterate (a critical point when ``converged``).
    converged : bool
        ‖∇L(theta)‖ ≤ gtol.
    n_iter : int
        Outer iterations used.
    """
    theta = np.array(theta0, dtype=np.float64, copy=True)
    r = objective.grad(theta)
    rn = float(np.linalg.norm(r))
    mu = -1.0
    for it in range(1, max_iter + 1):
        if rn <= gtol:
            return theta, True, it - 1
        H = np.asarray(objective.hessian(theta), dtype=np.float64)
        lam, V = np.linalg.eigh(0.5 * (H + H.T))
        lam2 = lam * lam
        scale = max(float(lam2.max()), 1e-300)
        if mu < 0:
            mu = mu0 * scale
        c = V.T @ r
        for _ in range(40):  # raise μ until the step is short enough and lowers ‖∇L‖
            mu = max(mu, 1e-30 * scale)
            step = V @ (lam / (lam2 + mu) * c)
            if float(np.linalg.norm(step)) <= max_step:
                trial = theta - step
                r_new = objective.grad(trial)
                rn_new = float(np.linalg.norm(r_new))
                if math.isfinite(rn_new) and rn_new < rn:
                    theta, r, rn = trial, r_new, rn_new
                    mu /= 10.0
                    break
            mu *= 10.0
        else:
            return theta, rn <= gtol, it
    return theta, rn <= gtol, max_iter


#: Truncation levels of the pseudo-inverse tried in turn by :func:`newton_mr` (|λ| kept above
#: level·max|λ|): the first is Newton-MR's limit (the minimum-norm least-squares step); the
#: later ones are truncated, shorter steps for when that step fails the line search.
NEWTON_MR_LEVELS: tuple[float, ...] = (1e-12, 1e-8, 1e-5, 1e-3, 1e-1)


def newton_mr(
    objective: Any,
    theta0: Array,
    max_iter: int = 200,
    gtol: float = 1e-8,
    rho: float = 1e-4,
    stall: int = 40,
    memory: int = 10,
) -> tuple[Array, bool, int]:
    """Find a critical point near θ₀ by Newton-MR: minimum-norm Newton steps, line search on ‖∇L‖².

    Newton-MR (Roosta, Liu, Xu & Mahoney 2018; Liu & Roosta 2021) solves the possibly
    singular Newton system in the least-squares sense and takes its minimum-norm solution,
    p = −H⁺g (g = ∇L(θ), H = ∇²L(θ)), which MINRES returns on a singular symmetric system.
    For the networks here (p ≤ a few hundred) the dense eigendecomposition H = V diag(λ) Vᵀ is
    affordable and gives that limit exactly: p = −Σ_{|λᵢ| > τ} (vᵢᵀg/λᵢ) vᵢ with
    τ = 10⁻¹²·max|λ|. Along p the squared gradient norm falls at first order,
    d/dt ½‖g(θ + tp)‖² = ⟨Hg, p⟩ = −‖P_range(H) g‖² ≤ 0, so the step is accepted by a backtracking
    (Armijo) search on ‖g‖², not on L, made *non-monotone* (Grippo, Lampariello & Lucidi
    1986): the reference is the largest ‖g‖² of the last ``memory`` iterates, not the current
    one,

        ‖g(θ + tp)‖² ≤ max_{j < memory} ‖g_{k−j}‖² + 2ρt⟨Hg, p⟩,   t = 1, ½, ¼, … ≥ 10⁻³.

    Near a degenerate set of critical points (merged or dead hidden units) the full Newton
    step first raises ‖g‖ before it falls; a monotone search cuts such steps to nothing and
    the search creeps. On the study's 129-parameter network, 24 searches from points along
    descent runs converged 3 times with ``memory=1`` (monotone) and 9 times with
    ``memory=10`` (docs/landscapes.md, ``python scripts/docs.py saddles-search``).

    It is attracted to critical points of every index — minima, saddles, maxima — and
    converges quadratically to a non-degenerate one. When the full step fails the search, the
    truncated pseudo-inverses of :data:`NEWTON_MR_LEVELS` (shorter steps, dropping the
    flattest directions) are tried in turn, and last the steepest-descent direction of
    ½‖g‖², −Hg, with any t down to 10⁻²⁰. Degenerate critical points (a duplicated or dead
    hidden unit makes H singular in directions where g is not yet zero) converge only
    linearly; the search stops as stalled when the least ‖g‖ of the last ``stall``
    iterations is not 1 % below the least before them — typically at a local minimum of
    ‖g‖² where Hg ≈ 0 but g ≠ 0, a "gradient-flat" region (Frye et al. 2021).

    Parameters
    ----------
    objective : Objective
        Anything with ``grad`` and ``hessian`` (exact here: :class:`SaddleObjective`).
    theta0 : ndarray, shape (p,)
    max_iter : int
        Most Hessian evaluations (outer iterations).
    gtol : float
        Converged when ‖∇L‖ ≤ gtol.
    rho : float
        The Armijo constant of the line search on ‖g‖², in (0, ½).
    stall : int
        Give up when the least ‖g‖ of the last ``stall`` iterations is not below 0.99× the
        least before them.
    memory : int
        Iterates the non-monotone line search looks back over (1: the monotone search).

    Returns
    -------
    theta : ndarray, shape (p,)
        The last iterate, a critical point when ``converged``; else the iterate of least ‖g‖
        (the non-monotone search may have left it).
    converged : bool
        ‖∇L(theta)‖ ≤ gtol.
    n_iter : int
        Outer iterations used.
    """
    theta = np.array(theta0, dtype=np.float64, copy=True)
    g = np.asarray(objective.grad(theta), dtype=np.float64)
    gg = float(g @ g)
    if int(memory) < 1:
        raise ValueError(f"memory must be >= 1 iterates (1: a monotone search), got {memory!r}")
    history = [gg]  # ‖g‖² of every iterate
    best = (gg, theta)  # a failed search returns its iterate of least ‖g‖
    for it in range(int(max_iter)):
        if math.sqrt(gg) <= gtol:
            return theta, True, it
        if it >= stall and min(history[-stall:]) > 0.99**2 * min(history[:-stall]):
            return best[1], False, it
        reference = max(history[-int(memory) :])
        H = np.asarray(objective.hessian(theta), dtype=np.float64)
        try:
            lam, V = np.linalg.eigh(0.5 * (H + H.T))
        except np.linalg.LinAlgError:  # LAPACK gave up (extreme entries): a failed search
            return best[1], False, it
        c = V.T @ g
        top = max(float(np.abs(lam).max()), 1e-300)
        Hg = H @ g
        accepted = False
        for level in (*NEWTON_MR_LEVELS, None):
            if level is None:  # steepest descent on ½‖g‖²
                step, t_min = -Hg, 1e-20
            else:
                keep = np.abs(lam) > level * top
                step, t_min = -(V[:, keep] @ (c[keep] / lam[keep])), 1e-3
            slope = float(Hg @ step)  # = d/dt ½‖g(θ + t·step)‖² at t = 0
            if not slope < 0:
                continue
            t = 1.0
            while t >= t_min:
                g_new = np.asarray(objective.grad(theta + t * step), dtype=np.float64)
                gg_new = float(g_new @ g_new)
                if math.isfinite(gg_new) and gg_new <= reference + 2.0 * rho * t * slope:
                    accepted = True
                    break
                t *= 0.5
            if accepted:
                break
        if not accepted:  # Hg = 0 to rounding: a stationary point of ‖g‖² that is not critical
            return best[1], False, it
        theta = theta + t * step
        g, gg = g_new, gg_new
        history.append(gg)
        if gg < best[0]:
            best = (gg, theta)
    if math.sqrt(gg) <= gtol:
        return theta, True, int(max_iter)
    return best[1], False, int(max_iter)


def saddle_free_newton(
    objective: Any,
    theta0: Array,
    max_iter: int = 200,
    gtol: float = 1e-8,
    max_step: float = 1.0,
) -> tuple[Array, bool, int]:
    """Descend L to a minimum with saddle-free Newton steps and a backtracking line search.

    The step is δ = −V diag(1/|λ|) Vᵀ∇L (Dauphin et al. 2014's saddle-free Newton, with
    |λ| floored at 1e-8·max|λ|): Newton's step along positively curved directions and its
    mirror image along negatively curved ones, so it always points downhill and is repelled
    by saddles instead of attracted. It is cut to at most ``max_step`` and then halved until
    the Armijo condition holds. Near a non-degenerate minimum it is Newton's method and
    converges quadratically; this is how the study converges descent's end points, which
    after a few thousand first-order steps still sit at ‖∇L‖ ≈ 1e-4 … 1e-2 on long flat
    slopes.

    Parameters
    ----------
    objective : Objective
        Anything with ``value_and_grad``, ``value`` and ``hessian``.
    theta0 : ndarray, shape (p,)
    max_iter : int
        Maximum number of Hessian evaluations.
    gtol : float
        Converged when ‖∇L‖ ≤ gtol.
    max_step : float
        Longest trial step (Euclidean, in θ).

    Returns
    -------
    theta : ndarray, shape (p,)
    converged : bool
        ‖∇L(theta)‖ ≤ gtol.
    n_iter : int
    """
    theta = np.array(theta0, dtype=np.float64, copy=True)
    f, g = objective.value_and_grad(theta)
    for it in range(1, max_iter + 1):
        if float(np.linalg.norm(g)) <= gtol:
            return theta, True, it - 1
        H = np.asarray(objective.hessian(theta), dtype=np.float64)
        try:
            lam, V = np.linalg.eigh(0.5 * (H + H.T))
        except np.linalg.LinAlgError:  # LAPACK gave up (extreme entries): a failed search
            return theta, False, it
        absl = np.maximum(np.abs(lam), 1e-8 * max(float(np.abs(lam).max()), 1e-300))
        d = -(V @ ((V.T @ g) / absl))
        nd = float(np.linalg.norm(d))
        if nd > max_step:
            d *= max_step / nd
        slope = float(g @ d)
        t = 1.0
        while t > 1e-12:
            f_new, g_new = objective.value_and_grad(theta + t * d)
            if math.isfinite(f_new) and f_new <= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            return theta, False, it
        theta = theta + t * d
        f, g = f_new, g_new
    return theta, float(np.linalg.norm(g)) <= gtol, max_iter


@dataclass
class SaddleStudy:
    """Critical points of networks of growing size on one task.

    Attributes
    ----------
    sizes : list of list of int
        The hidden-layer widths studied.
    n_params : list of int
        p for each size.
    points : list of dict
        One record per distinct critical point found: ``size`` (index into sizes), ``hidden``,
        ``n_params``, ``loss`` (the MSE part), ``objective`` (MSE + penalty), ``index``
        (fraction of negative Hessian eigenvalues), ``n_negative``, ``grad_norm``,
        ``newton_step`` (‖H⁻¹∇L‖, see :func:`~descend.problems.curvature.classify`), ``kind``,
        ``source`` (``"plateau"``: :func:`newton_mr` from a descent run's plateau or start;
        ``"path"``: :func:`newton_mr` from a step spaced geometrically along a run;
        ``"random"``: :func:`newton_mr` from a random point; ``"descent"``: saddle-free
        Newton from the end of a descent run), ``start_step`` (the descent step the search
        started from), ``start_loss``, ``hits`` (how many searches reached it), ``min_eig``,
        ``max_eig``, ``min_abs_eig`` (smallest |λ|), ``nullity`` (eigenvalues with
        |λ| ≤ 1e-6·max(1, max|λ|): a degenerate critical point when > 0), ``theta`` (the
        point, as a list).
    rows : list of dict
        The summary per size: ``hidden``, ``n_params``, ``searches`` (all attempts),
        ``converged`` (attempts ending at a critical point: ‖∇L‖ ≤ gtol and a short Newton
        step), ``tried`` and ``reached`` (attempts and converged attempts by source, dicts
        keyed ``plateau``, ``path``, ``random``, ``descent``), ``found`` (distinct critical
        points), ``found_by_search`` (those first reached by a :func:`newton_mr` search, not
        by saddle-free Newton, which finds minima by design), ``minima`` (those with every
        eigenvalue > 0), ``saddles``, ``degenerate_points`` (points with nullity > 0),
        ``frac_minima``, ``frac_minima_se`` (binomial standard error √(f(1 − f)/found)),
        ``frac_minima_search``, ``frac_minima_search_se`` (the same over the points
        ``found_by_search``), ``iterations`` (outer iterations of all searches),
        ``seconds`` (wall time of the size, descent runs included),
        ``corr_index_loss`` (Pearson over the distinct points; nan with < 3 points or no
        spread), ``min_loss``, ``max_loss``, ``mean_index``, ``stalled_grad_norm`` (median
        ‖∇L‖ where unconverged attempts stopped; nan when none), ``stopped_at_limit``
        (unconverged attempts that used all ``max_iter`` iterations), ``stalled`` (those that
        stopped earlier, without progress), ``stalled_flatness`` (median over the stalled ones
        of ‖H∇L‖/(max|λ|·‖∇L‖): near 0 in a gradient-flat region, where ∇L lies along almost
        flat directions and no step on ‖∇L‖² makes progress).
    settings : dict
    """

    sizes: list[list[int]]
    n_params: list[int]
    points: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    settings: dict[str, Any]

    def scatter(self, size: int | None = None) -> tuple[Array, Array]:
        """(loss, index) arrays for the index-vs-loss scatter (one size, or all)."""
        pts = [p for p in self.points if size is None or p["size"] == size]
        return np.array([p["loss"] for p in pts]), np.array([p["index"] for p in pts])

    def table(self) -> str:
        """The per-size summary as a Markdown table."""
        head = (
            "| hidden | params | converged / searches: plateau, path, random, end point | "
            "critical points (by Newton-MR) | minima | saddles | fraction minima ± s.e. | "
            "among Newton-MR points | corr(index, loss) | loss range | mean index | time |\n"
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|"
        )
        lines = [head]
        for r in self.rows:
            corr = (
                "n/a" if not math.isfinite(r["corr_index_loss"]) else f"{r['corr_index_loss']:.2f}"
            )
            rng = "–" if not r["found"] else f"{r['min_loss']:.3g} … {r['max_loss']:.3g}"
            frac = "–" if not r["found"] else f"{r['frac_minima']:.2f} ± {r['frac_minima_se']:.2f}"
            frac_s = (
                "–"
                if not r["found_by_search"]
                else f"{r['frac_minima_search']:.2f} ± {r['frac_minima_search_se']:.2f}"
            )
            mean = "–" if not r["found"] else f"{r['mean_index']:.3f}"
            conv = ", ".join(f"{r['reached'][k]}/{r['tried'][k]}" for k in SOURCES)
            lines.append(
                f"| {','.join(map(str, r['hidden']))} | {r['n_params']} | {conv} | "
                f"{r['found']} ({r['found_by_search']}) | {r['minima']} | {r['saddles']} | "
                f"{frac} | {frac_s} | {corr} | {rng} | {mean} | {r['seconds']:.0f} s |"
            )
        return "\n".join(lines)

    def binned(self, edges: Sequence[float] = (0.0, 0.1, 0.2, 0.5, 0.9, math.inf)) -> str:
        """Index against loss, binned over all sizes: a Markdown table of the scatter.

        Parameters
        ----------
        edges : sequence of float
            Loss bin edges (left-closed).

        Returns
        -------
        str
            One row per non-empty bin: points, minima, mean and range of the index.
        """
        loss, index = self.scatter()
        minimum = np.array([p["kind"] == "minimum" for p in self.points], dtype=bool)
        lines = [
            "| loss | points | minima | mean index | index range |",
            "|---|---:|---:|---:|---|",
        ]
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            sel = (loss >= lo) & (loss < hi)
            if not sel.any():
                continue
            ix = index[sel]
            label = f"≥ {lo:g}" if math.isinf(hi) else f"{lo:g} – {hi:g}"
            lines.append(
                f"| {label} | {int(sel.sum())} | {int(np.sum(minimum[sel]))} | {ix.mean():.3f} | "
                f"{ix.min():.3f} … {ix.max():.3f} |"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "sizes": self.sizes,
            "n_params": self.n_params,
            "rows": self.rows,
            "points": self.points,
            "settings": self.settings,
        }


def _flatness(H: Array, g: Array) -> float:
    """‖Hg‖/(max|λ|·‖g‖) in [0, 1]: how little the gradient is curved (0: Hg = 0, g ≠ 0)."""
    top = float(np.abs(np.linalg.eigvalsh(0.5 * (H + H.T))).max())
    den = top * float(np.linalg.norm(g))
    return float(np.linalg.norm(H @ g)) / den if den > 0 else math.nan


def _pearson(a: Array, b: Array) -> float:
    if a.shape[0] < 3 or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def _plateaus(path: Array, count: int, window: int = 25) -> list[int]:
    """Steps where descent slowed down most: step 0 and local minima of the step length.

    For gradient descent ‖θₖ₊₁ − θₖ‖ = lr·‖∇L(θₖ)‖, so the local minima of the step length
    along the path are the plateaus where the run passed close to a critical point — the
    natural starting points for a critical-point search. Returns step 0 and up to
    ``count − 1`` such minima (the slowest first, at least ``window`` steps apart), sorted.
    """
    speed = np.linalg.norm(np.diff(path, axis=0), axis=1)
    n = speed.shape[0]
    cand = [
        k
        for k in range(1, n)
        if speed[k] == speed[max(0, k - window) : min(n, k + window + 1)].min()
    ]
    chosen: list[int] = []
    for k in sorted(cand, key=lambda k: speed[k]):
        if len(chosen) >= count - 1:
            break
        if all(abs(k - c) > window for c in chosen):
            chosen.append(k)
    return sorted({0, *chosen})


def _path_steps(n_steps: int, count: int) -> list[int]:
    """``count`` steps of a descent run spaced geometrically from step 1 to its last step.

    The loss falls fastest early, so geometric spacing samples the run at many loss levels,
    from near the initialisation to the end (Dauphin et al. 2014 start their critical-point
    searches from points along descent trajectories). Duplicates (short runs) are merged.
    """
    if count < 1 or n_steps < 1:
        return []
    return sorted({int(k) for k in np.geomspace(1, n_steps, count).round()})


@functools.cache
def _objective(hidden: tuple[int, ...], n_samples: int, noise: float, l2: float) -> SaddleObjective:
    """The study's objective for one size (cached per process: workers rebuild it once)."""
    X, y = saddle_task(n_samples, seed=0, noise=noise)
    return SaddleObjective(list(hidden), X, y, l2=l2)


def _descent_starts(
    key: tuple[Any, ...],
    theta0: Array,
    steps: int,
    learning_rate: float,
    snapshots: int,
    path_starts: int,
) -> list[tuple[str, int, Array]]:
    """One descent run from θ₀: the starts it gives, as (source, step, θ) triples.

    ``"plateau"``: step 0 and up to ``snapshots − 1`` plateaus (:func:`_plateaus`);
    ``"path"``: ``path_starts`` steps spaced geometrically (:func:`_path_steps`);
    ``"descent"``: the end point (converged later by :func:`saddle_free_newton`).
    """
    obj = _objective(*key)
    path: list[Array] = [np.array(theta0, dtype=np.float64, copy=True)]

    def keep(_k: int, th: Array, _loss: float) -> None:
        path.append(th.copy())

    with one_blas_thread():
        res = minimize(
            obj,
            path[0],
            "gd",
            learning_rate,
            max_steps=int(steps),
            tol=0.0,
            record_params=False,
            callback=keep,
        )
    out: list[tuple[str, int, Array]] = []
    if snapshots > 0:
        out.extend(("plateau", k, path[k]) for k in _plateaus(np.array(path), snapshots))
    out.extend(("path", k, path[k]) for k in _path_steps(len(path) - 1, path_starts))
    out.append(("descent", len(path) - 1, res.params))
    return out


def _search(
    key: tuple[Any, ...], source: str, theta0: Array, max_iter: int, gtol: float
) -> dict[str, Any]:
    """One search from θ₀ (saddle-free Newton for a descent end point, else Newton-MR).

    Returns ``theta``, ``converged`` (‖∇L‖ ≤ gtol and :attr:`CriticalPoint.critical`),
    ``point`` (the :class:`CriticalPoint`, or None), ``iterations``, and for a search that
    did not converge ``grad_norm`` and ``flatness`` (None when it ran out of iterations).
    """
    obj = _objective(*key)
    with one_blas_thread():
        if source == "descent":
            crit, ok, n_it = saddle_free_newton(obj, theta0, max_iter=max_iter, gtol=gtol)
        else:
            crit, ok, n_it = newton_mr(obj, theta0, max_iter=max_iter, gtol=gtol)
        cp = classify(obj, crit) if ok else None
        out: dict[str, Any] = {"theta": crit, "iterations": n_it, "point": None}
        if cp is None or not cp.critical:  # ‖∇L‖ > gtol, or a long Newton step left
            g_end = obj.grad(crit)
            out["converged"] = False
            out["grad_norm"] = float(np.linalg.norm(g_end))
            try:
                flat = None if n_it >= max_iter else _flatness(obj.hessian(crit), g_end)
            except np.linalg.LinAlgError:
                flat = math.nan
            out["flatness"] = flat
            return out
        out.update(
            converged=True,
            point=cp,
            loss=obj.mse(crit),
            start_loss=obj.mse(theta0),
        )
        return out


class _Serial:
    """The in-process stand-in for a process pool: ``map`` runs the calls one by one."""

    def map(self, fn: Callable[..., Any], *iterables: Any) -> Any:
        return map(fn, *iterables)

    def shutdown(self) -> None:
        pass


SOURCES = ("plateau", "path", "random", "descent")


def _same_point(a: CriticalPoint, b: CriticalPoint) -> bool:
    """Same loss and Hessian spectrum: the same point or a symmetric copy of it.

    Permuting hidden units or flipping a tanh unit's signs maps a critical point to another
    with the same loss and eigenvalues, so this deduplicates by symmetry as well as by θ.
    """
    if abs(a.value - b.value) > 1e-9 * max(1.0, abs(a.value)):
        return False
    scale = max(1.0, float(np.abs(a.eigenvalues).max()))
    return bool(np.max(np.abs(a.eigenvalues - b.eigenvalues)) <= 1e-6 * scale)


def saddle_study(
    sizes: Sequence[Sequence[int] | int] = ((2,), (4,), (8,), (16,), (32,)),
    n_points: int = 6,
    seed: int = 0,
    n_samples: int = 200,
    noise: float = 0.3,
    l2: float = 1e-3,
    descent_steps: int = 3_000,
    learning_rate: float = 0.05,
    snapshots: int = 5,
    max_iter: int = 100,
    gtol: float = 1e-8,
    progress: Callable[[int, int], Any] | None = None,
    random_starts: int = 0,
    path_starts: int = 0,
    workers: int = 1,
) -> SaddleStudy:
    """Find critical points of tanh networks of growing size and classify them.

    For each size, ``n_points`` runs of plain full-batch gradient descent (via
    :func:`descend.descent.minimize.minimize`) start from Glorot initialisations. From each run,
    :func:`newton_mr` (minimum-norm Newton steps with a non-monotone line search on ‖∇L‖²,
    attracted to critical points of any index) starts at step 0 and at up to
    ``snapshots − 1`` plateaus, the steps where the run slowed down most (local minima of
    ‖∇L‖ along the path, where it passed near a critical point), at ``path_starts`` steps
    spaced geometrically along the run (many loss levels, as Dauphin et al. 2014 sample),
    and from ``random_starts`` further Glorot initialisations per size. In addition each
    run's end point is converged by :func:`saddle_free_newton`, which descends to a minimum.
    Attempts reaching ‖∇L‖ ≤ ``gtol`` whose Newton step is short (:attr:`CriticalPoint.critical
    <descend.problems.curvature.CriticalPoint.critical>`) count as critical points;
    duplicates (the same loss and Hessian spectrum, which also merges copies under unit
    permutation and sign flips) are merged in the order the attempts were made, and each
    distinct point is classified by its exact Hessian (:func:`descend.problems.curvature.classify`).
    Attempts that stall above ``gtol`` are counted (``searches − converged``), never
    included. Every search runs with BLAS on one thread (on a shared machine the threaded
    BLAS made these small eigendecompositions 5–10× slower); ``workers > 1`` runs the descent
    runs and the searches of a size in that many processes, with the same result as one.

    Parameters
    ----------
    sizes : sequence of hidden-layer widths
        e.g. ``[[2], [4], [8]]`` or ``[2, 4, 8]`` (one hidden layer each).
    n_points : int
        Descent runs per size; each gives up to ``snapshots + path_starts`` searches plus its
        end point.
    seed : int
        Seeds the initialisations.
    n_samples, noise : int, float
        The task (:func:`saddle_task`, always with seed 0). Keep ``n_samples`` above the
        largest parameter count so that minima are isolated.
    l2 : float
        Penalty ½·l2·‖θ‖² added to the MSE (:class:`SaddleObjective`), so that minima lie at
        finite θ.
    descent_steps, learning_rate : int, float
        The descent runs the starting points are taken from.
    snapshots : int
        Most plateau searches per descent run (step 0 and the slowest plateaus; 0: none).
    max_iter : int
        Iteration limit of each search (:func:`newton_mr`, :func:`saddle_free_newton`).
    gtol : float
        A point is critical when ‖∇L‖ ≤ gtol (and :func:`~descend.problems.curvature.classify`'s
        Newton criterion holds there); nothing looser is accepted.
    progress : callable, optional
        ``progress(done, total)`` after each descent run, after each search and after each
        size (``total`` = sizes × (n_points × (snapshots + path_starts + 2) + random_starts),
        one unit per descent run and per possible search); the CLI draws its progress bar
        with it.
    random_starts : int
        Extra :func:`newton_mr` searches per size from random (Glorot) points.
    path_starts : int
        :func:`newton_mr` searches per descent run from steps spaced geometrically along it.
    workers : int
        Processes for the descent runs and searches (1: all in this process).

    Returns
    -------
    SaddleStudy
    """
    hidden_sizes = [
        [int(s)] if isinstance(s, int | np.integer) else [int(h) for h in s] for s in sizes
    ]
    if not hidden_sizes or any(h < 1 for hs in hidden_sizes for h in hs):
        raise ValueError(
            f"hidden-layer widths must be whole numbers >= 1, got {list(sizes)!r}; e.g. 2,4,8"
        )
    if int(n_points) < 1:
        raise ValueError(f"n_points must be >= 1 descent runs per size, got {n_points!r}")
    for name, value in (
        ("random_starts", random_starts),
        ("path_starts", path_starts),
        ("snapshots", snapshots),
    ):
        if int(value) < 0:
            raise ValueError(f"{name} must be >= 0 searches, got {value!r}")
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1 processes, got {workers!r}")
    if int(n_samples) < 2:
        raise ValueError(f"n_samples must be >= 2 rows of the task, got {n_samples!r}")
    if not gtol > 0:
        raise ValueError(f"gtol must be a positive gradient-norm tolerance, got {gtol!r}")
    rng = np.random.default_rng(seed)
    points: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    n_params: list[int] = []
    per_size = int(n_points) * (int(snapshots) + int(path_starts) + 2) + int(random_starts)
    stage, stages = 0, len(hidden_sizes) * per_size
    pool: Any = _Serial()
    if int(workers) > 1:
        pool = ProcessPoolExecutor(int(workers), mp_context=multiprocessing.get_context("spawn"))
    try:
        for si, hidden in enumerate(hidden_sizes):
            key = (tuple(hidden), int(n_samples), float(noise), float(l2))
            obj = _objective(*key)
            p = obj.n_params
            n_params.append(p)
            t_size = time.perf_counter()
            inits = [obj.model.init_params(rng) for _ in range(n_points)]
            attempts: list[tuple[str, int, Array]] = []  # (source, step, θ at the start)
            for starts in pool.map(
                _descent_starts,
                itertools.repeat(key),
                inits,
                itertools.repeat(int(descent_steps)),
                itertools.repeat(float(learning_rate)),
                itertools.repeat(int(snapshots)),
                itertools.repeat(int(path_starts)),
            ):
                attempts.extend(starts)
                stage += 1
                if progress is not None:
                    progress(stage, stages)
            attempts.extend(("random", 0, obj.model.init_params(rng)) for _ in range(random_starts))
            found: list[tuple[CriticalPoint, dict[str, Any]]] = []
            converged = 0
            tried = dict.fromkeys(SOURCES, 0)
            reached = dict.fromkeys(SOURCES, 0)
            iterations: list[int] = []
            stalled: list[float] = []
            flat: list[float] = []
            at_limit = 0
            results = pool.map(
                _search,
                itertools.repeat(key),
                [a[0] for a in attempts],
                [a[2] for a in attempts],
                itertools.repeat(int(max_iter)),
                itertools.repeat(float(gtol)),
            )
            for (source, step, _start), r in zip(attempts, results, strict=True):
                if progress is not None:  # one unit per search, so a long size is not silent
                    stage += 1
                    progress(min(stage, (si + 1) * per_size), stages)
                tried[source] += 1
                iterations.append(r["iterations"])
                if not r["converged"]:
                    stalled.append(r["grad_norm"])
                    if r["flatness"] is None:  # still moving when the iterations ran out
                        at_limit += 1
                    else:  # no 1 % progress in a while, or no acceptable step at all
                        flat.append(r["flatness"])
                    continue
                cp = r["point"]
                converged += 1
                reached[source] += 1
                dup = next((rec for c, rec in found if _same_point(c, cp)), None)
                if dup is not None:
                    dup["hits"] += 1
                    continue
                found.append(
                    (
                        cp,
                        {
                            "size": si,
                            "hidden": hidden,
                            "n_params": p,
                            "loss": r["loss"],
                            "objective": cp.value,
                            "index": cp.index,
                            "n_negative": cp.n_negative,
                            "grad_norm": cp.grad_norm,
                            "newton_step": cp.newton_step,
                            "kind": cp.kind,
                            "source": source,
                            "start_step": step,
                            "start_loss": r["start_loss"],
                            "hits": 1,
                            "min_eig": float(cp.eigenvalues[0]),
                            "max_eig": float(cp.eigenvalues[-1]),
                            "min_abs_eig": float(np.abs(cp.eigenvalues).min()),
                            "nullity": cp.n_zero,
                            "theta": r["theta"].tolist(),
                        },
                    )
                )
            recs = [rec for _, rec in found]
            points.extend(recs)
            rows.append(
                _size_row(
                    hidden,
                    p,
                    recs,
                    attempts,
                    converged,
                    tried,
                    reached,
                    iterations,
                    stalled,
                    flat,
                    at_limit,
                    time.perf_counter() - t_size,
                )  # fmt: skip
            )
            stage = (si + 1) * per_size  # fewer searches than the most: the size is done
            if progress is not None:
                progress(stage, stages)
    finally:
        pool.shutdown()
    return SaddleStudy(
        sizes=hidden_sizes,
        n_params=n_params,
        points=points,
        rows=rows,
        settings={
            "n_points": n_points,
            "seed": seed,
            "n_samples": n_samples,
            "noise": noise,
            "l2": l2,
            "descent": "gd",
            "descent_steps": descent_steps,
            "learning_rate": learning_rate,
            "snapshots": snapshots,
            "path_starts": path_starts,
            "max_iter": max_iter,
            "gtol": gtol,
            "random_starts": random_starts,
            "workers": workers,
            "search": "newton_mr (dense pseudo-inverse, non-monotone line search on |grad|^2)",
            "task": "y = sin(2x1)cos(x2) + 0.5x2^2 standardised + noise·N(0,1), standardised; "
            "x ~ U[-2,2]^2; loss MSE + l2/2·|θ|², tanh",
        },
    )


def _binomial(k: int, n: int) -> tuple[float, float]:
    """(k/n, √(f(1 − f)/n)); (nan, nan) when n = 0."""
    if n == 0:
        return math.nan, math.nan
    f = k / n
    return f, math.sqrt(f * (1 - f) / n)


def _size_row(
    hidden: list[int],
    p: int,
    recs: list[dict[str, Any]],
    attempts: list[tuple[str, int, Array]],
    converged: int,
    tried: dict[str, int],
    reached: dict[str, int],
    iterations: list[int],
    stalled: list[float],
    flat: list[float],
    at_limit: int,
    seconds: float,
) -> dict[str, Any]:
    """The summary of one size (see :class:`SaddleStudy`'s ``rows``)."""
    loss = np.array([f["loss"] for f in recs])
    index = np.array([f["index"] for f in recs])
    n_min = sum(1 for f in recs if f["kind"] == "minimum")
    frac, se = _binomial(n_min, len(recs))
    by_search = [f for f in recs if f["source"] != "descent"]
    frac_s, se_s = _binomial(sum(1 for f in by_search if f["kind"] == "minimum"), len(by_search))
    return {
        "hidden": hidden,
        "n_params": p,
        "searches": len(attempts),
        "converged": converged,
        "tried": dict(tried),
        "reached": dict(reached),
        "found": len(recs),
        "found_by_search": len(by_search),
        "minima": n_min,
        "saddles": sum(1 for f in recs if f["kind"] == "saddle"),
        "degenerate_points": sum(1 for f in recs if f["nullity"] > 0),
        "frac_minima": frac,
        "frac_minima_se": se,
        "frac_minima_search": frac_s,
        "frac_minima_search_se": se_s,
        "corr_index_loss": _pearson(index, loss),
        "min_loss": float(loss.min()) if recs else math.nan,
        "max_loss": float(loss.max()) if recs else math.nan,
        "mean_index": float(index.mean()) if recs else math.nan,
        "stalled_grad_norm": float(np.median(stalled)) if stalled else math.nan,
        "stalled_flatness": float(np.nanmedian(flat)) if flat else math.nan,
        "stopped_at_limit": at_limit,
        "stalled": len(flat),
        "iterations": int(sum(iterations)),
        "seconds": seconds,
    }
