"""Multi-start descent: few parameters, and local minima trap descent.

:func:`multistart` runs descent from many random starts and clusters where the runs end
(:class:`Basin`, :class:`MultistartResult`): on Himmelblau's function the starts split between
four equally good minima, on Rastrigin's egg-box most end in a poor local minimum, and a
one-hidden-unit network (:func:`tiny_network_objective`) ends in a worse minimum from some
starts.
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
    progress: Callable[[int, int], Any] | None = None,
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
        Passed to :func:`descend.descent.minimize.minimize` for every run.
    bounds : (lo, hi) or sequence of (lo, hi), optional
        Box to draw starts from (default: ``objective.bounds``).
    cluster_tol : float
        End points closer than this (Euclidean, in θ) count as the same point.
    progress : callable, optional
        ``progress(done, total)`` after each start's run.

    Returns
    -------
    MultistartResult
        Each distinct end point with its loss, how many starts reached it, and its Hessian
        classification (:func:`descend.problems.curvature.classify`).

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
