"""Multi-start descent: few parameters, and local minima trap descent.

:func:`multistart` runs descent from many random starts and clusters where the runs end
(:class:`Basin`, :class:`MultistartResult`): on Himmelblau's function the starts split between
four equally good minima, on Rastrigin's egg-box most end in a poor local minimum, and a
one-hidden-unit network (:func:`tiny_network_objective`) ends in a worse minimum from some
starts. Each run's end point is first converged to a critical point (saddle-free Newton,
:func:`descend.studies.landscape.saddles.saddle_free_newton`), so that what is reported as a
minimum is one: first-order descent on a flat valley stops long before the bottom.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.descent.minimize import minimize
from descend.problems.curvature import CriticalPoint, classify
from descend.problems.models.mlp import MLP
from descend.problems.objective import DataObjective, Objective
from descend.studies.landscape.saddles import saddle_free_newton

Array = NDArray[np.float64]

__all__ = ["Basin", "MultistartResult", "multistart", "tiny_network_objective"]


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
        The classification at ``theta`` (:func:`descend.problems.curvature.classify`):
        "not critical" when ``theta`` is not a critical point by the Newton criterion.
    """

    theta: Array
    loss: float
    count: int
    starts: list[int]
    point: CriticalPoint

    @property
    def kind(self) -> str:
        """The classification ("minimum", "saddle", …, "not critical")."""
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
        Where each run ended: descent's end point, converged by the polish when it ran.
    losses : ndarray, shape (n_starts,)
        f at ``ends``.
    stop_reasons : list of str
        How each descent run stopped (before the polish).
    labels : ndarray of int, shape (n_starts,)
        Index into :attr:`basins` of each run's end point (−1 for a diverged run).
    basins : list of Basin
        Distinct end points, lowest loss first.
    settings : dict
        The descent settings used.
    grad_norms : ndarray, shape (n_starts,)
        ‖∇f‖ at ``ends``.
    polish_iters : ndarray of int, shape (n_starts,)
        Newton iterations the polish took per run (0: descent's end already met its target,
        or no polish; −1: the run diverged).
    polish_converged : ndarray of bool, shape (n_starts,)
        The polish reached ‖∇f‖ ≤ gtol·‖∇f(θ₀)‖ (True where it was not needed; False where
        it did not run).
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
    grad_norms: Array = field(default_factory=lambda: np.empty(0))
    polish_iters: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    polish_converged: NDArray[np.bool_] = field(default_factory=lambda: np.empty(0, dtype=bool))

    @property
    def n_starts(self) -> int:
        """How many starts were run."""
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
            f"{'#':>3}  {'loss':>12}  {'starts':>6}  {'kind':<12}  {'index':>5}  "
            f"{'‖∇f‖':>8}  {'‖H⁻¹∇f‖':>8}  end point",
        ]
        for i, b in enumerate(self.basins):
            pt = np.array2string(b.theta[:6], precision=4, suppress_small=True)
            more = " …" if b.theta.shape[0] > 6 else ""
            lines.append(
                f"{i:>3}  {b.loss:>12.6g}  {b.count:>6}  {b.kind:<12}  {b.point.index:>5.2f}  "
                f"{b.point.grad_norm:>8.1e}  {b.point.newton_step:>8.1e}  {pt}{more}"
            )
        n_div = int(np.sum(self.labels < 0))
        if n_div:
            lines.append(f"({n_div} run(s) diverged and are not counted)")
        polish = self.settings.get("polish")
        if polish:
            ran = self.labels >= 0
            used = int(np.sum(ran & (self.polish_iters > 0)))
            failed = int(np.sum(ran & ~self.polish_converged))
            lines.append(
                f"(end points polished by {polish} to ‖∇f‖ ≤ {self.settings['gtol']:g}·‖∇f(θ₀)‖: "
                f"{used} of {int(ran.sum())} runs needed it"
                + (f", {failed} did not get there" if failed else "")
                + "; kind needs ‖H⁻¹∇f‖ ≤ "
                f"{self.basins[0].point.step_rtol if self.basins else 0:g}·max(1, ‖θ‖))"
            )
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
            "grad_norms": self.grad_norms.tolist(),
            "polish_iters": self.polish_iters.tolist(),
            "polish_converged": self.polish_converged.tolist(),
            "basins": [
                {
                    "theta": b.theta.tolist(),
                    "loss": b.loss,
                    "count": b.count,
                    "kind": b.kind,
                    "hessian_kind": b.point.hessian_kind,
                    "index": b.point.index,
                    "grad_norm": b.point.grad_norm,
                    "newton_step": b.point.newton_step,
                    "step_tol": b.point.step_tol,
                }
                for b in self.basins
            ],
        }


def _random_starts(
    objective: Objective, n: int, rng: np.random.Generator, bounds: Any
) -> tuple[Array, Any]:
    """n starting points, shape (n, p): uniform in the bounds, or the model's initialisation."""
    p = int(objective.n_params)
    if bounds is None:
        bounds = objective.bounds
    if bounds is not None:
        b = np.asarray(bounds, dtype=np.float64)
        if b.shape == (2,):
            b = np.tile(b, (p, 1))
        if b.shape != (p, 2):
            raise ValueError(f"bounds must be one (lo, hi) pair or {p} of them, got {bounds!r}")
        return rng.uniform(b[:, 0], b[:, 1], size=(n, p)), b.tolist()
    model = objective.model
    if model is not None:
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
    objective: Objective,
    n_starts: int = 20,
    seed: int = 0,
    optimizer: str | Any = "gd",
    learning_rate: Any = 0.01,
    bounds: Any = None,
    max_steps: int = 5_000,
    tol: float = 1e-12,
    gtol: float = 1e-8,
    cluster_tol: float = 1e-2,
    polish: bool = True,
    polish_iter: int = 100,
    progress: Callable[[int, int], Any] | None = None,
    **minimize_kwargs: Any,
) -> MultistartResult:
    """Run descent from ``n_starts`` random starts, converge the end points and group them.

    Parameters
    ----------
    objective : Objective
        A surface (starts drawn uniformly in its ``bounds``) or a data objective (starts from
        ``model.init_params``), or anything else when ``bounds`` is given.
    n_starts : int
    seed : int
        Seeds the starting points (and the mini-batch order of each run).
    optimizer, learning_rate, max_steps, tol, gtol, **minimize_kwargs
        Passed to :func:`descend.descent.minimize.minimize` for every run.
    bounds : (lo, hi) or sequence of (lo, hi), optional
        Box to draw starts from (default: ``objective.bounds``).
    cluster_tol : float
        End points closer than this (Euclidean, in θ) count as the same point.
    polish : bool
        Converge each run's end point with saddle-free Newton
        (:func:`~descend.studies.landscape.saddles.saddle_free_newton`: Newton steps with
        |λ| in place of λ and an Armijo line search, so f only decreases and saddles repel)
        until ‖∇f‖ ≤ ``gtol``·‖∇f(θ₀)‖ — the "stationary" test of descent itself. An end point
        that already meets it is kept as it is. Descent on a flat valley stops far from the
        bottom (the one-hidden-unit network: ‖∇f‖ ≈ 3e-3 after 1500 steps, the minimum whole
        units of θ away), and its end point is not a critical point; False reports descent's
        end points as they are (then usually "not critical").
    polish_iter : int
        Most Newton iterations per end point. Each costs a Hessian (for a data objective,
        central differences: 2p gradients) and its eigendecomposition; with thousands of
        parameters pass ``polish=False``.
    progress : callable, optional
        ``progress(done, total)`` after each start's run.

    Returns
    -------
    MultistartResult
        Each distinct end point with its loss, how many starts reached it, and its
        classification (:func:`descend.problems.curvature.classify`: "not critical" unless
        the Newton step there is short).

    Examples
    --------
    >>> from descend.problems import surfaces
    >>> r = multistart(surfaces.himmelblau(), n_starts=20, seed=0, learning_rate=0.005)
    >>> len(r.basins)
    4
    """
    if n_starts < 1:
        raise ValueError(f"n_starts must be ≥ 1, got {n_starts!r}")
    rng = np.random.default_rng(seed)
    starts, drawn_from = _random_starts(objective, int(n_starts), rng, bounds)
    ends = np.empty_like(starts)
    losses = np.empty(starts.shape[0])
    grad_norms = np.full(starts.shape[0], np.nan)
    polish_iters = np.full(starts.shape[0], -1, dtype=np.int64)
    polish_ok = np.zeros(starts.shape[0], dtype=bool)
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
        end = np.asarray(res.params, dtype=np.float64)
        reasons.append(res.stop_reason)
        ends[i] = end
        losses[i] = res.loss
        if res.stop_reason == "diverged" or not np.all(np.isfinite(end)):
            continue
        polish_iters[i] = 0
        if polish:
            target = gtol * float(np.linalg.norm(objective.grad(theta0)))
            end, polish_ok[i], polish_iters[i] = saddle_free_newton(
                objective, end, max_iter=polish_iter, gtol=target
            )
        f_end, g_end = objective.value_and_grad(end)
        ends[i] = end
        losses[i] = f_end
        grad_norms[i] = float(np.linalg.norm(g_end))
        if progress is not None:
            progress(i + 1, starts.shape[0])
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
        name=str(objective.name),
        seed=int(seed),
        starts=starts,
        ends=ends,
        losses=losses,
        stop_reasons=reasons,
        labels=labels,
        basins=basins,
        grad_norms=grad_norms,
        polish_iters=polish_iters,
        polish_converged=polish_ok,
        settings={
            "optimizer": optimizer if isinstance(optimizer, str) else repr(optimizer),
            "learning_rate": learning_rate,
            "max_steps": max_steps,
            "tol": tol,
            "gtol": gtol,
            "cluster_tol": cluster_tol,
            "polish": "saddle-free Newton" if polish else None,
            "polish_iter": polish_iter,
            "starts_from": drawn_from,
            **{k: v for k, v in minimize_kwargs.items() if isinstance(v, int | float | str)},
        },
    )


def tiny_network_objective(n: int = 40, seed: int = 0) -> DataObjective:
    """A one-hidden-unit network ŷ = w₂·tanh(w₁·z + b₁) + b₂ fitted to two unequal steps.

    x is uniform on [−3, 3] (n points) and y = tanh(2(x + 1.5)) − 0.6·tanh(2(x − 1.5)): a big
    step up at x = −1.5 and a smaller step down at x = 1.5. One tanh unit can follow only one
    of them (with the defaults n = 40, seed = 0): fitting the big step is the global minimum
    (MSE 0.174572), fitting the small one
    is a worse local minimum (MSE 0.468062) that plain descent cannot leave — a non-convex loss
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
