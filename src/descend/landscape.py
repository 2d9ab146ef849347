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

from .curvature import CriticalPoint, classify
from .models.mlp import MLP
from .objective import DataObjective

Array = NDArray[np.float64]

__all__ = [
    "Basin",
    "MultistartResult",
    "multistart",
    "tiny_network_objective",
    "saddle_task",
    "find_critical_point",
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
def saddle_task(n: int = 100, seed: int = 0) -> tuple[Array, Array]:
    """The fixed small regression task of the saddle study.

    X: n points uniform on [−2, 2]², y = sin(2x₁)·cos(x₂) + 0.5·x₂² standardised to mean 0
    and variance 1 (so the loss of the best constant prediction is 1).

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n,)
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n, 2))
    y = np.sin(2.0 * X[:, 0]) * np.cos(X[:, 1]) + 0.5 * X[:, 1] ** 2
    return X, (y - y.mean()) / y.std()


def find_critical_point(
    objective: Any, theta0: Array, max_iter: int = 100, gtol: float = 1e-8, mu0: float = 0.1
) -> tuple[Array, bool, int]:
    """Find a critical point near θ₀ by minimising ½‖∇L(θ)‖² with Levenberg–Marquardt steps.

    The residual is r(θ) = ∇L(θ), whose Jacobian is the Hessian H; the damped Gauss–Newton
    step is δ = −(H² + μI)⁻¹ H r. With H = V diag(λ) Vᵀ this is
    δ = −V diag(λ/(λ² + μ)) Vᵀ r: Newton's step −H⁻¹r along well-curved directions (|λ| ≫ √μ),
    and a short gradient step on ½‖r‖² along flat ones. Unlike descent on L it is attracted
    to critical points of *every* kind (minima, saddles, maxima) — which is the point: the
    study needs saddles too. μ shrinks after a step that lowers ‖r‖ and grows otherwise.

    Parameters
    ----------
    objective : Objective
    theta0 : ndarray, shape (p,)
    max_iter : int
    gtol : float
        Converged when ‖∇L‖ ≤ gtol.
    mu0 : float
        Initial damping.

    Returns
    -------
    theta : ndarray, shape (p,)
    converged : bool
    n_iter : int
    """
    theta = np.array(theta0, dtype=np.float64, copy=True)
    r = objective.grad(theta)
    rn = float(np.linalg.norm(r))
    mu = mu0
    for it in range(1, max_iter + 1):
        if rn <= gtol:
            return theta, True, it - 1
        lam, V = np.linalg.eigh(objective.hessian(theta))
        c = V.T @ r
        for _ in range(30):  # raise μ until the step lowers ‖∇L‖
            trial = theta - V @ (lam / (lam * lam + mu) * c)
            r_new = objective.grad(trial)
            rn_new = float(np.linalg.norm(r_new))
            if math.isfinite(rn_new) and rn_new < rn:
                theta, r, rn = trial, r_new, rn_new
                mu = max(mu / 3.0, 1e-12)
                break
            mu *= 4.0
        else:
            return theta, rn <= gtol, it
    return theta, rn <= gtol, max_iter


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
        ``n_params``, ``loss``, ``index`` (fraction of negative Hessian eigenvalues),
        ``n_negative``, ``grad_norm``, ``kind``, ``start_step`` (the descent step the search
        started from), ``min_eig``, ``max_eig``.
    rows : list of dict
        The summary per size: ``hidden``, ``n_params``, ``starts``, ``found`` (distinct
        critical points with ‖∇L‖ ≤ gtol), ``minima`` (those with no negative eigenvalue),
        ``frac_minima``, ``corr_index_loss`` (Pearson; nan with < 3 points or no spread),
        ``min_loss``, ``max_loss``, ``mean_index``.
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
            "| hidden | params | starts | critical points | minima | fraction minima | "
            "corr(index, loss) | loss range | mean index |\n"
            "|---|---:|---:|---:|---:|---:|---:|---|---:|"
        )
        lines = [head]
        for r in self.rows:
            corr = (
                "n/a" if not math.isfinite(r["corr_index_loss"]) else f"{r['corr_index_loss']:.2f}"
            )
            rng = "–" if not r["found"] else f"{r['min_loss']:.3g} … {r['max_loss']:.3g}"
            lines.append(
                f"| {','.join(map(str, r['hidden']))} | {r['n_params']} | {r['starts']} | "
                f"{r['found']} | {r['minima']} | {r['frac_minima']:.2f} | {corr} | {rng} | "
                f"{r['mean_index']:.3f} |"
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


def saddle_study(
    sizes: Sequence[Sequence[int] | int] = ((2,), (4,), (8,), (16,)),
    n_points: int = 16,
    seed: int = 0,
    n_samples: int = 100,
    descent_steps: int = 2_000,
    learning_rate: float = 0.05,
    snapshots: int = 6,
    max_iter: int = 40,
    gtol: float = 1e-3,
) -> SaddleStudy:
    """Find critical points of tanh networks of growing size and classify them.

    For each size: descent (plain full-batch gradient descent, via
    :func:`descend.train.minimize`) runs from random Glorot initialisations; θ is taken at
    ``snapshots`` steps spaced geometrically along each run (early points have high loss,
    late ones low), and from each such point :func:`find_critical_point` searches for a
    critical point nearby. Each critical point found (‖∇L‖ ≤ gtol, duplicates removed) is
    classified by its Hessian eigenvalues (:func:`descend.curvature.classify`).

    Parameters
    ----------
    sizes : sequence of hidden-layer widths
        e.g. ``[[2], [4], [8]]`` or ``[2, 4, 8]`` (one hidden layer each).
    n_points : int
        Starting points per size (descent runs × snapshots).
    seed : int
    n_samples : int
        Rows of the task (:func:`saddle_task`); keep it above the largest parameter count so
        that minima are isolated (not flat valleys of exact fits).
    descent_steps, learning_rate : int, float
        The descent runs the starting points are taken from.
    snapshots : int
        Starting points per descent run.
    max_iter, gtol : int, float
        Passed to :func:`find_critical_point`. The default gtol = 1e-3 accepts *approximate*
        critical points: in networks of more than a few units the Levenberg–Marquardt search
        typically stalls at ‖∇L‖ ≈ 1e-4 … 1e-3 (near-flat directions, saturated units), and
        each point's ‖∇L‖ is reported so the reader can judge. Tighten it for small networks.

    Returns
    -------
    SaddleStudy
    """
    from .train import minimize

    hidden_sizes = [
        [int(s)] if isinstance(s, int | np.integer) else [int(h) for h in s] for s in sizes
    ]
    X, y = saddle_task(n_samples, seed=0)
    rng = np.random.default_rng(seed)
    steps = np.unique(np.geomspace(1, descent_steps, snapshots).astype(int)) - 1
    steps[0] = 0
    points: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    n_params: list[int] = []
    for si, hidden in enumerate(hidden_sizes):
        model = MLP(hidden).bind(X)
        obj = DataObjective(model, "mse", model.design(X), y)
        p = model.n_params
        n_params.append(p)
        starts: list[tuple[int, Array]] = []
        while len(starts) < n_points:
            snaps: dict[int, Array] = {}
            theta0 = model.init_params(rng)
            if 0 in steps:
                snaps[0] = theta0.copy()

            def keep(k: int, th: Array, _loss: float, snaps: dict[int, Array] = snaps) -> None:
                if k + 1 in steps:
                    snaps[k + 1] = th.copy()

            minimize(
                obj,
                theta0,
                "gd",
                learning_rate,
                max_steps=int(steps[-1]),
                tol=0.0,
                record_params=False,
                callback=keep,
            )
            starts.extend(sorted(snaps.items()))
        found: list[dict[str, Any]] = []
        thetas: list[Array] = []
        for step, th in starts[:n_points]:
            crit, ok, _ = find_critical_point(obj, th, max_iter=max_iter, gtol=gtol)
            if not ok:
                continue
            if any(
                np.linalg.norm(crit - t) <= 1e-6 * max(1.0, float(np.linalg.norm(t)))
                for t in thetas
            ):
                continue
            cp = classify(obj, crit)
            thetas.append(crit)
            found.append(
                {
                    "size": si,
                    "hidden": hidden,
                    "n_params": p,
                    "loss": cp.value,
                    "index": cp.index,
                    "n_negative": cp.n_negative,
                    "grad_norm": cp.grad_norm,
                    "kind": cp.kind,
                    "start_step": int(step),
                    "min_eig": float(cp.eigenvalues[0]),
                    "max_eig": float(cp.eigenvalues[-1]),
                }
            )
        points.extend(found)
        loss = np.array([f["loss"] for f in found])
        index = np.array([f["index"] for f in found])
        n_min = int(np.sum(index == 0))
        rows.append(
            {
                "hidden": hidden,
                "n_params": p,
                "starts": n_points,
                "found": len(found),
                "minima": n_min,
                "frac_minima": n_min / len(found) if found else math.nan,
                "corr_index_loss": _pearson(index, loss),
                "min_loss": float(loss.min()) if found else math.nan,
                "max_loss": float(loss.max()) if found else math.nan,
                "mean_index": float(index.mean()) if found else math.nan,
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
            "descent_steps": descent_steps,
            "learning_rate": learning_rate,
            "snapshots": [int(s) for s in steps],
            "max_iter": max_iter,
            "gtol": gtol,
            "task": "y = sin(2x1)cos(x2) + 0.5x2^2 (standardised), x ~ U[-2,2]^2, MSE, tanh",
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
