"""Learning-rate sweeps: the same run at many rates, to see the stability limit at work.

For the squared error on a linear model, gradient descent with a constant rate lr contracts
the error along each Hessian eigen-direction by |1 − lr·λ| per step. Rates below the stability
limit 2/λ_max converge (slowly when lr is tiny), rates above it blow up. A sweep makes this
visible: final loss against lr on a log axis, with the limit as a vertical line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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

__all__ = [
    "LRSweep",
    "ValidationRow",
    "default_lrs",
    "format_validation",
    "lr_sweep",
    "validation_curve",
]

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

    def _repr_html_(self) -> str:
        """Notebook display: final loss against learning rate (SVG, log-log) and the table."""
        from descend.data.html import num, section, svg_line, table

        limit = self.advice.stability_limit if self.advice is not None else None
        ok = ~self.diverged
        marks = [(limit, "2/λ_max")] if limit is not None else []
        picture = svg_line(
            np.where(ok, self.final_loss, np.nan), self.lrs, log_x=True, log_y=True,
            width=360, height=140, title="final loss (converging runs)",
            x_label="learning rate", marks=marks,
        )  # fmt: skip
        body = [
            [num(r["lr"], 5), "—" if limit is None else num(r["lr"] / limit, 3),
             "diverged" if r["diverged"] else num(r["final_loss"], 10), str(r["steps"]),
             "diverged" if r["diverged"] else r["stop_reason"]]
            for r in self.rows()
        ]  # fmt: skip
        title = "Learning-rate sweep" + (
            f": stability limit 2/λ_max = {num(limit, 4)}" if limit is not None else ""
        )
        return section(
            title, picture,
            table(["lr", "lr/limit", "final loss", "steps", "result"], body,
                  numeric=[True, True, True, True, False]),
        )  # fmt: skip

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
    progress: Callable[[int, int], Any] | None = None,
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
    progress : callable, optional
        ``progress(done, total)`` after each learning rate's run.
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
            line_search_pays=prob.objective.line_search_pays,
        )  # fmt: skip
        run = partial(
            minimize, optimizer=optimizer, learning_rate=rate, batch_size=batch_size,
            max_steps=max_steps, tol=tol, seed=seed, advice=prob.advice or advice, **options,
        )  # fmt: skip
        res = prob.plan.run(run, prob.theta0, refine_mode=False, full_batch=batch_size is None)
        runs.append((float(rate.describe()), res))
        if progress is not None:
            progress(len(runs), len(entries))
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


@dataclass
class ValidationRow:
    """One fit of a validation sweep: the setting and its training and validation MSE."""

    degree: int
    alpha: float
    train_loss: float
    val_loss: float
    stop_reason: str
    n_steps: int


def validation_curve(
    x: Any,
    y: Any,
    degrees: Sequence[int] = tuple(range(1, 13)),
    alphas: Sequence[float] = (0.0,),
    validation_fraction: float = 0.3,
    seed: int | None = 0,
    max_steps: int = 20_000,
    basis: str = "chebyshev",
) -> list[ValidationRow]:
    """Training and validation loss by polynomial degree and ridge α: overfitting, shown.

    Each (degree, α) is fitted by :func:`descend.fit` (``learning_rate="auto"``,
    ``penalty="l2"`` when α > 0) on the same seeded training rows
    (:func:`descend.problems.build.split_validation`); the training and validation MSE are
    then measured here from the predictions on each set (no penalty). As the degree grows the
    training loss falls, while the validation loss falls and then rises: the training optimum
    overfits.

    Parameters
    ----------
    x : array-like, shape (n,) or (n, 1)
    y : array-like, shape (n,)
    degrees : sequence of int
    alphas : sequence of float
        α ≥ 0 of the L2 penalty on the coefficients (0: none).
    validation_fraction : float
        The share of rows held out, in (0, 1).
    seed : int or None
        Seeds the split (and θ₀).
    max_steps : int
    basis : {"monomial", "legendre", "chebyshev"}

    Returns
    -------
    list of ValidationRow
        Ordered by degree, then α.
    """
    from descend.descent.fit import fit
    from descend.problems.build import split_validation

    Xt, yt, Xv, yv, _ = split_validation(x, y, validation_fraction, seed)
    rows = []
    for degree in degrees:
        for alpha in alphas:
            pen: dict[str, Any] = {"penalty": "l2", "alpha": float(alpha)} if alpha > 0 else {}
            res = fit(x, y, model=f"poly:{int(degree)}:{basis}", learning_rate="auto",
                      validation_fraction=validation_fraction, seed=seed,
                      max_steps=max_steps, warn=False, **pen)  # fmt: skip
            train = float(np.mean((yt - res.predict(Xt)) ** 2))
            val = float(np.mean((yv - res.predict(Xv)) ** 2))
            rows.append(
                ValidationRow(int(degree), float(alpha), train, val, res.stop_reason, res.n_steps)
            )
    return rows


def format_validation(rows: Sequence[ValidationRow], markdown: bool = False) -> str:
    """The validation sweep as a table: degree, α, training and validation MSE, stop."""
    header = ["degree", "α", "train MSE", "validation MSE", "stop"]
    body = [
        [
            str(r.degree),
            f"{r.alpha:g}",
            f"{r.train_loss:.6g}",
            f"{r.val_loss:.6g}",
            r.stop_reason,
        ]  # fmt: skip
        for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), *(fmt.format(*b) for b in body)])
