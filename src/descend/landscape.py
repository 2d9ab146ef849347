"""Non-convex landscapes: local minima with few parameters, saddle points with many.

The lesson's last claim has two halves, and this module measures both:

1. **Few parameters → local minima trap descent.** :func:`multistart` runs descent from many
   random starts and clusters where the runs end: on Himmelblau's function the starts split
   between four equally good minima, on Rastrigin's egg-box most end in a poor local minimum,
   and a one-hidden-unit network (:func:`tiny_network_objective`) ends in a worse minimum
   from some starts.
2. **Many parameters → critical points are mostly saddles.** :func:`saddle_study` finds
   critical points (∇L = 0) of networks of growing size on one small regression task and
   records, for each, the loss and the *index* α (the fraction of negative Hessian
   eigenvalues). Dauphin et al. (2014, "Identifying and attacking the saddle point problem in
   high-dimensional non-convex optimization", Fig. 1) report that α grows with the loss: the
   high-loss critical points are saddles with many ways down, the low-loss ones are (nearly)
   minima.
3. **The coin-flip argument.** If each of the n Hessian eigenvalues were positive with
   probability ½ independently, a critical point would be a minimum with probability 2⁻ⁿ.
   :func:`goe_positive_definite_fraction` measures it for random symmetric Gaussian (GOE)
   matrices, whose eigenvalues repel each other, making positive definiteness far rarer still.

For pictures, :func:`landscape_grid` evaluates the loss on a grid over two coordinates θ_i, θ_j
(the others held at a given θ: a *slice*, the whole surface when p = 2) and
:func:`slice_values` at given points of such a slice; :mod:`descend.plot` draws them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .curvature import CriticalPoint, classify, hessian_fd
from .models.mlp import MLP
from .objective import DataObjective, Objective

Array = NDArray[np.float64]

__all__ = [
    "Basin",
    "MultistartResult",
    "multistart",
    "tiny_network_objective",
    "saddle_task",
    "SaddleObjective",
    "find_critical_point",
    "saddle_free_newton",
    "SaddleStudy",
    "saddle_study",
    "GOEResult",
    "goe_positive_definite_fraction",
    "landscape_grid",
    "slice_values",
]


# =============================================================================================
# 1. multi-start descent
# =============================================================================================
@dataclass
class Basin:
    """One distinct end point of a multi-start run (a cluster of end points).

    Attributes
    ----------
    theta : ndarray, shape (p,)
        The cluster's lowest-loss end point.
    loss : float
        f at ``theta``.
    count : int
        How many starts ended here.
    starts : list of int
        Their indices into :attr:`MultistartResult.starts`.
    point : CriticalPoint
        The Hessian classification at ``theta``.
    """

    theta: Array
    loss: float
    count: int
    starts: list[int]
    point: CriticalPoint

    @property
    def kind(self) -> str:
        """The classification ("minimum", "saddle", …)."""
        return self.point.kind


@dataclass
class MultistartResult:
    """Where descent from many random starts ended.

    Attributes
    ----------
    name : str
        The objective's name.
    seed : int
    starts : ndarray, shape (n_starts, p)
    ends : ndarray, shape (n_starts, p)
    losses : ndarray, shape (n_starts,)
        Final loss of each run.
    stop_reasons : list of str
    labels : ndarray of int, shape (n_starts,)
        Index into :attr:`basins` of each run's end point (−1 for a diverged run).
    basins : list of Basin
        Distinct end points, lowest loss first.
    settings : dict
        The descent settings used.
    """

    name: str
    seed: int
    starts: Array
    ends: Array
    losses: Array
    stop_reasons: list[str]
    labels: NDArray[np.int64]
    basins: list[Basin]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_starts(self) -> int:
        return int(self.starts.shape[0])

    @property
    def best(self) -> Basin:
        """The lowest-loss basin found."""
        return self.basins[0]

    def found(self, theta: Any, atol: float = 1e-3) -> bool:
        """True when some basin lies within ``atol`` (Euclidean) of ``theta``."""
        t = np.asarray(theta, dtype=np.float64)
        return any(float(np.linalg.norm(b.theta - t)) <= atol for b in self.basins)

    def fraction_at_best(self, rtol: float = 1e-6) -> float:
        """Fraction of all starts that reached the best loss (to ``rtol``, plus 1e-12)."""
        lo = self.best.loss
        ok = np.abs(self.losses - lo) <= rtol * abs(lo) + 1e-12
        return float(np.mean(ok & (self.labels >= 0)))

    def table(self) -> str:
        """A plain-text table: one row per distinct end point."""
        lines = [
            f"multi-start descent on {self.name}: {self.n_starts} starts (seed {self.seed}), "
            f"{len(self.basins)} distinct end points",
            f"{'#':>3}  {'loss':>12}  {'starts':>6}  {'kind':<10}  {'index':>5}  "
            f"{'‖∇f‖':>8}  end point",
        ]
        for i, b in enumerate(self.basins):
            pt = np.array2string(b.theta[:6], precision=4, suppress_small=True)
            more = " …" if b.theta.shape[0] > 6 else ""
            lines.append(
                f"{i:>3}  {b.loss:>12.6g}  {b.count:>6}  {b.kind:<10}  {b.point.index:>5.2f}  "
                f"{b.point.grad_norm:>8.1e}  {pt}{more}"
            )
        n_div = int(np.sum(self.labels < 0))
        if n_div:
            lines.append(f"({n_div} run(s) diverged and are not counted)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "name": self.name,
            "seed": self.seed,
            "settings": self.settings,
            "losses": self.losses.tolist(),
            "labels": self.labels.tolist(),
            "stop_reasons": list(self.stop_reasons),
            "basins": [
                {
                    "theta": b.theta.tolist(),
                    "loss": b.loss,
                    "count": b.count,
                    "kind": b.kind,
                    "index": b.point.index,
                    "grad_norm": b.point.grad_norm,
                }
                for b in self.basins
            ],
        }


def _random_starts(
    objective: Any, n: int, rng: np.random.Generator, bounds: Any
) -> tuple[Array, Any]:
    """n starting points, shape (n, p): uniform in the bounds, or the model's initialisation."""
    p = int(objective.n_params)
    if bounds is None:
        bounds = getattr(objective, "bounds", None)
    if bounds is not None:
        b = np.asarray(bounds, dtype=np.float64)
        if b.shape == (2,):
            b = np.tile(b, (p, 1))
        if b.shape != (p, 2):
            raise ValueError(f"bounds must be one (lo, hi) pair or {p} of them, got {bounds!r}")
        return rng.uniform(b[:, 0], b[:, 1], size=(n, p)), b.tolist()
    model = getattr(objective, "model", None)
    if model is not None and hasattr(model, "init_params"):
        return np.array([model.init_params(rng) for _ in range(n)]), "model.init_params"
    raise ValueError(
        "multistart needs bounds=(lo, hi) to draw starts from: this objective has neither "
        "bounds nor a model with init_params"
    )


def _cluster(ends: Array, losses: Array, ok: NDArray[np.bool_], radius: float) -> list[list[int]]:
    """Greedy clustering: lowest loss first, join the first cluster within ``radius``."""
    clusters: list[list[int]] = []
    centres: list[Array] = []
    for i in np.argsort(np.where(ok, losses, np.inf), kind="stable"):
        if not ok[i]:
            continue
        for c, centre in enumerate(centres):
            if np.linalg.norm(ends[i] - centre) <= radius:
                clusters[c].append(int(i))
                break
        else:
            clusters.append([int(i)])
            centres.append(ends[i])
    return clusters


def multistart(
    objective: Any,
    n_starts: int = 20,
    seed: int = 0,
    optimizer: str | Any = "gd",
    learning_rate: Any = 0.01,
    bounds: Any = None,
    max_steps: int = 5_000,
    tol: float = 1e-12,
    gtol: float = 1e-8,
    cluster_tol: float = 1e-2,
    **minimize_kwargs: Any,
) -> MultistartResult:
    """Run descent from ``n_starts`` random starts and group the end points.

    Parameters
    ----------
    objective : Objective
        A surface (starts drawn uniformly in its ``bounds``) or a data objective (starts from
        ``model.init_params``), or anything else when ``bounds`` is given.
    n_starts : int
    seed : int
        Seeds the starting points (and the mini-batch order of each run).
    optimizer, learning_rate, max_steps, tol, gtol, **minimize_kwargs
        Passed to :func:`descend.train.minimize` for every run.
    bounds : (lo, hi) or sequence of (lo, hi), optional
        Box to draw starts from (default: ``objective.bounds``).
    cluster_tol : float
        End points closer than this (Euclidean, in θ) count as the same point.

    Returns
    -------
    MultistartResult
        Each distinct end point with its loss, how many starts reached it, and its Hessian
        classification (:func:`descend.curvature.classify`).

    Examples
    --------
    >>> from descend import surfaces
    >>> r = multistart(surfaces.himmelblau(), n_starts=20, seed=0, learning_rate=0.005)
    >>> len(r.basins)
    4
    """
    from .train import minimize

    if n_starts < 1:
        raise ValueError(f"n_starts must be ≥ 1, got {n_starts!r}")
    rng = np.random.default_rng(seed)
    starts, drawn_from = _random_starts(objective, int(n_starts), rng, bounds)
    ends = np.empty_like(starts)
    losses = np.empty(starts.shape[0])
    reasons: list[str] = []
    for i, theta0 in enumerate(starts):
        res = minimize(
            objective,
            theta0,
            optimizer=optimizer,
            learning_rate=learning_rate,
            max_steps=max_steps,
            tol=tol,
            gtol=gtol,
            seed=seed + i,
            record_params=False,
            **minimize_kwargs,
        )
        ends[i] = res.params
        losses[i] = res.loss
        reasons.append(res.stop_reason)
    ok = np.array([r != "diverged" for r in reasons]) & np.isfinite(losses)
    labels = np.full(starts.shape[0], -1, dtype=np.int64)
    basins = []
    for c, members in enumerate(_cluster(ends, losses, ok, cluster_tol)):
        labels[members] = c
        best = members[0]
        basins.append(
            Basin(
                theta=ends[best].copy(),
                loss=float(losses[best]),
                count=len(members),
                starts=members,
                point=classify(objective, ends[best]),
            )
        )
    return MultistartResult(
        name=str(getattr(objective, "name", type(objective).__name__)),
        seed=int(seed),
        starts=starts,
        ends=ends,
        losses=losses,
        stop_reasons=reasons,
        labels=labels,
        basins=basins,
        settings={
            "optimizer": optimizer if isinstance(optimizer, str) else repr(optimizer),
            "learning_rate": learning_rate,
            "max_steps": max_steps,
            "tol": tol,
            "gtol": gtol,
            "cluster_tol": cluster_tol,
            "starts_from": drawn_from,
            **{k: v for k, v in minimize_kwargs.items() if isinstance(v, int | float | str)},
        },
    )


def tiny_network_objective(n: int = 40, seed: int = 0) -> DataObjective:
    """A one-hidden-unit network ŷ = w₂·tanh(w₁·z + b₁) + b₂ fitted to two unequal steps.

    x is uniform on [−3, 3] (n points) and y = tanh(2(x + 1.5)) − 0.6·tanh(2(x − 1.5)): a big
    step up at x = −1.5 and a smaller step down at x = 1.5. One tanh unit can follow only one
    of them: fitting the big step is the global minimum (MSE ≈ 0.18), fitting the small one
    is a worse local minimum (MSE ≈ 0.47) that plain descent cannot leave — a non-convex loss
    with just 4 parameters.

    Returns
    -------
    DataObjective
        MSE of ``MLP([1])`` on the data (inputs standardised).
    """
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3.0, 3.0, n))
    y = np.tanh(2.0 * (x + 1.5)) - 0.6 * np.tanh(2.0 * (x - 1.5))
    X = x.reshape(-1, 1)
    model = MLP([1]).bind(X)
    obj = DataObjective(model, "mse", model.design(X), y)
    obj.name = "one-hidden-unit network on two steps"
    return obj


# =============================================================================================
# 2. critical points of networks: the saddle-point study
# =============================================================================================
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
    """L(θ) = MSE of a tanh :class:`~descend.models.mlp.MLP` on (X, y) + ½·l2·‖θ‖².

    The small L2 penalty keeps the critical points at finite θ: without it, small tanh
    networks lower the MSE forever by letting two units cancel with ever larger weights, so
    descent's end points drift and no critical point lies near them. For one hidden layer the
    Hessian is exact (see :meth:`hessian`); deeper networks fall back to central differences of
    the backpropagated gradient.

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
        model = MLP(list(hidden)).bind(X)
        assert isinstance(model, MLP)
        self.model: MLP = model
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

    def mse(self, theta: Array) -> float:
        """The data loss alone (MSE, 1 for the best constant on the standardised task)."""
        return float(self.data.value(np.asarray(theta, dtype=np.float64)))

    def hessian(self, theta: Array) -> Array:
        """∇²L(θ), shape (p, p): exact for one hidden layer, central differences otherwise.

        With ŷᵢ = Σₖ vₖ tanh(uᵢₖ) + c, uᵢₖ = x̃ᵢ·w̃ₖ (x̃ᵢ = (zᵢ, 1), w̃ₖ the unit's weights and
        bias), rᵢ = ŷᵢ − yᵢ and J = ∂ŷ/∂θ (n × p):

            ∇²L = (2/n) JᵀJ + (2/n) Σᵢ rᵢ ∇²ŷᵢ + l2·I,

        where ∇²ŷᵢ is non-zero only in the blocks ∂²ŷᵢ/∂vₖ∂w̃ₖ = tanh'(uᵢₖ) x̃ᵢ and
        ∂²ŷᵢ/∂w̃ₖ² = vₖ tanh''(uᵢₖ) x̃ᵢx̃ᵢᵀ of each unit k.
        """
        theta = np.asarray(theta, dtype=np.float64)
        if len(self.model.hidden) != 1 or self.model.activation != "tanh":
            return hessian_fd(self, theta)
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
        lam, V = np.linalg.eigh(0.5 * (H + H.T))
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
        (fraction of negative Hessian eigenvalues), ``n_negative``, ``grad_norm``, ``kind``,
        ``source`` (``"search"``: Levenberg–Marquardt on ½‖∇L‖²; ``"descent"``: saddle-free
        Newton from the end of a descent run), ``start_step`` (the descent step the search
        started from), ``start_loss``, ``hits`` (how many searches reached it), ``min_eig``,
        ``max_eig``, ``theta`` (the point, as a list).
    rows : list of dict
        The summary per size: ``hidden``, ``n_params``, ``searches`` (all attempts),
        ``converged`` (attempts ending with ‖∇L‖ ≤ gtol), ``found`` (distinct critical
        points), ``minima`` (those with every eigenvalue > 0), ``frac_minima``,
        ``corr_index_loss`` (Pearson over the distinct points; nan with < 3 points or no
        spread), ``min_loss``, ``max_loss``, ``mean_index``, ``stalled_grad_norm`` (median
        ‖∇L‖ where unconverged attempts stopped; nan when none).
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
            "| hidden | params | searches | converged | critical points | minima | "
            "fraction minima | corr(index, loss) | loss range | mean index |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
        )
        lines = [head]
        for r in self.rows:
            corr = (
                "n/a" if not math.isfinite(r["corr_index_loss"]) else f"{r['corr_index_loss']:.2f}"
            )
            rng = "–" if not r["found"] else f"{r['min_loss']:.3g} … {r['max_loss']:.3g}"
            frac = "–" if not r["found"] else f"{r['frac_minima']:.2f}"
            mean = "–" if not r["found"] else f"{r['mean_index']:.3f}"
            lines.append(
                f"| {','.join(map(str, r['hidden']))} | {r['n_params']} | {r['searches']} | "
                f"{r['converged']} | {r['found']} | {r['minima']} | {frac} | {corr} | {rng} | "
                f"{mean} |"
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
                f"| {label} | {int(sel.sum())} | {int(np.sum(ix == 0))} | {ix.mean():.3f} | "
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
) -> SaddleStudy:
    """Find critical points of tanh networks of growing size and classify them.

    For each size, ``n_points`` runs of plain full-batch gradient descent (via
    :func:`descend.train.minimize`) start from Glorot initialisations. From each run,
    :func:`find_critical_point` (Newton-type steps on ½‖∇L‖², attracted to critical points of
    any index) starts at step 0 and at up to ``snapshots − 1`` plateaus, the steps where the
    run slowed down most (local minima of ‖∇L‖ along the path, where it passed near a
    critical point). In addition each run's end point is converged by
    :func:`saddle_free_newton`, which descends to a minimum. Attempts reaching
    ‖∇L‖ ≤ ``gtol`` count as critical points; duplicates (the same loss and Hessian spectrum,
    which also merges copies under unit permutation and sign flips) are merged, and each
    distinct point is classified by its exact Hessian (:func:`descend.curvature.classify`).
    Attempts that stall above ``gtol`` are counted (``searches − converged``), never
    included.

    Parameters
    ----------
    sizes : sequence of hidden-layer widths
        e.g. ``[[2], [4], [8]]`` or ``[2, 4, 8]`` (one hidden layer each).
    n_points : int
        Descent runs per size; each gives up to ``snapshots`` searches plus its end point.
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
        Most searches per descent run (step 0 and the slowest plateaus).
    max_iter : int
        Iteration limit of each search (:func:`find_critical_point`,
        :func:`saddle_free_newton`).
    gtol : float
        A point is critical when ‖∇L‖ ≤ gtol; nothing looser is accepted.

    Returns
    -------
    SaddleStudy
    """
    from .train import minimize

    hidden_sizes = [
        [int(s)] if isinstance(s, int | np.integer) else [int(h) for h in s] for s in sizes
    ]
    X, y = saddle_task(n_samples, seed=0, noise=noise)
    rng = np.random.default_rng(seed)
    points: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    n_params: list[int] = []
    for si, hidden in enumerate(hidden_sizes):
        obj = SaddleObjective(hidden, X, y, l2=l2)
        p = obj.n_params
        n_params.append(p)
        attempts: list[tuple[str, int, Array]] = []  # (source, step, θ at the start)
        for _ in range(n_points):
            theta0 = obj.model.init_params(rng)
            path: list[Array] = [theta0.copy()]

            def keep(_k: int, th: Array, _loss: float, path: list[Array] = path) -> None:
                path.append(th.copy())

            res = minimize(
                obj,
                theta0,
                "gd",
                learning_rate,
                max_steps=int(descent_steps),
                tol=0.0,
                record_params=False,
                callback=keep,
            )
            attempts.extend(("search", k, path[k]) for k in _plateaus(np.array(path), snapshots))
            attempts.append(("descent", len(path) - 1, res.params))
        found: list[tuple[CriticalPoint, dict[str, Any]]] = []
        converged = 0
        stalled: list[float] = []
        for source, step, th in attempts:
            if source == "search":
                crit, ok, _ = find_critical_point(obj, th, max_iter=max_iter, gtol=gtol)
            else:
                crit, ok, _ = saddle_free_newton(obj, th, max_iter=max_iter, gtol=gtol)
            if not ok:
                stalled.append(float(np.linalg.norm(obj.grad(crit))))
                continue
            converged += 1
            cp = classify(obj, crit)
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
                        "loss": obj.mse(crit),
                        "objective": cp.value,
                        "index": cp.index,
                        "n_negative": cp.n_negative,
                        "grad_norm": cp.grad_norm,
                        "kind": cp.kind,
                        "source": source,
                        "start_step": step,
                        "start_loss": obj.mse(th),
                        "hits": 1,
                        "min_eig": float(cp.eigenvalues[0]),
                        "max_eig": float(cp.eigenvalues[-1]),
                        "theta": crit.tolist(),
                    },
                )
            )
        recs = [rec for _, rec in found]
        points.extend(recs)
        loss = np.array([f["loss"] for f in recs])
        index = np.array([f["index"] for f in recs])
        n_min = sum(1 for f in recs if f["kind"] == "minimum")
        rows.append(
            {
                "hidden": hidden,
                "n_params": p,
                "searches": len(attempts),
                "converged": converged,
                "found": len(recs),
                "minima": n_min,
                "frac_minima": n_min / len(recs) if recs else math.nan,
                "corr_index_loss": _pearson(index, loss),
                "min_loss": float(loss.min()) if recs else math.nan,
                "max_loss": float(loss.max()) if recs else math.nan,
                "mean_index": float(index.mean()) if recs else math.nan,
                "stalled_grad_norm": float(np.median(stalled)) if stalled else math.nan,
            }
        )
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
            "max_iter": max_iter,
            "gtol": gtol,
            "task": "y = sin(2x1)cos(x2) + 0.5x2^2 standardised + noise·N(0,1), standardised; "
            "x ~ U[-2,2]^2; loss MSE + l2/2·|θ|², tanh",
        },
    )


# =============================================================================================
# 3. the coin-flip argument, checked on random matrices
# =============================================================================================
@dataclass
class GOEResult:
    """Fraction of random symmetric Gaussian matrices that are positive definite.

    Attributes
    ----------
    rows : list of dict
        Per size n: ``n``, ``samples``, ``positive_definite`` (count), ``fraction``,
        ``stderr`` (binomial standard error), ``coin_flip`` (2⁻ⁿ).
    seed : int
    """

    rows: list[dict[str, Any]]
    seed: int

    def table(self) -> str:
        """A Markdown table: measured fraction beside 2⁻ⁿ."""
        lines = [
            "| n | samples | positive definite | measured fraction | 2^-n (coin flips) |",
            "|---:|---:|---:|---:|---:|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r['n']} | {r['samples']} | {r['positive_definite']} | "
                f"{r['fraction']:.3g} ± {r['stderr']:.1g} | {r['coin_flip']:.3g} |"
            )
        return "\n".join(lines)


def goe_positive_definite_fraction(
    sizes: Sequence[int] = (1, 2, 3, 4, 5, 6), n_samples: int = 100_000, seed: int = 0
) -> GOEResult:
    """Measure P(H ≻ 0) for GOE matrices H = (G + Gᵀ)/√2, G with i.i.d. N(0, 1) entries.

    The naive argument treats the n eigenvalue signs as independent fair coins, giving
    P = 2⁻ⁿ. GOE eigenvalues repel, so all n landing on the positive side is much rarer:
    the fraction falls like exp(−c n²) (Dean & Majumdar 2006, c = ln 3 / 4), faster than any
    2⁻ⁿ. A critical point of a random high-dimensional function is therefore almost never a
    minimum.

    Parameters
    ----------
    sizes : sequence of int
    n_samples : int
        Matrices drawn per size.
    seed : int

    Returns
    -------
    GOEResult
    """
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        n = int(n)
        count = 0
        done = 0
        chunk = max(1, min(n_samples, 2_000_000 // (n * n)))
        while done < n_samples:
            m = min(chunk, n_samples - done)
            G = rng.standard_normal((m, n, n))
            H = (G + np.swapaxes(G, 1, 2)) / np.sqrt(2.0)
            count += int(np.sum(np.linalg.eigvalsh(H)[:, 0] > 0))
            done += m
        frac = count / n_samples
        rows.append(
            {
                "n": n,
                "samples": n_samples,
                "positive_definite": count,
                "fraction": frac,
                "stderr": math.sqrt(max(frac * (1 - frac), 1.0 / n_samples) / n_samples),
                "coin_flip": 2.0**-n,
            }
        )
    return GOEResult(rows=rows, seed=int(seed))


# =============================================================================================
# 4. slices through θ, for contour and surface pictures
# =============================================================================================
def _check_pair(p: int, i: int, j: int) -> None:
    if not (0 <= i < p and 0 <= j < p):
        raise ValueError(f"parameter indices i={i}, j={j} must lie in 0..{p - 1} (θ has {p})")
    if i == j:
        raise ValueError(f"choose two different parameters, got i = j = {i}")


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
    out = np.empty(pts.shape[0])
    point = base.copy()
    with np.errstate(all="ignore"):
        for k, (a, b) in enumerate(pts):
            point[i], point[j] = a, b
            out[k] = objective.value(point)
    out[~np.isfinite(out)] = np.nan
    return out
