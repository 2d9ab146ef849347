"""Learning-rate sweeps: the same run at many rates, to see the stability limit at work.

For the squared error on a linear model, gradient descent with a constant rate lr contracts
the error along each Hessian eigen-direction by |1 − lr·λ| per step. Rates below the stability
limit 2/λ_max converge (slowly when lr is tiny), rates above it blow up. A sweep makes this
visible: final loss against lr on a log axis, with the limit as a vertical line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from descend.descent.minimize import MINIMIZE_OPTIONS, minimize
from descend.descent.rates import is_auto, resolve_rate
from descend.descent.result import FitResult
from descend.descent.verdicts import DEFAULT_TOL
from descend.problems.build import build_problem, prepare
from descend.problems.curvature import Advice, advise

Array = NDArray[np.float64]

__all__ = ["LRSweep", "lr_sweep", "default_lrs"]

#: default grid: 0.9·2^k times the stability limit, k = −10 … 2 (never exactly on the limit)
_DEFAULT_POWERS = np.arange(-10, 3)


@dataclass(frozen=True)
class LRSweep:
    """The outcome of one run per learning rate, all from the same θ₀.

    Attributes
    ----------
    lrs : ndarray, shape (m,)
        The learning rates, ascending.
    final_loss : ndarray, shape (m,)
        Full-data loss where each run ended. For a diverged run this is the loss at the last
        good θ (the loop rolls back), so read it together with ``diverged``.
    diverged : ndarray of bool, shape (m,)
        True when the run diverged: stopped by the divergence guard, or ended with a loss
        above its starting loss.
    steps : ndarray of int, shape (m,)
        Updates each run made.
    advice : Advice or None
        The curvature advice (``advice.stability_limit`` = 2/λ_max).
    stop_reasons : tuple of str
        Each run's stop reason ("converged", "max_steps", "diverged", …).
    reference_loss : float or None
        The closed-form least-squares loss, when the problem has one.
    settings : dict
        Model, loss, optimizer, max_steps, tol and seed used.
    results : tuple of FitResult
        Each run's whole result (θ per step only with ``record_params=True``).
    """

    lrs: Array
    final_loss: Array
    diverged: NDArray[np.bool_]
    steps: NDArray[np.int64]
    advice: Advice | None
    stop_reasons: tuple[str, ...] = ()
    reference_loss: float | None = None
    settings: dict[str, Any] | None = None
    results: tuple[FitResult, ...] = field(default=(), repr=False, compare=False)

    @property
    def converged(self) -> NDArray[np.bool_]:
        """True where the run met its stopping tolerance."""
        return np.array([r == "converged" for r in self.stop_reasons], dtype=bool)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per rate (lr, final_loss, steps, diverged, stop_reason), for tables."""
        reasons = self.stop_reasons or ("",) * len(self.lrs)
        return [
            {
                "lr": float(lr),
                "final_loss": float(loss),
                "steps": int(k),
                "diverged": bool(d),
                "stop_reason": r,
            }
            for lr, loss, k, d, r in zip(
                self.lrs, self.final_loss, self.steps, self.diverged, reasons, strict=True
            )
        ]


def default_lrs(advice: Advice) -> Array:
    """A log grid around the stability limit: 0.9·2^k · 2/λ_max for k = −10 … 2.

    The grid steps by a factor 2, straddles the limit (0.9× below it, 1.8× and 3.6× above) and
    never lands on it, where descent neither converges nor diverges.
    """
    return 0.9 * advice.stability_limit * np.exp2(_DEFAULT_POWERS.astype(np.float64))


def lr_sweep(
    X: Any,
    y: Any,
    lrs: ArrayLike | None = None,
    model: Any = "linear",
    loss: Any = "mse",
    max_steps: int = 1000,
    seed: int | None = 0,
    *,
    optimizer: str = "gd",
    tol: float = DEFAULT_TOL,
    batch_size: int | None = None,
    **options: Any,
) -> LRSweep:
    """Run gradient descent once per learning rate from the same start, and collect the ends.

    Parameters
    ----------
    X : array-like, shape (n, d) or (n,)
    y : array-like, shape (n,)
    lrs : array-like, optional
        Learning rates to try (the result is sorted ascending). Default: :func:`default_lrs`, a
        factor-2 log grid from about 10⁻³ to 3.6 times the stability limit 2/λ_max. An entry
        ``"auto"`` runs what ``fit(learning_rate="auto")`` runs — the same rate, β and
        preconditioner (:mod:`descend.descent.rates`) — and records the rate it chose.
    model : str or Model
        As in :func:`descend.fit`.
    loss : str or Loss
    max_steps : int
        Step budget per run.
    seed : int or None
        Seeds θ₀ (shared by every run) and mini-batch shuffling.
    optimizer : str
        Update rule (default plain gradient descent, whose limit 2/λ_max the sweep illustrates).
    tol : float
        Convergence tolerance per run, as in :func:`descend.minimize`.
    batch_size : int or None
        None for full-batch descent.
    **options
        Passed on to :func:`descend.minimize` (``patience``, ``rise_patience``, …).

    Returns
    -------
    LRSweep

    Examples
    --------
    >>> import descend as ds
    >>> from descend.studies.sweep import lr_sweep
    >>> s = lr_sweep([[0.0], [1.0], [2.0], [3.0]], [1.0, 3.0, 5.0, 7.0], lrs=[0.5, 1.5])
    >>> s.diverged.tolist(), round(s.advice.stability_limit, 6)
    ([False, True], 1.0)
    """
    problem = build_problem(X, y, model, loss, seed=seed, full_batch=batch_size is None)
    obj, advice = problem.objective, problem.advice
    if advice is None:
        try:  # the sweep's picture needs the stability limit, also for a model not linear in θ
            advice = advise(obj, problem.theta0)
        except (ValueError, np.linalg.LinAlgError):
            advice = None
    if lrs is None:
        if advice is None:
            raise ValueError("no curvature advice for this problem: give the rates with lrs=")
        entries: list[Any] = list(default_lrs(advice))
    else:
        entries = list(np.asarray(lrs, dtype=object).reshape(-1))
        numbers = [float(v) for v in entries if not is_auto(v)]
        bad = any(isinstance(v, str) and not is_auto(v) for v in entries)
        if not entries or bad or not all(math.isfinite(v) and v > 0 for v in numbers):
            raise ValueError(
                f"learning rates must be positive finite numbers or 'auto', got {lrs!r}"
            )
    schedule = options.pop("schedule", None)
    options.setdefault("record_params", False)
    hyper = {k: options.pop(k) for k in list(options) if k not in MINIMIZE_OPTIONS}
    runs = []
    for lr in entries:
        # "auto" is resolved on the problem fit(learning_rate="auto") runs on (maybe whitened)
        prob = prepare(problem.base, auto_rate=True, seed=seed) if is_auto(lr) else problem
        lr_value: Any = "auto" if is_auto(lr) else float(lr)
        rate = resolve_rate(
            lr_value, optimizer, advice=prob.advice if is_auto(lr) else advice,
            target_scale=prob.target_scale, hyper=hyper, max_steps=max_steps,
            schedule=schedule, batch_size=batch_size, constant=True,
            smoothable=prob.objective.smoothable,
        )  # fmt: skip
        run = partial(
            minimize, optimizer=optimizer, learning_rate=rate, batch_size=batch_size,
            max_steps=max_steps, tol=tol, seed=seed, advice=prob.advice or advice, **options,
        )  # fmt: skip
        res = prob.plan.run(run, prob.theta0, refine_mode=False, full_batch=batch_size is None)
        runs.append((float(rate.describe()), res))
    runs.sort(key=lambda r: r[0])
    grid = np.array([lr for lr, _ in runs], dtype=np.float64)
    finals, diverged, steps, reasons, results = [], [], [], [], []
    for _, res in runs:
        start = float(res.history.loss[0]) if len(res.history) else res.loss
        blew_up = res.stop_reason == "diverged" or not math.isfinite(res.loss) or res.loss > start
        finals.append(res.loss)
        diverged.append(blew_up)
        steps.append(res.n_steps)
        reasons.append(res.stop_reason)
        results.append(res)
    ref = problem.reference
    return LRSweep(
        lrs=grid,
        final_loss=np.asarray(finals, dtype=np.float64),
        diverged=np.asarray(diverged, dtype=bool),
        steps=np.asarray(steps, dtype=np.int64),
        advice=advice,
        stop_reasons=tuple(reasons),
        results=tuple(results),
        reference_loss=None if ref is None else float(ref.loss),
        settings={
            "model": obj.model.spec(),
            "loss": obj.loss.spec(),
            "optimizer": optimizer,
            "max_steps": max_steps,
            "tol": tol,
            "seed": seed,
            "batch_size": batch_size,
        },
    )
