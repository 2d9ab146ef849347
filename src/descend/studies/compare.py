"""Run several optimizers on the same problem from the same start, and tabulate them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from descend.descent.minimize import minimize
from descend.descent.rates import Rate, is_auto, resolve_rate
from descend.descent.result import FitResult
from descend.problems.build import Problem, prepare

Array = NDArray[np.float64]

__all__ = ["compare", "Comparison", "ComparisonRow"]


@dataclass(frozen=True)
class ComparisonRow:
    """One optimizer's outcome.

    Attributes
    ----------
    label : str
        Name and settings, e.g. ``"momentum(lr=0.01, beta=0.9)"``.
    steps_to_target : int or None
        First step k at which the excess loss (L_k − L*)/max(L*, tiny) ≤ ``target`` when a
        reference optimum L* is known, else the step count of a converged run; None if never.
    final_loss : float
    excess : float or None
        Relative excess loss of the final θ over the reference optimum.
    wall_time : float
        Seconds in the loop.
    stop_reason : str
    diverged : bool
    """

    label: str
    steps_to_target: int | None
    final_loss: float
    excess: float | None
    wall_time: float
    stop_reason: str
    diverged: bool


@dataclass
class Comparison:
    """Rows in the order given, the full results (for plots), and the shared start."""

    rows: list[ComparisonRow]
    results: list[FitResult] = field(repr=False)
    theta0: Array
    reference_loss: float | None
    target: float

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        """Notebook display: the table, and each run's loss curve as inline SVG."""
        from descend.data.html import section, svg_line, table

        header = ["optimizer", f"steps to {self.target:g} excess", "final loss", "excess",
                  "time (ms)", "stop"]  # fmt: skip
        body = [
            [r.label, "never" if r.steps_to_target is None else str(r.steps_to_target),
             f"{r.final_loss:.6g}", "–" if r.excess is None else f"{r.excess:.2e}",
             f"{1000 * r.wall_time:.1f}", r.stop_reason]
            for r in self.rows
        ]  # fmt: skip
        ref = self.reference_loss
        curves = []
        for r, res in zip(self.rows, self.results, strict=True):
            loss = np.asarray(res.history.loss, dtype=np.float64)
            y, what = (loss - ref, "L − L*") if ref is not None else (loss, "L")
            svg = svg_line(y, log_y=True, width=220, height=90, title=f"{r.label}: {what}",
                           x_label="step")  # fmt: skip
            curves.append(f'<div style="display:inline-block">{svg}</div>')
        return section(
            "Comparison",
            table(header, body, numeric=[False, True, True, True, True, False]),
            f'<div class="curves">{"".join(curves)}</div>' if curves else "",
        )

    def to_markdown(self) -> str:
        """The table as GitHub-flavoured Markdown."""
        head = (
            f"| optimizer | steps to {self.target:g} excess | final loss | excess | "
            "time (ms) | stop |\n|---|---:|---:|---:|---:|---|"
        )
        lines = [head]
        for r in self.rows:
            steps = "never" if r.steps_to_target is None else str(r.steps_to_target)
            excess = "–" if r.excess is None else f"{r.excess:.2e}"
            stop = "**diverged**" if r.diverged else r.stop_reason
            lines.append(
                f"| {r.label} | {steps} | {r.final_loss:.6g} | {excess} | "
                f"{1000 * r.wall_time:.1f} | {stop} |"
            )
        return "\n".join(lines)


def _parse(entry: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, str):
        return entry.lower(), {}
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
        return entry[0].lower(), dict(entry[1])
    raise TypeError(
        f"each optimizer is a name or (name, settings) pair, e.g. ('momentum', {{'beta': 0.8}}); "
        f"got {entry!r}"
    )


def compare(
    problem: Any,
    optimizers: list[Any] | tuple[Any, ...] = ("gd", "momentum", "nesterov", "adam"),
    *,
    theta0: Any = None,
    max_steps: int = 5_000,
    tol: float = 1e-12,
    target: float = 1e-6,
    batch_size: int | None = None,
    seed: int = 0,
    preconditioner: str | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> Comparison:
    """Run each optimizer on ``problem`` from one start and compare them.

    Parameters
    ----------
    problem : Objective
        E.g. ``ds.objective(X, y, model="poly:3")`` or ``ds.surfaces.rosenbrock()``.
    optimizers : list
        Names (``"adam"``) or ``(name, settings)`` pairs; settings may hold
        ``learning_rate`` (and ``schedule``) and the rule's hyperparameters. Without a
        learning rate each rule runs with ``learning_rate="auto"``: the same settings as
        :func:`descend.fit` gives it (the table in :mod:`descend.descent.rates`), on the same
        preconditioned problem.
    theta0 : array-like, optional
        Shared start; default the model's seeded random start (or the surface's suggested one).
    max_steps, tol, batch_size, seed
        As in :func:`descend.minimize`.
    preconditioner : {"none", "diagonal", "qr"} or None
        As in :func:`descend.fit`: None lets "auto" rates whiten an ill-conditioned
        least-squares problem; ``"none"`` compares the update rules on the problem as given.
    target : float
        Relative excess loss that counts as "reached" when a reference optimum exists.
    progress : callable, optional
        ``progress(done, total)`` after each optimizer's run.

    Returns
    -------
    Comparison
    """
    prepared: dict[bool, Problem] = {}

    def problem_for(auto: bool) -> Problem:
        # "auto" may precondition (and needs the curvature): one Problem per kind of rate
        if auto not in prepared:
            prepared[auto] = prepare(
                problem, auto_rate=auto, preconditioner=preconditioner, seed=seed, theta0=theta0
            )
        return prepared[auto]

    plain = problem_for(False)
    start = plain.theta0
    ref_loss = None if plain.reference is None else plain.reference.loss

    rows: list[ComparisonRow] = []
    results: list[FitResult] = []
    for done, entry in enumerate(optimizers, start=1):
        name, settings = _parse(entry)
        lr = settings.pop("learning_rate", "auto")
        prob = problem_for(is_auto(lr))
        rate = resolve_rate(
            lr,
            name,
            advice=prob.advice,
            target_scale=prob.target_scale,
            schedule=settings.pop("schedule", None),
            max_steps=max_steps,
            hyper=settings,
            batch_size=batch_size,
            smoothable=prob.objective.smoothable,
            line_search_pays=prob.objective.line_search_pays,
        )
        run = partial(
            minimize, optimizer=name, learning_rate=rate, max_steps=max_steps, tol=tol,
            batch_size=batch_size, seed=seed, advice=prob.advice,
        )  # fmt: skip
        res = prob.plan.run(run, prob.theta0, refine_mode=False, full_batch=batch_size is None)
        res.warnings.extend(prob.notes + rate.notes)
        results.append(res)
        rows.append(
            ComparisonRow(
                label=f"{name}({_show(rate)})",
                steps_to_target=_steps_to_target(res, ref_loss, target),
                final_loss=res.loss,
                excess=None if ref_loss is None else _excess(res.loss, ref_loss),
                wall_time=res.wall_time,
                stop_reason=res.stop_reason,
                diverged=res.stop_reason == "diverged",
            )
        )
        if progress is not None:
            progress(done, len(optimizers))
    return Comparison(rows, results, start, ref_loss, target)


def _show(rate: Rate) -> str:
    """``lr=0.217, beta=0.9`` for the label: the rate and hyperparameters that ran."""
    lr = rate.describe()
    parts = [f"lr={lr:.3g}" if isinstance(lr, float) else f"lr={lr}"]
    if rate.schedule is not None:
        parts.append(f"schedule={rate.schedule}")
    parts += [f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in rate.hyper.items()]
    return ", ".join(parts)


def _excess(loss: float, ref_loss: float) -> float:
    return (loss - ref_loss) / max(abs(ref_loss), np.finfo(np.float64).tiny)


def _steps_to_target(res: FitResult, ref_loss: float | None, target: float) -> int | None:
    if res.stop_reason == "diverged":
        return None
    if ref_loss is None:
        return res.n_steps if res.stop_reason in ("converged", "stationary") else None
    denom = max(abs(ref_loss), np.finfo(np.float64).tiny)
    losses = np.append(res.history.loss, res.loss)  # L(θ_0) … L(θ_K)
    hit = np.flatnonzero((losses - ref_loss) / denom <= target)
    return int(hit[0]) if hit.size else None
